//! The messages of CRIU's RPC (criu/images/rpc.proto: criu_req, criu_opts, criu_resp and
//! the small ones inside them), with the field numbers of that file. Only the fields
//! runc's checkpoint and restore use are here.

use super::wire::{Reader, Value, Writer};

/// criu_req_type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqType {
    Dump = 1,
    Restore = 2,
    PreDump = 4,
    Notify = 6,
    FeatureCheck = 9,
    Version = 10,
}

impl ReqType {
    pub fn name(self) -> &'static str {
        match self {
            ReqType::Dump => "dump",
            ReqType::Restore => "restore",
            ReqType::PreDump => "pre-dump",
            ReqType::Notify => "notify",
            ReqType::FeatureCheck => "feature-check",
            ReqType::Version => "version",
        }
    }
}

/// criu_cg_mode, as `--manage-cgroups-mode` names it.
pub fn cg_mode(name: &str) -> Option<u64> {
    Some(match name {
        "ignore" => 0,
        "soft" => 3,
        "full" => 4,
        "strict" => 5,
        _ => return None,
    })
}

/// criu_opts (the fields kapsel sets).
#[derive(Debug, Default, Clone)]
pub struct Opts {
    pub images_dir_fd: i32,
    pub pid: Option<i32>,
    pub leave_running: bool,
    pub ext_unix_sk: bool,
    pub tcp_established: bool,
    pub evasive_devices: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub log_level: i32,
    pub log_file: String,
    /// criu_page_server_info: address and port.
    pub page_server: Option<(String, i32)>,
    pub notify_scripts: bool,
    pub root: Option<String>,
    pub parent_img: Option<String>,
    pub track_mem: bool,
    pub auto_dedup: bool,
    pub work_dir_fd: Option<i32>,
    /// ext_mount_map: key (the mount's path in the container), value.
    pub ext_mnt: Vec<(String, String)>,
    pub manage_cgroups: bool,
    /// cgroup_root: controller ("" on cgroup v2), path.
    pub cg_root: Vec<(String, String)>,
    pub rst_sibling: bool,
    /// inherit_fd: key, descriptor number in criu.
    pub inherit_fd: Vec<(String, i32)>,
    pub manage_cgroups_mode: Option<u64>,
    pub external: Vec<String>,
    pub empty_ns: u32,
    /// join_namespace: type, path.
    pub join_ns: Vec<(String, String)>,
    pub freeze_cgroup: Option<String>,
    pub lazy_pages: bool,
    pub status_fd: Option<i32>,
    pub orphan_pts_master: bool,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
}

fn pair(k: &str, v: &str) -> Writer {
    let mut w = Writer::default();
    w.str(1, k);
    w.str(2, v);
    w
}

impl Opts {
    pub fn encode(&self) -> Writer {
        let mut w = Writer::default();
        w.int(1, self.images_dir_fd);
        if let Some(pid) = self.pid {
            w.int(2, pid);
        }
        w.flag(3, self.leave_running);
        w.flag(4, self.ext_unix_sk);
        w.flag(5, self.tcp_established);
        w.flag(6, self.evasive_devices);
        w.flag(7, self.shell_job);
        w.flag(8, self.file_locks);
        w.int(9, self.log_level);
        w.str(10, &self.log_file);
        if let Some((address, port)) = &self.page_server {
            let mut ps = Writer::default();
            ps.str(1, address);
            ps.int(2, *port);
            w.message(11, ps);
        }
        w.flag(12, self.notify_scripts);
        if let Some(root) = &self.root {
            w.str(13, root);
        }
        if let Some(parent) = &self.parent_img {
            w.str(14, parent);
        }
        w.flag(15, self.track_mem);
        w.flag(16, self.auto_dedup);
        if let Some(fd) = self.work_dir_fd {
            w.int(17, fd);
        }
        for (k, v) in &self.ext_mnt {
            w.message(23, pair(k, v));
        }
        w.flag(24, self.manage_cgroups);
        for (ctrl, path) in &self.cg_root {
            w.message(25, pair(ctrl, path));
        }
        w.flag(26, self.rst_sibling);
        for (key, fd) in &self.inherit_fd {
            let mut m = Writer::default();
            m.str(1, key);
            m.int(2, *fd);
            w.message(27, m);
        }
        if let Some(mode) = self.manage_cgroups_mode {
            w.uint(34, mode);
        }
        for e in &self.external {
            w.str(37, e);
        }
        if self.empty_ns != 0 {
            w.uint(38, u64::from(self.empty_ns));
        }
        for (ns, file) in &self.join_ns {
            w.message(39, pair(ns, file));
        }
        if let Some(cg) = &self.freeze_cgroup {
            w.str(44, cg);
        }
        w.flag(48, self.lazy_pages);
        if let Some(fd) = self.status_fd {
            w.int(49, fd);
        }
        w.flag(50, self.orphan_pts_master);
        if let Some(p) = &self.lsm_profile {
            w.str(53, p);
        }
        if let Some(c) = &self.lsm_mount_context {
            w.str(63, c);
        }
        w
    }
}

