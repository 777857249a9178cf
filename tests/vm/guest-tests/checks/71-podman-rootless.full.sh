# podman rootless: user kt (uid 1500, subordinate ids) with lingering enabled, so logind
# starts its `systemd --user` (user@1500.service, Delegate= cpu memory pids), and podman run
# as kt with that manager's bus. With `cgroup_manager = "systemd"` (podman's default) the
# container gets a scope of the user manager (user@1500.service/user.slice/libpod-ID.scope);
# kapsel's driver for rootless containers talks to that manager over the user's bus, as
# runc's does. With `cgroupfs` podman hands the
# runtime the user's own delegated cgroup: kapsel and runc put the container at
# user@1500.service/user.slice/ID with the limit set (crun leaves it in podman's scope, no
# limit). runc runs both rounds too.
. ./lib.sh
. ./callers.sh
id -u kt >/dev/null 2>&1 || useradd -m -u 1500 kt
grep -q '^kt:' /etc/subuid 2>/dev/null || echo "kt:100000:65536" >>/etc/subuid
grep -q '^kt:' /etc/subgid 2>/dev/null || echo "kt:100000:65536" >>/etc/subgid
t0=$(date +%s)
loginctl enable-linger kt
i=0
while [ ! -S /run/user/1500/bus ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
if [ ! -S /run/user/1500/bus ]; then
    fail podman-rootless-user-manager "no /run/user/1500/bus after $(($(date +%s) - t0)) s: $(systemctl is-active user@1500.service)"
    exit 0
fi
ucg=/sys/fs/cgroup/user.slice/user-1500.slice/user@1500.service
pass "podman-rootless-user-manager (user@1500.service after $(($(date +%s) - t0)) s, delegated: $(cat $ucg/cgroup.controllers))"
for m in systemd cgroupfs; do
    podman_conf /home/kt/.config/containers/$m.conf $m
done
chown -R kt: /home/kt/.config
chmod 0644 /tmp/busybox-rootfs.tar 2>/dev/null || rootfs_tar
kp() { # podman as kt, with the containers.conf of $KPCONF
    runuser -u kt -- env HOME=/home/kt XDG_RUNTIME_DIR=/run/user/1500 \
        DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1500/bus \
        CONTAINERS_CONF=/home/kt/.config/containers/$KPCONF.conf podman "$@"
}
ksc() { runuser -u kt -- env XDG_RUNTIME_DIR=/run/user/1500 systemctl --user "$@"; }
KPCONF=systemd
if kp import -q --change CMD=sh /tmp/busybox-rootfs.tar localhost/kt-busybox >/tmp/err 2>&1; then
    pass podman-rootless-import
else
    fail podman-rootless-import "$(tr '\n' ' ' </tmp/err | cut -c1-300)"
fi
# systemd: the round of 70-podman.sh in the user manager's scope.
KPCONF=systemd
podman_round podman-rootless-systemd-kapsel kapsel $ucg/user.slice ksc kp
podman_round podman-rootless-systemd-runc runc $ucg/user.slice ksc kp
# cgroupfs: no scope; the container's cgroup is read from its init's /proc entry.
KPCONF=cgroupfs
for rt in kapsel runc; do
    n=podman-rootless-cgroupfs-$rt
    if ! id=$(kp --runtime $rt run -d --name $n --memory 64m localhost/kt-busybox sleep 1000 2>/tmp/err); then
        fail "$n-run" "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
        kp rm -f $n >/dev/null 2>&1
        continue
    fi
    pid=$(kp inspect -f '{{.State.Pid}}' $n)
    cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$pid/cgroup)
    inside=$(kp exec $n cat /sys/fs/cgroup/memory.max 2>&1)
    if [ "$cg" = "$ucg/user.slice/$id" ] && [ "$inside" = $MEM ] && [ "$(cat $cg/memory.max)" = $MEM ]; then
        pass "$n-memory-max (inside and in ${cg#/sys/fs/cgroup})"
    else
        fail "$n-memory-max" "cgroup $cg (wanted $ucg/user.slice/$id), inside: $inside, outside: $(cat $cg/memory.max 2>&1)"
    fi
    if kp stop -t 1 $n >/tmp/err 2>&1 && kp rm $n >>/tmp/err 2>&1 && [ ! -d "$cg" ]; then
        pass "$n-stop-rm (cgroup gone)"
    else
        fail "$n-stop-rm" "$(tr '\n' ' ' </tmp/err | cut -c1-300); $cg: $([ -d "$cg" ] && echo left || echo gone)"
    fi
done
