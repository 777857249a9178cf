//! `assay cri-check`: the kubelet's sequence against one runtime handler, one PASS/FAIL line
//! per step and a `N passed, M failed` summary (issue 6's CRI scenario; scripts/callers/cri.sh
//! runs it for kapsel and, as a cross-check, for runc). With `--wasm MODULE` the steps are
//! those of a WebAssembly pod instead ([`super::wasm`]).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Error;

use super::api::{ContainerState, LinuxContainerResources};
use super::client::Cri;
use super::containerd::Handler;
use super::endpoint::{Endpoint, PRIVATE};
use super::pod;

pub(super) struct Steps {
    label: String,
    passed: u32,
    failed: Vec<String>,
}

impl Steps {
    pub(super) fn record(&mut self, name: &str, outcome: Result<String, Error>) -> bool {
        match outcome {
            Ok(detail) => {
                self.passed += 1;
                let sep = if detail.is_empty() { "" } else { " -- " };
                println!("PASS {}: {name}{sep}{detail}", self.label);
                true
            }
            Err(e) => {
                self.failed.push(name.to_string());
                println!("FAIL {}: {name} -- {e}", self.label);
                false
            }
        }
    }
}

const MIB: i64 = 1024 * 1024;

/// Runs the steps (a wasm pod's when `wasm` names a module); returns whether all passed.
pub fn run(spec: &str, handler: &Handler, mkimage: &Path, wasm: Option<&Path>) -> bool {
    let mut s = Steps {
        label: format!("cri[{}]", handler.name),
        passed: 0,
        failed: Vec::new(),
    };
    let tag = format!("check-{}", std::process::id());
    let ep = Endpoint::open(spec, std::slice::from_ref(handler), mkimage, &tag);
    let first = if spec == PRIVATE {
        "private containerd up, images imported"
    } else {
        "CRI endpoint answers Version"
    };
    let ep = match ep {
        Ok(ep) => ep,
        Err(e) => {
            s.record(first, Err(e));
            return summary(&s);
        }
    };
    s.record(first, Ok(ep.version.clone()));
    if let Some(module) = wasm {
        let parent = format!("/assay-cri-{tag}");
        super::wasm::steps(&mut s, &ep, handler, mkimage, module, &parent);
        let private = ep.private.as_ref().map(|p| p.socket.clone());
        ep.close();
        pod::remove_cgroup_parent(&parent);
        if let Some(socket) = private {
            let left = leftovers(&socket, &parent);
            s.record("private containerd stopped, nothing left", left);
        }
        return summary(&s);
    }
    // Under the systemd driver the pod's cgroup parent is a slice, as the kubelet names it.
    let parent = if handler.systemd_cgroup {
        pod::pod_slice(&tag)
    } else {
        format!("/assay-cri-{tag}")
    };
    steps(&mut s, &ep.cri, handler, &parent);
    let private = ep.private.as_ref().map(|p| p.socket.clone());
    ep.close();
    if handler.systemd_cgroup {
        // The kubelet stops the pod's slice once the pod is gone; so does this check.
        let stopped = stop_slice(&parent);
        s.record("pod slice stopped, its cgroup gone", stopped);
    } else {
        pod::remove_cgroup_parent(&parent);
    }
    if let Some(socket) = private {
        let left = leftovers(&socket, &parent);
        s.record("private containerd stopped, nothing left", left);
    }
    summary(&s)
}

fn summary(s: &Steps) -> bool {
    println!(
        "{}: {} passed, {} failed",
        s.label,
        s.passed,
        s.failed.len()
    );
    if !s.failed.is_empty() {
        println!("  failed: {}", s.failed.join(", "));
    }
    s.failed.is_empty()
}

fn leftovers(socket: &Path, parent: &str) -> Result<String, Error> {
    let dir = socket.parent().unwrap_or(socket);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let tag = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let left: Vec<&str> = mounts.lines().filter(|l| l.contains(tag)).collect();
    if !left.is_empty() {
        return Err(Error::Check(format!("mounts left: {}", left.join(" | "))));
    }
    if dir.exists() {
        return Err(Error::Check(format!("`{}` left", dir.display())));
    }
    let cg = Path::new("/sys/fs/cgroup/memory").join(parent.trim_start_matches('/'));
    if cg.exists() {
        return Err(Error::Check(format!("cgroup `{}` left", cg.display())));
    }
    Ok(String::new())
}

fn stop_slice(slice: &str) -> Result<String, Error> {
    let argv: Vec<String> = ["systemctl", "stop", slice].map(String::from).into();
    super::containerd::run_helper(&argv)?;
    let dir = pod::slice_dir(slice);
    if dir.exists() {
        return Err(Error::Check(format!("`{}` left", dir.display())));
    }
    Ok(String::new())
}

