//! Reading the kernel's small text files (procfs, sysfs, cgroupfs) in one go.
//!
//! These files report a size of 0, so `std::fs::read_to_string` first asks statx(2) for a
//! size it cannot use and then reads in 32-byte probes that double (a 1.5 KB
//! /proc/self/mountinfo took eight read(2) calls). Here: open, read into a 4 KiB buffer
//! until the end, close — the kernel fills a whole page per read.

use std::io::Read;
use std::path::Path;

/// The first read's size: one page, what seq_file hands out per read.
const CHUNK: usize = 4096;

/// The whole of `path` as text (invalid UTF-8 is an InvalidData error, as in std).
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    read_all(file)
}

/// The rest of an open file as text, read the same way.
pub fn read_all(mut file: impl Read) -> std::io::Result<String> {
    let mut buf = vec![0u8; CHUNK];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_kernel_file_whole() {
        let ours = read_to_string(Path::new("/proc/self/mountinfo")).unwrap();
        let std = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        // Both name the root mount; the tables are the same but for mounts made between.
        assert!(
            ours.lines().any(|l| l.split(' ').nth(4) == Some("/")),
            "{ours}"
        );
        assert_eq!(ours.lines().count(), std.lines().count());
    }

    #[test]
    fn reads_past_the_first_chunk() {
        let big: Vec<u8> = (0..3 * CHUNK + 17).map(|i| b'a' + (i % 26) as u8).collect();
        let text = read_all(&big[..]).unwrap();
        assert_eq!(text.as_bytes(), &big[..]);
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let e = read_to_string(Path::new("/proc/self/no-such-file")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn invalid_utf8_is_invalid_data() {
        let e = read_all(&[0xffu8, 0xfe][..]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    }
}
