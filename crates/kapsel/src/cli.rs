//! The command line, mirroring runc's commands and flags (callers pass them verbatim).

use crate::checkpoint_args::{CheckpointArgs, RestoreArgs};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "kapsel",
    about = "kapsel: a fast, small, secure OCI container runtime with runc's command line",
    disable_version_flag = true
)]
pub struct Cli {
    /// Root directory for container state
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Append log lines to FILE instead of stderr
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long = "log-format", value_name = "FORMAT", default_value = "text")]
    pub log_format: String,
    /// Enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// Use systemd for cgroups (cgroupsPath as slice:prefix:name)
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto
    #[arg(long, value_name = "VALUE", num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// crun's cgroup manager flag (cgroupfs, systemd or disabled)
    #[arg(long = "cgroup-manager", value_name = "MANAGER")]
    pub cgroup_manager: Option<String>,
    /// Path to the criu binary for checkpoint and restore (default: criu in PATH)
    #[arg(long, value_name = "PATH")]
    pub criu: Option<PathBuf>,
    /// Print the version
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container (its process waits for `start`)
    Create(CreateArgs),
    /// Start the user process of a created container
    Start { id: String },
    /// Print the state of a container as JSON
    State { id: String },
    /// Send a signal to a container's init process (default SIGTERM)
    Kill {
        /// Send the signal to all processes in the container
        #[arg(short, long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// Delete a container and everything create made for it
    Delete {
        /// Kill the container first if it is running
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// List containers
    #[command(alias = "ls")]
    List {
        /// table or json
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Print only the container ids
        #[arg(short, long)]
        quiet: bool,
    },
    /// Create and start a container, wait for it, and exit with its status
    Run(RunArgs),
    /// Run a new process inside a running container
    Exec(Box<ExecArgs>),
    /// Suspend every process of a container
    Pause { id: String },
    /// Resume a paused container
    Resume { id: String },
    /// List the processes of a container
    Ps {
        /// table or json
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
        /// Options for ps(1) (table format)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Change the resource limits of a container
    Update(Box<UpdateArgs>),
    /// Print resource usage (and OOM events) of a container
    Events {
        /// Print one stats object and exit
        #[arg(long)]
        stats: bool,
        /// Interval between stats (e.g. 5s, 500ms)
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Print the runtime-spec features this build supports, as JSON
    Features,
    /// Checkpoint a running container with CRIU
    Checkpoint(Box<CheckpointArgs>),
    /// Restore a container from a CRIU checkpoint
    Restore(Box<RestoreArgs>),
    /// Write a default config.json into the bundle
    Spec {
        /// Bundle directory
        #[arg(short, long, value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// A config for a container run without privilege
        #[arg(long)]
        rootless: bool,
        /// Include the default seccomp profile (the one docker and podman apply)
        #[arg(long)]
        seccomp: bool,
    },
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Bundle directory (holding config.json); default: the current directory
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
    /// Write the container's host pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the pty master to (process.terminal)
    #[arg(long = "console-socket", value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra file descriptors (3 .. 3+N-1) to the container
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Unix socket to send a pidfd of the container's init to
    #[arg(long = "pidfd-socket", value_name = "SOCKET")]
    pub pidfd_socket: Option<PathBuf>,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the container runs
    #[arg(short, long)]
    pub detach: bool,
    /// Do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
    /// Do not become a subreaper (orphans go to the caller's reaper)
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// A process.json describing the process (instead of ARGS)
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-TTY (its master goes to --console-socket)
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket to send the pty master to
    #[arg(long = "console-socket", value_name = "SOCKET")]
    pub console_socket: Option<PathBuf>,
    /// Return once the process runs
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's host pid to FILE
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE), repeatable
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// uid[:gid] to run as
    #[arg(short, long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Additional gid, repeatable
    #[arg(short = 'g', long = "additional-gids", value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// Add a capability, repeatable
    #[arg(short, long, value_name = "CAP")]
    pub cap: Vec<String>,
    /// Set no_new_privs
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// AppArmor profile for the process
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// SELinux label for the process
    #[arg(long = "process-label", value_name = "LABEL")]
    pub process_label: Option<String>,
    /// Pass N extra file descriptors (3 .. 3+N-1)
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run the process in a sub-cgroup (cgroup v2)
    #[arg(long, value_name = "PATH")]
    pub cgroup: Vec<String>,
    /// Exec even if the container is paused
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Unix socket to send a pidfd of the new process to
    #[arg(long = "pidfd-socket", value_name = "SOCKET")]
    pub pidfd_socket: Option<PathBuf>,
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// A LinuxResources JSON file, or - for standard input
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// Block IO weight (10..1000)
    #[arg(long = "blkio-weight", value_name = "N")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period (microseconds)
    #[arg(long = "cpu-period", value_name = "US")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota (microseconds, -1 for none)
    #[arg(long = "cpu-quota", value_name = "US", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-shares", alias = "cpu-share", value_name = "N")]
    pub cpu_shares: Option<u64>,
    /// CPU realtime period (microseconds)
    #[arg(long = "cpu-rt-period", value_name = "US")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime (microseconds)
    #[arg(long = "cpu-rt-runtime", value_name = "US", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs to run on (e.g. 0-1)
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes (e.g. 0)
    #[arg(long = "cpuset-mems", value_name = "LIST")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with k/m/g; -1 for none)
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(
        long = "memory-reservation",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for unlimited swap)
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids (-1 for none)
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    pub id: String,
}

/// `5s`, `500ms`, `1m`, `2`: an interval (plain numbers are seconds).
pub fn parse_interval(text: &str) -> libkapsel::Result<std::time::Duration> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, "s"), |i| t.split_at(i));
    let n: u64 = num.parse().map_err(|_| {
        libkapsel::Error::Usage(format!(
            "--interval: `{text}` is not a duration (e.g. 5s, 500ms)"
        ))
    })?;
    let d = match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n * 60),
        _ => {
            return Err(libkapsel::Error::Usage(format!(
                "--interval: unknown unit in `{text}` (ms, s, m)"
            )))
        }
    };
    if d.is_zero() {
        return Err(libkapsel::Error::Usage(
            "--interval must be greater than zero".into(),
        ));
    }
    Ok(d)
}
