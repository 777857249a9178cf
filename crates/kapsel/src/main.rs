//! kapsel's command line: parse, set up logging, make one library call, map the
//! result to runc's output and exit codes. No logic of its own.

mod checkpoint_args;
mod cli;
mod go_flags;
mod present;
mod update_args;

use clap::Parser;
use cli::{Cli, Command, CreateArgs};
use libkapsel::container::{
    create, delete, events, exec, features, kill, pause, query, run, start, update,
};
use libkapsel::logging::{self, Format};
use libkapsel::state::dir::StateRoot;
use libkapsel::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if go_flags::may_need(&args[1..]) {
        use clap::CommandFactory;
        let tail = go_flags::normalize(&Cli::command(), args.split_off(1));
        args.extend(tail);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        #[cfg(not(feature = "cli-help"))]
        Err(_) if asks_for_help() => return brief_help(),
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
    // A failed `exec` exits 255, as runc's does: the codes below are the process's own.
    let failure = if matches!(cli.command, Some(Command::Exec(_))) {
        255
    } else {
        1
    };
    match dispatch(cli) {
        Ok(code) => {
            logging::flush();
            ExitCode::from(code)
        }
        Err(e) => {
            logging::error(&e.to_string());
            ExitCode::from(failure)
        }
    }
}

/// Whether the command line asks for help (`-h`, `--help` or `help`), in a build without
/// clap's help texts.
#[cfg(not(feature = "cli-help"))]
fn asks_for_help() -> bool {
    std::env::args()
        .skip(1)
        .any(|a| matches!(a.as_str(), "-h" | "--help" | "help"))
}

/// What a build without clap's help texts (the device profile) answers `--help` with:
/// one line naming the verbs, and success, so a script that probes `--help` goes on.
#[cfg(not(feature = "cli-help"))]
fn brief_help() -> ExitCode {
    use clap::CommandFactory;
    let command = Cli::command();
    let verbs: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    println!(
        "kapsel (help texts left out of this build, feature `cli-help`): kapsel [global options] {{{}}} [options] [args]",
        verbs.join("|")
    );
    ExitCode::SUCCESS
}

fn dispatch(cli: Cli) -> Result<u8> {
    if cli.version {
        present::out(&format!(
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
            present::print_json(&state.oci(status), true);
        }
        Command::Kill { all, id, signal } => {
            let sig = libkapsel::linux::signal::parse(signal.as_deref().unwrap_or("TERM"))
                .map_err(|e| e.in_container(&id, "kill"))?;
            kill::kill(&root, &id, sig, all)?;
        }
        Command::Delete { force, id } => delete::delete(&root, &id, force)?,
        Command::List { format, quiet } => present::list(&root, &format, quiet)?,
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
        } => present::print_ps(&root, &id, &format, &ps_args)?,
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
                present::out(&events::stats(&root, &id)?);
            } else {
                let every =
                    cli::parse_interval(&interval).map_err(|e| e.in_container(&id, "events"))?;
                events::stream(&root, &id, every, &mut std::io::stdout().lock())?;
            }
        }
        Command::Features => present::print_json(&features::features(), true),
        #[cfg(feature = "criu")]
        Command::Checkpoint(a) => {
            libkapsel::state::id::checked(&a.id, "checkpoint")?;
            libkapsel::container::checkpoint::checkpoint(&root, &a.id, &a.options(cli.criu))?;
        }
        #[cfg(feature = "criu")]
        Command::Restore(a) => {
            libkapsel::state::id::checked(&a.id, "restore")?;
            let code = libkapsel::container::restore::restore(
                &root,
                &a.id,
                &a.options(cli.criu, cgroups),
            )?;
            return Ok(code.clamp(0, 255) as u8);
        }
        #[cfg(not(feature = "criu"))]
        Command::Checkpoint(a) => {
            libkapsel::state::id::checked(&a.id, "checkpoint")?;
            return Err(Error::msg(checkpoint_args::absent()).in_container(&a.id, "checkpoint"));
        }
        #[cfg(not(feature = "criu"))]
        Command::Restore(a) => {
            libkapsel::state::id::checked(&a.id, "restore")?;
            return Err(Error::msg(checkpoint_args::absent()).in_container(&a.id, "restore"));
        }
        Command::Spec {
            bundle,
            rootless,
            seccomp,
        } => libkapsel::spec::default::write(bundle, rootless, seccomp)?,
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