fn steps(s: &mut Steps, cri: &Cri, handler: &super::containerd::Handler, parent: &str) {
    let image = e(cri.block_on(cri.h.image_status(pod::BUSYBOX_IMAGE))).and_then(|i| {
        i.map(|i| format!("{} bytes", i.size))
            .ok_or_else(|| Error::Check(format!("image `{}` not present", pod::BUSYBOX_IMAGE)))
    });
    if !s.record("ImageStatus busybox", image) {
        return;
    }
    let sandbox = pod::sandbox(&format!("check-{}", std::process::id()), parent);
    let began = Instant::now();
    let pod_id = match e(cri.block_on(cri.h.run_pod_sandbox(sandbox.clone(), &handler.name))) {
        Ok(id) => {
            s.record("RunPodSandbox", Ok(format!("{:.0} ms", ms(began))));
            id
        }
        Err(err) => {
            s.record("RunPodSandbox", Err(err));
            return;
        }
    };
    let systemd = handler.systemd_cgroup.then_some(parent);
    container_steps(s, cri, &pod_id, sandbox, systemd);
    s.record(
        "StopPodSandbox",
        e(cri.block_on(cri.h.stop_pod_sandbox(&pod_id))).map(|_| String::new()),
    );
    s.record(
        "RemovePodSandbox",
        e(cri.block_on(cri.h.remove_pod_sandbox(&pod_id))).map(|_| String::new()),
    );
}

