#!/usr/bin/env bash
# kapsel on pure cgroup v2 with systemd as PID 1: boots the Debian 12 VM of tests/vm
# (QEMU, TCG) and runs the VM suite (tests/vm/guest-tests/suite.sh) inside it.
#
#   scripts/test-vm.sh              the short set that CI runs
#   scripts/test-vm.sh --full       every check (several times longer under TCG)
#   scripts/test-vm.sh -- COMMAND   boot and run COMMAND (sh, in /vm) instead
#                                   (VM_ITEST=1: with the integration tests of check 50 in
#                                   /vm/itest, e.g. `sh tests/checks/51-integration-systemd.full.sh`;
#                                   VM_FILES="F...": more files, as tests/vm/run.sh -f)
#
# The image is built once and cached under target/vm/image (rebuilt when its inputs
# change); kapsel's release binary is built here and handed to each boot. Each check
# prints PASS, FAIL or SKIP; the exit status is non-zero when one failed. VM_TIMEOUT
# (seconds) bounds the suite inside the guest (default 420, --full 1800).
set -euo pipefail
cd "$(dirname "$0")/.."
set_name=quick

# The integration suite's cgroup tests run in the VM too (checks 50 and 51): their
# executables, the checkout's paths they were built with (mkbundle.sh, the target tmp dir)
# and the small C programs an earlier host run compiled there (the guest has no gcc), in
# target/vm/itest.
itest() {
    local it=target/vm/itest d
    rm -rf "$it"
    mkdir -p "$it/bins" "$it/repo/scripts" "$it/repo/tests/integration" "$it/repo/target/tmp"
    nice cargo test -q -p kapsel-integration --no-run --message-format=json 2>/dev/null |
        python3 -c '
import json, sys, shutil
for line in sys.stdin:
    m = json.loads(line)
    name = m.get("target", {}).get("name")
    if m.get("reason") == "compiler-artifact" and m.get("executable") and name in sys.argv[2:]:
        shutil.copy(m["executable"], sys.argv[1] + "/" + name)
' "$it/bins" resources cgroup_cmds devices lifecycle
    strip "$it"/bins/*
    cp scripts/mkbundle.sh "$it/repo/scripts/"
    for d in target/tmp/*/; do
        # A fresh checkout has no target/tmp yet (the glob stays as it is).
        [ -d "$d" ] || continue
        case "$d" in *kapsel-itest-base*) continue ;; esac
        find "$d" -maxdepth 1 -type f -perm -u+x -exec install -D -t "$it/repo/$d" {} +
    done
    echo "$PWD" >"$it/checkout"
}
limit=${VM_TIMEOUT:-420}
case "${1:-}" in
--full) set_name=full; limit=${VM_TIMEOUT:-1800} ;;
--)
    shift
    nice cargo build --release -q -p kapsel
    extra=()
    if [ "${VM_ITEST:-0}" = 1 ]; then
        itest
        extra=(-f target/vm/itest)
    fi
    for f in ${VM_FILES:-}; do extra+=(-f "$f"); done
    exec bash tests/vm/run.sh -t "$limit" "${extra[@]}" "$*" ;;
"") ;;
*) echo "usage: scripts/test-vm.sh [--full | -- COMMAND]" >&2; exit 2 ;;
esac
nice cargo build --release -q -p kapsel
start=$(date +%s)
extra=()
if [ $set_name = full ]; then
    itest
    # The CRI check (72-cri.full.sh): assay and the busybox and pause image tars it imports
    # into its private containerd (the guest has no python3 for mkimage.py).
    nice cargo build --release -q -p assay
    img=target/vm/cri-images
    rm -rf "$img"
    mkdir -p "$img"
    python3 scripts/callers/mkimage.py "$img/kapsel.local_busybox_1.tar" --name kapsel.local/busybox:1 --cmd sh
    python3 scripts/callers/mkimage.py "$img/kapsel.local_pause_1.tar" --name kapsel.local/pause:1 \
        --entrypoint /bin/sleep inf
    extra=(-f target/vm/itest -f target/release/assay -f "$img")
fi
set +e
bash tests/vm/run.sh -t "$limit" -n suite "${extra[@]}" "sh tests/suite.sh $set_name"
status=$?
set -e
out=target/vm/suite/output.log
echo "vm suite ($set_name): $(grep -c '^PASS ' "$out" || true) passed, $(grep -c '^FAIL ' "$out" || true) failed, $(grep -c '^SKIP ' "$out" || true) skipped; boot $(cat target/vm/suite/boot-seconds 2>/dev/null || echo ?) s, $(($(date +%s) - start)) s of wall time in all"
exit $status
