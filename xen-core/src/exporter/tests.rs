//! The exporter over real loopback TCP: scrapes, HTTP details, malformed and slow clients.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::XenError;
use crate::host::{
    DomId, DomainName, DomainStats, Host, HostBackend, HostInfo, Sample, SampleFlags,
};

use super::*;
use crate::render::prometheus;

/// Answers samples from a script, then fails.
struct Scripted {
    samples: Vec<Result<Sample, XenError>>,
}

impl HostBackend for Scripted {
    fn host_info(&mut self) -> Result<HostInfo, XenError> {
        Ok(HostInfo::default())
    }

    fn sample(&mut self, _flags: SampleFlags) -> Result<Sample, XenError> {
        if self.samples.is_empty() {
            return Err(XenError::RecordingExhausted { recorded: 0 });
        }
        self.samples.remove(0)
    }
}

fn sample_with(name: &str) -> Sample {
    let domain = DomainStats {
        domid: DomId(3),
        name: DomainName::new(name),
        cpu_time_ns: 1_500_000_000,
        ..DomainStats::default()
    };
    let mut sample = Sample::default();
    sample.domains.push(domain);
    sample
}

/// A server on an ephemeral loopback port, stopped when dropped.
struct Running {
    addr: SocketAddr,
    stop: StopHandle,
    thread: Option<thread::JoinHandle<Result<(), XenError>>>,
    samples_taken: Arc<AtomicUsize>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap().unwrap();
        }
    }
}

fn start(config: ServerConfig, samples: Vec<Result<Sample, XenError>>) -> Running {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = server.local_addr().unwrap();
    let stop = server.stop_handle().unwrap();
    let samples_taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&samples_taken);
    let mut host = Host::with_backend(Scripted { samples });
    let thread = thread::spawn(move || {
        server.serve(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            scrape(&mut host).0
        })
    });
    Running {
        addr,
        stop,
        thread: Some(thread),
        samples_taken,
    }
}

fn quick() -> ServerConfig {
    ServerConfig {
        head_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_secs(2),
        cache_window: Duration::ZERO,
        sample_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    }
}

/// A parsed response.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads one response from `stream` (the body per Content-Length, none for HEAD).
fn read_reply(stream: &mut TcpStream, head_request: bool) -> Reply {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "connection closed before a full response: {bytes:?}");
        bytes.push(byte[0]);
    }
    let head = String::from_utf8(bytes).unwrap();
    let status = head[9..12].parse().unwrap();
    let mut reply = Reply {
        status,
        head,
        body: String::new(),
    };
    let length: usize = reply.header("Content-Length").unwrap().parse().unwrap();
    if !head_request {
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).unwrap();
        reply.body = String::from_utf8(body).unwrap();
    }
    reply
}

fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    read_reply(&mut stream, request.starts_with(b"HEAD"))
}

fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).is_ok() && rest.is_empty()
}

const SCRAPE: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

#[test]
fn test_scrape_serves_the_exposition() {
    let server = start(quick(), vec![Ok(sample_with("web 1"))]);
    let reply = exchange(server.addr, SCRAPE);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("Content-Type"), Some(prometheus::CONTENT_TYPE));
    assert_eq!(reply.header("Connection"), Some("close"));
    assert!(reply.body.contains("xen_up 1\n"), "{}", reply.body);
    assert!(
        reply
            .body
            .contains("xen_domain_cpu_seconds_total{domain=\"web 1\",domid=\"3\"} 1.5\n")
    );
}

#[test]
fn test_failed_sample_is_xen_up_0_not_an_error_status() {
    let server = start(
        quick(),
        vec![Err(XenError::Vcpu {
            domid: DomId(9),
            vcpu: 0,
            source: Box::new(XenError::Call {
                call: "xc_vcpu_getinfo",
                source: std::io::Error::other("no such domain"),
            }),
        })],
    );
    let reply = exchange(server.addr, SCRAPE);
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("xen_up 0\n"));
    assert!(!reply.body.contains("xen_domain_"));
}

#[test]
fn test_each_scrape_samples_unless_within_the_cache_window() {
    let server = start(quick(), vec![Ok(sample_with("a")), Ok(sample_with("b"))]);
    assert!(exchange(server.addr, SCRAPE).body.contains("domain=\"a\""));
    assert!(exchange(server.addr, SCRAPE).body.contains("domain=\"b\""));
    assert_eq!(server.samples_taken.load(Ordering::SeqCst), 2);

    let cached = ServerConfig {
        cache_window: Duration::from_secs(60),
        ..quick()
    };
    let server = start(cached, vec![Ok(sample_with("a")), Ok(sample_with("b"))]);
    assert!(exchange(server.addr, SCRAPE).body.contains("domain=\"a\""));
    assert!(exchange(server.addr, SCRAPE).body.contains("domain=\"a\""));
    assert_eq!(server.samples_taken.load(Ordering::SeqCst), 1);
}

#[test]
fn test_head_gives_headers_without_body() {
    let server = start(quick(), vec![Ok(sample_with("a"))]);
    let mut stream = connect(server.addr);
    stream
        .write_all(b"HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let reply = read_reply(&mut stream, true);
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("Content-Length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 100
    );
    assert!(closed_by_server(&mut stream), "no body after a HEAD answer");
}

#[test]
fn test_keep_alive_and_pipelining() {
    let server = start(
        quick(),
        vec![
            Ok(sample_with("a")),
            Ok(sample_with("b")),
            Ok(sample_with("c")),
        ],
    );
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let first = read_reply(&mut stream, false);
    assert_eq!(first.header("Connection"), Some("keep-alive"));
    assert!(first.body.contains("domain=\"a\""));
    // Two requests in one write; the second closes.
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_reply(&mut stream, false).body.contains("domain=\"b\""));
    let index = read_reply(&mut stream, false);
    assert_eq!(index.header("Connection"), Some("close"));
    assert!(index.body.contains("href=\"/metrics\""));
    assert!(closed_by_server(&mut stream));
}

