//! xl's migration protocol between xenadm's sender and receiver, and against scripted peers and
//! the real wire capture of an `xl migrate` (tests/data/xen-real, see its README), over socket
//! pairs with fake hosts: golden bytes both ways, every rollback branch, either end cut off at
//! every step, hostile headers, the GO message left unread by an exact-reading restore, and
//! cancellation.
// Length note: about 800 lines of one protocol's tests sharing the fake hosts, scripted peers
// and socket-pair plumbing at the top; split by direction they would repeat that set-up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use xen_core::migrate::protocol::{BANNER, GO, READY, REPORT, encode_header};
use xen_core::migrate::{
    self, Breaker, Control, DomainState, ERROR_FAIL, ERROR_GUEST_TIMEDOUT, Event, FakeHost,
    MigrateError, Phase, Placement, ReceiveOptions, Received, SendOptions, SendResult, Step,
    Summary, read_stream_exactly,
};

mod common;

use common::{NAME, file_of, hosts, send_over_streams};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/xen-real")
        .join(name)
}

fn unzstd(name: &str) -> Vec<u8> {
    test_support::captures::unzstd(&data(name))
}

/// Runs the sender against `target_side`, a function playing the receiver on the other ends
/// of two socket pairs.
fn send_to<T: Send + 'static>(
    source: &FakeHost,
    control: &Control,
    events: Arc<Mutex<Vec<Event>>>,
    target_side: impl FnOnce(File, UnixStream) -> T + Send + 'static,
) -> (SendResult, T) {
    let (s2r_tx, s2r_rx) = UnixStream::pair().unwrap();
    let (r2s_tx, r2s_rx) = UnixStream::pair().unwrap();
    let breakers = [s2r_tx.try_clone().unwrap(), r2s_rx.try_clone().unwrap()];
    let peer = std::thread::spawn(move || target_side(file_of(s2r_rx), r2s_tx));
    let result = send_over_streams(
        source,
        &SendOptions::new(NAME, "(socket pair)"),
        (s2r_tx, r2s_rx),
        Some(shut_down_on_break(breakers)),
        control,
        Box::new(move |e| events.lock().unwrap().push(e.clone())),
    );
    (result, peer.join().unwrap())
}

/// A breaker that shuts both `streams` down, as killing the transport does.
fn shut_down_on_break(streams: [UnixStream; 2]) -> Breaker {
    Arc::new(move || {
        for s in &streams {
            let _ = s.shutdown(Shutdown::Both);
        }
    })
}

fn receiver(
    target: &FakeHost,
) -> impl FnOnce(File, UnixStream) -> Result<Received, MigrateError> + Send + 'static {
    let target = target.clone();
    move |input, mut output| {
        migrate::receive(
            &mut target.backend(),
            &input,
            &mut output,
            &ReceiveOptions::default(),
            &mut |_| {},
        )
    }
}

fn failure(result: SendResult) -> Box<migrate::Failure> {
    match result {
        Ok(summary) => panic!("expected a failure, the guest moved: {summary:?}"),
        Err(f) => f,
    }
}

/// The guest runs on the source under its name, and the target has nothing left.
fn assert_on_source(source: &FakeHost, target: &FakeHost) {
    let d = source
        .domain(NAME)
        .expect("the guest is gone from the source");
    assert_eq!(d.state, DomainState::Running, "{:?}", source.calls());
    assert!(
        target.domains().is_empty(),
        "target kept {:?}",
        target.domains()
    );
    assert_eq!(source.resumed_while_not_suspended(), 0);
}

#[test]
fn test_xenadm_to_xenadm_moves_the_guest() {
    let (source, target) = hosts(256);
    let events = Arc::new(Mutex::new(Vec::new()));
    let (result, received) = send_to(&source, &Control::new(), events.clone(), receiver(&target));
    let summary: Summary = result.unwrap();
    let received = received.unwrap();
    assert_eq!(received.name, NAME);
    assert!(
        source.domains().is_empty(),
        "source copy left: {:?}",
        source.domains()
    );
    let moved = target.domain(NAME).unwrap();
    assert_eq!(moved.state, DomainState::Running);
    assert_eq!(summary.passes, [256, 64, 3]);
    assert!(summary.downtime_s.is_some());
    assert_eq!(summary.bytes, target.restored_bytes());
    assert_eq!(
        source.calls(),
        [
            "config_json 1",
            "suspend 1",
            "rename 1 web1 web1--migratedaway",
            "destroy 1"
        ]
    );
    assert_eq!(
        target.calls(),
        [
            "restore web1--incoming",
            "rename 1 web1--incoming web1",
            "unpause 1"
        ]
    );
    let events = events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Progress(t) if t.pass == 2))
    );
}

