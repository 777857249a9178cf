//! Which filesystem types this kernel can mount.

/// True for filesystem types the kernel knows (or a module could supply), checked
/// against a short list first so the common case reads no file.
pub fn is_known(typ: &str) -> bool {
    const COMMON: &[&str] = &[
        "proc",
        "sysfs",
        "tmpfs",
        "devpts",
        "mqueue",
        "cgroup",
        "cgroup2",
        "bind",
        "overlay",
        "ext4",
        "xfs",
        "btrfs",
        "ramfs",
        "securityfs",
        "fuse",
        "nfs",
        "squashfs",
        "9p",
        "configfs",
        "debugfs",
        "tracefs",
        "hugetlbfs",
        "binfmt_misc",
        "devtmpfs",
        "bpf",
    ];
    if COMMON.contains(&typ) {
        return true;
    }
    match kapsel_sys::kernfile::read_to_string(std::path::Path::new("/proc/filesystems")) {
        Ok(list) => list
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .any(|name| name == typ),
        // Without /proc we cannot tell: let mount(2) decide.
        Err(_) => true,
    }
}
