//! kapsel's command line: parse, set up logging, make one library call, map the
//! result to runc's output and exit codes. No logic of its own.

mod checkpoint_args;
mod cli;
mod update_args;

use clap::Parser;
use cli::{Cli, Command, CreateArgs};
use libkapsel::container::{
    create, delete, events, exec, features, kill, pause, ps, query, run, start, update,
};
use libkapsel::logging::{self, Format};
use libkapsel::state::dir::StateRoot;
use libkapsel::{Error, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // One line, like every other kapsel error: clap's first, without its prefix.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            eprintln!("{}", first.strip_prefix("error: ").unwrap_or(first));
            return ExitCode::from(1);
        }
    };
    let format = if cli.log_format == "json" {
        Format::Json
    } else {
        Format::Text
    };
    logging::init(cli.log.clone(), format, cli.debug);
    match dispatch(cli) {
        Ok(code) => {
            logging::flush();
            ExitCode::from(code)
        }
        Err(e) => {
            logging::error(&e.to_string());
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8> {
    if cli.version {
        out(&format!(
            "kapsel version {}\nspec: {}{}",
            env!("CARGO_PKG_VERSION"),
            libkapsel::state::OCI_VERSION,
            // The device profile (docs/embedded.md): `kapsel features` lists what it has.
            if cfg!(feature = "device") {
                "\nprofile: device"
            } else {
                ""
            }
        ));
        return Ok(0);
    }
    if !matches!(cli.log_format.as_str(), "text" | "json") {
        return Err(Error::msg(format!(
            "--log-format: unknown format `{}` (text or json)",
            cli.log_format
        )));
    }
    let rootless = match cli.rootless.as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => unprivileged(),
    };
    let cgroups = libkapsel::linux::cgroups::CgroupOptions {
        systemd: cli.systemd_cgroup || cli.cgroup_manager.as_deref() == Some("systemd"),
        rootless,
    };
    let root = StateRoot::new(state_root(cli.root));
    let Some(command) = cli.command else {
        return Err(Error::msg("no command given: see `kapsel --help`"));
    };
    if matches!(
        command,
        Command::Create(_) | Command::Run(_) | Command::Exec(_)
    ) {
        libkapsel::security::exe_guard::ensure_readonly_exe()?;
    }
    match command {
        Command::Create(a) => {
            create::create(&root, &a.id, &create_options(&a, cgroups))?;
        }
        Command::Start { id } => start::start(&root, &id)?,
        Command::State { id } => {
            let (state, status) = query::state(&root, &id)?;
            print_json(&state.oci(status), true);
        }
        Command::Kill { all, id, signal } => {
            let sig = libkapsel::linux::signal::parse(signal.as_deref().unwrap_or("TERM"))
                .map_err(|e| e.in_container(&id, "kill"))?;
            kill::kill(&root, &id, sig, all)?;
        }
        Command::Delete { force, id } => delete::delete(&root, &id, force)?,
        Command::List { format, quiet } => list(&root, &format, quiet)?,
        Command::Run(a) => {
            let mut create = create_options(&a.create, cgroups);
            create.relay_console = !a.detach;
            let opts = run::RunOptions {
                create,
                detach: a.detach,
                keep: a.keep,
                no_subreaper: a.no_subreaper,
            };
            let code = run::run(&root, &a.create.id, &opts)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::Exec(a) => {
            let a = *a;
            let opts = exec::ExecOptions {
                process: a.process,
                args: a.args,
                tty: a.tty,
                console_socket: a.console_socket,
                detach: a.detach,
                pid_file: a.pid_file,
                env: a.env,
                cwd: a.cwd,
                user: a.user,
                additional_gids: a.additional_gids,
                caps: a.cap,
                no_new_privs: a.no_new_privs,
                apparmor: a.apparmor,
                process_label: a.process_label,
                preserve_fds: a.preserve_fds,
                ignore_paused: a.ignore_paused,
                pidfd_socket: a.pidfd_socket,
                cgroups: a.cgroup,
            };
            let code = exec::exec(&root, &a.id, &opts)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::Pause { id } => pause::pause(&root, &id)?,
        Command::Resume { id } => pause::resume(&root, &id)?,
        Command::Ps {
            format,
            id,
            ps_args,
        } => print_ps(&root, &id, &format, &ps_args)?,
        Command::Update(a) => {
            let resources =
                update_args::resources(&a).map_err(|e| e.in_container(&a.id, "update"))?;
            update::update(&root, &a.id, &resources)?;
        }
        Command::Events {
            stats,
            interval,
            id,
        } => {
            if stats {
                out(&events::stats(&root, &id)?);
            } else {
                let every = parse_interval(&interval).map_err(|e| e.in_container(&id, "events"))?;
                events::stream(&root, &id, every, &mut std::io::stdout().lock())?;
            }
        }
        Command::Features => print_json(&features::features(), true),
        Command::Checkpoint(a) => {
            libkapsel::state::id::checked(&a.id, "checkpoint")?;
            return Err(
                Error::msg(checkpoint_args::NOT_SUPPORTED).in_container(&a.id, "checkpoint")
            );
        }
        Command::Restore(a) => {
            libkapsel::state::id::checked(&a.id, "restore")?;
            return Err(Error::msg(checkpoint_args::NOT_SUPPORTED).in_container(&a.id, "restore"));
        }
        Command::Spec {
            bundle,
            rootless,
            seccomp,
        } => write_spec(bundle, rootless, seccomp)?,
    }
    Ok(0)
}

/// `--root`, else /run/kapsel for root, else $XDG_RUNTIME_DIR/kapsel (an empty
/// XDG_RUNTIME_DIR counts as unset, as podman hands it to root).
fn state_root(flag: Option<PathBuf>) -> PathBuf {
    if let Some(r) = flag {
        return r;
    }
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
        if unprivileged() {
            return PathBuf::from(x).join("kapsel");
        }
    }
    PathBuf::from("/run/kapsel")
}

/// Not root of the host: a non-zero euid, or uid 0 inside a user namespace (rootless
/// podman runs the runtime there) unless USER says root. Such a caller can neither create
/// /run/kapsel nor, usually, cgroups.
fn unprivileged() -> bool {
    !nix::unistd::geteuid().is_root()
        || (!libkapsel::linux::userns::in_initial_userns()
            && std::env::var_os("USER").is_none_or(|u| u != "root"))
}

fn create_options(
    a: &CreateArgs,
    cgroups: libkapsel::linux::cgroups::CgroupOptions,
) -> create::CreateOptions {
    create::CreateOptions {
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        pidfd_socket: a.pidfd_socket.clone(),
        cgroups,
        relay_console: false,
    }
}

fn print_json<T: serde::Serialize>(value: &T, pretty: bool) {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.unwrap_or_default());
}

fn list(root: &StateRoot, format: &str, quiet: bool) -> Result<()> {
    let all = query::list(root)?;
    let mut out = std::io::stdout().lock();
    if quiet {
        for (s, _) in &all {
            let _ = writeln!(out, "{}", s.id);
        }
        return Ok(());
    }
    match format {
        "json" => {
            let items: Vec<_> = all.iter().map(|(s, st)| s.oci(*st)).collect();
            let _ = writeln!(out, "{}", serde_json::to_string(&items).unwrap_or_default());
        }
        "table" => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                .map(String::from)
                .to_vec()];
            for (s, st) in &all {
                let o = s.oci(*st);
                rows.push(vec![
                    s.id.clone(),
                    o.pid.to_string(),
                    st.to_string(),
                    s.bundle.display().to_string(),
                    s.created.clone(),
                    s.owner.clone(),
                ]);
            }
            let _ = out.write_all(table(&rows).as_bytes());
        }
        other => {
            return Err(Error::msg(format!(
                "list: unknown format `{other}` (table or json)"
            )))
        }
    }
    Ok(())
}

