# Every linux.resources field of one container, read back outside (its cgroup's files) and
# inside (the container's own /sys/fs/cgroup); the eBPF device filter denying a device the
# container has a node for; io.max measured on the VM's virtio disk. --full runs the same
# bundle under runc and compares every file.
. ./lib.sh
disk=$(cat /sys/block/vda/dev)
major=${disk%:*}
minor=${disk#*:}
files="memory.max memory.low memory.high memory.swap.max cpu.weight cpu.max cpuset.cpus cpuset.mems pids.max hugetlb.2MB.max io.weight io.bfq.weight io.max"
filter='.linux.resources = {
  "memory": {"limit": 268435456, "reservation": 67108864, "swap": 536870912},
  "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
  "pids": {"limit": 100},
  "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
  "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": '$major', "minor": '$minor', "rate": 1048576}]},
  "unified": {"memory.high": "209715200"},
  "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": '$major', "minor": '$minor', "access": "r"}]
} | .linux.devices = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}, {"path": "/dev/vda", "type": "b", "major": '$major', "minor": '$minor'}]'
expect() { # FILE -> the value the fields above ask for
    case $1 in
    memory.max) echo 268435456 ;; memory.low) echo 67108864 ;; memory.high) echo 209715200 ;;
    memory.swap.max) echo 268435456 ;; cpu.weight) echo 20 ;; cpu.max) echo "50000 100000" ;;
    cpuset.cpus | cpuset.mems) echo 0 ;; pids.max) echo 100 ;; hugetlb.2MB.max) echo 4194304 ;;
    io.max) echo "$disk rbps=1048576 wbps=max riops=max wiops=max" ;;
    *) echo "?" ;;
    esac
}
fields() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    id=fields-$n
    bundle /tmp/$id "$filter"
    if ! $rt run -d -b /tmp/$id $id </dev/null >/tmp/err 2>&1; then
        fail "$n-fields-create" "$(cat /tmp/err)"
        cleanup "$rt" $id
        return
    fi
    cg=$(cg_of $id "$rt")
    : >/tmp/values-$n
    inside=$($rt exec $id sh -c "cd /sys/fs/cgroup; for f in $files; do echo \"\$f=\$(cat \$f 2>/dev/null | head -1)\"; done" 2>&1)
    for f in $files; do
        out=$(head -1 $cg/$f 2>/dev/null)
        in=$(echo "$inside" | sed -n "s/^$f=//p")
        echo "$f=$out" >>/tmp/values-$n
        want=$(expect $f)
        [ "$want" = "?" ] && continue
        if [ "$out" = "$want" ] && [ "$in" = "$want" ]; then
            pass "$n-field-$f ($want)"
        else
            fail "$n-field-$f" "outside '$out', inside '$in', expected '$want'"
        fi
    done
    # The device filter: /dev/kmsg has a node in the container but no rule; the disk is
    # readable, not writable.
    dev=$($rt exec $id sh -c '(exec 3</dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied; (exec 3</dev/vda) 2>/dev/null && echo vda-read || echo vda-denied; (exec 3>/dev/vda) 2>/dev/null && echo vda-write || echo vda-write-denied; (exec 3</dev/null) 2>/dev/null && echo null-ok' 2>&1 | tr '\n' ' ')
    if [ "$dev" = "kmsg-denied vda-read vda-write-denied null-ok " ]; then
        pass "$n-device-filter ($dev)"
    else
        fail "$n-device-filter" "$dev"
    fi
    # io.max: 4 MB read straight from the disk at 1 MB/s takes about 4 s.
    t0=$(date +%s%N)
    $rt exec $id dd if=/dev/vda of=/dev/null bs=1M count=4 skip=$((100 + ${#n} * 10)) iflag=direct >/tmp/dd 2>&1 ||
        $rt exec $id dd if=/dev/vda of=/dev/null bs=1M count=4 skip=$((100 + ${#n} * 10)) >/tmp/dd 2>&1
    ms=$((($(date +%s%N) - t0) / 1000000))
    if [ $ms -ge 2500 ] && [ $ms -le 8000 ]; then
        pass "$n-io-max-read (4 MB at 1 MB/s in $ms ms)"
    else
        fail "$n-io-max-read" "4 MB in $ms ms: $(tail -1 /tmp/dd)"
    fi
    cleanup "$rt" $id
}
fields kapsel kapsel
if [ "${VM_SET:-quick}" = full ]; then
    fields kapsel-systemd kapsel --systemd-cgroup
    fields runc runc
    for f in $files; do
        k=$(sed -n "s/^$f=//p" /tmp/values-kapsel)
        r=$(sed -n "s/^$f=//p" /tmp/values-runc)
        if [ "$k" = "$r" ]; then pass "field-$f-as-runc ($k)"; else fail "field-$f-as-runc" "kapsel '$k', runc '$r'"; fi
    done
fi