#[test]
fn test_http_1_0_closes_by_default() {
    let server = start(quick(), vec![Ok(sample_with("a"))]);
    let mut stream = connect(server.addr);
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let reply = read_reply(&mut stream, false);
    assert_eq!(reply.header("Connection"), Some("close"));
    assert!(closed_by_server(&mut stream));
}

#[test]
fn test_idle_keep_alive_connection_is_closed() {
    let server = start(quick(), vec![Ok(sample_with("a"))]);
    let mut stream = connect(server.addr);
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(read_reply(&mut stream, false).status, 200);
    let started = Instant::now();
    assert!(closed_by_server(&mut stream));
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn test_wrong_paths_methods_and_malformed_requests() {
    let server = start(quick(), vec![]);
    let cases: [(&[u8], u16); 8] = [
        (b"GET /nope HTTP/1.1\r\n\r\n", 404),
        (b"POST /metrics HTTP/1.1\r\n\r\n", 405),
        (b"DELETE / HTTP/1.1\r\n\r\n", 405),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
        (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
        (
            b"GET /metrics HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
            413,
        ),
        (b"GET /metrics\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
    ];
    for (request, status) in cases {
        let reply = exchange(server.addr, request);
        assert_eq!(
            reply.status,
            status,
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    let reply = exchange(
        server.addr,
        b"POST /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(reply.header("Allow"), Some("GET, HEAD"));
    // Refusals never sampled.
    assert_eq!(server.samples_taken.load(Ordering::SeqCst), 0);
}

#[test]
fn test_huge_head_is_refused_with_431() {
    let server = start(quick(), vec![]);
    let mut stream = connect(server.addr);
    let mut request = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 20_000));
    // The server may answer and close before reading it all.
    let _ = stream.write_all(&request);
    assert_eq!(read_reply(&mut stream, false).status, 431);
}

#[test]
fn test_slowloris_does_not_stop_other_scrapes() {
    let config = ServerConfig {
        head_timeout: Duration::from_secs(3),
        ..quick()
    };
    let server = start(config, vec![Ok(sample_with("a"))]);
    let mut slow = connect(server.addr);
    slow.write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
        .unwrap();
    // While it dawdles, a real scrape goes through, long before the slow head times out.
    let started = Instant::now();
    let reply = exchange(server.addr, SCRAPE);
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Trickling bytes does not extend the head deadline: 408 about 3 s after it started.
    for _ in 0..3 {
        thread::sleep(Duration::from_millis(100));
        let _ = slow.write_all(b"a");
    }
    assert_eq!(read_reply(&mut slow, false).status, 408);
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(closed_by_server(&mut slow));
}

#[test]
fn test_connections_over_the_limit_get_503_at_once() {
    let config = ServerConfig {
        max_connections: 2,
        head_timeout: Duration::from_secs(5),
        ..quick()
    };
    let server = start(config, vec![Ok(sample_with("a"))]);
    let mut holders: Vec<TcpStream> = (0..2).map(|_| connect(server.addr)).collect();
    for holder in &mut holders {
        holder.write_all(b"GET /").unwrap();
    }
    // Let the server take both into slots.
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let reply = exchange(server.addr, SCRAPE);
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("Retry-After"), Some("1"));
    assert!(started.elapsed() < Duration::from_secs(2));
    // A slot frees when a holder finishes; then scrapes work again.
    holders[0]
        .write_all(b" HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut holders[0], false).status, 200);
    drop(holders);
    // The server notices the closed holders in its own time.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut status = exchange(server.addr, SCRAPE).status;
    while status == 503 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        status = exchange(server.addr, SCRAPE).status;
    }
    assert_eq!(status, 200);
}

#[test]
fn test_source_serves_xen_up_0_with_the_reason_then_recovers() {
    let mut attempts = 0;
    let mut source = XenSource::new(|| {
        attempts += 1;
        if attempts < 3 {
            Err(XenError::NotDom0 {
                path: "/proc/xen \"here\"".into(),
                what: "missing",
            })
        } else {
            Ok(Host::with_backend(Scripted {
                samples: vec![Ok(sample_with("web"))],
            }))
        }
    });
    for attempt in 0..2 {
        let (text, notes) = source.scrape();
        let text = String::from_utf8(text).unwrap();
        // The reason is told once, not at every scrape.
        assert_eq!(notes.len(), 1 - attempt, "{notes:?}");
        assert!(text.contains("xen_up 0\n"), "{text}");
        // The reason, with the label value escaped.
        assert!(
            text.contains("xen_unavailable_info{reason=\"") && text.contains("\\\"here\\\""),
            "{text}"
        );
    }
    // Xen appeared: the next scrape opens it and samples.
    let (text, notes) = source.scrape();
    assert_eq!(notes, [ScrapeNote::AvailableAgain]);
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("xen_up 1\n"), "{text}");
    assert!(!text.contains("xen_unavailable_info"), "{text}");
    assert!(text.contains("domain=\"web\""), "{text}");
}
