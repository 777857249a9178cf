//! Link-time compatibility for the riscv64 musl build (scripts/build-static.sh).
//!
//! Rust ships no prebuilt std for riscv64gc-unknown-linux-musl here, so that build
//! compiles std itself and takes its unwinder (`libunwind.a`) from Debian's libgcc_eh.
//! That libgcc_eh was built against glibc and finds unwind tables with glibc's
//! `_dl_find_object`, which musl lacks; this is the same answer from musl's
//! `dl_iterate_phdr` (link/musl_compat.c does the same for the x86_64 build). Only a
//! backtrace unwinds: kapsel is built with panic=abort.

use std::ffi::{c_int, c_void};

/// glibc's `struct dl_find_object` on 64-bit RISC-V (dlfcn.h: no eh_dbase, no eh_count).
#[repr(C)]
pub struct DlFindObject {
    flags: u64,
    map_start: *mut c_void,
    map_end: *mut c_void,
    link_map: *mut c_void,
    eh_frame: *mut c_void,
    reserved: [u64; 7],
}

struct Query {
    pc: usize,
    out: *mut DlFindObject,
    found: bool,
}

extern "C" fn visit(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut c_void,
) -> c_int {
    // SAFETY: dl_iterate_phdr passes a valid info for the duration of the callback, and
    // `data` is the `Query` that `_dl_find_object` handed it.
    let (info, q) = unsafe { (&*info, &mut *data.cast::<Query>()) };
    // SAFETY: dlpi_phdr points at dlpi_phnum program headers of a loaded object.
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let (mut lo, mut hi, mut eh, mut hit) = (usize::MAX, 0usize, std::ptr::null_mut(), false);
    for p in phdrs {
        let start = info.dlpi_addr as usize + p.p_vaddr as usize;
        if p.p_type == libc::PT_GNU_EH_FRAME {
            eh = start as *mut c_void;
        }
        if p.p_type != libc::PT_LOAD {
            continue;
        }
        lo = lo.min(start);
        hi = hi.max(start + p.p_memsz as usize);
        hit |= (start..start + p.p_memsz as usize).contains(&q.pc);
    }
    if !hit {
        return 0;
    }
    // SAFETY: `out` is the caller's struct, valid for writes during the call.
    unsafe {
        q.out.write(DlFindObject {
            flags: 0,
            map_start: lo as *mut c_void,
            map_end: hi as *mut c_void,
            link_map: std::ptr::null_mut(),
            eh_frame: eh,
            reserved: [0; 7],
        })
    };
    q.found = true;
    1
}

/// glibc's `_dl_find_object(pc, out)`: 0 and `out` filled when `pc` is in a loaded
/// object, -1 otherwise.
///
/// # Safety
/// `out` must be valid for writing one `DlFindObject` (libgcc_eh passes its own).
#[no_mangle]
pub unsafe extern "C" fn _dl_find_object(pc: *mut c_void, out: *mut DlFindObject) -> c_int {
    let mut q = Query {
        pc: pc as usize,
        out,
        found: false,
    };
    // SAFETY: `visit` matches the callback type and only reads what musl passes it;
    // `q` outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut q as *mut Query).cast()) };
    if q.found {
        0
    } else {
        -1
    }
}
