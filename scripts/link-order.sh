#!/usr/bin/env bash
# Regenerates link/kapsel.order, the order in which the release link lays out kapsel's
# functions (.cargo/cc-static-kapsel passes it to lld as --symbol-ordering-file), as
# root, from the workspace root:
#
#   scripts/link-order.sh
#
# Builds the release kapsel (in target/link-order, with lld's map of the link: the
# address of every function), then runs a fixed workload under link/first-calls (ptrace:
# an int3 on every function, each removed at its first call) and writes every function's
# names in the order they first ran, across every process: a create and a `run` of the
# default bundle first (the paths whose peak RSS docs/performance.md measures), then
# start, delete, the podman-like bundle, hooks, and the other verbs. Functions that never
# ran keep the compiler's order after them. So the code a create or run executes sits in
# about 550 KB of text instead of being spread over all 1.4 MB of it, and the kernel's
# fault-around (it maps the cached pages of the 64 KB around each text fault) maps less.
#
# The order names symbols, so it survives unrelated changes: a function added later is
# placed with the cold code until this is run again (a stale order costs memory, never
# correctness). The same toolchain and profile give the same names; otherwise the link
# matches them without their hashes. Needs gcc, jq, nm, python3, busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/kapsel-order-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The release build itself (same profile, so the same symbol names as `cargo build
# --release`), relinked for its map: the address of every function of the stripped binary.
export CARGO_TARGET_DIR=$PWD/target/link-order
rm -f "$CARGO_TARGET_DIR"/release/kapsel "$CARGO_TARGET_DIR"/release/deps/kapsel-*
KAPSEL_LINK_MAP=$work/map cargo build -q --release -p kapsel
k=$CARGO_TARGET_DIR/release/kapsel
gcc -O2 -Wall -Werror -o "$work/first-calls" link/first-calls.c
# "ADDR NAME" for every symbol of the output section .text (lld's map: VMA LMA SIZE ALIGN
# and an output section, an input section "FILE:(SECTION)" or a symbol, each more indented).
python3 - "$work/map" >"$work/symbols" <<'PY'
import sys
text = False
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 5:
        continue
    col = len(line.rstrip("\n")) - len(f[4])
    if col <= 49:  # an output section (fixed-width columns, then indented by depth)
        text = f[4] == ".text"
    elif text and "(" not in f[4] and ":" not in f[4]:
        print(f[0], f[4])
PY

scripts/mkbundle.sh "$work/default" "$k" >/dev/null
jq '.process.args = ["true"]' "$work/default/config.json" >"$work/c.json"
mv "$work/c.json" "$work/default/config.json"
bench/podman-like.py "$work/podman" "$work/default/rootfs" "$k"
mkdir -p "$work/long"
ln -s "$work/default/rootfs" "$work/long/rootfs"
jq '.process.args = ["sleep", "60"]' "$work/default/config.json" >"$work/long/config.json"
mkdir -p "$work/hooks"
ln -s "$work/default/rootfs" "$work/hooks/rootfs"
jq '.hooks = {"createRuntime": [{"path": "/bin/true"}], "createContainer": [{"path": "/bin/true"}],
              "startContainer": [{"path": "/bin/true"}], "poststart": [{"path": "/bin/true"}],
              "poststop": [{"path": "/bin/true"}]}' "$work/default/config.json" >"$work/hooks/config.json"

cat >"$work/workload.sh" <<'EOF'
set -eu
k=$1 w=$2
r=$w/root
kk() { "$k" --root "$r" "$@"; }
stopped() { until kk state "$1" | grep -q '"stopped"'; do sleep 0.05; done; }
# What the peak-RSS figures measure, first: a create, then a run.
kk create --bundle "$w/default" c1
kk run --bundle "$w/default" r1
kk start c1
stopped c1
kk delete c1
kk create --bundle "$w/podman" p1
kk start p1
stopped p1
kk delete p1
kk run --bundle "$w/podman" p2
kk run --bundle "$w/hooks" h1
# A running container for the other verbs.
kk create --bundle "$w/long" l1
kk start l1
kk state l1 >/dev/null
kk exec l1 true
kk ps l1 >/dev/null
kk pause l1
kk resume l1
kk events --stats l1 >/dev/null
kk update --pids-limit 100 l1
kk list >/dev/null
kk kill l1 KILL
stopped l1
kk delete l1
kk delete --force gone
(cd "$w" && kk spec)
kk features >/dev/null
kk --version >/dev/null
EOF
"$work/first-calls" "$work/symbols" "$k" "$work/order" -- \
    unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' -- \
    sh "$work/workload.sh" "$k" "$work"
awk '!seen[$0]++' "$work/order" >link/kapsel.order
echo "link-order: $(wc -l <link/kapsel.order) of $(wc -l <"$work/symbols") functions ran" >&2