#[test]
fn test_sender_bytes_are_xls_golden_and_it_accepts_a_real_receiver_transcript() {
    // The receiver side replays what a real `xl migrate-receive` sent (r2s.bin) and records
    // what the sender wrote.
    let (source, _) = hosts(64);
    let r2s = std::fs::read(data("r2s.bin")).unwrap();
    let (result, sent) = send_to(
        &source,
        &Control::new(),
        Arc::default(),
        move |input, mut output| {
            let mut input = Recorder {
                inner: input,
                seen: Vec::new(),
            };
            output.write_all(&r2s[..BANNER.len()]).unwrap();
            let mut fixed = [0u8; 48];
            input.read_exact(&mut fixed).unwrap();
            let optional = u32::from_le_bytes(fixed[44..48].try_into().unwrap());
            let mut config = vec![0u8; optional as usize];
            input.read_exact(&mut config).unwrap();
            read_stream_exactly(&mut input).unwrap();
            output
                .write_all(&r2s[BANNER.len()..BANNER.len() + READY.len()])
                .unwrap();
            let mut go = [0u8; 44];
            input.read_exact(&mut go).unwrap();
            output
                .write_all(&r2s[BANNER.len() + READY.len()..])
                .unwrap();
            input.seen
        },
    );
    result.unwrap();
    let config = source_config();
    let header = encode_header(&config);
    assert_eq!(
        &sent[..header.len()],
        &header[..],
        "xl save header and config"
    );
    assert_eq!(&sent[header.len()..header.len() + 8], b"LibxlFmt");
    assert!(sent.ends_with(GO));
    let stream = &sent[header.len()..sent.len() - GO.len()];
    assert_eq!(
        read_stream_exactly(&mut &stream[..]).unwrap(),
        stream.len() as u64
    );
}

/// The config the fake source sends for NAME.
fn source_config() -> String {
    let host = FakeHost::new();
    host.add_guest(NAME, 64);
    let prepared = migrate::prepare(&mut host.backend(), &SendOptions::new(NAME, "x")).unwrap();
    prepared.config_json
}

/// A reader that keeps a copy of what it read.
struct Recorder {
    inner: File,
    seen: Vec<u8>,
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

#[test]
fn test_receiver_replays_the_real_capture_and_answers_byte_for_byte() {
    // s2r.bin: what a real `xl migrate` sent (header, config, stream, GO). The receiver reads
    // the header exactly, the exact-reading restore takes the stream, and GO is still there.
    let s2r = unzstd("s2r.bin.zst");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s2r.bin");
    std::fs::write(&path, &s2r).unwrap();
    let input = File::open(&path).unwrap();
    let target = FakeHost::new();
    let mut output = Vec::new();
    let mut notes = Vec::new();
    let received = migrate::receive(
        &mut target.backend(),
        &input,
        &mut output,
        &ReceiveOptions::default(),
        &mut |n| notes.push(n.to_string()),
    )
    .unwrap();
    assert_eq!(received.name, NAME);
    assert_eq!(
        output,
        std::fs::read(data("r2s.bin")).unwrap(),
        "the receiver's bytes differ from xl's"
    );
    let header_len = 48 + 1302;
    assert_eq!(
        target.restored_bytes(),
        (s2r.len() - header_len - GO.len()) as u64
    );
    assert!(
        notes[0].contains("new xl fmt info 0x3/0x0/1302"),
        "{notes:?}"
    );
    let domain = target.domain(NAME).unwrap();
    assert_eq!(domain.state, DomainState::Running);
    assert!(domain.config_json.contains("web1--incoming"));
}

#[test]
fn test_exact_restore_leaves_the_go_message_unread() {
    let (source, _) = hosts(32);
    let mut stream = Vec::new();
    {
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut backend = source.backend();
        let writer = std::thread::spawn(move || {
            use std::os::fd::AsFd as _;
            use xen_core::migrate::MigrationBackend as _;
            backend
                .suspend(xen_core::host::DomId(1), w.as_fd(), false)
                .unwrap();
        });
        File::from(r).read_to_end(&mut stream).unwrap();
        writer.join().unwrap();
    }
    stream.extend_from_slice(GO);
    let mut reader = &stream[..];
    read_stream_exactly(&mut reader).unwrap();
    assert_eq!(reader, GO);
}

/// A scripted receiver: the banner, then reads the header and the stream, then answers with
/// `reply` (after "ready" unless `ready` is false) and closes.
fn scripted(
    ready: &'static [u8],
    after_go: &'static [u8],
) -> impl FnOnce(File, UnixStream) + Send + 'static {
    move |input, mut output| {
        let _ = output.write_all(BANNER);
        let mut input = input;
        let mut header = [0u8; 48];
        if input.read_exact(&mut header).is_err() {
            return;
        }
        let optional = u32::from_le_bytes(header[44..48].try_into().unwrap());
        let mut config = vec![0u8; optional as usize];
        let _ = input.read_exact(&mut config);
        if read_stream_exactly(&mut input).is_err() {
            return;
        }
        let _ = output.write_all(ready);
        let mut go = [0u8; 44];
        if ready != READY || input.read_exact(&mut go).is_err() {
            return;
        }
        let _ = output.write_all(after_go);
    }
}

