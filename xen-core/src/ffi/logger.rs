//! xentoollog loggers: where libxenctrl and libxl send their messages.
//!
//! Without a logger of ours, libxenctrl writes straight to the process's stderr, which a library
//! must not do. [`XtlLogger::tracing`] forwards every message to [`tracing`] instead (the CLI
//! decides what to show); [`XtlLogger::stderr`] is libxentoollog's own stdio logger, for
//! commands that want xl's output (e.g. migration progress).

use std::ffi::{CStr, c_char, c_int, c_ulong};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, PoisonError};

use xen_sys::XenToolLog;
use xen_sys::v4_17::types::{
    __va_list_tag, xentoollog_level, xentoollog_level_XTL_CRITICAL, xentoollog_level_XTL_DEBUG,
    xentoollog_level_XTL_DETAIL, xentoollog_level_XTL_ERROR, xentoollog_level_XTL_INFO,
    xentoollog_level_XTL_NOTICE, xentoollog_level_XTL_PROGRESS, xentoollog_level_XTL_VERBOSE,
    xentoollog_level_XTL_WARN, xentoollog_logger, xentoollog_logger_stdiostream,
};

use crate::XenError;

unsafe extern "C" {
    // libc's vsnprintf. On x86_64 (the only target of the v4_17 bindings) a `va_list`
    // parameter is passed as a pointer to its `__va_list_tag`, which is exactly what
    // xentoollog hands to `vmessage`, so it can be forwarded unchanged.
    fn vsnprintf(
        buffer: *mut c_char,
        size: usize,
        format: *const c_char,
        args: *mut __va_list_tag,
    ) -> c_int;
}

/// A message level of xentoollog, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LogLevel {
    /// `XTL_DEBUG`.
    Debug,
    /// `XTL_VERBOSE`.
    Verbose,
    /// `XTL_DETAIL`.
    Detail,
    /// `XTL_PROGRESS` (xl's default level).
    Progress,
    /// `XTL_INFO`.
    Info,
    /// `XTL_NOTICE`.
    Notice,
    /// `XTL_WARN`.
    Warn,
    /// `XTL_ERROR`.
    Error,
    /// `XTL_CRITICAL`.
    Critical,
}

/// Each level with its C value.
const LEVELS: [(LogLevel, xentoollog_level); 9] = [
    (LogLevel::Debug, xentoollog_level_XTL_DEBUG),
    (LogLevel::Verbose, xentoollog_level_XTL_VERBOSE),
    (LogLevel::Detail, xentoollog_level_XTL_DETAIL),
    (LogLevel::Progress, xentoollog_level_XTL_PROGRESS),
    (LogLevel::Info, xentoollog_level_XTL_INFO),
    (LogLevel::Notice, xentoollog_level_XTL_NOTICE),
    (LogLevel::Warn, xentoollog_level_XTL_WARN),
    (LogLevel::Error, xentoollog_level_XTL_ERROR),
    (LogLevel::Critical, xentoollog_level_XTL_CRITICAL),
];

impl LogLevel {
    fn to_c(self) -> xentoollog_level {
        LEVELS
            .iter()
            .find(|(level, _)| *level == self)
            .map_or(xentoollog_level_XTL_ERROR, |l| l.1)
    }

    /// The level of a C value; unknown values count as errors, so that nothing is hidden.
    pub(crate) fn from_c(value: xentoollog_level) -> LogLevel {
        LEVELS
            .iter()
            .find(|(_, c)| *c == value)
            .map_or(LogLevel::Error, |l| l.0)
    }
}

/// A xentoollog logger to hand to `xc_interface_open` or `libxl_ctx_alloc`. It must outlive
/// every handle it was given to; the owner types in this module keep it next to the handle.
#[derive(Debug)]
pub struct XtlLogger {
    kind: LoggerKind,
}

#[derive(Debug)]
enum LoggerKind {
    /// Ours, boxed so that its address is stable.
    Tracing(Box<TracingLogger>),
    /// libxentoollog's stdio logger over a `FILE` of ours (a duplicate of fd 2).
    Stdio {
        toollog: Arc<XenToolLog>,
        logger: NonNull<xentoollog_logger_stdiostream>,
        file: NonNull<libc::FILE>,
    },
    /// Ours in front of another: messages go to the inner logger unchanged, progress calls to
    /// a hook as well.
    Progress {
        shim: Box<ProgressShim>,
        _inner: Box<XtlLogger>,
    },
}

