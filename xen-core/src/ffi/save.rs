//! Saving a domain ourselves: libxenguest's `xc_domain_save` with Rust callbacks, the guest's
//! suspend event channel (libxenevtchn + libxenguest), and the credit schedulers' caps.
//!
//! | type | C handle | opened by | closed by |
//! |---|---|---|---|
//! | [`DomainSaver`] (per call) | `struct save_callbacks` | on the stack of [`DomainSaver::save`] | returns |
//! | [`SuspendChannel`] | `xenevtchn_handle` + bound port + lock file | `xenevtchn_open`, `xc_suspend_evtchn_init_exclusive` | `xc_suspend_evtchn_release`, `xenevtchn_close` |

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd as _, BorrowedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use xen_sys::v4_17::types::{
    XCFLAGS_DEBUG, XCFLAGS_LIVE, XEN_SCHEDULER_CREDIT, XEN_SCHEDULER_CREDIT2, XGS_POLICY_ABORT,
    precopy_stats, save_callbacks, xc_stream_type_t_XC_STREAM_PLAIN, xen_domctl_sched_credit,
    xen_domctl_sched_credit2, xenevtchn_handle,
};
use xen_sys::{XenEvtchn, XenGuest};

use super::XcInterface;
use super::errno_error;
use crate::XenError;
use crate::host::DomId;

/// What `xc_domain_save` asks of its caller while it saves (a plain, non-checkpointed stream:
/// libxc calls only these two).
pub trait SaveCallbacks {
    /// Suspends the guest; `true` once it is suspended.
    fn suspend(&mut self) -> bool;
    /// The pre-copy policy: `iteration` passes done, `total_written` pages sent, the dirty
    /// pages (`None` right after a pass). Returns an `XGS_POLICY_*` code.
    fn precopy_policy(&mut self, iteration: u32, total_written: u64, dirty: Option<u64>) -> i32;
}

/// `xc_domain_save` over an open hypercall interface.
#[derive(Debug)]
pub struct DomainSaver {
    guest: Arc<XenGuest>,
}

/// What the trampolines reach through libxc's `data` pointer.
struct Shim<'a> {
    callbacks: &'a mut dyn SaveCallbacks,
    panicked: bool,
}