fn status_reply(status: u8, go_back: bool) -> &'static [u8] {
    let mut reply = REPORT.to_vec();
    reply.push(status);
    if go_back {
        reply.extend_from_slice(GO);
    }
    Box::leak(reply.into_boxed_slice())
}

#[test]
fn test_wrong_banner_leaves_the_guest_untouched() {
    let (source, target) = hosts(16);
    let (result, ()) = send_to(
        &source,
        &Control::new(),
        Arc::default(),
        |_input, mut output| {
            output
                .write_all(b"Welcome to hostb! Last login: yesterday from 10.0.0.1 on pts/0\n")
                .unwrap();
        },
    );
    let f = failure(result);
    assert_eq!(f.placement, Placement::RunningOnSource);
    assert_eq!(f.exit_code(), migrate::EXIT_ON_SOURCE);
    assert!(
        f.error.to_string().contains("Welcome to hostb"),
        "{}",
        f.error
    );
    assert!(!source.calls().iter().any(|c| c.starts_with("suspend")));
    assert_on_source(&source, &target);
}

#[test]
fn test_suspend_timeout_is_not_resumed() {
    let (source, target) = hosts(16);
    source.fail("suspend", ERROR_GUEST_TIMEDOUT);
    let (result, ()) = send_to(
        &source,
        &Control::new(),
        Arc::default(),
        scripted(READY, b""),
    );
    let f = failure(result);
    assert_eq!(f.placement, Placement::RunningOnSource);
    assert!(
        !source.calls().iter().any(|c| c.starts_with("resume")),
        "{:?}",
        source.calls()
    );
    assert_on_source(&source, &target);
}

#[test]
fn test_suspend_failure_after_suspending_resumes() {
    let (source, target) = hosts(16);
    source.fail("suspend", ERROR_FAIL);
    let (result, ()) = send_to(
        &source,
        &Control::new(),
        Arc::default(),
        scripted(READY, b""),
    );
    assert_eq!(failure(result).placement, Placement::RunningOnSource);
    assert!(source.calls().iter().any(|c| c.starts_with("resume")));
    assert_on_source(&source, &target);
}

#[test]
fn test_missing_or_wrong_ready_resumes() {
    for ready in [&b""[..], b"domain received, ready to unpauseX"] {
        let (source, target) = hosts(16);
        let ready: &'static [u8] = Box::leak(ready.to_vec().into_boxed_slice());
        let (result, ()) = send_to(
            &source,
            &Control::new(),
            Arc::default(),
            scripted(ready, b""),
        );
        let f = failure(result);
        assert_eq!(f.step, migrate::Step::Ready);
        assert_eq!(f.placement, Placement::RunningOnSource);
        assert_on_source(&source, &target);
    }
}

#[test]
fn test_rename_failure_resumes() {
    let (source, target) = hosts(16);
    source.fail("rename", ERROR_FAIL);
    let (result, ()) = send_to(
        &source,
        &Control::new(),
        Arc::default(),
        scripted(READY, b""),
    );
    let f = failure(result);
    assert_eq!(f.step, migrate::Step::Rename);
    assert_on_source(&source, &target);
}

