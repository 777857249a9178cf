#!/usr/bin/env bash
# The differential harness (tests/differential): configs generated from a seed run under
# kapsel, runc and crun, and every difference that docs/differences.md does not explain is
# reported with its seed and config. Run as root.
#
#   scripts/differential.sh                 the CI batch: seed 1, 300 configs
#   scripts/differential.sh --soak N        N configs from a new seed (printed; set
#                                           DIFF_SEED to repeat one), findings saved under
#                                           target/differential/findings/
#   scripts/differential.sh ARGS...         the harness's own flags: --case SEED,
#                                           --show SEED [--bundle DIR], --shrink SEED --fact K,
#                                           --list, --facts, --as-kapsel runc ... (--help)
#
# DIFF_SEED and DIFF_COUNT change the CI batch; KAPSEL_TEST_RUNTIME names the kapsel binary
# (default: target/release/kapsel).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p kapsel
# The harness is built as the tests are (debug): its time goes to the runtimes it runs.
cargo build -q -p kapsel-differential
export KAPSEL_TEST_RUNTIME="${KAPSEL_TEST_RUNTIME:-$PWD/target/release/kapsel}"
bin=target/debug/differential
case "${1:-}" in
    --soak)
        n=${2:?usage: differential.sh --soak N}
        seed=${DIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
        echo "differential soak: seed $seed, $n configs"
        exec "$bin" --seed "$seed" --count "$n" --findings target/differential/findings
        ;;
    "")
        exec "$bin" --seed "${DIFF_SEED:-1}" --count "${DIFF_COUNT:-300}"
        ;;
    *)
        exec "$bin" "$@"
        ;;
esac
