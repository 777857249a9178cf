#!/usr/bin/env bash
# Boots the VM of tests/vm/build.sh and runs one command inside it.
#
#   tests/vm/run.sh [-t SECONDS] [-n NAME] [-f FILE]... COMMAND
#
# COMMAND is a shell script run by sh in /vm inside the guest, from a plain systemd
# service (kapsel-vm.service), as root, on pure cgroup v2 with systemd as PID 1. /vm holds
# bin/kapsel (target/release/kapsel), tests/vm/guest-tests/ as tests/, the programs of
# tests/vm/guest-progs/ built static (bin/) and every -f FILE (in bin/ when executable).
# The command's output streams to stdout and to target/vm/NAME/output.log (NAME defaults
# to `run`); the guest's console goes to target/vm/NAME/console.log. The exit status is
# the command's; 124 when it passed its time limit (-t, default 600 s), 125 when the VM
# did not report one (the console's end is then printed). The boot time is printed and
# written to target/vm/NAME/boot-seconds.
#
# VM_MEMORY (MB, default 2048) and VM_CPUS (default 2) size the VM.
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=600
name=run
files=()
while getopts t:n:f: o; do
    case $o in
    t) limit=$OPTARG ;;
    n) name=$OPTARG ;;
    f) files+=("$OPTARG") ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: tests/vm/run.sh [-t SECONDS] [-n NAME] [-f FILE]... COMMAND" >&2; exit 2; }
bash tests/vm/build.sh
[ -x target/release/kapsel ] || cargo build --release -q -p kapsel
img=$PWD/target/vm/image
dir=$PWD/target/vm/$name
rm -rf "$dir"
mkdir -p "$dir/payload/bin" "$dir/payload/tests"
cp target/release/kapsel "$dir/payload/bin/"
# The guest has no compiler: the small C programs of guest-progs/ (workloads the checks
# run in containers) are built static here, when a compiler is at hand.
for c in tests/vm/guest-progs/*.c; do
    [ -f "$c" ] || continue
    prog=target/vm/progs/$(basename "$c" .c)
    mkdir -p target/vm/progs
    if [ ! -x "$prog" ] || [ "$c" -nt "$prog" ]; then
        cc -static -O2 -Wall -o "$prog" "$c" 2>"$prog.err" || { echo "vm: cannot build $prog: $(head -1 "$prog.err")" >&2; continue; }
    fi
    cp "$prog" "$dir/payload/bin/"
done
cp -r tests/vm/guest-tests/. "$dir/payload/tests/" 2>/dev/null || true
for f in "${files[@]}"; do
    if [ -x "$f" ] && [ ! -d "$f" ]; then cp "$f" "$dir/payload/bin/"; else cp -r "$f" "$dir/payload/"; fi
done
printf '%s\n' "$1" >"$dir/payload/cmd"
echo "$limit" >"$dir/payload/timeout"
tar -C "$dir/payload" -cf "$dir/payload.tar" .

start=$(date +%s%N)
# Tenths of a second since the start.
since() { local t=$((($(date +%s%N) - start) / 100000000)); echo "$((t / 10)).$((t % 10))"; }
set +e
# The guest's ttyS1 is QEMU's stdout: each line is shown and kept; the first says the
# guest has booted.
timeout -k 10 $((limit + 300)) qemu-system-x86_64 -machine pc -accel tcg -cpu "${VM_CPU_MODEL:-max}" \
    -smp "${VM_CPUS:-2}" -m "${VM_MEMORY:-2048}" -display none -monitor none -no-reboot -nic none \
    -kernel "$img/vmlinuz" -initrd "$img/initrd.gz" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3 systemd.show_status=0 systemd.unified_cgroup_hierarchy=1" \
    -drive "file=$img/rootfs.img,format=raw,if=virtio,snapshot=on" \
    -drive "file=$dir/payload.tar,format=raw,if=virtio,readonly=on" \
    -serial "file:$dir/console.log" -serial stdio </dev/null 2>"$dir/qemu.err" |
    while IFS= read -r line; do
        line=${line%$'\r'}
        printf '%s\n' "$line" >>"$dir/output.log"
        case "$line" in
        "VM-BOOTED "*)
            boot=$(since)
            echo "$boot" >"$dir/boot-seconds"
            echo "vm: booted in $boot s of wall time (guest uptime and state: ${line#VM-BOOTED })" ;;
        "VM-EXIT "*) ;;
        *) printf '%s\n' "$line" ;;
        esac
    done
qemu_status=${PIPESTATUS[0]}
set -e
wall=$(since)
status=$(sed -n 's/^VM-EXIT \([0-9]*\)$/\1/p' "$dir/output.log" 2>/dev/null | tail -1)
if [ -z "$status" ]; then
    echo "vm: the VM reported no exit status (qemu exit $qemu_status after $wall s); the end of $dir/console.log:" >&2
    tail -30 "$dir/console.log" >&2 || true
    cat "$dir/qemu.err" >&2 || true
    exit 125
fi
echo "vm: exit status $status after $wall s of wall time (console: $dir/console.log)"
exit "$status"
