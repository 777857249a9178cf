#!/usr/bin/env bash
# podman 4.3 + conmon driving kapsel: rootful, then rootless as an unprivileged user with
# /etc/subuid ranges. Usage: podman.sh [RUNTIME] (or RUNTIME=... in the environment); default
# this checkout's kapsel, `/usr/sbin/runc` cross-checks the script itself.
#
# Everything podman writes lives under one temp dir (storage, run root, tmp dir, events log,
# the rootless user's HOME and XDG_RUNTIME_DIR); /var/lib/containers is never touched. The
# runtime is registered under its basename, listed in runtime_supports_json, so conmon hands
# it `--log-format=json --log FILE` as it does for runc. CONTRACT.md §3, §9.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

apt_need podman conmon uidmap fuse-overlayfs
RUNTIME=$(readlink -f "${1:-${RUNTIME:-$(kapsel_bin)}}")
RTNAME=$(basename "$RUNTIME")
ROOTLESS_USER=${PODMAN_ROOTLESS_USER:-kapsel-podman}
WORK=$(mktemp -d /tmp/kapsel-podman.XXXXXX)
chmod 0755 "$WORK"
cd "$WORK" || exit 1   # conmon writes an `oom` marker into its working directory
CGROUP_PARENT=libpod_parent
declare -A HAD_CGROUP_PARENT=()
for h in /sys/fs/cgroup/*/; do [ -d "$h$CGROUP_PARENT" ] && HAD_CGROUP_PARENT[$h]=1; done

skip() { echo "SKIP $SCENARIO: $1 -- $2"; }

# podman 4.3 sometimes loses a race to its own conmon attach socket when a short container
# starts (seen with runc as with kapsel): such a run is retried once, and says so.
attach_retry() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    if [ $rc -ne 0 ] && [[ "$out" == *"failed to connect to container's attach socket"* ]]; then
        echo "note: podman lost the race to its attach socket; retried once" >&2
        rc=0
        out=$("$@" 2>&1) || rc=$?
    fi
    printf '%s\n' "$out"
    return $rc
}

rootful() {
    attach_retry env CONTAINERS_CONF="$WORK/root/containers.conf" \
        CONTAINERS_STORAGE_CONF="$WORK/root/storage.conf" podman "$@"
}

rootless() {
    local d=$WORK/rootless
    (cd "$d" && attach_retry runuser -u "$ROOTLESS_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME="$d/home" XDG_RUNTIME_DIR="$d/xdg" USER="$ROOTLESS_USER" \
        CONTAINERS_CONF="$d/containers.conf" CONTAINERS_STORAGE_CONF="$d/storage.conf" \
        podman "$@")
}

# The rootless user and its subordinate id ranges; created when missing (a fresh CI machine).
ensure_rootless_user() {
    local u=$ROOTLESS_USER
    id -u "$u" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /usr/sbin/nologin "$u" || return 1
    grep -q "^$u:" /etc/subuid 2>/dev/null && grep -q "^$u:" /etc/subgid 2>/dev/null && return 0
    # useradd adds ranges from login.defs for regular users; otherwise pick one above all others.
    local start
    start=$(cat /etc/subuid /etc/subgid 2>/dev/null |
        awk -F: 'BEGIN { m = 100000 } { e = $2 + $3; if (e > m) m = e } END { print m }')
    grep -q "^$u:" /etc/subuid 2>/dev/null || usermod --add-subuids "$start-$((start + 65535))" "$u"
    grep -q "^$u:" /etc/subgid 2>/dev/null || usermod --add-subgids "$start-$((start + 65535))" "$u"
}

# wait_out WANT CMD...: reruns CMD (up to 5 s) until its output holds WANT; prints the last output.
wait_out() {
    local want=$1 out i; shift
    for i in $(seq 50); do
        out=$("$@" 2>&1)
        [[ "$out" == *"$want"* ]] && break
        sleep 0.1
    done
    printf '%s\n' "$out"
}

gone() { # P NAME: the container is no longer listed
    ! "$1" ps -a --format '{{.Names}}' | grep -qx "$2"
}

# cgroup_file ID CONTROLLER FILE: the value the host sees for the rootful container ID.
cgroup_file() {
    cat "/sys/fs/cgroup/$2/$CGROUP_PARENT/libpod-$1/$3"
}

# Steps both modes share: M is the label, P the podman function.
common_steps() {
    local m=$1 P=$2
    step "$m: podman load" "$P" load -i "$WORK/busybox.tar"
    step_out "$m: run" "hello-$m" "$P" run --rm busybox echo "hello-$m"
    step "$m: run -d" "$P" run -d --name d1 busybox sh -c \
        'echo started-d1; trap "echo got-usr1" USR1; trap "exit 0" TERM; while :; do sleep 0.1; done'
    step_out "$m: logs" started-d1 wait_out started-d1 "$P" logs d1
    step_out "$m: exec" "uid=0(root)" "$P" exec d1 id
    step_out "$m: exec sees the init" "sh -c echo started-d1" "$P" exec d1 sh -c 'tr "\0" " " </proc/1/cmdline'
    step_out "$m: exec -t" /dev/pts/ "$P" exec -t d1 tty
    step_rc "$m: exec of a missing executable -> 127" 127 "$P" exec d1 /nonexistent
    step_out "$m: run -t" /dev/pts/ "$P" run --rm -t busybox tty
    step_out "$m: --runtime-flag debug" hello-debug "$P" --runtime-flag debug run --rm busybox echo hello-debug
    step "$m: kill -s USR1" "$P" kill -s USR1 d1
    step_out "$m: USR1 reached the trap" got-usr1 wait_out got-usr1 "$P" logs d1
}

common_end_steps() {
    local m=$1 P=$2
    step "$m: restart" "$P" restart -t 10 d1
    step_out "$m: running after restart" running "$P" inspect -f '{{.State.Status}}' d1
    step "$m: stop (TERM honoured)" "$P" stop -t 10 d1
    step_out "$m: stopped with exit 0" "exited 0" "$P" inspect -f '{{.State.Status}} {{.State.ExitCode}}' d1
    step "$m: run -d (ignores TERM)" "$P" run -d --name d2 busybox sleep inf
    step "$m: rm -f a running container" "$P" rm -f -t 1 d2
    step "$m: removed" gone "$P" d2
    step "$m: rm a stopped container" "$P" rm d1
    step_rc "$m: missing executable -> 127" 127 "$P" run --rm busybox /nonexistent
    step_out "$m: missing executable message" "/nonexistent" "$P" run --rm busybox /nonexistent
    step_rc "$m: exit code passed through" 3 "$P" run --rm busybox sh -c 'exit 3'
    "$P" create --name bad busybox /nonexistent >/dev/null 2>&1
    step_out "$m: start of a missing executable: not found" \
        "OCI runtime attempted to invoke a command that was not found" "$P" start bad
    step_out "$m: one JSON error line in conmon's --log" "one error line: " oci_log_of "$P" bad
    "$P" rm -f bad >/dev/null 2>&1
}

# oci_log_of P NAME: conmon's --log file of container NAME: JSON lines, one of them an error
# naming /nonexistent. kapsel writes nothing else (podman parses the whole file as ONE object
# and otherwise falls back to stderr); runc adds a warning line when rootless, so the
# one-line rule is checked for kapsel only.
oci_log_of() {
    local id f
    id=$("$1" inspect -f '{{.Id}}' "$2") || return 1
    f=$(find "$WORK" -path "*/overlay-containers/$id/userdata/oci-log" 2>/dev/null | head -n 1)
    [ -n "$f" ] || { echo "no oci-log for $id"; return 1; }
    python3 - "$f" "$RTNAME" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]
