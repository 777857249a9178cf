# Helpers of the VM suite (sourced by suite.sh and the check files).
#
#   pass NAME / fail NAME WHY / skip NAME WHY   one result line each
#   bundle DIR FILTER [ARG...] a bundle from `kapsel spec` with the guest's busybox as its
#                              read-only rootfs (shared), no terminal, running ARG...
#                              (default: sleep 1000), its config passed through the jq
#                              FILTER (`.` for none)
#   cfg DIR JQ-FILTER          rewrites DIR/config.json through jq
#   cg_of ID RUNTIME           the container's cgroup directory, from its init's /proc cgroup
#   wait_status RT ID STATUS   polls `RT state ID` until its status is STATUS (5 s)
#   cleanup RT ID              kill and delete, quietly
RESULTS=${RESULTS:-/tmp/vm-results}
pass() { echo "PASS $1"; echo "PASS $1" >>"$RESULTS"; }
fail() { echo "FAIL $1: $2"; echo "FAIL $1" >>"$RESULTS"; }
skip() { echo "SKIP $1: $2"; echo "SKIP $1" >>"$RESULTS"; }

BUSYBOX_ROOT=/tmp/busybox-rootfs
if [ ! -d $BUSYBOX_ROOT ]; then
    mkdir -p $BUSYBOX_ROOT/bin $BUSYBOX_ROOT/proc $BUSYBOX_ROOT/dev $BUSYBOX_ROOT/sys $BUSYBOX_ROOT/tmp $BUSYBOX_ROOT/etc
    cp /bin/busybox $BUSYBOX_ROOT/bin/
    mkdir -p $BUSYBOX_ROOT/run $BUSYBOX_ROOT/mnt
    for a in $(/bin/busybox --list); do [ -e $BUSYBOX_ROOT/bin/$a ] || ln -s busybox $BUSYBOX_ROOT/bin/$a; done
    echo "root:x:0:0:root:/:/bin/sh" >$BUSYBOX_ROOT/etc/passwd
fi

bundle() {
    _d=$1
    _filter=$2
    shift 2
    [ $# -gt 0 ] || set -- sleep 1000
    rm -rf "$_d"
    mkdir -p "$_d"
    if [ ! -f /tmp/base-config.json ]; then
        (cd /tmp && kapsel spec && mv config.json spec-config.json)
        jq ".process.terminal = false | .root = {\"path\": \"$BUSYBOX_ROOT\", \"readonly\": true}" \
            /tmp/spec-config.json >/tmp/base-config.json
    fi
    # One jq per bundle (a process costs 0.1-0.8 s under TCG). Each argument goes in with
    # an `x` before it: jq would take an argument such as `-c` for an option of its own.
    _n=$#
    for _a; do set -- "$@" "x$_a"; done
    shift $_n
    jq ".process.args = (\$ARGS.positional | map(.[1:])) | $_filter" /tmp/base-config.json \
        --args "$@" >"$_d/config.json"
}

cfg() {
    jq "$2" "$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json"
}

cg_of() {
    pid=$($2 state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
    echo "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$pid/cgroup)"
}

wait_status() {
    _w=0
    while [ $_w -lt 50 ]; do
        case "$($1 state "$2" 2>/dev/null)" in
        *"\"status\": \"$3\""* | *"\"status\":\"$3\""*) return 0 ;;
        esac
        sleep 0.1
        _w=$((_w + 1))
    done
    return 1
}

cleanup() {
    $1 kill "$2" KILL >/dev/null 2>&1
    $1 delete -f "$2" >/dev/null 2>&1
    true
}

# The rootless user of checks 60 and 61 (uid 1500, subordinate ids) with a lingering
# `systemd --user` manager; `asuser CMD` runs CMD as that user with its session bus.
rootless_user() {
    id -u kt >/dev/null 2>&1 || useradd -m -u 1500 kt
    echo "kt:100000:65536" >/etc/subuid
    echo "kt:100000:65536" >/etc/subgid
    loginctl enable-linger kt
    _w=0
    while [ ! -S /run/user/1500/bus ] && [ $_w -lt 60 ]; do sleep 0.5; _w=$((_w + 1)); done
    [ -S /run/user/1500/bus ]
}
asuser() { runuser -u kt -- env XDG_RUNTIME_DIR=/run/user/1500 PATH=/vm/bin:/usr/sbin:/usr/bin:/sbin:/bin sh -c "$1"; }
