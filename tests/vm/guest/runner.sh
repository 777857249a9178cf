#!/bin/sh
# The VM's test runner (kapsel-vm.service): unpacks the payload disk (/dev/vdb, a tar
# made by tests/vm/run.sh) into /vm, runs /vm/cmd with the time limit of /vm/timeout,
# and reports on ttyS1: `VM-BOOTED <uptime>`, the command's output, `VM-EXIT <status>`.
out=/dev/ttyS1
stty -F $out raw -echo 115200 2>/dev/null
exec >$out 2>&1
echo "VM-BOOTED $(cut -d' ' -f1 /proc/uptime) $(systemctl is-system-running 2>/dev/null)"
mkdir -p /vm
if tar -xf /dev/vdb -C /vm; then
    cd /vm
    export PATH=/vm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    timeout -k 10 "$(cat /vm/timeout)" sh /vm/cmd </dev/null
    status=$?
else
    echo "vm-runner: cannot unpack /dev/vdb"
    status=125
fi
echo "VM-EXIT $status"
sync
sleep 1
systemctl poweroff -ff >/dev/null 2>&1
