//! [`EngineBackend`]: the libxl backend with its suspend-and-save step replaced by xenadm's
//! engine. The stream it writes into the pump's pipe is libxl's v2 stream as
//! `libxl_domain_suspend` writes it for a PV guest (libxl header, LIBXC_CONTEXT, libxc's
//! stream from `xc_domain_save`, END), so any receiver, stock xl's included, restores it.

use std::fs::File;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::policy::{Action, Policy, PolicyCall, PolicyOptions, Reason, cap_for_share};
use crate::XenError;
use crate::ffi::{
    CreditParams, CreditScheduler, DomainSaver, LogLevel, ProgressHook, SaveCallbacks, SuspendAbi,
    SuspendChannel, XcInterface, XenStoreHandle, XtlLogger,
};
use crate::host::DomId;
use crate::migrate::backend::{DomainState, LibxlBackend, MigrationBackend};
use crate::migrate::error::MigrateError;
use crate::migrate::saver::{SaverEvent, SaverSink, hook_saver};
use crate::migrate::transport::Control;
use crate::stream::{Item, LibxlHeader, LibxlOptions, LibxlRecord, StreamWriter};
use xen_sys::v4_17::types::{
    SHUTDOWN_suspend, XEN_DOMINF_hvm_guest, XEN_DOMINF_shutdown, XEN_DOMINF_shutdownmask,
    XEN_DOMINF_shutdownshift,
};

/// How long the guest has to acknowledge the suspend request, and then to suspend (libxl's
/// 60 s each).
pub const SUSPEND_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the guest's state is read while waiting for it to suspend.
const POLL: Duration = Duration::from_millis(2);

/// The libxl backend, with xenadm's engine for the suspend-and-save step.
pub struct EngineBackend {
    inner: LibxlBackend,
    /// For the engine's own calls (domain state, scheduler, event channel).
    xc: XcInterface,
    /// For `xc_domain_save`, logging libxc's progress to `saver_hook`.
    save_xc: XcInterface,
    saver: DomainSaver,
    guest: Arc<xen_sys::XenGuest>,
    store: XenStoreHandle,
    saver_hook: ProgressHook,
    sink: Option<SaverSink>,
    options: PolicyOptions,
    control: Control,
}

impl std::fmt::Debug for EngineBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBackend")
            .field("inner", &self.inner)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl EngineBackend {
    /// The libxl backend ([`LibxlBackend::open`]) plus the engine: libxenguest, two hypercall
    /// interfaces and xenstore. `control`'s cancel is honoured at pass boundaries.
    pub fn open(
        level: LogLevel,
        abi: SuspendAbi,
        options: PolicyOptions,
        control: Control,
    ) -> Result<EngineBackend, XenError> {
        let inner = LibxlBackend::open(level, abi)?;
        let toollog = Arc::new(xen_sys::XenToolLog::load()?);
        let ctrl = Arc::new(xen_sys::XenCtrl::load()?);
        let guest = Arc::new(xen_sys::XenGuest::load()?);
        let store = Arc::new(xen_sys::XenStore::load()?);
        let xc = XcInterface::open(
            ctrl.clone(),
            XtlLogger::stderr(toollog.clone(), level, false)?,
        )?;
        let saver_hook: ProgressHook = Arc::default();
        let stderr = XtlLogger::stderr(toollog, level, level <= LogLevel::Debug)?;
        let save_xc =
            XcInterface::open(ctrl, XtlLogger::with_progress(stderr, saver_hook.clone()))?;
        Ok(EngineBackend {
            inner,
            xc,
            save_xc,
            saver: DomainSaver::new(guest.clone()),
            guest,
            store: XenStoreHandle::open(store)?,
            saver_hook,
            sink: None,
            options,
            control,
        })
    }
}

fn engine_error(domid: DomId, message: impl Into<String>) -> MigrateError {
    MigrateError::Engine {
        domain: domid.0.to_string(),
        message: message.into(),
    }
}

