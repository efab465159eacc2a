//! The receiving side, as `xl migrate-receive -e` (reference `migration.md` §1.3, §1.6): the
//! banner, the header read exactly, the restore on the same descriptor (libxl reads exactly
//! the stream, so GO stays unread), "ready", GO, rename and unpause, report and status, and on
//! failure after GO the copy destroyed and the sender allowed to resume.
//!
//! Unlike xl without `-e`, no process stays behind to watch the guest: its `on_poweroff`,
//! `on_reboot` and `on_crash` actions are not carried out after the migration (a reboot leaves
//! it shut down, as with `xl migrate-receive -e`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, fcntl};

use super::backend::MigrationBackend;
use super::error::{MigrateError, Step};
use super::protocol::{
    BANNER, GO, INCOMING_SUFFIX, READY, REPORT, STATUS_BAD_GO, incoming_config, read_header,
    read_message, write_message,
};
use super::wire::{self, CONFIRM};
use crate::host::DomId;

/// xl's lock file, held while the domain is created.
pub const XL_LOCK_PATH: &str = "/var/lock/xl";

/// `xenadm migrate-receive`'s options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReceiveOptions {
    /// `-p`: leave the guest paused after GO.
    pub paused: bool,
    /// `-d`: report the received config.
    pub debug: bool,
    /// The lock taken around the restore (xl's [`XL_LOCK_PATH`]); `None` takes none.
    pub lock_path: Option<PathBuf>,
    /// `--wire lz4`: a xenadm sender asked for xenadm's wire format; it is confirmed after the
    /// banner and the stream arrives framed ([`super::wire`]). Never set for xl's senders.
    pub wire: bool,
}

impl ReceiveOptions {
    /// `xl migrate-receive`'s: `-p`, `-d`, and xl's lock.
    pub fn xl(paused: bool, debug: bool) -> ReceiveOptions {
        ReceiveOptions {
            paused,
            debug,
            lock_path: Some(PathBuf::from(XL_LOCK_PATH)),
            wire: false,
        }
    }
}

/// A guest received and started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// Its new id here.
    pub domid: DomId,
    /// Its name.
    pub name: String,
    /// Left paused (`-p`).
    pub paused: bool,
}

/// Receives one guest: `input` is the data stream from the sender (its descriptor goes to
/// libxl as it is: nothing is buffered), `output` the acknowledgement channel back. `note`
/// gets xl's progress lines ("migration target: ..."), which belong on stderr, never on
/// `output`.
pub fn receive(
    backend: &mut dyn MigrationBackend,
    input: &File,
    output: &mut dyn Write,
    options: &ReceiveOptions,
    note: &mut dyn FnMut(&str),
) -> Result<Received, MigrateError> {
    write_message(output, BANNER, Step::Banner)?;
    if options.wire {
        write_message(output, CONFIRM, Step::Banner)?;
    }
    let mut reader = input;
    let header = read_header(&mut reader)?;
    note(&format!(
        "Loading new save file <incoming migration stream> (new xl fmt info {:#x}/0x0/{})",
        header.mandatory_flags, header.optional_data_len
    ));
    let (name, config) = incoming_config(&header.config_json)?;
    if options.debug {
        note(&format!("received config:\n{}", header.config_json));
    }
    let incoming = format!("{name}{INCOMING_SUFFIX}");
    let domid = {
        let _lock = options.lock_path.as_deref().map(XlLock::take).transpose()?;
        if options.wire {
            restore_framed(backend, &config, input, header.stream_version)?
        } else {
            backend.restore(&config, input.as_fd(), header.stream_version)?
        }
    };
    note("Transfer complete, requesting permission to start domain.");
    if let Err(e) = write_message(output, READY, Step::Ready) {
        // The sender is gone and resumes its copy: ours must go.
        let _ = backend.destroy(domid);
        return Err(e);
    }
    if let Err(e) = read_message(&mut reader, GO, Step::Go) {
        note("Did not get permission to start the domain; destroying our copy.");
        let _ = write_message(output, REPORT, Step::Report)
            .and_then(|()| write_message(output, &[STATUS_BAD_GO], Step::Status));
        if backend.destroy(domid).is_ok() {
            let _ = write_message(output, GO, Step::GoBack);
        }
        return Err(e);
    }
    note("Got permission, starting domain.");
    let started = backend.rename(domid, &incoming, &name).and_then(|()| {
        if options.paused {
            Ok(())
        } else {
            backend.unpause(domid)
        }
    });
    let status = match &started {
        Ok(()) => 0,
        Err(e) => e
            .libxl_code()
            .map_or(3, |code| u8::try_from(-code).unwrap_or(3)),
    };
    write_message(output, REPORT, Step::Report)?;
    write_message(output, &[status], Step::Status)?;
    match started {
        Ok(()) => {
            note("Domain started successfully.");
            Ok(Received {
                domid,
                name,
                paused: options.paused,
            })
        }
        Err(e) => {
            note("Failure, destroying our copy.");
            backend.destroy(domid)?;
            write_message(output, GO, Step::GoBack)?;
            Err(e)
        }
    }
}

