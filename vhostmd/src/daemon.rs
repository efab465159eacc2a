//! The daemon: an update every period exactly (monotonic clock), SIGHUP reloads the
//! configuration, SIGINT/SIGTERM/SIGQUIT end it cleanly after the current update.
//!
//! Signals are blocked and read from a signalfd, so an update is never interrupted half-way
//! and the wait between updates ends at once when one arrives.

use std::ffi::CString;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{Pid, User};

use crate::action::ActionLimits;
use crate::collect::{CollectOptions, Collecting, Update};
use crate::config::Config;
use crate::disk::MetricsDisk;
use crate::error::VhostmdError;
use crate::log::chain;
use crate::virtio::VirtioServer;
use crate::vms::VmSource;

/// How the daemon runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DaemonOptions {
    /// The configuration file (read again on SIGHUP).
    pub config_path: PathBuf,
    /// The libvirt URI (`-c`), also the CONNECT token.
    pub connect: Option<String>,
    /// Stay in the foreground (`-d`); otherwise daemonise. (Where the log goes is the
    /// binary's choice: see [`crate::log`].)
    pub foreground: bool,
    /// Pid file (`-p`).
    pub pid_file: Option<PathBuf>,
    /// Drop to this user after creating the disk (`-u`).
    pub user: Option<String>,
    /// Longest time one action may run.
    pub action_timeout: Duration,
    /// Stop after this many updates (tests, benchmarks); `None` runs until a signal.
    pub max_updates: Option<u64>,
}

impl DaemonOptions {
    /// Options for a configuration file, otherwise as upstream's defaults (daemonised).
    pub fn new(config_path: PathBuf) -> DaemonOptions {
        DaemonOptions {
            config_path,
            connect: None,
            foreground: false,
            pid_file: None,
            user: None,
            action_timeout: Duration::from_secs(10),
            max_updates: None,
        }
    }
}

/// Upstream's pid file when none is given: `/var/run/vhostmd.pid`, only when run as root.
pub fn default_pid_file() -> Option<PathBuf> {
    nix::unistd::Uid::effective()
        .is_root()
        .then(|| PathBuf::from("/var/run/vhostmd.pid"))
}

/// A signal the daemon acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonSignal {
    /// SIGHUP: reload the configuration.
    Reload,
    /// SIGINT, SIGTERM or SIGQUIT: exit after the current update.
    Stop,
}

/// The daemon's signals, blocked and read through a signalfd.
#[derive(Debug)]
pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks SIGHUP, SIGINT, SIGTERM and SIGQUIT in this thread (call before starting
    /// threads, so they inherit the mask) and opens a signalfd for them. Child processes
    /// start with an empty mask (the standard library resets it).
    pub fn block() -> Result<Signals, VhostmdError> {
        let mut set = SigSet::empty();
        for s in [
            Signal::SIGHUP,
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGQUIT,
        ] {
            set.add(s);
        }
        set.thread_block()
            .map_err(|e| VhostmdError::system("cannot block signals", e))?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| VhostmdError::system("cannot create a signalfd", e))?;
        Ok(Signals { fd })
    }

    /// Waits up to `timeout` for a signal.
    pub fn wait(&self, timeout: Duration) -> Option<DaemonSignal> {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        let ready = poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        );
        if !matches!(ready, Ok(n) if n > 0) {
            return None;
        }
        let info = self.fd.read_signal().ok().flatten()?;
        let signo = i32::try_from(info.ssi_signo).ok()?;
        Some(if signo == Signal::SIGHUP as i32 {
            DaemonSignal::Reload
        } else {
            DaemonSignal::Stop
        })
    }
}