/// The shutdown code of a domain's flags, when it is shut down.
fn shutdown_code(flags: u32) -> Option<u32> {
    (flags & XEN_DOMINF_shutdown != 0)
        .then_some((flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask)
}

impl MigrationBackend for EngineBackend {
    fn find_domain(&mut self, query: &str) -> Result<(DomId, String), MigrateError> {
        let (domid, name) = self.inner.find_domain(query)?;
        let info = self
            .xc
            .domain(domid)
            .map_err(|e| engine_error(domid, e.to_string()))?
            .ok_or_else(|| MigrateError::NoSuchDomain {
                query: query.to_string(),
            })?;
        if info.flags & XEN_DOMINF_hvm_guest != 0 {
            return Err(MigrateError::Config {
                message: format!(
                    "{name} is an HVM or PVH guest: xenadm's engine saves PV guests only; migrate it with --engine libxl (the default)"
                ),
            });
        }
        Ok((domid, name))
    }

    fn config_json(&mut self, domid: DomId) -> Result<String, MigrateError> {
        self.inner.config_json(domid)
    }

    fn normalize_config_json(&mut self, json: &str) -> Result<String, MigrateError> {
        self.inner.normalize_config_json(json)
    }

    fn suspend(
        &mut self,
        domid: DomId,
        fd: BorrowedFd<'_>,
        debug: bool,
    ) -> Result<(), MigrateError> {
        let out =
            fd.try_clone_to_owned()
                .map(File::from)
                .map_err(|source| MigrateError::Local {
                    what: "duplicating the stream pipe",
                    source,
                })?;
        let mut writer = StreamWriter::new(&out);
        let write = |writer: &mut StreamWriter<&File>, item: Item| {
            writer
                .write_item(&item)
                .and_then(|()| writer.flush())
                .map_err(|e| engine_error(domid, e.to_string()))
        };
        write(
            &mut writer,
            Item::LibxlHeader(LibxlHeader::new(LibxlOptions::empty())),
        )?;
        write(&mut writer, Item::Libxl(LibxlRecord::LibxcContext))?;
        let mut cap = match self.options.auto_converge {
            true => Some(CapGuard::take(&self.xc, domid)?),
            false => None,
        };
        let channel_port = self.suspend_port(domid);
        let channel = match channel_port {
            Some(port) => {
                let evtchn = xen_sys::XenEvtchn::load()
                    .map(Arc::new)
                    .map_err(|e| engine_error(domid, e.to_string()))?;
                Some(
                    SuspendChannel::bind(&self.xc, self.guest.clone(), evtchn, domid, port)
                        .map_err(|e| engine_error(domid, e.to_string()))?,
                )
            }
            None => None,
        };
        let mut callbacks = Callbacks {
            policy: Policy::new(self.options),
            start: Instant::now(),
            control: &self.control,
            cap: cap.as_mut(),
            channel,
            store: &self.store,
            xc: &self.xc,
            domid,
            sink: self.sink.clone(),
            last: None,
            failure: None,
        };
        let saved = self
            .saver
            .save(&self.save_xc, fd, domid, true, debug, &mut callbacks);
        let (last, failure) = (callbacks.last, callbacks.failure.take());
        drop(callbacks);
        let restored = cap.take().map(CapGuard::restore).transpose();
        if let Err(e) = saved {
            if last.is_some_and(|d| d.reason == Reason::Cancelled) {
                return Err(MigrateError::Cancelled);
            }
            let mut message = e.to_string();
            if let Some(why) = failure {
                message = format!("{why} ({message})");
            } else if let Some(d) = last.filter(|d| d.action == Action::Abort) {
                message = format!("{} ({message})", crate::migrate::render::policy_text(&d));
            }
            if let Err(e) = restored {
                message.push_str(&format!("; restoring its CPU cap failed: {e}"));
            }
            return Err(engine_error(domid, message));
        }
        restored.map_err(|e| engine_error(domid, format!("restoring its CPU cap: {e}")))?;
        write(&mut writer, Item::Libxl(LibxlRecord::End))
    }

    fn watch_saver(&mut self, sink: Option<SaverSink>) {
        self.sink = sink.clone();
        hook_saver(&self.saver_hook, sink);
    }

    fn domain_state(&mut self, domid: DomId) -> Result<DomainState, MigrateError> {
        self.inner.domain_state(domid)
    }

    fn resume(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.inner.resume(domid)
    }

    fn rename(&mut self, domid: DomId, old: &str, new: &str) -> Result<(), MigrateError> {
        self.inner.rename(domid, old, new)
    }

    fn destroy(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.inner.destroy(domid)
    }

    fn restore(
        &mut self,
        config_json: &str,
        fd: BorrowedFd<'_>,
        stream_version: u32,
    ) -> Result<DomId, MigrateError> {
        self.inner.restore(config_json, fd, stream_version)
    }

    fn unpause(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.inner.unpause(domid)
    }
}

impl EngineBackend {
    /// The guest's suspend event channel (`device/suspend/event-channel`), if it offers one.
    fn suspend_port(&self, domid: DomId) -> Option<u32> {
        let path = format!(
            "{}/device/suspend/event-channel",
            self.store.domain_path(domid).ok()?
        );
        let value = self.store.read(&path).ok()??;
        std::str::from_utf8(&value).ok()?.trim().parse().ok()
    }
}

/// The guest's CPU cap while auto-converge lowers it, put back by [`CapGuard::restore`] or,
/// whatever happens, on drop.
struct CapGuard<'xc> {
    xc: &'xc XcInterface,
    domid: DomId,
    scheduler: CreditScheduler,
    original: CreditParams,
    vcpus: u32,
    changed: bool,
}

