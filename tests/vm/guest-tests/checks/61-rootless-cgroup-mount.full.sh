# The `cgroup` mount of runc's own `spec --rootless` bundle (no network namespace, so /sys
# is the host's, bound with its cgroup2 mount), run by the rootless user with the systemd
# driver, kapsel and runc side by side:
# - with its cgroup namespace: a fresh cgroup2 mount on the bound one is refused (EBUSY,
#   the same superblock on the same mountpoint); runc binds the container's cgroup there,
#   kapsel mounts a tmpfs between the two; both show the container's limits at the root;
# - without one: the user namespace may not mount cgroup2 (EPERM); both bind the host's
#   /sys/fs/cgroup, where the container finds its cgroup at the path /proc/self/cgroup gives.
. ./lib.sh
rootless_user || { fail rootless-cgroup-mount-user-bus "no /run/user/1500/bus after 30 s"; exit 0; }
MEM=67108864
for ns in with without; do
    for rt in kapsel runc; do
        d=/tmp/rcm-$ns-$rt
        id=rcm-$ns-$rt
        rm -rf $d
        mkdir -p $d
        chown kt:kt $d
        filter='.'
        [ $ns = without ] && filter='.linux.namespaces |= map(select(.type != "cgroup"))'
        cat >$d/prog.jq <<JQ
.process.terminal = false | .root = {"path": "$BUSYBOX_ROOT", "readonly": true}
| .process.args = ["sh", "-c", "c=\$(sed -n 's/^0:://p' /proc/self/cgroup); echo \$c \$(cat /sys/fs/cgroup\$c/memory.max) \$(awk '\$5 == \"/sys/fs/cgroup\" {print \$9}' /proc/self/mountinfo | tail -1)"]
| .linux.resources = {"memory": {"limit": $MEM}}
| $filter
JQ
        chown kt:kt $d/prog.jq
        out=$(asuser "cd $d && runc spec --rootless && jq -f prog.jq config.json >c && mv c config.json &&
            $rt --root $d/state --systemd-cgroup run -b . $id 2>&1 </dev/null; echo exit \$?" | grep -v 'level=warning' | tr '\n' ' ')
        case "$ns $out" in
        "with / $MEM cgroup2 exit 0 ") pass "rootless-cgroup-mount-$ns-cgroupns-$rt (/proc/self/cgroup, memory.max, fs type: $out)" ;;
        "without /user.slice/"*" $MEM cgroup2 exit 0 ") pass "rootless-cgroup-mount-$ns-cgroupns-$rt (/proc/self/cgroup, memory.max, fs type: $out)" ;;
        *) fail "rootless-cgroup-mount-$ns-cgroupns-$rt" "$out" ;;
        esac
        asuser "$rt --root $d/state delete -f $id" >/dev/null 2>&1
    done
done
