#!/bin/bash
# Caller scenario: dockerd 20.10 (with the containerd it supervises and the io.containerd.runc.v2
# shim) driving a runc-compatible runtime registered in daemon.json as runtime `kapsel`.
#
#   scripts/callers/docker.sh [RUNTIME]
#
# RUNTIME defaults to this checkout's kapsel; `/usr/sbin/runc` runs the same steps as a
# cross-check of the scenario itself. A private dockerd (own data-root, exec-root, socket,
# pidfile, cgroup parent; no bridge, no iptables) is started and stopped by pid; no other
# dockerd or containerd is touched. Needs root.
set -u
. "$(dirname "$0")/lib.sh"

require_root "to run dockerd"
apt_need docker.io busybox-static
RUNTIME=${1:-$(kapsel_bin)}
[ -x "$RUNTIME" ] || { echo "$SCENARIO: runtime \`$RUNTIME\` is not executable" >&2; exit 1; }

TAG=$$
DATA=/var/lib/kapsel-docker-$TAG
XROOT=/run/kapsel-docker-$TAG
WORK=$(mktemp -d /tmp/kapsel-docker.XXXXXX)
SOCK=$XROOT/docker.sock
CGPARENT=kapsel-docker-$TAG
DOCKERD_PID=
# dockerd writes /etc/docker/key.json, /run/docker/plugins and (through its shims)
# /run/containerd/s whatever its flags say: removed afterwards unless they were there before.
HAD_KEY=$([ -e /etc/docker/key.json ] && echo 1)
HAD_RUN_DOCKER=$([ -d /run/docker ] && echo 1)
HAD_RUN_CONTAINERD=$([ -d /run/containerd ] && echo 1)
mkdir -p "$DATA" "$XROOT"

# Debian's 20.10 client, whatever else is first on PATH; a private client config dir.
docker() { DOCKER_CONFIG=$WORK/client /usr/bin/docker -H "unix://$SOCK" "$@"; }

our_mounts() {
    awk -v a="$XROOT" -v b="$DATA" '$5 ~ "^"a || $5 ~ "^"b {print $5}' /proc/self/mountinfo
}
# Pids of the containerd and shims our dockerd started (they carry our exec-root in their argv).
our_children() {
    local p
    for p in /proc/[0-9]*; do
        { tr "\0" " " <"$p/cmdline"; } 2>/dev/null | grep -q -- "$XROOT/containerd/" && echo "${p#/proc/}"
    done
}

stop_dockerd() {
    local i
    [ -n "$DOCKERD_PID" ] || return 0
    kill "$DOCKERD_PID" 2>/dev/null
    for i in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$DOCKERD_PID" 2>/dev/null
    wait "$DOCKERD_PID" 2>/dev/null
    DOCKERD_PID=
    # dockerd leaves <exec-root>/netns/default and sometimes the data-root self-bind behind.
    for mnt in $(our_mounts | sort -r); do umount -l "$mnt" 2>/dev/null; done
    true
}

cleanup() {
    local id pid
    if [ -n "$DOCKERD_PID" ]; then
        for id in $(docker ps -aq 2>/dev/null); do docker rm -f "$id" >/dev/null 2>&1; done
        stop_dockerd
    fi
    for pid in $(our_children); do kill -9 "$pid" 2>/dev/null; done
    for mnt in $(our_mounts | sort -r); do umount -l "$mnt" 2>/dev/null; done
    rm -rf "$DATA" "$XROOT" "$WORK"
    [ -n "$HAD_KEY" ] || rm -f /etc/docker/key.json
    # rmdir only removes them when empty, so a daemon started meanwhile keeps its files.
    [ -n "$HAD_RUN_DOCKER" ] || rmdir /run/docker/plugins /run/docker 2>/dev/null
    [ -n "$HAD_RUN_CONTAINERD" ] || rmdir /run/containerd/s /run/containerd 2>/dev/null
    find /sys/fs/cgroup/ -maxdepth 3 -type d -name "$CGPARENT" 2>/dev/null |
        while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
    true
}
trap cleanup EXIT

