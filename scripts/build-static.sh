#!/usr/bin/env bash
# Static release builds of kapsel for devices: one executable per target, no shared
# library, linked by the toolchain's rust-lld (no cross C toolchain). docs/embedded.md.
#
#   scripts/build-static.sh [--device | --wasm] [--package P]... [TARGET...]
#
# TARGET defaults to the three device targets: aarch64-unknown-linux-musl,
# armv7-unknown-linux-musleabihf and riscv64gc-unknown-linux-musl (any other
# *-linux-musl* target works the same way, x86_64-unknown-linux-musl included).
# Results are copied to target/static/TARGET/ (kapsel, or kapsel-device with --device,
# and every --package binary) and their sizes printed.
#
# --device builds the device profile: kapsel without the features a device does not
#   need (crates/kapsel/Cargo.toml, [features] "device"), std built for size without
#   backtraces, no unwind tables, and panics that abort without a message.
#   KAPSEL_DEVICE_FEATURES adds features back (scripts/device-features.sh measures each).
# --wasm builds kapsel with the WebAssembly handler (feature `wasm`, opt-in) as kapsel-wasm,
#   in a target directory of its own (target/wasm), so the default build stays as it is.
#
# Where rustup has no prebuilt std for a target (this machine kind gets none for armv7
# and riscv64), std is built from the rust-src component (-Z build-std, allowed on the
# stable toolchain by RUSTC_BOOTSTRAP=1) and linked against Debian's musl libc.a, crt
# objects and libgcc_eh (as the unwinder) of that architecture, fetched with
# scripts/debian-pkgs.sh into target/debian/sysroot-TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/debian-pkgs.sh

device=0
wasm=0
packages=(-p kapsel)
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --device) device=1 ;;
    --wasm) wasm=1 ;;
    --package) packages+=(-p "$2"); shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-static: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
    esac
    shift
done
if [ "$device" = 1 ] && [ "$wasm" = 1 ]; then
    echo "build-static: --device and --wasm are two builds (a device build with the handler: KAPSEL_DEVICE_FEATURES=wasm --device)" >&2
    exit 2
fi
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf riscv64gc-unknown-linux-musl)

# Debian's name of a Rust target's architecture, and the directory its musl-dev uses.
debian_arch() {
    case "$1" in
    aarch64-*) echo arm64 ;;
    armv7-*hf | arm-*hf) echo armhf ;;
    riscv64*) echo riscv64 ;;
    x86_64-*) echo amd64 ;;
    *) echo "build-static: no Debian architecture known for $1" >&2; return 1 ;;
    esac
}

# Whether rustup has (or can add) a prebuilt std for the target.
prebuilt_std() {
    local dir
    dir=$(rustc --print target-libdir --target "$1" 2>/dev/null) || return 1
    ls "$dir"/libstd-*.rlib >/dev/null 2>&1 && return 0
    rustup target add "$1" >/dev/null 2>&1 || return 1
    ls "$dir"/libstd-*.rlib >/dev/null 2>&1
}

# musl's libc.a and crt objects plus libgcc_eh (as libunwind.a, the name std links)
# from Debian, for a target without a prebuilt std.
debian_sysroot() {
    local t=$1 arch dest gccdir
    arch=$(debian_arch "$t")
    dest=$PWD/target/debian/sysroot-$t
    if [ ! -f "$dest/libunwind.a" ]; then
        rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
        local gcc=libgcc-12-dev
        [ "$(debian_suite "$arch")" = trixie ] && gcc=libgcc-14-dev
        debian_unpack "$arch" "$dest.tmp/root" musl-dev "$gcc" >&2
        cp "$dest.tmp"/root/usr/lib/*-linux-musl*/{libc.a,crt1.o,crti.o,crtn.o} "$dest.tmp/"
        gccdir=$(dirname "$(ls "$dest.tmp"/root/usr/lib/gcc/*/*/libgcc_eh.a)")
        cp "$gccdir/libgcc_eh.a" "$dest.tmp/libunwind.a"
        cp "$gccdir/libgcc.a" "$dest.tmp/"
        rm -rf "$dest.tmp/root" "$dest"
        mv "$dest.tmp" "$dest"
    fi
    echo "$dest"
}

for t in "${targets[@]}"; do
    flags=(-C target-feature=+crt-static)
    cargo_args=(--release --target "$t" "${packages[@]}")
    build_std=()
    if ! prebuilt_std "$t"; then
        rustup component add rust-src >/dev/null 2>&1 || true
        sysroot=$(debian_sysroot "$t")
        build_std=(-Z build-std=std,panic_abort)
        flags+=(-C link-self-contained=no -L "native=$sysroot"
            -Z "pre-link-arg=$sysroot/crt1.o" -Z "pre-link-arg=$sysroot/crti.o"
            -C "link-arg=$sysroot/crtn.o")
    fi
    suffix=
    if [ "$device" = 1 ]; then
        rustup component add rust-src >/dev/null 2>&1 || true
        suffix=-device
        build_std=(-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size)
        flags+=(-C force-unwind-tables=no -Z unstable-options -C panic=immediate-abort)
        cargo_args+=(--no-default-features --features "device ${KAPSEL_DEVICE_FEATURES:-}" --target-dir target/device)
    fi
    if [ "$wasm" = 1 ]; then
        suffix=-wasm
        cargo_args+=(--features wasm --target-dir target/wasm)
    fi
    var=CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUSTFLAGS
    echo "build-static: $t${suffix:+ (kapsel$suffix)}${build_std:+, std from source}" >&2
    if [ ${#build_std[@]} -gt 0 ]; then
        env RUSTC_BOOTSTRAP=1 "$var=${flags[*]}" cargo build -q "${build_std[@]}" "${cargo_args[@]}"
    else
        env "$var=${flags[*]}" cargo build -q "${cargo_args[@]}"
    fi
    out=target/static/$t
    mkdir -p "$out"
    dir=target/$t/release
    [ "$device" = 1 ] && dir=target/device/$t/release
    [ "$wasm" = 1 ] && dir=target/wasm/$t/release
    for ((i = 1; i < ${#packages[@]}; i += 2)); do
        p=${packages[$i]}
        name=$p
        [ "$p" = kapsel ] && name=kapsel$suffix
        cp "$dir/$p" "$out/$name"
        printf '%s\t%s\t%d\n' "$t" "$name" "$(stat -c %s "$out/$name")"
    done
done
