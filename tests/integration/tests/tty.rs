//! `terminal: true`: the pty master reaches `--console-socket` over SCM_RIGHTS and the
//! container's stdio and /dev/console are that terminal.

use std::time::Duration;

use kapsel_integration::console::create_with_terminal;
use kapsel_integration::ctx;
use serde_json::json;

// req: lnx-default-devices
// spec: process.terminal, process.consoleSize
#[test]
fn terminal_master_arrives_over_the_console_socket() {
    let Some(mut t) = ctx!("terminal_master_arrives_over_the_console_socket") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/terminal", json!(true));
    // /dev/console is the terminal itself (the pty bound onto it): same device numbers.
    b.sh("tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty; \
          [ -c /dev/console ] && [ \"$(stat -c %t:%T /dev/console)\" = \"$(stat -c %t:%T \"$(tty)\")\" ] \
          && echo console-ok");
    let id = t.id("tty");
    let (_sock_dir, received) = create_with_terminal(&mut t, &b, &id);
    assert!(
        received.target.to_string_lossy().ends_with("ptmx"),
        "the fd sent is not a pty master: {:?}",
        received.target
    );
    t.cmd(&["start", &id]).ok();
    let output = received.output().replace('\r', "");
    assert!(output.starts_with("/dev/pts/"), "tty output: {output:?}");
    assert!(
        output.contains("stdio-is-tty\nconsole-ok\n"),
        "tty output: {output:?}"
    );
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn terminal_without_console_socket_fails_create() {
    let Some(mut t) = ctx!("terminal_without_console_socket_fails_create") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/terminal", json!(true));
    let id = t.id("tty-nosock");
    let out = t.create(&b, &id);
    out.failed();
    assert_eq!(
        out.stderr_lines().len(),
        1,
        "one error line: {}",
        out.describe()
    );
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn missing_console_socket_fails_create_and_leaves_nothing() {
    let Some(mut t) = ctx!("missing_console_socket_fails_create_and_leaves_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/terminal", json!(true));
    let id = t.id("tty-gone");
    let missing = t.work().join("no-such.sock");
    let out = t
        .create_cmd(&b, &id, t.rt())
        .arg("--console-socket")
        .arg(&missing)
        .arg(&id)
        .run();
    out.failed();
    t.assert_no_leftovers(&id, &b, None);
}
