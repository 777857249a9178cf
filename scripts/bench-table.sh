#!/usr/bin/env bash
# Regenerates the README's assay table: one interleaved assay run of runc, crun, youki and
# kapsel, every runtime under the same wrapper (a private mount namespace without
# /sys/fs/cgroup/unified, which crun 1.8 needs on this hybrid host), as root, from the
# workspace root:
#
#   scripts/bench-table.sh [--runs N] [--no-youki] [--report-only] [--crosscheck]
#
# Suites: operations, scalability and footprint on assay's default bundle (busybox,
# runc-spec-like config), then container.lifecycle and container.run again on the
# podman-like bundle (bench/podman-like.py). youki 0.7.0 is installed with
# `cargo install` into /opt/youki when missing (with its cgroup v1 feature, which its
# defaults leave out; about 5 minutes on 2 cores); --no-youki leaves it out.
# Results: crates/assay/results/latest.json and latest-podman.json; the README between
# the assay-table markers is rewritten (--report-only: only that, from the existing results),
# and the screenshots docs/assay-*.png are rendered by headless Chromium from the results
# kept (latest-resources.json too, for the limits). --crosscheck also runs
# `assay crosscheck` (assay against hyperfine) and rewrites its table in docs/assay.md.
set -euo pipefail
runs=10
youki=${YOUKI:-/opt/youki/bin/youki}
report_only=
crosscheck=
describe=${ASSAY_DESCRIBE:-"the project's machine: $(nproc)-core VM, $(. /etc/os-release; echo "$PRETTY_NAME")"}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --no-youki) youki=; shift ;;
    --report-only) report_only=1; shift ;;
    --crosscheck) crosscheck=1; shift ;;
    *) echo "usage: bench-table.sh [--runs N] [--no-youki] [--report-only] [--crosscheck]" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/kapsel-table-XXXXXX)
trap 'rm -rf "$work"' EXIT
assay=target/release/assay
if [ -z "$report_only" ]; then
    bash scripts/deps.sh
    cargo build -q --release -p kapsel -p assay
    extra=()
    if [ -n "$youki" ]; then
        if [ ! -x "$youki" ]; then
            dpkg-query -W -f='${Status}' libseccomp-dev 2>/dev/null | grep -q "ok installed" ||
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev pkg-config >/dev/null
            cargo install -q youki --version 0.7.0 --locked --features v1 --root /opt/youki
            youki=/opt/youki/bin/youki
        fi
        extra=(--runtime "youki=$youki@hide-unified")
    fi
    mkdir -p crates/assay/results
    # --no-strict: a runtime that fails a cell (youki 0.7 at 50 concurrent containers) is a
    # result to show, not a reason to lose the table.
    "$assay" run -c crates/assay/assay.yaml "${extra[@]}" --runs "$runs" \
        --suite operations --suite scalability --suite footprint --no-strict \
        --describe "$describe" -o crates/assay/results/latest.json

    # The podman-like bundle: podman's real config on assay's busybox rootfs.
    k=$PWD/target/release/kapsel
    scripts/mkbundle.sh "$work/default" "$k" >/dev/null
    bench/podman-like.py "$work/podman" "$work/default/rootfs" "$k"
    sed "s|^output:.*|output: results-podman.json\nbundle:\n  dir: $work/podman|" \
        crates/assay/assay.yaml >"$work/assay-podman.yaml"
    "$assay" run -c "$work/assay-podman.yaml" "${extra[@]}" --runs "$runs" \
        --suite operations.container.lifecycle --suite operations.container.run --no-strict \
        --describe "$describe" -o crates/assay/results/latest-podman.json
fi

table=$work/table.md
{
    "$assay" report crates/assay/results/latest.json --markdown \
        --suite operations --suite scalability --suite footprint
    echo
    echo "The same create+start+delete and \`run\` on the podman-like bundle"
    echo "(\`bench/podman-like.py\`: podman's own config, default seccomp profile):"
    echo
    "$assay" report crates/assay/results/latest-podman.json --markdown \
        --suite operations.container.lifecycle --suite operations.container.run | grep '^|'
} >"$table"
# Replaces the text between <!-- NAME --> and <!-- /NAME --> in FILE with TABLE's.
between_markers() { # FILE NAME TABLE
    python3 - "$1" "$2" "$3" <<'PY'
import re, sys
path, name, table = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().strip()
text = open(path).read()
new, n = re.subn(r"(<!-- %s -->\n).*?(<!-- /%s -->)" % (name, name),
                 lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
if n != 1:
    sys.exit("bench-table: no <!-- %s --> markers in %s" % (name, path))
open(path, "w").write(new)
PY
}
between_markers README.md assay-table "$table"
echo "bench-table: README.md updated"

if [ -n "$crosscheck" ]; then
    k=$PWD/target/release/kapsel
    cross=$work/crosscheck.md
    "$assay" crosscheck --runtime runc=/usr/sbin/runc --runtime crun=/usr/bin/crun@hide-unified \
        --runtime "kapsel=$k" --runs 20 -o "$cross" >/dev/null || true
    between_markers docs/assay.md crosscheck-table "$cross"
    echo "bench-table: docs/assay.md crosscheck table updated"
fi

# Screenshots of the new charts for the README and docs/assay.md (Chromium as root).
if command -v chromium >/dev/null; then
    shot() { # PNG HEIGHT REPORT-ARGS...
        local png=$1 height=$2
        shift 2
        "$assay" report "$@" -o "$work/shot.html" >/dev/null
        rm -rf "$work/profile"
        timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$work/profile" --hide-scrollbars --window-size="1280,$height" \
            --screenshot="$PWD/$png" "file://$work/shot.html" 2>/dev/null
    }
    r=crates/assay/results
    shot docs/assay-report.png 1700 "$r/latest.json" --suite operations
    shot docs/assay-scalability.png 1000 "$r/latest.json" --suite scalability --no-tables
    [ -f "$r/latest-resources.json" ] &&
        shot docs/assay-limits.png 1150 "$r/latest-resources.json" --suite limits --no-tables
    shot docs/assay-timeline.png 1250 "$r/latest.json" --suite operations.container.lifecycle \
        --suite operations.container.run --no-tables
    echo "bench-table: docs/assay-*.png rendered"
fi
