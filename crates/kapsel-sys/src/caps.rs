//! Capability system calls: capset(2), capget(2) and the prctl(2) calls for the bounding
//! and ambient sets and keep-caps.

use crate::error::SysError;

/// capset(2), version 3 (64-bit sets), for the calling thread.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), SysError> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(effective);
    let (p0, p1) = split(permitted);
    let (i0, i1) = split(inheritable);
    let data = [
        Data {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        Data {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and a two-element data array, as capset v3 requires, valid for the call.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if ret < 0 {
        return Err(SysError::last("capset", None));
    }
    Ok(())
}

/// capget(2), version 3: the calling thread's permitted set.
pub fn permitted() -> Result<u64, SysError> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: header and a two-element data array, as capget v3 requires, valid and
    // writable for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut Header,
            data.as_mut_ptr(),
        )
    };
    if ret < 0 {
        return Err(SysError::last("capget", None));
    }
    Ok(u64::from(data[0].permitted) | u64::from(data[1].permitted) << 32)
}

/// prctl(PR_CAPBSET_READ, cap): whether `cap` is in the bounding set.
pub fn bounding_has(cap: u32) -> Result<bool, SysError> {
    // SAFETY: PR_CAPBSET_READ takes one integer argument and reads nothing from memory.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAPBSET_READ,
            cap as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(SysError::last("prctl(PR_CAPBSET_READ)", None));
    }
    Ok(ret == 1)
}

/// prctl(PR_CAPBSET_DROP, cap): remove `cap` from the bounding set.
pub fn bounding_drop(cap: u32) -> Result<(), SysError> {
    prctl(
        "prctl(PR_CAPBSET_DROP)",
        libc::PR_CAPBSET_DROP,
        cap as libc::c_ulong,
        0,
    )
}

/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap).
pub fn ambient_raise(cap: u32) -> Result<(), SysError> {
    prctl(
        "prctl(PR_CAP_AMBIENT_RAISE)",
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
        cap as libc::c_ulong,
    )
}

fn prctl(
    op: &'static str,
    option: libc::c_int,
    a: libc::c_ulong,
    b: libc::c_ulong,
) -> Result<(), SysError> {
    // SAFETY: these prctl options take integer arguments only.
    let ret = unsafe { libc::prctl(option, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if ret < 0 {
        return Err(SysError::last(op, None));
    }
    Ok(())
}
