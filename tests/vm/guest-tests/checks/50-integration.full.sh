# The integration suite's cgroup tests (tests/integration) on pure cgroup v2 with systemd as
# PID 1, through kapsel: their executables come from the host (scripts/test-vm.sh --full),
# with the checkout's paths they were built with linked to the payload.
. ./lib.sh
it=/vm/itest
if [ ! -d $it/bins ]; then
    skip integration "no test executables in the payload"
    exit 0
fi
co=$(cat $it/checkout)
mkdir -p "$(dirname "$co")"
[ -e "$co" ] || ln -s $it/repo "$co"
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
        grep -E "^---- |panicked|^test .* FAILED" /tmp/it-$t | head -30
    fi
    grep '^SKIP' /tmp/it-$t | head -10
done