// SAFETY: the tracing logger has no mutable state; the stdio logger writes through a FILE,
// whose stdio functions lock it; the progress shim's pointer is to its inner logger, boxed
// next to it and moved with it, and its hook is behind a mutex and Send. None is tied to the
// thread that created it.
unsafe impl Send for LoggerKind {}

/// The logger's C vtable comes first, so a pointer to it is a pointer to the whole struct.
#[repr(C)]
#[derive(Debug)]
struct TracingLogger {
    vtable: xentoollog_logger,
}

/// One call of a logger's `progress` function: libxc's progress while it saves a domain
/// ("Frames iteration 2", 1024 of 3072 pages), relayed by libxl from its save helper.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressCall {
    /// Who reports (`"xc"` for libxc).
    pub context: String,
    /// What it is doing (`"Frames iteration 2"`, `"Domain now suspended"`, ...).
    pub doing_what: String,
    /// Percent done, as xentoollog computed it from `done` and `total`.
    pub percent: i32,
    /// Units done.
    pub done: u64,
    /// Units in all (0 for one-off events).
    pub total: u64,
}

/// Where [`XtlLogger::with_progress`] sends progress calls: set and cleared while the logger is
/// in use (called on whichever thread is inside libxl; it must not call back into libxl).
pub type ProgressHook = Arc<Mutex<Option<Box<dyn FnMut(&ProgressCall) + Send>>>>;

/// The vtable of [`LoggerKind::Progress`] first, so a pointer to it is a pointer to the whole.
#[repr(C)]
struct ProgressShim {
    vtable: xentoollog_logger,
    /// The inner logger's vtable (it lives in the same [`LoggerKind::Progress`]).
    inner: *mut xentoollog_logger,
    hook: ProgressHook,
}

impl std::fmt::Debug for ProgressShim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressShim").finish_non_exhaustive()
    }
}

impl XtlLogger {
    /// `inner` with its progress calls also handed to `hook` (when one is set): how the
    /// migration sender sees libxc's passes and the moment the guest is suspended, while
    /// messages keep going where `inner` sends them.
    pub fn with_progress(inner: XtlLogger, hook: ProgressHook) -> XtlLogger {
        let inner = Box::new(inner);
        let shim = Box::new(ProgressShim {
            vtable: xentoollog_logger {
                vmessage: Some(shim_vmessage),
                progress: Some(shim_progress),
                destroy: Some(no_destroy),
            },
            inner: inner.as_ptr(),
            hook,
        });
        XtlLogger {
            kind: LoggerKind::Progress {
                shim,
                _inner: inner,
            },
        }
    }

    /// A logger that forwards libxenctrl and libxl messages to `tracing` (target `xen`):
    /// errors and critical messages as errors, warnings as warnings, notices and info as info,
    /// the rest as debug.
    pub fn tracing() -> XtlLogger {
        let logger = Box::new(TracingLogger {
            vtable: xentoollog_logger {
                vmessage: Some(tracing_vmessage),
                progress: Some(tracing_progress),
                // Drop frees the box; nothing in Xen destroys a logger it did not create.
                destroy: Some(no_destroy),
            },
        });
        XtlLogger {
            kind: LoggerKind::Tracing(logger),
        }
    }

    /// libxentoollog's stdio logger on stderr, as xl uses it: messages at `min_level` and above,
    /// progress lines unless `show_progress` is false.
    pub fn stderr(
        toollog: Arc<XenToolLog>,
        min_level: LogLevel,
        show_progress: bool,
    ) -> Result<XtlLogger, XenError> {
        // SAFETY: dup of fd 2 has no preconditions; a failure returns -1.
        let fd = unsafe { libc::dup(libc::STDERR_FILENO) };
        if fd < 0 {
            return Err(call_error("dup"));
        }
        // SAFETY: `fd` is ours; the mode is a valid C string.
        let file = unsafe { libc::fdopen(fd, c"w".as_ptr()) };
        let Some(file) = NonNull::new(file) else {
            let error = call_error("fdopen");
            // SAFETY: fdopen failed, so `fd` is still ours to close.
            unsafe { libc::close(fd) };
            return Err(error);
        };
        let flags = if show_progress {
            0
        } else {
            xen_sys::v4_17::types::XTL_STDIOSTREAM_HIDE_PROGRESS
        };
        // SAFETY: `file` is an open FILE that outlives the logger (closed in Drop after it).
        let logger =
            unsafe { toollog.xtl_createlogger_stdiostream(file.as_ptr(), min_level.to_c(), flags) };
        let Some(logger) = NonNull::new(logger) else {
            let error = call_error("xtl_createlogger_stdiostream");
            // SAFETY: the FILE is ours and no logger uses it.
            unsafe { libc::fclose(file.as_ptr()) };
            return Err(error);
        };
        Ok(XtlLogger {
            kind: LoggerKind::Stdio {
                toollog,
                logger,
                file,
            },
        })
    }

