//! WASI preview 1 (`wasi_snapshot_preview1`) for the wasm handler, over wasmi's host
//! functions: what a module built for `wasm32-wasip1` calls — args, environment, clocks,
//! random, stdio, files and directories under the preopened `/` (the container's root)
//! and `.` (process.cwd, when it is not `/`), poll on clocks, exit. Sockets and anything else the module
//! imports from the WASI module answer ENOSYS, so every wasip1 module links.
//!
//! Every path a module names is resolved by the kernel with openat2: under `/` with
//! RESOLVE_IN_ROOT (an absolute symlink of the image means the container's own root),
//! under `.` with RESOLVE_BENEATH, both with RESOLVE_NO_MAGICLINKS (no
//! /proc/self/exe, no /proc/N/root); a `..` that climbs above the preopened directory is
//! refused with ENOTCAPABLE before the kernel is asked, as WASI's capability model wants.
//! Our process's root is the container's root already (pivot_root), so nothing here can
//! name a host file in any case.

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{FileStat, Mode};
use nix::sys::time::TimeSpec;
use nix::time::ClockId;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use wasmi::{Caller, Extern, Linker, Module, Val};

const MODULE: &str = "wasi_snapshot_preview1";

/// WASI's errno values (they are not Linux's).
type Wasi = u16;
const E_2BIG: Wasi = 1;
const E_ACCES: Wasi = 2;
const E_AGAIN: Wasi = 6;
const E_BADF: Wasi = 8;
const E_BUSY: Wasi = 10;
const E_EXIST: Wasi = 20;
const E_FAULT: Wasi = 21;
const E_FBIG: Wasi = 22;
const E_INTR: Wasi = 27;
const E_INVAL: Wasi = 28;
const E_IO: Wasi = 29;
const E_ISDIR: Wasi = 31;
const E_LOOP: Wasi = 32;
const E_MFILE: Wasi = 33;
const E_MLINK: Wasi = 34;
const E_NAMETOOLONG: Wasi = 37;
const E_NFILE: Wasi = 41;
const E_NODEV: Wasi = 43;
const E_NOENT: Wasi = 44;
const E_NOMEM: Wasi = 48;
const E_NOSPC: Wasi = 51;
const E_NOSYS: Wasi = 52;
const E_NOTDIR: Wasi = 54;
const E_NOTEMPTY: Wasi = 55;
const E_NOTSUP: Wasi = 58;
const E_NOTTY: Wasi = 59;
const E_NXIO: Wasi = 60;
const E_OVERFLOW: Wasi = 61;
const E_PERM: Wasi = 63;
const E_PIPE: Wasi = 64;
const E_RANGE: Wasi = 68;
const E_ROFS: Wasi = 69;
const E_SPIPE: Wasi = 70;
const E_TXTBSY: Wasi = 74;
const E_NOTCAPABLE: Wasi = 76;

fn errno(e: Errno) -> Wasi {
    match e {
        Errno::E2BIG => E_2BIG,
        Errno::EACCES => E_ACCES,
        Errno::EAGAIN => E_AGAIN,
        Errno::EBADF => E_BADF,
        Errno::EBUSY => E_BUSY,
        Errno::EEXIST => E_EXIST,
        Errno::EFAULT => E_FAULT,
        Errno::EFBIG => E_FBIG,
        Errno::EINTR => E_INTR,
        Errno::EINVAL => E_INVAL,
        Errno::EISDIR => E_ISDIR,
        Errno::ELOOP => E_LOOP,
        Errno::EMFILE => E_MFILE,
        Errno::EMLINK => E_MLINK,
        Errno::ENAMETOOLONG => E_NAMETOOLONG,
        Errno::ENFILE => E_NFILE,
        Errno::ENODEV => E_NODEV,
        Errno::ENOENT => E_NOENT,
        Errno::ENOMEM => E_NOMEM,
        Errno::ENOSPC | Errno::EDQUOT => E_NOSPC,
        Errno::ENOSYS => E_NOSYS,
        Errno::ENOTDIR => E_NOTDIR,
        Errno::ENOTEMPTY => E_NOTEMPTY,
        Errno::EOPNOTSUPP => E_NOTSUP,
        Errno::ENOTTY => E_NOTTY,
        Errno::ENXIO => E_NXIO,
        Errno::EOVERFLOW => E_OVERFLOW,
        Errno::EPERM => E_PERM,
        Errno::EPIPE => E_PIPE,
        Errno::ERANGE => E_RANGE,
        Errno::EROFS => E_ROFS,
        Errno::ESPIPE => E_SPIPE,
        Errno::ETXTBSY => E_TXTBSY,
        // openat2: the path left the directory (RESOLVE_BENEATH) or met a magic link.
        Errno::EXDEV => E_NOTCAPABLE,
        _ => E_IO,
    }
}

