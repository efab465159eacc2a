//! The command line, defined once for parsing, completions and the man page.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Daily administration of Xen hosts.
#[derive(Debug, Parser)]
#[command(name = "xenadm", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Print machine-readable JSON instead of text (read commands).
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug). In `top`, -v shows the vCPUs as
    /// xentop's -v does (--vcpus); log output for `top` comes with XENADM_LOG.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr: no warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// The subcommands, xl style.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One screen about this host: CPU, and whether it is a Xen dom0.
    Status,
    /// CPUID dumps and cross-host feature masks for live migration.
    #[command(subcommand)]
    Cpuid(CpuidCommand),
    /// Disk images: real usage, overcommit, extent maps, safe growth, loop devices.
    #[command(subcommand)]
    Image(crate::commands::image::ImageCommand),
    /// Boot configuration: Xen boot parameters, validation, the GRUB menu and default.
    Boot(crate::commands::boot::BootArgs),
    /// Host metrics for guests (vhostmd): check a config, read a metrics disk.
    #[command(subcommand)]
    Vhostmd(crate::commands::vhostmd::VhostmdCommand),
    /// List domains, like `xl list`.
    List(crate::commands::list::ListArgs),
    /// Host facts, like `xl info`.
    Info(crate::commands::info::InfoArgs),
    /// Live domain statistics like xentop; `-b` prints xentop's batch format.
    Top(crate::commands::top::TopArgs),
    /// Every vif with its domain, bridge and counters.
    Net(crate::commands::net::NetArgs),
    /// Serve Prometheus metrics for the host and its domains.
    Exporter(crate::commands::exporter::ExporterArgs),
    /// Live-migrate a guest to another host, like `xl migrate` (same wire protocol), with
    /// progress, downtime, Ctrl-C cancel and a rollback that says where the guest is.
    Migrate(crate::commands::migrate::MigrateArgs),
    /// The target side of a migration (run by the sender over ssh), like `xl migrate-receive`.
    MigrateReceive(crate::commands::migrate::ReceiveArgs),
    /// Put a guest left behind by a failed migration back into service on this host.
    MigrateResume(crate::commands::migrate::ResumeArgs),
    /// xl save files and live migration streams: inspect, verify, relay.
    #[command(subcommand)]
    Stream(crate::commands::stream::StreamCommand),
    /// This host's facts for a migration source's preflight, as JSON (run over ssh by
    /// `xenadm migrate --check`).
    #[command(hide = true)]
    MigrateProbe(crate::commands::migrate_probe::MigrateProbeArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages generated from the command definitions.
    Man {
        /// Write xenadm.1 and one page per subcommand into this folder; without it, print
        /// xenadm.1 to stdout.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// `xenadm cpuid ...`
#[derive(Debug, Subcommand)]
pub enum CpuidCommand {
    /// Print this machine's CPUID, all CPUs, in the raw format of `cpuid -r`.
    Dump {
        /// Only the current CPU, as `cpuid -1r` prints it.
        #[arg(short = '1', long)]
        one: bool,
    },
    /// Compute the feature mask that lets a guest migrate between all the given hosts.
    Mask {
        /// One `cpuid -1r` dump per host.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output format (`--json` overrides it).
        #[arg(long, value_enum, default_value_t = MaskFormat::Xl)]
        format: MaskFormat,
        /// Also mask 7.0 EDX, 7.1 EAX, 0xd.1 EAX, 0x80000001 ECX/EDX, 0x80000007 EDX and
        /// 0x80000008 EBX.
        #[arg(long)]
        extended: bool,
    },
    /// For each masked feature: its names, which hosts have it and which lack it.
    Explain {
        /// One `cpuid -1r` dump per host.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Also cover the extended feature registers.
        #[arg(long)]
        extended: bool,
    },
    /// Can a guest started on the first host run on the second? Exit 1 if not.
    Fits {
        /// Dump of the host the guest starts on.
        guest_host: PathBuf,
        /// Dump of the host it would migrate to.
        target: PathBuf,
    },
    /// List every feature bit xenadm knows, with its Xen, xl.cfg and libvirt names.
    Features,
}

/// `xenadm cpuid mask --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MaskFormat {
    /// The xl.cfg `cpuid = [ ... ]` list, identical to xen_maskcalc.py.
    Xl,
    /// The xl.cfg `cpuid = "host,NAME=0,..."` string with Xen's feature names.
    XlNames,
    /// libvirt `<cpu mode='host-passthrough'>` with disabled features.
    Libvirt,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn test_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
