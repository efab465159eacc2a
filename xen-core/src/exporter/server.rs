//! The exporter's HTTP server: plain `std::net`, one thread per connection up to a bound,
//! and one sampler (the thread that calls [`Server::serve`]) that all scrapes share.
//!
//! Why no async runtime: the exporter serves a handful of scrapers every few seconds; a
//! thread per connection with a hard bound, timeouts on every read and write, and a deadline
//! for each request head is simpler and enough. Slow or stuck clients hold one connection
//! slot each for at most `head_timeout`; when every slot is busy, new connections get an
//! immediate 503 instead of waiting.
//!
//! The sampler owns the metrics source, so a source need not be `Send` (the Xen libraries'
//! handles are not): connection threads ask it for a body through a channel. Scrapes that
//! arrive within `cache_window` of a sample share it, so overlapping scrapes (two Prometheus
//! servers, a retry) cost one sample, and each scrape otherwise gets a fresh one.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::XenError;
use crate::render::prometheus::CONTENT_TYPE;

use super::http::{self, Method, Refusal, Response};

/// Limits and timeouts of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Connections served at once; more get 503.
    pub max_connections: usize,
    /// Longest request head accepted (431 beyond).
    pub max_head_bytes: usize,
    /// Time a client has to send a whole request head once it started (408 after).
    pub head_timeout: Duration,
    /// Time an idle keep-alive connection stays open.
    pub idle_timeout: Duration,
    /// Time allowed for writing a response.
    pub write_timeout: Duration,
    /// Requests served on one connection before it is closed.
    pub max_requests_per_connection: usize,
    /// Scrapes within this time of a sample reuse it.
    pub cache_window: Duration,
    /// Longest wait of a connection for the sampler (503 after).
    pub sample_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_connections: 32,
            max_head_bytes: 8192,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
            max_requests_per_connection: 1000,
            cache_window: Duration::from_secs(1),
            sample_timeout: Duration::from_secs(60),
        }
    }
}

