# Debian packages of another architecture, fetched and unpacked without touching the
# host's dpkg: a private apt state under $DEBIAN_PKGS_DIR (default target/debian) with
# its own sources, so no `dpkg --add-architecture` and nothing installed. Sourced by
# scripts/build-static.sh (musl and libgcc for the device builds) and tests/boards/
# (kernels, busybox, crun and its libraries).
#
#   debian_unpack ARCH DEST PKG...   download PKG:ARCH and unpack each into DEST
#   debian_depends ARCH PKG          the first package PKG depends on (a kernel metapackage
#                                    names the versioned image this way)
#   debian_closure ARCH PKG          PKG and everything it depends on, transitively
#   debian_suite ARCH                the Debian release used for ARCH
#
# arm64 and armhf come from Debian 12 (bookworm), as the host; Debian 12 has no riscv64,
# which became a release architecture with Debian 13 (trixie).

DEBIAN_PKGS_DIR=${DEBIAN_PKGS_DIR:-$PWD/target/debian}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

debian_suite() {
    case "$1" in
    riscv64) echo trixie ;;
    *) echo bookworm ;;
    esac
}

_debian_apt() {
    local d=$DEBIAN_PKGS_DIR/apt tool=$1
    shift
    "$tool" -q -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" \
        -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::status="$d/status" -o Debug::NoLocking=1 \
        -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
        -o APT::Architectures::=armhf -o APT::Architectures::=riscv64 \
        -o APT::Sandbox::User=root "$@"
}

_debian_cache() {
    local d=$DEBIAN_PKGS_DIR/apt
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/debs"
    touch "$d/status"
    local want
    want="deb [arch=arm64,armhf] $DEBIAN_MIRROR bookworm main
deb [arch=riscv64] $DEBIAN_MIRROR trixie main"
    # Package lists once a day (or when the sources changed).
    if [ "$(cat "$d/sources.list" 2>/dev/null)" != "$want" ] ||
        [ -z "$(find "$d/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null)" ]; then
        printf '%s\n' "$want" >"$d/sources.list"
        _debian_apt apt-get update >/dev/null || {
            echo "debian-pkgs: apt-get update of $DEBIAN_MIRROR failed" >&2
            return 1
        }
    fi
}

debian_depends() {
    _debian_cache || return 1
    _debian_apt apt-cache depends "$2:$1" 2>/dev/null |
        sed -n 's/^ *Depends: \([^ :]*\).*/\1/p' | head -1
}

debian_unpack() {
    local arch=$1 dest=$2
    shift 2
    _debian_cache || return 1
    local d=$DEBIAN_PKGS_DIR/apt/debs pkg file
    mkdir -p "$dest"
    for pkg in "$@"; do
        file=$(ls "$d"/"${pkg}"_*_"$arch".deb 2>/dev/null | head -1 || true)
        if [ -z "$file" ]; then
            (cd "$d" && _debian_apt apt-get download "$pkg:$arch" >/dev/null) || {
                echo "debian-pkgs: apt-get download $pkg:$arch failed" >&2
                return 1
            }
            file=$(ls "$d"/"${pkg}"_*_"$arch".deb | head -1)
        fi
        dpkg-deb -x "$file" "$dest"
    done
}

# PKG and every package it needs, transitively (Depends and Pre-Depends), one a line.
debian_closure() {
    _debian_cache || return 1
    _debian_apt apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "$2:$1" 2>/dev/null |
        grep -v '^ ' | grep -v '^<' | sed 's/:.*//' | sort -u
}
