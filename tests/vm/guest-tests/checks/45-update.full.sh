# `update` of every linux.resources field runc 1.1's `update` takes, while the container
# runs, read back from the cgroup's file after each step: the flags, `-r FILE` and `-r -`
# with `unified`. (runc 1.1.5 leaves memory.swap.max alone on `--memory` without
# `--memory-swap` and refuses `--memory-swap` alone on v2; kapsel does the same.) kapsel with
# the cgroupfs driver and with --systemd-cgroup, each compared value by value with runc.
# --full only: some 25 updates per runtime take 1-2 minutes under TCG.
. ./lib.sh
disk=$(cat /sys/block/vda/dev)
# One step a line: `ARGS|FILE|EXPECTED` (ARGS split on spaces; `-r JSON` goes through a
# file; EXPECTED is the file's first line).
steps() {
    cat <<EOF
--memory 200m|memory.max|209715200
--memory 200m --memory-swap 400m|memory.swap.max|209715200
--memory-reservation 64m|memory.low|67108864
--memory-swap -1|memory.swap.max|max
--cpu-share 1024|cpu.weight|39
--cpu-quota 25000|cpu.max|25000 100000
--cpu-period 50000|cpu.max|25000 50000
--cpu-quota -1|cpu.max|max 50000
--cpuset-cpus 1|cpuset.cpus|1
--cpuset-mems 0|cpuset.mems|0
--pids-limit 200|pids.max|200
--blkio-weight 300|io.weight|default 2930
-r {"memory":{"limit":157286400,"swap":314572800,"reservation":33554432}}|memory.max|157286400
-r {"memory":{"limit":157286400,"swap":314572800,"reservation":33554432}}|memory.swap.max|157286400
-r {"memory":{"limit":157286400,"swap":314572800,"reservation":33554432}}|memory.low|33554432
-r {"cpu":{"shares":2048,"quota":30000,"period":60000,"cpus":"0","mems":"0"}}|cpu.weight|79
-r {"cpu":{"shares":2048,"quota":30000,"period":60000,"cpus":"0","mems":"0"}}|cpu.max|30000 60000
-r {"cpu":{"shares":2048,"quota":30000,"period":60000,"cpus":"0","mems":"0"}}|cpuset.cpus|0
-r {"pids":{"limit":50}}|pids.max|50
-r {"blockIO":{"weight":800}}|io.weight|default 7980
-r {"memory":{"limit":157286400,"swap":157286400}}|memory.swap.max|0
-r {"unified":{"memory.high":"104857600"}}|memory.high|104857600
-r {"unified":{"memory.high":"max","cpu.weight":"300"}}|cpu.weight|300
EOF
}
update_steps() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    id=upd-$n
    bundle /tmp/$id '.linux.resources = {"memory": {"limit": 134217728, "swap": 268435456, "reservation": 33554432},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
      "pids": {"limit": 100}, "blockIO": {"weight": 500}}'
    if ! $rt run -d -b /tmp/$id $id </dev/null >/tmp/err 2>&1; then
        fail "$n-update-create" "$(cat /tmp/err)"
        cleanup "$rt" $id
        return
    fi
    cg=$(cg_of $id "$rt")
    : >/tmp/update-$n
    i=0
    steps | while IFS='|' read -r args file want; do
        i=$((i + 1))
        case "$args" in
        "-r "*)
            echo "${args#-r }" >/tmp/upd.json
            # -r - (stdin) every other JSON step
            if [ $((i % 2)) = 0 ]; then
                $rt update -r - $id </tmp/upd.json >/tmp/err 2>&1
            else
                $rt update -r /tmp/upd.json $id >/tmp/err 2>&1
            fi ;;
        *)
            # shellcheck disable=SC2086
            $rt update $args $id >/tmp/err 2>&1 ;;
        esac
        st=$?
        got=$(head -1 $cg/$file 2>/dev/null)
        echo "$i $file=$got status=$st" >>/tmp/update-$n
        if [ $st = 0 ] && [ "$got" = "$want" ]; then
            pass "$n-update-$i ($args: $file $got)"
        else
            fail "$n-update-$i" "$args: $file '$got', expected '$want', status $st: $(head -c 300 /tmp/err)"
        fi
    done
    # Realtime limits have no v2 file: kapsel refuses them, runc 1.1 passes them over (a
    # known difference, printed, not compared).
    $rt update --cpu-rt-period 1000000 --cpu-rt-runtime 950000 $id >/tmp/err 2>&1
    echo "info: $n update --cpu-rt-period/--cpu-rt-runtime on v2: status $? $(head -1 /tmp/err)"
    inside=$($rt exec $id cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max 2>&1 | tr '\n' ' ')
    if [ "$inside" = "157286400 30000 60000 " ]; then
        pass "$n-update-inside ($inside)"
    else
        fail "$n-update-inside" "$inside"
    fi
    cleanup "$rt" $id
}
update_steps kapsel kapsel
update_steps kapsel-systemd kapsel --systemd-cgroup
update_steps runc runc
for n in kapsel kapsel-systemd; do
    if diff /tmp/update-runc /tmp/update-$n >/tmp/update-diff 2>&1; then
        pass "$n-update-as-runc (every step: $(wc -l </tmp/update-runc) values and statuses)"
    else
        fail "$n-update-as-runc" "$(grep '^[<>]' /tmp/update-diff | tr '\n' ' ')"
    fi
done
