# Rootless on pure cgroup v2: an unprivileged user runs `spec --rootless` bundles from a
# systemd service of its own with Delegate=yes (systemd hands it its cgroup). With the
# cgroupfs driver kapsel and runc put the container below the parent of that cgroup, which
# the user may not write: both run without cgroups, kapsel with a warning.
# Then the systemd driver for rootless containers: with linger, logind starts the user's
# `systemd --user` (user@1500.service, delegated cpu memory pids) and its session bus; kapsel
# and runc, run as the user from this root service (`runuser`, outside the user's cgroups,
# so the user manager asks PID 1 to move the container's init), put the container in a
# transient scope of that manager, side by side.
. ./lib.sh
id -u kt >/dev/null 2>&1 || useradd -m -u 1500 kt
echo "kt:100000:65536" >/etc/subuid
echo "kt:100000:65536" >/etc/subgid
for rt in kapsel runc; do
    d=/tmp/rootless-$rt
    rm -rf $d
    mkdir -p $d
    chown kt:kt $d
    script="cd $d && $rt spec --rootless >/dev/null 2>&1 || true; [ -f config.json ] || kapsel spec --rootless;
        jq '.process.terminal = false | .process.args = [\"sh\", \"-c\", \"id -u; cat /proc/self/uid_map | tr -s \\\" \\\"\"] | .root = {\"path\": \"$BUSYBOX_ROOT\", \"readonly\": true}' config.json >c && mv c config.json &&
        $rt --root $d/state run -b . rl-$rt"
    out=$(systemd-run --quiet --wait --pipe -p User=kt -p Delegate=yes -E PATH=/vm/bin:/usr/sbin:/usr/bin:/sbin:/bin sh -c "$script" 2>&1 </dev/null)
    st=$?
    case "$st $out" in
    "0 0"*) pass "rootless-cgroupfs-$rt ($(echo "$out" | tr '\n' ' ' | cut -c1-160))" ;;
    *) fail "rootless-cgroupfs-$rt" "exit $st: $(echo "$out" | tr '\n' ' ' | cut -c1-300)" ;;
    esac
done

# --- the systemd driver, rootless ---
loginctl enable-linger kt
w=0
while [ ! -S /run/user/1500/bus ] && [ $w -lt 60 ]; do sleep 0.5; w=$((w + 1)); done
[ -S /run/user/1500/bus ] || { fail rootless-systemd-user-bus "no /run/user/1500/bus after 30 s"; exit 0; }
UM=/sys/fs/cgroup/user.slice/user-1500.slice/user@1500.service
echo "user manager: $(cat $UM/cgroup.subtree_control) delegated"
# As the user, with its environment (the session bus from XDG_RUNTIME_DIR).
asuser() { runuser -u kt -- env XDG_RUNTIME_DIR=/run/user/1500 PATH=/vm/bin:/usr/sbin:/usr/bin:/sbin:/bin sh -c "$1"; }
MEM=67108864
for rt in kapsel runc; do
    d=/tmp/rsd-$rt
    id=rsd-$rt
    rm -rf $d
    mkdir -p $d
    chown kt:kt $d
    # One config for both: runc's `spec --rootless` without its cgroup namespace and
    # mount (kapsel cannot mount cgroup2 over the /sys it binds from the host: EBUSY, where
    # runc binds the container's cgroup instead; see tests/vm/README.md), so the container
    # reads its limits through that /sys at the path /proc/self/cgroup gives.
    cat >$d/prog.jq <<EOF
