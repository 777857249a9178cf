#!/usr/bin/env python3
"""Builds a busybox container image as ONE tar that every caller can load without a registry.

    scripts/callers/mkimage.py OUT.tar [--name busybox:latest] [--entrypoint /bin/sleep inf]
                                       [--cmd sh] [--add HOSTFILE:PATH ...]
                                       [--annotation KEY=VALUE ...]

The tar is an OCI image layout (oci-layout, index.json, blobs/sha256/...) that also carries a
docker-archive manifest.json pointing at the same blobs, so `podman load`, `ctr images import`,
`docker load` and `skopeo copy oci-archive:` all accept it. The single layer is an uncompressed
tar of a busybox-static rootfs (one symlink per applet, /etc/passwd, /etc/group, the usual dirs),
so its digest is also its diff-id. --annotation goes into the manifest's annotations (where
`buildah build --annotation` puts `module.wasm.image/variant=compat`). Deterministic: the same
busybox gives the same digests.
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

BUSYBOX = "/bin/busybox"
DIRS = ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc", "root",
        "home/user", "run", "var/tmp", "mnt", "opt"]
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
          "user:x:1000:1000:user:/home/user:/bin/sh\n")
GROUP = "root:x:0:\nnogroup:x:65534:\nuser:x:1000:\n"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def fail(msg):
    sys.exit(f"mkimage: {msg}")


def applets():
    out = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def info(name, kind=tarfile.REGTYPE, mode=0o644, size=0, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.linkname = kind, mode, size, link
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "root", "root"
    return ti


def add_file(tar, name, data, mode=0o644):
    tar.addfile(info(name, mode=mode, size=len(data)), io.BytesIO(data))


def layer_tar(extra):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        seen = set()
        for d in DIRS:
            parts = d.split("/")
            for i in range(1, len(parts) + 1):
                p = "/".join(parts[:i])
                if p not in seen:
                    seen.add(p)
                    mode = 0o1777 if p in ("tmp", "var/tmp") else 0o755
                    tar.addfile(info(p, tarfile.DIRTYPE, mode))
        with open(BUSYBOX, "rb") as f:
            add_file(tar, "bin/busybox", f.read(), 0o755)
        for path in applets():
            rel = path.lstrip("/")
            if rel != "bin/busybox":
                target = os.path.relpath("/bin/busybox", os.path.dirname(path))
                tar.addfile(info(rel, tarfile.SYMTYPE, 0o777, link=target))
        add_file(tar, "etc/passwd", PASSWD.encode())
        add_file(tar, "etc/group", GROUP.encode())
        add_file(tar, "etc/hostname", b"busybox\n")
        for host, inside in extra:
            with open(host, "rb") as f:
                add_file(tar, inside.lstrip("/"), f.read(), os.stat(host).st_mode & 0o7777)
    return buf.getvalue()


def blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    add_file(tar, f"blobs/sha256/{digest}", data)
    return digest


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--name", default="busybox:latest", help="repo:tag (docker.io/library/ is implied)")
    ap.add_argument("--entrypoint", nargs="+", default=None)
    ap.add_argument("--cmd", nargs="+", default=["sh"])
    ap.add_argument("--add", action="append", default=[], help="HOSTFILE:PATH copied into the layer")
    ap.add_argument("--annotation", action="append", default=[], help="KEY=VALUE of the manifest")
    args = ap.parse_args()
    if ":" not in args.name.rsplit("/", 1)[-1]:
        fail(f"--name `{args.name}` needs a tag (name:tag)")
    if not os.access(BUSYBOX, os.X_OK):
        fail(f"{BUSYBOX} missing: apt-get install busybox-static")
    extra = []
    for spec in args.add:
        host, sep, inside = spec.partition(":")
        if not sep or not inside.startswith("/"):
            fail(f"--add `{spec}`: want HOSTFILE:/ABSOLUTE/PATH")
        extra.append((host, inside))
    annotations = {}
    for spec in args.annotation:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            fail(f"--annotation `{spec}`: want KEY=VALUE")
        annotations[key] = value

    layer = layer_tar(extra)
    layer_digest = hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
        "config": {"Env": [f"PATH={PATH}"], "Cmd": args.cmd, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "kapsel mkimage.py"}],
    }
    if args.entrypoint:
        config["config"]["Entrypoint"] = args.entrypoint
        config["config"]["Cmd"] = None
    config_bytes = json.dumps(config, sort_keys=True).encode()

    full = args.name if "/" in args.name else f"docker.io/library/{args.name}"
    tag = args.name.rsplit(":", 1)[1]
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info("blobs", tarfile.DIRTYPE, 0o755))
        tar.addfile(info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        blob(tar, layer)
        config_digest = blob(tar, config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": f"sha256:{config_digest}", "size": len(config_bytes)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": f"sha256:{layer_digest}", "size": len(layer)}],
        }
        if annotations:
            manifest["annotations"] = annotations
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        manifest_digest = blob(tar, manifest_bytes)
        index = {
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{manifest_digest}", "size": len(manifest_bytes),
                "annotations": {"io.containerd.image.name": full,
                                "org.opencontainers.image.ref.name": tag},
            }],
        }
        add_file(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_file(tar, "index.json", json.dumps(index, sort_keys=True).encode())
        docker = [{"Config": f"blobs/sha256/{config_digest}", "RepoTags": [args.name],
                   "Layers": [f"blobs/sha256/{layer_digest}"]}]
        add_file(tar, "manifest.json", json.dumps(docker).encode())
    os.replace(tmp, args.out)
    print(f"mkimage: {args.out}: {args.name} (layer sha256:{layer_digest[:12]}, {len(layer)} bytes)")


if __name__ == "__main__":
    main()
