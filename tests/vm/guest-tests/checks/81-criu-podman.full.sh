# podman (rootful, systemd cgroup manager) checkpointing and restoring a container with
# kapsel as its runtime, as it does with runc: `podman container checkpoint` / `restore`
# (the container keeps its name and its log goes on), then `checkpoint --export` and
# `restore --import --name` (a new container from the tar), with the host's network and
# with podman's default bridge (a network namespace of its own, which criu dumps with
# iproute2's `ip`). runc runs the same steps.
. ./lib.sh
. ./callers.sh
if ! criu check >/tmp/criu-check 2>&1; then
    skip criu-podman "criu check fails: $(grep -m1 Error /tmp/criu-check || tail -1 /tmp/criu-check)"
    exit 0
fi
podman_conf /etc/containers/containers.conf systemd
rootfs_tar
if ! podman image exists localhost/kt-busybox; then
    podman import -q --change CMD=sh /tmp/busybox-rootfs.tar localhost/kt-busybox >/tmp/err 2>&1 ||
        { fail criu-podman-import "$(tr '\n' ' ' </tmp/err | cut -c1-300)"; exit 0; }
fi
COUNTER='i=0; while :; do i=$((i+1)); echo $i; sleep 0.3; done'

# The container's log: the counter from 1, with no number twice and none missing, and
# going past AT: the processes went on from where they were.
log_goes_on() { # NAME AT
    _l=$(podman logs "$1" 2>/dev/null)
    _n=$(echo "$_l" | grep -c .)
    _last=$(echo "$_l" | tail -1)
    [ "$_last" -gt "$2" ] 2>/dev/null && [ "$_n" = "$_last" ] && [ "$(echo "$_l" | head -1)" = 1 ]
}

podman_ck() { # NAME RUNTIME NETWORK
    n=$1
    rt=$2
    net=$3
    c=ck-$n
    podman rm -f $c $c-new >/dev/null 2>&1
    if ! podman --runtime $rt run -d --name $c --network $net localhost/kt-busybox sh -c "$COUNTER" >/dev/null 2>/tmp/err; then
        fail "$n-podman-checkpoint" "run: $(tr '\n' ' ' </tmp/err | cut -c1-300)"
        return
    fi
    sleep 2
    # The init's stdio as criu sees it: the file, and its mount (in the container's
    # mount namespace or not).
    pid=$(podman inspect -f '{{.State.Pid}}' $c)
    netns=host
    [ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/1/ns/net)" ] || netns="its own: $(grep -c . /proc/$pid/net/dev) lines in net/dev"
    case "$net $netns" in
    "host host" | "bridge its own"*) echo "vm: $n network namespace: $netns" ;;
    *) fail "$n-podman-network" "--network $net gave the network namespace: $netns" ;;
    esac
    for fd in 0 1 2; do
        mnt=$(sed -n 's/^mnt_id:[[:space:]]*//p' /proc/$pid/fdinfo/$fd)
        echo "vm: $n init fd $fd: $(readlink /proc/$pid/fd/$fd), mount $mnt: $(awk -v m="$mnt" '$1 == m {print "in the container at " $5}' /proc/$pid/mountinfo) $(awk -v m="$mnt" '$1 == m {print "in the host at " $5}' /proc/1/mountinfo)"
    done
    t0=$(date +%s)
    if podman container checkpoint $c >/dev/null 2>/tmp/err; then
        st=$(podman inspect -f '{{.State.Status}} {{.State.Checkpointed}}' $c)
        at=$(podman logs $c | tail -1)
        pass "$n-podman-checkpoint ($(($(date +%s) - t0)) s; $st; counter at $at; runtime: $($rt list -q | grep -c .) containers)"
    else
        fail "$n-podman-checkpoint" "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
        podman rm -f $c >/dev/null 2>&1
        return
    fi
    t0=$(date +%s)
    if podman container restore $c >/dev/null 2>/tmp/err; then
        sleep 2
        st=$(podman inspect -f '{{.State.Status}} {{.State.Pid}}' $c)
        if log_goes_on $c "$at" && [ "${st%% *}" = running ]; then
            pass "$n-podman-restore ($(($(date +%s) - t0)) s; $st; the log goes on: $at -> $(podman logs $c | tail -1))"
        else
            fail "$n-podman-restore" "$st; log: $(podman logs $c 2>&1 | tr '\n' ' ' | tail -c 200)"
        fi
    else
        fail "$n-podman-restore" "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
        podman rm -f $c >/dev/null 2>&1
        return
    fi
    rm -f /tmp/$c.tar.gz
    if podman container checkpoint --export /tmp/$c.tar.gz $c >/dev/null 2>/tmp/err; then
        at=$(podman logs $c | tail -1)
        pass "$n-podman-export ($(du -k /tmp/$c.tar.gz | cut -f1) KB, counter at $at)"
    else
        fail "$n-podman-export" "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
        podman rm -f $c >/dev/null 2>&1
        return
    fi
    if podman container restore --import /tmp/$c.tar.gz --name $c-new >/dev/null 2>/tmp/err; then
        sleep 2
        st=$(podman inspect -f '{{.State.Status}} {{.OCIRuntime}}' $c-new)
        last=$(podman logs $c-new 2>/dev/null | tail -1)
        if [ "${st%% *}" = running ] && [ "$last" -gt "$at" ] 2>/dev/null; then
            pass "$n-podman-import (a new container $c-new, $st, counter $at -> $last)"
        else
            fail "$n-podman-import" "$st; log: $(podman logs $c-new 2>&1 | tr '\n' ' ' | tail -c 200)"
        fi
    else
        fail "$n-podman-import" "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
    fi
    podman rm -f $c $c-new >/dev/null 2>&1
    rm -f /tmp/$c.tar.gz
}

podman_ck kapsel kapsel host
podman_ck runc runc host
# podman's default for a rootful container: a network namespace of its own on the CNI
# bridge, which criu dumps and restores with iproute2's `ip`.
podman_ck kapsel-bridge kapsel bridge
podman_ck runc-bridge runc bridge
