#!/usr/bin/env bash
# The CRI scenario (issue 6): a private containerd whose CRI plugin has the runtime handler
# `kapsel` (BinaryName = this checkout's release binary), driven the way the kubelet drives it:
# RunPodSandbox, CreateContainer, StartContainer, ExecSync, ContainerStats,
# UpdateContainerResources (read back from the cgroup), Stop/Remove. The same steps run with
# handler `runc` as a cross-check of the steps themselves. The client is assay's
# (`assay cri-check`, crates/assay/src/cri/); assay starts and stops the containerd by pid,
# under /run/kapsel-cri-* and /var/lib/kapsel-cri-*, and checks nothing is left.
# Then a tiny `assay run --cri private` shows the benchmark mode works end to end.
# Prints PASS/FAIL per step and `N passed, M failed`; exits non-zero on any failure.
set -u
. "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

require_root "to run containerd"
apt_need containerd busybox-static python3 containernetworking-plugins sysbench

KAPSEL=$(kapsel_bin)
RUNC=${RUNC:-/usr/sbin/runc}
ASSAY=${ASSAY_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/debug/assay}
if [ -z "${ASSAY_BIN:-}" ]; then
    cargo build -q -p assay >&2 || { echo "FAIL $SCENARIO: build assay"; exit 1; }
fi

checked "$ASSAY" cri-check --handler "kapsel=$KAPSEL"
checked "$ASSAY" cri-check --handler "runc=$RUNC"

# The benchmark mode at the smallest scale: every cell must have its sample, in both columns.
WORK=$(mktemp -d /tmp/kapsel-cri.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
step "assay run --cri private (runc, kapsel; 1 run, 5 pods)" \
    "$ASSAY" run --cri private --handler "runc=$RUNC" --handler "kapsel=$KAPSEL" \
    --runs 1 --warmup 0 --scale 5 --seconds 1 --spacing-ms 0 \
    -o "$WORK/cri.json" --html "$WORK/cri.html"
step_out "results: every CRI cell has its sample, in cd/runc and cd/kapsel" "all cells ok" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
cells = [(b["name"], c) for b in r["benchmarks"] for c in b["cells"]]
bad = [(n, c["runtime"], c.get("error")) for n, c in cells if c["status"] != "ok" or not c["samples"]]
cols = sorted({c["runtime"] for _, c in cells})
print("columns:", cols, "bad:", bad)
if cols == ["cd/kapsel", "cd/runc"] and not bad:
    print("all cells ok:", len(cells))
' "$WORK/cri.json"
step_out "HTML report names the CRI columns" "cd/kapsel" cat "$WORK/cri.html"

finish
