#!/usr/bin/env bash
# The concurrency and crash tests, run longer: N rounds of each (default 20).
#   scripts/stress.sh [N]
# CI runs the same tests once (KAPSEL_STRESS unset = 1 round, well under 2 minutes); this
# repeats every round of 50 parallel lifecycles, same-id races and crash points N times.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-20}"
cargo build --release -q -p kapsel
export KAPSEL_TEST_RUNTIME="${KAPSEL_TEST_RUNTIME:-${CARGO_TARGET_DIR:-$PWD/target}/release/kapsel}"
export KAPSEL_TEST_STRICT="${KAPSEL_TEST_STRICT:-1}"
export KAPSEL_STRESS="$rounds"
start=$(date +%s)
cargo test -q -p kapsel-integration --test concurrency --test crash -- --test-threads=2
echo "stress: $rounds rounds passed in $(( $(date +%s) - start ))s"
