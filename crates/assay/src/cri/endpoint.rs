//! Where the CRI calls go: an existing CRI socket (a Kubernetes node's containerd), or a
//! private containerd that assay starts with one handler per OCI runtime and the images it
//! builds without a registry.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;

use super::client::Cri;
use super::containerd::{run_helper, Handler, Private, PAUSE_IMAGE};
use super::pod::BUSYBOX_IMAGE;

/// `--cri` value that asks for a private containerd.
pub const PRIVATE: &str = "private";

/// How long one CRI call may take (a 50-pod scale step included).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Endpoint {
    pub cri: Cri,
    /// `Some` when assay started the containerd; stopped when this is dropped.
    pub private: Option<Private>,
    /// e.g. `containerd 1.6.20~ds1 (CRI v1)`.
    pub version: String,
}

/// Well-known endpoint kinds by name: `containerd` (the host's own socket) and `crio`
/// (CRI-O's default socket: Debian packages no CRI-O, but a node that has it serves there).
/// Anything else is taken as it is (`unix:///path`, `private`).
pub fn resolve(spec: &str) -> &str {
    match spec {
        "containerd" => "unix:///run/containerd/containerd.sock",
        "crio" | "cri-o" => "unix:///var/run/crio/crio.sock",
        other => other,
    }
}

/// The socket path of an endpoint given as `unix:///path` or `/path`.
pub fn socket_path(endpoint: &str) -> Result<PathBuf, Error> {
    let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
    if !path.starts_with('/') {
        let field = format!("CRI endpoint `{endpoint}`");
        return Err(Error::config(field, "want unix:///absolute/path"));
    }
    Ok(PathBuf::from(path))
}

/// Parses `--handler NAME[=PATH]`.
pub fn parse_handler(spec: &str) -> Handler {
    match spec.split_once('=') {
        Some((name, path)) => Handler {
            name: name.into(),
            binary: PathBuf::from(path),
            systemd_cgroup: false,
            passthrough: Vec::new(),
        },
        None => Handler {
            name: spec.into(),
            binary: PathBuf::new(),
            systemd_cgroup: false,
            passthrough: Vec::new(),
        },
    }
}

/// The file name of an image's tar: `kapsel.local/busybox:1` -> `kapsel.local_busybox_1.tar`.
pub fn image_tar_name(image: &str) -> String {
    format!("{}.tar", image.replace(['/', ':'], "_"))
}

impl Endpoint {
    /// Connects to `spec` (`unix:///path`), or with `private` starts containerd for
    /// `handlers` (each needs its binary), builds the busybox and pause images with
    /// `mkimage` into its root and imports them.
    pub fn open(
        spec: &str,
        handlers: &[Handler],
        mkimage: &Path,
        tag: &str,
    ) -> Result<Endpoint, Error> {
        let private = if spec == PRIVATE {
            for h in handlers {
                if h.binary.as_os_str().is_empty() {
                    return Err(Error::config(
                        format!("--handler {}", h.name),
                        "a private containerd needs NAME=PATH (the OCI runtime binary)",
                    ));
                }
            }
            if !mkimage.exists() {
                return Err(Error::config("--mkimage", format!(
                    "`{}` not found (run from the repository root, or pass the path of scripts/callers/mkimage.py or of a folder of its tars)",
                    mkimage.display()
                )));
            }
            let p = Private::start(tag, handlers)?;
            let images = [
                (BUSYBOX_IMAGE, vec!["--cmd", "sh"]),
                (PAUSE_IMAGE, vec!["--entrypoint", "/bin/sleep", "inf"]),
            ];
            for (name, args) in images {
                let file = image_tar_name(name);
                // A folder holds the tars mkimage.py made elsewhere (a host without python3).
                if mkimage.is_dir() {
                    p.import(&mkimage.join(&file))?;
                    continue;
                }
                let tar = p.root.join(file);
                let mut argv = vec![
                    "python3".to_string(),
                    mkimage.display().to_string(),
                    tar.display().to_string(),
                    "--name".into(),
                    name.into(),
                ];
                argv.extend(args.iter().map(|a| a.to_string()));
                run_helper(&argv)?;
                p.import(&tar)?;
            }
            Some(p)
        } else {
            None
        };
        let socket = match &private {
            Some(p) => p.socket.clone(),
            None => socket_path(resolve(spec))?,
        };
        let cri = Cri::connect(&socket, CALL_TIMEOUT)?;
        let v = cri.block_on(cri.h.version())?;
        let version = format!(
            "{} {} (CRI {})",
            v.runtime_name, v.runtime_version, v.runtime_api_version
        );
        Ok(Endpoint {
            cri,
            private,
            version,
        })
    }

    /// The short CRI runtime name for column labels: `cd` for containerd, as TouchStone did.
    pub fn short_name(&self) -> String {
        let v = &self.version;
        if v.starts_with("containerd") {
            "cd".into()
        } else if v.starts_with("cri-o") {
            "crio".into()
        } else {
            v.split_whitespace().next().unwrap_or("cri").into()
        }
    }

    /// Stops the private containerd, if any, and cleans up after it.
    pub fn close(mut self) {
        if let Some(mut p) = self.private.take() {
            p.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_with_and_without_binary() {
        let h = parse_handler("kapsel=/opt/kapsel");
        assert_eq!(
            (h.name.as_str(), h.binary),
            ("kapsel", PathBuf::from("/opt/kapsel"))
        );
        assert!(parse_handler("runc").binary.as_os_str().is_empty());
    }

    #[test]
    fn image_tar_names() {
        assert_eq!(
            image_tar_name("kapsel.local/busybox:1"),
            "kapsel.local_busybox_1.tar"
        );
    }

    #[test]
    fn socket_paths() {
        let path = |e| socket_path(e).unwrap();
        assert_eq!(path("unix:///run/x.sock"), PathBuf::from("/run/x.sock"));
        assert_eq!(path("/run/x.sock"), PathBuf::from("/run/x.sock"));
        let e = socket_path("tcp://1.2.3.4:5").unwrap_err().to_string();
        assert_eq!(
            e,
            "CRI endpoint `tcp://1.2.3.4:5`: want unix:///absolute/path"
        );
    }

    #[test]
    fn endpoint_kinds_by_name() {
        assert_eq!(resolve("crio"), "unix:///var/run/crio/crio.sock");
        assert_eq!(
            resolve("containerd"),
            "unix:///run/containerd/containerd.sock"
        );
        assert_eq!(resolve("unix:///x.sock"), "unix:///x.sock");
        assert_eq!(resolve(PRIVATE), PRIVATE);
    }
}
