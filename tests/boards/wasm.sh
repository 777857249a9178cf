# The wasm handler on an emulated board (run by tests/boards/init.sh with busybox sh when
# the initramfs holds kapsel-wasm: scripts/build-static.sh --wasm): the module of the
# integration tests (tests/integration/wasm/wprobe.rs, built on the host for
# wasm32-wasip1; the same file runs on every architecture) at /wprobe.wasm of the shared
# root, selected by `run.oci.handler=wasm` (tests/boards/bundles.py). Prints BOARD
# PASS/FAIL per check, then FOOT lines: the binary's size and the hello world's time and
# peak RSS next to the same binary's `run true` (BOARDS_RUNS rounds).
K=kapsel-wasm
B=/boards/bundles
cd /tmp || exit 1

pass() { echo "BOARD PASS $1 (at $(meter uptime) s)"; }
fail() { echo "BOARD FAIL $1: $2" | head -c 600; echo; }

out=$($K run --bundle $B/wasm-hello wasm-hello 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -qx "hello from wasm" && echo "$out" | grep -qx "args=hello,x,y" &&
    echo "$out" | grep -qx "GREETING=board" && echo "$out" | grep -qx "to stderr"; then
    pass wasm-hello
else
    fail wasm-hello "exit $rc: $out"
fi

out=$($K run --bundle $B/wasm-exit wasm-exit 2>&1)
rc=$?
if [ $rc = 7 ] && echo "$out" | grep -q "exiting with 7"; then
    pass wasm-exit-code
else
    fail wasm-exit-code "exit $rc, wanted 7: $out"
fi

out=$($K run --keep --bundle $B/wasm-eat wasm-eat 2>&1)
rc=$?
kills=$(sed -n 's/^oom_kill //p' /sys/fs/cgroup/boards/wasm-eat/memory.events 2>/dev/null)
if [ $rc = 137 ] && [ "${kills:-0}" -ge 1 ] && echo "$out" | grep -q "ate 16 MiB"; then
    pass wasm-oom
else
    fail wasm-oom "exit $rc, oom_kill ${kills:-?}: $(echo "$out" | tail -3)"
fi
$K delete -f wasm-eat 2>/dev/null

# The same binary still runs native programs.
out=$($K run --bundle $B/run wasm-native 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q run-ok; then
    pass wasm-build-native-run
else
    fail wasm-build-native-run "exit $rc: $out"
fi

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "FOOT $K binary_bytes $(stat -c %s "$(command -v $K)")"
echo "FOOT wasm module_bytes $(stat -c %s /boards/rootfs/wprobe.wasm)"
RUNS=$(cat /boards/runs 2>/dev/null || echo 10)
i=0
while [ $i -lt "$RUNS" ]; do
    for b in wasm-hello true; do
        m=$(meter -- $K run --bundle $B/$b fw-$b)
        if [ "$(field "$m" rc)" = 0 ]; then
            echo "FOOT $K run_${b}_ms $(field "$m" ms)"
            echo "FOOT $K run_${b}_peak_rss_kib $(field "$m" rss)"
        else
            echo "FOOT $K failed run $b: $m"
        fi
        $K delete -f fw-$b >/dev/null 2>&1
    done
    i=$((i + 1))
done