#[test]
fn test_target_failure_with_go_back_resumes_under_the_old_name() {
    let (source, target) = hosts(16);
    let (result, ()) = send_to(
        &source,
        &Control::new(),
        Arc::default(),
        scripted(READY, status_reply(3, true)),
    );
    let f = failure(result);
    assert_eq!(f.placement, Placement::RunningOnSource);
    assert!(f.error.to_string().contains("ERROR_FAIL"), "{}", f.error);
    assert!(
        source
            .calls()
            .contains(&"rename 1 web1--migratedaway web1".to_string())
    );
    assert_on_source(&source, &target);
}

#[test]
fn test_after_go_without_an_answer_the_admin_is_told_what_to_check() {
    for reply in [status_reply(3, false), &b""[..], &REPORT[..10]] {
        let (source, _) = hosts(16);
        let (result, ()) = send_to(
            &source,
            &Control::new(),
            Arc::default(),
            scripted(READY, reply),
        );
        let f = failure(result);
        assert_eq!(f.placement, Placement::Ambiguous);
        assert_eq!(f.exit_code(), migrate::EXIT_NEEDS_ADMIN);
        assert!(
            f.fix
                .iter()
                .any(|c| c.contains("xl destroy web1--migratedaway")),
            "{:?}",
            f.fix
        );
        // The source copy is kept, suspended, under the --migratedaway name.
        let kept = source.domain("web1--migratedaway").unwrap();
        assert_eq!(kept.state, DomainState::Suspended);
        // And it can be put back into service here.
        let (_, name, resumed) =
            migrate::resume_on_source(&mut source.backend(), "web1--migratedaway").unwrap();
        assert_eq!((name.as_str(), resumed), (NAME, true));
        assert_eq!(source.domain(NAME).unwrap().state, DomainState::Running);
    }
}

#[test]
fn test_moved_even_if_the_source_copy_cannot_be_destroyed() {
    let (source, _) = hosts(16);
    source.fail("destroy", ERROR_FAIL);
    let (result, ()) = send_to(
        &source,
        &Control::new(),
        Arc::default(),
        scripted(READY, status_reply(0, false)),
    );
    let summary = result.unwrap();
    assert!(
        summary.warnings[0].contains("xl destroy web1--migratedaway"),
        "{:?}",
        summary.warnings
    );
}

#[test]
fn test_target_restore_failure_leaves_nothing_there() {
    let (source, target) = hosts(64);
    target.fail("restore", ERROR_FAIL);
    let (result, received) = send_to(&source, &Control::new(), Arc::default(), receiver(&target));
    assert!(received.is_err());
    assert_eq!(failure(result).placement, Placement::RunningOnSource);
    assert_on_source(&source, &target);
}

#[test]
fn test_target_unpause_failure_rolls_back_on_both_hosts() {
    let (source, target) = hosts(64);
    target.fail("unpause", ERROR_FAIL);
    let (result, received) = send_to(&source, &Control::new(), Arc::default(), receiver(&target));
    assert!(received.is_err());
    let f = failure(result);
    assert!(
        matches!(f.error, MigrateError::TargetFailed { status: 3 }),
        "{}",
        f.error
    );
    assert_on_source(&source, &target);
}

/// Forwards `from` to `to` until `limit` bytes passed, then cuts every connection.
fn cutter(
    mut from: UnixStream,
    mut to: UnixStream,
    limit: Option<usize>,
    all: Arc<Vec<UnixStream>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut passed = 0usize;
        let mut buf = [0u8; 4096];
        loop {
            let want = limit.map_or(buf.len(), |l| buf.len().min(l - passed));
            if want == 0 {
                break;
            }
            match from.read(&mut buf[..want]) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    passed += n;
                }
            }
        }
        for s in all.iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    })
}

