#!/usr/bin/env bash
# The emulated boards (tests/boards/): each boots QEMU with a Debian kernel of its
# architecture, runs the smoke set with kapsel and the footprint against crun.
#
#   scripts/test-boards.sh [--table] [aarch64|armv7|riscv64 ...]   (default: all three)
#
# --table rewrites the footprint tables of docs/embedded.md and README.md from the
# boards' results (target/boards/*/results.txt; `--table` alone redraws them from the
# last run). BOARDS_RUNS sets the rounds of the timings (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
table=0
boards=()
for a; do
    case "$a" in
    --table) table=1 ;;
    aarch64 | armv7 | riscv64) boards+=("$a") ;;
    *) echo "test-boards: unknown board or option '$a'" >&2; exit 2 ;;
    esac
done
if [ $table = 1 ] && [ ${#boards[@]} -eq 0 ]; then
    python3 tests/boards/table.py --write docs/embedded.md --write README.md
    exit 0
fi
[ ${#boards[@]} -gt 0 ] || boards=(aarch64 armv7 riscv64)
passed=0
failed=0
for b in "${boards[@]}"; do
    if bash tests/boards/board.sh "$b"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
[ $table = 0 ] || python3 tests/boards/table.py --write docs/embedded.md --write README.md
echo "boards: $passed passed, $failed failed"
[ $failed -eq 0 ]
