//! `xenadm exporter` at start: on a host without Xen it serves `xen_up 0` with the reason
//! (and would recover when Xen appears, see the unit tests); `:PORT` and `HOST:PORT` are
//! accepted; a bad address is a usage error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, xenadm};

/// A free loopback port, released again so the exporter can take it.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /metrics` on 127.0.0.1:port, retried until the exporter listens.
fn get_metrics(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            conn.read_to_string(&mut answer).unwrap();
            return answer;
        }
        assert!(Instant::now() < deadline, "the exporter never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the exporter when the test ends.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exporter(listen: &str) -> Exporter {
    Exporter(
        Command::new(env!("CARGO_BIN_EXE_xenadm"))
            .args(["exporter", "--listen", listen])
            .env_remove("XENADM_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn test_exporter_without_xen_serves_xen_up_0_with_the_reason() {
    if std::path::Path::new("/proc/xen/capabilities").exists() {
        eprintln!("SKIPPED: this machine may be a Xen dom0");
        return;
    }
    // `:PORT` (every interface) and `localhost:PORT` are accepted, as other exporters take them.
    for form in [":{port}", "localhost:{port}", "127.0.0.1:{port}"] {
        let port = free_port();
        let mut running = exporter(&form.replace("{port}", &port.to_string()));
        let answer = get_metrics(port);
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{answer}"
        );
        assert!(answer.contains("\nxen_up 0\n"), "{answer}");
        assert!(
            answer.contains("xen_unavailable_info{reason=\""),
            "{answer}"
        );
        // Still running: it serves until stopped.
        assert!(running.0.try_wait().unwrap().is_none());
        let _ = running.0.kill();
        let out = running.0.wait_with_output_ref();
        assert!(out.contains("serving xen_up 0 until it is"), "{out}");
    }
}

trait StderrOf {
    fn wait_with_output_ref(&mut self) -> String;
}

impl StderrOf for Child {
    fn wait_with_output_ref(&mut self) -> String {
        let _ = self.wait();
        let mut text = String::new();
        if let Some(mut err) = self.stderr.take() {
            err.read_to_string(&mut text).unwrap();
        }
        text
    }
}

#[test]
fn test_exporter_bad_listen_address_is_a_usage_error() {
    for bad in ["localhost", "127.0.0.1", "127.0.0.1:99999", "[::1]"] {
        let out = xenadm(&["exporter", "--listen", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(stderr(&out).contains("--listen"), "{bad}: {}", stderr(&out));
    }
}
