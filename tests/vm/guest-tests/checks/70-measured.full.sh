# Limits measured under load on pure cgroup v2: cpu.weight under contention (two busy loops
# on one pinned CPU, weights 100 and 400), misc.max, memory.swap.max with real swap (a swap
# file in the guest: an eater over memory.max but under memory+swap survives in swap, with
# no swap it is OOM-killed), memory.low and memory.high (read back, and an eater over
# memory.high held there through reclaim: memory.events `high` grows). kapsel with the
# cgroupfs driver and --systemd-cgroup, runc the same way to prove the checks.
. ./lib.sh
usage() { sed -n 's/^usage_usec //p' "$1/cpu.stat"; }
MIB=1048576
# Holds N x 10 MiB (touched), prints `held`, then sleeps; `exit=STATUS` when awk died.
eater() { echo "awk 'BEGIN { s = sprintf(\"%10485760s\", \"\"); for (i = 1; i <= $1; i++) a[i] = s; print \"held\"; fflush(); system(\"sleep 1000\") }'; echo exit=\$?; sleep 1000"; }
# Waits (up to $2 tenths of a second) until file $1 holds a line `held` or `exit=`.
wait_eater() {
    _t=0
    while [ $_t -lt "$2" ] && ! grep -q '^held$\|^exit=' "$1" 2>/dev/null; do
        sleep 0.1
        _t=$((_t + 1))
    done
}

weights() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    for w in 100 400; do
        bundle /tmp/w$w-$n '.linux.resources.cpu = {"cpus": "1"} | .linux.resources.unified = {"cpu.weight": "'$w'"}' sh -c 'while :; do :; done'
        if ! $rt run -d -b /tmp/w$w-$n w$w-$n </dev/null >/tmp/err 2>&1; then
            fail "$n-cpu-weight" "$(cat /tmp/err)"
            cleanup "$rt" w100-$n
            return
        fi
    done
    lo=$(cg_of w100-$n "$rt")
    hi=$(cg_of w400-$n "$rt")
    sleep 1
    l0=$(usage $lo)
    h0=$(usage $hi)
    t0=$(date +%s%N)
    sleep 6
    l=$(($(usage $lo) - l0))
    h=$(($(usage $hi) - h0))
    us=$((($(date +%s%N) - t0) / 1000))
    ratio=$((h * 100 / (l + 1)))
    got="weights $(cat $lo/cpu.weight)/$(cat $hi/cpu.weight), cpus $(cat $lo/cpuset.cpus.effective)/$(cat $hi/cpuset.cpus.effective): $((l * 100 / us))% and $((h * 100 / us))% of cpu 1, ratio $((ratio / 100)).$((ratio % 100 / 10))"
    echo "info: $n cpu.weight: $got"
    if [ "$(cat $lo/cpu.weight) $(cat $hi/cpu.weight)" = "100 400" ] && [ $ratio -ge 300 ] && [ $ratio -le 500 ] &&
        [ $(((l + h) * 100 / us)) -ge 70 ]; then
        pass "$n-cpu-weight-contention ($got)"
    else
        fail "$n-cpu-weight-contention" "$got"
    fi
    cleanup "$rt" w100-$n
    cleanup "$rt" w400-$n
}

misc() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    cap=$(head -1 /sys/fs/cgroup/misc.capacity 2>/dev/null)
    if [ -z "$cap" ]; then
        skip "$n-misc-max" "the kernel exposes no misc resource (misc.capacity is empty: no SEV, SEV-ES or TDX in this VM)"
        return
    fi
    res=${cap%% *}
    id=misc-$n
    bundle /tmp/$id '.linux.resources.unified = {"misc.max": "'"$res"' 1"}'
    if $rt run -d -b /tmp/$id $id </dev/null >/tmp/err 2>&1; then
        got=$(grep "^$res " "$(cg_of $id "$rt")/misc.max")
        [ "$got" = "$res 1" ] && pass "$n-misc-max ($got)" || fail "$n-misc-max" "misc.max: $got"
    else
        fail "$n-misc-max" "$(cat /tmp/err)"
    fi
    cleanup "$rt" $id
}

