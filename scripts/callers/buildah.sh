#!/usr/bin/env bash
# buildah 1.28 driving kapsel: `buildah run --runtime` and `buildah bud` with RUN steps.
# Usage: buildah.sh [RUNTIME] (or RUNTIME=...); `/usr/sbin/runc` cross-checks the script itself.
#
# buildah has no monitor: it forks the runtime itself, polls `state` until "stopped", then
# calls `delete` (CONTRACT §4, §7), and it leaks extra fds into `create` (§5). Its storage
# (graphroot, runroot) lives under a temp dir; /var/lib/containers is never touched.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

apt_need buildah
RUNTIME=$(readlink -f "${1:-${RUNTIME:-$(kapsel_bin)}}")
WORK=$(mktemp -d /tmp/kapsel-buildah.XXXXXX)
cd "$WORK" || exit 1

export CONTAINERS_STORAGE_CONF=$WORK/storage.conf CONTAINERS_CONF=$WORK/containers.conf
export TMPDIR=$WORK/tmp
mkdir -p "$WORK/storage" "$WORK/run" "$WORK/tmp" "$WORK/ctx"
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
# No CAP_SYS_RESOURCE on this machine kind: keep the rlimits at or below the hard limits.
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
EOF

b() { buildah "$@"; }
brun() { buildah run --runtime "$RUNTIME" "$@"; }

# init_fds CTR: the fds the container's first process holds, as one line.
init_fds() {
    local out
    out=$(brun "$1" -- sh -c 'ls /proc/$$/fd; :') || return
    echo "fds:" $out "end"
}

cleanup() {
    { buildah rm -a; buildah rmi -af; } >/dev/null 2>&1
    findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | while read -r d; do umount -l "$d"; done
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "$SCENARIO: runtime $RUNTIME"
callers_image "$WORK/busybox.tar" || { echo "$SCENARIO: cannot build the image"; exit 1; }

step "pull docker-archive" b pull -q "docker-archive:$WORK/busybox.tar"
step "from" b from --pull=never --name w1 busybox
step_out "run" hello-buildah brun w1 -- echo hello-buildah
step_out "run as the image user" "uid=0(root)" brun w1 -- id
step_out "run a 1 s command (state polled while running)" slept brun w1 -- sh -c 'sleep 1; echo slept'
step_rc "run: exit code passed through" 3 brun w1 -- sh -c 'exit 3'
step_out "run -t" /dev/pts/ brun -t w1 -- tty
step_out "run: only fds 0 1 2 reach the container" "fds: 0 1 2 end" init_fds w1
step "run writes into the working container" brun w1 -- sh -c 'echo kept > /kept.txt'
step_out "the write persists" kept brun w1 -- cat /kept.txt
step_out "run: missing executable named" /nonexistent brun w1 -- /nonexistent

cat >"$WORK/ctx/Containerfile" <<'EOF'
FROM busybox
RUN echo built-by-bud > /built.txt
RUN sleep 1 && test "$(cat /built.txt)" = built-by-bud && echo second-run-ok
EOF
step_out "bud with RUN steps" second-run-ok b bud --runtime "$RUNTIME" --pull=never \
    --memory 64m -t localhost/kapsel-built -f "$WORK/ctx/Containerfile" "$WORK/ctx"
step "from the built image" b from --pull=never --name w2 localhost/kapsel-built
step_out "RUN output is in the image" built-by-bud brun w2 -- cat /built.txt
printf 'FROM busybox\nRUN exit 7\n' >"$WORK/ctx/Failing"
step_out "bud: a failing RUN fails the build" "exit status 7" b bud --runtime "$RUNTIME" \
    --pull=never -f "$WORK/ctx/Failing" "$WORK/ctx"
finish
