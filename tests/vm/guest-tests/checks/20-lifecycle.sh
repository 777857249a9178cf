# The lifecycle on pure cgroup v2, with the cgroupfs driver and with --systemd-cgroup against
# the real PID 1 systemd: create, start, exec, pause/resume (cgroup.freeze), kill --all
# (cgroup.kill), delete (the cgroup, and with systemd the scope unit, gone). runc runs the
# same steps (full set) to prove the checks.
. ./lib.sh
lifecycle() { # NAME RUNTIME... (the runtime command with its global flags)
    n=$1
    shift
    rt="$*"
    id=lc-$n
    b=/tmp/$id
    filter=.
    [ "$n" = kapsel-systemd-nested ] && filter='.linux.cgroupsPath = "kapsel-test-nested.slice:kt:'$id'"'
    bundle $b "$filter"
    if ! $rt create -b $b $id >/tmp/err 2>&1; then
        fail "$n-create" "$(cat /tmp/err)"
        cleanup "$rt" $id
        return
    fi
    cg=$(cg_of $id "$rt")
    case "$n" in
    *systemd-nested) want=/sys/fs/cgroup/kapsel.slice/kapsel-test.slice/kapsel-test-nested.slice/kt-$id.scope ;;
    crun-systemd) want="/sys/fs/cgroup/system.slice/*-$id.scope/container" ;; # crun 1.8's sub-cgroup
    *systemd) want="/sys/fs/cgroup/system.slice/*-$id.scope" ;;
    *) want="/sys/fs/cgroup/system.slice/$id" ;;
    esac
    # shellcheck disable=SC2254
    case "$cg" in $want) pass "$n-create ($cg)" ;; *) fail "$n-create" "cgroup $cg, expected $want" ;; esac
    unit=""
    case "$n" in
    *systemd*)
        unit=$(basename "${cg%/container}")
        if [ "$(systemctl is-active "$unit")" = active ] &&
            [ "$(systemctl show -P Delegate "$unit")" = yes ]; then
            pass "$n-scope-unit ($unit active, Delegate=yes)"
        else
            fail "$n-scope-unit" "$unit: $(systemctl is-active "$unit") Delegate=$(systemctl show -P Delegate "$unit")"
        fi ;;
    esac
    $rt start $id && wait_status "$rt" $id running && pass "$n-start" || fail "$n-start" "status $($rt state $id | jq -r .status)"
    out=$($rt exec $id sh -c 'echo hi; sed -n "s/^0:://p" /proc/self/cgroup' 2>&1)
    [ "$(echo "$out" | head -1)" = hi ] && pass "$n-exec" || fail "$n-exec" "$out"
    $rt pause $id
    if wait_status "$rt" $id paused && [ "$(cat $cg/cgroup.freeze)" = 1 ] && grep -q 'frozen 1' $cg/cgroup.events; then
        pass "$n-pause"
    else
        fail "$n-pause" "status $($rt state $id | jq -r .status), cgroup.freeze $(cat $cg/cgroup.freeze)"
    fi
    $rt resume $id
    if wait_status "$rt" $id running && [ "$(cat $cg/cgroup.freeze)" = 0 ]; then pass "$n-resume"; else fail "$n-resume" "cgroup.freeze $(cat $cg/cgroup.freeze)"; fi
    $rt exec -d $id sleep 999 >/dev/null 2>&1 || $rt exec $id sleep 999 >/dev/null 2>&1 &
    sleep 1
    before=$(wc -l <$cg/cgroup.procs)
    $rt kill --all $id KILL 2>/dev/null || $rt kill -a $id KILL
    if wait_status "$rt" $id stopped && [ ! -s $cg/cgroup.procs ]; then
        pass "$n-kill-all ($before processes)"
    else
        fail "$n-kill-all" "left: $(cat $cg/cgroup.procs | tr '\n' ' ')"
    fi
    if $rt delete $id >/tmp/err 2>&1 && [ ! -d "$cg" ]; then
        if [ -n "$unit" ]; then
            st=$(systemctl is-active "$unit")
            case "$st" in inactive | unknown | failed) pass "$n-delete (cgroup gone, $unit $st)" ;; *) fail "$n-delete" "$unit $st" ;; esac
        else
            pass "$n-delete"
        fi
    else
        fail "$n-delete" "$(cat /tmp/err); $cg exists: $([ -d "$cg" ] && echo yes || echo no)"
    fi
    cleanup "$rt" $id
}
lifecycle kapsel kapsel
lifecycle kapsel-systemd kapsel --systemd-cgroup
lifecycle kapsel-systemd-nested kapsel --systemd-cgroup
if [ "${VM_SET:-quick}" = full ]; then
    lifecycle runc runc
    lifecycle runc-systemd runc --systemd-cgroup
    lifecycle crun-systemd crun --systemd-cgroup
fi
