//! What a migration asks of the host: the [`MigrationBackend`] trait, and [`LibxlBackend`], the
//! real one over libxl. [`super::FakeBackend`] implements it in memory for the protocol tests.

use std::os::fd::BorrowedFd;
use std::sync::Arc;

use super::error::MigrateError;
use super::saver::{SaverSink, hook_saver};
use crate::XenError;
use crate::ffi::{LibxlCtx, LogLevel, ProgressHook, SuspendAbi, XtlLogger};
use crate::host::DomId;

/// A domain's state as far as a migration cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum DomainState {
    /// Running (or blocked: scheduled normally).
    Running,
    /// Paused.
    Paused,
    /// Shut down for suspend: what a successful `libxl_domain_suspend` leaves.
    Suspended,
    /// Shut down for another reason (poweroff, crash, ...).
    ShutDown,
    /// There is no such domain.
    Gone,
}

/// The host operations of a migration, on either end. Errors carry the libxl code
/// ([`MigrateError::Backend`]) the receiver's status byte reports.
pub trait MigrationBackend {
    /// The domain named `query` (or with that id): its id and name.
    fn find_domain(&mut self, query: &str) -> Result<(DomId, String), MigrateError>;
    /// The config libxl stored for the domain, as JSON.
    fn config_json(&mut self, domid: DomId) -> Result<String, MigrateError>;
    /// A config given by the administrator, read and written back by libxl (a check).
    fn normalize_config_json(&mut self, json: &str) -> Result<String, MigrateError>;
    /// Live-suspends the domain into `fd`: returns when the whole stream is written and the
    /// domain is suspended.
    fn suspend(
        &mut self,
        domid: DomId,
        fd: BorrowedFd<'_>,
        debug: bool,
    ) -> Result<(), MigrateError>;
    /// Sends libxc's progress reports during [`suspend`](Self::suspend) to `sink` (`None`
    /// stops). A backend that cannot see them ignores this.
    fn watch_saver(&mut self, sink: Option<SaverSink>) {
        let _ = sink;
    }
    /// The domain's state now.
    fn domain_state(&mut self, domid: DomId) -> Result<DomainState, MigrateError>;
    /// Resumes a suspended domain where it stopped.
    fn resume(&mut self, domid: DomId) -> Result<(), MigrateError>;
    /// Renames a domain.
    fn rename(&mut self, domid: DomId, old: &str, new: &str) -> Result<(), MigrateError>;
    /// Destroys a domain.
    fn destroy(&mut self, domid: DomId) -> Result<(), MigrateError>;
    /// Creates a domain from `config_json` and restores it from `fd` (reading exactly the
    /// stream, nothing after it), left paused.
    fn restore(
        &mut self,
        config_json: &str,
        fd: BorrowedFd<'_>,
        stream_version: u32,
    ) -> Result<DomId, MigrateError>;
    /// Unpauses a domain.
    fn unpause(&mut self, domid: DomId) -> Result<(), MigrateError>;
}

/// The real backend: one libxl context in selective-reap mode (the program's own children,
/// such as the ssh transport, are its own to wait for), logging to stderr like xl.
pub struct LibxlBackend {
    ctx: LibxlCtx,
    abi: SuspendAbi,
    saver: ProgressHook,
}

impl std::fmt::Debug for LibxlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibxlBackend")
            .field("ctx", &self.ctx)
            .field("abi", &self.abi)
            .finish_non_exhaustive()
    }
}

impl LibxlBackend {
    /// Loads libxenlight and opens a context whose messages at `level` and above go to stderr
    /// (the receiver's stderr goes back over ssh to the sender's terminal, as xl's does); at
    /// [`LogLevel::Debug`] libxc's progress lines too (`xc: detail: Frames iteration 1: ...`).
    /// libxc's progress reaches [`MigrationBackend::watch_saver`] at every level.
    pub fn open(level: LogLevel, abi: SuspendAbi) -> Result<LibxlBackend, XenError> {
        let toollog = Arc::new(xen_sys::XenToolLog::load()?);
        let light = Arc::new(xen_sys::XenLight::load()?);
        crate::ffi::dom0::check()?;
        let stderr = XtlLogger::stderr(toollog, level, level <= LogLevel::Debug)?;
        let saver: ProgressHook = Arc::default();
        let logger = XtlLogger::with_progress(stderr, saver.clone());
        Ok(LibxlBackend {
            ctx: LibxlCtx::open(light, logger)?,
            abi,
            saver,
        })
    }
}