/// One migration whose sender-to-receiver (`s2r`) or receiver-to-sender direction is cut
/// after some bytes: the end on the other side sees its peer die there.
fn cut_run(s2r_limit: Option<usize>, r2s_limit: Option<usize>) -> (FakeHost, FakeHost, SendResult) {
    let (source, target) = hosts(64);
    let (s_tx, c1_rx) = UnixStream::pair().unwrap(); // sender -> cutter
    let (c1_tx, r_rx) = UnixStream::pair().unwrap(); // cutter -> receiver
    let (r_tx, c2_rx) = UnixStream::pair().unwrap(); // receiver -> cutter
    let (c2_tx, s_rx) = UnixStream::pair().unwrap(); // cutter -> sender
    let all: Arc<Vec<UnixStream>> = Arc::new(
        [&s_tx, &c1_rx, &c1_tx, &r_rx, &r_tx, &c2_rx, &c2_tx, &s_rx]
            .iter()
            .map(|s| s.try_clone().unwrap())
            .collect(),
    );
    let cut1 = cutter(c1_rx, c1_tx, s2r_limit, all.clone());
    let cut2 = cutter(c2_rx, c2_tx, r2s_limit, all.clone());
    let target_thread = std::thread::spawn({
        let run = receiver(&target);
        move || run(file_of(r_rx), r_tx)
    });
    let result = send_over_streams(
        &source,
        &SendOptions::new(NAME, "(cut)"),
        (s_tx, s_rx),
        None,
        &Control::new(),
        Box::new(|_| {}),
    );
    for s in all.iter() {
        let _ = s.shutdown(Shutdown::Both);
    }
    let _ = target_thread.join().unwrap();
    cut1.join().unwrap();
    cut2.join().unwrap();
    (source, target, result)
}

/// Under any cut the guest runs on at most one host, a failure before GO leaves it running on
/// the source with nothing on the target, and only a failure after GO needs the admin.
fn check_cut(source: &FakeHost, target: &FakeHost, result: &SendResult, what: &str) {
    let running = |h: &FakeHost| {
        h.domains()
            .iter()
            .filter(|d| d.state == DomainState::Running)
            .count()
    };
    assert!(
        running(source) + running(target) <= 1,
        "{what}: runs twice: {:?} / {:?}",
        source.domains(),
        target.domains()
    );
    assert_eq!(source.resumed_while_not_suspended(), 0, "{what}");
    match result {
        Ok(_) => {
            assert!(source.domains().is_empty(), "{what}");
            assert_eq!(
                target.domain(NAME).map(|d| d.state),
                Some(DomainState::Running),
                "{what}"
            );
        }
        Err(f) if f.placement == Placement::RunningOnSource => {
            assert_eq!(
                source.domain(NAME).map(|d| d.state),
                Some(DomainState::Running),
                "{what}: {f}"
            );
            assert!(
                target.domains().is_empty(),
                "{what}: target kept {:?}",
                target.domains()
            );
        }
        Err(f) => {
            assert_eq!(f.placement, Placement::Ambiguous, "{what}: {f}");
            assert!(
                source.domain("web1--migratedaway").is_some(),
                "{what}: {:?}",
                source.domains()
            );
        }
    }
}

#[test]
fn test_either_end_killed_at_every_step() {
    let header = encode_header(&source_config()).len();
    let stream = {
        let (s, _) = hosts(64);
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut b = s.backend();
        let t = std::thread::spawn(move || {
            use std::os::fd::AsFd as _;
            use xen_core::migrate::MigrationBackend as _;
            b.suspend(xen_core::host::DomId(1), w.as_fd(), false)
                .unwrap();
        });
        let mut v = Vec::new();
        File::from(r).read_to_end(&mut v).unwrap();
        t.join().unwrap();
        v.len()
    };
    let s2r_cuts = [
        0,
        10,
        48,
        header - 1,
        header,
        header + 100,
        header + stream / 2,
        header + stream - 1,
        header + stream,
        header + stream + 20,
        header + stream + 44,
    ];
    let r2s_cuts = [0, 20, 54, 54 + 10, 54 + 34, 54 + 34 + 20, 54 + 34 + 39];
    let mut ambiguous = 0;
    for cut in s2r_cuts {
        let (source, target, result) = cut_run(Some(cut), None);
        check_cut(
            &source,
            &target,
            &result,
            &format!("sender cut after {cut} bytes"),
        );
        // Cut before GO: rolled back. Cut in or after GO: the sender cannot know.
        if cut <= header + stream {
            assert!(
                matches!(&result, Err(f) if f.placement == Placement::RunningOnSource),
                "cut {cut}"
            );
        } else {
            ambiguous += 1;
        }
    }
    for cut in r2s_cuts {
        let (source, target, result) = cut_run(None, Some(cut));
        check_cut(
            &source,
            &target,
            &result,
            &format!("receiver cut after {cut} bytes"),
        );
        if cut < 54 + 34 {
            assert!(
                matches!(&result, Err(f) if f.placement == Placement::RunningOnSource),
                "cut {cut}"
            );
        }
    }
    assert!(ambiguous > 0);
    // And uncut, it moves.
    let (source, target, result) = cut_run(None, None);
    check_cut(&source, &target, &result, "uncut");
    assert!(result.is_ok());
}

