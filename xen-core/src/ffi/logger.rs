//! xentoollog loggers: where libxenctrl and libxl send their messages.
//!
//! Without a logger of ours, libxenctrl writes straight to the process's stderr, which a library
//! must not do. [`XtlLogger::tracing`] forwards every message to [`tracing`] instead (the CLI
//! decides what to show); [`XtlLogger::stderr`] is libxentoollog's own stdio logger, for
//! commands that want xl's output (e.g. migration progress).

use std::ffi::{CStr, c_char, c_int, c_ulong};
use std::ptr::NonNull;
use std::sync::Arc;

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
}

// SAFETY: the tracing logger has no mutable state; the stdio logger writes through a FILE,
// whose stdio functions lock it. Neither is tied to the thread that created it.
unsafe impl Send for LoggerKind {}

/// The logger's C vtable comes first, so a pointer to it is a pointer to the whole struct.
#[repr(C)]
#[derive(Debug)]
struct TracingLogger {
    vtable: xentoollog_logger,
}

impl XtlLogger {
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

    #[test]
    fn c_messages_are_formatted_and_forwarded_to_tracing() {
        // libxentoollog's own variadic entry point builds the va_list our vmessage formats.
        // SAFETY: loading the stable xentoollog library runs no special initialisers.
        let Ok(toollog) = (unsafe { libloading::Library::new("libxentoollog.so.1") }) else {
            assert!(
                std::env::var_os("XENADM_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
                "libxentoollog.so.1 is required (XENADM_REQUIRE_TOOLS=1)"
            );
            eprintln!("SKIPPED: libxentoollog.so.1 not installed (apt-get install libxen-dev)");
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
}
