//! `checkpoint` and `restore` with runc's flags. kapsel has no CRIU support: the flags
//! are accepted so callers that probe `checkpoint --help` see the familiar interface,
//! and both commands fail with one clear line.

use clap::Args;
use std::path::PathBuf;

/// The CRIU flags both commands take.
#[derive(Args, Debug)]
pub struct CriuArgs {
    /// Directory of the CRIU image files
    #[arg(long = "image-path", value_name = "PATH")]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU work files and logs
    #[arg(long = "work-path", value_name = "PATH")]
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Handle file locks
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// Cgroups mode: soft, full, strict or ignore
    #[arg(long = "manage-cgroups-mode", value_name = "MODE")]
    pub manage_cgroups_mode: Option<String>,
    /// A namespace to leave out, repeatable
    #[arg(long = "empty-ns", value_name = "NAMESPACE")]
    pub empty_ns: Vec<String>,
    /// Deduplicate with the parent images
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Use userfaultfd to restore memory lazily
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
}

#[derive(Args, Debug)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Directory of the previous images (pre-dump)
    #[arg(long = "parent-path", value_name = "PATH")]
    pub parent_path: Option<PathBuf>,
    /// Keep the container running after the checkpoint
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// Descriptor to write a byte to when the lazy-pages server is ready
    #[arg(long = "status-fd", value_name = "FD")]
    pub status_fd: Option<i32>,
    /// ADDRESS:PORT of a CRIU page server
    #[arg(long = "page-server", value_name = "ADDRESS:PORT")]
    pub page_server: Option<String>,
    /// Dump memory only, leaving the container running
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Unix socket to send the pty master to
    #[arg(long = "console-socket", value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Bundle directory
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Return once the container runs
    #[arg(short, long)]
    pub detach: bool,
    /// Write the container's host pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Do not become a subreaper
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Use MS_MOVE + chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// LSM profile for the restored process
    #[arg(long = "lsm-profile", value_name = "PROFILE")]
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restored mounts
    #[arg(long = "lsm-mount-context", value_name = "CONTEXT")]
    pub lsm_mount_context: Option<String>,
    pub id: String,
}

/// The one error both commands end with.
pub const NOT_SUPPORTED: &str = "not supported: criu checkpoint/restore is not built into kapsel";
