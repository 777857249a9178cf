#!/usr/bin/env bash
# kapsel, crun and runc side by side in the pure cgroup v2 VM of tests/vm (systemd as
# PID 1, TCG): `run true` and create+start+delete, cgroupfs driver and systemd driver,
# interleaved, medians and ratios (tests/vm/guest-tests/bench.sh). A benchmark, not a
# test: it prints a table and asserts nothing.
#
#   scripts/bench-vm.sh [RUNS]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
VM_TIMEOUT=${VM_TIMEOUT:-1500} exec scripts/test-vm.sh -- "cd tests && sh bench.sh $runs"
