//! A minimal rtnetlink client: just what `linux.netDevices` needs (find a link by name,
//! move it to another network namespace, optionally renaming it on the way). Requests
//! are built by hand (netlink(7), rtnetlink(7)); no netlink library, no `ip` command.

use crate::error::SysError;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const RTM_NEWLINK: u16 = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;

/// The interface index of `name` in the calling thread's network namespace.
pub fn link_index(name: &str) -> Result<u32, SysError> {
    let err = |errno| SysError {
        op: "if_nametoindex",
        path: Some(name.into()),
        errno,
    };
    let cname = CString::new(name).map_err(|_| err(libc::EINVAL))?;
    // SAFETY: `cname` is a NUL-terminated string that lives across the call.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::ENODEV)));
    }
    Ok(index)
}

/// An NETLINK_ROUTE socket bound in the network namespace of the thread that opened it
/// (a socket keeps that namespace for its whole life).
pub struct RtNetlink {
    fd: OwnedFd,
    seq: u32,
}

impl RtNetlink {
    pub fn open() -> Result<Self, SysError> {
        // SAFETY: plain socket(2) call with integer arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(SysError::last("socket(AF_NETLINK)", None));
        }
        // SAFETY: the kernel just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(RtNetlink { fd, seq: 0 })
    }

    /// RTM_NEWLINK on link `index` with IFLA_NET_NS_FD (and IFLA_IFNAME when `rename`):
    /// the link moves to the namespace of `netns`, taking the new name there.
    pub fn move_link(
        &mut self,
        index: u32,
        netns: BorrowedFd<'_>,
        rename: Option<&str>,
    ) -> Result<(), SysError> {
        self.seq = self.seq.wrapping_add(1);
        let msg = move_link_request(self.seq, index, netns.as_raw_fd() as u32, rename);
        self.request(&msg)
    }

    /// RTM_NEWLINK setting IFF_UP on link `index` (the loopback of a new network
    /// namespace is always index 1, and down).
    pub fn set_up(&mut self, index: u32) -> Result<(), SysError> {
        self.seq = self.seq.wrapping_add(1);
        let up = libc::IFF_UP as u32;
        let msg = link_request(self.seq, index, up, up);
        self.request(&msg)
    }

    /// Sends one request and waits for its acknowledgement (an NLMSG_ERROR, 0 = done).
    fn request(&self, msg: &[u8]) -> Result<(), SysError> {
        // SAFETY: `msg` is a valid buffer of the length passed; the kernel only reads it.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if sent < 0 {
            return Err(SysError::last("send(RTM_NEWLINK)", None));
        }
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: `buf` is writable for its full length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = SysError::last("recv(NETLINK_ROUTE)", None);
                if e.errno == libc::EINTR {
                    continue;
                }
                return Err(e);
            }
            if let Some(errno) = ack_errno(&buf[..n as usize], self.seq) {
                if errno == 0 {
                    return Ok(());
                }
                return Err(SysError {
                    op: "RTM_NEWLINK",
                    path: None,
                    errno,
                });
            }
        }
    }
}

