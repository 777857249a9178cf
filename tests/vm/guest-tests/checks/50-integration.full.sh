# The integration suite's cgroup tests (tests/integration) on pure cgroup v2 with systemd as
# PID 1, through kapsel: their executables come from the host (scripts/test-vm.sh --full),
# with the checkout's paths they were built with bind-mounted from the payload (a link would
# show in the state's bundle path). Each test reads the v2 files where the host has no v1
# hierarchy (the harness's CgroupDirs::is_v2), so every one of them runs here.
#
# IT_DRIVER=systemd (check 51) runs them again with the systemd cgroup driver against the
# real PID 1: KAPSEL_TEST_CGROUP_DRIVER=systemd makes the harness pass `--systemd-cgroup`
# to every kapsel command and give each bundle without a cgroupsPath
# `system.slice:kapsel-it:<id>`. One line per test: PASS, FAIL, or SKIP with the test's
# reason (a test that does not apply prints `SKIP <name>: <reason>`).
. ./lib.sh
driver=${IT_DRIVER:-cgroupfs}
tag=integration
[ "$driver" = cgroupfs ] || tag=integration-$driver
# IT_RUNTIME=runc: the same tests through another runtime (kapsel-only checks then SKIP or
# print NOTE), to compare; IT_BINS and IT_FILTER narrow the run.
[ -z "${IT_RUNTIME:-}" ] || tag=$tag-$(basename "$IT_RUNTIME")
it=/vm/itest
if [ ! -d $it/bins ]; then
    skip $tag "no test executables in the payload"
    exit 0
fi
co=$(cat $it/checkout)
mkdir -p "$co"
mountpoint -q "$co" || mount --bind $it/repo "$co"
export KAPSEL_TEST_RUNTIME=${IT_RUNTIME:-/vm/bin/kapsel}
export KAPSEL_TEST_CGROUP_DRIVER=$driver
for t in ${IT_BINS:-resources cgroup_cmds devices lifecycle}; do
    [ -x $it/bins/$t ] || { skip "$tag-$t" "not built"; continue; }
    t0=$(date +%s)
    out=/tmp/it-$driver-$t
    (cd /tmp && timeout 1200 $it/bins/$t --test-threads=2 ${IT_FILTER:-}) >$out 2>&1
    st=$?
    summary=$(grep 'test result' $out | sed 's/; finished.*//')
    sed -n 's/^test \([^ ]*\) \.\.\. \([A-Za-z]*\)$/\1 \2/p' $out | sort | while read -r name res; do
        reason=$(sed -n "s/^SKIP $name: //p" $out | head -1)
        case $res in
        ok) if [ -n "$reason" ]; then skip "$tag-$t-$name" "$reason"; else pass "$tag-$t-$name"; fi ;;
        ignored) skip "$tag-$t-$name" "ignored" ;;
        *) fail "$tag-$t-$name" "$(awk -v h="---- $name stdout ----" '$0 == h { on = 1; next }
            on && /panicked at / { sub(/.*panicked at /, ""); printf "%s ", $0; getline; print; exit }' $out)" ;;
        esac
    done
    echo "vm: $tag-$t: $summary (exit $st, $(($(date +%s) - t0)) s)"
    if [ $st -ne 0 ]; then
        grep -q 'test result' $out || fail "$tag-$t" "exit $st without a result: $(tail -3 $out | tr '\n' ' ')"
        sed -n '/^failures:/,/^test result/p' $out | grep -v '^stack backtrace\|^   [0-9]*: \|^             at ' | head -80
    fi
done