/// A pid file, removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes this process's id to `path`. An existing file naming a running process is an
    /// error; a stale one (upstream refuses to start) is replaced.
    pub fn create(path: &Path) -> Result<PidFile, VhostmdError> {
        if std::fs::metadata(path).is_ok() {
            PidFile::check_free(path)?;
            let _ = std::fs::remove_file(path);
        }
        let write_err = |source| VhostmdError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(write_err)?;
        std::io::Write::write_all(&mut file, format!("{}\n", std::process::id()).as_bytes())
            .map_err(write_err)?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl PidFile {
    /// [`VhostmdError::AlreadyRunning`] when `path` names another running process.
    pub fn check_free(path: &Path) -> Result<(), VhostmdError> {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid > 0
            && pid != std::process::id() as i32
            && alive(pid)
        {
            return Err(VhostmdError::AlreadyRunning {
                path: path.to_path_buf(),
                pid,
            });
        }
        Ok(())
    }
}

fn alive(pid: i32) -> bool {
    match nix::sys::signal::kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Switches to `user` (not root): its group, supplementary groups, then its uid.
pub fn drop_privileges(user: &str) -> Result<(), VhostmdError> {
    let fail = |message: String| VhostmdError::User {
        user: user.to_string(),
        message,
    };
    let entry = User::from_name(user)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("no such user".into()))?;
    if entry.uid.is_root() || entry.gid.as_raw() == 0 {
        return Err(fail("refusing to run as uid 0 or gid 0".into()));
    }
    let name = CString::new(user).map_err(|e| fail(e.to_string()))?;
    nix::unistd::setgid(entry.gid).map_err(|e| fail(format!("setgid: {e}")))?;
    nix::unistd::initgroups(&name, entry.gid).map_err(|e| fail(format!("initgroups: {e}")))?;
    nix::unistd::setuid(entry.uid).map_err(|e| fail(format!("setuid: {e}")))?;
    Ok(())
}

/// The `xl block-attach` command that gives a guest the metrics disk read-only.
pub fn block_attach_hint(disk: &Path) -> String {
    format!(
        "attach the metrics disk read-only to a Xen guest with: xl block-attach <domain> 'format=raw, vdev=xvdb, access=ro, target={}'",
        disk.display()
    )
}

/// A running daemon's state: configuration, disk, virtio server, VM source.
#[derive(Debug)]
pub struct Daemon {
    options: DaemonOptions,
    collecting: Collecting,
    disk: Option<MetricsDisk>,
    virtio: Option<VirtioServer>,
    vms: Box<dyn VmSource>,
    updates: u64,
}

impl Daemon {
    /// Creates the disk (vbd transport) and starts the virtio server (virtio transport).
    pub fn new(
        config: Config,
        options: DaemonOptions,
        vms: Box<dyn VmSource>,
    ) -> Result<Daemon, VhostmdError> {
        let disk = open_disk(&config)?;
        let virtio = start_virtio(&config)?;
        let collecting = Collecting::new(config, collect_options(&options));
        Ok(Daemon {
            options,
            collecting,
            disk,
            virtio,
            vms,
            updates: 0,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        self.collecting.config()
    }

    /// Updates done so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// One update: list the VMs, collect, write the disk, hand the parts to virtio.
    pub fn update_once(&mut self) -> Update {
        let snapshot = self.vms.snapshot();
        if let Some(e) = &snapshot.problem {
            tracing::error!("{}", chain(e));
        }
        let update = self.collecting.collect_snapshot(&snapshot);
        for e in &update.errors {
            tracing::warn!("{}", chain(e));
        }
        if let Some(disk) = &mut self.disk
            && let Err(e) = disk.update(update.document().as_bytes())
        {
            tracing::error!("{}", chain(&e));
        }
        if let Some(v) = &self.virtio {
            let parts: Vec<(u32, &str)> = update
                .vm_xml
                .iter()
                .map(|(vm, x)| (vm.id, x.as_str()))
                .collect();
            v.publish(&update.host_xml, &parts);
        }
        self.updates += 1;
        tracing::debug!("update {} done", self.updates);
        update
    }

    /// Reads the configuration file again; on error keeps the current one.
    pub fn reload(&mut self) {
        let config = match Config::read(&self.options.config_path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{}", chain(&e));
                tracing::warn!("configuration not reloaded; the old one stays in use");
                return;
            }
        };
        let old = self.collecting.config();
        if config.disk != old.disk || config.transports.vbd != old.transports.vbd {
            match open_disk(&config) {
                Ok(disk) => self.disk = disk,
                Err(e) => {
                    tracing::error!("{}", chain(&e));
                    return;
                }
            }
        }
        if config.virtio != old.virtio || config.transports.virtio != old.transports.virtio {
            self.virtio = None;
            match start_virtio(&config) {
                Ok(v) => self.virtio = v,
                Err(e) => tracing::error!("{}", chain(&e)),
            }
        }
        self.collecting = Collecting::new(config, collect_options(&self.options));
        tracing::info!(
            "configuration {} reloaded",
            self.options.config_path.display()
        );
    }

    /// Updates every period until a stop signal (or `max_updates`).
    pub fn run(&mut self, signals: &Signals) {
        let mut next = Instant::now();
        loop {
            self.update_once();
            if self.options.max_updates.is_some_and(|m| self.updates >= m) {
                return;
            }
            let period = Duration::from_secs(self.config().update_period_secs);
            next += period;
            let now = Instant::now();
            while next <= now {
                next += period;
            }
            loop {
                let left = next.saturating_duration_since(Instant::now());
                match signals.wait(left) {
                    Some(DaemonSignal::Stop) => {
                        tracing::debug!("stopping");
                        return;
                    }
                    Some(DaemonSignal::Reload) => {
                        self.reload();
                        next = Instant::now();
                    }
                    None if Instant::now() >= next => break,
                    None => {}
                }
            }
        }
    }
}

fn collect_options(options: &DaemonOptions) -> CollectOptions {
    CollectOptions {
        connect: options.connect.clone(),
        limits: ActionLimits {
            timeout: options.action_timeout,
            ..ActionLimits::default()
        },
        action_stderr: options.foreground,
    }
}

fn open_disk(config: &Config) -> Result<Option<MetricsDisk>, VhostmdError> {
    if !config.transports.vbd {
        return Ok(None);
    }
    MetricsDisk::create(&config.disk.path, config.disk.size_bytes).map(Some)
}

fn start_virtio(config: &Config) -> Result<Option<VirtioServer>, VhostmdError> {
    if !config.transports.virtio {
        return Ok(None);
    }
    VirtioServer::start(config.virtio.clone())
        .map(Some)
        .map_err(|e| VhostmdError::system("cannot start the virtio thread", e))
}

/// Runs the daemon as the `vhostmd` binary does: check the configuration (errors before
/// anything else), daemonise unless `foreground`, block signals, write the pid file, create
/// the disk, drop privileges, print the `xl block-attach` line, update until stopped.
pub fn run(options: DaemonOptions, mut vms: Box<dyn VmSource>) -> Result<(), VhostmdError> {
    let mut options = options;
    if let Ok(abs) = std::path::absolute(&options.config_path) {
        options.config_path = abs;
    }
    let config = Config::read(&options.config_path)?;
    // Everything that can be known before daemonising is checked here, so that the command's
    // exit status says it (after the fork the parent has already exited 0).
    vms.check()?;
    if let Some(p) = &options.pid_file {
        PidFile::check_free(p)?;
    }
    if !options.foreground {
        nix::unistd::daemon(false, false)
            .map_err(|e| VhostmdError::system("cannot daemonise", e))?;
    }
    let signals = Signals::block()?;
    let _pid_file = match &options.pid_file {
        Some(p) => Some(PidFile::create(p)?),
        None => None,
    };
    // After the fork, before giving up root: privileged handles (Xen) open here.
    vms.open()?;
    let user = options.user.clone();
    let disk_path = config.transports.vbd.then(|| config.disk.path.clone());
    let mut daemon = Daemon::new(config, options, vms)?;
    if let Some(user) = &user {
        drop_privileges(user)?;
    }
    if let Some(path) = disk_path {
        tracing::info!("{}", block_attach_hint(&path));
    }
    daemon.run(&signals);
    Ok(())
}
