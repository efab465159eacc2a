//! What xenadm adds to xl's migration between two xenadm ends or locally: libxc's progress
//! through libxl's logger (typed events, the downtime from the real suspend), parsed from real
//! log lines. Over socket pairs with fake hosts, as tests/migrate_protocol.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use xen_core::migrate::{
    self, Control, DowntimeFrom, Event, FakeHost, MigrateError, ReceiveOptions, Received,
    SaverEvent, SendOptions, SendResult, Transport,
};

const NAME: &str = "web1";

fn file_of(stream: UnixStream) -> File {
    File::from(OwnedFd::from(stream))
}

/// One migration from `source` to `target` over socket pairs: the sender's result, the
/// receiver's, and the sender's progress events.
fn migrate_between(
    source: &FakeHost,
    target: &FakeHost,
    options: &SendOptions,
    receive: ReceiveOptions,
) -> (SendResult, Result<Received, MigrateError>, Vec<Event>) {
    let (s2r_tx, s2r_rx) = UnixStream::pair().unwrap();
    let (r2s_tx, r2s_rx) = UnixStream::pair().unwrap();
    let peer = std::thread::spawn({
        let target = target.clone();
        move || {
            let mut output = r2s_tx;
            migrate::receive(
                &mut target.backend(),
                &file_of(s2r_rx),
                &mut output,
                &receive,
                &mut |_| {},
            )
        }
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut backend = source.backend();
    let prepared = migrate::prepare(&mut backend, options).unwrap();
    let transport = Transport::from_streams(Box::new(s2r_tx), Box::new(r2s_rx), None, "pair");
    let sink = events.clone();
    let result = migrate::send_over(
        &mut backend,
        &prepared,
        options,
        transport,
        &Control::new(),
        Box::new(move |e| sink.lock().unwrap().push(e.clone())),
    );
    let received = peer.join().unwrap();
    let events = events.lock().unwrap().clone();
    (result, received, events)
}

fn hosts(pages: u64) -> (FakeHost, FakeHost) {
    let source = FakeHost::new();
    source.add_guest(NAME, pages);
    (source, FakeHost::new())
}

#[test]
fn test_libxc_progress_reaches_the_sink_and_the_suspend_starts_the_downtime() {
    let (source, target) = hosts(256);
    let options = SendOptions::new(NAME, "(socket pair)");
    let (result, received, events) =
        migrate_between(&source, &target, &options, ReceiveOptions::default());
    let summary = result.unwrap();
    received.unwrap();
    let saver: Vec<SaverEvent> = events
        .iter()
        .filter_map(|e| match e {
            Event::Saver(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(saver.first(), Some(&SaverEvent::StreamStart));
    assert!(saver.contains(&SaverEvent::Suspended), "{saver:?}");
    assert!(saver.iter().any(|s| matches!(
        s,
        SaverEvent::Pass {
            pass: 0,
            percent: 100,
            ..
        }
    )));
    assert_eq!(saver.last(), Some(&SaverEvent::Complete));
    assert_eq!(summary.downtime_from, Some(DowntimeFrom::Libxl));
    let downtime = summary.downtime_s.unwrap();
    assert!(downtime >= 0.0 && downtime < summary.total_s, "{summary:?}");
}

/// Real lines of libxl's stdio logger from the lab (tests/data/libxl-progress, see their first
/// lines): every "Frames" step of the save becomes a pass-0 event with the pages left, in
/// order, and the end of the stream is seen.
#[test]
fn test_real_libxl_log_lines_parse() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/libxl-progress/xl-save-vvv.log");
    let text = std::fs::read_to_string(path).unwrap();
    let events: Vec<SaverEvent> = text.lines().filter_map(migrate::parse_log_line).collect();
    let passes: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            SaverEvent::Pass {
                pass: 0,
                sent,
                dirty_left,
                ..
            } => Some((*sent, *dirty_left)),
            _ => None,
        })
        .collect();
    assert_eq!(passes.len(), 32, "{events:?}");
    assert_eq!(passes[0], (1024, 31744));
    assert_eq!(passes[31], (32768, 0));
    assert!(passes.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(events.last(), Some(&SaverEvent::StreamEnd));
}