/// The restore of a framed stream: a thread decodes the frames from `input` into a pipe, and
/// libxl restores from the pipe. The decoder reads exactly up to the END frame, so GO stays
/// unread in `input`; a bad frame closes the pipe (libxl's restore then fails) and is the error
/// reported.
fn restore_framed(
    backend: &mut dyn MigrationBackend,
    config: &str,
    input: &File,
    stream_version: u32,
) -> Result<DomId, MigrateError> {
    let (pipe_read, pipe_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| MigrateError::Local {
            what: "pipe2",
            source: e.into(),
        })?;
    std::thread::scope(|scope| {
        let decoder = std::thread::Builder::new()
            .name("migrate-decode".to_string())
            .spawn_scoped(scope, move || {
                let mut reader = input;
                let mut pipe = File::from(pipe_write);
                wire::decode(&mut reader, &mut pipe)
            })
            .map_err(|source| MigrateError::Local {
                what: "starting the decoder thread",
                source,
            })?;
        let restored = backend.restore(config, pipe_read.as_fd(), stream_version);
        // Whatever libxl left unread can no longer block the decoder.
        drop(pipe_read);
        let decoded = decoder.join();
        match (restored, decoded) {
            (Ok(domid), Ok(Ok(_))) => Ok(domid),
            (restored, Ok(Err(source))) => {
                if let Ok(domid) = restored {
                    let _ = backend.destroy(domid);
                }
                Err(MigrateError::Wire { source })
            }
            (Err(e), _) => Err(e),
            (Ok(domid), Err(_)) => {
                let _ = backend.destroy(domid);
                Err(MigrateError::Local {
                    what: "the decoder thread",
                    source: std::io::Error::other("it panicked"),
                })
            }
        }
    })
}

/// xl's lock: a POSIX write lock on the whole file, released when the file closes.
#[derive(Debug)]
struct XlLock {
    _file: File,
}

impl XlLock {
    fn take(path: &Path) -> Result<XlLock, MigrateError> {
        let error = |source| MigrateError::Lock {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(error)?;
        let lock = libc::flock {
            l_type: i16::try_from(libc::F_WRLCK).unwrap_or(1),
            l_whence: i16::try_from(libc::SEEK_SET).unwrap_or(0),
            l_start: 0,
            l_len: 0,
            l_pid: 0,
        };
        loop {
            match fcntl(&file, FcntlArg::F_SETLKW(&lock)) {
                Ok(_) => return Ok(XlLock { _file: file }),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(error(e.into())),
            }
        }
    }
}

/// The receiver's descriptors as xl sets them up: the stream (a duplicate of stdin) and the
/// acknowledgement channel (a duplicate of stdout); fd 1 then points at stderr, so nothing
/// else in the process can write into the protocol.
pub fn receiver_stdio() -> std::io::Result<(File, File)> {
    let input = File::from(nix::unistd::dup(std::io::stdin())?);
    let output = File::from(nix::unistd::dup(std::io::stdout())?);
    nix::unistd::dup2_stdout(std::io::stderr())?;
    Ok((input, output))
}
