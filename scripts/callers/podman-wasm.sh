#!/usr/bin/env bash
# podman 4.3 + conmon running a WebAssembly module through kapsel's wasm handler: the
# module of the integration tests (tests/integration/wasm/wprobe.rs, built with rustc for
# wasm32-wasip1) in a busybox rootfs given with --rootfs, selected with
# `--annotation run.oci.handler=wasm` and with `module.wasm.image/variant=compat`, as for
# crun. Rootful only. Usage: podman-wasm.sh [RUNTIME]: a kapsel built with
# `--features wasm` (default: $KAPSEL_WASM_RUNTIME, which scripts/test.sh builds, else this
# checkout's target/release/kapsel, which must be one).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

apt_need podman conmon
RUNTIME=$(readlink -f "${1:-${RUNTIME:-${KAPSEL_WASM_RUNTIME:-$(kapsel_bin)}}}")
if ! "$RUNTIME" features | grep -q '"org.kapsel.wasm": *"true"'; then
    echo "SKIP $SCENARIO: $RUNTIME has no wasm handler (cargo build --release -p kapsel --features wasm)"
    exit 0
fi
WORK=$(mktemp -d /tmp/kapsel-podman-wasm.XXXXXX)
chmod 0755 "$WORK"
cd "$WORK" || exit 1
trap 'rm -rf "$WORK"' EXIT
podman_conf "$WORK" "$RUNTIME" vfs
export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf

# The rootfs: busybox (scripts/mkbundle.sh) and the module.
bash "$REPO_DIR/scripts/mkbundle.sh" "$WORK/bundle" "$RUNTIME" >/dev/null || { echo "FAIL $SCENARIO: mkbundle"; exit 1; }
rustc --edition 2021 -C opt-level=2 -C strip=debuginfo --target wasm32-wasip1 \
    -o "$WORK/bundle/rootfs/wprobe.wasm" "$REPO_DIR/tests/integration/wasm/wprobe.rs" 2>/dev/null ||
    { echo "SKIP $SCENARIO: rustc cannot build for wasm32-wasip1 (rustup target add wasm32-wasip1)"; exit 0; }

pm() { podman --root "$WORK/storage" --runroot "$WORK/run" "$@"; }
ROOTFS=(--rootfs "$WORK/bundle/rootfs")   # last: what follows is the command

step_out "hello with args and env (run.oci.handler=wasm)" "GREETING=podman" \
    pm run --rm --annotation run.oci.handler=wasm -e GREETING=podman "${ROOTFS[@]}" /wprobe.wasm hello x y
step_out "args reach the module" "args=hello,x,y" \
    pm run --rm --annotation run.oci.handler=wasm "${ROOTFS[@]}" /wprobe.wasm hello x y
step_out "module.wasm.image/variant=compat" "hello from wasm" \
    pm run --rm --annotation module.wasm.image/variant=compat "${ROOTFS[@]}" /wprobe.wasm rss
step_rc "exit status of the module is podman's" 7 \
    pm run --rm --annotation run.oci.handler=wasm "${ROOTFS[@]}" /wprobe.wasm exit 7
step_rc "OOM under --memory (137)" 137 \
    pm run --rm --annotation run.oci.handler=wasm --memory 64m --memory-swap 64m "${ROOTFS[@]}" /wprobe.wasm eat
step_out "compat-smart leaves a native program native" "native" \
    pm run --rm --annotation module.wasm.image/variant=compat-smart "${ROOTFS[@]}" /bin/echo native
step "no container left" bash -c "[ -z \"\$(podman --root '$WORK/storage' --runroot '$WORK/run' ps -aq)\" ]"
finish
