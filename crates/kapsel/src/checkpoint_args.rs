//! `checkpoint` and `restore` with runc's flags, turned into the library's options. A
//! build without the `criu` feature (the device profile) accepts the same flags and
//! fails with one line.

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

/// Where runc puts the images when --image-path is not given: `checkpoint` in the
/// current directory.
#[cfg(feature = "criu")]
fn image_path(flag: &Option<PathBuf>) -> PathBuf {
    flag.clone().unwrap_or_else(|| {
        std::env::current_dir()
            .unwrap_or_default()
            .join("checkpoint")
    })
}

#[cfg(feature = "criu")]
impl CriuArgs {
    pub fn options(&self, binary: Option<PathBuf>) -> libkapsel::criu::CriuOptions {
        libkapsel::criu::CriuOptions {
            binary: binary.unwrap_or_else(|| PathBuf::from("criu")),
            image_path: image_path(&self.image_path),
            work_path: self.work_path.clone(),
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups_mode: self.manage_cgroups_mode.clone(),
            empty_ns: self.empty_ns.clone(),
            auto_dedup: self.auto_dedup,
            lazy_pages: self.lazy_pages,
        }
    }
}

#[cfg(feature = "criu")]
impl CheckpointArgs {
    pub fn options(
        &self,
        binary: Option<PathBuf>,
    ) -> libkapsel::container::checkpoint::CheckpointOptions {
        libkapsel::container::checkpoint::CheckpointOptions {
            criu: self.criu.options(binary),
            parent_path: self.parent_path.clone(),
            leave_running: self.leave_running,
            status_fd: self.status_fd,
            page_server: self.page_server.clone(),
            pre_dump: self.pre_dump,
        }
    }
}

#[cfg(feature = "criu")]
impl RestoreArgs {
    pub fn options(
        &self,
        binary: Option<PathBuf>,
        cgroups: libkapsel::linux::cgroups::CgroupOptions,
    ) -> libkapsel::container::restore::RestoreOptions {
        libkapsel::container::restore::RestoreOptions {
            criu: self.criu.options(binary),
            bundle: self.bundle.clone().unwrap_or_else(|| PathBuf::from(".")),
            console_socket: self.console_socket.clone(),
            detach: self.detach,
            pid_file: self.pid_file.clone(),
            no_subreaper: self.no_subreaper,
            no_pivot: self.no_pivot,
            lsm_profile: self.lsm_profile.clone(),
            lsm_mount_context: self.lsm_mount_context.clone(),
            cgroups,
        }
    }
}

/// What a build without the `criu` feature answers both commands with.
#[cfg(not(feature = "criu"))]
pub fn absent() -> String {
    format!("checkpoint/restore {}", libkapsel::absent("criu"))
}
