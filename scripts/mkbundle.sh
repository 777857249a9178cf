#!/usr/bin/env bash
# Builds an OCI bundle from Debian's busybox-static: DIR/rootfs and DIR/config.json.
#
#   scripts/mkbundle.sh DIR [RUNTIME]
#
# RUNTIME writes the default config.json (`RUNTIME spec`); default: kapsel on PATH, else
# ./target/release/kapsel, else runc. The config is then set to terminal=false, args=["sh"].
# Idempotent and fast: an existing rootfs whose busybox matches /bin/busybox is reused.
# Needs only apt (busybox-static, jq) when those are missing.
set -euo pipefail

die() { echo "mkbundle: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: mkbundle.sh DIR [RUNTIME]"

dir=$1
runtime=${2:-}
if [ -z "$runtime" ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    if command -v kapsel >/dev/null; then runtime=kapsel
    elif [ -x "$here/target/release/kapsel" ]; then runtime="$here/target/release/kapsel"
    else runtime=runc
    fi
fi
command -v "$runtime" >/dev/null || die "runtime \`$runtime\` not found"

apt_install() {
    echo "mkbundle: installing $*" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } ||
        die "apt-get install $* failed"
}
is_static() { [ -x "$1" ] && ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }

is_static /bin/busybox || apt_install busybox-static
is_static /bin/busybox || die "/bin/busybox is not a static binary after installing busybox-static"
command -v jq >/dev/null || apt_install jq

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rootfs="$dir/rootfs"

# The rootfs: busybox, one symlink per applet, the usual empty dirs, users and groups.
if ! cmp -s /bin/busybox "$rootfs/bin/busybox"; then
    mkdir -p "$rootfs/bin"
    cp /bin/busybox "$rootfs/bin/busybox.tmp.$$"
    mv -f "$rootfs/bin/busybox.tmp.$$" "$rootfs/bin/busybox"
fi
for d in bin sbin usr/bin usr/sbin proc sys dev tmp etc root home/user run var/tmp mnt opt; do
    mkdir -p "$rootfs/$d"
done
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
chmod 700 "$rootfs/root"
chown 1000:1000 "$rootfs/home/user"
# `busybox --list-full` gives paths like usr/bin/env; link each to /bin/busybox.
/bin/busybox --list-full | while read -r applet; do
    # Tolerate a concurrent builder creating the same link first.
    [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] ||
        ln -s /bin/busybox "$rootfs/$applet" 2>/dev/null || [ -L "$rootfs/$applet" ]
done
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
EOF
echo "kapsel-bundle" >"$rootfs/etc/hostname"

# The config: the runtime's own default, made non-interactive.
spec_dir=$(mktemp -d)
trap 'rm -rf "$spec_dir"' EXIT
(cd "$spec_dir" && "$runtime" spec) || die "\`$runtime spec\` failed"
jq '.process.terminal = false | .process.args = ["sh"]' "$spec_dir/config.json" >"$dir/config.json.tmp.$$"
mv -f "$dir/config.json.tmp.$$" "$dir/config.json"
echo "$dir"
