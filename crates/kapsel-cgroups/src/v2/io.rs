//! v2 io: io.bfq.weight (BFQ, same 1-1000 scale) or io.weight (1-10000), io.max throttling.

use crate::error::Result;
use crate::files;
use oci_spec::runtime::LinuxBlockIo;
use std::path::Path;

/// blkio.weight [10, 1000] to io.weight [1, 10000] (runc's and crun's map).
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight).saturating_sub(10) * 9999) / 990
}

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let bfq = files::exists(dir, "io.bfq.weight");
    if let Some(weight) = b.weight().filter(|&w| w != 0) {
        if bfq {
            files::write(dir, "io.bfq.weight", weight)?;
        } else {
            files::write(dir, "io.weight", blkio_weight_to_io_weight(weight))?;
        }
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(weight) = d.weight().filter(|&w| w != 0) {
            let (file, value) = if bfq {
                ("io.bfq.weight", u64::from(weight))
            } else {
                ("io.weight", blkio_weight_to_io_weight(weight))
            };
            files::write(dir, file, format!("{}:{} {value}", d.major(), d.minor()))?;
        }
    }
    let throttles = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, list) in throttles {
        for d in list.iter().flatten() {
            let rate = match d.rate() {
                0 => "max".to_string(),
                r => r.to_string(),
            };
            files::write(
                dir,
                "io.max",
                format!("{}:{} {key}={rate}", d.major(), d.minor()),
            )?;
        }
    }
    Ok(())
}
