#!/usr/bin/env python3
"""Builds the "podman-like" benchmark bundle: the config.json podman 4 passes to its OCI
runtime (bench/fixtures/podman-create.config.json, recorded from a real podman create:
pid/net/ipc/uts/mount namespaces, 14 capabilities, masked and read-only paths, bind
mounts for /dev/shm, /etc/hosts, /etc/hostname and /run/.containerenv, memory and pids
limits, device cgroup), adapted to a local rootfs:

- root.path -> ROOTFS, process.args -> ["true"], no terminal;
- the podman userdata files the binds need are made in the bundle;
- linux.seccomp -> the default profile docker and podman apply (`kapsel spec --seccomp`;
  the recorded sample carries a trimmed one);
- cgroupsPath dropped: every runtime then uses its default (the container id), so many
  containers can exist at once.

    bench/podman-like.py BUNDLE ROOTFS KAPSEL
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: podman-like.py BUNDLE ROOTFS KAPSEL")
    bundle, rootfs, kapsel = (os.path.abspath(a) for a in sys.argv[1:])
    cfg = json.load(open(os.path.join(HERE, "fixtures", "podman-create.config.json")))
    os.makedirs(bundle, exist_ok=True)
    userdata = os.path.join(bundle, "userdata")
    os.makedirs(os.path.join(userdata, "shm"), exist_ok=True)
    for name, text in [(".containerenv", ""), ("hostname", "bench\n"),
                       ("hosts", "127.0.0.1 localhost\n")]:
        with open(os.path.join(userdata, name), "w") as f:
            f.write(text)
    for m in cfg["mounts"]:
        src = m.get("source", "")
        if "<ID>/userdata/" in src:
            m["source"] = os.path.join(userdata, src.split("<ID>/userdata/", 1)[1])
    cfg["root"] = {"path": rootfs}
    cfg["process"]["args"] = ["true"]
    cfg["process"]["terminal"] = False
    cfg["linux"].pop("cgroupsPath", None)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([kapsel, "spec", "--seccomp", "--bundle", tmp], check=True)
        cfg["linux"]["seccomp"] = json.load(open(os.path.join(tmp, "config.json")))["linux"]["seccomp"]
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


if __name__ == "__main__":
    main()
