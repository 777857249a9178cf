# The integration suite's cgroup tests (tests/integration) on pure cgroup v2 with systemd as
# PID 1, through kapsel: their executables come from the host (scripts/test-vm.sh --full),
# with the checkout's paths they were built with bind-mounted from the payload (a link would
# show in the state's bundle path). Tests that read v1 files (the harness's CgroupDirs::v1*)
# or v1-only fields cannot apply on pure v2 and are left out, listed here; porting them to
# the v2 files is open work (tests/vm/README.md).
. ./lib.sh
v1_only="--skip pause_stops_a_counter_and_resume_continues_it --skip update_from_flags_a_file_and_stdin
 --skip delete_removes_the_cgroups_however_the_container_ended --skip events_stats_report_live_usage
 --skip kill_all_signals_every_process_in_the_cgroup --skip kill_all_with_term_reaches_the_processes_init_does_not_forward_to
 --skip ps_lists_the_processes_in_the_cgroup --skip update_below_usage_is_refused_and_the_limit_kept
 --skip cpu_quota_caps_a_busy_loop_and_update_raises_it --skip cpuset_pins_to_one_cpu_and_update_moves_it
 --skip device_rules_deny_block_devices_and_allow_dev_null --skip fork_bomb_is_contained_by_pids_limit
 --skip memory_eater_is_oom_killed_near_the_limit --skip resource_fields_reach_the_v1_files
 --skip unified_keys_go_to_the_v2_cgroup_on_hybrid"
echo "info: left out on pure v2 (they read v1 files): $(echo $v1_only | sed 's/--skip //g')"
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
    # shellcheck disable=SC2086
    (cd /tmp && $it/bins/$t --test-threads=2 -q $v1_only) >/tmp/it-$t 2>&1
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
