#!/usr/bin/env bash
# Regenerates the README's assay table: one interleaved assay run of runc, crun, youki and
# kapsel, every runtime under the same wrapper (a private mount namespace without
# /sys/fs/cgroup/unified, which crun 1.8 needs on this hybrid host), as root, from the
# workspace root:
#
#   scripts/bench-table.sh [--runs N] [--no-youki] [--report-only]
#
# Suites: operations, scalability and footprint on assay's default bundle (busybox,
# runc-spec-like config), then container.lifecycle and container.run again on the
# podman-like bundle (bench/podman-like.py). youki 0.7.0 is installed with
# `cargo install` into /opt/youki when missing (with its cgroup v1 feature, which its
# defaults leave out; about 5 minutes on 2 cores); --no-youki leaves it out.
# Results: crates/assay/results/latest.json and latest-podman.json; the README between
# the assay-table markers is rewritten (--report-only: only that, from the existing results).
set -euo pipefail
runs=10
youki=${YOUKI:-/opt/youki/bin/youki}
report_only=
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --no-youki) youki=; shift ;;
    --report-only) report_only=1; shift ;;
    *) echo "usage: bench-table.sh [--runs N] [--no-youki] [--report-only]" >&2; exit 2 ;;
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
    "$assay" run -c crates/assay/assay.yaml "${extra[@]}" --runs "$runs" \
        --suite operations --suite scalability --suite footprint \
        -o crates/assay/results/latest.json

    # The podman-like bundle: podman's real config on assay's busybox rootfs.
    k=$PWD/target/release/kapsel
    scripts/mkbundle.sh "$work/default" "$k" >/dev/null
    bench/podman-like.py "$work/podman" "$work/default/rootfs" "$k"
    sed "s|^output:.*|output: results-podman.json\nbundle:\n  dir: $work/podman|" \
        crates/assay/assay.yaml >"$work/assay-podman.yaml"
    "$assay" run -c "$work/assay-podman.yaml" "${extra[@]}" --runs "$runs" \
        --suite operations.container.lifecycle --suite operations.container.run \
        -o crates/assay/results/latest-podman.json
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
python3 - "$table" <<'PY'
import re, sys
table = open(sys.argv[1]).read().strip()
readme = open("README.md").read()
new = re.sub(r"(<!-- assay-table -->\n).*?(<!-- /assay-table -->)",
             lambda m: m.group(1) + table + "\n" + m.group(2), readme, flags=re.S)
open("README.md", "w").write(new)
PY
echo "bench-table: README.md updated"
