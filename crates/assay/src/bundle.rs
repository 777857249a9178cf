//! The bundles the benchmarks run: one shared rootfs (built from a static busybox, or the
//! user's), one folder with a config.json per distinct process plan.

use std::collections::HashMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::config::BundleConfig;
use crate::error::{Context, Error};
use crate::exec::Exec;
use crate::spec::{default_spec, specialise, ProcessPlan};

pub struct Bundles {
    rootfs: PathBuf,
    base: Value,
    dir: PathBuf,
    /// Whether assay built the rootfs (and may add sysbench to it).
    owned_rootfs: bool,
    made: Mutex<HashMap<String, PathBuf>>,
}

impl Bundles {
    /// Prepares the rootfs under `work/rootfs` (or adopts the configured bundle).
    pub fn prepare(config: &BundleConfig, work: &Path, exec: &Exec) -> Result<Bundles, Error> {
        let dir = work.join("bundles");
        std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        let made = Mutex::default();
        if let Some(user) = &config.dir {
            let cfg_path = user.join("config.json");
            let text = std::fs::read_to_string(&cfg_path)
                .map_err(Error::io("read", &cfg_path))
                .context("bundle.dir")?;
            let base: Value = serde_json::from_str(&text)
                .map_err(Error::parse("parse", &cfg_path))
                .context("bundle.dir")?;
            let root = base["root"]["path"].as_str().unwrap_or("rootfs");
            let rootfs = user.join(root);
            if !rootfs.is_dir() {
                let problem = format!("rootfs `{}` is not a directory", rootfs.display());
                return Err(Error::config("bundle.dir", problem));
            }
            return Ok(Bundles {
                rootfs,
                base,
                dir,
                owned_rootfs: false,
                made,
            });
        }
        let rootfs = work.join("rootfs");
        build_busybox_rootfs(&config.busybox, &rootfs, exec)?;
        Ok(Bundles {
            rootfs,
            base: default_spec(),
            dir,
            owned_rootfs: true,
            made,
        })
    }

    /// The bundle folder for `plan`, written on first use.
    pub fn for_plan(&self, plan: &ProcessPlan) -> Result<PathBuf, Error> {
        let key = format!("{plan:?}");
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = made.get(&key) {
            return Ok(p.clone());
        }
        let path = self.dir.join(format!("b{}", made.len()));
        std::fs::create_dir_all(&path).map_err(Error::io("create", &path))?;
        let spec = specialise(&self.base, &self.rootfs, plan);
        let file = path.join("config.json");
        let text = serde_json::to_string_pretty(&spec).map_err(Error::encode("config.json"))?;
        std::fs::write(&file, text).map_err(Error::io("write", &file))?;
        made.insert(key, path.clone());
        Ok(path)
    }

    /// Makes `program` (a host binary) and the shared libraries it links runnable inside the
    /// rootfs at the same paths; only in a rootfs assay built.
    pub fn add_host_program(&self, program: &Path, exec: &Exec) -> Result<(), Error> {
        let inside = self
            .rootfs
            .join(program.strip_prefix("/").unwrap_or(program));
        if inside.exists() {
            return Ok(());
        }
        if !self.owned_rootfs {
            let problem = format!(
                "`{}` is not in the configured bundle's rootfs",
                program.display()
            );
            return Err(Error::config("bundle.dir", problem));
        }
        let mut files = vec![program.to_path_buf()];
        files.extend(
            linked_libraries(program, exec)?
                .into_iter()
                .map(|(path, _)| path),
        );
        for file in files {
            copy_into(&file, &self.rootfs)?;
        }
        Ok(())
    }
}

impl Bundles {
    /// Copies the host file `file` into the rootfs as `/NAME` (a static program, a wasm
    /// module); only in a rootfs assay built. Returns the path inside.
    pub fn add_file(&self, file: &Path, name: &str) -> Result<String, Error> {
        if !self.owned_rootfs {
            let problem = format!("`/{name}` is not in the configured bundle's rootfs");
            return Err(Error::config("bundle.dir", problem));
        }
        let dest = self.rootfs.join(name);
        if !dest.exists() {
            copy_into_as(file, &dest)?;
        }
        Ok(format!("/{name}"))
    }
}

