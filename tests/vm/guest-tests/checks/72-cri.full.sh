# containerd's CRI plugin with `SystemdCgroup = true` (the Kubernetes default on systemd
# hosts) for a runtime handler whose BinaryName is kapsel, driven by the project's own CRI
# client the way the kubelet drives it (`assay cri-check --systemd-cgroup`, a private
# containerd of assay's own): RunPodSandbox under a kubelet-style pod slice, CreateContainer
# with a 64 MiB limit, StartContainer, ExecSync, memory.max read inside and in the container's
# scope (kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podX.slice/
# cri-containerd-ID.scope), UpdateContainerResources read back from memory.max and cpu.max,
# Stop/Remove (the scope gone), the pod slice stopped as the kubelet does. runc runs the same
# steps. assay and the two image tars (scripts/callers/mkimage.py, the guest has no python)
# come in the payload: scripts/test-vm.sh --full adds them.
. ./lib.sh
if ! command -v assay >/dev/null || [ ! -d /vm/cri-images ]; then
    skip cri "assay or /vm/cri-images not in the payload (scripts/test-vm.sh --full adds them)"
    exit 0
fi
for h in kapsel=/vm/bin/kapsel runc=/usr/sbin/runc; do
    t0=$(date +%s)
    assay cri-check --systemd-cgroup --handler $h --mkimage /vm/cri-images >/tmp/cri.out 2>&1
    st=$?
    cat /tmp/cri.out
    grep -E '^(PASS|FAIL|SKIP) ' /tmp/cri.out >>"$RESULTS"
    [ $st -eq 0 ] || grep -q '^FAIL ' /tmp/cri.out || fail "cri[${h%%=*}]" "assay exit $st"
    echo "vm: cri-check ${h%%=*} took $(($(date +%s) - t0)) s"
done
