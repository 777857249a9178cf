# Helpers of the VM suite (sourced by suite.sh and the check files).
#
#   pass NAME / fail NAME WHY / skip NAME WHY   one result line each
#   bundle DIR [ARG...]        a bundle from `kapsel spec` with busybox as its rootfs,
#                              no terminal, running ARG... (default: sleep 1000)
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
    for a in $(/bin/busybox --list); do [ -e $BUSYBOX_ROOT/bin/$a ] || ln -s busybox $BUSYBOX_ROOT/bin/$a; done
    echo "root:x:0:0:root:/:/bin/sh" >$BUSYBOX_ROOT/etc/passwd
fi

bundle() {
    d=$1
    shift
    rm -rf "$d"
    mkdir -p "$d"
    cp -a $BUSYBOX_ROOT "$d/rootfs"
    (cd "$d" && kapsel spec)
    [ $# -gt 0 ] || set -- sleep 1000
    # (jq would read options among `--args` values: one string at a time instead.)
    args=$(for a; do jq -n --arg a "$a" '$a'; done | jq -cs .)
    cfg "$d" ".process.terminal = false | .process.args = $args"
}

cfg() {
    jq "$2" "$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json"
}

cg_of() {
    pid=$($2 state "$1" | jq -r .pid)
    echo "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$pid/cgroup)"
}

wait_status() {
    _w=0
    while [ $_w -lt 50 ]; do
        [ "$($1 state "$2" 2>/dev/null | jq -r .status)" = "$3" ] && return 0
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
