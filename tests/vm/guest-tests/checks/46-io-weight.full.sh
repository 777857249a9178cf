# io.weight under contention: the BFQ scheduler on the VM's virtio disk (Debian's kernel has
# it as a module; without it a virtio disk has no weight-based scheduling), two containers
# reading the disk with direct I/O side by side, blockIO weights 100 and 1000. Their
# cgroups' io.stat `rbytes` over the same window tell the shares. kapsel with the cgroupfs
# driver and --systemd-cgroup, runc the same way to prove the check.
. ./lib.sh
was=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/block/vda/queue/scheduler)
if ! modprobe bfq 2>/tmp/err || ! echo bfq >/sys/block/vda/queue/scheduler 2>>/tmp/err; then
    skip io-weight-contention "no BFQ for /dev/vda: $(tr '\n' ' ' </tmp/err)"
    exit 0
fi
# BFQ's low-latency heuristics raise a new queue's weight for its first seconds: off, so
# the window measures the weights alone.
echo 0 >/sys/block/vda/queue/iosched/low_latency
echo "info: /dev/vda scheduler: $(cat /sys/block/vda/queue/scheduler), low_latency $(cat /sys/block/vda/queue/iosched/low_latency)"
disk=$(cat /sys/block/vda/dev)
major=${disk%:*}
minor=${disk#*:}
rbytes() { sed -n "s/^$disk .*rbytes=\([0-9]*\).*/\1/p" "$1/io.stat"; }
contention() { # NAME RUNTIME...
    n=$1
    shift
    rt="$*"
    for w in 100 1000; do
        # Four readers each (requests queued at the scheduler, or BFQ has nothing to order),
        # each going over and over a 50 MB part of the disk of its own, 256 KiB at a time,
        # bypassing the guest's page cache (the host's caches every part alike).
        skip=$((w == 100 ? 0 : 1000))
        bundle /tmp/io$w-$n '.linux.resources.blockIO = {"weight": '$w'}
          | .linux.resources.devices = [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": '$major', "minor": '$minor', "access": "r"}]
          | .linux.devices = [{"path": "/dev/vda", "type": "b", "major": '$major', "minor": '$minor'}]' \
            sh -c "for k in 0 1 2 3; do while :; do dd if=/dev/vda of=/dev/null bs=256k skip=\$(($skip + k * 200)) count=200 iflag=direct 2>/dev/null; done & done; sleep 1000"
        if ! $rt run -d -b /tmp/io$w-$n io$w-$n </dev/null >/tmp/err 2>&1; then
            fail "$n-io-weight-contention" "$(cat /tmp/err)"
            cleanup "$rt" io100-$n
            return
        fi
    done
    lo=$(cg_of io100-$n "$rt")
    hi=$(cg_of io1000-$n "$rt")
    sleep 2
    l0=$(rbytes $lo)
    h0=$(rbytes $hi)
    sleep 10
    l=$(($(rbytes $lo) - l0))
    h=$(($(rbytes $hi) - h0))
    ratio=$((h * 10 / (l + 1)))
    got="io.bfq.weight $(cat $lo/io.bfq.weight 2>/dev/null | tr '\n' ' ')/$(cat $hi/io.bfq.weight 2>/dev/null | tr '\n' ' '), io.weight $(head -1 $lo/io.weight)/$(head -1 $hi/io.weight): $((l / 1024)) KiB and $((h / 1024)) KiB read in 10 s, ratio $((ratio / 10)).$((ratio % 10))"
    echo "info: $n io weight: $got"
    # BFQ shares by weight while both groups are busy: 10:1 asked. Under TCG one 6 s window
    # gave 2.3 to 16.1 for the same runtime in seven runs (kapsel 16.1, 4.0, 2.3; kapsel
    # --systemd-cgroup 4.5, 4.6; runc 10.1, 5.1): at least 2:1.
    if [ $ratio -ge 20 ] && [ $l -gt 0 ]; then
        pass "$n-io-weight-contention ($got)"
    else
        fail "$n-io-weight-contention" "$got"
    fi
    cleanup "$rt" io100-$n
    cleanup "$rt" io1000-$n
}
contention kapsel kapsel
contention kapsel-systemd kapsel --systemd-cgroup
contention runc runc
# The checks after this one get the disk's scheduler back.
echo "$was" >/sys/block/vda/queue/scheduler
