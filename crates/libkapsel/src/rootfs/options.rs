//! Mount options as config.json writes them (`ro`, `rbind`, `rslave`, `mode=755`...)
//! turned into mount(2) flags, propagation flags, mount_setattr(2) recursive
//! attributes, and the data string handed to the filesystem.

use nix::mount::MsFlags;

/// MOUNT_ATTR_* bits for mount_setattr(2).
pub mod attr {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    pub const ATIME_MASK: u64 = 0x70;
    pub const RELATIME: u64 = 0x0;
    pub const NOATIME: u64 = 0x10;
    pub const STRICTATIME: u64 = 0x20;
    pub const NODIRATIME: u64 = 0x80;
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to set with mount(2).
    pub flags: MsFlags,
    /// Flags an option explicitly cleared (`rw`, `suid`, ...), kept for remounts.
    pub cleared: MsFlags,
    /// MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE, possibly with MS_REC.
    pub propagation: MsFlags,
    /// Recursive attributes to set and clear with mount_setattr(2) AT_RECURSIVE.
    pub attr_set: u64,
    pub attr_clr: u64,
    /// Everything else, comma-joined, for the filesystem (e.g. `mode=755,size=65536k`).
    pub data: String,
    /// runc's `tmpcopyup` extension: copy the directory's content into the new tmpfs.
    pub tmpcopyup: bool,
    /// `idmap` (Some(false)) or `ridmap` (Some(true), recursive): an idmapped bind mount.
    pub idmap: Option<bool>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: MsFlags::empty(),
            attr_set: 0,
            attr_clr: 0,
            data: String::new(),
            tmpcopyup: false,
            idmap: None,
        }
    }
}

impl MountOptions {
    pub fn parse<S: AsRef<str>>(options: &[S]) -> Self {
        let mut o = MountOptions::default();
        for opt in options {
            let opt = opt.as_ref();
            if let Some((set, flag)) = flag_option(opt) {
                if set {
                    o.flags |= flag;
                    o.cleared &= !flag;
                } else {
                    o.flags &= !flag;
                    o.cleared |= flag;
                }
            } else if let Some(p) = propagation_option(opt) {
                o.propagation = p;
            } else if let Some((set, clr)) = recursive_option(opt) {
                o.attr_set = (o.attr_set & !clr) | set;
                o.attr_clr |= clr;
            } else if opt == "tmpcopyup" {
                o.tmpcopyup = true;
            } else if opt == "idmap" || opt == "ridmap" {
                o.idmap = Some(opt == "ridmap");
            } else if !opt.is_empty() {
                if !o.data.is_empty() {
                    o.data.push(',');
                }
                o.data.push_str(opt);
            }
        }
        o
    }

    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn is_recursive_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND | MsFlags::MS_REC)
    }

    /// Flags a bind mount needs a second, remounting mount(2) call for.
    pub fn remount_flags(&self) -> MsFlags {
        self.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
    }
}

/// Every option name `MountOptions::parse` understands (anything else is filesystem
/// data): what `kapsel features` lists as mountOptions, so the two cannot drift.
pub fn known_options() -> impl Iterator<Item = &'static str> {
    FLAGS
        .iter()
        .map(|(name, _, _)| *name)
        .chain(PROPAGATION.iter().map(|(name, _)| *name))
        .chain(RECURSIVE.iter().map(|(name, _, _)| *name))
        .chain(EXTENSIONS.iter().copied())
}

/// Options that are kapsel's own (runc's) extensions rather than mount(2) flags.
const EXTENSIONS: &[&str] = &["tmpcopyup", "idmap", "ridmap"];

/// (name, set?, flag) for the options that map to one mount(2) flag.
const FLAGS: &[(&str, bool, MsFlags)] = {
    use MsFlags as F;
    &[
        ("defaults", true, F::empty()),
        ("ro", true, F::MS_RDONLY),
        ("rw", false, F::MS_RDONLY),
        ("suid", false, F::MS_NOSUID),
        ("nosuid", true, F::MS_NOSUID),
        ("dev", false, F::MS_NODEV),
        ("nodev", true, F::MS_NODEV),
        ("exec", false, F::MS_NOEXEC),
        ("noexec", true, F::MS_NOEXEC),
        ("sync", true, F::MS_SYNCHRONOUS),
        ("async", false, F::MS_SYNCHRONOUS),
        ("dirsync", true, F::MS_DIRSYNC),
        ("remount", true, F::MS_REMOUNT),
        ("mand", true, F::MS_MANDLOCK),
        ("nomand", false, F::MS_MANDLOCK),
        ("atime", false, F::MS_NOATIME),
        ("noatime", true, F::MS_NOATIME),
        ("diratime", false, F::MS_NODIRATIME),
        ("nodiratime", true, F::MS_NODIRATIME),
        ("bind", true, F::MS_BIND),
        ("rbind", true, F::MS_BIND.union(F::MS_REC)),
        ("relatime", true, F::MS_RELATIME),
        ("norelatime", false, F::MS_RELATIME),
        ("strictatime", true, F::MS_STRICTATIME),
        ("nostrictatime", false, F::MS_STRICTATIME),
        ("silent", true, F::MS_SILENT),
        ("loud", false, F::MS_SILENT),
        ("iversion", true, F::MS_I_VERSION),
        ("noiversion", false, F::MS_I_VERSION),
        ("lazytime", true, F::MS_LAZYTIME),
        ("nolazytime", false, F::MS_LAZYTIME),
        // MS_NOSYMFOLLOW (256), which nix does not name.
        ("nosymfollow", true, F::from_bits_retain(256)),
        ("symfollow", false, F::from_bits_retain(256)),
    ]
};