cat >"$WORK/daemon.json" <<EOF
{ "runtimes": { "kapsel": { "path": "$RUNTIME" },
                "kapsel-debug": { "path": "$RUNTIME", "runtimeArgs": ["--debug"] } } }
EOF
dockerd --config-file "$WORK/daemon.json" --data-root "$DATA" --exec-root "$XROOT" \
    -H "unix://$SOCK" --pidfile "$XROOT/docker.pid" --cgroup-parent "/$CGPARENT" \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false --userland-proxy=false \
    --exec-opt native.cgroupdriver=cgroupfs >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 150); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
step "dockerd starts (private socket $SOCK)" docker version
# With /run/containerd/containerd.sock present, dockerd 20.10 would use that containerd instead.
step "dockerd supervises its own containerd" test -S "$XROOT/containerd/containerd.sock"
step_out "runtime kapsel is registered" '"kapsel"' docker info --format '{{json .Runtimes}}'

callers_image "$WORK/busybox.tar"
step_out "docker load (mkimage.py tar)" "busybox:latest" docker load -i "$WORK/busybox.tar"

RUN=(run --runtime kapsel --network none)
inspect() { docker inspect --format "$2" "$1"; }
wait_state() { # NAME GOTEMPLATE WANT: polls docker inspect for up to 20 s
    local i
    for i in $(seq 100); do [ "$(inspect "$1" "$2")" = "$3" ] && return 0; sleep 0.2; done
    echo "$1: $2 is $(inspect "$1" "$2"), wanted $3"
    return 1
}
logs_have() { # NAME WANT: waits up to 15 s for WANT in docker logs
    local i
    for i in $(seq 75); do docker logs "$1" 2>&1 | grep -q -- "$2" && return 0; sleep 0.2; done
    echo "no \`$2\` in the logs of $1: $(docker logs "$1" 2>&1 | tail -n 3 | tr '\n' ' ')"
    return 1
}
cgroup_is() { # CONTROLLER FILE CONTAINER WANT
    local id f
    id=$(inspect "$3" '{{.Id}}')
    f=/sys/fs/cgroup/$1/$CGPARENT/$id/$2
    grep -qx -- "$4" "$f" || { echo "$f: $(cat "$f" 2>&1), wanted $4"; return 1; }
}

# --- foreground runs -------------------------------------------------------------------------
# Commands whose output is checked linger 0.5 s, as in containerd.sh (output of a process that
# exits at once can be lost under heavy load, whatever the runtime).
step_out "docker run --rm echo" "hello-from-docker" \
    docker "${RUN[@]}" --rm busybox sh -c 'echo hello-from-docker; sleep 0.5'
# runtimeArgs: dockerd wraps the runtime in a script that puts --debug before the shim's flags.
step_out "docker run --runtime kapsel-debug (runtimeArgs --debug)" "hello-debug" \
    docker run --runtime kapsel-debug --network none --rm busybox sh -c 'echo hello-debug; sleep 0.5'
step_rc "docker run --rm exit status 3" 3 docker "${RUN[@]}" --rm busybox sh -c 'exit 3'
# The message travels runtime --log -> shim -> dockerd -> client; docker maps it to 127.
missing_exe() { # RUNTIME-NAME: output and exit status of a run of /nonexistent
    local out=$WORK/missing-$1.out
    docker run --runtime "$1" --network none --rm busybox /nonexistent >"$out" 2>&1
    echo "rc=$?" >>"$out"
    cat "$out"
}
no_decode_error() { ! grep -q "unable to retrieve OCI runtime error" "$WORK/missing-$1.out"; }
for rt in kapsel kapsel-debug; do
    step_out "$rt: docker run of a missing executable exits 127" "rc=127" missing_exe "$rt"
    step_out "$rt: ... names the executable" '"/nonexistent"' cat "$WORK/missing-$rt.out"
    step_out "$rt: ... no such file or directory" "no such file or directory" \
        cat "$WORK/missing-$rt.out"
    step "$rt: ... log.json decoded (no 'unable to retrieve')" no_decode_error "$rt"
done

step_rc "docker run of a non-executable file exits 126" 126 \
    docker "${RUN[@]}" --rm busybox /etc/passwd
