# Rootless on pure cgroup v2: an unprivileged user runs `spec --rootless` bundles from a
# systemd service of its own with Delegate=yes (systemd hands it its cgroup). With the
# cgroupfs driver kapsel and runc put the container below the parent of that cgroup, which
# the user may not write: both run without cgroups, kapsel with a warning. A delegated
# `systemd --user` slice with the systemd driver needs logind in the image: not yet.
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
skip rootless-systemd-user "the systemd driver for rootless containers (systemd --user) is not built yet"
