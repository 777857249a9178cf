#!/usr/bin/env bash
# Runs the caller scenarios named on the command line (default: every scripts/callers/*.sh
# scenario present), one after the other, and fails when any of them failed.
#   scripts/callers/all.sh podman buildah        RUNTIME=/usr/sbin/runc scripts/callers/all.sh
set -uo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
    for f in "$dir"/*.sh; do
        n=$(basename "$f" .sh)
        case $n in all | lib) ;; *) set -- "$@" "$n" ;; esac
    done
fi
failed=()
for name in "$@"; do
    if [ ! -x "$dir/$name.sh" ]; then
        echo "all: no scenario $dir/$name.sh"
        failed+=("$name")
        continue
    fi
    echo "== $name"
    "$dir/$name.sh" ${RUNTIME:+"$RUNTIME"} || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "all: failed scenarios: ${failed[*]}"
    exit 1
fi
echo "all: $# scenarios passed"
