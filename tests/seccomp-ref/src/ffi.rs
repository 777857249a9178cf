//! The few libseccomp calls the reference needs (seccomp.h of libseccomp 2.5), each behind
//! a safe function. Negative returns are libseccomp's `-errno`.

use crate::cbpf::Insn;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// `struct scmp_arg_cmp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgCmp {
    pub arg: c_uint,
    /// `enum scmp_compare`: SCMP_CMP_NE = 1 ... SCMP_CMP_MASKED_EQ = 7.
    pub op: c_int,
    pub datum_a: u64,
    pub datum_b: u64,
}

#[repr(C)]
struct Version {
    major: c_uint,
    minor: c_uint,
    micro: c_uint,
}

extern "C" {
    fn seccomp_init(def_action: u32) -> *mut c_void;
    fn seccomp_release(ctx: *mut c_void);
    fn seccomp_arch_add(ctx: *mut c_void, arch_token: u32) -> c_int;
    fn seccomp_arch_resolve_name(arch_name: *const c_char) -> u32;
    fn seccomp_arch_native() -> u32;
    fn seccomp_attr_set(ctx: *mut c_void, attr: c_int, value: u32) -> c_int;
    fn seccomp_rule_add_array(
        ctx: *mut c_void,
        action: u32,
        syscall: c_int,
        arg_cnt: c_uint,
        arg_array: *const ArgCmp,
    ) -> c_int;
    fn seccomp_syscall_resolve_name(name: *const c_char) -> c_int;
    fn seccomp_syscall_resolve_name_arch(arch_token: u32, name: *const c_char) -> c_int;
    fn seccomp_syscall_resolve_num_arch(arch_token: u32, num: c_int) -> *mut c_char;
    fn seccomp_export_bpf(ctx: *const c_void, fd: c_int) -> c_int;
    fn seccomp_version() -> *const Version;
}

/// `__NR_SCMP_ERROR`: what the resolvers return for a name they do not know at all.
pub const NR_SCMP_ERROR: i32 = -1;
/// `SCMP_FLTATR_ACT_BADARCH`.
pub const ATTR_ACT_BADARCH: i32 = 2;
/// `SCMP_FLTATR_CTL_OPTIMIZE`.
pub const ATTR_CTL_OPTIMIZE: i32 = 8;

/// A libseccomp filter context.
pub struct Ctx(NonNull<c_void>);

impl Ctx {
    /// `seccomp_init(default_action)`; the native architecture is in it already.
    pub fn new(default_action: u32) -> Result<Ctx, i32> {
        // SAFETY: plain call; a NULL return (invalid action) is handled.
        let ctx = unsafe { seccomp_init(default_action) };
        NonNull::new(ctx).map(Ctx).ok_or(-libc::EINVAL)
    }

    pub fn add_arch(&mut self, token: u32) -> Result<(), i32> {
        // SAFETY: self.0 is a live context from seccomp_init.
        check(unsafe { seccomp_arch_add(self.0.as_ptr(), token) })
    }

    pub fn set_attr(&mut self, attr: i32, value: u32) -> Result<(), i32> {
        // SAFETY: self.0 is a live context; attr and value are plain integers.
        check(unsafe { seccomp_attr_set(self.0.as_ptr(), attr, value) })
    }

    /// `seccomp_rule_add_array`: one rule, its conditions ANDed.
    pub fn add_rule(&mut self, action: u32, syscall: i32, args: &[ArgCmp]) -> Result<(), i32> {
        // SAFETY: self.0 is a live context; `args` points at args.len() initialised
        // `struct scmp_arg_cmp`s that libseccomp only reads during the call.
        check(unsafe {
            seccomp_rule_add_array(
                self.0.as_ptr(),
                action,
                syscall,
                args.len() as c_uint,
                args.as_ptr(),
            )
        })
    }

    /// The program `seccomp_export_bpf` writes, read back from a memfd.
    pub fn export_bpf(&self) -> Result<Vec<Insn>, i32> {
        // SAFETY: the name is a NUL-terminated literal; the result is checked.
        let fd = unsafe { libc::memfd_create(c"seccomp-ref".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(-std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO));
        }
        // SAFETY: memfd_create returned a new descriptor nothing else owns.
        let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        // SAFETY: self.0 is a live context and the descriptor is open for writing.
        check(unsafe { seccomp_export_bpf(self.0.as_ptr(), file.as_raw_fd()) })?;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|e| -e.raw_os_error().unwrap_or(libc::EIO))?;
        // `struct sock_filter` in the host's byte order.
        Ok(bytes
            .chunks_exact(8)
            .map(|c| Insn {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect())
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: self.0 came from seccomp_init and is released exactly once.
        unsafe { seccomp_release(self.0.as_ptr()) }
    }
}

fn check(rc: c_int) -> Result<(), i32> {
    if rc < 0 {
        Err(rc)
    } else {
        Ok(())
    }
}

fn cstring(s: &str) -> Option<CString> {
    CString::new(s).ok()
}

/// `seccomp_arch_resolve_name`: the SCMP_ARCH_* token of `x86_64`, `aarch64`...; 0 if unknown.
pub fn arch_token(name: &str) -> u32 {
    let Some(c) = cstring(name) else { return 0 };
    // SAFETY: `c` is a NUL-terminated string alive for the call.
    unsafe { seccomp_arch_resolve_name(c.as_ptr()) }
}

pub fn native_arch() -> u32 {
    // SAFETY: plain call without arguments.
    unsafe { seccomp_arch_native() }
}

/// `seccomp_syscall_resolve_name`: the native number, a negative pseudo number for a call
/// the native ABI lacks, or NR_SCMP_ERROR for a name libseccomp does not know.
pub fn resolve_name(name: &str) -> i32 {
    let Some(c) = cstring(name) else {
        return NR_SCMP_ERROR;
    };
    // SAFETY: `c` is a NUL-terminated string alive for the call.
    unsafe { seccomp_syscall_resolve_name(c.as_ptr()) }
}

/// `seccomp_syscall_resolve_name_arch`.
pub fn resolve_name_arch(token: u32, name: &str) -> i32 {
    let Some(c) = cstring(name) else {
        return NR_SCMP_ERROR;
    };
    // SAFETY: `c` is a NUL-terminated string alive for the call.
    unsafe { seccomp_syscall_resolve_name_arch(token, c.as_ptr()) }
}

/// `seccomp_syscall_resolve_num_arch`: the name of number `num` on `token`.
pub fn resolve_num_arch(token: u32, num: i32) -> Option<String> {
    // SAFETY: plain call; the result is NULL or a malloc'd string we own.
    let p = unsafe { seccomp_syscall_resolve_num_arch(token, num) };
    if p.is_null() {
        return None;
    }
    // SAFETY: p is a NUL-terminated string from libseccomp, copied before it is freed once.
    let name = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: p was allocated with malloc by libseccomp and is not used after this.
    unsafe { libc::free(p.cast()) };
    Some(name)
}

/// The version of the libseccomp linked in.
pub fn version() -> (u32, u32, u32) {
    // SAFETY: seccomp_version returns a pointer to a static struct.
    let v = unsafe { &*seccomp_version() };
    (v.major, v.minor, v.micro)
}
