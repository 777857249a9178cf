//! `assay cri-check --wasm MODULE`: a WebAssembly module run as a CRI container, the way a
//! kubelet runs a wasm pod on crun. containerd hands pod and container annotations to the
//! OCI runtime only when the runtime handler lists them (`pod_annotations`,
//! `container_annotations`): the handler here lists the two that select the wasm handler.
//! The module's output is read from the CRI log file, its exit code from ContainerStatus.
//!
//! Steps: the image carrying the module; a container with `run.oci.handler=wasm` (args,
//! env, stdout and stderr in the log, exit 0), an exit code, an OOM kill under a memory
//! limit; a pod with `module.wasm.image/variant=compat-smart` whose sandbox and side-car
//! stay native while its `.wasm` container runs the module; and the image's own
//! `module.wasm.image/variant=compat` (a manifest annotation), which containerd 1.6 does
//! not hand to the runtime: the step reports what the container did.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::Error;

use super::api::{ContainerState, KeyValue, LinuxContainerResources, PodSandboxConfig};
use super::check::{e, state_is, Steps};
use super::client::Cri;
use super::containerd::{run_helper, Handler};
use super::endpoint::{image_tar_name, Endpoint};
use super::pod;

/// The annotations the handler passes on: crun's two (libkapsel's process::handler).
pub const ANNOTATIONS: [&str; 2] = ["run.oci.handler", "module.wasm.image/variant"];

/// The image: busybox with the module at /wprobe.wasm, the variant in its manifest.
pub const WASM_IMAGE: &str = "kapsel.local/wasm:1";
const MODULE_PATH: &str = "/wprobe.wasm";
const MIB: i64 = 1024 * 1024;

pub(super) fn steps(
    s: &mut Steps,
    ep: &Endpoint,
    handler: &Handler,
    mkimage: &Path,
    module: &Path,
    parent: &str,
) {
    let imported = import(ep, mkimage, module).and_then(|_| {
        e(ep.cri.block_on(ep.cri.h.image_status(WASM_IMAGE)))?
            .map(|i| format!("{} bytes", i.size))
            .ok_or_else(|| Error::Check(format!("image `{WASM_IMAGE}` not present")))
    });
    if !s.record(
        "image with the module (mkimage.py --add, variant=compat)",
        imported,
    ) {
        return;
    }
    let logs = std::env::temp_dir().join(format!("assay-cri-wasm-{}", std::process::id()));
    if let Err(err) = std::fs::create_dir_all(&logs).map_err(Error::io("create", &logs)) {
        s.record("pod log directory", Err(err));
        return;
    }
    let cri = &ep.cri;
    let name = |n: &str| format!("wasm-{n}-{}", std::process::id());

    // A pod of its own: no pod annotations, the container names its handler.
    let plain = sandbox(&name("plain"), parent, &logs, &[]);
    in_pod(
        s,
        cri,
        handler,
        &plain,
        "RunPodSandbox (no annotations)",
        plain_pod,
    );

    // compat-smart on the pod: the sandbox (/bin/sleep) and a side-car stay native.
    let smart = sandbox(
        &name("smart"),
        parent,
        &logs,
        &[("module.wasm.image/variant", "compat-smart")],
    );
    let what = "RunPodSandbox (module.wasm.image/variant=compat-smart: native sandbox)";
    in_pod(s, cri, handler, &smart, what, smart_pod);
    let _ = std::fs::remove_dir_all(&logs);
}

/// Builds the image with mkimage.py and imports it into the private containerd.
fn import(ep: &Endpoint, mkimage: &Path, module: &Path) -> Result<(), Error> {
    let private = ep.private.as_ref().ok_or_else(|| {
        Error::Check("--wasm needs --cri private (the image is built and imported here)".into())
    })?;
    if !module.is_file() {
        return Err(Error::Check(format!(
            "module `{}` not found",
            module.display()
        )));
    }
    let file = image_tar_name(WASM_IMAGE);
    if mkimage.is_dir() {
        return private.import(&mkimage.join(file));
    }
    let tar = private.root.join(file);
    let argv: Vec<String> = vec![
        "python3".into(),
        mkimage.display().to_string(),
        tar.display().to_string(),
        "--name".into(),
        WASM_IMAGE.into(),
        "--add".into(),
        format!("{}:{MODULE_PATH}", module.display()),
        "--annotation".into(),
        "module.wasm.image/variant=compat".into(),
        "--cmd".into(),
        MODULE_PATH.into(),
    ];
    run_helper(&argv)?;
    private.import(&tar)
}

