# Checkpoint and restore of a container holding 100 MiB of touched memory (memhold: every
# page written once, one process), kapsel and runc in turn (interleaved), one warm-up
# round each and RUNS measured rounds: the wall time of `checkpoint` and of `restore -d`,
# the image directory's size and its pages. Under TCG absolute times mean little: read
# the ratios. Prints a markdown table. Run by scripts/bench-criu-vm.sh
# (sh tests/criu-bench.sh [RUNS] [MIB]).
. ./lib.sh
runs=${1:-3}
mib=${2:-100}
if ! criu check >/tmp/criu-check 2>&1; then
    echo "SKIP criu-bench: criu check fails: $(tail -1 /tmp/criu-check)"
    exit 0
fi
[ -x /vm/bin/memhold ] || { echo "SKIP criu-bench: no memhold (tests/vm/guest-progs)"; exit 0; }
cp /vm/bin/memhold $BUSYBOX_ROOT/bin/
# The images on a tmpfs (the root disk has ~400 MB free): both runtimes write to memory.
mkdir -p /tmp/cbk
mountpoint -q /tmp/cbk || mount -t tmpfs -o size=600m criu-bench /tmp/cbk
bundle /tmp/cb '.linux.namespaces |= map(select(.type != "network"))' sh -c "exec 2>&1; exec memhold $mib 0"
echo "vm criu bench: kernel $(uname -r), $(nproc) vCPUs, $(free -m | awk '/Mem:/ {print $2}') MB, $runs runs each after one warm-up, $mib MiB; kapsel $(kapsel --version | head -1 | cut -d' ' -f3), $(runc --version | head -1), $(criu --version | head -1)"

now() { date +%s%N; }
# A runtime command in the background, its stdout (and the container's) a pipe read by
# `cat` into LOG; waits for the runtime and writes its end time to /tmp/cb-end.
bg() { # LOG RUNTIME-ARGS...
    _log=$1
    shift
    rm -f /tmp/cb-rc /tmp/cb-end
    (
        : | "$@" 2>/tmp/cb-err
        echo $? >/tmp/cb-rc
        now >/tmp/cb-end
    ) | cat >"$_log" &
    _w=0
    while [ ! -s /tmp/cb-end ] && [ $_w -lt 3000 ]; do sleep 0.1; _w=$((_w + 1)); done
    return "$(cat /tmp/cb-rc 2>/dev/null || echo 124)"
}

# one RUNTIME ROUND: prints "checkpoint-ms restore-ms image-KB pages", or "fail WHY".
one() {
    _rt=$1
    _id=cb-$1-$2
    _img=/tmp/cbk/img
    rm -rf $_img
    bg /tmp/$_id.log $_rt run -d -b /tmp/cb $_id || { echo "fail run: $(cat /tmp/cb-err)"; return; }
    _w=0
    while [ -z "$(tail -1 /tmp/$_id.log)" ] && [ $_w -lt 600 ]; do sleep 0.2; _w=$((_w + 1)); done
    _t0=$(now)
    $_rt checkpoint --image-path $_img $_id 2>/tmp/cb-err || { echo "fail checkpoint: $(cat /tmp/cb-err)"; cleanup $_rt $_id; return; }
    _ck=$((($(now) - _t0) / 1000000))
    _kb=$(du -sk $_img | cut -f1)
    _pages=$(ls -l $_img/pages-*.img | awk '{s+=$5} END {print int(s/4096)}')
    _before=$(tail -1 /tmp/$_id.log)
    _t0=$(now)
    bg /tmp/$_id.log2 $_rt restore -d --image-path $_img -b /tmp/cb $_id || { echo "fail restore: $(cat /tmp/cb-err)"; cleanup $_rt $_id; return; }
    _rs=$((($(cat /tmp/cb-end) - _t0) / 1000000))
    sleep 1
    _after=$(head -1 /tmp/$_id.log2)
    cleanup $_rt $_id
    [ "$_after" -gt "$_before" ] 2>/dev/null || { echo "fail counter: $_before before, '$_after' after"; return; }
    echo "$_ck $_rs $_kb $_pages"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
range() { sort -n | awk 'NR == 1 {lo=$1} {hi=$1} END {print lo "-" hi}'; }

: >/tmp/cb-kapsel
: >/tmp/cb-runc
for r in $(seq 0 "$runs"); do
    for rt in kapsel runc; do
        res=$(one $rt $r)
        echo "vm criu bench: round $r $rt: $res"
        case "$res" in fail*) continue ;; esac
        [ "$r" -gt 0 ] && echo "$res" >>/tmp/cb-$rt
    done
done
col() { awk "{print \$$2}" /tmp/cb-$1; }
echo
echo "| $mib MiB touched, median of $runs (range) | kapsel | runc | kapsel / runc |"
echo "|---|---:|---:|---:|"
for c in 1:checkpoint 2:restore 3:image 4:pages; do
    i=${c%%:*}
    k=$(col kapsel $i | median)
    r=$(col runc $i | median)
    ratio=$(awk -v k="$k" -v r="$r" 'BEGIN {if (r > 0) printf "%.2f", k / r; else print "-"}')
    case ${c#*:} in
    checkpoint) label="checkpoint [ms]" ;;
    restore) label="restore -d [ms]" ;;
    image) label="image directory [KB]" ;;
    pages) label="pages in pages-*.img" ;;
    esac
    echo "| $label | $k ($(col kapsel $i | range)) | $r ($(col runc $i | range)) | $ratio |"
done
