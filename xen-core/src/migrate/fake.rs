//! An in-memory host for protocol tests (no Xen): domains with names and states, a suspend
//! that writes a synthetic stream into the descriptor, a restore that reads it back with
//! libxl's exact-length reads (so whatever follows the stream's END stays unread), and failures
//! injected per call. Tests only: it never touches a real domain.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use super::backend::{DomainState, MigrationBackend};
use super::error::MigrateError;
use super::protocol::config_name;
use super::saver::{SaverEvent, SaverSink};
use crate::host::DomId;
use crate::stream::SyntheticGuest;

/// libxl's `ERROR_FAIL`.
pub const ERROR_FAIL: i32 = -3;
/// libxl's `ERROR_GUEST_TIMEDOUT`: the guest never suspended.
pub const ERROR_GUEST_TIMEDOUT: i32 = -8;

/// A domain of the fake host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeDomain {
    /// Its id.
    pub domid: DomId,
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: DomainState,
    /// Its config.
    pub config_json: String,
}

#[derive(Debug, Default)]
struct State {
    domains: BTreeMap<u32, FakeDomain>,
    next_domid: u32,
    failures: HashMap<&'static str, i32>,
    calls: Vec<String>,
    resumed_while_not_suspended: u32,
    stream: Vec<u8>,
    restored_bytes: u64,
}

/// One fake host, shared between the backend given to a migration and the test that inspects
/// it afterwards.
#[derive(Debug, Clone, Default)]
pub struct FakeHost(Arc<Mutex<State>>);

impl FakeHost {
    /// An empty host; new domains get ids from 1.
    pub fn new() -> FakeHost {
        let host = FakeHost::default();
        host.lock().next_domid = 1;
        host
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a running PV guest of `pages` 4 KiB pages; its suspend writes a synthetic stream
    /// with two dirty passes.
    pub fn add_guest(&self, name: &str, pages: u64) -> DomId {
        let guest = SyntheticGuest::pv(name, pages, 1)
            .with_dirty_passes(vec![(0..pages / 4).collect(), vec![1, 2, 3]])
            .without_xl_header();
        let stream = guest.encode().unwrap_or_default();
        let mut state = self.lock();
        state.stream = stream;
        let domid = DomId(state.next_domid);
        state.next_domid += 1;
        state.domains.insert(
            domid.0,
            FakeDomain {
                domid,
                name: name.to_string(),
                state: DomainState::Running,
                config_json: guest.config_json(),
            },
        );
        domid
    }

    /// Makes `call` (`suspend`, `resume`, `rename`, `destroy`, `restore`, `unpause`,
    /// `config_json`) fail with `code`. A failing `suspend` with [`ERROR_GUEST_TIMEDOUT`]
    /// leaves the guest running; with another code it fails after the guest suspended.
    pub fn fail(&self, call: &'static str, code: i32) {
        self.lock().failures.insert(call, code);
    }

    /// The domains now.
    pub fn domains(&self) -> Vec<FakeDomain> {
        self.lock().domains.values().cloned().collect()
    }

    /// The domain named `name`.
    pub fn domain(&self, name: &str) -> Option<FakeDomain> {
        self.domains().into_iter().find(|d| d.name == name)
    }

    /// Every call made, in order (`"suspend 1"`, `"rename 1 a a--migratedaway"`, ...).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Times `resume` was called on a domain that was not suspended (never right).
    pub fn resumed_while_not_suspended(&self) -> u32 {
        self.lock().resumed_while_not_suspended
    }

    /// Bytes the last restore read from its descriptor.
    pub fn restored_bytes(&self) -> u64 {
        self.lock().restored_bytes
    }

    /// A backend on this host.
    pub fn backend(&self) -> FakeBackend {
        FakeBackend {
            host: self.clone(),
            saver: None,
        }
    }
}

/// The [`MigrationBackend`] of a [`FakeHost`].
pub struct FakeBackend {
    host: FakeHost,
    saver: Option<SaverSink>,
}

impl std::fmt::Debug for FakeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBackend")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl FakeBackend {
    fn call(&self, call: &'static str, detail: &str, domain: &str) -> Result<(), MigrateError> {
        let mut state = self.host.lock();
        state
            .calls
            .push(format!("{call} {detail}").trim_end().to_string());
        match state.failures.get(call) {
            Some(&code) => Err(MigrateError::Backend {
                call,
                domain: domain.to_string(),
                code,
            }),
            None => Ok(()),
        }
    }