/// criu_req.
pub fn request(kind: ReqType, opts: Option<&Opts>) -> Vec<u8> {
    let mut w = Writer::default();
    w.uint(1, kind as u64);
    if let Some(o) = opts {
        w.message(2, o.encode());
    }
    if kind == ReqType::Notify {
        w.bool(3, true);
    }
    w.into_bytes()
}

/// criu_req of FEATURE_CHECK asking for memory tracking and/or lazy pages.
pub fn feature_request(mem_track: bool, lazy_pages: bool) -> Vec<u8> {
    let mut f = Writer::default();
    f.flag(1, mem_track);
    f.flag(2, lazy_pages);
    let mut w = Writer::default();
    w.uint(1, ReqType::FeatureCheck as u64);
    w.message(5, f);
    w.into_bytes()
}

/// criu_resp, with what kapsel reads of it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resp {
    pub kind: u64,
    pub success: bool,
    /// criu_notify: script name and pid.
    pub notify: Option<(String, i32)>,
    /// criu_restore_resp.pid.
    pub restored_pid: Option<i32>,
    pub cr_errno: Option<i32>,
    pub cr_errmsg: Option<String>,
    /// criu_features: mem_track, lazy_pages.
    pub features: Option<(bool, bool)>,
    /// criu_version: major, minor, sublevel.
    pub version: Option<(i32, i32, i32)>,
}

fn fields(buf: &[u8]) -> Result<Vec<(u32, Value<'_>)>, String> {
    Reader::new(buf)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("malformed criu_resp: {e}"))
}

fn text(v: &Value<'_>) -> String {
    match v {
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Varint(n) => n.to_string(),
    }
}

fn sub<'a>(v: &Value<'a>) -> Result<Vec<(u32, Value<'a>)>, String> {
    match v {
        Value::Bytes(b) => fields(b),
        Value::Varint(_) => Err("malformed criu_resp: a number where a message was".into()),
    }
}

impl Resp {
    pub fn decode(buf: &[u8]) -> Result<Resp, String> {
        let mut r = Resp::default();
        for (field, v) in fields(buf)? {
            match field {
                1 => r.kind = v.as_u64().unwrap_or(0),
                2 => r.success = v.as_u64().unwrap_or(0) != 0,
                4 => {
                    for (f, v) in sub(&v)? {
                        if f == 1 {
                            r.restored_pid = v.as_i32();
                        }
                    }
                }
                5 => {
                    let (mut script, mut pid) = (String::new(), 0);
                    for (f, v) in sub(&v)? {
                        match f {
                            1 => script = text(&v),
                            2 => pid = v.as_i32().unwrap_or(0),
                            _ => {}
                        }
                    }
                    r.notify = Some((script, pid));
                }
                7 => r.cr_errno = v.as_i32(),
                8 => {
                    let (mut mem, mut lazy) = (false, false);
                    for (f, v) in sub(&v)? {
                        match f {
                            1 => mem = v.as_u64().unwrap_or(0) != 0,
                            2 => lazy = v.as_u64().unwrap_or(0) != 0,
                            _ => {}
                        }
                    }
                    r.features = Some((mem, lazy));
                }
                9 => r.cr_errmsg = Some(text(&v)),
                10 => {
                    let mut ver = (0, 0, 0);
                    for (f, v) in sub(&v)? {
                        match f {
                            1 => ver.0 = v.as_i32().unwrap_or(0),
                            2 => ver.1 = v.as_i32().unwrap_or(0),
                            4 => ver.2 = v.as_i32().unwrap_or(0),
                            _ => {}
                        }
                    }
                    r.version = Some(ver);
                }
                _ => {}
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_notification_and_a_version() {
        let mut n = Writer::default();
        n.str(1, "post-restore");
        n.int(2, 812);
        let mut w = Writer::default();
        w.uint(1, ReqType::Notify as u64);
        w.bool(2, true);
        w.message(5, n);
        let r = Resp::decode(&w.into_bytes()).unwrap();
        assert!(r.success);
        assert_eq!(r.notify, Some(("post-restore".into(), 812)));

        let mut v = Writer::default();
        v.int(1, 3);
        v.int(2, 17);
        v.str(3, "v3.17.1");
        v.int(4, 1);
        let mut w = Writer::default();
        w.uint(1, ReqType::Version as u64);
        w.bool(2, true);
        w.message(10, v);
        assert_eq!(
            Resp::decode(&w.into_bytes()).unwrap().version,
            Some((3, 17, 1))
        );
    }

    #[test]
    fn opts_carry_repeated_fields_in_order() {
        let o = Opts {
            images_dir_fd: 5,
            ext_mnt: vec![("/data".into(), "/data".into()), ("/x".into(), "/y".into())],
            inherit_fd: vec![("pipe:[77]".into(), 1)],
            ..Opts::default()
        };
        let bytes = o.encode().into_bytes();
        let f = fields(&bytes).unwrap();
        assert_eq!(f[0], (1, Value::Varint(5)));
        assert_eq!(f.iter().filter(|(n, _)| *n == 23).count(), 2);
        let inherit = f.iter().find(|(n, _)| *n == 27).unwrap();
        let inner = sub(&inherit.1).unwrap();
        assert_eq!(inner[0], (1, Value::Bytes(b"pipe:[77]")));
        assert_eq!(inner[1], (2, Value::Varint(1)));
    }
}