impl<'xc> CapGuard<'xc> {
    fn take(xc: &'xc XcInterface, domid: DomId) -> Result<CapGuard<'xc>, MigrateError> {
        let id = xc
            .sched_id()
            .map_err(|e| engine_error(domid, e.to_string()))?;
        let scheduler = CreditScheduler::from_id(id).ok_or_else(|| {
            engine_error(
                domid,
                format!("--auto-converge caps the guest with the credit or credit2 scheduler; this host runs scheduler {id}: migrate without --auto-converge"),
            )
        })?;
        let original = xc
            .credit_params(domid, scheduler)
            .map_err(|e| engine_error(domid, e.to_string()))?;
        let vcpus = xc
            .domain(domid)
            .ok()
            .flatten()
            .map_or(1, |d| d.nr_online_vcpus);
        Ok(CapGuard {
            xc,
            domid,
            scheduler,
            original,
            vcpus,
            changed: false,
        })
    }

    /// Caps the guest to `share` percent of what it had.
    fn apply(&mut self, share_percent: u8) -> Result<u16, XenError> {
        let cap = cap_for_share(self.original.cap, self.vcpus, share_percent);
        self.changed = true;
        self.xc.set_credit_params(
            self.domid,
            self.scheduler,
            CreditParams {
                cap,
                ..self.original
            },
        )?;
        Ok(cap)
    }

    fn restore(mut self) -> Result<(), XenError> {
        self.put_back()
    }

    fn put_back(&mut self) -> Result<(), XenError> {
        if !self.changed {
            return Ok(());
        }
        self.xc
            .set_credit_params(self.domid, self.scheduler, self.original)?;
        self.changed = false;
        Ok(())
    }
}

impl Drop for CapGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.put_back() {
            tracing::error!(
                domid = self.domid.0,
                "cannot restore the guest's CPU cap: {e}"
            );
        }
    }
}

/// The engine's answers to libxc during one save.
struct Callbacks<'a, 'xc> {
    policy: Policy,
    start: Instant,
    control: &'a Control,
    cap: Option<&'a mut CapGuard<'xc>>,
    channel: Option<SuspendChannel<'xc>>,
    store: &'a XenStoreHandle,
    xc: &'a XcInterface,
    domid: DomId,
    sink: Option<SaverSink>,
    last: Option<super::policy::Decision>,
    failure: Option<String>,
}

