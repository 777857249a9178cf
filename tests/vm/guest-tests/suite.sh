# The VM suite: run by scripts/test-vm.sh inside the guest (sh tests/suite.sh quick|full).
# Each check file prints PASS/FAIL/SKIP lines; the exit status is 1 when one failed.
set -u
cd "$(dirname "$0")"
export RESULTS=/tmp/vm-results
: >$RESULTS
set_name=${1:-quick}
export VM_SET=$set_name
echo "vm: kernel $(uname -r), PID 1 $(cat /proc/1/comm), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "vm: this shell's cgroup $(sed -n 's/^0:://p' /proc/self/cgroup); kapsel $(kapsel --version | head -1), $(runc --version | head -1), $(crun --version | head -1)"
for f in checks/*.sh; do
    case "$set_name $f" in
    "quick "*.full.sh) continue ;;
    esac
    t0=$(date +%s)
    sh "$f"
    echo "vm: $f took $(($(date +%s) - t0)) s"
done
echo "vm: $(grep -c '^PASS' $RESULTS) passed, $(grep -c '^FAIL' $RESULTS) failed, $(grep -c '^SKIP' $RESULTS) skipped"
! grep -q '^FAIL' $RESULTS
