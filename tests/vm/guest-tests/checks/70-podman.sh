# podman (rootful) with its default cgroup manager on such hosts, `systemd`, and kapsel as its
# OCI runtime: run -d with --memory 64m, exec, stop, rm. The memory limit is read from inside
# the container and from the scope's cgroup (machine.slice/libpod-ID.scope); the scope is
# active while the container runs and gone after rm. The full set runs the same round with
# runc and crun (podman's own defaults).
. ./lib.sh
. ./callers.sh
podman_conf /etc/containers/containers.conf systemd
rootfs_tar
t0=$(date +%s)
if podman import -q --change CMD=sh /tmp/busybox-rootfs.tar localhost/kt-busybox >/tmp/err 2>&1; then
    pass "podman-import ($(($(date +%s) - t0)) s)"
else
    fail podman-import "$(tr '\n' ' ' </tmp/err | cut -c1-300)"
fi
podman_round podman-kapsel kapsel /sys/fs/cgroup/machine.slice systemctl podman
if [ "${VM_SET:-quick}" = full ]; then
    podman_round podman-runc runc /sys/fs/cgroup/machine.slice systemctl podman
    podman_round podman-crun crun /sys/fs/cgroup/machine.slice systemctl podman
fi