    /// The pointer to pass to the C libraries.
    pub(crate) fn as_ptr(&self) -> *mut xentoollog_logger {
        match &self.kind {
            LoggerKind::Tracing(logger) => std::ptr::from_ref::<TracingLogger>(logger)
                .cast_mut()
                .cast(),
            LoggerKind::Stdio { logger, .. } => logger.as_ptr().cast(),
            LoggerKind::Progress { shim, .. } => {
                std::ptr::from_ref::<ProgressShim>(shim).cast_mut().cast()
            }
        }
    }
}

impl Drop for XtlLogger {
    fn drop(&mut self) {
        if let LoggerKind::Stdio {
            toollog,
            logger,
            file,
        } = &self.kind
        {
            // SAFETY: the logger came from xtl_createlogger_stdiostream and is destroyed once;
            // no handle uses it any more (owners drop their handle first). Destroying it does
            // not close the FILE, which is ours to close afterwards.
            unsafe {
                toollog.xtl_logger_destroy(logger.as_ptr().cast());
                libc::fclose(file.as_ptr());
            }
        }
    }
}

/// An `io::Error` from errno after a failed call.
fn call_error(call: &'static str) -> XenError {
    XenError::Call {
        call,
        source: std::io::Error::last_os_error(),
    }
}

/// Text of a C string that may be NULL.
///
/// # Safety
///
/// `text` is NULL or points to a NUL-terminated string.
unsafe fn lossy(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated, per the caller.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// Emits one message at the `tracing` level matching `level`.
fn emit(level: LogLevel, context: &str, errno: c_int, message: &str) {
    let os_error = (errno > 0).then(|| std::io::Error::from_raw_os_error(errno).to_string());
    let os_error = os_error.as_deref().unwrap_or("");
    match level {
        LogLevel::Error | LogLevel::Critical => {
            tracing::error!(target: "xen", context, os_error, "{message}");
        }
        LogLevel::Warn => tracing::warn!(target: "xen", context, os_error, "{message}"),
        LogLevel::Notice | LogLevel::Info => {
            tracing::info!(target: "xen", context, os_error, "{message}");
        }
        _ => tracing::debug!(target: "xen", context, os_error, "{message}"),
    }
}

/// `vmessage` of the tracing logger.
unsafe extern "C" fn tracing_vmessage(
    _logger: *mut xentoollog_logger,
    level: xentoollog_level,
    errnoval: c_int,
    context: *const c_char,
    format: *const c_char,
    args: *mut __va_list_tag,
) {
    // Longer messages are cut (vsnprintf always terminates).
    let mut buffer = [0 as c_char; 1024];
    // SAFETY: xentoollog passes a printf format with its matching va_list; the buffer size is
    // given, and vsnprintf writes at most that many bytes including the terminator.
    let written = unsafe { vsnprintf(buffer.as_mut_ptr(), buffer.len(), format, args) };
    if written < 0 {
        return;
    }
    // SAFETY: vsnprintf NUL-terminated the buffer; `context` is NULL or a C string.
    let (message, context) = unsafe { (lossy(buffer.as_ptr()), lossy(context)) };
    emit(LogLevel::from_c(level), &context, errnoval, &message);
}

/// `progress` of the tracing logger.
unsafe extern "C" fn tracing_progress(
    _logger: *mut xentoollog_logger,
    context: *const c_char,
    doing_what: *const c_char,
    percent: c_int,
    done: c_ulong,
    total: c_ulong,
) {
    // SAFETY: both are NULL or C strings, per xentoollog.h.
    let (context, doing_what) = unsafe { (lossy(context), lossy(doing_what)) };
    tracing::debug!(target: "xen", context, percent, done, total, "{doing_what}");
}

/// `vmessage` of the progress shim: the inner logger's, with the same arguments (the va_list
/// is passed on unread).
unsafe extern "C" fn shim_vmessage(
    logger: *mut xentoollog_logger,
    level: xentoollog_level,
    errnoval: c_int,
    context: *const c_char,
    format: *const c_char,
    args: *mut __va_list_tag,
) {
    // SAFETY: xentoollog calls us with the pointer we handed out, which points to a live
    // ProgressShim (the owning XtlLogger outlives every handle given it).
    let inner = unsafe { (*logger.cast::<ProgressShim>()).inner };
    // SAFETY: `inner` points to the inner logger's vtable, alive as long as the shim; the
    // arguments are xentoollog's own, forwarded unchanged and unread.
    unsafe {
        if let Some(vmessage) = (*inner).vmessage {
            vmessage(inner, level, errnoval, context, format, args);
        }
    }
}

/// `progress` of the progress shim: to the hook, then to the inner logger.
unsafe extern "C" fn shim_progress(
    logger: *mut xentoollog_logger,
    context: *const c_char,
    doing_what: *const c_char,
    percent: c_int,
    done: c_ulong,
    total: c_ulong,
) {
    // SAFETY: as in shim_vmessage, `logger` is our live ProgressShim.
    let shim = unsafe { &*logger.cast::<ProgressShim>() };
    // SAFETY: both are NULL or C strings, per xentoollog.h.
    let (context_text, doing_what_text) = unsafe { (lossy(context), lossy(doing_what)) };
    let call = ProgressCall {
        context: context_text,
        doing_what: doing_what_text,
        percent,
        done,
        total,
    };
    if let Some(hook) = shim
        .hook
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        hook(&call);
    }
    // SAFETY: the inner logger's vtable is alive as long as the shim; the arguments are
    // xentoollog's own.
    unsafe {
        if let Some(progress) = (*shim.inner).progress {
            progress(shim.inner, context, doing_what, percent, done, total);
        }
    }
}