/// A migration cancelled at its first progress event with pages, over a transport whose
/// breaker shuts both socket pairs down, or (`breakable` false) over one a cancel cannot
/// break; returns the failure and the events, with both hosts.
fn cancel_mid_transfer(breakable: bool) -> (Box<migrate::Failure>, Vec<Event>, FakeHost, FakeHost) {
    let (source, target) = hosts(4096);
    let control = Control::new();
    let canceller = control.clone();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let (s2r_tx, s2r_rx) = UnixStream::pair().unwrap();
    let (r2s_tx, r2s_rx) = UnixStream::pair().unwrap();
    let breaker = breakable
        .then(|| shut_down_on_break([s2r_tx.try_clone().unwrap(), r2s_rx.try_clone().unwrap()]));
    let peer = std::thread::spawn({
        let run = receiver(&target);
        move || run(file_of(s2r_rx), r2s_tx)
    });
    let sink_events = events.clone();
    let result = send_over_streams(
        &source,
        &SendOptions::new(NAME, "(pair)"),
        (s2r_tx, r2s_rx),
        breaker,
        &control,
        Box::new(move |e| {
            if matches!(e, Event::Progress(t) if t.pages > 0) {
                assert!(
                    canceller.cancel() || canceller.is_cancelled(),
                    "cancel refused before GO"
                );
            }
            sink_events.lock().unwrap().push(e.clone());
        }),
    );
    let _ = peer.join().unwrap();
    assert!(!control.cancel() || control.is_cancelled());
    let events = events.lock().unwrap().clone();
    (failure(result), events, source, target)
}

#[test]
fn test_cancel_during_the_transfer_keeps_the_guest_on_the_source() {
    let (f, _, source, target) = cancel_mid_transfer(true);
    assert!(matches!(f.error, MigrateError::Cancelled), "{}", f.error);
    assert_on_source(&source, &target);
}

/// A transport that a cancel cannot break (as `ssh` through an OpenSSH master connection: the
/// killed client has handed its pipes to the master, which goes on reading them): the pump
/// itself stops, so the stream is cut at once and the guest is never suspended for the rest.
#[test]
fn test_cancel_stops_the_stream_even_when_the_transport_does_not_break() {
    let (f, events, source, target) = cancel_mid_transfer(false);
    assert!(matches!(f.error, MigrateError::Cancelled), "{}", f.error);
    assert_eq!(f.step, Step::Stream, "the cancel did not cut the stream");
    let waited = Event::Phase {
        phase: Phase::WaitingForTarget,
    };
    assert!(
        !events.contains(&waited),
        "the whole stream was sent after the cancel"
    );
    assert_on_source(&source, &target);
}

#[test]
fn test_hostile_headers_are_refused_before_the_restore() {
    let mut cases: Vec<Vec<u8>> = Vec::new();
    let good = encode_header(r#"{"c_info":{"name":"x"}}"#);
    let mut huge = good.clone();
    huge[44..48].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    cases.push(huge);
    let mut bad_magic = good.clone();
    bad_magic[0] = b'Y';
    cases.push(bad_magic);
    let mut not_json = good.clone();
    let at = not_json.len() - 3;
    not_json[at] = b'!';
    cases.push(not_json);
    cases.push(good[..30].to_vec());
    let mut no_name = encode_header(r#"{"c_info":{}}"#);
    no_name.extend_from_slice(b"LibxlFmt");
    cases.push(no_name);
    for (i, bytes) in cases.into_iter().enumerate() {
        let target = FakeHost::new();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        std::fs::write(&path, &bytes).unwrap();
        let mut output = Vec::new();
        let result = migrate::receive(
            &mut target.backend(),
            &File::open(&path).unwrap(),
            &mut output,
            &ReceiveOptions::default(),
            &mut |_| {},
        );
        assert!(result.is_err(), "case {i} accepted");
        assert_eq!(output, BANNER, "case {i}: only the banner may go back");
        assert!(target.calls().is_empty(), "case {i}: {:?}", target.calls());
    }
}