/// The shared libraries `binary` loads, with their sizes, as `ldd` lists them; empty for a
/// static binary.
pub fn linked_libraries(binary: &Path, exec: &Exec) -> Result<Vec<(PathBuf, u64)>, Error> {
    let out = exec.run_unchecked(&["ldd".to_string(), binary.display().to_string()], None)?;
    Ok(parse_ldd(&out.stdout)
        .into_iter()
        .map(|p| {
            let size = std::fs::metadata(&p).map_or(0, |m| m.len());
            (p, size)
        })
        .collect())
}

/// Library paths from `ldd` output (`libc.so.6 => /lib/.../libc.so.6 (0x...)`, and the
/// loader as `/lib64/ld-linux-x86-64.so.2 (0x...)`); the vDSO has no path and is left out.
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let target = line.split_once("=>").map_or(line, |(_, t)| t).trim();
            let path = target.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn copy_into(file: &Path, rootfs: &Path) -> Result<(), Error> {
    let dest = rootfs.join(file.strip_prefix("/").unwrap_or(file));
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    }
    copy_into_as(file, &dest)
}

fn build_busybox_rootfs(busybox: &Path, rootfs: &Path, exec: &Exec) -> Result<(), Error> {
    let libs = linked_libraries(busybox, exec)?;
    let wrong = |what: &str| {
        let problem = format!(
            "`{}` {what} (apt-get install busybox-static)",
            busybox.display()
        );
        Err(Error::config("bundle.busybox", problem))
    };
    if !busybox.is_file() {
        return wrong("not found");
    }
    if !libs.is_empty() {
        return wrong("is dynamically linked");
    }
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc", "root", "work",
    ] {
        let p = rootfs.join(d);
        std::fs::create_dir_all(&p).map_err(Error::io("create", &p))?;
    }
    copy_into_as(busybox, &rootfs.join("bin/busybox"))?;
    let list = exec
        .run(&[busybox.display().to_string(), "--list-full".into()])
        .context("list busybox applets")?;
    for applet in list.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let link = rootfs.join(applet);
        if link.symlink_metadata().is_err() {
            symlink("/bin/busybox", &link).map_err(Error::io("symlink", &link))?;
        }
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
        .and_then(|_| std::fs::write(rootfs.join("etc/group"), "root:x:0:\n"))
        .map_err(Error::io("write", rootfs.join("etc")))
}

fn copy_into_as(src: &Path, dest: &Path) -> Result<(), Error> {
    std::fs::copy(src, dest)
        .map(drop)
        .map_err(|source| Error::Copy {
            from: src.into(),
            to: dest.into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x7f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x7f)\n\tnot a dynamic executable\n";
        assert_eq!(
            parse_ldd(text),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libz.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn a_configured_bundle_is_specialised_not_modified() {
        let dir = std::env::temp_dir().join(format!("assay-bundle-{}", std::process::id()));
        let user = dir.join("user");
        std::fs::create_dir_all(user.join("myroot/bin")).unwrap();
        let base = serde_json::json!({"root": {"path": "myroot"}, "process": {"args": ["sh"]}, "hostname": "mine"});
        std::fs::write(user.join("config.json"), base.to_string()).unwrap();
        let exec = Exec::new(dir.join("scratch")).unwrap();
        let config = BundleConfig {
            dir: Some(user.clone()),
            ..BundleConfig::default()
        };
        let bundles = Bundles::prepare(&config, &dir, &exec).unwrap();
        let plan = ProcessPlan {
            args: vec!["true".into()],
            ..ProcessPlan::default()
        };
        let b = bundles.for_plan(&plan).unwrap();
        assert_eq!(bundles.for_plan(&plan).unwrap(), b, "one folder per plan");
        let spec: Value =
            serde_json::from_str(&std::fs::read_to_string(b.join("config.json")).unwrap()).unwrap();
        let refused = bundles
            .add_host_program(Path::new("/bin/sh"), &exec)
            .unwrap_err()
            .to_string();
        let missing = BundleConfig {
            dir: Some(dir.join("nope")),
            ..BundleConfig::default()
        };
        let missing = Bundles::prepare(&missing, &dir, &exec)
            .err()
            .unwrap()
            .to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            spec["root"]["path"],
            user.join("myroot").display().to_string()
        );
        assert_eq!(spec["process"]["args"], serde_json::json!(["true"]));
        assert_eq!(
            spec["hostname"], "mine",
            "the rest of the user's config kept"
        );
        assert!(
            refused.contains("not in the configured bundle's rootfs"),
            "{refused}"
        );
        assert!(missing.starts_with("bundle.dir: read"), "{missing}");
    }
}
