#!/usr/bin/env bash
# Checkpoint and restore time and image size of a container holding 100 MiB of touched
# memory, kapsel and runc interleaved, in the pure cgroup v2 VM of tests/vm (criu 3.17,
# TCG): tests/vm/guest-tests/criu-bench.sh. A benchmark, not a test: it prints a table
# of medians and ratios and asserts nothing.
#
#   scripts/bench-criu-vm.sh [RUNS] [MIB]     (default 3 runs after one warm-up, 100 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
mib=${2:-100}
VM_TIMEOUT=${VM_TIMEOUT:-1500} exec scripts/test-vm.sh -- "cd tests && sh criu-bench.sh $runs $mib"