step_out "docker run of a non-executable file: permission denied" "permission denied" \
    docker "${RUN[@]}" --rm busybox /etc/passwd

# --- a long-running container ----------------------------------------------------------------
step "docker run -d (signal-handling sh)" docker "${RUN[@]}" -d --name d1 busybox \
    sh -c 'echo started; trap "echo got-usr1" USR1; trap "echo got-term; exit 0" TERM;
           while :; do sleep 0.2; done'
step "d1 is running" wait_state d1 '{{.State.Status}}' running
# Proves dockerd's shim ran RUNTIME: its state dir (--root of every call) holds the container.
step_out "the runtime under test holds d1 (RUNTIME state)" '"running"' \
    "$RUNTIME" --root "$XROOT/runtime-runc/moby" state "$(inspect d1 '{{.Id}}')"
step_out "docker exec" "$(inspect d1 '{{.Config.Hostname}}')" docker exec d1 sh -c 'hostname; sleep 0.5'
step_rc "docker exec exit status 5" 5 docker exec d1 sh -c 'exit 5'
step_out "docker exec -t (console socket)" "/dev/pts/" \
    script -qec "DOCKER_CONFIG=$WORK/client /usr/bin/docker -H unix://$SOCK exec -t d1 sh -c 'tty; sleep 0.5'" /dev/null
step_out "docker exec -u 1000 -w /tmp -e K=v" "1000 /tmp v" \
    docker exec -u 1000 -w /tmp -e K=v d1 sh -c 'echo "$(id -u) $(pwd) $K"; sleep 0.5'
step "docker exec -d" docker exec -d d1 sh -c 'echo detached >/tmp/exec-d'
exec_d_ran() {
    local i
    for i in $(seq 75); do docker exec d1 cat /tmp/exec-d 2>/dev/null | grep -q detached && return 0; sleep 0.2; done
    return 1
}
step "docker exec -d ran" exec_d_ran
# docker 20.10 maps every exec start failure to 126 (runc too); the message must come through.
step_rc "docker exec of a missing executable exits 126" 126 docker exec d1 /nonexistent
step_out "docker exec of a missing executable: OCI runtime exec failed" \
    "OCI runtime exec failed: " docker exec d1 /nonexistent
step_out "docker exec of a missing executable: no such file or directory" \
    "no such file or directory" docker exec d1 /nonexistent
