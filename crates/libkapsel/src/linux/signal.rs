//! Signal names as `kill` accepts them: `TERM`, `SIGTERM`, `15`, `RTMIN+3`.

use crate::error::{Error, Result};
use kapsel_sys::process::{SIGRTMAX, SIGRTMIN};

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

pub fn parse(text: &str) -> Result<i32> {
    let bad = || Error::Usage(format!("invalid signal `{}`", text.escape_debug()));
    if let Ok(n) = text.parse::<i32>() {
        return if (1..=SIGRTMAX).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(*n);
    }
    let rt = |base: i32, off: &str| off.parse::<i32>().ok().map(|o| base + o);
    let n = if name == "RTMIN" {
        Some(SIGRTMIN)
    } else if name == "RTMAX" {
        Some(SIGRTMAX)
    } else if let Some(off) = name.strip_prefix("RTMIN+") {
        rt(SIGRTMIN, off)
    } else if let Some(off) = name.strip_prefix("RTMAX-") {
        rt(SIGRTMAX, &format!("-{off}"))
    } else {
        None
    };
    match n {
        Some(n) if (SIGRTMIN..=SIGRTMAX).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("TERM").unwrap(), 15);
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("sigusr1").unwrap(), 10);
        assert_eq!(parse("9").unwrap(), 9);
        assert_eq!(parse("RTMIN").unwrap(), 34);
        assert_eq!(parse("RTMIN+1").unwrap(), 35);
        assert_eq!(parse("RTMAX-1").unwrap(), 63);
        assert_eq!(parse("64").unwrap(), 64);
        assert!(parse("65").is_err());
        assert!(parse("0").is_err());
        assert!(parse("NOPE").is_err());
        assert!(parse("99").is_err());
    }
}