errors = [o for o in objs if o.get("level") == "error"]
if len(errors) != 1 or "/nonexistent" not in errors[0].get("msg", ""):
    sys.exit(f"want one error naming /nonexistent: {lines}")
if sys.argv[2].startswith("kapsel") and len(lines) != 1:
    sys.exit(f"kapsel wrote {len(lines)} lines: {lines}")
print("one error line:", errors[0]["msg"])
PY
}

rootful_only_steps() {
    local m=rootful P=rootful id
    id=$(rootful inspect -f '{{.Id}}' d1 2>/dev/null)
    step "$m: pause" rootful pause d1
    step_out "$m: paused" paused rootful inspect -f '{{.State.Status}}' d1
    step_out "$m: frozen in the cgroup" FROZEN cgroup_file "$id" freezer freezer.state
    step "$m: unpause" rootful unpause d1
    step_out "$m: running again" running rootful inspect -f '{{.State.Status}}' d1
    step_out "$m: exec after unpause" after-unpause rootful exec d1 echo after-unpause
    step "$m: update --memory 128m --cpu-shares 512" rootful update --memory 128m --cpu-shares 512 d1
    step_out "$m: memory.limit_in_bytes updated" 134217728 cgroup_file "$id" memory memory.limit_in_bytes
    step_out "$m: cpu.shares updated" 512 cgroup_file "$id" cpu cpu.shares
    step_rc "$m: --memory 16m OOM -> 137" 137 rootful run --rm --memory 16m busybox sh -c 'tail /dev/zero'
    step_out "$m: --runtime PATH" hello-path rootful --runtime "$RUNTIME" run --rm busybox echo hello-path
    step_out "$m: --pids-limit 5 sets pids.max" "pids.max=5" rootful run --rm --pids-limit 5 busybox \
        sh -c 'echo pids.max=$(cat /sys/fs/cgroup/pids/pids.max)'
    step_out "$m: --pids-limit 5 stops a fork loop" "can't fork" rootful run --rm --pids-limit 5 busybox \
        sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait'
    step_out "$m: --cgroupns private sees its own pids.max" "pids.max=7" rootful run --rm \
        --cgroupns private --pids-limit 7 busybox sh -c 'echo pids.max=$(cat /sys/fs/cgroup/pids/pids.max)'
    step_out "$m: --uidmap (user namespace in the spec)" "uid_map: 0 100000 65536" rootful run --rm \
        --uidmap 0:100000:65536 --gidmap 0:100000:65536 busybox sh -c 'echo uid_map: $(cat /proc/self/uid_map)'
    step_out "$m: cgroup v1 hierarchies mounted in the container" "freezer memory pids" cgroup_listing
}

