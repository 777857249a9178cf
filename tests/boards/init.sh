#!/bin/busybox sh
# PID 1 of an emulated board (tests/boards/board.sh puts it at /init of the initramfs).
#
# pivot_root cannot leave the initramfs (rootfs is never a mount below another), so the
# first stage copies everything to a tmpfs and switch_root's to it; the second stage
# mounts what the runtimes need, runs the smoke set and the footprint measurements,
# and powers the board off. The host reads the console: lines starting with BOARD.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp
if [ ! -e /.stage2 ]; then
    /bin/busybox --install -s /bin
    mount -t proc proc /proc
    mkdir -p /newroot
    mount -t tmpfs -o mode=755 tmpfs /newroot
    for f in /* /.[!.]*; do
        case "$f" in
        /proc | /sys | /dev | /newroot | '/.[!.]*') ;;
        *) cp -a "$f" /newroot/ ;;
        esac
    done
    mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
    touch /newroot/.stage2
    umount /proc
    exec switch_root /newroot /init
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
echo "BOARD kernel $(uname -r) $(uname -m), $(grep -c ^processor /proc/cpuinfo) cpu, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
# The containers' cgroups live below /boards, with the controllers the checks use.
echo "+memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/boards
echo "+memory +pids" > /sys/fs/cgroup/boards/cgroup.subtree_control
# The containers' root: the board's busybox and its applets.
for a in $(/boards/rootfs/bin/busybox --list); do
    [ -e "/boards/rootfs/bin/$a" ] || ln -s busybox "/boards/rootfs/bin/$a"
done
export PATH=/bin:/usr/bin:/boards/bin
sh /boards/smoke.sh
! command -v kapsel-device >/dev/null || K=kapsel-device P=device- sh /boards/smoke.sh
if command -v kapsel-wasm >/dev/null; then
    sh /boards/wasm.sh
else
    echo "BOARD SKIP wasm: no kapsel-wasm in this initramfs (scripts/build-static.sh --wasm $(uname -m)-unknown-linux-musl)"
fi
sh /boards/footprint.sh
echo "BOARD DONE"
poweroff -f