/// libxc's `suspend` callback: 1 when suspended, 0 otherwise.
unsafe extern "C" fn suspend_shim(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `Shim` that `DomainSaver::save` put in the struct, alive and not
    // otherwise borrowed for the duration of xc_domain_save, which calls this on its thread.
    let shim = unsafe { &mut *data.cast::<Shim<'_>>() };
    if shim.panicked {
        return 0;
    }
    match catch_unwind(AssertUnwindSafe(|| shim.callbacks.suspend())) {
        Ok(done) => c_int::from(done),
        Err(_) => {
            shim.panicked = true;
            0
        }
    }
}

/// libxc's `precopy_policy` callback (`struct precopy_stats` by value).
unsafe extern "C" fn policy_shim(stats: precopy_stats, data: *mut c_void) -> c_int {
    // SAFETY: as in `suspend_shim`.
    let shim = unsafe { &mut *data.cast::<Shim<'_>>() };
    if shim.panicked {
        return XGS_POLICY_ABORT;
    }
    let dirty = u64::try_from(stats.dirty_count).ok();
    let total: u64 = stats.total_written;
    match catch_unwind(AssertUnwindSafe(|| {
        shim.callbacks.precopy_policy(stats.iteration, total, dirty)
    })) {
        Ok(code) => code,
        Err(_) => {
            shim.panicked = true;
            XGS_POLICY_ABORT
        }
    }
}

impl DomainSaver {
    /// Uses libxenguest (already loaded).
    pub fn new(guest: Arc<XenGuest>) -> DomainSaver {
        DomainSaver { guest }
    }

    /// Writes libxc's stream of `domid` to `fd`: live passes (when `live`) asking `callbacks`
    /// what to do, then the suspend through `callbacks` and the last copy. Returns when the
    /// stream is complete (the guest is then suspended) or failed.
    pub fn save(
        &self,
        xc: &XcInterface,
        fd: BorrowedFd<'_>,
        domid: DomId,
        live: bool,
        debug: bool,
        callbacks: &mut dyn SaveCallbacks,
    ) -> Result<(), XenError> {
        let mut shim = Shim {
            callbacks,
            panicked: false,
        };
        let mut table = save_callbacks {
            suspend: Some(suspend_shim),
            precopy_policy: Some(policy_shim),
            postcopy: None,
            checkpoint: None,
            wait_checkpoint: None,
            switch_qemu_logdirty: None,
            data: std::ptr::from_mut(&mut shim).cast(),
        };
        let flags = (if live { XCFLAGS_LIVE } else { 0 }) | (if debug { XCFLAGS_DEBUG } else { 0 });
        // SAFETY: the handle is open; `fd` is open for the call; `table` and the `shim` its
        // data points to live on this stack frame until xc_domain_save returns, and libxc
        // keeps no pointer to them afterwards. A plain stream of a PV guest calls only
        // `suspend` and `precopy_policy` (checked by `xc_domain_save`'s asserts for HVM,
        // which the engine refuses before).
        let rc = unsafe {
            self.guest.xc_domain_save(
                xc.as_ptr(),
                fd.as_raw_fd(),
                domid.0,
                flags,
                &mut table,
                xc_stream_type_t_XC_STREAM_PLAIN,
                -1,
            )
        };
        if shim.panicked {
            return Err(XenError::Call {
                call: "xc_domain_save",
                source: std::io::Error::other("a save callback panicked"),
            });
        }
        if rc != 0 {
            return Err(xc.error("xc_domain_save"));
        }
        Ok(())
    }
}

/// Which credit scheduler runs a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreditScheduler {
    /// credit (`XEN_SCHEDULER_CREDIT`).
    Credit,
    /// credit2 (`XEN_SCHEDULER_CREDIT2`), Xen's default.
    Credit2,
}

impl CreditScheduler {
    /// The scheduler of a `XEN_SCHEDULER_*` id, if it is one of the credit schedulers (the
    /// others have no cap).
    pub fn from_id(id: u32) -> Option<CreditScheduler> {
        match id {
            XEN_SCHEDULER_CREDIT => Some(CreditScheduler::Credit),
            XEN_SCHEDULER_CREDIT2 => Some(CreditScheduler::Credit2),
            _ => None,
        }
    }
}

/// A domain's credit parameters: weight and cap (percent of one physical CPU; 0 = no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditParams {
    /// Its weight.
    pub weight: u16,
    /// Its cap.
    pub cap: u16,
}

impl XcInterface {
    /// A domain's weight and cap under `scheduler`.
    pub fn credit_params(
        &self,
        domid: DomId,
        scheduler: CreditScheduler,
    ) -> Result<CreditParams, XenError> {
        match scheduler {
            CreditScheduler::Credit => {
                let mut sdom = xen_domctl_sched_credit { weight: 0, cap: 0 };
                // SAFETY: the handle is open and `sdom` is valid for writes.
                let rc = unsafe {
                    self.lib()
                        .xc_sched_credit_domain_get(self.as_ptr(), domid.0, &mut sdom)
                };
                if rc != 0 {
                    return Err(self.error("xc_sched_credit_domain_get"));
                }
                Ok(CreditParams {
                    weight: sdom.weight,
                    cap: sdom.cap,
                })
            }
            CreditScheduler::Credit2 => {
                let mut sdom = xen_domctl_sched_credit2 { weight: 0, cap: 0 };
                // SAFETY: as above.
                let rc = unsafe {
                    self.lib()
                        .xc_sched_credit2_domain_get(self.as_ptr(), domid.0, &mut sdom)
                };
                if rc != 0 {
                    return Err(self.error("xc_sched_credit2_domain_get"));
                }
                Ok(CreditParams {
                    weight: sdom.weight,
                    cap: sdom.cap,
                })
            }
        }
    }

    /// Sets a domain's weight and cap under `scheduler` (cap 0 lifts the cap).
    pub fn set_credit_params(
        &self,
        domid: DomId,
        scheduler: CreditScheduler,
        params: CreditParams,
    ) -> Result<(), XenError> {
        match scheduler {
            CreditScheduler::Credit => {
                let mut sdom = xen_domctl_sched_credit {
                    weight: params.weight,
                    cap: params.cap,
                };
                // SAFETY: the handle is open; `sdom` is read by the call.
                let rc = unsafe {
                    self.lib()
                        .xc_sched_credit_domain_set(self.as_ptr(), domid.0, &mut sdom)
                };
                if rc != 0 {
                    return Err(self.error("xc_sched_credit_domain_set"));
                }
            }
            CreditScheduler::Credit2 => {
                let mut sdom = xen_domctl_sched_credit2 {
                    weight: params.weight,
                    cap: params.cap,
                };
                // SAFETY: as above.
                let rc = unsafe {
                    self.lib()
                        .xc_sched_credit2_domain_set(self.as_ptr(), domid.0, &mut sdom)
                };
                if rc != 0 {
                    return Err(self.error("xc_sched_credit2_domain_set"));
                }
            }
        }
        Ok(())
    }
}