/// `destroy` of the tracing logger: nothing, the owning [`XtlLogger`] frees it.
unsafe extern "C" fn no_destroy(_logger: *mut xentoollog_logger) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_and_unknown_values_are_errors() {
        for (level, c) in LEVELS {
            assert_eq!(level.to_c(), c);
            assert_eq!(LogLevel::from_c(c), level);
        }
        assert_eq!(LogLevel::Debug.to_c(), 1);
        assert_eq!(LogLevel::Critical.to_c(), 9);
        assert_eq!(LogLevel::from_c(0), LogLevel::Error);
        assert_eq!(LogLevel::from_c(999), LogLevel::Error);
        assert!(LogLevel::Progress < LogLevel::Warn);
    }

    /// Runs `log` with a subscriber that captures every event as text.
    fn captured(log: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    /// libxentoollog, or `None` (after saying SKIPPED) where it is not installed, which
    /// fails instead when XENADM_REQUIRE_TOOLS=1.
    fn toollog_or_skip() -> Option<libloading::Library> {
        // SAFETY: loading the stable xentoollog library runs no special initialisers.
        let Ok(toollog) = (unsafe { libloading::Library::new("libxentoollog.so.1") }) else {
            assert!(
                std::env::var_os("XENADM_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
                "libxentoollog.so.1 is required (XENADM_REQUIRE_TOOLS=1)"
            );
            eprintln!("SKIPPED: libxentoollog.so.1 not installed (apt-get install libxen-dev)");
            return None;
        };
        Some(toollog)
    }

    #[test]
    fn c_messages_are_formatted_and_forwarded_to_tracing() {
        // libxentoollog's own variadic entry point builds the va_list our vmessage formats.
        let Some(toollog) = toollog_or_skip() else {
            return;
        };
        type XtlLog = unsafe extern "C" fn(
            *mut xentoollog_logger,
            xentoollog_level,
            c_int,
            *const c_char,
            *const c_char,
            ...
        );
        // SAFETY: xtl_log has exactly this C signature (xentoollog.h).
        let xtl_log = unsafe { toollog.get::<XtlLog>(b"xtl_log") }.unwrap();
        let logger = XtlLogger::tracing();
        let long = std::ffi::CString::new("x".repeat(3000)).unwrap();
        let text = captured(|| {
            // SAFETY: the logger is live; the format's conversions match the arguments.
            unsafe {
                xtl_log(
                    logger.as_ptr(),
                    xentoollog_level_XTL_ERROR,
                    libc::ENOENT,
                    c"xc".as_ptr(),
                    c"cannot open %s (%d tries, %lu bytes)".as_ptr(),
                    c"/dev/xen/privcmd".as_ptr(),
                    3 as c_int,
                    4096 as c_ulong,
                );
                xtl_log(
                    logger.as_ptr(),
                    xentoollog_level_XTL_DETAIL,
                    -1,
                    std::ptr::null(),
                    c"%s".as_ptr(),
                    long.as_ptr(),
                );
            }
        });
        let mut lines = text.lines();
        let error = lines.next().unwrap();
        assert!(error.contains("ERROR"), "{error}");
        assert!(
            error.contains("cannot open /dev/xen/privcmd (3 tries, 4096 bytes)"),
            "{error}"
        );
        assert!(error.contains("context=\"xc\""), "{error}");
        assert!(error.contains("No such file or directory"), "{error}");
        // Detail is debug; a long message is cut to the buffer, not overrun.
        let detail = lines.next().unwrap();
        assert!(detail.contains("DEBUG"), "{detail}");
        assert!(detail.contains(&"x".repeat(1023)) && !detail.contains(&"x".repeat(1024)));
    }

    #[test]
    fn the_progress_shim_hands_progress_to_its_hook_and_messages_to_its_inner_logger() {
        let Some(toollog) = toollog_or_skip() else {
            return;
        };
        type XtlProgress = unsafe extern "C" fn(
            *mut xentoollog_logger,
            *const c_char,
            *const c_char,
            c_ulong,
            c_ulong,
        );
        type XtlLog = unsafe extern "C" fn(
            *mut xentoollog_logger,
            xentoollog_level,
            c_int,
            *const c_char,
            *const c_char,
            ...
        );
        // SAFETY: both have exactly these C signatures (xentoollog.h).
        let (xtl_progress, xtl_log) = unsafe {
            (
                toollog.get::<XtlProgress>(b"xtl_progress").unwrap(),
                toollog.get::<XtlLog>(b"xtl_log").unwrap(),
            )
        };
        let calls = Arc::new(Mutex::new(Vec::new()));
        let hook: ProgressHook = Arc::new(Mutex::new(None));
        let logger = XtlLogger::with_progress(XtlLogger::tracing(), hook.clone());
        let text = captured(|| {
            // SAFETY: the logger is live; the strings are C strings; the format matches.
            unsafe {
                // No hook yet: nothing recorded, nothing breaks.
                xtl_progress(
                    logger.as_ptr(),
                    c"xc".as_ptr(),
                    c"Start of stream".as_ptr(),
                    0,
                    0,
                );
                let sink = calls.clone();
                *hook.lock().unwrap() = Some(Box::new(move |call: &ProgressCall| {
                    sink.lock().unwrap().push(call.clone());
                }));
                xtl_progress(
                    logger.as_ptr(),
                    c"xc".as_ptr(),
                    c"Frames iteration 1".as_ptr(),
                    1024,
                    4096,
                );
                xtl_progress(
                    logger.as_ptr(),
                    c"xc".as_ptr(),
                    c"Domain now suspended".as_ptr(),
                    0,
                    0,
                );
                xtl_log(
                    logger.as_ptr(),
                    xentoollog_level_XTL_ERROR,
                    -1,
                    c"libxl".as_ptr(),
                    c"saved %d pages".as_ptr(),
                    7 as c_int,
                );
            }
        });
        let calls = calls.lock().unwrap();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0].context, "xc");
        assert_eq!(calls[0].doing_what, "Frames iteration 1");
        assert_eq!(
            (calls[0].done, calls[0].total, calls[0].percent),
            (1024, 4096, 25)
        );
        assert_eq!(calls[1].doing_what, "Domain now suspended");
        // The inner (tracing) logger got the message and the progress lines.
        assert!(text.contains("saved 7 pages"), "{text}");
        assert!(text.contains("Frames iteration 1"), "{text}");
    }
}
