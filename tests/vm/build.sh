#!/usr/bin/env bash
# Builds the Debian 12 amd64 VM image of tests/vm (cached under target/vm/image):
#
#   vmlinuz      Debian's kernel (apt-get download linux-image-6.1.0-*-amd64, dpkg-deb -x)
#   initrd.gz    busybox-static and the modules that reach the root disk (virtio, ext4);
#                its /init (guest/init) mounts /dev/vda and switch_root's to systemd
#   rootfs.img   ext4, made with `mke2fs -d` from an mmdebstrap minbase tree: systemd as
#                PID 1, runc, crun, podman, containerd, docker.io, criu, busybox-static,
#                uidmap, jq, iproute2 (criu dumps a netns with `ip`), logind and a user
#                bus, the kernel's modules (depmod), and the unit that runs the test
#                command (guest/kapsel-vm.service)
#
# The image holds no kapsel: tests/vm/run.sh hands each boot its binary and tests on a
# second disk. The image is rebuilt when its inputs change: this file, guest/*, the
# package list (VM_PACKAGES adds to it) and the kernel version apt names.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$PWD/target/vm/image
# The callers (podman + conmon, containerd, docker.io), criu, and what a rootless user
# with a `systemd --user` manager needs (logind through libpam-systemd, a session bus).
packages="systemd,systemd-sysv,dbus,kmod,procps,runc,crun,busybox-static,uidmap,jq"
packages+=",podman,conmon,containerd,docker.io,criu,iptables,nftables,slirp4netns,fuse-overlayfs"
packages+=",containernetworking-plugins,libpam-systemd,dbus-user-session,systemd-container"
# criu dumps and restores a network namespace of its own with `ip` (checks 80-82).
packages+=",iproute2"
packages+="${VM_PACKAGES:+,$VM_PACKAGES}"

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v cpio >/dev/null || need+=(cpio)
command -v depmod >/dev/null || need+=(kmod)
if [ ${#need[@]} -gt 0 ]; then
    echo "vm: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

# The newest Debian 12 kernel, as the metapackage names it.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\).*/\1/p' | head -1)
[ -n "$kpkg" ] || { echo "vm: apt names no linux-image-6.1.0-*-amd64 (apt-get update?)" >&2; exit 1; }
key=$( (cat tests/vm/build.sh tests/vm/guest/*; echo "$packages $kpkg") | sha256sum | cut -c1-16)
if [ -f "$out/key" ] && [ "$(cat "$out/key")" = "$key" ] && [ -f "$out/rootfs.img" ]; then
    exit 0
fi
echo "vm: building the image ($kpkg; $packages) in $out" >&2
start=$(date +%s)
rm -rf "$out"
mkdir -p "$out/debs"
work=$out/work
mkdir -p "$work"

# The kernel and its modules.
(cd "$out/debs" && apt-get download -q "$kpkg" >/dev/null)
dpkg-deb -x "$out"/debs/"$kpkg"_*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
# Drivers no VM of this harness has: about two thirds of the modules' size.
for d in sound drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet \
    drivers/infiniband drivers/staging drivers/iio drivers/usb drivers/bluetooth \
    drivers/hid drivers/input drivers/scsi drivers/isdn drivers/mtd drivers/hwmon \
    drivers/video drivers/mfd drivers/platform drivers/nfc drivers/net/can net/bluetooth \
    net/wireless net/mac80211; do
    rm -rf "$work/kernel/lib/modules/$kver/kernel/$d"
done

# The root filesystem.
mmdebstrap --quiet --variant=minbase --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$work/rootfs" http://deb.debian.org/debian
r=$work/rootfs
mkdir -p "$r/usr/lib/modules"
cp -a "$work/kernel/lib/modules/$kver" "$r/usr/lib/modules/"
depmod -b "$r" "$kver"
echo kapsel-vm >"$r/etc/hostname"
: >"$r/etc/fstab"
passwd -R "$r" -d root >/dev/null
install -m 644 tests/vm/guest/kapsel-vm.service "$r/etc/systemd/system/"
install -m 755 tests/vm/guest/runner.sh "$r/usr/local/sbin/kapsel-vm-runner"
ln -sf /etc/systemd/system/kapsel-vm.service "$r/etc/systemd/system/multi-user.target.wants/"
# Nothing waits for a login on the consoles.
for u in getty@tty1.service serial-getty@ttyS0.service serial-getty@ttyS1.service \
    systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$r/etc/systemd/system/$u"
done
# The callers' daemons start only when a check starts them (systemctl start).
rm -f "$r"/etc/systemd/system/multi-user.target.wants/{docker,containerd}.service \
    "$r"/etc/systemd/system/sockets.target.wants/docker.socket
rm -rf "$r/var/cache/apt"/*.bin "$r/var/lib/apt/lists"/*_Packages
size=$(du -sm "$r" | cut -f1)
mke2fs -q -F -t ext4 -d "$r" -L kapsel-vm "$out/rootfs.img" "$((size * 13 / 10 + 256))M"

# The initramfs: busybox and the modules that reach /dev/vda.
i=$work/initrd
mkdir -p "$i/bin" "$i/modules"
cp "$r/bin/busybox" "$i/bin/busybox"
install -m 755 tests/vm/guest/init "$i/init"
# Each wanted module after the modules it depends on (modules.dep lists the
# dependencies of a module; one not listed is built into the kernel).
dep=$r/usr/lib/modules/$kver/modules.dep
order=()
add() {
    local path
    path=$(grep -E "/$1\.ko(\.[a-z]+)?:" "$dep" | head -1 | cut -d: -f1 || true)
    [ -n "$path" ] || return 0
    case " ${order[*]} " in *" $path "*) return 0 ;; esac
    local d
    for d in $(grep -E "^$path:" "$dep" | cut -d: -f2 || true); do
        add "$(basename "$d" | sed 's/\.ko.*//')"
    done
    order+=("$path")
}
for m in virtio virtio_ring virtio_pci virtio_blk ext4 crc32c_generic crc32c_intel; do add "$m"; done
for p in "${order[@]}"; do
    cp "$r/usr/lib/modules/$kver/$p" "$i/modules/"
    basename "$p" >>"$i/modules/order"
done
(cd "$i" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.gz"
rm -rf "$work"
echo "$kver" >"$out/kernel-version"
echo "$key" >"$out/key"
echo "vm: image built in $(($(date +%s) - start)) s: rootfs $(du -m "$out/rootfs.img" | cut -f1) MB ($size MB used), kernel $kver" >&2