/// A guest's suspend event channel, bound here as libxl binds it: exclusive (a lock file per
/// domain), the initial notification eaten. Unbound and closed on drop.
#[derive(Debug)]
pub struct SuspendChannel<'xc> {
    xc: &'xc XcInterface,
    guest: Arc<XenGuest>,
    evtchn: Arc<XenEvtchn>,
    xce: NonNull<xenevtchn_handle>,
    domid: DomId,
    port: c_int,
    lockfd: c_int,
}

impl<'xc> SuspendChannel<'xc> {
    /// Binds the guest's remote `port` (from `device/suspend/event-channel`).
    pub fn bind(
        xc: &'xc XcInterface,
        guest: Arc<XenGuest>,
        evtchn: Arc<XenEvtchn>,
        domid: DomId,
        remote_port: u32,
    ) -> Result<SuspendChannel<'xc>, XenError> {
        // SAFETY: no logger (libxenevtchn then logs to stderr), flags 0.
        let xce = unsafe { evtchn.xenevtchn_open(std::ptr::null_mut(), 0) };
        let xce = NonNull::new(xce).ok_or_else(|| errno_error("xenevtchn_open"))?;
        let mut lockfd: c_int = -1;
        let remote = c_int::try_from(remote_port).unwrap_or(c_int::MAX);
        // SAFETY: both handles are open; `lockfd` is valid for writes.
        let port = unsafe {
            guest.xc_suspend_evtchn_init_exclusive(
                xc.as_ptr(),
                xce.as_ptr(),
                domid.0,
                remote,
                &mut lockfd,
            )
        };
        if port < 0 {
            let error = xc.error("xc_suspend_evtchn_init_exclusive");
            // SAFETY: the handle is ours and closed once; init released what it took.
            unsafe { evtchn.xenevtchn_close(xce.as_ptr()) };
            return Err(error);
        }
        Ok(SuspendChannel {
            xc,
            guest,
            evtchn,
            xce,
            domid,
            port,
            lockfd,
        })
    }

    /// Asks the guest to suspend and waits up to `timeout` for its answer on the channel.
    /// `Ok(false)` when it did not answer in time.
    pub fn suspend(&self, timeout: Duration) -> Result<bool, XenError> {
        let port = u32::try_from(self.port).unwrap_or_default();
        // SAFETY: the handle is open and the port bound to it.
        if unsafe { self.evtchn.xenevtchn_notify(self.xce.as_ptr(), port) } < 0 {
            return Err(errno_error("xenevtchn_notify"));
        }
        // SAFETY: the handle is open; its fd stays open while it is.
        let fd = unsafe { self.evtchn.xenevtchn_fd(self.xce.as_ptr()) };
        if fd < 0 {
            return Err(errno_error("xenevtchn_fd"));
        }
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1 as libc::nfds_t, millis) };
        if ready < 0 {
            return Err(errno_error("poll"));
        }
        if ready == 0 {
            return Ok(false);
        }
        // SAFETY: the handles are open; an event is pending, so this does not block long.
        if unsafe {
            self.guest
                .xc_await_suspend(self.xc.as_ptr(), self.xce.as_ptr(), self.port)
        } < 0
        {
            return Err(self.xc.error("xc_await_suspend"));
        }
        Ok(true)
    }
}

impl Drop for SuspendChannel<'_> {
    fn drop(&mut self) {
        // SAFETY: the handles are open; release unbinds the port and drops the lock once.
        unsafe {
            self.guest.xc_suspend_evtchn_release(
                self.xc.as_ptr(),
                self.xce.as_ptr(),
                self.domid.0,
                self.port,
                &mut self.lockfd,
            );
            self.evtchn.xenevtchn_close(self.xce.as_ptr());
        }
    }
}