.process.terminal = false | .root = {"path": "$BUSYBOX_ROOT", "readonly": true}
| .process.args = ["sh", "-c", "c=\$(sed -n 's/^0:://p' /proc/self/cgroup); echo in: 0::\$c \$(cat /sys/fs/cgroup\$c/memory.max /sys/fs/cgroup\$c/pids.max); sleep 1000"]
| .linux.resources = {"memory": {"limit": $MEM}, "pids": {"limit": 33}}
| .linux.namespaces |= map(select(.type != "cgroup"))
| .mounts |= map(select(.destination != "/sys/fs/cgroup"))
EOF
    chown kt:kt $d/prog.jq
    asuser "cd $d && runc spec --rootless && jq -f prog.jq config.json >c && mv c config.json &&
        $rt --root $d/state --systemd-cgroup run -d -b . $id >$d/out 2>$d/err </dev/null"
    st=$?
    cp $d/config.json /tmp/rsd-config-$rt.json
    sleep 0.5
    unit=$(asuser "systemctl --user list-units --plain --no-legend '*$id.scope'" | awk '{print $1}')
    pid=$(asuser "$rt --root $d/state state $id" | jq .pid)
    cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$pid/cgroup 2>/dev/null)
    eval "unit_$rt=\$unit cg_$rt=\$cg"
    out="exit $st, unit $unit, cgroup ${cg#/sys/fs/cgroup}, $(cat $d/out $d/err | tr '\n' ' ')"
    case "$st $cg" in
    "0 $UM/user.slice/"*.scope) pass "rootless-systemd-run-$rt ($out)" ;;
    *) fail "rootless-systemd-run-$rt" "$out"; continue ;;
    esac
    outside="$(cat $cg/memory.max $cg/pids.max | tr '\n' ' ')"
    inside=$(sed -n 's/^in: //p' $d/out)
    case "$outside/$inside" in
    "$MEM 33 /0::${cg#/sys/fs/cgroup} $MEM 33") pass "rootless-systemd-limits-$rt (outside: $outside, inside: $inside)" ;;
    *) fail "rootless-systemd-limits-$rt" "outside: $outside, inside: $inside" ;;
    esac
    # exec from outside the user's cgroups: the new process must land in the scope. It
    # cannot join it itself (EACCES on cgroup.procs): kapsel has the user's systemd move it
    # (AttachProcessesToUnit) before it runs anything; runc 1.1.5 leaves it in the
    # caller's cgroup without a word (a SKIP naming runc's behaviour).
    ex=$(asuser "$rt --root $d/state exec $id cat /proc/self/cgroup" 2>&1 | grep -v 'level=warning' | tr '\n' ' ')
    case "$rt $ex" in
    "$rt 0::/ " | "$rt 0::${cg#/sys/fs/cgroup} ") pass "rootless-systemd-exec-$rt ($ex)" ;;
    "runc 0::/system.slice/"*) skip "rootless-systemd-exec-$rt" "runc 1.1.5 leaves the exec'd process in the caller's cgroup: $ex" ;;
    *) fail "rootless-systemd-exec-$rt" "$ex" ;;
    esac
    show=$(asuser "systemctl --user show -p Delegate,MemoryMax,TasksMax,ActiveState $unit; systemctl --user status $unit --no-pager" 2>&1)
    case "$show" in
    *Delegate=yes*MemoryMax=$MEM*TasksMax=33*ActiveState=active*"CGroup: ${cg#/sys/fs/cgroup}"*) pass "rootless-systemd-unit-$rt (systemctl --user: $(echo "$show" | head -4 | tr '\n' ' '))" ;;
    *) fail "rootless-systemd-unit-$rt" "$(echo "$show" | tr '\n' ' ' | cut -c1-400)" ;;
    esac
    # update: systemd's properties and the files
    up=$(asuser "$rt --root $d/state update --memory 134217728 --pids-limit 44 $id 2>&1; systemctl --user show -p MemoryMax,TasksMax $unit" | tr '\n' ' ')
    files="$(cat $cg/memory.max $cg/pids.max | tr '\n' ' ')"
    case "$files/$up" in
    "134217728 44 /"*MemoryMax=134217728*TasksMax=44*) pass "rootless-systemd-update-$rt (files: $files, $up)" ;;
    *) fail "rootless-systemd-update-$rt" "files: $files, $up" ;;
    esac
    # pause/resume through cgroup.freeze
    # (runc warns that pause and resume may fail without full access to cgroups)
    p=$(asuser "$rt --root $d/state pause $id 2>&1; echo \$(cat $cg/cgroup.freeze) \$(grep frozen $cg/cgroup.events)
        $rt --root $d/state state $id | grep -o 'paused'; $rt --root $d/state resume $id 2>&1; cat $cg/cgroup.freeze" | grep -v 'level=warning' | tr '\n' ' ')
    case "$p" in
    "1 frozen 1 paused 0 ") pass "rootless-systemd-pause-resume-$rt ($p)" ;;
    *) fail "rootless-systemd-pause-resume-$rt" "$p" ;;
    esac
    eval "files_$rt=\"\$(cd $cg && for f in cgroup.controllers cgroup.subtree_control cgroup.type memory.max memory.swap.max pids.max cpu.max cpu.weight; do echo \$f=\$(cat \$f); done | tr '\\n' ' ')\""
    # kill --all, then delete stops the unit
    k=$(asuser "$rt --root $d/state kill --all $id KILL 2>&1; sleep 0.5; $rt --root $d/state state $id | grep -o stopped;
        $rt --root $d/state delete $id 2>&1; systemctl --user is-active $unit" | tr '\n' ' ')
    gone=yes; [ -d "$cg" ] && gone="no: $cg"
    case "$k/$gone" in
    "stopped "*/yes) pass "rootless-systemd-kill-delete-$rt ($k, cgroup removed: $gone)" ;;
    *) fail "rootless-systemd-kill-delete-$rt" "$k, cgroup removed: $gone" ;;
    esac
    ls $cg/.. >/dev/null 2>&1
