//! One connection to systemd: SASL EXTERNAL authentication, method calls, and the
//! `JobRemoved` signal that says a unit's start or stop job has finished.
//!
//! Root talks to systemd's private socket directly (as systemctl does), so no bus daemon is
//! needed; `DBUS_SYSTEM_BUS_ADDRESS` (`unix:path=...`) overrides it, and a connection through
//! a bus daemon says `Hello` first.

use super::wire::{self, Call, Message};
use crate::error::{DbusError, DBUS_TIMEOUT as TIMEOUT};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

pub const PRIVATE_SOCKET: &str = "/run/systemd/private";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER_IFACE: &str = "org.freedesktop.systemd1.Manager";
const SYSTEMD: &str = "org.freedesktop.systemd1";

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
    /// Connects and authenticates as the effective uid.
    pub fn open() -> Result<Self, DbusError> {
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
        stream
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
            .map_err(|e| io("set timeouts on the socket of", e))?;
        let mut conn = Connection {
            stream,
            serial: 0,
            via_bus,
            pending: VecDeque::new(),
            address: path,
        };
        conn.authenticate()?;
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

    fn authenticate(&mut self) -> Result<(), DbusError> {
        let uid = nix::unistd::geteuid().as_raw();
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
