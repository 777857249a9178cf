# linux.resources really enforced on pure cgroup v2, read back from outside (the cgroup's
# files) and inside (the container's /sys/fs/cgroup): a memory eater OOM-killed at 100 MB
# with the `oom` event in `events`, a fork bomb contained by pids.max and cleared with
# `kill --all` (cgroup.kill), a busy loop held to cpu.max, and `update` of each while
# running. kapsel with the cgroupfs driver and with --systemd-cgroup; runc (full set) too.
. ./lib.sh
usage() { sed -n 's/^usage_usec //p' "$1/cpu.stat"; }
resources() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    # memory.max: `dd` with a 200 MB block touches 200 MB; the limit is 100 MB, no swap.
    id=oom-$n
    b=/tmp/$id
    bundle $b '.linux.resources.memory = {"limit": 104857600, "swap": 104857600}' sh -c 'cat /sys/fs/cgroup/memory.max; dd if=/dev/zero of=/dev/null bs=200M count=1'
    if $rt create -b $b $id >/tmp/err 2>&1; then
        cg=$(cg_of $id "$rt")
        max=$(cat $cg/memory.max)
        $rt events $id >/tmp/events-$id 2>&1 &
        ev=$!
        # `events` reports the kills that happen while it watches: wait for its first line
        # (printed once it watches), which under TCG on a loaded host can take seconds.
        _t=0
        while [ ! -s /tmp/events-$id ] && [ $_t -lt 100 ]; do
            sleep 0.1
            _t=$((_t + 1))
        done
        $rt start $id
        wait_status "$rt" $id stopped || sleep 5
        sleep 1
        kill $ev 2>/dev/null
        # With systemd the scope, and its cgroup, is gone once its last process exited:
        # the parent's memory.events counts the kills of its children (cgroup v2).
        kills=$(sed -n 's/^oom_kill //p' $cg/memory.events 2>/dev/null || sed -n 's/^oom_kill //p' $(dirname $cg)/memory.events)
        if [ "$max" = 104857600 ] && [ "${kills:-0}" -ge 1 ] && grep -q '"oom"' /tmp/events-$id; then
            pass "$n-memory-oom-kill (memory.max $max, oom_kill $kills, oom event)"
        else
            fail "$n-memory-oom-kill" "memory.max $max, oom_kill $kills, events: $(head -c 300 /tmp/events-$id)"
        fi
    else
        fail "$n-memory-oom-kill" "$(cat /tmp/err)"
    fi
    cleanup "$rt" $id

    # pids.max: a fork bomb in a container limited to 32 pids.
    id=pids-$n
    b=/tmp/$id
    bundle $b '.linux.resources.pids = {"limit": 32}' sh -c 'f() { f | f & }; f; sleep 999'
    if $rt run -d -b $b $id </dev/null >/tmp/err 2>&1; then
        cg=$(cg_of $id "$rt")
        sleep 4
        cur=$(cat $cg/pids.current)
        hit=$(sed -n 's/^max //p' $cg/pids.events)
        if [ "$cur" -le 32 ] && [ "${hit:-0}" -ge 1 ] && [ "$(cat $cg/pids.max)" = 32 ]; then
            pass "$n-pids-fork-bomb (pids.current $cur of 32, refused $hit forks)"
        else
            fail "$n-pids-fork-bomb" "pids.current $cur, pids.events max ${hit:-none}"
        fi
        $rt update --pids-limit 64 $id && [ "$(cat $cg/pids.max)" = 64 ] && pass "$n-update-pids" || fail "$n-update-pids" "pids.max $(cat $cg/pids.max)"
        $rt kill --all $id KILL
        if wait_status "$rt" $id stopped && [ "$(cat $cg/pids.current 2>/dev/null || echo 0)" = 0 ]; then
            pass "$n-kill-all-fork-bomb"
        else
            fail "$n-kill-all-fork-bomb" "pids.current $(cat $cg/pids.current)"
        fi
    else
        fail "$n-pids-fork-bomb" "$(cat /tmp/err)"
    fi
    cleanup "$rt" $id

    # cpu.max: a busy loop at 10% of a CPU, then 50% after update; measured from cpu.stat.
    id=cpu-$n
    b=/tmp/$id
    bundle $b '.linux.resources.cpu = {"quota": 10000, "period": 100000}' sh -c 'while :; do :; done'
    if $rt run -d -b $b $id </dev/null >/tmp/err 2>&1; then
        cg=$(cg_of $id "$rt")
        sleep 1
        u0=$(usage $cg)
        sleep 4
        pct=$((($(usage $cg) - u0) / 40000))
        inside=$($rt exec $id cat /sys/fs/cgroup/cpu.max 2>&1)
        if [ "$(cat $cg/cpu.max)" = "10000 100000" ] && [ "$inside" = "10000 100000" ] && [ $pct -ge 5 ] && [ $pct -le 15 ]; then
            pass "$n-cpu-max-10 (${pct}% of a CPU)"
        else
            fail "$n-cpu-max-10" "cpu.max $(cat $cg/cpu.max), inside $inside, ${pct}% of a CPU"
        fi
        $rt update --cpu-quota 50000 --memory 50m $id
        u0=$(usage $cg)
        sleep 4
        pct=$((($(usage $cg) - u0) / 40000))
        if [ "$(cat $cg/cpu.max)" = "50000 100000" ] && [ $pct -ge 35 ] && [ $pct -le 65 ] && [ "$(cat $cg/memory.max)" = 52428800 ]; then
            pass "$n-update-cpu-memory (${pct}% of a CPU at 50%, memory.max 50m)"
        else
            fail "$n-update-cpu-memory" "cpu.max $(cat $cg/cpu.max), ${pct}%, memory.max $(cat $cg/memory.max)"
        fi
    else
        fail "$n-cpu-max-10" "$(cat /tmp/err)"
    fi
    cleanup "$rt" $id
}
resources kapsel kapsel
resources kapsel-systemd kapsel --systemd-cgroup
if [ "${VM_SET:-quick}" = full ]; then
    resources runc runc
    resources runc-systemd runc --systemd-cgroup
fi
