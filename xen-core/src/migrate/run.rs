//! `xenadm migrate` as one call, [`run`]: the whole sequence a frontend or an embedder would
//! otherwise write out again around [`send`](super::send).
//!
//! 1. The request is checked before anything happens: the pre-copy policy's options need
//!    [`Engine::Xenadm`] ([`PolicyRequest::resolve`]), and the suspend ABI (the request's, else
//!    `$XENADM_SUSPEND_ABI`, else the neutral call) must be one xenadm knows.
//! 2. One ssh master connection is opened for the preflight and the stream when both go over
//!    the default `ssh` ([`SharedSsh::for_migration`]); it lives until `run` returns.
//! 3. The preflight ([`preflight::check`]) and its [`Gate`]: a failed row or a preflight that
//!    could not run refuses before any byte moves; a table with warnings goes to
//!    [`RunHooks::on_preflight`] and the migration goes on.
//! 4. SIGINT and SIGTERM are turned into a cancel of `control` (only now: a Ctrl-C during
//!    the preflight ends the command, with nothing moved).
//! 5. The backend: libxl's `libxl_domain_suspend` or xenadm's own engine, with the policy.
//! 6. [`send`](super::send): the rune, the handshake, the stream, GO, and the rollback.

use std::time::Duration;

use super::backend::{LibxlBackend, MigrationBackend};
use super::engine::EngineBackend;
use super::engine::policy::PolicyOptions;
use super::error::MigrateError;
use super::outcome::Failure;
use super::progress::{ProgressSink, Summary};
use super::render::suspend_abi;
use super::sender::{SendOptions, send};
use super::transport::Control;
use crate::XenError;
use crate::ffi::{LogLevel, SuspendAbi};
use crate::preflight::{self, CheckOptions, Gate, MasterReady, PreflightReport, SharedSsh};

/// The environment variable that names the suspend ABI when the request does not.
pub const SUSPEND_ABI_ENV: &str = "XENADM_SUSPEND_ABI";

/// Who copies the guest's memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// `libxl_domain_suspend`, libxc's fixed policy (what xl does).
    #[default]
    Libxl,
    /// xenadm's pre-copy engine over libxenguest's `xc_domain_save` (PV guests), with a
    /// [`PolicyOptions`].
    Xenadm,
}

/// The pre-copy policy's options as an administrator gives them; each `None`/`false` leaves
/// the engine's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyRequest {
    /// Stop the live passes once the dirty pages' estimated copy time is at most this many ms.
    pub max_downtime_ms: Option<u64>,
    /// At most this many live passes, the first full one included (at least 1).
    pub max_passes: Option<u32>,
    /// Cap the guest's CPU while it dirties memory faster than the link carries it.
    pub auto_converge: bool,
    /// Cancel (the guest keeps running here) when the guest cannot converge.
    pub abort_if_not_converging: bool,
}

impl PolicyRequest {
    /// Whether any option was given.
    pub fn is_given(&self) -> bool {
        self.max_downtime_ms.is_some()
            || self.max_passes.is_some()
            || self.auto_converge
            || self.abort_if_not_converging
    }

    /// The policy for `engine`: `None` for libxl's (which has its own, fixed), the options over
    /// the defaults for xenadm's. Options given with the libxl engine are refused
    /// ([`MigrateError::PolicyNeedsEngine`]): libxl would silently ignore them.
    pub fn resolve(&self, engine: Engine) -> Result<Option<PolicyOptions>, MigrateError> {
        match engine {
            Engine::Libxl if self.is_given() => Err(MigrateError::PolicyNeedsEngine),
            Engine::Libxl => Ok(None),
            Engine::Xenadm => {
                let max_passes = match self.max_passes {
                    Some(0) => {
                        return Err(MigrateError::Config {
                            message: "the pre-copy policy needs at least 1 pass".to_string(),
                        });
                    }
                    Some(passes) => passes,
                    None => PolicyOptions::default().max_passes,
                };
                let options = PolicyOptions {
                    max_downtime: self.max_downtime_ms.map(Duration::from_millis),
                    max_passes,
                    auto_converge: self.auto_converge,
                    abort_if_not_converging: self.abort_if_not_converging,
                };
                Ok(Some(options))
            }
        }
    }
}

/// A migration to run with [`run`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MigrateRequest {
    /// The guest, the target and xl's options. Its `ssh_command` is xl's `-s` as given
    /// (`None` for the default `ssh`); [`run`] may replace it with the shared connection's.
    pub send: SendOptions,
    /// Run the preflight first and refuse on a failed row (`false`: `--no-check`).
    pub preflight: bool,
    /// The xenadm the preflight runs on the target (`xenadm migrate-probe`).
    pub remote_xenadm: String,
    /// Who copies the memory.
    pub engine: Engine,
    /// The pre-copy policy's options (only with [`Engine::Xenadm`]).
    pub policy: PolicyRequest,
    /// How `libxl_domain_suspend` is called; `None`: [`SUSPEND_ABI_ENV`], else the neutral
    /// call.
    pub suspend_abi: Option<SuspendAbi>,
    /// libxl's and libxc's log level on stderr.
    pub log_level: LogLevel,
}

