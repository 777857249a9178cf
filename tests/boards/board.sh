#!/usr/bin/env bash
# One emulated board: tests/boards/board.sh aarch64|armv7|riscv64
#
# Boots QEMU (TCG) with a Debian kernel of that architecture and an initramfs holding
# busybox-static, the static kapsel of scripts/build-static.sh (and its device build when
# it was made), Debian's crun with its shared libraries, the meter and the bundles;
# tests/boards/init.sh then runs the smoke set and the footprint measurements on the
# board. The console goes to target/boards/ARCH/console.log; the BOARD and FOOT lines
# to target/boards/ARCH/results.txt. Exit status 0 when the board finished and every
# check passed.
#
# BOARDS_RUNS (default 10): rounds of the footprint timings. BOARDS_TIMEOUT (default
# 1500 s): how long the board may run.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/debian-pkgs.sh
arch=${1:?usage: tests/boards/board.sh aarch64|armv7|riscv64}

# Debian 12 ships no riscv64; its board runs Debian 13's kernel, busybox and crun.
case "$arch" in
aarch64)
    deb=arm64 target=aarch64-unknown-linux-musl qemu=qemu-system-aarch64 qpkg=qemu-system-arm
    machine=(-M virt -cpu cortex-a57) mem=256 console=ttyAMA0 kpkg=linux-image-arm64 ;;
armv7)
    deb=armhf target=armv7-unknown-linux-musleabihf qemu=qemu-system-arm qpkg=qemu-system-arm
    machine=(-M virt -cpu cortex-a15) mem=128 console=ttyAMA0 kpkg=linux-image-armmp ;;
riscv64)
    deb=riscv64 target=riscv64gc-unknown-linux-musl qemu=qemu-system-riscv64 qpkg=qemu-system-misc
    machine=(-M virt -bios default) mem=256 console=ttyS0 kpkg=linux-image-riscv64 ;;
*)
    echo "board: unknown board '$arch' (aarch64, armv7 or riscv64)" >&2
    exit 2 ;;
esac
work=$PWD/target/boards/$arch
mkdir -p "$work"