fn backend_error(domain: impl std::fmt::Display, err: XenError) -> MigrateError {
    match err {
        XenError::Libxl { call, code } => MigrateError::Backend {
            call,
            domain: domain.to_string(),
            code,
        },
        other => MigrateError::Backend {
            call: "libxl",
            domain: format!("{domain} ({other})"),
            code: xen_sys::v4_17::types::libxl_error_ERROR_FAIL,
        },
    }
}

impl MigrationBackend for LibxlBackend {
    fn find_domain(&mut self, query: &str) -> Result<(DomId, String), MigrateError> {
        let by_name = self
            .ctx
            .name_to_domid(query)
            .map_err(|e| backend_error(query, e))?;
        let domid = match by_name {
            Some(domid) => domid,
            None => {
                let id = query
                    .parse::<u32>()
                    .map_err(|_| MigrateError::NoSuchDomain {
                        query: query.to_string(),
                    })?;
                DomId(id)
            }
        };
        let name = self
            .ctx
            .domid_to_name(domid)
            .ok_or_else(|| MigrateError::NoSuchDomain {
                query: query.to_string(),
            })?;
        Ok((domid, String::from_utf8_lossy(&name).into_owned()))
    }

    fn config_json(&mut self, domid: DomId) -> Result<String, MigrateError> {
        self.ctx
            .domain_config_json(domid)
            .map_err(|e| backend_error(domid.0, e))
    }

    fn normalize_config_json(&mut self, json: &str) -> Result<String, MigrateError> {
        self.ctx
            .normalize_config_json(json)
            .map_err(|e| backend_error("(config file)", e))
    }

    fn suspend(
        &mut self,
        domid: DomId,
        fd: BorrowedFd<'_>,
        debug: bool,
    ) -> Result<(), MigrateError> {
        self.ctx
            .suspend(domid, fd, debug, self.abi)
            .map_err(|e| backend_error(domid.0, e))
    }

    fn watch_saver(&mut self, sink: Option<SaverSink>) {
        hook_saver(&self.saver, sink);
    }

    fn domain_state(&mut self, domid: DomId) -> Result<DomainState, MigrateError> {
        let info = self
            .ctx
            .domain_info(domid)
            .map_err(|e| backend_error(domid.0, e))?;
        Ok(match info {
            None => DomainState::Gone,
            Some(d) if d.shutdown || d.dying => {
                let suspend =
                    xen_sys::v4_17::types::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_SUSPEND;
                if d.shutdown && d.shutdown_reason == suspend {
                    DomainState::Suspended
                } else {
                    DomainState::ShutDown
                }
            }
            Some(d) if d.paused => DomainState::Paused,
            Some(_) => DomainState::Running,
        })
    }

    fn resume(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.ctx
            .resume(domid)
            .map_err(|e| backend_error(domid.0, e))
    }

    fn rename(&mut self, domid: DomId, old: &str, new: &str) -> Result<(), MigrateError> {
        self.ctx
            .rename(domid, old, new)
            .map_err(|e| backend_error(old, e))
    }

    fn destroy(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.ctx
            .destroy(domid)
            .map_err(|e| backend_error(domid.0, e))
    }

    fn restore(
        &mut self,
        config_json: &str,
        fd: BorrowedFd<'_>,
        stream_version: u32,
    ) -> Result<DomId, MigrateError> {
        self.ctx
            .create_restore(config_json, fd, stream_version)
            .map_err(|e| backend_error("(incoming)", e))
    }

    fn unpause(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.ctx
            .unpause(domid)
            .map_err(|e| backend_error(domid.0, e))
    }
}