pub(super) fn e<T>(r: Result<T, super::client::CriError>) -> Result<T, Error> {
    r.map_err(Error::from)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// `slice`: the pod's slice when the handler uses the systemd driver.
fn container_steps(
    s: &mut Steps,
    cri: &Cri,
    pod_id: &str,
    sandbox: super::api::PodSandboxConfig,
    slice: Option<&str>,
) {
    let resources = LinuxContainerResources {
        memory_limit_in_bytes: 64 * MIB,
        cpu_shares: 512,
        ..Default::default()
    };
    let config = pod::container("c1", &["sleep", "inf"], Some(resources), Vec::new());
    let id = match e(cri.block_on(cri.h.create_container(pod_id, config, sandbox))) {
        Ok(id) => {
            s.record("CreateContainer", Ok(String::new()));
            id
        }
        Err(err) => {
            s.record("CreateContainer", Err(err));
            return;
        }
    };
    if s.record(
        "StartContainer",
        e(cri.block_on(cri.h.start_container(&id))).map(|_| String::new()),
    ) {
        s.record(
            "ContainerStatus running",
            state_is(cri, &id, ContainerState::Running),
        );
        let hello = e(cri.block_on(cri.h.exec_sync(&id, &["echo", "hello"], 10))).and_then(|r| {
            let out = String::from_utf8_lossy(&r.stdout);
            (r.exit_code == 0 && out.trim() == "hello")
                .then(String::new)
                .ok_or_else(|| Error::Check(format!("exit {} stdout {out:?}", r.exit_code)))
        });
        s.record("ExecSync echo hello", hello);
        let code =
            e(cri.block_on(cri.h.exec_sync(&id, &["sh", "-c", "exit 3"], 10))).and_then(|r| {
                (r.exit_code == 3)
                    .then(String::new)
                    .ok_or_else(|| Error::Check(format!("exit code {}, wanted 3", r.exit_code)))
            });
        s.record("ExecSync exit code 3", code);
        if pod::pure_v2() {
            s.record(
                "memory.max 64 MiB inside and on the host",
                v2_cgroup(cri, &id, slice),
            );
        }
        let stats = e(cri.block_on(cri.h.container_stats(&id))).and_then(|st| {
            let mem = st.memory.and_then(|m| m.working_set_bytes).map(|v| v.value);
            mem.filter(|m| *m > 0)
                .map(|m| format!("working set {} KiB", m / 1024))
                .ok_or(Error::Check("no memory working set".into()))
        });
        s.record("ContainerStats", stats);
        s.record(
            "UpdateContainerResources (cgroup changed)",
            update(cri, &id),
        );
        let stop = e(cri.block_on(cri.h.stop_container(&id, 5)))
            .and_then(|_| state_is(cri, &id, ContainerState::Exited));
        s.record("StopContainer", stop);
    }
    let removed = e(cri.block_on(cri.h.remove_container(&id))).and_then(|_| {
        match cri.block_on(cri.h.container_status(&id, false)) {
            Err(err) if err.why.is_not_found() => Ok(String::new()),
            Err(err) => Err(err.into()),
            Ok(_) => Err(Error::Check("still listed after RemoveContainer".into())),
        }
    });
    s.record("RemoveContainer", removed);
    if let Some(slice) = slice {
        let scope = pod::slice_dir(slice).join(format!("cri-containerd-{id}.scope"));
        let began = Instant::now();
        while scope.exists() && began.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let gone = if scope.exists() {
            Err(Error::Check(format!("`{}` left", scope.display())))
        } else {
            Ok(String::new())
        };
        s.record("container scope gone", gone);
    }
}

/// The container's cgroup v2 from inside (`memory.max`) and on the host: the same 64 MiB; with
/// the systemd driver the cgroup is the scope `cri-containerd-ID.scope` in the pod's slice.
fn v2_cgroup(cri: &Cri, id: &str, slice: Option<&str>) -> Result<String, Error> {
    let want = (64 * MIB).to_string();
    let r = cri.block_on(
        cri.h
            .exec_sync(id, &["cat", "/sys/fs/cgroup/memory.max"], 10),
    )?;
    let inside = String::from_utf8_lossy(&r.stdout).trim().to_string();
    let dir = host_cgroup(cri, id)?;
    let path = dir.join("memory.max");
    let outside = std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(Error::io("read", &path))?;
    if inside != want || outside != want {
        return Err(Error::Check(format!(
            "memory.max {inside:?} inside, {outside:?} in `{}`; wanted {want}",
            path.display()
        )));
    }
    if let Some(slice) = slice {
        let scope = pod::slice_dir(slice).join(format!("cri-containerd-{id}.scope"));
        if dir != scope {
            return Err(Error::Check(format!(
                "cgroup `{}`, wanted `{}`",
                dir.display(),
                scope.display()
            )));
        }
    }
    Ok(format!("{}", dir.display()))
}

fn host_cgroup(cri: &Cri, id: &str) -> Result<std::path::PathBuf, Error> {
    let info = cri.block_on(cri.h.container_status(id, true))?.info;
    let pid = pod::pid_from_info(&info)
        .ok_or(Error::Check("no pid in the verbose ContainerStatus".into()))?;
    pod::v2_cgroup_dir(pid).ok_or_else(|| Error::Check(format!("pid {pid}: no cgroup v2")))
}

pub(super) fn state_is(cri: &Cri, id: &str, want: ContainerState) -> Result<String, Error> {
    let began = Instant::now();
    loop {
        let st = cri
            .block_on(cri.h.container_status(id, false))?
            .status
            .ok_or(Error::Check("ContainerStatus without status".into()))?;
        if st.state == want as i32 {
            return Ok(String::new());
        }
        if began.elapsed() > Duration::from_secs(10) {
            return Err(Error::Check(format!(
                "state {:?}, wanted {want:?}",
                ContainerState::try_from(st.state)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Raises memory to 128 MiB and caps cpu at 50%, then reads both back from the container's
/// cgroup on the host.
fn update(cri: &Cri, id: &str) -> Result<String, Error> {
    let res = LinuxContainerResources {
        memory_limit_in_bytes: 128 * MIB,
        ..pod::cpu_percent(50)
    };
    cri.block_on(cri.h.update_container_resources(id, res))?;
    if pod::pure_v2() {
        let dir = host_cgroup(cri, id)?;
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .map_err(Error::io("read", &path))
        };
        let (mem, cpu) = (read("memory.max")?, read("cpu.max")?);
        if mem != (128 * MIB).to_string() || cpu != "50000 100000" {
            return Err(Error::Check(format!(
                "cgroup has memory.max {mem}, cpu.max {cpu}; wanted {} and 50000 100000",
                128 * MIB
            )));
        }
        return Ok(format!("memory.max {mem}, cpu.max {cpu}"));
    }
    let info = cri.block_on(cri.h.container_status(id, true))?.info;
    let pid = pod::pid_from_info(&info)
        .ok_or(Error::Check("no pid in the verbose ContainerStatus".into()))?;
    let read = |controller: &str, file: &str| -> Result<String, Error> {
        let dir = pod::v1_cgroup_dir(pid, controller)
            .ok_or_else(|| Error::Check(format!("pid {pid}: no v1 {controller} cgroup")))?;
        let path = dir.join(file);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(Error::io("read", &path))
    };
    let mem = read("memory", "memory.limit_in_bytes")?;
    let quota = read("cpu", "cpu.cfs_quota_us")?;
    if mem != (128 * MIB).to_string() || quota != "50000" {
        return Err(Error::Check(format!(
            "cgroup has memory.limit_in_bytes {mem}, cpu.cfs_quota_us {quota}; wanted {} and 50000",
            128 * MIB
        )));
    }
    Ok(format!(
        "memory.limit_in_bytes {mem}, cpu.cfs_quota_us {quota}"
    ))
}
