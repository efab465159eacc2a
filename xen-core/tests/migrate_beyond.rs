//! What xenadm adds to xl's migration between two xenadm ends or locally: the negotiated wire
//! format (zero elision, LZ4) both ways and never towards xl, hostile frames, `--bandwidth`;
//! libxc's progress through libxl's logger (typed events, the downtime from the real suspend),
//! parsed from real log lines. Over socket pairs with fake hosts, as tests/migrate_protocol.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use xen_core::migrate::protocol::{BANNER, encode_header};
use xen_core::migrate::wire::{CONFIRM, WireEncoder};
use xen_core::migrate::{
    self, Control, DomainState, DowntimeFrom, Event, FakeHost, MigrateError, ReceiveOptions,
    Received, SaverEvent, SendOptions, SendResult, Step,
};

mod common;

use common::{NAME, file_of, hosts, send_over_streams};

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
    let sink = events.clone();
    let result = send_over_streams(
        source,
        options,
        (s2r_tx, r2s_rx),
        None,
        &Control::new(),
        Box::new(move |e| sink.lock().unwrap().push(e.clone())),
    );
    let received = peer.join().unwrap();
    let events = events.lock().unwrap().clone();
    (result, received, events)
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

fn wire_receiver() -> ReceiveOptions {
    let mut options = ReceiveOptions::default();
    options.wire = true;
    options
}

fn compressing() -> SendOptions {
    let mut options = SendOptions::new(NAME, "hostb");
    options.compress = true;
    options
}

#[test]
fn test_compressed_xenadm_to_xenadm_moves_the_guest_with_fewer_bytes() {
    let (source, target) = hosts(2048);
    let (result, received, _) = migrate_between(&source, &target, &compressing(), wire_receiver());
    let summary = result.unwrap();
    assert_eq!(received.unwrap().name, NAME);
    assert_eq!(target.domain(NAME).unwrap().state, DomainState::Running);
    assert!(source.domains().is_empty());
    // The target's libxl read the whole stream, decoded; far fewer bytes crossed the wire.
    let wire = summary.wire.unwrap();
    assert_eq!(wire.stream_bytes, summary.bytes);
    assert_eq!(target.restored_bytes(), summary.bytes);
    assert!(
        wire.wire_bytes * 4 < summary.bytes,
        "{wire:?} for {} stream bytes",
        summary.bytes
    );
    assert!(wire.zero_bytes > 0);
    // The same guest without --compress: no wire counts, every byte on the wire.
    let (source, target) = hosts(2048);
    let plain = migrate_between(
        &source,
        &target,
        &SendOptions::new(NAME, "hostb"),
        ReceiveOptions::default(),
    );
    let plain = plain.0.unwrap();
    assert!(plain.wire.is_none());
    assert_eq!(plain.bytes, summary.bytes);
}

#[test]
fn test_the_option_is_asked_only_of_xenadm_receivers_through_the_rune() {
    let options = compressing();
    assert_eq!(
        options.rune(),
        "exec ssh hostb xenadm migrate-receive --wire lz4"
    );
    assert_eq!(
        SendOptions::new(NAME, "hostb").rune(),
        "exec ssh hostb xenadm migrate-receive"
    );
    // Towards stock xl, or over a raw transport, --compress is refused before anything starts.
    for (ssh, receive) in [
        (None, "xl migrate-receive"),
        (Some(""), "xenadm migrate-receive"),
    ] {
        let mut options = compressing();
        options.ssh_command = ssh.map(str::to_string);
        options.receive_command = receive.to_string();
        let source = FakeHost::new();
        source.add_guest(NAME, 64);
        let failure = migrate::send(
            &mut source.backend(),
            &options,
            &Control::new(),
            Box::new(|_| {}),
        )
        .unwrap_err();
        assert_eq!(failure.step, Step::Transport, "{failure}");
        assert!(
            failure.error.to_string().contains("--compress needs"),
            "{failure}"
        );
        assert_eq!(source.domain(NAME).unwrap().state, DomainState::Running);
        assert_eq!(source.calls(), Vec::<String>::new());
    }
}

/// A receiver that never confirms (an older xenadm refuses the option and exits after the
/// banner, or sends none): the sender stops before sending anything; the guest runs on.
#[test]
fn test_an_unconfirmed_wire_format_leaves_the_guest_untouched() {
    let source = FakeHost::new();
    source.add_guest(NAME, 64);
    let (s2r_tx, mut s2r_rx) = UnixStream::pair().unwrap();
    let (mut r2s_tx, r2s_rx) = UnixStream::pair().unwrap();
    let peer = std::thread::spawn(move || {
        r2s_tx.write_all(BANNER).unwrap();
        r2s_tx.write_all(b"usage: xenadm mi").unwrap();
        drop(r2s_tx);
        let mut got = Vec::new();
        s2r_rx.read_to_end(&mut got).unwrap();
        got
    });
    let failure = send_over_streams(
        &source,
        &compressing(),
        (s2r_tx, r2s_rx),
        None,
        &Control::new(),
        Box::new(|_| {}),
    )
    .unwrap_err();
    assert_eq!(failure.step, Step::Banner);
    assert!(
        failure.notes.iter().any(|n| n.contains("did not confirm")),
        "{failure:?}"
    );
    assert_eq!(
        peer.join().unwrap(),
        b"",
        "the sender sent bytes to an unconfirmed receiver"
    );
    assert_eq!(source.domain(NAME).unwrap().state, DomainState::Running);
}