    fn with_domain<T>(
        &self,
        domid: DomId,
        call: &'static str,
        f: impl FnOnce(&mut FakeDomain) -> T,
    ) -> Result<T, MigrateError> {
        let mut state = self.host.lock();
        let domain = state
            .domains
            .get_mut(&domid.0)
            .ok_or(MigrateError::Backend {
                call,
                domain: domid.0.to_string(),
                code: -21,
            })?;
        Ok(f(domain))
    }

    fn set_state(
        &self,
        domid: DomId,
        call: &'static str,
        to: DomainState,
    ) -> Result<(), MigrateError> {
        self.with_domain(domid, call, |d| d.state = to)
    }
}

fn descriptor(fd: BorrowedFd<'_>) -> io::Result<File> {
    Ok(File::from(fd.try_clone_to_owned()?))
}

impl MigrationBackend for FakeBackend {
    fn find_domain(&mut self, query: &str) -> Result<(DomId, String), MigrateError> {
        let state = self.host.lock();
        state
            .domains
            .values()
            .find(|d| d.name == query || d.domid.0.to_string() == query)
            .map(|d| (d.domid, d.name.clone()))
            .ok_or_else(|| MigrateError::NoSuchDomain {
                query: query.to_string(),
            })
    }

    fn config_json(&mut self, domid: DomId) -> Result<String, MigrateError> {
        self.call("config_json", &domid.0.to_string(), &domid.0.to_string())?;
        self.with_domain(domid, "config_json", |d| d.config_json.clone())
    }

    fn normalize_config_json(&mut self, json: &str) -> Result<String, MigrateError> {
        config_name(json)?;
        Ok(json.to_string())
    }

    fn suspend(
        &mut self,
        domid: DomId,
        fd: BorrowedFd<'_>,
        _debug: bool,
    ) -> Result<(), MigrateError> {
        let failure = self.call("suspend", &domid.0.to_string(), &domid.0.to_string());
        let stream = self.host.lock().stream.clone();
        // The guest suspends before the last fifth of the stream (the stop-and-copy pass).
        let suspend_at = stream.len() * 4 / 5;
        if let Err(e) = failure {
            if e.libxl_code() == Some(ERROR_GUEST_TIMEDOUT) {
                return Err(e);
            }
            self.set_state(domid, "suspend", DomainState::Suspended)?;
            return Err(e);
        }
        let fail = |this: &Self, suspended: bool| -> Result<(), MigrateError> {
            if suspended {
                this.set_state(domid, "suspend", DomainState::Suspended)?;
            }
            Err(MigrateError::Backend {
                call: "suspend",
                domain: domid.0.to_string(),
                code: ERROR_FAIL,
            })
        };
        let Ok(mut out) = descriptor(fd) else {
            return fail(self, false);
        };
        // libxc's reports as libxl's logger relays them: one live pass, the suspend, the end.
        let report = |event: SaverEvent| {
            if let Some(sink) = &self.saver {
                sink(&event);
            }
        };
        let pages = u64::try_from(suspend_at / 4096).unwrap_or(u64::MAX);
        report(SaverEvent::StreamStart);
        if out.write_all(&stream[..suspend_at]).is_err() {
            return fail(self, false);
        }
        report(SaverEvent::Pass {
            pass: 0,
            sent: pages,
            total: pages,
            dirty_left: 0,
            percent: 100,
        });
        self.set_state(domid, "suspend", DomainState::Suspended)?;
        report(SaverEvent::Suspended);
        if out.write_all(&stream[suspend_at..]).is_err() {
            return fail(self, true);
        }
        report(SaverEvent::StreamEnd);
        report(SaverEvent::Complete);
        Ok(())
    }

