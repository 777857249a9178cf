//! A small static attack program for the escape and seccomp tests: the syscalls busybox cannot
//! make (keyctl, add_key, ptrace, open_by_handle_at, the i386 and x32 ABIs, a syscall from a
//! second thread). Compiled with gcc once per source text and reused across runs, like the
//! base bundle; tests skip when gcc or a static libc is missing.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cprog;

/// Each argument is one attack; the program prints `<attack>: ok` or `<attack>: <ERRNO NAME>`.
///
/// - `keyctl`, `add_key`: join a session keyring, add a key
/// - `ptrace:PID`: PTRACE_ATTACH to PID
/// - `open_by_handle_at`: the "shocker" escape, reopening `/` by a file handle
/// - `mkdir:PATH`, `mkdir32:PATH`, `mkdirx32:PATH`: mkdir through the native, i386 (int 0x80)
///   and x32 ABIs (a filter built for the native ABI only is bypassed through the others)
/// - `unshare32`: unshare(CLONE_NEWUSER) through the i386 ABI
/// - `thread-mkdir:PATH`: mkdir from a second thread, then `<attack>: process survived`
pub const SOURCE: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *what, long r) {
    if (r < 0) printf("%s: %s\n", what, strerrorname_np(errno));
    else printf("%s: ok\n", what);
}

/* A syscall through the i386 ABI (int 0x80), which a filter must cover as well. */
static long sys32(long nr, long a, long b) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
    if (ret < 0 && ret > -4096) { errno = -ret; return -1; }
    return ret;
}

/* int 0x80 passes 32-bit pointers: keep the path in the (non-PIE) data segment. */
static char path32[256];

static void *mkdir_thread(void *path) {
    report("thread", mkdir(path, 0755));
    return NULL;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "keyctl")) {
            report(a, syscall(SYS_keyctl, 1 /* JOIN_SESSION_KEYRING */, "kapsel-attack"));
        } else if (!strcmp(a, "add_key")) {
            report(a, syscall(SYS_add_key, "user", "kapsel-attack", "x", 1, -2 /* process */));
        } else if (!strncmp(a, "ptrace:", 7)) {
            long pid = atol(a + 7);
            long r = ptrace(PTRACE_ATTACH, pid, 0, 0);
            report(a, r);
            if (r == 0) ptrace(PTRACE_DETACH, pid, 0, 0);
        } else if (!strcmp(a, "open_by_handle_at")) {
            struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
            int mount_id;
            h->handle_bytes = MAX_HANDLE_SZ;
            long r = name_to_handle_at(AT_FDCWD, "/", h, &mount_id, 0);
            if (r == 0) r = open_by_handle_at(open("/", O_RDONLY), h, O_RDONLY);
            report(a, r);
        } else if (!strncmp(a, "mkdir:", 6)) {
            report(a, mkdir(a + 6, 0755));
        } else if (!strncmp(a, "mkdir32:", 8)) {
            snprintf(path32, sizeof(path32), "%s", a + 8);
            report(a, sys32(39 /* i386 mkdir */, (long)path32, 0755));
        } else if (!strncmp(a, "mkdirx32:", 9)) {
            report(a, syscall(0x40000000 + SYS_mkdir, a + 9, 0755));
        } else if (!strncmp(a, "thread-mkdir:", 13)) {
            /* A filter that kills only the thread lets the process go on. */
            pthread_t t;
            pthread_create(&t, NULL, mkdir_thread, (void *)(a + 13));
            pthread_join(t, NULL);
            printf("%s: process survived\n", a);
        } else if (!strcmp(a, "unshare32")) {
            report(a, sys32(310 /* i386 unshare */, 0x10000000 /* CLONE_NEWUSER */, 0));
        } else {
            printf("%s: unknown attack\n", a);
        }
    }
    return 0;
}
"#;

static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The compiled program under `tmp` (the test's CARGO_TARGET_TMPDIR), or why there is none.
pub fn binary(tmp: &Path) -> Result<&'static Path, String> {
    BIN.get_or_init(|| {
        cprog::compile(
            tmp,
            "sectest-attack",
            "attack",
            SOURCE,
            &["-no-pie", "-pthread", "-O1"],
        )
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(Clone::clone)
}

/// Copies the program to `/attack` in `rootfs`.
pub fn install(tmp: &Path, rootfs: &Path) -> Result<(), String> {
    cprog::install(binary(tmp)?, rootfs, "attack")
}