done
# side by side: the same place (their default unit names differ by prefix only)
a=$(echo "${cg_kapsel:-none}" | sed 's/kapsel-rsd-kapsel/X/')
b=$(echo "${cg_runc:-none}" | sed 's/runc-rsd-runc/X/')
if [ "$a" = "$b" ]; then pass "rootless-systemd-same-place-as-runc (${a#/sys/fs/cgroup})"; else fail "rootless-systemd-same-place-as-runc" "kapsel $cg_kapsel, runc $cg_runc"; fi

if [ "${files_kapsel:-}" = "${files_runc:-}" ]; then pass "rootless-systemd-same-files-as-runc ($files_kapsel)"; else fail "rootless-systemd-same-files-as-runc" "kapsel: ${files_kapsel:-} runc: ${files_runc:-}"; fi

# A bus that refuses: a second container for the same unit.
d=/tmp/rsd-kapsel
ref=$(asuser "cd $d && kapsel --root $d/state --systemd-cgroup run -d -b . rsd-one >/dev/null 2>&1 </dev/null;
    jq '.linux.cgroupsPath = \":kapsel:rsd-one\"' config.json >c && mv c config.json;
    kapsel --root $d/state --systemd-cgroup run -d -b . rsd-two 2>&1 </dev/null; echo exit \$?;
    kapsel --root $d/state delete -f rsd-one; systemctl --user is-active kapsel-rsd-one.scope" | tr '\n' ' ')
case "$ref" in
*rsd-two*kapsel-rsd-one.scope*StartTransientUnit*UnitExists*"exit 1"*inactive*) pass "rootless-systemd-refused ($ref)" ;;
*) fail "rootless-systemd-refused" "$ref" ;;
esac

# No user bus: the cgroupfs fallback, one warning line.
nb=$(runuser -u kt -- env -u XDG_RUNTIME_DIR -u DBUS_SESSION_BUS_ADDRESS PATH=/vm/bin:/usr/bin:/bin sh -c "cd $d &&
    jq 'del(.linux.cgroupsPath) | .process.args = [\"echo\", \"in: ok\"]' config.json >c && mv c config.json &&
    kapsel --root $d/state --systemd-cgroup run -b . rsd-nobus >$d/nb 2>&1 </dev/null; echo exit \$?; grep -v '^in:' $d/nb")
case "$(echo "$nb" | grep -c .)/$nb" in
"2/exit 0"*"needs the user's systemd"*"running without cgroups"*) pass "rootless-systemd-no-bus-fallback ($(echo "$nb" | tr '\n' ' '))" ;;
*) fail "rootless-systemd-no-bus-fallback" "$(echo "$nb" | tr '\n' ' ')" ;;
esac

# Inside a user namespace where the caller is uid 0 (as rootless podman runs the runtime):
# the bus identity is the user's uid on the host, from uid_map. systemctl looks from outside.
d=/tmp/rsd-userns
rm -rf $d
mkdir -p $d
jq '.linux.uidMappings = [{"containerID": 0, "hostID": 0, "size": 1}] | .linux.gidMappings = .linux.uidMappings
    | .process.user = {"uid": 0, "gid": 0}' /tmp/rsd-config-kapsel.json >$d/config.json
cat >$d/in.sh <<EOF
echo ns: \$(id -u) \$(cat /proc/self/uid_map)
kapsel --root $d/state --systemd-cgroup run -d -b . rsd-userns >$d/out 2>&1 </dev/null
echo exit \$?
EOF
echo "kapsel --root $d/state delete -f rsd-userns 2>&1; echo deleted \$?" >$d/del.sh
chown -R kt:kt $d
un=$(asuser "cd $d && unshare --user --map-root-user sh in.sh; sleep 0.5
    systemctl --user show -p ControlGroup,MemoryMax kapsel-rsd-userns.scope; cat $d/out
    unshare --user --map-root-user sh del.sh; systemctl --user is-active kapsel-rsd-userns.scope" 2>&1 | tr '\n' ' ')
case "$un" in
*"ns: 0 0 1500 1"*"exit 0"*"ControlGroup=/user.slice/user-1500.slice/user@1500.service/user.slice/kapsel-rsd-userns.scope"*MemoryMax=$MEM*"in: 0::/user.slice/user-1500.slice/user@1500.service/user.slice/kapsel-rsd-userns.scope $MEM 33"*"deleted 0"*inactive*) pass "rootless-systemd-userns-root ($un)" ;;
*) fail "rootless-systemd-userns-root" "$un" ;;
esac
