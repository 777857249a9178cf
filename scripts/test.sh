#!/usr/bin/env bash
# Every test of the workspace: format and lint checks, unit tests, and the root-only
# integration tests that run real containers through the kapsel release binary.
# KAPSEL_TEST_STRICT=1 (the default here) turns any skipped test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo fmt --all -- --check
python3 scripts/spec-coverage.py --check   # docs/spec-coverage.md matches the test markers
cargo clippy --workspace --all-targets -q -- -D warnings
# Every `// req:` marker names a requirement of the conformance catalogue.
python3 scripts/conformance.py check
cargo build --release -q -p kapsel
# The rootless tests run kapsel and their bundles as an unprivileged user, so every
# directory above the checkout must let others pass through (x). A `mktemp -d` clone
# does not; add only the traverse bit where it is missing, and say so.
d="$PWD"
while [ "$d" != "/" ]; do
    if [ $(( 0$(stat -c %a "$d") & 1 )) -eq 0 ]; then
        echo "test.sh: chmod o+x $d (rootless tests run as another user)"
        chmod o+x "$d"
    fi
    d=$(dirname "$d")
done
export KAPSEL_TEST_RUNTIME="${KAPSEL_TEST_RUNTIME:-$PWD/target/release/kapsel}"
export KAPSEL_TEST_STRICT="${KAPSEL_TEST_STRICT:-1}"
cargo test --workspace -q 2>&1 | tee target/test-output.txt
# One summary line for humans and CI readers.
passed=$(grep -Eo '[0-9]+ passed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
echo "kapsel tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