/// Asks a running [`Server::serve`] to return (from another thread: tests, or an embedder
/// that stops serving on its own signal).
#[derive(Debug, Clone)]
pub struct StopHandle {
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl StopHandle {
    /// Stops accepting, lets the sampler return, and wakes the accept loop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// A bound exporter server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
    stop: Arc<AtomicBool>,
}

/// A connection's request for a body; the sampler answers on the channel.
type BodyRequest = mpsc::Sender<Arc<Vec<u8>>>;

impl Server {
    /// Binds `addr`.
    ///
    /// # Errors
    ///
    /// [`XenError::ExporterListen`] naming the address (in use, not this host's, a port
    /// below 1024 without root).
    pub fn bind(addr: SocketAddr, config: ServerConfig) -> Result<Server, XenError> {
        Ok(Server {
            listener: TcpListener::bind(addr)
                .map_err(|source| XenError::ExporterListen { addr, source })?,
            config,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address it listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle to stop [`Server::serve`] from another thread.
    pub fn stop_handle(&self) -> io::Result<StopHandle> {
        Ok(StopHandle {
            stop: Arc::clone(&self.stop),
            addr: self.local_addr()?,
        })
    }

    /// Serves until stopped: connections on their own threads, `source` on this one. Each
    /// call of `source` takes a sample and returns the exposition.
    ///
    /// # Errors
    ///
    /// [`XenError::ExporterServe`] when the accepting thread cannot start or panics.
    pub fn serve(self, source: impl FnMut() -> Vec<u8>) -> Result<(), XenError> {
        self.serve_io(source).map_err(XenError::ExporterServe)
    }

    fn serve_io(self, mut source: impl FnMut() -> Vec<u8>) -> io::Result<()> {
        let (requests, bodies) = mpsc::channel::<BodyRequest>();
        let config = Arc::new(self.config);
        let stop = Arc::clone(&self.stop);
        let acceptor = {
            let config = Arc::clone(&config);
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name("exporter-accept".into())
                .spawn(move || accept_loop(&self.listener, &config, &stop, &requests))?
        };
        let mut cached: Option<(Instant, Arc<Vec<u8>>)> = None;
        while !stop.load(Ordering::SeqCst) {
            let reply = match bodies.recv_timeout(Duration::from_millis(200)) {
                Ok(reply) => reply,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let body = match &cached {
                Some((taken, body)) if taken.elapsed() < config.cache_window => Arc::clone(body),
                _ => {
                    let body = Arc::new(source());
                    // Timed from the end, so that scrapes queued during a slow sample share it.
                    cached = Some((Instant::now(), Arc::clone(&body)));
                    body
                }
            };
            // The connection may have given up waiting; nothing to do then.
            let _ = reply.send(body);
        }
        stop.store(true, Ordering::SeqCst);
        drop(bodies);
        acceptor
            .join()
            .map_err(|_| io::Error::other("the accept thread panicked"))
    }
}

fn accept_loop(
    listener: &TcpListener,
    config: &Arc<ServerConfig>,
    stop: &Arc<AtomicBool>,
    requests: &mpsc::Sender<BodyRequest>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(err) => {
                // Out of descriptors, or the peer went away before accept: back off
                // briefly instead of spinning.
                tracing::warn!("accept failed: {err}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.load(Ordering::SeqCst) >= config.max_connections {
            refuse_busy(stream, config);
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(Arc::clone(&active));
        let config = Arc::clone(config);
        let requests = requests.clone();
        let spawned = thread::Builder::new()
            .name("exporter-conn".into())
            .spawn(move || {
                let _slot = slot;
                serve_connection(stream, &config, &requests);
            });
        if let Err(err) = spawned {
            tracing::warn!("cannot start a connection thread: {err}");
        }
    }
}

/// Frees a connection slot when the connection's thread ends (or fails to start).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refuse_busy(mut stream: TcpStream, config: &ServerConfig) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let response = Response {
        status: 503,
        reason: "Service Unavailable",
        content_type: "text/plain; charset=utf-8",
        extra_headers: &[("Retry-After", "1")],
        body: b"too many connections\n",
    };
    let _ = response.write_to(&mut stream, false, false);
    tracing::debug!(
        "refused a connection: {} connections open",
        config.max_connections
    );
}

/// How waiting for a request head ended.
enum HeadWait {
    /// A head of this length is at the start of the buffer.
    Complete(usize),
    /// The peer closed, or went quiet before sending anything.
    Gone,
    /// The peer started a request but did not finish it in time.
    TooSlow,
    /// The head outgrew the limit.
    TooLarge,
}

fn serve_connection(
    mut stream: TcpStream,
    config: &ServerConfig,
    requests: &mpsc::Sender<BodyRequest>,
) {
    if stream
        .set_write_timeout(Some(config.write_timeout))
        .is_err()
    {
        return;
    }
    let mut buf = Vec::with_capacity(1024);
    for served in 0..config.max_requests_per_connection {
        // A new connection must send its request within the head timeout; an idle
        // keep-alive connection may wait longer for its next one.
        let idle = if served == 0 {
            config.head_timeout
        } else {
            config.idle_timeout
        };
        let head_len = match wait_for_head(&mut stream, &mut buf, config, idle) {
            HeadWait::Complete(len) => len,
            HeadWait::Gone => return,
            HeadWait::TooSlow => {
                let _ = simple(
                    408,
                    "Request Timeout",
                    "request head not received in time\n",
                )
                .write_to(&mut stream, false, false);
                linger_close(&mut stream);
                return;
            }
            HeadWait::TooLarge => {
                refuse(&mut stream, Refusal::HeadTooLarge);
                linger_close(&mut stream);
                return;
            }
        };
        let parsed = http::parse_head(&buf[..head_len]);
        buf.drain(..head_len);
        let request = match parsed {
            Ok(request) => request,
            Err(refusal) => {
                refuse(&mut stream, refusal);
                linger_close(&mut stream);
                return;
            }
        };
        let keep_alive = request.keep_alive && served + 1 < config.max_requests_per_connection;
        if answer(&mut stream, &request, keep_alive, config, requests).is_err() || !keep_alive {
            return;
        }
    }
}

/// Reads until `buf` starts with a whole request head. The first byte must come within
/// `idle`; the rest of the head within `config.head_timeout` of it.
fn wait_for_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    config: &ServerConfig,
    idle: Duration,
) -> HeadWait {
    let mut deadline = Instant::now()
        + if buf.is_empty() {
            idle
        } else {
            config.head_timeout
        };
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(len) = http::head_length(buf) {
            return HeadWait::Complete(len);
        }
        if buf.len() >= config.max_head_bytes {
            return HeadWait::TooLarge;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return if buf.is_empty() {
                HeadWait::Gone
            } else {
                HeadWait::TooSlow
            };
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return HeadWait::Gone;
        }
        let room = (config.max_head_bytes + 1 - buf.len()).min(chunk.len());
        match stream.read(&mut chunk[..room]) {
            Ok(0) => return HeadWait::Gone,
            Ok(n) => {
                if buf.is_empty() {
                    deadline = Instant::now() + config.head_timeout;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return HeadWait::Gone,
        }
    }
}

/// The links page at `/`.
const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>xenadm exporter</title></head>\n\
<body><h1>xenadm exporter</h1>\n<p>Prometheus metrics of this Xen host: <a href=\"/metrics\">/metrics</a></p>\n\
</body></html>\n";

fn answer(
    stream: &mut TcpStream,
    request: &http::Request,
    keep_alive: bool,
    config: &ServerConfig,
    requests: &mpsc::Sender<BodyRequest>,
) -> io::Result<()> {
    let head_only = request.method == Method::Head;
    let known_method = matches!(request.method, Method::Get | Method::Head);
    match request.path.as_str() {
        "/metrics" | "/" if !known_method => {
            let response = Response {
                extra_headers: &[("Allow", "GET, HEAD")],
                ..simple(405, "Method Not Allowed", "only GET and HEAD are allowed\n")
            };
            response.write_to(stream, false, keep_alive)
        }
        "/metrics" => match metrics_body(requests, config) {
            Some(body) => Response {
                status: 200,
                reason: "OK",
                content_type: CONTENT_TYPE,
                extra_headers: &[],
                body: body.as_slice(),
            }
            .write_to(stream, head_only, keep_alive),
            None => simple(503, "Service Unavailable", "the sampler did not answer\n")
                .write_to(stream, head_only, false),
        },
        "/" => Response {
            status: 200,
            reason: "OK",
            content_type: "text/html; charset=utf-8",
            extra_headers: &[],
            body: INDEX.as_bytes(),
        }
        .write_to(stream, head_only, keep_alive),
        _ => simple(404, "Not Found", "not found; metrics are at /metrics\n")
            .write_to(stream, head_only, keep_alive),
    }
}

fn metrics_body(
    requests: &mpsc::Sender<BodyRequest>,
    config: &ServerConfig,
) -> Option<Arc<Vec<u8>>> {
    let (reply, body) = mpsc::channel();
    requests.send(reply).ok()?;
    body.recv_timeout(config.sample_timeout).ok()
}

fn simple(status: u16, reason: &'static str, body: &'static str) -> Response<'static> {
    Response {
        status,
        reason,
        content_type: "text/plain; charset=utf-8",
        extra_headers: &[],
        body: body.as_bytes(),
    }
}

/// Closes after a refusal without losing the answer: closing with unread request bytes
/// makes the kernel reset the connection, and the client may then never see the status. So
/// stop sending, and read and discard what the client still sends, for a short while.
fn linger_close(stream: &mut TcpStream) {
    const LINGER_BYTES: usize = 256 * 1024;
    let _ = stream.shutdown(Shutdown::Write);
    if stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .is_err()
    {
        return;
    }
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

fn refuse(stream: &mut TcpStream, refusal: Refusal) {
    let (status, reason) = refusal.status();
    let body = format!("{}\n", refusal.explanation());
    let response = Response {
        status,
        reason,
        content_type: "text/plain; charset=utf-8",
        extra_headers: &[],
        body: body.as_bytes(),
    };
    let _ = response.write_to(stream, false, false);
}
