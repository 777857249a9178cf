//! One connection to systemd: SASL EXTERNAL authentication, method calls, and the
//! `JobRemoved` signal that says a unit's start or stop job has finished.
//!
//! Root talks to systemd's private socket directly (as systemctl does), so no bus daemon is
//! needed; `DBUS_SYSTEM_BUS_ADDRESS` (`unix:path=...`) overrides it, and a connection through
//! a bus daemon says `Hello` first.
//!
//! A rootless caller talks to its own `systemd --user` through the user's session bus:
//! `DBUS_SESSION_BUS_ADDRESS`, else `unix:path=$XDG_RUNTIME_DIR/bus` (as runc and sd-bus
//! find it). It authenticates as its uid on the host: inside a user namespace (rootless
//! podman runs the runtime as uid 0 of one) the euid is mapped back through
//! /proc/self/uid_map, since the bus compares the claim with the socket's peer credentials,
//! which the kernel gives in the bus's namespace.

use super::wire::{self, Call, Message};
use crate::error::{DbusError, DBUS_TIMEOUT as TIMEOUT};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

pub const PRIVATE_SOCKET: &str = "/run/systemd/private";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER_IFACE: &str = "org.freedesktop.systemd1.Manager";
const SYSTEMD: &str = "org.freedesktop.systemd1";

/// Which systemd instance a call goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instance {
    /// PID 1, the system manager.
    System,
    /// The caller's `systemd --user`, through its session bus.
    User,
}

/// A socket a D-Bus address names.
#[derive(Debug, PartialEq, Eq)]
pub enum Endpoint {
    Path(String),
    /// An abstract socket name (without the leading NUL).
    Abstract(Vec<u8>),
}

/// The first `unix:` entry of a D-Bus server address (`;`-separated entries of
/// `transport:key=value,...`, values %-escaped) that names a socket kapsel can connect to.
pub fn parse_address(address: &str) -> Result<Endpoint, String> {
    for entry in address.split(';').filter(|e| !e.is_empty()) {
        let Some(keys) = entry.strip_prefix("unix:") else {
            continue;
        };
        for kv in keys.split(',') {
            let Some((key, value)) = kv.split_once('=') else {
                return Err(format!("`{kv}` is not key=value"));
            };
            let value = unescape(value)?;
            match key {
                "path" => {
                    return String::from_utf8(value)
                        .map(Endpoint::Path)
                        .map_err(|_| "the socket path is not UTF-8".to_string())
                }
                "abstract" => return Ok(Endpoint::Abstract(value)),
                _ => {}
            }
        }
    }
    Err("no `unix:path=` or `unix:abstract=` entry".to_string())
}

/// D-Bus address values escape bytes as `%XX`.
fn unescape(value: &str) -> Result<Vec<u8>, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad escape in `{value}`"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// The user's session bus address, as runc and sd-bus find it.
pub fn user_bus_address(
    session_bus: Option<&str>,
    runtime_dir: Option<&str>,
) -> Result<String, DbusError> {
    if let Some(a) = session_bus.filter(|a| !a.is_empty()) {
        return Ok(a.to_string());
    }
    match runtime_dir.filter(|d| !d.is_empty()) {
        Some(dir) => Ok(format!("unix:path={}/bus", dir.trim_end_matches('/'))),
        None => Err(DbusError::NoUserBus),
    }
}

/// `uid` of this user namespace as the parent namespace sees it (`/proc/self/uid_map`
/// lines are `inside outside count`); the initial namespace maps every uid to itself.
pub fn outside_uid(uid: u32, uid_map: &str) -> Option<u32> {
    uid_map.lines().find_map(|line| {
        let mut f = line.split_whitespace().map(|n| n.parse::<u64>().ok());
        let (inside, outside, count) = (f.next()??, f.next()??, f.next()??);
        let uid = u64::from(uid);
        (uid >= inside && uid - inside < count)
            .then(|| u32::try_from(outside + (uid - inside)).ok())
            .flatten()
    })
}

pub struct Connection {
    stream: UnixStream,
    serial: u32,
    /// Talking through a bus daemon (needs a destination on every call).
    via_bus: bool,
    /// Signals that arrived while waiting for a reply.
    pending: VecDeque<Message>,
    address: String,
}

impl Connection {
    /// Connects to `instance` and authenticates.
    pub fn open(instance: Instance) -> Result<Self, DbusError> {
        match instance {
            Instance::System => Self::open_system(),
            Instance::User => Self::open_user(),
        }
    }