/// A xenadm receiver asked for the wire format answers xl's banner and then the confirmation;
/// without the option its bytes are xl's banner alone (an xl sender never asks).
#[test]
fn test_receiver_confirms_only_when_asked() {
    for (wire, expected) in [
        (false, BANNER.to_vec()),
        (true, [BANNER, CONFIRM.as_slice()].concat()),
    ] {
        let target = FakeHost::new();
        let (s2r_tx, s2r_rx) = UnixStream::pair().unwrap();
        let (r2s_tx, mut r2s_rx) = UnixStream::pair().unwrap();
        drop(s2r_tx);
        let mut options = ReceiveOptions::default();
        options.wire = wire;
        let mut output = r2s_tx;
        let result = migrate::receive(
            &mut target.backend(),
            &file_of(s2r_rx),
            &mut output,
            &options,
            &mut |_| {},
        );
        assert!(result.is_err());
        drop(output);
        let mut got = Vec::new();
        r2s_rx.read_to_end(&mut got).unwrap();
        assert_eq!(got, expected);
    }
}

/// Hostile frames after a good header: a located error, no domain left on the target, and no
/// allocation or output past the frame limit (the bomb announces 4 GiB).
#[test]
fn test_hostile_frames_are_refused_with_the_frame_located() {
    let source = FakeHost::new();
    source.add_guest(NAME, 64);
    let config = migrate::prepare(&mut source.backend(), &SendOptions::new(NAME, "b"))
        .unwrap()
        .config_json;
    let frame = |kind: u8, raw: u32, payload: &[u8]| {
        let mut f = vec![kind, 0, 0, 0];
        f.extend_from_slice(&raw.to_le_bytes());
        f.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
        f.extend_from_slice(payload);
        f
    };
    let good = frame(1, 4, b"\0\0\0\0");
    let cases: [(Vec<u8>, &str); 3] = [
        (
            [good.clone(), frame(2, u32::MAX, &[0; 16])].concat(),
            "wire frame 1 at byte 16 of the compressed stream: frame of kind 2 announces 4294967295 stream bytes",
        ),
        (
            [good.clone(), frame(2, 4096, &lz4_flex_bomb())].concat(),
            "wire frame 1 at byte 16 of the compressed stream: LZ4 payload does not decompress",
        ),
        (
            frame(1, 100, &[1; 100])[..22].to_vec(),
            "wire frame 0 at byte 0 of the compressed stream: reading the frame payload",
        ),
    ];
    for (frames, expected) in cases {
        let target = FakeHost::new();
        let (mut s2r_tx, s2r_rx) = UnixStream::pair().unwrap();
        let (r2s_tx, mut r2s_rx) = UnixStream::pair().unwrap();
        let header = encode_header(&config);
        let sender = std::thread::spawn(move || {
            let mut banner = vec![0u8; BANNER.len() + CONFIRM.len()];
            r2s_rx.read_exact(&mut banner).unwrap();
            let _ = s2r_tx.write_all(&header);
            let _ = s2r_tx.write_all(&frames);
        });
        let mut output = r2s_tx;
        let error = migrate::receive(
            &mut target.backend(),
            &file_of(s2r_rx),
            &mut output,
            &wire_receiver(),
            &mut |_| {},
        )
        .unwrap_err();
        sender.join().unwrap();
        let chain = format!(
            "{error}: {}",
            std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(matches!(error, MigrateError::Wire { .. }), "{chain}");
        assert!(chain.contains(expected), "{chain}");
        assert!(target.domains().is_empty(), "{:?}", target.domains());
    }
}

/// An LZ4 block that expands to 1 MiB, sent for a frame announcing 4 KiB.
fn lz4_flex_bomb() -> Vec<u8> {
    let mut encoder = WireEncoder::new(Vec::new());
    let noise: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    encoder.write_all(&noise).unwrap();
    let (wire, _) = encoder.finish().unwrap();
    // The first frame's payload (after its 12-byte header) is the LZ4 block of the noise.
    let len = u32::from_le_bytes(wire[8..12].try_into().unwrap()) as usize;
    assert_eq!(wire[0], 2, "noise of period 251 compresses");
    wire[12..12 + len].to_vec()
}

#[test]
fn test_bandwidth_paces_the_sender_towards_any_receiver() {
    // 2 MiB/s for a stream of about 1.3 MiB: the transfer cannot take less than ~0.6 s.
    let (source, target) = hosts(320);
    let mut options = SendOptions::new(NAME, "hostb");
    options.bandwidth_bytes_per_s = Some(2 << 20);
    let start = std::time::Instant::now();
    let (result, received, _) =
        migrate_between(&source, &target, &options, ReceiveOptions::default());
    let summary = result.unwrap();
    received.unwrap();
    let floor = summary.bytes as f64 / f64::from(2 << 20);
    assert!(
        start.elapsed().as_secs_f64() >= floor * 0.95,
        "{:?} for {} bytes",
        start.elapsed(),
        summary.bytes
    );
}