/// Columns padded like runc's tabwriter (minimum width 12, 3 spaces of padding).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        s.push('\n');
    }
    s
}

fn write_spec(bundle: Option<PathBuf>, rootless: bool, seccomp: bool) -> Result<()> {
    let dir = bundle.unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join(libkapsel::spec::CONFIG_FILE);
    if path.exists() {
        return Err(Error::msg(format!(
            "spec: `{}` exists: remove it first",
            path.display()
        )));
    }
    let mut config = libkapsel::spec::default::default_config(rootless);
    if seccomp {
        config["linux"]["seccomp"] = libkapsel::spec::default::default_seccomp();
    }
    let text = serde_json::to_string_pretty(&config).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|e| Error::io("write", &path, e))
}

fn print_ps(root: &StateRoot, id: &str, format: &str, ps_args: &[String]) -> Result<()> {
    let pids = ps::pids(root, id)?;
    match format {
        "json" => {
            out(&serde_json::to_string(&pids).unwrap_or_default());
            Ok(())
        }
        "table" => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".into()]
            } else {
                ps_args.to_vec()
            };
            let ps = ["/bin/ps", "/usr/bin/ps"]
                .into_iter()
                .find(|p| std::path::Path::new(p).exists())
                .unwrap_or("ps");
            let listing = std::process::Command::new(ps)
                .args(&args)
                .output()
                .map_err(|e| Error::io("run", ps, e).in_container(id, "ps"))?;
            let text = String::from_utf8_lossy(&listing.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or("");
            let col = header
                .split_whitespace()
                .position(|h| h == "PID")
                .unwrap_or(1);
            let wanted = pids.unwrap_or_default();
            out(header);
            for line in lines {
                let pid = line
                    .split_whitespace()
                    .nth(col)
                    .and_then(|p| p.parse::<i32>().ok());
                if pid.is_some_and(|p| wanted.contains(&p)) {
                    out(line);
                }
            }
            Ok(())
        }
        other => Err(
            Error::msg(format!("ps: unknown format `{other}` (table or json)"))
                .in_container(id, "ps"),
        ),
    }
}

/// `5s`, `500ms`, `1m`, `2`: an interval (plain numbers are seconds).
fn parse_interval(text: &str) -> Result<std::time::Duration> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, "s"), |i| t.split_at(i));
    let n: u64 = num.parse().map_err(|_| {
        Error::msg(format!(
            "--interval: `{text}` is not a duration (e.g. 5s, 500ms)"
        ))
    })?;
    let d = match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n * 60),
        _ => {
            return Err(Error::msg(format!(
                "--interval: unknown unit in `{text}` (ms, s, m)"
            )))
        }
    };
    if d.is_zero() {
        return Err(Error::msg("--interval must be greater than zero"));
    }
    Ok(d)
}

/// One line on stdout; a closed stdout (a pipe into `head`) is not an error worth a panic.
fn out(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