impl MigrateRequest {
    /// A migration of `domain` to `host` with xl's defaults, the preflight and libxl's engine.
    pub fn new(domain: &str, host: &str) -> MigrateRequest {
        MigrateRequest {
            send: SendOptions::new(domain, host),
            preflight: true,
            remote_xenadm: "xenadm".to_string(),
            engine: Engine::Libxl,
            policy: PolicyRequest::default(),
            suspend_abi: None,
            log_level: LogLevel::Error,
        }
    }

    /// The preflight's options for this migration, over `ssh` (xl's `-s`: `None` is the
    /// default `ssh`, `""` a raw transport that cannot be probed).
    pub fn check_options(&self, ssh: Option<&str>) -> CheckOptions {
        CheckOptions::for_migration(&self.send.domain, &self.send.host, ssh, &self.remote_xenadm)
    }
}

/// Gets the line that says what a SIGINT or SIGTERM did (from the signal thread).
pub type SignalNote = Box<dyn Fn(&str) + Send>;

/// What [`run`] tells its caller while it works.
pub struct RunHooks {
    /// The preflight passed with something to say (a warn or unchecked row): its table, shown
    /// before the migration goes on.
    pub on_preflight: Box<dyn FnMut(&str)>,
    /// With `Some`, SIGINT and SIGTERM cancel the migration once the preflight is done (the
    /// signals are blocked in the calling thread, so call `run` before starting other
    /// threads), and this gets the line that tells the administrator what the signal did.
    pub on_signal: Option<SignalNote>,
    /// Phases and transfer progress, from the pump's thread too.
    pub progress: ProgressSink,
}

impl std::fmt::Debug for RunHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHooks")
            .field("on_signal", &self.on_signal.is_some())
            .finish_non_exhaustive()
    }
}

