# The smoke set of an emulated board (run by tests/boards/init.sh with busybox sh):
# real containers through kapsel on this architecture's kernel, each checked from
# inside (what the container printed) and outside (state, cgroup files). Prints
# `BOARD PASS name` or `BOARD FAIL name: why` per check; the bundles are made on the
# host by tests/boards/bundles.py.
# K is the kapsel under test (kapsel, or kapsel-device: the device profile, which must
# pass the same set); its check names get the prefix P.
K=${K:-kapsel}
P=${P:-}
B=/boards/bundles
cd /tmp || exit 1

pass() { echo "BOARD PASS $P$1 (at $(meter uptime) s)"; }
fail() { echo "BOARD FAIL $P$1: $2" | head -c 600; echo; }
status() { $K state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
# Waits up to 10 s for container $1 to reach status $2.
wait_status() {
    i=0
    while [ "$(status "$1")" != "$2" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(status "$1")" = "$2" ]
}
# `kapsel spec` made on the board, with the shared root and no terminal: the container's
# `sh` reads its commands from our stdin.
# Made afresh by each pass, so the device build's pass checks its own `spec`.
board_spec() {
    rm -rf "$1" && mkdir -p "$1" && $K spec --bundle "$1" $2 && sed -i \
        -e 's/"terminal": true/"terminal": false/' \
        -e 's|"path": "rootfs"|"path": "/boards/rootfs"|' "$1/config.json"
}

# run: the first container of the board; its uptime is the boot-to-first-container time.
out=$($K run --bundle $B/run smoke-run 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q run-ok; then
    pass run
    [ -n "$P" ] || echo "FOOT board boot_to_first_container_s $(echo "$out" | head -1 | cut -d' ' -f1)"
else
    fail run "exit $rc: $out"
fi

# The default bundle of `kapsel spec` as it comes, with pivot_root and with --no-pivot.
board_spec /tmp/default ""
for how in pivot no-pivot; do
    flag=
    [ $how = no-pivot ] && flag=--no-pivot
    out=$(echo 'echo default-ok; hostname' | $K run $flag --bundle /tmp/default "smoke-$how" 2>&1)
    rc=$?
    if [ $rc = 0 ] && [ "$out" = "default-ok
kapsel" ]; then
        pass "default-spec-$how"
    else
        fail "default-spec-$how" "exit $rc: $out"
    fi
done

# create / start / kill / delete, with the state in between.
lifecycle() {
    $K create --bundle $B/sleeper lc || return 1
    [ "$(status lc)" = created ] || { echo "after create: $(status lc)"; return 1; }
    pid=$($K state lc | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
    [ -d "/proc/$pid" ] || { echo "no process $pid"; return 1; }
    grep -qx "0::/boards/sleeper" "/proc/$pid/cgroup" || { echo "cgroup: $(cat /proc/$pid/cgroup)"; return 1; }
    $K start lc || return 1
    [ "$(status lc)" = running ] || { echo "after start: $(status lc)"; return 1; }
    $K kill lc KILL || return 1
    wait_status lc stopped || { echo "after kill: $(status lc)"; return 1; }
    $K delete lc || return 1
    ! $K state lc 2>/dev/null || { echo "state after delete"; return 1; }
    [ ! -d /sys/fs/cgroup/boards/sleeper ] || { echo "cgroup left behind"; return 1; }
}
if out=$(lifecycle 2>&1); then pass lifecycle; else fail lifecycle "$out"; $K delete -f lc 2>/dev/null; fi

# exec: a second process in a running container, in its namespaces.
# (The container's stdio is create's, as under runc: made inside the $(...) below, the
# sleeper would hold its pipe open and the substitution would wait for it to exit.)
out=$({ $K create --bundle $B/sleeper ex </dev/null >/dev/null 2>/tmp/create-ex.err ||
    { cat /tmp/create-ex.err; false; }; } && $K start ex 2>&1 &&
    $K exec ex sh -c 'echo exec-ok $(cat /proc/1/comm) $$' 2>&1)
rc=$?
case "$out" in
"exec-ok sleep "[0-9]*) [ $rc = 0 ] && pass exec || fail exec "exit $rc: $out" ;;
*) fail exec "exit $rc: $out" ;;
esac
$K delete -f ex 2>/dev/null

# A memory limit: the container grows until the kernel's OOM killer ends it.
out=$($K run --keep --bundle $B/oom oom 2>&1)
rc=$?
kills=$(sed -n 's/^oom_kill //p' /sys/fs/cgroup/boards/oom/memory.events 2>/dev/null)
limit=$(cat /sys/fs/cgroup/boards/oom/memory.max 2>/dev/null)
if [ $rc = 137 ] && [ "${kills:-0}" -ge 1 ] && [ "$limit" = 16777216 ]; then
    pass oom
else
    fail oom "exit $rc, memory.max ${limit:-?}, oom_kill ${kills:-?}: $out"
fi
$K delete -f oom 2>/dev/null

# A pids limit: forks beyond it fail inside the container.
out=$($K run --keep --bundle $B/pids pids 2>&1)
rc=$?
max=$(sed -n 's/^max //p' /sys/fs/cgroup/boards/pids/pids.events 2>/dev/null)
if echo "$out" | grep -q "can't fork" && [ "${max:-0}" -ge 1 ] &&
    [ "$(cat /sys/fs/cgroup/boards/pids/pids.max)" = 8 ]; then
    pass pids
else
    fail pids "exit $rc, pids.events max ${max:-?}: $(echo "$out" | head -3)"
fi
$K delete -f pids 2>/dev/null

# seccomp: mkdir/mkdirat answer EXDEV, which no ordinary mkdir failure gives, on this
# architecture's numbers (aarch64 and riscv64 have only mkdirat).
out=$($K run --bundle $B/seccomp sc 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -qi "cross-device link"; then
    pass seccomp-errno
else
    fail seccomp-errno "exit $rc: $out"
fi
# The default profile of `kapsel spec --seccomp` for this architecture: a shell works,
# unshare (CAP_SYS_ADMIN only) is refused with EPERM.
board_spec /tmp/dseccomp --seccomp
out=$(echo 'echo profile-ok; unshare -U true' | $K run --bundle /tmp/dseccomp dsc 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q profile-ok && echo "$out" | grep -q "Operation not permitted"; then
    pass seccomp-default-profile
else
    fail seccomp-default-profile "exit $rc: $out"
fi

# A user namespace: root inside is uid 100000 outside.
out=$($K run --bundle $B/userns uns 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$(echo "$out" | head -1)" = 0 ] &&
    echo "$out" | tail -1 | grep -Eq '^ *0 +100000 +65536$'; then
    pass userns
else
    fail userns "exit $rc: $out"
fi

# A feature the build left out is refused with one line naming the field, and nothing
# is left behind (the device profile has no linux.netDevices).
if [ "$K" = kapsel-device ]; then
    out=$($K run --bundle $B/netdev nd 2>&1)
    rc=$?
    if [ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] &&
        echo "$out" | grep -q "linux.netDevices: not built into this kapsel" &&
        ! $K state nd >/dev/null 2>&1; then
        pass left-out-feature
    else
        fail left-out-feature "exit $rc: $out"
    fi
fi
