# The footprint of each runtime on an emulated board, all in one run on the same board
# (run by tests/boards/init.sh after the smoke set). Prints raw numbers as
#   FOOT <runtime> <metric> <value>
# and tests/boards/table.py turns them into medians and ratios to crun. The runtimes
# take turns within every round, so a slow spell of the emulator hits them alike.
B=/boards/bundles
RUNS=$(cat /boards/runs 2>/dev/null || echo 10)
cd /tmp || exit 1

runtimes=
for rt in kapsel kapsel-device crun; do
    command -v $rt >/dev/null && runtimes="$runtimes $rt"
done

# Sizes: the executable, and every shared library it loads (the list the host made
# from the ELF headers, /boards/libs-RUNTIME), as the board stores them.
for rt in $runtimes; do
    echo "FOOT $rt binary_bytes $(stat -c %s "$(command -v $rt)")"
    total=0
    n=0
    if [ -f /boards/libs-$rt ]; then
        for lib in $(cat /boards/libs-$rt); do
            total=$((total + $(stat -L -c %s "$lib")))
            n=$((n + 1))
        done
    fi
    echo "FOOT $rt libraries $n"
    echo "FOOT $rt libraries_bytes $total"
done

# `meter` prints `ms=.. rss=.. rc=..`; field VALUE of that line.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

i=0
while [ $i -lt "$RUNS" ]; do
    for rt in $runtimes; do
        # create: its peak RSS, and what the container's cgroup holds once the container
        # process waits at the start gate (all of it the runtime's doing so far).
        m=$(meter -- $rt create --bundle $B/fp-$rt fp-$rt)
        if [ "$(field "$m" rc)" = 0 ]; then
            echo "FOOT $rt create_peak_rss_kib $(field "$m" rss)"
            echo "FOOT $rt create_ms $(field "$m" ms)"
            echo "FOOT $rt charged_kib $(($(cat /sys/fs/cgroup/boards/fp-$rt/memory.current) / 1024))"
        else
            echo "FOOT $rt failed create: $m"
        fi
        $rt delete -f fp-$rt >/dev/null 2>&1
        # run of `true`: peak RSS and time.
        m=$(meter -- $rt run --bundle $B/true run-$rt)
        if [ "$(field "$m" rc)" = 0 ]; then
            echo "FOOT $rt run_peak_rss_kib $(field "$m" rss)"
            echo "FOOT $rt run_ms $(field "$m" ms)"
        else
            echo "FOOT $rt failed run: $m"
        fi
        $rt delete -f run-$rt >/dev/null 2>&1
        # create + start + delete (three runtime processes; --force, as `true` may still run).
        m=$(meter -- $rt create --bundle $B/true lc-$rt -- $rt start lc-$rt -- $rt delete -f lc-$rt)
        if [ "$(field "$m" rc)" = 0 ]; then
            echo "FOOT $rt lifecycle_ms $(field "$m" ms)"
        else
            echo "FOOT $rt failed lifecycle: $m"
        fi
        $rt delete -f lc-$rt >/dev/null 2>&1
    done
    i=$((i + 1))
done
