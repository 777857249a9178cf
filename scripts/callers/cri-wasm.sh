#!/usr/bin/env bash
# A WebAssembly module as a CRI container (issue 24): a private containerd whose CRI plugin
# has the runtime handler `kapsel-wasm` (BinaryName = a kapsel built with `--features wasm`)
# with `pod_annotations` and `container_annotations` listing `run.oci.handler` and
# `module.wasm.image/variant` (containerd hands no annotation to the runtime otherwise).
# The module is tests/integration/wasm/wprobe.rs built for wasm32-wasip1, in an image that
# scripts/callers/mkimage.py builds (busybox + /wprobe.wasm, variant=compat in its manifest).
# The steps are `assay cri-check --wasm` (crates/assay/src/cri/wasm.rs): output and exit
# status from the CRI log and ContainerStatus, an OOM kill, a compat-smart pod with a native
# side-car. Usage: cri-wasm.sh [RUNTIME] (default: $KAPSEL_WASM_RUNTIME, which
# scripts/test.sh builds, else this checkout's target/release/kapsel, which must be one).
set -u
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

require_root "to run containerd"
apt_need containerd busybox-static python3 containernetworking-plugins

RUNTIME=$(readlink -f "${1:-${KAPSEL_WASM_RUNTIME:-$(kapsel_bin)}}")
if ! "$RUNTIME" features | grep -q '"org.kapsel.wasm": *"true"'; then
    echo "SKIP $SCENARIO: $RUNTIME has no wasm handler (cargo build --release -p kapsel --features wasm)"
    [ "${KAPSEL_TEST_STRICT:-}" = 1 ] && exit 1
    exit 0
fi
ASSAY=${ASSAY_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/debug/assay}
if [ -z "${ASSAY_BIN:-}" ]; then
    cargo build -q -p assay >&2 || { echo "FAIL $SCENARIO: build assay"; exit 1; }
fi
WORK=$(mktemp -d /tmp/kapsel-cri-wasm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
rustc --edition 2021 -C opt-level=2 -C strip=debuginfo --target wasm32-wasip1 \
    -o "$WORK/wprobe.wasm" tests/integration/wasm/wprobe.rs 2>"$WORK/rustc.err" || {
    echo "SKIP $SCENARIO: rustc cannot build for wasm32-wasip1 (rustup target add wasm32-wasip1): $(head -3 "$WORK/rustc.err")"
    [ "${KAPSEL_TEST_STRICT:-}" = 1 ] && exit 1
    exit 0
}

checked "$ASSAY" cri-check --handler "kapsel-wasm=$RUNTIME" --wasm "$WORK/wprobe.wasm"
finish
