# docker with `native.cgroupdriver=systemd` (its default on such hosts) and kapsel as a
# registered runtime (daemon.json `runtimes`, `docker run --runtime kapsel`): run -d with
# --memory 64m, exec, stop, rm; the limit read from inside and from the scope's cgroup
# (system.slice/docker-ID.scope), the scope active while running and gone after rm. runc
# (docker's default) runs the same round. The daemons are started here (not at boot).
. ./lib.sh
. ./callers.sh
mkdir -p /etc/docker
cat >/etc/docker/daemon.json <<'JSON'
{
  "exec-opts": ["native.cgroupdriver=systemd"],
  "runtimes": {"kapsel": {"path": "/vm/bin/kapsel"}},
  "bridge": "none",
  "iptables": false,
  "ip6tables": false
}
JSON
t0=$(date +%s)
if ! systemctl start docker >/tmp/err 2>&1; then
    fail docker-daemon "$(tr '\n' ' ' </tmp/err) $(journalctl -u docker -n 20 --no-pager | tr '\n' ' ' | cut -c1-1500)"
    exit 0
fi
rootfs_tar
if docker import -c 'CMD ["sh"]' /tmp/busybox-rootfs.tar kt-busybox:1 >/tmp/err 2>&1; then
    pass "docker-daemon-import ($(docker info -f '{{.CgroupDriver}} cgroup v{{.CgroupVersion}}, runtimes {{range $k, $v := .Runtimes}}{{$k}} {{end}}'); $(($(date +%s) - t0)) s)"
else
    fail docker-import "$(tr '\n' ' ' </tmp/err | cut -c1-300)"
fi
docker_round() { # NAME RUNTIME
    n=$1
    if ! id=$(docker run -d --runtime "$2" --security-opt apparmor=unconfined --name "$n" --memory 64m kt-busybox:1 sleep 1000 2>/tmp/err); then
        fail "$n-run" "$(tr '\n' ' ' </tmp/err | cut -c1-400)"
        docker rm -f "$n" >/dev/null 2>&1
        return 1
    fi
    pass "$n-run ($(docker inspect -f '{{.HostConfig.Runtime}} {{.State.Status}}' "$n"))"
    unit=docker-$id.scope
    cg=/sys/fs/cgroup/system.slice/$unit
    out=$(docker exec "$n" sh -c 'cat /sys/fs/cgroup/memory.max; sed -n "s/^0:://p" /proc/self/cgroup' 2>&1)
    pass_if "$n-exec" "$(echo "$out" | tr '\n' ' ')" [ -n "$out" ]
    scope_round "$n" "$cg" "$unit" systemctl "$(echo "$out" | head -1)"
    if docker stop -t 1 "$n" >/tmp/err 2>&1 && [ "$(docker inspect -f '{{.State.Status}}' "$n")" = exited ]; then
        pass "$n-stop"
    else
        fail "$n-stop" "$(tr '\n' ' ' </tmp/err)"
    fi
    if docker rm "$n" >/tmp/err 2>&1; then pass "$n-rm"; else fail "$n-rm" "$(tr '\n' ' ' </tmp/err)"; fi
    scope_gone "$n" "$cg" "$unit" systemctl
}
docker_round docker-kapsel kapsel
docker_round docker-runc runc
systemctl stop docker docker.socket containerd >/dev/null 2>&1