fn sandbox(
    name: &str,
    parent: &str,
    logs: &Path,
    annotations: &[(&str, &str)],
) -> PodSandboxConfig {
    let mut config = pod::sandbox(name, parent);
    config.log_directory = logs.join(name).display().to_string();
    config.annotations = pairs(annotations);
    config
}

fn pairs(list: &[(&str, &str)]) -> HashMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs a pod of `config` (the step `what`), the steps of `body` in it, then stops and
/// removes it.
fn in_pod(
    s: &mut Steps,
    cri: &Cri,
    handler: &Handler,
    config: &PodSandboxConfig,
    what: &str,
    body: fn(&mut Steps, &Run),
) {
    match e(cri.block_on(cri.h.run_pod_sandbox(config.clone(), &handler.name))) {
        Ok(pod_id) => {
            s.record(what, Ok(String::new()));
            let run = Run {
                cri,
                pod_id: &pod_id,
                sandbox: config,
            };
            body(s, &run);
            stop_pod(s, cri, &pod_id);
        }
        Err(err) => {
            s.record(what, Err(err));
        }
    }
}

fn stop_pod(s: &mut Steps, cri: &Cri, pod_id: &str) {
    let done = e(cri.block_on(cri.h.stop_pod_sandbox(pod_id)))
        .and_then(|_| e(cri.block_on(cri.h.remove_pod_sandbox(pod_id))))
        .map(|_| String::new());
    s.record("StopPodSandbox, RemovePodSandbox", done);
}

/// What a container did: its exit code, CRI reason and the lines of its log by stream.
struct Outcome {
    exit_code: i32,
    reason: String,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl Outcome {
    fn has(&self, line: &str) -> bool {
        self.stdout.iter().any(|l| l == line)
    }
}

struct Run<'a> {
    cri: &'a Cri,
    pod_id: &'a str,
    sandbox: &'a PodSandboxConfig,
}

impl Run<'_> {
    /// Creates, starts and waits for a container of the wasm image, then removes it.
    fn run(
        &self,
        name: &str,
        command: &[&str],
        annotations: &[(&str, &str)],
        memory: Option<i64>,
    ) -> Result<Outcome, Error> {
        let resources = memory.map(|m| LinuxContainerResources {
            memory_limit_in_bytes: m,
            ..Default::default()
        });
        let mut config = pod::container(name, command, resources, Vec::new());
        config.image = Some(super::api::ImageSpec {
            image: WASM_IMAGE.into(),
        });
        config.envs = vec![KeyValue {
            key: "GREETING".into(),
            value: "cri".into(),
        }];
        config.annotations = pairs(annotations);
        config.log_path = format!("{name}.log");
        let cri = self.cri;
        let sandbox = self.sandbox.clone();
        let id = e(cri.block_on(cri.h.create_container(self.pod_id, config, sandbox)))?;
        let outcome: Result<Outcome, Error> = (|| {
            e(cri.block_on(cri.h.start_container(&id)))?;
            state_is(cri, &id, ContainerState::Exited)?;
            let status = e(cri.block_on(cri.h.container_status(&id, false)))?
                .status
                .ok_or(Error::Check("ContainerStatus without status".into()))?;
            let dir = PathBuf::from(&self.sandbox.log_directory);
            let (stdout, stderr) = read_log(&dir.join(format!("{name}.log")))?;
            Ok(Outcome {
                exit_code: status.exit_code,
                reason: status.reason,
                stdout,
                stderr,
            })
        })();
        let removed = e(cri.block_on(cri.h.remove_container(&id)));
        let outcome = outcome?;
        removed?;
        Ok(outcome)
    }

    /// Runs a container and records PASS when `ok` holds for what it did.
    fn check(
        &self,
        s: &mut Steps,
        what: &str,
        (name, command, annotations, memory): Spec,
        ok: impl Fn(&Outcome) -> bool,
    ) {
        let out = self.run(name, command, annotations, memory).and_then(|o| {
            ok(&o)
                .then(|| format!("exit {} ({})", o.exit_code, o.reason))
                .ok_or_else(|| unexpected(&o))
        });
        s.record(what, out);
    }
}

/// A container: name, command, annotations, memory limit.
type Spec<'a> = (
    &'a str,
    &'a [&'a str],
    &'a [(&'a str, &'a str)],
    Option<i64>,
);