# QEMU for this architecture, readelf and cpio (a fresh machine's qemu-utils from
# backports makes way for Debian 12's QEMU, which apt removes by itself).
missing=()
command -v "$qemu" >/dev/null || missing+=("$qpkg")
command -v readelf >/dev/null || missing+=(binutils)
command -v cpio >/dev/null || missing+=(cpio)
if [ ${#missing[@]} -gt 0 ]; then
    echo "board: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null ||
        { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null; }
fi

# The executables of this architecture.
bash scripts/build-static.sh --package board-meter "$target" >/dev/null
static=$PWD/target/static/$target
[ -x target/release/kapsel ] || cargo build --release -q -p kapsel

# Debian's kernel, busybox and crun with the libraries it loads.
debs=$work/debs
if [ ! -f "$debs/.done" ]; then
    rm -rf "$debs"
    kernel=$(debian_depends "$deb" "$kpkg")
    libs=$(debian_closure "$deb" crun | grep -v '^libelogind')
    debian_unpack "$deb" "$debs" "$kernel" busybox-static $libs
    touch "$debs/.done"
fi
vmlinuz=$(ls "$debs"/boot/vmlinu[xz]-* | head -1)

# The initramfs.
root=$work/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,usr/bin,boards/bin,boards/rootfs/bin,boards/rootfs/proc,boards/rootfs/dev,boards/rootfs/sys,boards/rootfs/tmp,boards/rootfs/etc}
# A file of the unpacked packages by its path on a system: Debian 13's packages ship /bin
# and /lib below /usr only (merged /usr, whose links come from base-files).
unpacked() { if [ -e "$debs$1" ]; then echo "$debs$1"; else echo "$debs/usr$1"; fi; }
cp "$(unpacked /bin/busybox)" "$root/bin/busybox"
cp "$(unpacked /bin/busybox)" "$root/boards/rootfs/bin/busybox"
cp "$static/kapsel" "$static/board-meter" "$root/boards/bin/"
mv "$root/boards/bin/board-meter" "$root/boards/bin/meter"
[ -x "$static/kapsel-device" ] && cp "$static/kapsel-device" "$root/boards/bin/"
# The wasm handler's build (scripts/build-static.sh --wasm) and its module, built here for
# wasm32-wasip1 (one file for every board); without either the board prints a SKIP line.
if [ -x "$static/kapsel-wasm" ]; then
    if rustc --edition 2021 -C opt-level=2 -C strip=debuginfo --target wasm32-wasip1 \
        -o "$root/boards/rootfs/wprobe.wasm" tests/integration/wasm/wprobe.rs 2>"$work/rustc-wasm.err"; then
        cp "$static/kapsel-wasm" "$root/boards/bin/"
    else
        echo "board: SKIP wasm: rustc cannot build for wasm32-wasip1: $(head -1 "$work/rustc-wasm.err")" >&2
    fi
fi
cp "$debs/usr/bin/crun" "$root/usr/bin/crun"
echo "root:x:0:0:root:/:/bin/sh" >"$root/boards/rootfs/etc/passwd"
# crun's shared libraries: the ELF interpreter and every DT_NEEDED, transitively,
# found in the unpacked packages as the dynamic loader would.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
interp=$(readelf -l "$debs/usr/bin/crun" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
todo=("$debs/usr/bin/crun")
found=("$interp")
while [ ${#todo[@]} -gt 0 ]; do
    f=${todo[0]}
    todo=("${todo[@]:1}")
    for lib in $(needed "$f"); do
        path=$(cd "$debs" && ls {lib,usr/lib}/*/"$lib" 2>/dev/null | head -1 || true)
        [ -n "$path" ] || { echo "board: $lib (needed by crun) is in no unpacked package" >&2; exit 1; }
        case " ${found[*]} " in *" /$path "*) continue ;; esac
        found+=("/$path")
        todo+=("$debs/$path")
    done
done
: >"$root/boards/libs-crun"
for lib in "${found[@]}"; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$(unpacked "$lib")" "$root$lib"
    echo "$lib" >>"$root/boards/libs-crun"
done
# Debian's /lib is a link to /usr/lib.
[ -e "$root/lib" ] || ln -s usr/lib "$root/lib"
python3 tests/boards/bundles.py --kapsel target/release/kapsel --arch "$arch" --out "$root/boards/bundles"
install -m 755 tests/boards/init.sh "$root/init"
cp tests/boards/smoke.sh tests/boards/footprint.sh tests/boards/wasm.sh "$root/boards/"
echo "${BOARDS_RUNS:-10}" >"$root/boards/runs"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

# Boot.
start=$(date +%s)
set +e
timeout "${BOARDS_TIMEOUT:-1500}" "$qemu" "${machine[@]}" -smp 2 -m "$mem" -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initramfs.gz" \
    -append "console=$console panic=-1 quiet loglevel=3" </dev/null >"$work/console.log" 2>&1
qemu_status=$?
set -e
tr -d '\r' <"$work/console.log" | grep -E '^(BOARD|FOOT) ' >"$work/results.txt" || true
grep '^BOARD SKIP' "$work/results.txt" | sed "s/^BOARD /$arch: /" || true
echo "BOARD wall $(($(date +%s) - start)) s on the host" >>"$work/results.txt"
grep -E '^BOARD (PASS|FAIL|kernel)' "$work/results.txt" | sed "s/^BOARD /$arch: /"
passed=$(grep -c '^BOARD PASS' "$work/results.txt" || true)
failed=$(grep -c '^BOARD FAIL' "$work/results.txt" || true)
if ! grep -q '^BOARD DONE' "$work/results.txt"; then
    echo "$arch: the board did not finish (qemu exit $qemu_status); the end of $work/console.log:" >&2
    tail -20 "$work/console.log" >&2
    exit 1
fi
echo "$arch: $passed passed, $failed failed ($(($(date +%s) - start)) s)"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
