//! `meter -- CMD ARGS [-- CMD ARGS ...]`: runs the commands one after the other (each
//! must exit 0, or the rest are skipped; their stdout goes to /dev/null, their stderr
//! is ours) and prints one line,
//! `ms=<wall time of the whole sequence> rss=<peak RSS of any of them, KiB> rc=<status>`.
//! The board's busybox shell has no sub-millisecond clock and no rusage, so the smoke
//! and footprint scripts of tests/boards time every runtime call through this.
//!
//! `meter uptime` prints the seconds since boot (CLOCK_BOOTTIME) with millisecond digits.

// The riscv64 musl build links its _dl_find_object (kapsel_sys::link_compat).
#[cfg(all(target_env = "musl", target_arch = "riscv64"))]
use kapsel_sys as _;
use nix::sys::resource::{getrusage, UsageWho};
use nix::time::{clock_gettime, ClockId};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// The commands between `--` separators.
fn sequence(args: &[String]) -> Result<Vec<&[String]>, String> {
    if args.first().map(String::as_str) != Some("--") {
        return Err("usage: meter -- CMD ARGS [-- CMD ARGS ...] | meter uptime".into());
    }
    let cmds: Vec<&[String]> = args[1..].split(|a| a == "--").collect();
    if cmds.iter().any(|c| c.is_empty()) {
        return Err("meter: an empty command between `--` separators".into());
    }
    Ok(cmds)
}

/// Runs `cmds` in order; the exit status of the first that fails, or 0. A command
/// killed by a signal counts as 128 + the signal, as the shell reports it.
fn run(cmds: &[&[String]]) -> Result<i32, String> {
    for cmd in cmds {
        // No stdin, and stdout to /dev/null: a container that `create` leaves behind
        // would otherwise hold the caller's pipe open (and `$(meter ...)` never end).
        let status = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("meter: spawn `{}`: {e}", cmd[0]))?;
        let code = match status.code() {
            Some(c) => c,
            None => {
                use std::os::unix::process::ExitStatusExt;
                128 + status.signal().unwrap_or(0)
            }
        };
        if code != 0 {
            return Ok(code);
        }
    }
    Ok(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("uptime") {
        return match clock_gettime(ClockId::CLOCK_BOOTTIME) {
            Ok(t) => {
                println!("{}.{:03}", t.tv_sec(), t.tv_nsec() / 1_000_000);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("meter: clock_gettime(CLOCK_BOOTTIME): {e}");
                ExitCode::FAILURE
            }
        };
    }
    let cmds = match sequence(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let rc = match run(&cmds) {
        Ok(rc) => rc,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    // Every command was a child of this process and has been waited for: the children's
    // peak RSS is the largest of theirs (and of anything they waited for).
    let rss = getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss())
        .unwrap_or(-1);
    println!("ms={ms:.2} rss={rss} rc={rc}");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn splits_commands_at_separators() {
        let args = strings(&["--", "a", "1", "--", "b"]);
        let cmds = sequence(&args).unwrap();
        assert_eq!(cmds, vec![&args[1..3], &args[4..5]]);
    }

    #[test]
    fn refuses_a_missing_or_empty_command() {
        assert!(sequence(&strings(&["a"])).is_err());
        assert!(sequence(&strings(&["--", "a", "--"])).is_err());
    }

    #[test]
    fn stops_at_the_first_failing_command() {
        let args = strings(&["--", "true", "--", "false", "--", "sh", "-c", "exit 7"]);
        assert_eq!(run(&sequence(&args).unwrap()).unwrap(), 1);
        let args = strings(&["--", "true", "--", "sh", "-c", "kill -9 $$"]);
        assert_eq!(run(&sequence(&args).unwrap()).unwrap(), 137);
    }
}
