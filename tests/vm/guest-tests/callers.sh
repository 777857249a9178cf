# Helpers of the caller checks (70-*.sh): podman, docker and containerd's CRI driving kapsel
# in their default configuration for a pure cgroup v2 host with systemd (the systemd cgroup
# driver). Sourced after lib.sh.
#
#   rootfs_tar                   /tmp/busybox-rootfs.tar: the guest's busybox rootfs, for
#                                `podman import` / `docker import` (the VM has no network)
#   scope_round NAME CG UNIT SYSTEMCTL INSIDE
#                                the checks of one running container: INSIDE (its memory.max
#                                read from inside) and CG/memory.max are 64 MiB, the scope
#                                UNIT is active (SYSTEMCTL: `systemctl` or `systemctl --user`)
#   scope_gone NAME CG UNIT SYSTEMCTL   after rm: the cgroup and the unit are gone
#   podman_conf FILE CGROUP-MANAGER      a containers.conf registering /vm/bin/kapsel
MEM=67108864 # the limit every round sets: 64 MiB

rootfs_tar() {
    [ -f /tmp/busybox-rootfs.tar ] || tar -C "$BUSYBOX_ROOT" -cf /tmp/busybox-rootfs.tar .
    chmod 0644 /tmp/busybox-rootfs.tar
}

scope_round() {
    _n=$1 _cg=$2 _unit=$3 _sc=$4 _in=$5
    if [ "$_in" = $MEM ] && [ "$(cat "$_cg/memory.max" 2>&1)" = $MEM ]; then
        pass "$_n-memory-max (inside and in ${_cg#/sys/fs/cgroup})"
    else
        fail "$_n-memory-max" "inside: $_in; $_cg/memory.max: $(cat "$_cg/memory.max" 2>&1)"
    fi
    _st=$($_sc is-active "$_unit" 2>&1)
    if [ "$_st" = active ]; then pass "$_n-scope ($_unit active)"; else fail "$_n-scope" "$_unit: $_st"; fi
}

scope_gone() {
    _n=$1 _cg=$2 _unit=$3 _sc=$4
    _st=$($_sc is-active "$_unit" 2>&1)
    case "$_st" in
    inactive | unknown | failed)
        if [ -d "$_cg" ]; then fail "$_n-gone" "$_cg still there"; else pass "$_n-gone (cgroup gone, $_unit $_st)"; fi ;;
    *) fail "$_n-gone" "$_unit: $_st" ;;
    esac
}

podman_conf() {
    mkdir -p "$(dirname "$1")"
    cat >"$1" <<EOF
[containers]
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "$2"
events_logger = "file"
runtime = "kapsel"
runtime_supports_json = ["crun", "runc", "kapsel"]

[engine.runtimes]
kapsel = ["/vm/bin/kapsel"]
EOF
}

# podman_round NAME RUNTIME CG-PREFIX SYSTEMCTL PODMAN...: run -d with --memory 64m, exec,
# the scope checks, stop, rm. The cgroup is CG-PREFIX/libpod-ID.scope (crun: its
# `container` sub-cgroup); the image `localhost/kt-busybox` must be there.
podman_round() {
    _pn=$1 _prt=$2 _pfx=$3 _psc=$4
    shift 4
    if ! _id=$("$@" --runtime "$_prt" run -d --name "$_pn" --memory 64m localhost/kt-busybox sleep 1000 2>/tmp/err); then
        fail "$_pn-run" "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
        "$@" rm -f "$_pn" >/dev/null 2>&1
        return 1
    fi
    _rt=$("$@" inspect -f '{{.OCIRuntime}} {{.State.Status}}' "$_pn")
    pass "$_pn-run ($_rt)"
    _unit=libpod-$_id.scope
    _cg=$_pfx/$_unit
    [ "$_prt" = crun ] && _cg=$_cg/container
    _out=$("$@" exec "$_pn" sh -c 'cat /sys/fs/cgroup/memory.max; sed -n "s/^0:://p" /proc/self/cgroup' 2>&1)
    pass_if "$_pn-exec" "$(echo "$_out" | tr '\n' ' ')" [ -n "$_out" ]
    scope_round "$_pn" "$_cg" "$_unit" "$_psc" "$(echo "$_out" | head -1)"
    if "$@" stop -t 1 "$_pn" >/tmp/err 2>&1 && [ "$("$@" inspect -f '{{.State.Status}}' "$_pn")" = exited ]; then
        pass "$_pn-stop"
    else
        fail "$_pn-stop" "$(tr '\n' ' ' </tmp/err)"
    fi
    if "$@" rm "$_pn" >/tmp/err 2>&1; then pass "$_pn-rm"; else fail "$_pn-rm" "$(tr '\n' ' ' </tmp/err)"; fi
    scope_gone "$_pn" "$_cg" "$_unit" "$_psc"
}

pass_if() { # NAME DETAIL TEST...
    _pi=$1 _pd=$2
    shift 2
    if "$@"; then pass "$_pi ($_pd)"; else fail "$_pi" "$_pd"; fi
}
