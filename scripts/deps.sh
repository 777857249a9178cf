#!/usr/bin/env bash
# Installs what building and testing kapsel needs on a fresh Debian machine.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
# libseccomp-dev, pkg-config and golang-github-containers-common serve only the tests:
# tests/seccomp-ref holds kapsel's seccomp compiler to libseccomp and to podman's profile
# (the release binary links no libseccomp; scripts/test.sh checks it).
want=(busybox-static musl-dev jq python3 runc crun hyperfine sysbench strace uidmap util-linux chromium gcc libc6-dev passwd procps iproute2 systemd libseccomp-dev pkg-config golang-github-containers-common)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "deps: cargo is missing (install Rust with rustup)"; exit 1; }
# The wasm handler's tests build their module for WASI preview 1.
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1 >/dev/null