# The hierarchies a podman container sees under /sys/fs/cgroup (cgroup v1: one per controller).
cgroup_listing() {
    local out
    out=$(rootful run --rm busybox ls /sys/fs/cgroup) || return 1
    echo "LS:" $out
}

cleanup() {
    local d p
    [ -f "$WORK/root/containers.conf" ] && { rootful rm -fa -t 0; rootful rmi -fa; } >/dev/null 2>&1
    if [ -f "$WORK/rootless/containers.conf" ]; then
        { rootless rm -fa -t 0; rootless rmi -fa; } >/dev/null 2>&1
        # rootless podman keeps a pause process holding its user namespace
        p=$(cat "$WORK/rootless/tmp/pause.pid" 2>/dev/null) && kill "$p" 2>/dev/null
    fi
    # storage's overlay driver bind-mounts its home on itself; unmount deepest first
    findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | while read -r d; do umount -l "$d"; done
    rm -rf "$WORK"
    for d in /sys/fs/cgroup/*/; do
        [ -n "${HAD_CGROUP_PARENT[$d]:-}" ] || [ ! -d "$d$CGROUP_PARENT" ] && continue
        find "$d$CGROUP_PARENT" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
}
trap cleanup EXIT

echo "$SCENARIO: runtime $RUNTIME (registered as \"$RTNAME\")"
callers_image "$WORK/busybox.tar" || { echo "$SCENARIO: cannot build the image"; exit 1; }
chmod 0644 "$WORK/busybox.tar"

# containers_in DIR: the podman container ids (64 hex digits) with an entry in DIR.
containers_in() {
    ls "$1" 2>/dev/null | grep -E '^[0-9a-f]{64}$' | sort
}

# nothing_left P STATE_ROOT BEFORE: once podman removed everything, the runtime's state root
# holds no container that was not there before, and no libpod cgroup remains.
nothing_left() {
    local p=$1 root=$2 before=$3 left
    "$p" rm -fa -t 0 >/dev/null 2>&1
    [ -d "$root" ] || { echo "no state root $root: the runtime kept its state elsewhere"; return 1; }
    left=$(comm -13 <(printf '%s\n' "$before") <(containers_in "$root"))
    [ -z "$left" ] || { echo "state left in $root: $left"; return 1; }
    left=$(find /sys/fs/cgroup/*/"$CGROUP_PARENT" -mindepth 1 -maxdepth 1 -name 'libpod-*' 2>/dev/null)
    [ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
}

# rootful (podman never passes --root: the runtime's default state root is used)
podman_conf "$WORK/root" "$RUNTIME"
ROOTFUL_STATE=/run/$RTNAME
BEFORE=$(containers_in "$ROOTFUL_STATE")
common_steps rootful rootful
rootful_only_steps
common_end_steps rootful rootful
step "rootful: no state or cgroup left after rm -fa" nothing_left rootful "$ROOTFUL_STATE" "$BEFORE"

# rootless: the runtime is copied (keeping its basename) so the user can reach it whatever
# the permissions above the build directory.
if ensure_rootless_user; then
    R=$WORK/rootless
    mkdir -p "$R/home" "$R/xdg" "$R/bin"
    cp "$RUNTIME" "$R/bin/$RTNAME"
    podman_conf "$R" "$R/bin/$RTNAME"
    chown -R "$ROOTLESS_USER:" "$R"
    chmod 0700 "$R/xdg"
    common_steps rootless rootless
    skip "rootless: pause, update, --memory, --pids-limit" \
        "rootless podman ignores resource limits on cgroup v1 (CONTRACT §9)"
    common_end_steps rootless rootless
    step "rootless: no state left under XDG_RUNTIME_DIR after rm -fa" \
        nothing_left rootless "$R/xdg/$RTNAME" ""
else
    _record "rootless: create user $ROOTLESS_USER with subuid/subgid ranges" FAIL
fi
finish