    fn watch_saver(&mut self, sink: Option<SaverSink>) {
        self.saver = sink;
    }

    fn domain_state(&mut self, domid: DomId) -> Result<DomainState, MigrateError> {
        let state = self.host.lock();
        Ok(state
            .domains
            .get(&domid.0)
            .map_or(DomainState::Gone, |d| d.state))
    }

    fn resume(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.call("resume", &domid.0.to_string(), &domid.0.to_string())?;
        let was = self.with_domain(domid, "resume", |d| {
            let was = d.state;
            d.state = DomainState::Running;
            was
        })?;
        if was != DomainState::Suspended {
            self.host.lock().resumed_while_not_suspended += 1;
        }
        Ok(())
    }

    fn rename(&mut self, domid: DomId, old: &str, new: &str) -> Result<(), MigrateError> {
        self.call("rename", &format!("{} {old} {new}", domid.0), old)?;
        let matched = self.with_domain(domid, "rename", |d| {
            let matched = d.name == old;
            if matched {
                d.name = new.to_string();
            }
            matched
        })?;
        if !matched {
            return Err(MigrateError::Backend {
                call: "rename",
                domain: old.to_string(),
                code: -6,
            });
        }
        Ok(())
    }

    fn destroy(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.call("destroy", &domid.0.to_string(), &domid.0.to_string())?;
        self.host.lock().domains.remove(&domid.0);
        Ok(())
    }

    fn restore(
        &mut self,
        config_json: &str,
        fd: BorrowedFd<'_>,
        stream_version: u32,
    ) -> Result<DomId, MigrateError> {
        let name = config_name(config_json)?;
        let fail = |code| MigrateError::Backend {
            call: "restore",
            domain: name.clone(),
            code,
        };
        if stream_version != 2 {
            return Err(fail(-6));
        }
        let mut input = descriptor(fd).map_err(|_| fail(ERROR_FAIL))?;
        let read = read_stream_exactly(&mut input);
        if let Ok(bytes) = read {
            self.host.lock().restored_bytes = bytes;
        }
        self.call("restore", &name, &name)?;
        read.map_err(|_| fail(ERROR_FAIL))?;
        let mut state = self.host.lock();
        let domid = DomId(state.next_domid);
        state.next_domid += 1;
        state.domains.insert(
            domid.0,
            FakeDomain {
                domid,
                name,
                state: DomainState::Paused,
                config_json: config_json.to_string(),
            },
        );
        Ok(domid)
    }

    fn unpause(&mut self, domid: DomId) -> Result<(), MigrateError> {
        self.call("unpause", &domid.0.to_string(), &domid.0.to_string())?;
        self.set_state(domid, "unpause", DomainState::Running)
    }
}

/// Reads a libxl v2 stream as libxl and libxc do: each header and record with a read of its
/// exact length, up to the libxl END, and not one byte more. Returns the bytes read.
pub fn read_stream_exactly<R: Read>(input: &mut R) -> io::Result<u64> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut total = 0u64;
    let mut header = [0u8; 16];
    input.read_exact(&mut header)?;
    total += 16;
    if &header[..8] != b"LibxlFmt" {
        return Err(bad("not a libxl stream"));
    }
    let record = |input: &mut R, total: &mut u64| -> io::Result<u32> {
        let mut head = [0u8; 8];
        input.read_exact(&mut head)?;
        let rtype = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > crate::stream::MAX_RECORD_BODY_BYTES {
            return Err(bad("record too long"));
        }
        let padded = u64::from(len).div_ceil(8) * 8;
        let copied = io::copy(&mut input.by_ref().take(padded), &mut io::sink())?;
        if copied != padded {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        *total += 8 + padded;
        Ok(rtype)
    };
    loop {
        match record(input, &mut total)? {
            0 => return Ok(total),
            1 => {
                // LIBXC_CONTEXT: the libxc image and domain headers, then its records to END.
                let mut headers = [0u8; 40];
                input.read_exact(&mut headers)?;
                total += 40;
                while record(input, &mut total)? != 0 {}
            }
            _ => {}
        }
    }
}