    fn open_user() -> Result<Self, DbusError> {
        let session = std::env::var("DBUS_SESSION_BUS_ADDRESS").ok();
        let runtime = std::env::var("XDG_RUNTIME_DIR").ok();
        let address = user_bus_address(session.as_deref(), runtime.as_deref())?;
        let endpoint = parse_address(&address).map_err(|reason| DbusError::Address {
            address: address.clone(),
            reason,
        })?;
        let io = |source| DbusError::Io {
            what: "connect to",
            address: address.clone(),
            source,
        };
        let stream = match &endpoint {
            Endpoint::Path(p) => UnixStream::connect(p).map_err(io)?,
            Endpoint::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).map_err(io)?;
                UnixStream::connect_addr(&addr).map_err(io)?
            }
        };
        let euid = nix::unistd::geteuid().as_raw();
        let uid = std::fs::read_to_string("/proc/self/uid_map")
            .ok()
            .and_then(|map| outside_uid(euid, &map))
            .unwrap_or(euid);
        Self::start(stream, address, true, uid)
    }

    fn open_system() -> Result<Self, DbusError> {
        let from_env = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
            .ok()
            .and_then(|a| a.strip_prefix("unix:path=").map(|p| p.to_string()));
        let (path, via_bus) = match from_env {
            Some(p) => {
                let private = p == PRIVATE_SOCKET;
                (p, !private)
            }
            None => (PRIVATE_SOCKET.to_string(), false),
        };
        let io = |what, source| DbusError::Io {
            what,
            address: path.clone(),
            source,
        };
        let stream = UnixStream::connect(&path).map_err(|e| io("connect to", e))?;
        Self::start(stream, path, via_bus, nix::unistd::geteuid().as_raw())
    }

    /// Authenticates as `uid` on a connected socket (and says Hello to a bus daemon).
    fn start(
        stream: UnixStream,
        address: String,
        via_bus: bool,
        uid: u32,
    ) -> Result<Self, DbusError> {
        stream
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
            .map_err(|source| DbusError::Io {
                what: "set timeouts on the socket of",
                address: address.clone(),
                source,
            })?;
        let mut conn = Connection {
            stream,
            serial: 0,
            via_bus,
            pending: VecDeque::new(),
            address,
        };
        conn.authenticate(uid)?;
        if conn.via_bus {
            conn.call_raw(Call {
                destination: Some("org.freedesktop.DBus"),
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "Hello",
                signature: "",
                body: Vec::new(),
            })?;
        }
        Ok(conn)
    }

    fn authenticate(&mut self, uid: u32) -> Result<(), DbusError> {
        let hex: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        // BEGIN goes in the same write as AUTH: systemd's server side does not answer
        // calls on a connection whose BEGIN came after it had replied OK.
        self.send_bytes(format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").as_bytes())?;
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(DbusError::AuthRefused {
                address: self.address.clone(),
                uid,
                line,
            });
        }
        Ok(())
    }

    fn read_line(&mut self) -> Result<String, DbusError> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            self.read_exact(&mut byte)?;
            line.push(byte[0]);
            if line.len() > 512 {
                return Err(DbusError::AuthLineTooLong);
            }
        }
        Ok(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned())
    }

    fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), DbusError> {
        self.stream
            .write_all(bytes)
            .map_err(|source| DbusError::Io {
                what: "write to",
                address: self.address.clone(),
                source,
            })
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), DbusError> {
        self.stream.read_exact(buf).map_err(|source| DbusError::Io {
            what: "read from",
            address: self.address.clone(),
            source,
        })
    }

    fn read_message(&mut self) -> Result<Message, DbusError> {
        let mut fixed = [0u8; 16];
        self.read_exact(&mut fixed)?;
        let mut bytes = vec![0u8; 16 + wire::remaining_len(&fixed)?];
        bytes[..16].copy_from_slice(&fixed);
        self.read_exact(&mut bytes[16..])?;
        Ok(wire::decode(&bytes)?)
    }

    /// Sends a call and reads until its reply; signals seen meanwhile are kept.
    fn call_raw(&mut self, call: Call) -> Result<Message, DbusError> {
        self.serial += 1;
        let serial = self.serial;
        self.send_bytes(&wire::encode_call(&call, serial))?;
        loop {
            let msg = self.read_message()?;
            match msg.kind {
                wire::METHOD_RETURN if msg.reply_serial == Some(serial) => return Ok(msg),
                wire::ERROR if msg.reply_serial == Some(serial) => {
                    return Err(DbusError::Reply {
                        name: msg.error_name.clone().unwrap_or_default(),
                        text: msg.first_string().unwrap_or_default(),
                    })
                }
                wire::SIGNAL => self.pending.push_back(msg),
                _ => {}
            }
        }
    }

    /// Calls a method of systemd's manager object.
    pub fn manager_call(
        &mut self,
        member: &str,
        signature: &str,
        body: Vec<u8>,
    ) -> Result<Message, DbusError> {
        let destination = self.via_bus.then_some(SYSTEMD);
        self.call_raw(Call {
            destination,
            path: MANAGER_PATH,
            interface: MANAGER_IFACE,
            member,
            signature,
            body,
        })
    }

    /// A string property of the manager object (`ControlGroup`, `Version`...).
    pub fn manager_string(&mut self, property: &str) -> Result<String, DbusError> {
        let mut body = wire::Encoder::default();
        body.str(MANAGER_IFACE);
        body.str(property);
        let reply = self.call_raw(Call {
            destination: self.via_bus.then_some(SYSTEMD),
            path: MANAGER_PATH,
            interface: "org.freedesktop.DBus.Properties",
            member: "Get",
            signature: "ss",
            body: body.buf,
        })?;
        let mut d = wire::Decoder::new(&reply.body);
        if reply.signature != "v" || d.signature()? != "s" {
            return Err(DbusError::Wire(crate::error::WireError::FieldType(
                format!("{property}: {}", reply.signature),
            )));
        }
        Ok(d.str()?)
    }

    /// Asks systemd to send this connection its job signals (and, through a bus daemon,
    /// lets them through).
    pub fn subscribe(&mut self) -> Result<(), DbusError> {
        if self.via_bus {
            let mut rule = wire::Encoder::default();
            rule.str(
                "type='signal',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'",
            );
            self.call_raw(Call {
                destination: Some("org.freedesktop.DBus"),
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "AddMatch",
                signature: "s",
                body: rule.buf,
            })?;
        }
        self.manager_call("Subscribe", "", Vec::new()).map(|_| ())
    }

    /// Waits for `JobRemoved` of `job` (an object path) and returns its result
    /// (`done`, `failed`, `canceled`, `timeout`, `dependency`, `skipped`).
    pub fn wait_job(&mut self, job: &str) -> Result<String, DbusError> {
        loop {
            let msg = match self.pending.pop_front() {
                Some(m) => m,
                None => self.read_message()?,
            };
            if msg.kind != wire::SIGNAL
                || msg.member.as_deref() != Some("JobRemoved")
                || msg.signature != "uoss"
            {
                continue;
            }
            let mut d = wire::Decoder::new(&msg.body);
            let _id = d.u32()?;
            if d.str()? == job {
                let _unit = d.str()?;
                return Ok(d.str()?);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_bus_addresses_name_their_socket() {
        assert_eq!(
            parse_address("unix:path=/run/user/1500/bus").unwrap(),
            Endpoint::Path("/run/user/1500/bus".into())
        );
        // the first usable entry, keys in any order, %-escapes undone
        assert_eq!(
            parse_address("tcp:host=x,port=1;unix:guid=abc,path=/tmp/my%20bus").unwrap(),
            Endpoint::Path("/tmp/my bus".into())
        );
        assert_eq!(
            parse_address("unix:abstract=/tmp/dbus-XYZ,guid=1").unwrap(),
            Endpoint::Abstract(b"/tmp/dbus-XYZ".to_vec())
        );
        assert!(parse_address("tcp:host=localhost,port=1")
            .unwrap_err()
            .contains("no `unix:path="));
        assert!(parse_address("unix:path=/a%2")
            .unwrap_err()
            .contains("bad escape"));
        assert!(parse_address("unix:path").is_err());
    }

    #[test]
    fn the_user_bus_comes_from_the_environment_as_runc_finds_it() {
        let a = user_bus_address(Some("unix:path=/x"), Some("/run/user/1")).unwrap();
        assert_eq!(a, "unix:path=/x");
        let a = user_bus_address(Some(""), Some("/run/user/1500/")).unwrap();
        assert_eq!(a, "unix:path=/run/user/1500/bus");
        assert!(matches!(
            user_bus_address(None, None),
            Err(DbusError::NoUserBus)
        ));
    }

    #[test]
    fn uids_map_back_to_the_host() {
        assert_eq!(
            outside_uid(1500, "         0          0 4294967295\n"),
            Some(1500)
        );
        // rootless podman: uid 0 of its namespace is the user, the rest subordinate ids
        let podman = "0 1500 1\n1 100000 65536\n";
        assert_eq!(outside_uid(0, podman), Some(1500));
        assert_eq!(outside_uid(2, podman), Some(100001));
        assert_eq!(outside_uid(70000, podman), None);
    }
}