step_out "docker top" "$(inspect d1 '{{.State.Pid}}')" docker top d1
stats_mem() { # docker stats reads the container's memory cgroup through the shim
    local out
    out=$(docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' d1) || return 1
    [[ "$out" == d1\ * && "$out" != "d1 0B /"* ]] || { echo "stats: $out"; return 1; }
}
step "docker stats --no-stream (non-zero memory usage)" stats_mem

step "docker pause" docker pause d1
step "d1 is paused" wait_state d1 '{{.State.Status}}' paused
step "freezer FROZEN" cgroup_is freezer freezer.state d1 FROZEN
step "docker unpause" docker unpause d1
step "d1 is running again" wait_state d1 '{{.State.Status}}' running

# Docker sends zeros meaning "unchanged" (blkio weight, cpu quota/period, kernel memory).
step "docker update --memory 128m --memory-swap 256m --pids-limit 64 --cpu-shares 512" \
    docker update --memory 128m --memory-swap 256m --pids-limit 64 --cpu-shares 512 d1
step "update: memory.limit_in_bytes" cgroup_is memory memory.limit_in_bytes d1 134217728
step "update: pids.max" cgroup_is pids pids.max d1 64
step "update: cpu.shares" cgroup_is cpu cpu.shares d1 512
step "update: cpu quota 0 meant unset (cfs_quota_us stays -1)" cgroup_is cpu cpu.cfs_quota_us d1 -1
step_out "update: docker inspect" "134217728 64 512" \
    inspect d1 '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}}'

step "docker kill -s USR1" docker kill -s USR1 d1
step "the container's trap saw USR1" logs_have d1 got-usr1
step "docker stop -t 5 (exits on TERM)" docker stop -t 5 d1
step "the container's trap saw TERM" logs_have d1 got-term
step_out "d1 exited 0" "exited 0" inspect d1 '{{.State.Status}} {{.State.ExitCode}}'
step "docker start (a stopped container)" docker start d1
step "d1 is running after start" wait_state d1 '{{.State.Status}}' running
OLDPID=$(inspect d1 '{{.State.Pid}}')
step "docker restart -t 2" docker restart -t 2 d1
new_pid() { [ "$(inspect d1 '{{.State.Pid}}')" != "$OLDPID" ] && [ "$(inspect d1 '{{.State.Running}}')" = true ]; }
step "d1 runs with a new pid after restart" new_pid
step "docker kill" docker kill d1
step_out "d1 exited 137 after kill" "exited 137" inspect d1 '{{.State.Status}} {{.State.ExitCode}}'
step "docker rm (stopped)" docker rm d1

step "docker run -d d2 (ignores TERM)" docker "${RUN[@]}" -d --name d2 busybox \
    sh -c 'trap "" TERM; while :; do sleep 0.2; done'
step "d2 is running" wait_state d2 '{{.State.Status}}' running
step "docker stop -t 1 (TERM ignored, then KILL)" docker stop -t 1 d2
step_out "d2 exited 137" "exited 137" inspect d2 '{{.State.Status}} {{.State.ExitCode}}'
step "docker start d2 again" docker start d2
step "d2 is running again" wait_state d2 '{{.State.Status}}' running
step "docker rm -f (running)" docker rm -f d2
gone() { ! docker ps -aq --filter "name=^$1\$" | grep -q .; }
step "d2 is gone" gone d2

# --- what docker's config asks of the runtime ------------------------------------------------
step_out "docker's default seccomp profile is applied" "Seccomp:	2" \
    docker "${RUN[@]}" --rm busybox sh -c 'grep Seccomp: /proc/self/status; sleep 0.5'
step_out "--user 1000:1000" "uid=1000(user) gid=1000(user)" \
    docker "${RUN[@]}" --rm --user 1000:1000 busybox sh -c 'id; sleep 0.5'
step_out "--read-only root, --tmpfs /scratch" "ro-ok tmpfs-ok" \
    docker "${RUN[@]}" --rm --read-only --tmpfs /scratch busybox sh -c \
    'touch /x 2>/dev/null || printf ro-ok; touch /scratch/x && echo " tmpfs-ok"; sleep 0.5'
mkdir -p "$WORK/vol" && echo from-host >"$WORK/vol/f"
step_out "-v bind mount" "from-host" \
    docker "${RUN[@]}" --rm -v "$WORK/vol:/data:ro" busybox sh -c 'cat /data/f; sleep 0.5'
step_out "--cap-drop ALL --cap-add NET_RAW" "CapEff:	0000000000002000" \
    docker "${RUN[@]}" --rm --cap-drop ALL --cap-add NET_RAW busybox \
    sh -c 'grep CapEff: /proc/self/status; sleep 0.5'
step_out "--sysctl net.ipv4.ip_unprivileged_port_start=2000" "2000" \
    docker "${RUN[@]}" --rm --sysctl net.ipv4.ip_unprivileged_port_start=2000 busybox \
    sh -c 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start; sleep 0.5'
# Without a cgroup namespace (docker's default on cgroup v1) /sys/fs/cgroup/<controller> must
# show the container's own cgroup, as with runc: JVMs and GOMAXPROCS tuners read limits there.
step_out "--cpus 0.5 --cpuset-cpus 0, seen in the container's /sys/fs/cgroup" "50000 100000 0" \
    docker "${RUN[@]}" --rm --cpus 0.5 --cpuset-cpus 0 busybox sh -c 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
    /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpuset/cpuset.cpus | tr "\n" " "; sleep 0.5'
step_out "--cgroupns private --cpus 0.5, seen in the container's /sys/fs/cgroup" "50000" \
    docker "${RUN[@]}" --rm --cgroupns private --cpus 0.5 busybox \
    sh -c 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; sleep 0.5'
step_out "--init (docker-init is pid 1, the command its child)" "docker-init sh" \
    docker "${RUN[@]}" --rm --init busybox \
    sh -c 'echo $(cat /proc/1/comm) $(cat /proc/$$/comm); sleep 0.5'
step_out "--ulimit nofile=1000:2000" "1000 2000" \
    docker "${RUN[@]}" --rm --ulimit nofile=1000:2000 busybox sh -c 'echo $(ulimit -n) $(ulimit -Hn); sleep 0.5'
step_out "--shm-size 16m" "16384" \
    docker "${RUN[@]}" --rm --shm-size 16m busybox sh -c 'df -k /dev/shm | tail -n 1; sleep 0.5'
step_out "--hostname --add-host (dockerd's /etc/hosts bind)" "box1 10.9.8.7 far" \
    docker "${RUN[@]}" --rm --hostname box1 --add-host far:10.9.8.7 busybox \
    sh -c 'echo $(hostname) $(grep far /etc/hosts); sleep 0.5'
step_out "--device /dev/null:/dev/xnull" "xnull-ok" \
    docker "${RUN[@]}" --rm --device /dev/null:/dev/xnull busybox \
    sh -c 'echo hi >/dev/xnull && echo xnull-ok; sleep 0.5'
step_out "--pid host --ipc host" "host-pid-ok" \
    docker "${RUN[@]}" --rm --pid host --ipc host busybox \
    sh -c '[ -d /proc/1 ] && [ "$(readlink /proc/1/exe 2>/dev/null)" != /bin/busybox ] && echo host-pid-ok; sleep 0.5'
step_out "docker run -t (console socket at create)" "/dev/pts/0" \
    script -qec "DOCKER_CONFIG=$WORK/client /usr/bin/docker -H unix://$SOCK run -t --rm --runtime kapsel --network none busybox sh -c 'tty; sleep 0.5'" /dev/null

# --- resource limits at create ---------------------------------------------------------------
step_rc "docker run --memory 32m: OOM kill exits 137" 137 \
    docker "${RUN[@]}" --name oom --memory 32m --memory-swap 32m busybox sh -c 'tail /dev/zero'
step_out "OOMKilled is true" "true" inspect oom '{{.State.OOMKilled}}'
step "docker rm oom" docker rm oom

step "docker run -d --pids-limit 10" docker "${RUN[@]}" -d --name p1 --pids-limit 10 busybox sleep 300
step "p1 is running" wait_state p1 '{{.State.Status}}' running
step "pids.max is 10" cgroup_is pids pids.max p1 10
# busybox sh gives up at the first failed fork with "can't fork".
step_out "pids limit 10: the 10th process cannot fork" "can't fork" \
    docker exec p1 sh -c 'i=0; while [ $i -lt 20 ]; do sleep 5 & i=$((i+1)); done; wait'
step "docker rm -f p1" docker rm -f p1

# --- several containers at once, then what the runtime leaves behind ----------------------------
parallel() { # VERB: docker run -d / rm -f of c1..c6 at once
    local i pids=() rc=0
    for i in 1 2 3 4 5 6; do
        if [ "$1" = run ]; then
            docker "${RUN[@]}" -d --name "c$i" busybox sleep 300 >"$WORK/c$i.out" 2>&1 &
        else
            docker rm -f "c$i" >"$WORK/c$i.out" 2>&1 &
        fi
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || rc=1; done
    [ $rc = 0 ] || cat "$WORK"/c*.out
    return $rc
}
step "6 x docker run -d at once" parallel run
step_out "6 containers running" "6" sh -c "DOCKER_CONFIG=$WORK/client /usr/bin/docker -H unix://$SOCK ps -q | wc -l"
step "6 x docker rm -f at once" parallel rm
step "no container state left in the runtime's root" nothing_in "$XROOT/runtime-runc/moby"
step "no container cgroup left" no_cgroups_under "$CGPARENT"

# --- teardown is part of the scenario: nothing may stay mounted -------------------------------
step "stop dockerd by pid" stop_dockerd
no_mounts() { local m; m=$(our_mounts); [ -z "$m" ] || { echo "left mounted: $m"; return 1; }; }
step "no mounts left under data-root and exec-root" no_mounts

finish