/// One open descriptor of the module.
struct Entry {
    fd: OwnedFd,
    /// The name a preopened directory is announced with (`/` or `.`).
    preopen: Option<&'static str>,
    /// Paths under it resolve with the directory as root (the container's `/`).
    in_root: bool,
}

pub struct Ctx {
    args: Vec<CString>,
    env: Vec<CString>,
    fds: Vec<Option<Entry>>,
}

impl Ctx {
    /// stdio as the process has it; `/` and `.` (the working directory) preopened.
    pub fn new(argv: &[CString], envp: &[CString], cwd: &Path) -> nix::Result<Ctx> {
        let mut fds = Vec::new();
        for raw in 0..3 {
            // stdio as the container got it (the terminal, pipes, /dev/null); a closed
            // one stays closed for the module too.
            fds.push(kapsel_sys::fs::owned_stdio(raw).map(|fd| Entry {
                fd,
                preopen: None,
                in_root: false,
            }));
        }
        let dir = |p: &Path| {
            nix::fcntl::open(
                p,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        };
        fds.push(Some(Entry {
            fd: dir(Path::new("/"))?,
            preopen: Some("/"),
            in_root: true,
        }));
        // The working directory (entered safely by process::finish) as `.`, when it is
        // not `/`. wasi-libc starts every program in `/` and gives a path to the last
        // preopen whose name matches longest; `/` and `.` both match every path, so the
        // later `.` gets them all: relative paths are the working directory's (as with
        // crun, whose handlers preopen only `.`), and so are absolute ones.
        if cwd != Path::new("/") {
            fds.push(Some(Entry {
                fd: dir(Path::new("."))?,
                preopen: Some("."),
                in_root: false,
            }));
        }
        Ok(Ctx {
            args: argv.to_vec(),
            env: envp.to_vec(),
            fds,
        })
    }

    fn entry(&self, fd: u32) -> Result<&Entry, Wasi> {
        self.fds
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(E_BADF)
    }

    fn fd(&self, fd: u32) -> Result<BorrowedFd<'_>, Wasi> {
        Ok(self.entry(fd)?.fd.as_fd())
    }

    fn insert(&mut self, e: Entry) -> u32 {
        if let Some(i) = self.fds.iter().position(Option::is_none) {
            self.fds[i] = Some(e);
            return i as u32;
        }
        self.fds.push(Some(e));
        (self.fds.len() - 1) as u32
    }
}

// ---- guest memory ----

fn range(mem: &[u8], ptr: u32, len: u32) -> Result<std::ops::Range<usize>, Wasi> {
    let start = ptr as usize;
    let end = start.checked_add(len as usize).ok_or(E_FAULT)?;
    if end > mem.len() {
        return Err(E_FAULT);
    }
    Ok(start..end)
}

fn bytes(mem: &[u8], ptr: u32, len: u32) -> Result<&[u8], Wasi> {
    Ok(&mem[range(mem, ptr, len)?])
}

fn bytes_mut(mem: &mut [u8], ptr: u32, len: u32) -> Result<&mut [u8], Wasi> {
    let r = range(mem, ptr, len)?;
    Ok(&mut mem[r])
}

fn put(mem: &mut [u8], ptr: u32, v: &[u8]) -> Result<(), Wasi> {
    bytes_mut(mem, ptr, v.len() as u32)?.copy_from_slice(v);
    Ok(())
}

fn put_u32(mem: &mut [u8], ptr: u32, v: u32) -> Result<(), Wasi> {
    put(mem, ptr, &v.to_le_bytes())
}

fn put_u64(mem: &mut [u8], ptr: u32, v: u64) -> Result<(), Wasi> {
    put(mem, ptr, &v.to_le_bytes())
}

