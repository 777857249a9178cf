# Check 50 again with the systemd cgroup driver (`--systemd-cgroup` against the real PID 1:
# transient scopes with Delegate=yes, properties set and updated over D-Bus, the unit
# stopped on delete, nested slices).
IT_DRIVER=systemd . ./checks/50-integration.full.sh
