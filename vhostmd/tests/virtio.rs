//! The virtio-serial transport against upstream's recorded answers: the test plays QEMU's side
//! (a listening socket per VM, both libvirt naming schemes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::io::{Read as _, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{MULTI_URI, golden_config, multi_vms, read, test_vm};
use vhostmd::{Config, Daemon, DaemonOptions, StaticVms};

fn listen(channel: &Path, dir: &str) -> UnixListener {
    let d = channel.join(dir);
    std::fs::create_dir_all(&d).unwrap();
    let l = UnixListener::bind(d.join(vhostmd::virtio::CHANNEL_NAME)).unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

fn accept(l: &UnixListener) -> UnixStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                return s;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("vhostmd did not connect: {e}"),
        }
    }
}

/// Sends `parts` (one write each) and reads until the answer ends with a blank line.
fn ask(s: &mut UnixStream, parts: &[&[u8]]) -> Vec<u8> {
    for p in parts {
        s.write_all(p).unwrap();
        s.flush().unwrap();
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.ends_with(b"\n\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "channel closed");
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn daemon(conf: &str, dir: &Path, uri: &str, vms: Vec<vhostmd::Vm>) -> Daemon {
    let text = golden_config(conf, dir);
    let config = Config::parse(text.as_bytes(), Path::new(conf)).unwrap();
    let mut options = DaemonOptions::new(dir.join(conf));
    options.connect = Some(uri.to_string());
    Daemon::new(config, options, Box::new(StaticVms::new(vms))).unwrap()
}

#[test]
fn test_single_vm_answers_equal_upstreams() {
    let dir = tempfile::tempdir().unwrap();
    let listener = listen(&dir.path().join("channel"), "1-test");
    let mut d = daemon(
        "golden-virtio.conf",
        dir.path(),
        "test:///default",
        vec![test_vm()],
    );
    d.update_once();
    let mut s = accept(&listener);
    let expected = read("single/virtio-response.xml");
    assert_eq!(ask(&mut s, &[b"GET /metrics/XML\n\n"]), expected);
    assert_eq!(ask(&mut s, &[b"GET /metrics/XML\r\n\r\n"]), expected);
    assert_eq!(
        ask(&mut s, &[b"GET /foo\n\n"]),
        read("single/virtio-invalid-request-response.txt")
    );
    assert_eq!(ask(&mut s, &[b"GET /metr", b"ics/XML\n\n"]), expected);
    // A hostile, overlong request is refused and the channel keeps working.
    assert_eq!(ask(&mut s, &[&[b'A'; 600]]), b"INVALID REQUEST\n\n");
    assert_eq!(ask(&mut s, &[b"GET /metrics/XML\n\n"]), expected);
}

#[test]
fn test_each_guest_gets_only_its_own_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let channel = dir.path().join("channel");
    let a = listen(&channel, "1-guest-a");
    let b = listen(&channel, "domain-2-guest-b");
    let mut d = daemon("golden-multi.conf", dir.path(), MULTI_URI, multi_vms());
    d.update_once();
    let mut sa = accept(&a);
    let mut sb = accept(&b);
    assert_eq!(
        ask(&mut sa, &[b"GET /metrics/XML\n\n"]),
        read("multi/virtio-response-guest-a.xml")
    );
    assert_eq!(
        ask(&mut sb, &[b"GET /metrics/XML\n\n"]),
        read("multi/virtio-response-guest-b.xml")
    );
}
