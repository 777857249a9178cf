# The bug of issue 18: the bundle `kapsel spec` writes (no cgroupsPath) run from a system
# service and from a `systemd-run --scope` (what a login session is), with and without a
# memory limit; each runtime (kapsel, runc, crun) must run it, and kapsel's cgroup must be
# where runc's v2 cgroupfs driver puts it.
. ./lib.sh
for rt in kapsel runc crun; do
    b=/tmp/default-$rt
    bundle $b sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max 2>/dev/null || echo none'
    out=$($rt run -b $b d-$rt 2>&1)
    st=$?
    if [ $st -eq 0 ]; then pass "default-cgroup-$rt: $(echo $out | tr '\n' ' ')"; else fail "default-cgroup-$rt" "exit $st: $out"; fi
    cleanup $rt d-$rt
    cfg $b '.linux.resources.memory = {"limit": 67108864}'
    out=$($rt run -b $b m-$rt 2>&1)
    st=$?
    case "$st $out" in
    "0 "*67108864*) pass "memory-limit-$rt" ;;
    *) fail "memory-limit-$rt" "exit $st: $out" ;;
    esac
    cleanup $rt m-$rt
    out=$(systemd-run --quiet --scope $rt run -b $b s-$rt 2>&1)
    st=$?
    case "$st $out" in
    "0 "*67108864*) pass "scope-memory-limit-$rt" ;;
    *) fail "scope-memory-limit-$rt" "exit $st: $out" ;;
    esac
    cleanup $rt s-$rt
done
# Where the long-running container's cgroup is, per runtime.
for rt in kapsel runc crun; do
    b=/tmp/where-$rt
    bundle $b
    $rt run -d -b $b w-$rt </dev/null >/dev/null 2>&1
    wait_status $rt w-$rt running
    echo "info: $rt puts a container without cgroupsPath at $(cg_of w-$rt $rt)"
    cleanup $rt w-$rt
done