swap() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    # memory 64 MiB, memory+swap 192 MiB: swap.max 128 MiB; the eater holds 120 MiB.
    id=swap-$n
    bundle /tmp/$id '.linux.resources.memory = {"limit": 67108864, "swap": 201326592}' sh -c "$(eater 12)"
    if $rt run -d -b /tmp/$id $id </dev/null >/tmp/out-$id 2>&1; then
        cg=$(cg_of $id "$rt")
        t0=$(date +%s)
        wait_eater /tmp/out-$id 900
        got="$(tr '\n' ' ' </tmp/out-$id)after $(($(date +%s) - t0)) s; swap.max $(cat $cg/memory.swap.max), memory.current $(($(cat $cg/memory.current) / MIB)) MiB, swap.current $(($(cat $cg/memory.swap.current) / MIB)) MiB, oom_kill $(sed -n 's/^oom_kill //p' $cg/memory.events)"
        echo "info: $n swap: $got"
        if grep -q '^held$' /tmp/out-$id && [ "$(cat $cg/memory.swap.max)" = 134217728 ] &&
            [ "$(cat $cg/memory.current)" -le 67108864 ] && [ "$(cat $cg/memory.swap.current)" -ge $((40 * MIB)) ] &&
            [ "$(sed -n 's/^oom_kill //p' $cg/memory.events)" = 0 ]; then
            pass "$n-swap-holds-the-eater ($got)"
        else
            fail "$n-swap-holds-the-eater" "$got"
        fi
    else
        fail "$n-swap-holds-the-eater" "$(cat /tmp/out-$id)"
    fi
    cleanup "$rt" $id
    # memory+swap equal to memory: no swap (swap.max 0), the same eater is OOM-killed.
    id=noswap-$n
    bundle /tmp/$id '.linux.resources.memory = {"limit": 67108864, "swap": 67108864}' sh -c "$(eater 12)"
    if $rt run -d -b /tmp/$id $id </dev/null >/tmp/out-$id 2>&1; then
        cg=$(cg_of $id "$rt")
        wait_eater /tmp/out-$id 900
        got="$(tr '\n' ' ' </tmp/out-$id)swap.max $(cat $cg/memory.swap.max), swap.current $(cat $cg/memory.swap.current), oom_kill $(sed -n 's/^oom_kill //p' $cg/memory.events)"
        if grep -q '^exit=137$' /tmp/out-$id && [ "$(cat $cg/memory.swap.max)" = 0 ] &&
            [ "$(sed -n 's/^oom_kill //p' $cg/memory.events)" -ge 1 ]; then
            pass "$n-no-swap-oom-kill ($got)"
        else
            fail "$n-no-swap-oom-kill" "$got"
        fi
    else
        fail "$n-no-swap-oom-kill" "$(cat /tmp/out-$id)"
    fi
    cleanup "$rt" $id
}

high() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    # memory.low 16 MiB, memory.high 48 MiB (unified), memory.max 256 MiB with as much
    # swap; the eater holds 100 MiB: reclaim keeps it near memory.high, in swap.
    id=high-$n
    bundle /tmp/$id '.linux.resources.memory = {"limit": 268435456, "swap": 536870912, "reservation": 16777216} | .linux.resources.unified = {"memory.high": "50331648"}' sh -c "$(eater 10)"
    if $rt run -d -b /tmp/$id $id </dev/null >/tmp/out-$id 2>&1; then
        cg=$(cg_of $id "$rt")
        inside=$($rt exec $id cat /sys/fs/cgroup/memory.low /sys/fs/cgroup/memory.high 2>&1 | tr '\n' ' ')
        t0=$(date +%s)
        wait_eater /tmp/out-$id 900
        got="$(tr '\n' ' ' </tmp/out-$id)after $(($(date +%s) - t0)) s; low $(cat $cg/memory.low), high $(cat $cg/memory.high) (inside: $inside), memory.current $(($(cat $cg/memory.current) / MIB)) MiB, swap.current $(($(cat $cg/memory.swap.current) / MIB)) MiB, events: $(tr '\n' ' ' <$cg/memory.events)"
        echo "info: $n memory.high: $got"
        if grep -q '^held$' /tmp/out-$id && [ "$(cat $cg/memory.low) $(cat $cg/memory.high)" = "16777216 50331648" ] &&
            [ "$inside" = "16777216 50331648 " ] && [ "$(sed -n 's/^high //p' $cg/memory.events)" -ge 1 ] &&
            [ "$(cat $cg/memory.current)" -le $((56 * MIB)) ] && [ "$(sed -n 's/^oom_kill //p' $cg/memory.events)" = 0 ]; then
            pass "$n-memory-low-high ($got)"
        else
            fail "$n-memory-low-high" "$got"
        fi
    else
        fail "$n-memory-low-high" "$(cat /tmp/out-$id)"
    fi
    cleanup "$rt" $id
}

weights kapsel kapsel
weights kapsel-systemd kapsel --systemd-cgroup
weights runc runc
misc kapsel kapsel
misc runc runc
# A swap file on the guest's ext4 root (the disk is a snapshot: nothing reaches the image);
# the root has little room, so the size is what fits.
swapfile=/swapfile
if [ -z "$(sed 1d /proc/swaps)" ]; then
    for mb in 256 160 128; do
        if dd if=/dev/zero of=$swapfile bs=1M count=$mb status=none 2>/dev/null && chmod 600 $swapfile &&
            mkswap $swapfile >/dev/null && swapon $swapfile; then
            break
        fi
        rm -f $swapfile
    done
fi
if [ -n "$(sed 1d /proc/swaps)" ]; then
    echo "info: swap: $(sed 1d /proc/swaps | tr -s ' \t' ' ')"
    for rt in kapsel "kapsel --systemd-cgroup" runc; do
        n=$(echo $rt | sed 's/ --/-/; s/-cgroup//')
        swap $n $rt
        high $n $rt
    done
    swapoff $swapfile && rm -f $swapfile
else
    skip swap "no swap could be turned on in the guest (root file system: $(df -m / | tail -1 | tr -s ' ' | cut -d' ' -f4) MB free)"
fi