const HANDLER_WASM: &[(&str, &str)] = &[("run.oci.handler", "wasm")];

/// The steps in the pod without annotations.
fn plain_pod(s: &mut Steps, run: &Run) {
    run.check(
        s,
        "run.oci.handler=wasm: args, env, stdout and stderr in the CRI log, exit 0",
        (
            "hello",
            &[MODULE_PATH, "hello", "x", "y"],
            HANDLER_WASM,
            None,
        ),
        |o| {
            o.exit_code == 0
                && o.has("hello from wasm")
                && o.has("args=hello,x,y")
                && o.has("GREETING=cri")
                && o.stderr.iter().any(|l| l == "to stderr")
        },
    );
    run.check(
        s,
        "the module's exit code 7 is the container's",
        ("exit", &[MODULE_PATH, "exit", "7"], HANDLER_WASM, None),
        |o| o.exit_code == 7 && o.has("exiting with 7"),
    );
    run.check(
        s,
        "a module eating memory under a 64 MiB limit is OOM-killed (137)",
        ("eat", &[MODULE_PATH, "eat"], HANDLER_WASM, Some(64 * MIB)),
        |o| o.exit_code == 137 && o.reason == "OOMKilled",
    );
    // The image's manifest says variant=compat, but containerd 1.6's CRI builds the OCI
    // annotations from the pod and container only: the .wasm file is exec'd natively and
    // fails, as it would with crun. Recorded as what it is, so a containerd that starts
    // passing image annotations shows up here.
    let out = match run.run("variant", &[MODULE_PATH, "hello"], &[], None) {
        Ok(o) if o.has("hello from wasm") => {
            Ok("the image's annotation reached the runtime: the module ran".to_string())
        }
        Err(err) if err.to_string().contains("Exec format error") => Ok(
            "containerd 1.6 keeps the image's annotations from the runtime: exec'd natively, ENOEXEC"
                .to_string(),
        ),
        Ok(o) => Err(unexpected(&o)),
        Err(err) => Err(err),
    };
    s.record(
        "image annotation alone (module.wasm.image/variant=compat)",
        out,
    );
}

/// The steps in the pod with `module.wasm.image/variant=compat-smart`.
fn smart_pod(s: &mut Steps, run: &Run) {
    run.check(
        s,
        "compat-smart pod: the .wasm container runs the module",
        ("smart", &[MODULE_PATH, "hello", "smart"], &[], None),
        |o| o.exit_code == 0 && o.has("args=hello,smart"),
    );
    run.check(
        s,
        "compat-smart pod: a busybox side-car stays native",
        (
            "sidecar",
            &["/bin/sh", "-c", "echo native side-car"],
            &[],
            None,
        ),
        |o| o.exit_code == 0 && o.has("native side-car"),
    );
}

fn unexpected(o: &Outcome) -> Error {
    Error::Check(format!(
        "exit {} ({}), stdout {:?}, stderr {:?}",
        o.exit_code, o.reason, o.stdout, o.stderr
    ))
}

/// The CRI log format: `TIMESTAMP STREAM TAG LINE`, TAG `F` for a full line and `P` for a
/// part of one that the next entry continues.
fn read_log(path: &Path) -> Result<(Vec<String>, Vec<String>), Error> {
    let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
    Ok(parse_log(&text))
}

fn parse_log(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut part_out, mut part_err) = (String::new(), String::new());
    for entry in text.lines() {
        let mut f = entry.splitn(4, ' ');
        let (_, stream, tag, line) = (f.next(), f.next(), f.next(), f.next().unwrap_or(""));
        let (lines, part) = match stream {
            Some("stdout") => (&mut out, &mut part_out),
            Some("stderr") => (&mut err, &mut part_err),
            _ => continue,
        };
        part.push_str(line);
        if tag != Some("P") {
            lines.push(std::mem::take(part));
        }
    }
    (out, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_log_lines_by_stream() {
        let log = "2026-12-07T23:00:00.1Z stdout F hello from wasm\n\
                   2026-12-07T23:00:00.2Z stderr F to stderr\n\
                   2026-12-07T23:00:00.3Z stdout P args=\n\
                   2026-12-07T23:00:00.4Z stdout F hello,x y\n";
        let (out, err) = parse_log(log);
        assert_eq!(out, ["hello from wasm", "args=hello,x y"]);
        assert_eq!(err, ["to stderr"]);
    }
}