/// Why [`run`] did not move the guest. Every variant but [`RunError::Failed`] means nothing
/// was sent: the guest runs here as before.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The request is not one to run (the policy without xenadm's engine, an unknown suspend
    /// ABI).
    #[error("the migration request is not valid")]
    Invalid(#[source] MigrateError),
    /// The preflight could not run.
    #[error("cannot check {domain}")]
    Preflight {
        /// The guest.
        domain: String,
        /// Why.
        #[source]
        source: XenError,
    },
    /// The preflight refused: a row failed.
    #[error("migration of {domain} refused by the preflight")]
    Refused {
        /// The guest.
        domain: String,
        /// The preflight's report.
        report: Box<PreflightReport>,
        /// The table and the refusal line, for the administrator.
        text: String,
    },
    /// The migration could not be set up (Xen's libraries, the signals).
    #[error("cannot set up the migration")]
    Setup(#[source] XenError),
    /// The migration ran and failed; the failure says where the guest is and the fix.
    #[error("the migration failed")]
    Failed(#[source] Box<Failure>),
}

/// Runs a migration as `xenadm migrate` does (the steps are in the module's documentation).
/// `control` cancels it before GO from another thread (and from SIGINT/SIGTERM with
/// [`RunHooks::on_signal`]).
///
/// ```no_run
/// use xen_core::migrate::{self, Control, Engine, MigrateRequest, RunError, RunHooks};
///
/// // web1 to hostb over ssh with xenadm's engine and a 300 ms downtime target.
/// let mut request = MigrateRequest::new("web1", "hostb");
/// request.engine = Engine::Xenadm;
/// request.policy.max_downtime_ms = Some(300);
/// let hooks = RunHooks {
///     on_preflight: Box::new(|table| eprint!("{table}")),
///     on_signal: None,
///     progress: Box::new(|event| eprintln!("{event:?}")),
/// };
/// match migrate::run(&request, &Control::new(), hooks) {
///     Ok(summary) => println!("{}", migrate::summary_text(&summary, "hostb")),
///     Err(RunError::Failed(failure)) => eprint!("{}", migrate::failure_text(&failure)),
///     Err(other) => eprintln!("not moved: {other}"),
/// }
/// ```
pub fn run(
    request: &MigrateRequest,
    control: &Control,
    mut hooks: RunHooks,
) -> Result<Summary, RunError> {
    let policy = request
        .policy
        .resolve(request.engine)
        .map_err(RunError::Invalid)?;
    let env_abi = std::env::var(SUSPEND_ABI_ENV).ok();
    let abi = suspend_abi(request.suspend_abi, env_abi.as_deref()).map_err(RunError::Invalid)?;
    let given_ssh = request.send.ssh_command.as_deref();
    // The master (if any) connects while the preflight reads this host's facts; it lives until
    // this function returns.
    let (shared, ssh) = SharedSsh::for_migration(&request.send.host, given_ssh, request.preflight);
    if request.preflight {
        let master = shared.as_ref().map(SharedSsh::readiness);
        preflight_gate(request, ssh.as_deref(), master, &mut hooks.on_preflight)?;
    }
    if let Some(notify) = hooks.on_signal {
        control.cancel_on_signals(notify).map_err(|source| {
            RunError::Setup(XenError::from(MigrateError::Local {
                what: "watching SIGINT and SIGTERM",
                source,
            }))
        })?;
    }
    let mut backend: Box<dyn MigrationBackend> = match policy {
        None => Box::new(LibxlBackend::open(request.log_level, abi).map_err(RunError::Setup)?),
        Some(policy) => Box::new(
            EngineBackend::open(request.log_level, abi, policy, control.clone())
                .map_err(RunError::Setup)?,
        ),
    };
    let mut options = request.send.clone();
    options.ssh_command = ssh;
    send(backend.as_mut(), &options, control, hooks.progress).map_err(RunError::Failed)
}

/// The preflight before a migration: refuses on a failed row or when it cannot run, shows a
/// table that is not all pass.
fn preflight_gate(
    request: &MigrateRequest,
    ssh: Option<&str>,
    master: Option<MasterReady>,
    on_preflight: &mut dyn FnMut(&str),
) -> Result<(), RunError> {
    let domain = &request.send.domain;
    let mut options = request.check_options(ssh);
    options.ssh_master = master;
    let report = preflight::check(&options).map_err(|source| RunError::Preflight {
        domain: domain.clone(),
        source,
    })?;
    match Gate::of(&report, domain) {
        Gate::Proceed { show } => {
            if let Some(table) = show {
                on_preflight(&table);
            }
            Ok(())
        }
        Gate::Refuse { text } => Err(RunError::Refused {
            domain: domain.clone(),
            report: Box::new(report),
            text,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_needs_xenadms_engine() {
        let none = PolicyRequest::default();
        assert!(!none.is_given());
        assert_eq!(none.resolve(Engine::Libxl).unwrap(), None);
        assert_eq!(
            none.resolve(Engine::Xenadm).unwrap(),
            Some(PolicyOptions::default())
        );
        for given in [
            PolicyRequest {
                auto_converge: true,
                ..PolicyRequest::default()
            },
            PolicyRequest {
                max_downtime_ms: Some(300),
                ..PolicyRequest::default()
            },
            PolicyRequest {
                max_passes: Some(8),
                ..PolicyRequest::default()
            },
            PolicyRequest {
                abort_if_not_converging: true,
                ..PolicyRequest::default()
            },
        ] {
            assert!(given.is_given());
            assert!(matches!(
                given.resolve(Engine::Libxl),
                Err(MigrateError::PolicyNeedsEngine)
            ));
        }
        let all = PolicyRequest {
            max_downtime_ms: Some(300),
            max_passes: Some(8),
            auto_converge: true,
            abort_if_not_converging: true,
        };
        let options = all.resolve(Engine::Xenadm).unwrap().unwrap();
        assert_eq!(options.max_downtime, Some(Duration::from_millis(300)));
        assert_eq!(options.max_passes, 8);
        assert!(options.auto_converge && options.abort_if_not_converging);
        let zero = PolicyRequest {
            max_passes: Some(0),
            ..PolicyRequest::default()
        };
        assert!(zero.resolve(Engine::Xenadm).is_err());
    }

    #[test]
    fn a_bad_request_is_refused_before_anything_runs() {
        // No Xen, no ssh and no preflight are reached: the policy is checked first.
        let mut request = MigrateRequest::new("g1", "nohost.invalid");
        request.policy.auto_converge = true;
        let hooks = RunHooks {
            on_preflight: Box::new(|_| panic!("no preflight for an invalid request")),
            on_signal: None,
            progress: Box::new(|_| {}),
        };
        let err = run(&request, &Control::new(), hooks).unwrap_err();
        assert!(
            matches!(err, RunError::Invalid(MigrateError::PolicyNeedsEngine)),
            "{err:?}"
        );
    }

    #[test]
    fn check_options_follow_xl() {
        let mut request = MigrateRequest::new("g1", "hostb");
        request.remote_xenadm = "/opt/xenadm".into();
        let o = request.check_options(None);
        assert_eq!(o.ssh.as_deref(), Some("ssh"));
        assert_eq!(o.remote_xenadm, "/opt/xenadm");
        assert_eq!(request.check_options(Some("")).ssh, None);
    }
}
