# The integration suite's cgroup tests (tests/integration) on pure cgroup v2 with systemd as
# PID 1, through kapsel: their executables come from the host (scripts/test-vm.sh --full),
# with the checkout's paths they were built with bind-mounted from the payload (a link would
# show in the state's bundle path). Each test reads the v2 files where the host has no v1
# hierarchy (the harness's CgroupDirs::is_v2), so every one of them runs here.
. ./lib.sh
it=/vm/itest
if [ ! -d $it/bins ]; then
    skip integration "no test executables in the payload"
    exit 0
fi
co=$(cat $it/checkout)
mkdir -p "$co"
mountpoint -q "$co" || mount --bind $it/repo "$co"
export KAPSEL_TEST_RUNTIME=/vm/bin/kapsel
for t in resources cgroup_cmds devices lifecycle; do
    [ -x $it/bins/$t ] || { skip "integration-$t" "not built"; continue; }
    t0=$(date +%s)
    (cd /tmp && $it/bins/$t --test-threads=2 -q) >/tmp/it-$t 2>&1
    st=$?
    summary=$(grep 'test result' /tmp/it-$t | sed 's/; finished.*//')
    skips=$(grep -c '^SKIP' /tmp/it-$t)
    if [ $st -eq 0 ]; then
        pass "integration-$t ($summary; $skips SKIP lines; $(($(date +%s) - t0)) s)"
    else
        fail "integration-$t" "$summary"
        sed -n '/^failures:/,/^test result/p' /tmp/it-$t | grep -v '^stack backtrace\|^   [0-9]*: \|^             at ' | head -60
    fi
    grep '^SKIP' /tmp/it-$t | head -10
done
