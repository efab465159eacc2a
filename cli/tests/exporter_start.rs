//! `xenadm exporter` at start: on a host without Xen it fails at once, saying why, and never
//! starts serving; a bad address is a usage error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use common::{stderr, xenadm};

#[test]
fn test_exporter_without_xen_fails_at_start() {
    if std::path::Path::new("/proc/xen/capabilities").exists() {
        eprintln!("SKIPPED: this machine may be a Xen dom0");
        return;
    }
    // A free port, released again so the exporter could take it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let started = Instant::now();
    let out = xenadm(&["exporter", "--listen", &addr.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr(&out).starts_with("xenadm: error: "),
        "{}",
        stderr(&out)
    );
    // It never bound the port.
    assert!(std::net::TcpListener::bind(addr).is_ok());
}

#[test]
fn test_exporter_bad_listen_address_is_a_usage_error() {
    for bad in ["localhost", "127.0.0.1", "127.0.0.1:99999", "[::1]"] {
        let out = xenadm(&["exporter", "--listen", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("--listen"), "{bad}: {}", stderr(&out));
    }
}