impl Callbacks<'_, '_> {
    /// The guest's state: `Some(code)` when shut down.
    fn shutdown(&self) -> Result<Option<u32>, String> {
        match self.xc.domain(self.domid) {
            Ok(Some(info)) => Ok(shutdown_code(info.flags)),
            Ok(None) => Err("the guest disappeared".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Waits until the guest is shut down for suspend (or for another reason: an error).
    fn wait_suspended(&self, deadline: Instant) -> Result<(), String> {
        loop {
            match self.shutdown()? {
                Some(code) if code == SHUTDOWN_suspend => return Ok(()),
                Some(code) => {
                    return Err(format!(
                        "the guest shut down (code {code}) instead of suspending"
                    ));
                }
                None if Instant::now() >= deadline => {
                    return Err(format!(
                        "the guest did not suspend within {} s",
                        SUSPEND_TIMEOUT.as_secs()
                    ));
                }
                None => std::thread::sleep(POLL),
            }
        }
    }

    /// libxl's PV suspend without an event channel: `control/shutdown` = "suspend", the guest
    /// acknowledges by clearing it, then shuts down for suspend.
    fn suspend_by_xenstore(&self) -> Result<(), String> {
        let path = format!(
            "{}/control/shutdown",
            self.store
                .domain_path(self.domid)
                .map_err(|e| e.to_string())?
        );
        self.store
            .write(&path, b"suspend")
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + SUSPEND_TIMEOUT;
        loop {
            let pending = self.store.read(&path).map_err(|e| e.to_string())?;
            let acknowledged = pending.as_deref().is_none_or(|v| v != b"suspend");
            if acknowledged || self.shutdown()?.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                // Take the request back, unless the guest took it meanwhile.
                if let Ok(Some(v)) = self.store.read(&path)
                    && v == b"suspend"
                {
                    let _ = self.store.write(&path, b"");
                }
                return Err(format!(
                    "the guest did not acknowledge the suspend request ({path}) within {} s: are its PV drivers running?",
                    SUSPEND_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(POLL);
        }
        self.wait_suspended(Instant::now() + SUSPEND_TIMEOUT)
    }

    fn emit(&self, event: SaverEvent) {
        if let Some(sink) = &self.sink {
            sink(&event);
        }
    }
}

impl SaveCallbacks for Callbacks<'_, '_> {
    fn suspend(&mut self) -> bool {
        let result = match &self.channel {
            Some(channel) => match channel.suspend(SUSPEND_TIMEOUT) {
                Ok(true) => self.wait_suspended(Instant::now() + SUSPEND_TIMEOUT),
                Ok(false) => Err(format!(
                    "the guest did not answer on its suspend event channel within {} s",
                    SUSPEND_TIMEOUT.as_secs()
                )),
                Err(e) => Err(e.to_string()),
            },
            None => self.suspend_by_xenstore(),
        };
        match result {
            Ok(()) => true,
            Err(why) => {
                self.failure = Some(why);
                false
            }
        }
    }

    fn precopy_policy(&mut self, iteration: u32, total_written: u64, dirty: Option<u64>) -> i32 {
        let call = PolicyCall {
            iteration,
            total_written,
            dirty_count: dirty,
            at: self.start.elapsed(),
        };
        let before = self.policy.cpu_share_percent();
        let mut decision = self.policy.decide(call, self.control.is_cancelled());
        if decision.cpu_share_percent != before
            && let Some(cap) = self.cap.as_deref_mut()
            && let Err(e) = cap.apply(decision.cpu_share_percent)
        {
            self.failure = Some(format!("capping the guest's CPU failed: {e}"));
            decision.action = Action::Abort;
        }
        self.last = Some(decision);
        self.emit(SaverEvent::Policy(decision));
        decision.xgs_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shutdown_code_is_read_from_the_flags() {
        let suspended = XEN_DOMINF_shutdown | (SHUTDOWN_suspend << XEN_DOMINF_shutdownshift);
        assert_eq!(shutdown_code(suspended), Some(SHUTDOWN_suspend));
        assert_eq!(shutdown_code(XEN_DOMINF_shutdown), Some(0));
        // Running: the code bits mean nothing without the shutdown flag.
        assert_eq!(
            shutdown_code(SHUTDOWN_suspend << XEN_DOMINF_shutdownshift),
            None
        );
    }
}
