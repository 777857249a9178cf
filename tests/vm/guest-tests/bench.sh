# kapsel, crun and runc side by side on pure cgroup v2 with systemd as PID 1 (issue 23):
# `run` of `true`, and create+start+delete, with the cgroupfs driver and with
# --systemd-cgroup, interleaved (one call of each runtime in turn), RUNS rounds after one
# warm-up. Under TCG absolute times mean little: read the ratios. Prints a markdown table.
# Run by scripts/bench-vm.sh (sh tests/bench.sh [RUNS]).
. ./lib.sh
runs=${1:-10}
# kapsel installed on a read-only mount (docs/performance.md, "The CVE-2019-5736 guard"):
# its guard then costs one access(2) instead of a re-execution.
mkdir -p /opt/kapsel-ro
cp "$(command -v kapsel)" /opt/kapsel-ro/kapsel
mount --bind /opt/kapsel-ro /opt/kapsel-ro
mount -o remount,bind,ro /opt/kapsel-ro
bundle /tmp/bench . true
echo "vm bench: kernel $(uname -r), $(nproc) vCPUs, $runs runs each; kapsel $(kapsel --version | head -1 | cut -d' ' -f3), $(runc --version | head -1), $(crun --version | head -1)"

now() { date +%s%N; }
# one RUNTIME-COMMAND ID BENCH: prints the wall time in microseconds, or "fail".
one() {
    _rt=$1
    _id=$2
    _t0=$(now)
    case $3 in
    run) $_rt run -b /tmp/bench "$_id" >/dev/null 2>/tmp/bench-err || { echo fail; return; } ;;
    lifecycle)
        { $_rt create -b /tmp/bench "$_id" >/dev/null &&
            $_rt start "$_id" &&
            $_rt delete -f "$_id"; } 2>/tmp/bench-err || { echo fail; $_rt delete -f "$_id" >/dev/null 2>&1; return; } ;;
    esac
    echo $((($(now) - _t0) / 1000))
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

echo
echo "| driver | benchmark | kapsel [ms] | kapsel, read-only mount [ms] | crun [ms] | runc [ms] | kapsel / crun | read-only kapsel / crun | kapsel / runc |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for driver in cgroupfs systemd; do
    flag=
    [ $driver = systemd ] && flag=--systemd-cgroup
    for b in run lifecycle; do
        rm -f /tmp/bench-*.times
        i=0
        while [ $i -le "$runs" ]; do
            for rt in kapsel kapsel-ro crun runc; do
                cmd=$rt
                [ $rt = kapsel-ro ] && cmd=/opt/kapsel-ro/kapsel
                t=$(one "$cmd $flag" "b$driver$b$i$rt" $b)
                if [ "$t" = fail ]; then
                    echo "vm bench: $rt $flag $b failed: $(tail -1 /tmp/bench-err)" >&2
                    continue
                fi
                # The first round warms the caches and is not counted.
                [ $i -gt 0 ] && echo "$t" >>/tmp/bench-$rt.times
            done
            i=$((i + 1))
        done
        k=$(median </tmp/bench-kapsel.times 2>/dev/null)
        kro=$(median </tmp/bench-kapsel-ro.times 2>/dev/null)
        c=$(median </tmp/bench-crun.times 2>/dev/null)
        r=$(median </tmp/bench-runc.times 2>/dev/null)
        ratio() { [ "$1" != - ] && [ "$2" != - ] && awk "BEGIN {printf \"%.2f\", $1 / $2}" || echo -; }
        ms() { [ "$1" != - ] && awk "BEGIN {printf \"%.1f\", $1 / 1000}" || echo -; }
        echo "| $driver | $b | $(ms "$k") | $(ms "$kro") | $(ms "$c") | $(ms "$r") | $(ratio "$k" "$c") | $(ratio "$kro" "$c") | $(ratio "$k" "$r") |"
    done
done
