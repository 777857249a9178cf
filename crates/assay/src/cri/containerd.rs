//! A private containerd for CRI mode: its own config.toml (one runtime handler per OCI runtime
//! under test, through `BinaryName`), root, state, socket and CNI folder, so it never touches
//! the host's containerd. Started as assay's child and stopped by pid; the shims it left and
//! the mounts under its folders are cleaned up too.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::Error;

use super::client::Cri;

/// A CRI runtime handler: the name pods ask for, and the OCI runtime binary behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handler {
    pub name: String,
    pub binary: PathBuf,
    /// containerd's `SystemdCgroup` option for this handler: the runtime gets `--systemd-cgroup`
    /// and a `slice:cri-containerd:ID` cgroupsPath (Kubernetes' default on systemd hosts).
    pub systemd_cgroup: bool,
    /// Annotation keys of pods and containers that containerd passes on to the runtime
    /// (`pod_annotations`, `container_annotations`; by default none reach it), e.g. the
    /// wasm handler's `run.oci.handler` and `module.wasm.image/variant`.
    pub passthrough: Vec<String>,
}

/// The image pod sandboxes run: busybox sleeping forever, standing in for `pause`.
pub const PAUSE_IMAGE: &str = "kapsel.local/pause:1";

pub struct Private {
    pub root: PathBuf,
    pub state: PathBuf,
    pub socket: PathBuf,
    child: Option<Child>,
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The config.toml of a private containerd with these folders and handlers.
pub fn config_toml(root: &Path, state: &Path, socket: &Path, handlers: &[Handler]) -> String {
    let cri = "plugins.\"io.containerd.grpc.v1.cri\"";
    let d = |p: &Path| toml_str(&p.display().to_string());
    let mut t = String::new();
    let _ = writeln!(t, "version = 2\nroot = {}\nstate = {}", d(root), d(state));
    let _ = writeln!(t, "[grpc]\n  address = {}", d(socket));
    let ttrpc = socket.with_extension("sock.ttrpc");
    let _ = writeln!(t, "[ttrpc]\n  address = {}", d(&ttrpc));
    let _ = writeln!(
        t,
        "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = {}",
        d(&root.join("opt"))
    );
    // No CAP_SYS_RESOURCE here: a sandbox oom_score_adj below ours would fail.
    // The streaming server takes any free port, so several containerds can coexist.
    let _ = writeln!(
        t,
        "[{cri}]\n  sandbox_image = {}\n  restrict_oom_score_adj = true\n  \
         stream_server_address = \"127.0.0.1\"\n  stream_server_port = \"0\"",
        toml_str(PAUSE_IMAGE)
    );
    let _ = writeln!(
        t,
        "[{cri}.cni]\n  bin_dir = \"/usr/lib/cni\"\n  conf_dir = {}",
        d(&root.join("cni"))
    );
    let default = handlers.first().map_or("runc", |h| h.name.as_str());
    let _ = writeln!(
        t,
        "[{cri}.containerd]\n  snapshotter = \"overlayfs\"\n  default_runtime_name = {}",
        toml_str(default)
    );
    for h in handlers {
        let key = format!("{cri}.containerd.runtimes.{}", toml_str(&h.name));
        let _ = writeln!(t, "[{key}]\n  runtime_type = \"io.containerd.runc.v2\"");
        if !h.passthrough.is_empty() {
            let keys: Vec<String> = h.passthrough.iter().map(|k| toml_str(k)).collect();
            let keys = keys.join(", ");
            let _ = writeln!(
                t,
                "  pod_annotations = [{keys}]\n  container_annotations = [{keys}]"
            );
        }
        let _ = writeln!(
            t,
            "[{key}.options]\n  BinaryName = {}\n  Root = {}\n  SystemdCgroup = {}",
            d(&h.binary),
            d(&state.join("runtime").join(&h.name)),
            h.systemd_cgroup
        );
    }
    t
}

/// A CNI network of the loopback interface only: the CRI plugin then reports NetworkReady;
/// pods use the host's network anyway.
const LOOPBACK_CONFLIST: &str =
    r#"{"cniVersion": "0.4.0", "name": "assay-lo", "plugins": [{"type": "loopback"}]}"#;

impl Private {
    /// Starts containerd with the folders `/var/lib/kapsel-cri-TAG` and `/run/kapsel-cri-TAG`
    /// and waits until its CRI plugin answers.
    pub fn start(tag: &str, handlers: &[Handler]) -> Result<Private, Error> {
        for h in handlers {
            if !crate::runtime::is_executable(&h.binary) {
                return Err(Error::NotExecutable {
                    field: format!("handler `{}`", h.name),
                    path: h.binary.clone(),
                });
            }
        }
        let bin = crate::runtime::which("containerd").ok_or(Error::NotInstalled {
            program: "containerd",
            package: "containerd",
        })?;
        let root = PathBuf::from(format!("/var/lib/kapsel-cri-{tag}"));
        let state = PathBuf::from(format!("/run/kapsel-cri-{tag}"));
        let socket = state.join("containerd.sock");
        for dir in [&root.join("cni"), &state] {
            std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        }
        crate::leftovers::dir(&state);
        crate::leftovers::dir(&root);
        let write = |path: PathBuf, text: &str| {
            std::fs::write(&path, text).map_err(Error::io("write", &path))
        };
        write(root.join("cni/10-assay-lo.conflist"), LOOPBACK_CONFLIST)?;
        let config = root.join("config.toml");
        write(
            config.clone(),
            &config_toml(&root, &state, &socket, handlers),
        )?;
        let log_path = root.join("containerd.log");
        let log = std::fs::File::create(&log_path).map_err(Error::io("create", &log_path))?;
        let err = log.try_clone().map_err(Error::io("dup", &log_path))?;
        let argv = [
            bin.display().to_string(),
            "--config".into(),
            config.display().to_string(),
        ];
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(Error::spawn(&argv))?;
        let mut private = Private {
            root,
            state,
            socket,
            child: Some(child),
        };
        if let Err(e) = private.wait_ready(Duration::from_secs(30)) {
            let log = log_tail(&log_path, 5);
            private.stop();
            return Err(Error::ContainerdLog {
                source: Box::new(e),
                log,
            });
        }
        Ok(private)
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), Error> {
        let began = Instant::now();
        let mut last = None;
        while began.elapsed() < within {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Error::ContainerdExited(status));
                }
            }
            if self.socket.exists() {
                let answer = Cri::connect(&self.socket, Duration::from_secs(5))
                    .map_err(Error::from)
                    .and_then(|c| c.block_on(c.h.version()).map_err(Error::from));
                match answer {
                    Ok(_) => return Ok(()),
                    Err(e) => last = Some(Box::new(e)),
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(Error::ContainerdSilent {
            socket: self.socket.clone(),
            within,
            last,
        })
    }

    /// `ctr images import` of an image tar into the CRI plugin's namespace.
    pub fn import(&self, tar: &Path) -> Result<(), Error> {
        let argv: Vec<String> = [
            "ctr",
            "--address",
            &self.socket.display().to_string(),
            "-n",
            "k8s.io",
            "images",
            "import",
            &tar.display().to_string(),
        ]
        .map(String::from)
        .into();
        run_helper(&argv).map(drop)
    }

    /// Stops containerd (SIGTERM, SIGKILL after 10 s), then the shims it started, unmounts
    /// what is left under its folders and removes them. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(child.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
            let began = Instant::now();
            while !matches!(child.try_wait(), Ok(Some(_))) {
                if began.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        for pid in shims_of(&self.socket) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        // Wait for the killed shims to go, so their mounts can be removed.
        let began = Instant::now();
        while !shims_of(&self.socket).is_empty() && began.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for dir in [&self.state, &self.root] {
            unmount_below(dir);
            let _ = std::fs::remove_dir_all(dir);
            crate::leftovers::dir_gone(dir);
        }
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a helper program (ctr, the image builder) to its end; an error unless it exits 0.
pub fn run_helper(argv: &[String]) -> Result<Output, Error> {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(Error::spawn(argv))?;
    if !out.status.success() {
        return Err(Error::Command {
            argv: argv.to_vec(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(out)
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join(" | ")
}

/// The pids of `containerd-shim-runc-v2` processes serving the containerd at `socket` (its
/// argv holds `-address SOCKET`).
fn shims_of(socket: &Path) -> Vec<i32> {
    let want = socket.display().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
            args.first()
                .is_some_and(|a| a.ends_with(b"containerd-shim-runc-v2"))
                && args
                    .windows(2)
                    .any(|w| w[0] == b"-address" && w[1] == want.as_bytes())
        })
        .collect()
}

/// Lazily unmounts every mount point at or below `dir`, deepest first.
pub fn unmount_below(dir: &Path) {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runtime_handler_per_oci_runtime() {
        let handlers = [
            Handler {
                name: "runc".into(),
                binary: "/usr/sbin/runc".into(),
                systemd_cgroup: false,
                passthrough: Vec::new(),
            },
            Handler {
                name: "kapsel".into(),
                binary: "/opt/kapsel".into(),
                systemd_cgroup: true,
                passthrough: vec!["run.oci.handler".into()],
            },
        ];
        let t = config_toml(
            Path::new("/var/lib/x"),
            Path::new("/run/x"),
            Path::new("/run/x/c.sock"),
            &handlers,
        );
        assert!(t.contains("runtimes.\"kapsel\"]\n  runtime_type = \"io.containerd.runc.v2\""));
        assert!(t.contains("BinaryName = \"/opt/kapsel\"\n  Root = \"/run/x/runtime/kapsel\""));
        assert!(t.contains("default_runtime_name = \"runc\""));
        assert!(t.contains("Root = \"/run/x/runtime/runc\"\n  SystemdCgroup = false"));
        assert!(t.contains("Root = \"/run/x/runtime/kapsel\"\n  SystemdCgroup = true"));
        assert!(t.contains("address = \"/run/x/c.sock\""));
        assert!(t.contains("restrict_oom_score_adj = true"));
        assert!(t.contains(
            "runtimes.\"kapsel\"]\n  runtime_type = \"io.containerd.runc.v2\"\n  \
             pod_annotations = [\"run.oci.handler\"]\n  \
             container_annotations = [\"run.oci.handler\"]\n[plugins"
        ));
        assert_eq!(t.matches("pod_annotations").count(), 1);
    }
}