const PROPAGATION: &[(&str, MsFlags)] = {
    use MsFlags as F;
    &[
        ("private", F::MS_PRIVATE),
        ("rprivate", F::MS_PRIVATE.union(F::MS_REC)),
        ("shared", F::MS_SHARED),
        ("rshared", F::MS_SHARED.union(F::MS_REC)),
        ("slave", F::MS_SLAVE),
        ("rslave", F::MS_SLAVE.union(F::MS_REC)),
        ("unbindable", F::MS_UNBINDABLE),
        ("runbindable", F::MS_UNBINDABLE.union(F::MS_REC)),
    ]
};

/// (name, attributes to set, attributes to clear) for the recursive `r*` options.
const RECURSIVE: &[(&str, u64, u64)] = {
    use attr::*;
    &[
        ("rro", RDONLY, RDONLY),
        ("rrw", 0, RDONLY),
        ("rnosuid", NOSUID, NOSUID),
        ("rsuid", 0, NOSUID),
        ("rnodev", NODEV, NODEV),
        ("rdev", 0, NODEV),
        ("rnoexec", NOEXEC, NOEXEC),
        ("rexec", 0, NOEXEC),
        ("rnodiratime", NODIRATIME, NODIRATIME),
        ("rdiratime", 0, NODIRATIME),
        ("rrelatime", RELATIME, ATIME_MASK),
        ("rnorelatime", 0, 0),
        ("rnoatime", NOATIME, ATIME_MASK),
        ("ratime", RELATIME, ATIME_MASK),
        ("rstrictatime", STRICTATIME, ATIME_MASK),
        ("rnostrictatime", RELATIME, ATIME_MASK),
        ("rnosymfollow", NOSYMFOLLOW, NOSYMFOLLOW),
        ("rsymfollow", 0, NOSYMFOLLOW),
    ]
};

fn flag_option(opt: &str) -> Option<(bool, MsFlags)> {
    FLAGS
        .iter()
        .find(|(name, _, _)| *name == opt)
        .map(|(_, set, flag)| (*set, *flag))
}

fn propagation_option(opt: &str) -> Option<MsFlags> {
    PROPAGATION
        .iter()
        .find(|(name, _)| *name == opt)
        .map(|(_, flag)| *flag)
}

fn recursive_option(opt: &str) -> Option<(u64, u64)> {
    RECURSIVE
        .iter()
        .find(|(name, _, _)| *name == opt)
        .map(|(_, set, clr)| (*set, *clr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_data_and_propagation() {
        let o =
            MountOptions::parse(&["nosuid", "strictatime", "mode=755", "size=65536k", "rslave"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert!(!o.is_bind());
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let o = MountOptions::parse(&["ro", "rw", "noexec"]);
        assert_eq!(o.flags, MsFlags::MS_NOEXEC);
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn bind_and_remount_flags() {
        let o = MountOptions::parse(&["rbind", "ro", "nodev"]);
        assert!(o.is_bind() && o.is_recursive_bind());
        assert_eq!(o.remount_flags(), MsFlags::MS_RDONLY | MsFlags::MS_NODEV);
    }

    #[test]
    fn every_known_option_is_understood_and_nothing_else() {
        for name in known_options() {
            let o = MountOptions::parse(&[name]);
            assert!(
                o.data.is_empty(),
                "`{name}` fell through to filesystem data"
            );
        }
        assert_eq!(MountOptions::parse(&["size=1m"]).data, "size=1m");
        assert!(!known_options().any(|n| n == "size=1m"));
    }

    #[test]
    fn recursive_attributes() {
        let o = MountOptions::parse(&["rbind", "rro", "rnoexec", "rnoatime"]);
        assert_eq!(o.attr_set, attr::RDONLY | attr::NOEXEC | attr::NOATIME);
        assert_eq!(o.attr_clr & attr::ATIME_MASK, attr::ATIME_MASK);
        assert!(o.data.is_empty());
    }
}