fn get_u32(mem: &[u8], ptr: u32) -> Result<u32, Wasi> {
    let b = bytes(mem, ptr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn get_u64(mem: &[u8], ptr: u32) -> Result<u64, Wasi> {
    let b = bytes(mem, ptr, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

/// The (buf, len) pairs of an iovec array.
fn iovecs(mem: &[u8], iovs: u32, n: u32) -> Result<Vec<(u32, u32)>, Wasi> {
    (0..n)
        .map(|i| {
            let at = iovs
                .checked_add(i.checked_mul(8).ok_or(E_FAULT)?)
                .ok_or(E_FAULT)?;
            Ok((get_u32(mem, at)?, get_u32(mem, at + 4)?))
        })
        .collect()
}

fn path_str(mem: &[u8], ptr: u32, len: u32) -> Result<String, Wasi> {
    let b = bytes(mem, ptr, len)?;
    if b.contains(&0) {
        return Err(E_INVAL);
    }
    String::from_utf8(b.to_vec()).map_err(|_| E_INVAL)
}

/// Runs `io` on each of the `n` guest buffers of the iovec array at `iovs` in turn, with
/// the bytes moved so far, and stops at the first short transfer (as readv/writev do);
/// the total.
fn transfer(
    mem: &mut [u8],
    iovs: u32,
    n: u32,
    mut io: impl FnMut(&mut [u8], u64) -> Result<usize, Wasi>,
) -> Result<u64, Wasi> {
    let mut total = 0u64;
    for (buf, len) in iovecs(mem, iovs, n)? {
        let done = io(bytes_mut(mem, buf, len)?, total)?;
        total += done as u64;
        if done < len as usize {
            break;
        }
    }
    Ok(total)
}

/// The guest's path at `ptr`/`len`, split into its parent directory, opened under the
/// descriptor `fd`, and its last component.
fn parent_at(mem: &[u8], c: &Ctx, fd: u32, ptr: u32, len: u32) -> Result<(OwnedFd, String), Wasi> {
    parent_under(c.entry(fd)?, &path_str(mem, ptr, len)?)
}

// ---- paths ----

/// Refuses what WASI does not give: an absolute path, or `..` above the directory.
fn check_beneath(path: &str) -> Result<(), Wasi> {
    if path.starts_with('/') {
        return Err(E_NOTCAPABLE);
    }
    let mut depth = 0i32;
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(E_NOTCAPABLE);
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

fn resolve_flags(e: &Entry) -> ResolveFlag {
    let base = if e.in_root {
        ResolveFlag::RESOLVE_IN_ROOT
    } else {
        ResolveFlag::RESOLVE_BENEATH
    };
    base | ResolveFlag::RESOLVE_NO_MAGICLINKS
}

fn open_under(e: &Entry, path: &str, flags: OFlag, mode: u32) -> Result<OwnedFd, Wasi> {
    check_beneath(path)?;
    let path = if path.is_empty() { "." } else { path };
    // openat2 refuses a mode without O_CREAT (EINVAL).
    let mode = if flags.contains(OFlag::O_CREAT) {
        mode
    } else {
        0
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(Mode::from_bits_truncate(mode))
        .resolve(resolve_flags(e));
    nix::fcntl::openat2(e.fd.as_fd(), path, how).map_err(errno)
}

/// The directory holding the last component of `path`, and that component.
fn parent_under(e: &Entry, path: &str) -> Result<(OwnedFd, String), Wasi> {
    check_beneath(path)?;
    let trimmed = path.trim_end_matches('/');
    let (dir, name) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (".", trimmed),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(E_INVAL);
    }
    let dir = open_under(e, dir, OFlag::O_PATH | OFlag::O_DIRECTORY, 0)?;
    Ok((dir, name.to_string()))
}

// ---- file metadata ----

fn filetype(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFBLK => 1,
        libc::S_IFCHR => 2,
        libc::S_IFDIR => 3,
        libc::S_IFREG => 4,
        libc::S_IFSOCK => 6,
        libc::S_IFLNK => 7,
        _ => 0,
    }
}

fn nanos(sec: i64, nsec: i64) -> u64 {
    (sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nsec as u64)
}

fn put_filestat(mem: &mut [u8], ptr: u32, st: &FileStat) -> Result<(), Wasi> {
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&st.st_dev.to_le_bytes());
    b[8..16].copy_from_slice(&st.st_ino.to_le_bytes());
    b[16] = filetype(st.st_mode);
    // u64 on x86_64, u32 on aarch64.
    #[allow(clippy::unnecessary_cast)]
    let nlink = st.st_nlink as u64;
    b[24..32].copy_from_slice(&nlink.to_le_bytes());
    b[32..40].copy_from_slice(&(st.st_size as u64).to_le_bytes());
    b[40..48].copy_from_slice(&nanos(st.st_atime, st.st_atime_nsec).to_le_bytes());
    b[48..56].copy_from_slice(&nanos(st.st_mtime, st.st_mtime_nsec).to_le_bytes());
    b[56..64].copy_from_slice(&nanos(st.st_ctime, st.st_ctime_nsec).to_le_bytes());
    put(mem, ptr, &b)
}

fn times(atim: u64, mtim: u64, flags: u32) -> Result<(TimeSpec, TimeSpec), Wasi> {
    let one = |t: u64, set: u32, now: u32| {
        if flags & set != 0 && flags & now != 0 {
            Err(E_INVAL)
        } else if flags & now != 0 {
            Ok(TimeSpec::UTIME_NOW)
        } else if flags & set != 0 {
            Ok(TimeSpec::new(
                (t / 1_000_000_000) as i64,
                (t % 1_000_000_000) as i64,
            ))
        } else {
            Ok(TimeSpec::UTIME_OMIT)
        }
    };
    Ok((one(atim, 1, 2)?, one(mtim, 4, 8)?))
}

fn clock(id: u32) -> Result<ClockId, Wasi> {
    Ok(match id {
        0 => ClockId::CLOCK_REALTIME,
        1 => ClockId::CLOCK_MONOTONIC,
        2 => ClockId::CLOCK_PROCESS_CPUTIME_ID,
        3 => ClockId::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(E_INVAL),
    })
}

fn now(id: u32) -> Result<u64, Wasi> {
    let t = nix::time::clock_gettime(clock(id)?).map_err(errno)?;
    Ok(nanos(t.tv_sec(), t.tv_nsec()))
}

// ---- the functions ----

/// All rights: kapsel does not narrow descriptors below what the kernel allows.
const ALL_RIGHTS: u64 = (1 << 30) - 1;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_FD_READDIR: u64 = 1 << 14;

macro_rules! wasi {
    ($linker:ident, $names:ident, $name:literal, |$mem:ident, $ctx:ident $(, $arg:ident : $ty:ty)*| $body:block) => {
        $linker.func_wrap(MODULE, $name, |mut caller: Caller<'_, Ctx>, $($arg: $ty),*| -> i32 {
            let Some(memory) = caller.get_export("memory").and_then(Extern::into_memory) else {
                return i32::from(E_FAULT);
            };
            let ($mem, $ctx) = memory.data_and_store_mut(&mut caller);
            #[allow(unused_variables)]
            let (mem, ctx): (&mut [u8], &mut Ctx) = ($mem, $ctx);
            #[allow(clippy::redundant_closure_call)]
            let r: Result<(), Wasi> = (|| $body)();
            match r {
                Ok(()) => 0,
                Err(e) => i32::from(e),
            }
        })?;
        $names.push($name);
    };
}

/// Defines every WASI function in `linker`, and ENOSYS for any other WASI import of
/// `module`.
pub fn define(linker: &mut Linker<Ctx>, module: &Module) -> Result<(), wasmi::Error> {
    let mut names: Vec<&'static str> = Vec::new();
    define_env(linker, &mut names)?;
    define_fd(linker, &mut names)?;
    define_path(linker, &mut names)?;
    define_misc(linker, &mut names)?;
    for import in module.imports() {
        if import.module() != MODULE || names.contains(&import.name()) {
            continue;
        }
        if let Some(ty) = import.ty().func() {
            let ty = ty.clone();
            linker.func_new(MODULE, import.name(), ty, |_, _, results| {
                if let Some(r) = results.first_mut() {
                    *r = Val::I32(i32::from(E_NOSYS));
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// Writes `items` as C strings: the pointer array at `ptrs`, the bytes at `buf`.
fn put_strings(mem: &mut [u8], items: &[CString], ptrs: u32, buf: u32) -> Result<(), Wasi> {
    let mut at = buf;
    for (i, s) in items.iter().enumerate() {
        put_u32(mem, ptrs + 4 * i as u32, at)?;
        let b = s.as_bytes_with_nul();
        put(mem, at, b)?;
        at += b.len() as u32;
    }
    Ok(())
}

fn sizes(items: &[CString]) -> (u32, u32) {
    (
        items.len() as u32,
        items
            .iter()
            .map(|s| s.as_bytes_with_nul().len() as u32)
            .sum(),
    )
}

fn define_env(linker: &mut Linker<Ctx>, names: &mut Vec<&'static str>) -> Result<(), wasmi::Error> {
    wasi!(
        linker,
        names,
        "args_sizes_get",
        |m, c, argc: u32, size: u32| {
            let (n, len) = sizes(&c.args);
            put_u32(m, argc, n)?;
            put_u32(m, size, len)
        }
    );
    wasi!(linker, names, "args_get", |m, c, ptrs: u32, buf: u32| {
        put_strings(m, &c.args, ptrs, buf)
    });
    wasi!(
        linker,
        names,
        "environ_sizes_get",
        |m, c, count: u32, size: u32| {
            let (n, len) = sizes(&c.env);
            put_u32(m, count, n)?;
            put_u32(m, size, len)
        }
    );
    wasi!(linker, names, "environ_get", |m, c, ptrs: u32, buf: u32| {
        put_strings(m, &c.env, ptrs, buf)
    });
    wasi!(linker, names, "clock_res_get", |m, c, id: u32, out: u32| {
        let t = nix::time::clock_getres(clock(id)?).map_err(errno)?;
        put_u64(m, out, nanos(t.tv_sec(), t.tv_nsec()))
    });
    wasi!(
        linker,
        names,
        "clock_time_get",
        |m, c, id: u32, _precision: u64, out: u32| { put_u64(m, out, now(id)?) }
    );
    wasi!(linker, names, "random_get", |m, c, buf: u32, len: u32| {
        kapsel_sys::process::getrandom(bytes_mut(m, buf, len)?)
            .map_err(|e| errno(Errno::from_raw(e.errno)))
    });
    wasi!(linker, names, "sched_yield", |m, c| { Ok(()) });
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_: Caller<'_, Ctx>, code: i32| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::i32_exit(code))
        },
    )?;
    names.push("proc_exit");
    wasi!(
        linker,
        names,
        "poll_oneoff",
        |m, c, subs: u32, events: u32, n: u32, nevents: u32| {
            poll_oneoff(m, subs, events, n, nevents)
        }
    );
    Ok(())
}

/// Clock subscriptions sleep until the earliest; descriptor subscriptions are reported
/// ready at once (reads and writes then block as they would).
fn poll_oneoff(m: &mut [u8], subs: u32, events: u32, n: u32, nevents: u32) -> Result<(), Wasi> {
    if n == 0 {
        return Err(E_INVAL);
    }
    let mut out: Vec<(u64, u8)> = Vec::new();
    let mut earliest: Option<(u64, u64)> = None;
    for i in 0..n {
        let s = subs + i * 48;
        let userdata = get_u64(m, s)?;
        let tag = bytes(m, s + 8, 1)?[0];
        if tag == 0 {
            let id = get_u32(m, s + 16)?;
            let timeout = get_u64(m, s + 24)?;
            let flags = bytes(m, s + 40, 2)?[0];
            let wait = if flags & 1 != 0 {
                timeout.saturating_sub(now(id)?)
            } else {
                timeout
            };
            if earliest.is_none_or(|(w, _)| wait < w) {
                earliest = Some((wait, userdata));
            }
        } else {
            out.push((userdata, tag));
        }
    }
    if out.is_empty() {
        if let Some((wait, userdata)) = earliest {
            std::thread::sleep(std::time::Duration::from_nanos(wait));
            out.push((userdata, 0));
        }
    }
    for (i, (userdata, tag)) in out.iter().enumerate() {
        let mut ev = [0u8; 32];
        ev[0..8].copy_from_slice(&userdata.to_le_bytes());
        ev[10] = *tag;
        put(m, events + 32 * i as u32, &ev)?;
    }
    put_u32(m, nevents, out.len() as u32)
}

fn define_fd(linker: &mut Linker<Ctx>, names: &mut Vec<&'static str>) -> Result<(), wasmi::Error> {
    wasi!(
        linker,
        names,
        "fd_write",
        |m, c, fd: u32, iovs: u32, n: u32, out: u32| {
            let f = c.fd(fd)?;
            // A short write is written on; an error after some bytes reports those.
            let total = transfer(m, iovs, n, |data, total| {
                let mut done = 0;
                while done < data.len() {
                    match nix::unistd::write(f, &data[done..]) {
                        Ok(w) => done += w,
                        Err(Errno::EINTR) => {}
                        Err(e) if total == 0 && done == 0 => return Err(errno(e)),
                        Err(_) => break,
                    }
                }
                Ok(done)
            })?;
            put_u32(m, out, total as u32)
        }
    );
    wasi!(
        linker,
        names,
        "fd_pwrite",
        |m, c, fd: u32, iovs: u32, n: u32, off: u64, out: u32| {
            let f = c.fd(fd)?;
            let total = transfer(m, iovs, n, |data, done| {
                nix::sys::uio::pwrite(f, data, (off + done) as i64).map_err(errno)
            })?;
            put_u32(m, out, total as u32)
        }
    );
    wasi!(
        linker,
        names,
        "fd_read",
        |m, c, fd: u32, iovs: u32, n: u32, out: u32| {
            let f = c.fd(fd)?;
            let total = transfer(m, iovs, n, |data, _| loop {
                match nix::unistd::read(f, data) {
                    Err(Errno::EINTR) => continue,
                    r => break r.map_err(errno),
                }
            })?;
            put_u32(m, out, total as u32)
        }
    );
    wasi!(
        linker,
        names,
        "fd_pread",
        |m, c, fd: u32, iovs: u32, n: u32, off: u64, out: u32| {
            let f = c.fd(fd)?;
            let total = transfer(m, iovs, n, |data, done| {
                nix::sys::uio::pread(f, data, (off + done) as i64).map_err(errno)
            })?;
            put_u32(m, out, total as u32)
        }
    );
    wasi!(
        linker,
        names,
        "fd_seek",
        |m, c, fd: u32, off: i64, whence: u32, out: u32| {
            use nix::unistd::Whence;
            let w = match whence {
                0 => Whence::SeekSet,
                1 => Whence::SeekCur,
                2 => Whence::SeekEnd,
                _ => return Err(E_INVAL),
            };
            let pos = nix::unistd::lseek(c.fd(fd)?, off, w).map_err(errno)?;
            put_u64(m, out, pos as u64)
        }
    );
    wasi!(linker, names, "fd_tell", |m, c, fd: u32, out: u32| {
        let pos = nix::unistd::lseek(c.fd(fd)?, 0, nix::unistd::Whence::SeekCur).map_err(errno)?;
        put_u64(m, out, pos as u64)
    });
    wasi!(linker, names, "fd_close", |m, c, fd: u32| {
        c.entry(fd)?;
        c.fds[fd as usize] = None;
        Ok(())
    });
    wasi!(linker, names, "fd_renumber", |m, c, from: u32, to: u32| {
        c.entry(from)?;
        c.entry(to)?;
        if from != to {
            c.fds[to as usize] = c.fds[from as usize].take();
        }
        Ok(())
    });
    wasi!(linker, names, "fd_sync", |m, c, fd: u32| {
        nix::unistd::fsync(c.fd(fd)?).map_err(errno)
    });
    wasi!(linker, names, "fd_datasync", |m, c, fd: u32| {
        nix::unistd::fdatasync(c.fd(fd)?).map_err(errno)
    });
    wasi!(
        linker,
        names,
        "fd_advise",
        |m, c, fd: u32, _off: u64, _len: u64, _advice: u32| { c.fd(fd).map(drop) }
    );
    wasi!(
        linker,
        names,
        "fd_allocate",
        |m, c, fd: u32, off: u64, len: u64| {
            nix::fcntl::posix_fallocate(c.fd(fd)?, off as i64, len as i64).map_err(errno)
        }
    );
    wasi!(linker, names, "fd_fdstat_get", |m, c, fd: u32, out: u32| {
        let f = c.fd(fd)?;
        let st = nix::sys::stat::fstat(f).map_err(errno)?;
        let fl = nix::fcntl::fcntl(f, nix::fcntl::FcntlArg::F_GETFL).map_err(errno)?;
        let fl = OFlag::from_bits_truncate(fl);
        let mut flags = 0u16;
        if fl.contains(OFlag::O_APPEND) {
            flags |= 1;
        }
        if fl.contains(OFlag::O_NONBLOCK) {
            flags |= 4;
        }
        let mut b = [0u8; 24];
        b[0] = filetype(st.st_mode);
        b[2..4].copy_from_slice(&flags.to_le_bytes());
        b[8..16].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
        b[16..24].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
        put(m, out, &b)
    });
    wasi!(
        linker,
        names,
        "fd_fdstat_set_flags",
        |m, c, fd: u32, flags: u32| {
            let mut fl = OFlag::empty();
            if flags & 1 != 0 {
                fl |= OFlag::O_APPEND;
            }
            if flags & 4 != 0 {
                fl |= OFlag::O_NONBLOCK;
            }
            nix::fcntl::fcntl(c.fd(fd)?, nix::fcntl::FcntlArg::F_SETFL(fl))
                .map(drop)
                .map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "fd_fdstat_set_rights",
        |m, c, fd: u32, _b: u64, _i: u64| { c.fd(fd).map(drop) }
    );
    wasi!(
        linker,
        names,
        "fd_filestat_get",
        |m, c, fd: u32, out: u32| {
            let st = nix::sys::stat::fstat(c.fd(fd)?).map_err(errno)?;
            put_filestat(m, out, &st)
        }
    );
    wasi!(
        linker,
        names,
        "fd_filestat_set_size",
        |m, c, fd: u32, size: u64| {
            nix::unistd::ftruncate(c.fd(fd)?, size as i64).map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "fd_filestat_set_times",
        |m, c, fd: u32, a: u64, t: u64, fl: u32| {
            let (a, t) = times(a, t, fl)?;
            nix::sys::stat::futimens(c.fd(fd)?, &a, &t).map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "fd_prestat_get",
        |m, c, fd: u32, out: u32| {
            let name = c.entry(fd)?.preopen.ok_or(E_BADF)?;
            let mut b = [0u8; 8];
            b[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
            put(m, out, &b)
        }
    );
    wasi!(
        linker,
        names,
        "fd_prestat_dir_name",
        |m, c, fd: u32, buf: u32, len: u32| {
            let name = c.entry(fd)?.preopen.ok_or(E_BADF)?;
            if (len as usize) < name.len() {
                return Err(E_NAMETOOLONG);
            }
            put(m, buf, name.as_bytes())
        }
    );
    wasi!(
        linker,
        names,
        "fd_readdir",
        |m, c, fd: u32, buf: u32, len: u32, cookie: u64, used: u32| {
            let entries = read_dir(c.fd(fd)?)?;
            let out = bytes_mut(m, buf, len)?;
            let mut at = 0usize;
            for (i, (ino, kind, name)) in entries.iter().enumerate().skip(cookie as usize) {
                let mut rec = Vec::with_capacity(24 + name.len());
                rec.extend_from_slice(&(i as u64 + 1).to_le_bytes());
                rec.extend_from_slice(&ino.to_le_bytes());
                rec.extend_from_slice(&(name.len() as u32).to_le_bytes());
                rec.extend_from_slice(&[*kind, 0, 0, 0]);
                rec.extend_from_slice(name);
                let n = rec.len().min(out.len() - at);
                out[at..at + n].copy_from_slice(&rec[..n]);
                at += n;
                if at == out.len() {
                    break;
                }
            }
            put_u32(m, used, at as u32)
        }
    );
    Ok(())
}

/// Every entry of a directory, `.` and `..` included: (inode, WASI filetype, name).
fn read_dir(fd: BorrowedFd<'_>) -> Result<Vec<(u64, u8, Vec<u8>)>, Wasi> {
    use nix::dir::{Dir, Type};
    let mut dir = Dir::openat(
        fd,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)?;
    let mut all = Vec::new();
    for e in dir.iter() {
        let e = e.map_err(errno)?;
        let kind = match e.file_type() {
            Some(Type::BlockDevice) => 1,
            Some(Type::CharacterDevice) => 2,
            Some(Type::Directory) => 3,
            Some(Type::File) => 4,
            Some(Type::Socket) => 6,
            Some(Type::Symlink) => 7,
            _ => 0,
        };
        all.push((e.ino(), kind, e.file_name().to_bytes().to_vec()));
    }
    Ok(all)
}

fn define_path(
    linker: &mut Linker<Ctx>,
    names: &mut Vec<&'static str>,
) -> Result<(), wasmi::Error> {
    wasi!(
        linker,
        names,
        "path_open",
        |m,
         c,
         fd: u32,
         dirflags: u32,
         p: u32,
         pl: u32,
         oflags: u32,
         base: u64,
         _inh: u64,
         fdflags: u32,
         out: u32| {
            let path = path_str(m, p, pl)?;
            let e = c.entry(fd)?;
            let read = base & (RIGHT_FD_READ | RIGHT_FD_READDIR) != 0;
            let write = base & RIGHT_FD_WRITE != 0 || oflags & 8 != 0;
            let mut flags = match (read, write) {
                (_, false) => OFlag::O_RDONLY,
                (false, true) => OFlag::O_WRONLY,
                (true, true) => OFlag::O_RDWR,
            };
            if oflags & 1 != 0 {
                flags |= OFlag::O_CREAT;
            }
            if oflags & 2 != 0 {
                flags |= OFlag::O_DIRECTORY;
            }
            if oflags & 4 != 0 {
                flags |= OFlag::O_EXCL;
            }
            if oflags & 8 != 0 {
                flags |= OFlag::O_TRUNC;
            }
            if fdflags & 1 != 0 {
                flags |= OFlag::O_APPEND;
            }
            if fdflags & 4 != 0 {
                flags |= OFlag::O_NONBLOCK;
            }
            if fdflags & (2 | 8 | 16) != 0 {
                flags |= OFlag::O_SYNC;
            }
            if dirflags & 1 == 0 {
                flags |= OFlag::O_NOFOLLOW;
            }
            let opened = match open_under(e, &path, flags, 0o666) {
                // A directory asked for with write rights (wasi-libc asks for every right
                // when it does not know): open it for reading.
                Err(E_ISDIR) if write && oflags & 1 == 0 => open_under(
                    e,
                    &path,
                    (flags & !(OFlag::O_WRONLY | OFlag::O_RDWR | OFlag::O_TRUNC))
                        | OFlag::O_DIRECTORY,
                    0,
                )?,
                r => r?,
            };
            let n = c.insert(Entry {
                fd: opened,
                preopen: None,
                in_root: false,
            });
            put_u32(m, out, n)
        }
    );
    wasi!(
        linker,
        names,
        "path_filestat_get",
        |m, c, fd: u32, flags: u32, p: u32, pl: u32, out: u32| {
            let path = path_str(m, p, pl)?;
            let e = c.entry(fd)?;
            let mut of = OFlag::O_PATH;
            if flags & 1 == 0 {
                of |= OFlag::O_NOFOLLOW;
            }
            let f = open_under(e, &path, of, 0)?;
            let st = nix::sys::stat::fstatat(&f, "", AtFlags::AT_EMPTY_PATH).map_err(errno)?;
            put_filestat(m, out, &st)
        }
    );
    wasi!(
        linker,
        names,
        "path_filestat_set_times",
        |m, c, fd: u32, flags: u32, p: u32, pl: u32, a: u64, t: u64, fl: u32| {
            let (dir, name) = parent_at(m, c, fd, p, pl)?;
            let (a, t) = times(a, t, fl)?;
            let follow = if flags & 1 != 0 {
                nix::sys::stat::UtimensatFlags::FollowSymlink
            } else {
                nix::sys::stat::UtimensatFlags::NoFollowSymlink
            };
            nix::sys::stat::utimensat(&dir, name.as_str(), &a, &t, follow).map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "path_create_directory",
        |m, c, fd: u32, p: u32, pl: u32| {
            let (dir, name) = parent_at(m, c, fd, p, pl)?;
            nix::sys::stat::mkdirat(&dir, name.as_str(), Mode::from_bits_truncate(0o777))
                .map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "path_remove_directory",
        |m, c, fd: u32, p: u32, pl: u32| {
            let (dir, name) = parent_at(m, c, fd, p, pl)?;
            nix::unistd::unlinkat(&dir, name.as_str(), nix::unistd::UnlinkatFlags::RemoveDir)
                .map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "path_unlink_file",
        |m, c, fd: u32, p: u32, pl: u32| {
            let path = path_str(m, p, pl)?;
            if path.ends_with('/') {
                return Err(E_NOTDIR);
            }
            let (dir, name) = parent_under(c.entry(fd)?, &path)?;
            nix::unistd::unlinkat(&dir, name.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir)
                .map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "path_rename",
        |m, c, fd: u32, p: u32, pl: u32, nfd: u32, np: u32, npl: u32| {
            let (fdir, fname) = parent_at(m, c, fd, p, pl)?;
            let (tdir, tname) = parent_at(m, c, nfd, np, npl)?;
            nix::fcntl::renameat(&fdir, fname.as_str(), &tdir, tname.as_str()).map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "path_link",
        |m, c, fd: u32, _flags: u32, p: u32, pl: u32, nfd: u32, np: u32, npl: u32| {
            let (fdir, fname) = parent_at(m, c, fd, p, pl)?;
            let (tdir, tname) = parent_at(m, c, nfd, np, npl)?;
            nix::unistd::linkat(
                &fdir,
                fname.as_str(),
                &tdir,
                tname.as_str(),
                AtFlags::empty(),
            )
            .map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "path_symlink",
        |m, c, p: u32, pl: u32, fd: u32, np: u32, npl: u32| {
            let target = path_str(m, p, pl)?;
            let (dir, name) = parent_at(m, c, fd, np, npl)?;
            nix::unistd::symlinkat(target.as_str(), &dir, name.as_str()).map_err(errno)
        }
    );
    wasi!(
        linker,
        names,
        "path_readlink",
        |m, c, fd: u32, p: u32, pl: u32, buf: u32, len: u32, used: u32| {
            let (dir, name) = parent_at(m, c, fd, p, pl)?;
            let target = nix::fcntl::readlinkat(&dir, name.as_str()).map_err(errno)?;
            let t = target.as_encoded_bytes();
            let n = t.len().min(len as usize);
            put(m, buf, &t[..n])?;
            put_u32(m, used, n as u32)
        }
    );
    Ok(())
}

fn define_misc(
    linker: &mut Linker<Ctx>,
    names: &mut Vec<&'static str>,
) -> Result<(), wasmi::Error> {
    // A signal to itself ends the process as the signal would (the module asked for it).
    wasi!(linker, names, "proc_raise", |m, c, _sig: u32| {
        Err(E_NOSYS)
    });
    Ok(())
}
