//! `xenadm`: daily administration of Xen hosts.
//!
//! A thin frontend: it parses the command line, calls the xenadm library crates and renders
//! their typed results as text or JSON. Exit codes: 0 success, 1 failure (or a "no" answer),
//! 2 usage error. A closed pipe on stdout (`xenadm ... | head`) ends the command quietly
//! with 0, as Unix tools do.

#![forbid(unsafe_code)]

mod args;
mod commands;
mod dropin;
mod error;
mod output;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};
use crate::error::CliError;
use crate::output::Output;

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    // xentop's `-v` means "show vCPUs"; for `top` the global `-v` keeps that meaning instead
    // of raising the log level (XENADM_LOG still sets logging).
    if let Command::Top(args) = &mut cli.command {
        args.vcpus |= cli.global.verbose > 0;
        cli.global.verbose = 0;
    }
    init_logging(&cli);
    let out = Output::new(cli.global.json, cli.global.quiet);
    let result = match &cli.command {
        Command::Status => commands::status::run(&out),
        Command::Cpuid(cmd) => commands::cpuid::run(cmd, &out),
        Command::Image(cmd) => commands::image::run(cmd, &out),
        Command::Boot(args) => commands::boot::run(args, &out),
        Command::Vhostmd(cmd) => commands::vhostmd::run(cmd, &out),
        Command::List(args) => commands::list::run(args, &out),
        Command::Info(args) => commands::info::run(args, &out),
        Command::Top(args) => commands::top::run(args, &out),
        Command::Net(args) => commands::net::run(args, &out),
        Command::Exporter(args) => commands::exporter::run(args, &out),
        Command::Stream(cmd) => commands::stream::run(cmd, &out),
        Command::Migrate(args) => commands::migrate::run(args, cli.global.verbose, &out),
        Command::MigrateReceive(args) => commands::migrate::receive(args, cli.global.verbose),
        Command::MigrateResume(args) => commands::migrate::resume(args, cli.global.verbose, &out),
        Command::MigrateProbe(args) => commands::migrate_probe::run(args, &out),
        Command::Completions { shell } => commands::docs::completions(*shell),
        Command::Man { out_dir } => commands::docs::man(out_dir.as_deref()),
    };
    match result {
        Ok(code) => code.into(),
        // `xenadm ... | head`: the reader has all it wanted; end quietly like Unix tools.
        Err(err) if err.is_closed_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// `--help` and `--version` print to stdout with 0; a usage error gets the documented
/// `xenadm: error:` form on stderr and exit code 2.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let text = err.render().to_string();
        return match crate::output::write_stdout(text.as_bytes()) {
            Err(e) if !e.is_closed_pipe() => ExitCode::from(error::EXIT_FAILURE),
            _ => ExitCode::SUCCESS,
        };
    }
    let text = err.render().to_string();
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = write!(std::io::stderr().lock(), "{text}");
        return ExitCode::from(2);
    }
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let _ = write!(std::io::stderr().lock(), "xenadm: error: {text}");
    ExitCode::from(2)
}

/// `-v` raises the log level to info, `-vv` to debug; `XENADM_LOG` takes a full filter. With
/// neither, no subscriber is installed: the commands report through their own output, and
/// skipping the setup keeps start-up fast.
fn init_logging(cli: &Cli) {
    let from_env = std::env::var_os("XENADM_LOG").is_some();
    if cli.global.verbose == 0 && !from_env {
        return;
    }
    let level = if cli.global.verbose > 1 {
        "debug"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("XENADM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

/// Errors go to stderr: the message, its causes, and what to do about it.
fn report(err: &CliError) {
    let hint = err.hint();
    error::print_report(err, err, hint.as_slice());
}
