# containerd checkpointing and restoring a task with kapsel as its runtime binary, as it
# does with runc: `ctr run --runc-binary` (the runc v2 shim drives the binary), `ctr
# containers checkpoint --task` (an image holding criu's dump; the task is left running),
# the task killed and the container removed, then `ctr containers restore --live` (a
# container and task from the checkpoint image). The counter writes to a bind-mounted host
# directory: a restored task goes on from the count it was dumped at, a restarted one
# would start again from 1. The host's network (`--net-host`): a network namespace of its
# own is dumped by criu with iproute2's `ip`, which the image does not carry. runc runs
# the same steps.
. ./lib.sh
if ! criu check >/tmp/criu-check 2>&1; then
    skip criu-ctr "criu check fails: $(grep -m1 Error /tmp/criu-check || tail -1 /tmp/criu-check)"
    exit 0
fi
if [ ! -f /vm/cri-images/kapsel.local_busybox_1.tar ]; then
    skip criu-ctr "/vm/cri-images not in the payload (scripts/test-vm.sh --full adds it)"
    exit 0
fi
systemctl start containerd || { fail criu-ctr-containerd "$(systemctl status containerd --no-pager | tail -5 | tr '\n' ' ')"; exit 0; }
NS=kapsel-criu
# Every ctr call bounded: a stuck one must not take the rest of the suite with it.
kctr() { timeout 120 ctr -n $NS "$@"; }
kctr images import /vm/cri-images/kapsel.local_busybox_1.tar >/tmp/err 2>&1 ||
    { fail criu-ctr-import "$(tr '\n' ' ' </tmp/err | cut -c1-300)"; exit 0; }
count() { cat "$1/count" 2>/dev/null || echo 0; }
for h in kapsel=/vm/bin/kapsel runc=/usr/sbin/runc; do
    rt=${h%%=*}
    bin=${h#*=}
    c=ck-$rt
    out=/tmp/ctr-ck-$rt
    rm -rf $out
    mkdir -p $out
    kctr run -d --net-host --runc-binary $bin --mount type=bind,src=$out,dst=/out,options=rbind:rw \
        kapsel.local/busybox:1 $c sh -c 'i=0; while :; do i=$((i+1)); echo $i >/out/count; sleep 0.3; done' >/tmp/err 2>&1 ||
        { fail criu-ctr-run-$rt "$(tr '\n' ' ' </tmp/err | cut -c1-300)"; continue; }
    sleep 8
    before=$(count $out)
    t0=$(date +%s)
    if ! kctr containers checkpoint --task $c kapsel.local/checkpoint-$c:1 >/tmp/err 2>&1; then
        fail criu-ctr-checkpoint-$rt "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
        kctr tasks kill -s KILL $c >/dev/null 2>&1; sleep 1; kctr tasks rm -f $c >/dev/null 2>&1
        kctr containers rm $c >/dev/null 2>&1
        continue
    fi
    at=$(count $out)
    status=$(kctr tasks ls | awk -v c=$c '$1 == c {print $3}')
    pass "criu-ctr-checkpoint-$rt (in $(($(date +%s) - t0)) s, count $at, task $status after it, image $(kctr images ls -q | grep -c checkpoint-$c))"
    kctr tasks kill -s KILL $c >/dev/null 2>&1
    sleep 1
    kctr tasks rm -f $c >/dev/null 2>&1
    kctr containers rm $c >/dev/null 2>&1
    echo 0 >$out/count
    t0=$(date +%s)
    if ! kctr containers restore --live $c kapsel.local/checkpoint-$c:1 >/tmp/err 2>&1 </dev/null; then
        fail criu-ctr-restore-$rt "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
    else
        sleep 2
        now=$(count $out)
        status=$(kctr tasks ls | awk -v c=$c '$1 == c {print $3}')
        # Dumped at a count of at least BEFORE (read just before the checkpoint, after 8 s
        # of counting); a new start could not reach it in 2 s.
        got="task $status, count $before before the checkpoint, $at after it, $now 2 s after the restore"
        if [ "$status" = RUNNING ] && [ "$now" -ge "$before" ] && [ "$before" -gt 8 ]; then
            pass "criu-ctr-restore-$rt (in $(($(date +%s) - t0)) s: $got)"
        else
            fail criu-ctr-restore-$rt "$got"
        fi
    fi
    kctr tasks kill -s KILL $c >/dev/null 2>&1
    sleep 1
    kctr tasks rm -f $c >/dev/null 2>&1
    kctr containers rm $c >/dev/null 2>&1
    kctr images rm kapsel.local/checkpoint-$c:1 >/dev/null 2>&1
done
systemctl stop containerd
