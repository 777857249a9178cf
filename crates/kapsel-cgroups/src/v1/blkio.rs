//! v1 blkio controller: weights (CFQ's blkio.weight or BFQ's blkio.bfq.weight) and throttling.

use crate::error::Result;
use crate::files;
use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};
use std::path::Path;

pub(super) fn is_set(b: &LinuxBlockIo) -> bool {
    b.weight().unwrap_or(0) != 0
        || b.leaf_weight().unwrap_or(0) != 0
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || [
            b.throttle_read_bps_device(),
            b.throttle_write_bps_device(),
            b.throttle_read_iops_device(),
            b.throttle_write_iops_device(),
        ]
        .iter()
        .any(|l| l.as_ref().is_some_and(|v| !v.is_empty()))
}

/// blkio.weight when the kernel has it (CFQ, gone since 5.0), else BFQ's blkio.bfq.weight.
fn weight_file(dir: &Path, plain: &'static str, bfq: &'static str) -> &'static str {
    if files::exists(dir, plain) || !files::exists(dir, bfq) {
        plain
    } else {
        bfq
    }
}

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    if let Some(weight) = b.weight().filter(|&w| w != 0) {
        files::write(
            dir,
            weight_file(dir, "blkio.weight", "blkio.bfq.weight"),
            weight,
        )?;
    }
    if let Some(leaf) = b.leaf_weight().filter(|&w| w != 0) {
        files::write(dir, "blkio.leaf_weight", leaf)?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(weight) = d.weight().filter(|&w| w != 0) {
            let file = weight_file(dir, "blkio.weight_device", "blkio.bfq.weight_device");
            files::write(dir, file, format!("{}:{} {weight}", d.major(), d.minor()))?;
        }
        if let Some(leaf) = d.leaf_weight().filter(|&w| w != 0) {
            files::write(
                dir,
                "blkio.leaf_weight_device",
                format!("{}:{} {leaf}", d.major(), d.minor()),
            )?;
        }
    }
    let throttles = [
        (
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ];
    for (file, list) in throttles {
        for d in list.iter().flatten() {
            write_throttle(dir, file, d)?;
        }
    }
    Ok(())
}

fn write_throttle(dir: &Path, file: &str, d: &LinuxThrottleDevice) -> Result<()> {
    files::write(
        dir,
        file,
        format!("{}:{} {}", d.major(), d.minor(), d.rate()),
    )
}
