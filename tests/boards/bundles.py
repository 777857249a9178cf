#!/usr/bin/env python3
"""The bundles the emulated boards run (tests/boards/smoke.sh and footprint.sh).

Each is `kapsel spec` (the default bundle, from the host build given with --kapsel)
with the changes one check needs; they share one read-only busybox root at
/boards/rootfs on the board. Usage:
    bundles.py --kapsel target/release/kapsel --arch aarch64 --out DIR
"""
import argparse
import copy
import json
import os
import subprocess
import tempfile

# The OCI name of each board's architecture, for the seccomp profile's list.
SECCOMP_ARCH = {
    "aarch64": "SCMP_ARCH_AARCH64",
    "armv7": "SCMP_ARCH_ARM",
    "riscv64": "SCMP_ARCH_RISCV64",
}
# The errno the seccomp check asks for: one no ordinary mkdir failure gives.
EXDEV = 18
MIB = 1024 * 1024


def default_spec(kapsel):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([kapsel, "spec", "--bundle", d], check=True)
        with open(os.path.join(d, "config.json")) as f:
            return json.load(f)


def bundle(base, args, cgroup=None, resources=None):
    c = copy.deepcopy(base)
    c["root"] = {"path": "/boards/rootfs", "readonly": True}
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "nodev", "mode=1777", "size=8m"]})
    linux = c["linux"]
    if cgroup:
        linux["cgroupsPath"] = cgroup
    if resources:
        linux.setdefault("resources", {}).update(resources)
    return c


def bundles(base, arch):
    sh = lambda script: ["sh", "-c", script]
    out = {
        # The first container of the board: its uptime is the boot-to-first-container time.
        "run": bundle(base, sh("cat /proc/uptime; echo run-ok")),
        "sleeper": bundle(base, ["sleep", "600"], cgroup="/boards/sleeper"),
        # Grows a string until the 16 MiB limit kills it (no swap beyond the limit).
        "oom": bundle(base, ["awk", 'BEGIN { s = "x"; while (1) s = s s }'],
                      cgroup="/boards/oom",
                      resources={"memory": {"limit": 16 * MIB, "swap": 16 * MIB}}),
        # 30 background sleeps against a limit of 8 tasks.
        "pids": bundle(base, sh("i=0; while [ $i -lt 30 ]; do sleep 2 & i=$((i+1)); done; wait"),
                       cgroup="/boards/pids", resources={"pids": {"limit": 8}}),
        "seccomp": bundle(base, ["mkdir", "/tmp/denied"]),
        "userns": bundle(base, sh("id -u; cat /proc/self/uid_map")),
        "true": bundle(base, ["true"]),
        # A host device to move in: refused by a build without `net-devices`.
        "netdev": bundle(base, ["true"]),
    }
    out["netdev"]["linux"]["netDevices"] = {"eth9": {}}
    out["seccomp"]["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": [SECCOMP_ARCH[arch]],
        # mkdir does not exist on aarch64 and riscv64: the compiler skips it there.
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": EXDEV}],
    }
    u = out["userns"]
    u["linux"]["namespaces"].append({"type": "user"})
    u["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    u["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # The wasm handler (tests/boards/wasm.sh; kapsel-wasm, scripts/build-static.sh --wasm):
    # the module of the integration tests at /wprobe.wasm, selected by the annotation.
    wasm = {"run.oci.handler": "wasm"}
    out["wasm-hello"] = bundle(base, ["/wprobe.wasm", "hello", "x", "y"])
    out["wasm-hello"]["process"]["env"].append("GREETING=board")
    out["wasm-exit"] = bundle(base, ["/wprobe.wasm", "exit", "7"])
    # The module grows its memory by 16 MiB at a time until the 48 MiB limit kills it.
    out["wasm-eat"] = bundle(base, ["/wprobe.wasm", "eat"], cgroup="/boards/wasm-eat",
                             resources={"memory": {"limit": 48 * MIB, "swap": 48 * MIB}})
    for name in ("wasm-hello", "wasm-exit", "wasm-eat"):
        out[name]["annotations"] = dict(wasm)
    for rt in ("kapsel", "kapsel-device", "crun"):
        out[f"fp-{rt}"] = bundle(base, ["sleep", "600"], cgroup=f"/boards/fp-{rt}")
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kapsel", required=True)
    p.add_argument("--arch", required=True, choices=sorted(SECCOMP_ARCH))
    p.add_argument("--out", required=True)
    a = p.parse_args()
    base = default_spec(a.kapsel)
    for name, config in bundles(base, a.arch).items():
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=1)


if __name__ == "__main__":
    main()
