#!/usr/bin/env bash
# Installs what building and testing kapsel needs on a fresh Debian machine.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
want=(busybox-static musl-dev jq python3 runc crun hyperfine sysbench strace uidmap util-linux chromium gcc libc6-dev passwd procps iproute2 systemd)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "deps: cargo is missing (install Rust with rustup)"; exit 1; }
