#!/usr/bin/env bash
# Regenerates the measurements in docs/performance.md, as root, from the workspace root:
#
#   scripts/perf-report.sh [--runs N] [--symbols]
#
# Builds the release kapsel, a default bundle (busybox, `kapsel spec`, args `true`) and the
# podman-like bundle (bench/podman-like.py), the C floor (bench/floor.c), then prints
# markdown: binary size and dependencies, peak RSS, syscalls of `create`, user-space
# instructions (callgrind), and times of create+start+delete and `run true` for kapsel,
# crun and runc, interleaved, all runtimes under the same mount-namespace wrapper.
# --symbols also builds an unstripped copy (in $CARGO_TARGET_DIR-syms) for the per-crate
# size breakdown. Needs strace, valgrind, gcc, /usr/bin/time, crun, runc.
set -euo pipefail
runs=50
symbols=
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --symbols) symbols=1; shift ;;
    *) echo "usage: perf-report.sh [--runs N] [--symbols]" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build -q --release -p kapsel
k=$CARGO_TARGET_DIR/release/kapsel
work=$(mktemp -d /tmp/kapsel-perf-XXXXXX)
trap 'rm -rf "$work"' EXIT
scripts/mkbundle.sh "$work/default" "$k" >/dev/null
jq '.process.args = ["true"]' "$work/default/config.json" >"$work/c.json"
mv "$work/c.json" "$work/default/config.json"
bench/podman-like.py "$work/podman" "$work/default/rootfs" "$k"
gcc -O2 -o "$work/floor" bench/floor.c
rts=("kapsel=$k" crun=crun runc=runc)

echo "## Binary"
echo
echo '```'
ls -l "$k" | awk '{print $5, "bytes"}'
file -b "$k"
echo "NEEDED entries: $(readelf -d "$k" | grep -c NEEDED || true)"
echo '```'
if [ -n "$symbols" ]; then
    CARGO_TARGET_DIR=$CARGO_TARGET_DIR-syms CARGO_PROFILE_RELEASE_STRIP=false \
        cargo build -q --release -p kapsel
    nm --size-sort -S --demangle=rust "$CARGO_TARGET_DIR-syms/release/kapsel" | bench/crate-sizes.py 20
fi

echo; echo "## Peak RSS (default bundle, median of 5)"; echo
bench/measure.py rss "$work/default" "${rts[@]}"

echo; echo "## Syscalls of create, up to the user program's execve"
for b in default podman; do
    echo; echo "$b bundle:"; echo
    bench/measure.py syscalls "$work/$b" "${rts[@]}"
done

echo; echo "## User-space instructions (callgrind)"; echo
echo '```'
valgrind --tool=callgrind --callgrind-out-file=/dev/null "$k" spec --seccomp --bundle "$work" 2>&1 |
    sed -n 's/.*Collected : /kapsel spec --seccomp: /p'
rm -f "$work/config.json"
# valgrind 3.19 does not know openat2: create stops at the first path resolution in the
# container, after parsing, validation and the seccomp compilation (the podman bundle).
valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null \
    "$k" --root "$work/vg" create -b "$work/podman" vg 2>&1 |
    sed -n 's/.*Collected : /kapsel create (podman bundle) up to openat2: /p' | head -1 || true
"$k" --root "$work/vg" delete -f vg 2>/dev/null || true
echo '```'

echo; echo "## create+start+delete (three processes), $runs interleaved runs"
for b in default podman; do
    echo; echo "$b bundle:"; echo '```'
    scripts/bench-lifecycle.py --runs "$runs" --bundle "$work/$b" "${rts[@]}"
    echo '```'
done

echo; echo "## run true, and the bare-kernel floor"; echo
w='unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; exec \"\$0\" \"\$@\""'
bench/measure.py run "$work/default" "$runs" \
    "kapsel=$k --root {root} run -b {bundle} {id}" \
    "kapsel (wrapper)=$w $k --root {root} run -b {bundle} {id}" \
    "crun (wrapper)=$w crun --root {root} run -b {bundle} {id}" \
    "runc (wrapper)=$w runc --root {root} run -b {bundle} {id}" \
    "C floor (bench/floor.c)=$work/floor {bundle}/rootfs /bin/true" \
    "unshare+chroot=unshare -m -p -u -i -n -f chroot {bundle}/rootfs /bin/true"
echo; echo "## run true with 20 ms of quiet before each call (assay's spacing)"; echo
bench/measure.py run "$work/default" "$runs" --gap-ms=20 \
    "kapsel (wrapper)=$w $k --root {root} run -b {bundle} {id}" \
    "crun (wrapper)=$w crun --root {root} run -b {bundle} {id}" \
    "runc (wrapper)=$w runc --root {root} run -b {bundle} {id}"