fn push_attr(buf: &mut Vec<u8>, typ: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&typ.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// The bytes of an RTM_NEWLINK request moving link `index` to the namespace `netns_fd`.
fn move_link_request(seq: u32, index: u32, netns_fd: u32, rename: Option<&str>) -> Vec<u8> {
    let mut buf = link_request(seq, index, 0, 0);
    push_attr(&mut buf, IFLA_NET_NS_FD, &netns_fd.to_ne_bytes());
    if let Some(name) = rename {
        let mut bytes = name.as_bytes().to_vec();
        bytes.push(0);
        push_attr(&mut buf, IFLA_IFNAME, &bytes);
    }
    finish_request(buf)
}

/// An RTM_NEWLINK request on link `index` changing the `change` bits of its flags to
/// `flags`; attributes may follow before [`finish_request`] sets the length.
fn link_request(seq: u32, index: u32, flags: u32, change: u32) -> Vec<u8> {
    let mut buf = vec![0u8; NLMSG_HDRLEN];
    // struct ifinfomsg: family, pad, type, index, flags, change.
    buf.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    buf.extend_from_slice(&(index as i32).to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&change.to_ne_bytes());
    debug_assert_eq!(buf.len(), NLMSG_HDRLEN + IFINFOMSG_LEN);
    buf[4..6].copy_from_slice(&RTM_NEWLINK.to_ne_bytes());
    buf[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    buf[8..12].copy_from_slice(&seq.to_ne_bytes());
    finish_request(buf)
}

/// Sets the netlink header's length to the message's.
fn finish_request(mut buf: Vec<u8>) -> Vec<u8> {
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf
}

/// The errno of the NLMSG_ERROR answering `seq` in `buf` (0 = acknowledged), if any.
fn ack_errno(mut buf: &[u8], seq: u32) -> Option<i32> {
    while buf.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(buf[0..4].try_into().ok()?) as usize;
        let typ = u16::from_ne_bytes(buf[4..6].try_into().ok()?);
        let msg_seq = u32::from_ne_bytes(buf[8..12].try_into().ok()?);
        if len < NLMSG_HDRLEN || len > buf.len() {
            return None;
        }
        if typ == NLMSG_ERROR && msg_seq == seq && len >= NLMSG_HDRLEN + 4 {
            let err = i32::from_ne_bytes(buf[16..20].try_into().ok()?);
            return Some(-err);
        }
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
    }
    None
}

/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let msg = move_link_request(7, 42, 5, Some("eth1"));
        // header + ifinfomsg + netns attr (8) + name attr (4 + 5 -> 12)
        assert_eq!(msg.len(), NLMSG_HDRLEN + IFINFOMSG_LEN + 8 + 12);
        assert_eq!(u32::from_ne_bytes(msg[0..4].try_into().unwrap()), 52);
        assert_eq!(u16::from_ne_bytes(msg[4..6].try_into().unwrap()), 16);
        assert_eq!(u32::from_ne_bytes(msg[8..12].try_into().unwrap()), 7);
        assert_eq!(i32::from_ne_bytes(msg[20..24].try_into().unwrap()), 42);
        assert_eq!(u16::from_ne_bytes(msg[34..36].try_into().unwrap()), 28);
        assert_eq!(u32::from_ne_bytes(msg[36..40].try_into().unwrap()), 5);
        assert_eq!(&msg[44..49], b"eth1\0");
    }

    #[test]
    fn link_up_layout() {
        let msg = link_request(9, 1, libc::IFF_UP as u32, libc::IFF_UP as u32);
        assert_eq!(msg.len(), NLMSG_HDRLEN + IFINFOMSG_LEN);
        assert_eq!(u32::from_ne_bytes(msg[0..4].try_into().unwrap()), 32);
        assert_eq!(i32::from_ne_bytes(msg[20..24].try_into().unwrap()), 1);
        assert_eq!(u32::from_ne_bytes(msg[24..28].try_into().unwrap()), 1);
        assert_eq!(u32::from_ne_bytes(msg[28..32].try_into().unwrap()), 1);
    }

    #[test]
    fn ack_parsing() {
        let mut ack = vec![0u8; 36];
        ack[0..4].copy_from_slice(&36u32.to_ne_bytes());
        ack[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        ack[8..12].copy_from_slice(&3u32.to_ne_bytes());
        ack[16..20].copy_from_slice(&(-libc::EEXIST).to_ne_bytes());
        assert_eq!(ack_errno(&ack, 3), Some(libc::EEXIST));
        assert_eq!(ack_errno(&ack, 4), None);
        ack[16..20].copy_from_slice(&0i32.to_ne_bytes());
        assert_eq!(ack_errno(&ack, 3), Some(0));
    }
}
