//! The virtio-serial transport: each VM's channel socket (created by QEMU in the channel
//! folder, `<id>-<name>/` or the older `domain-<id>-<name>/`, socket
//! `org.github.vhostmd.1`) gets the host metrics plus only that VM's metrics, on request.
//!
//! Protocol: the guest sends `GET /metrics/XML\n\n` (or with CRLF); the answer is
//! `<metrics>\n` + host part + VM part + `</metrics>\n\n`. Anything else that ends with a blank
//! line, or a request longer than 512 bytes, is answered `INVALID REQUEST\n\n`.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::fs::FileTypeExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::config::VirtioConfig;

/// The channel name QEMU exposes in the guest as `/dev/virtio-ports/org.github.vhostmd.1`.
pub const CHANNEL_NAME: &str = "org.github.vhostmd.1";
/// Longest request accepted.
pub const MAX_REQUEST_BYTES: usize = 512;
/// The answer to anything but a metrics request.
pub const INVALID_RESPONSE: &[u8] = b"INVALID REQUEST\n\n";

/// What a request buffer holds so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Not a whole request yet.
    Incomplete,
    /// `GET /metrics/XML` followed by a blank line.
    Metrics,
    /// Anything else, or too long.
    Invalid,
}

/// Accumulates request bytes sent in any number of pieces, bounded to
/// [`MAX_REQUEST_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct RequestParser {
    buf: Vec<u8>,
}

impl RequestParser {
    /// A parser with an empty buffer.
    pub fn new() -> RequestParser {
        RequestParser::default()
    }

    /// Adds received bytes; returns the first complete request (the buffer then restarts
    /// after it; bytes after a complete request are kept for the next call).
    pub fn push(&mut self, bytes: &[u8]) -> Request {
        let room = MAX_REQUEST_BYTES + 4 - self.buf.len().min(MAX_REQUEST_BYTES + 4);
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.next_request()
    }

    /// The next complete request already in the buffer.
    pub fn next_request(&mut self) -> Request {
        // Blank lines before a request are ignored (as HTTP servers do), so a guest can
        // resynchronise after noise by sending a blank line.
        let blank = self
            .buf
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
        self.buf.drain(..blank);
        let end = [&b"\r\n\r\n"[..], b"\n\n"]
            .iter()
            .filter_map(|t| find(&self.buf, t).map(|i| i + t.len()))
            .min();
        match end {
            Some(end) => {
                let request = &self.buf[..end];
                let ok =
                    request == b"GET /metrics/XML\n\n" || request == b"GET /metrics/XML\r\n\r\n";
                self.buf.drain(..end);
                if ok {
                    Request::Metrics
                } else {
                    Request::Invalid
                }
            }
            None if self.buf.len() > MAX_REQUEST_BYTES => {
                self.buf.clear();
                Request::Invalid
            }
            None => Request::Incomplete,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The answer to a metrics request.
pub fn response(host_xml: Option<&str>, vm_xml: Option<&str>) -> Vec<u8> {
    let mut out = String::from("<metrics>\n");
    out.push_str(host_xml.unwrap_or("<!-- host metrics not available -->\n"));
    out.push_str(vm_xml.unwrap_or("<!-- VM metrics not available -->\n"));
    out.push_str("</metrics>\n\n");
    out.into_bytes()
}

/// The VM id of a channel folder name: `<id>-<name>` or `domain-<id>-<name>`.
pub fn channel_dir_vm_id(dir_name: &str) -> Option<u32> {
    let rest = dir_name.strip_prefix("domain-").unwrap_or(dir_name);
    let (id, name) = rest.split_once('-')?;
    if name.is_empty() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

#[derive(Debug, Default)]
struct Shared {
    host: Option<String>,
    vms: HashMap<u32, (String, Instant)>,
    stop: bool,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The virtio server thread.
#[derive(Debug)]
pub struct VirtioServer {
    shared: Arc<Mutex<Shared>>,
    thread: Option<JoinHandle<()>>,
}

impl VirtioServer {
    /// Starts serving channels under `config.channel_path`. Channels connecting and closing
    /// are logged through `tracing` at debug level (the daemon's `-v` messages).
    pub fn start(config: VirtioConfig) -> Result<VirtioServer, std::io::Error> {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vhostmd-virtio".into())
            .spawn(move || serve(&config, &inner))?;
        Ok(VirtioServer {
            shared,
            thread: Some(thread),
        })
    }

    /// Hands over the latest update: the host part and each VM's part by id.
    pub fn publish(&self, host_xml: &str, vms: &[(u32, &str)]) {
        let now = Instant::now();
        let mut s = lock(&self.shared);
        s.host = Some(host_xml.to_string());
        for (id, xml) in vms {
            s.vms.insert(*id, ((*xml).to_string(), now));
        }
    }

    /// Stops the thread and closes every channel.
    pub fn stop(&mut self) {
        lock(&self.shared).stop = true;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for VirtioServer {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Channel {
    stream: UnixStream,
    path: PathBuf,
    parser: RequestParser,
}

fn serve(config: &VirtioConfig, shared: &Mutex<Shared>) {
    let mut channels: HashMap<u32, Channel> = HashMap::new();
    let mut last_scan: Option<Instant> = None;
    loop {
        let (known, stop) = {
            let mut s = lock(shared);
            let expiry = Duration::from_secs(config.expiration_secs);
            s.vms.retain(|_, (_, at)| at.elapsed() < expiry);
            (s.vms.keys().copied().collect::<Vec<u32>>(), s.stop)
        };
        if stop {
            return;
        }
        channels.retain(|id, _| known.contains(id));
        let missing = known.iter().any(|id| !channels.contains_key(id));
        if missing && last_scan.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            last_scan = Some(Instant::now());
            scan(config, &known, &mut channels);
        }
        let ids: Vec<u32> = channels.keys().copied().collect();
        let mut ready = Vec::new();
        {
            let mut fds: Vec<PollFd> = ids
                .iter()
                .filter_map(|id| channels.get(id))
                .map(|c| PollFd::new(c.stream.as_fd(), PollFlags::POLLIN))
                .collect();
            let n = poll(&mut fds, PollTimeout::from(200u8)).unwrap_or(0);
            if n > 0 {
                for (i, fd) in fds.iter().enumerate() {
                    if fd.revents().is_some_and(|r| !r.is_empty()) {
                        ready.push(ids[i]);
                    }
                }
            }
            if fds.is_empty() {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        for id in ready {
            if !service(id, &mut channels, shared)
                && let Some(c) = channels.remove(&id)
            {
                tracing::debug!("virtio channel {} closed", c.path.display());
            }
        }
    }
}

/// Reads what the guest sent and answers complete requests; false when the channel closed.
fn service(id: u32, channels: &mut HashMap<u32, Channel>, shared: &Mutex<Shared>) -> bool {
    let Some(channel) = channels.get_mut(&id) else {
        return false;
    };
    let mut buf = [0u8; MAX_REQUEST_BYTES];
    let n = match channel.stream.read(&mut buf) {
        Ok(0) | Err(_) => return false,
        Ok(n) => n,
    };
    let mut request = channel.parser.push(&buf[..n]);
    while request != Request::Incomplete {
        let answer = match request {
            Request::Metrics => {
                let s = lock(shared);
                response(s.host.as_deref(), s.vms.get(&id).map(|(x, _)| x.as_str()))
            }
            _ => INVALID_RESPONSE.to_vec(),
        };
        if channel.stream.write_all(&answer).is_err() {
            return false;
        }
        request = channel.parser.next_request();
    }
    true
}

/// Connects to the channel sockets of known VMs that have none yet.
fn scan(config: &VirtioConfig, known: &[u32], channels: &mut HashMap<u32, Channel>) {
    let Ok(entries) = std::fs::read_dir(&config.channel_path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = channel_dir_vm_id(&name.to_string_lossy()) else {
            continue;
        };
        if !known.contains(&id)
            || channels.contains_key(&id)
            || channels.len() >= config.max_channels as usize
        {
            continue;
        }
        let path = entry.path().join(CHANNEL_NAME);
        if !is_socket(&path) {
            continue;
        }
        match UnixStream::connect(&path) {
            Ok(stream) => {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                tracing::debug!("virtio channel {} connected", path.display());
                channels.insert(
                    id,
                    Channel {
                        stream,
                        path,
                        parser: RequestParser::new(),
                    },
                );
            }
            Err(e) => tracing::debug!("cannot connect to {}: {e}", path.display()),
        }
    }
}

fn is_socket(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// The guest port of the channel.
pub const GUEST_PORT: &str = "/dev/virtio-ports/org.github.vhostmd.1";
/// Largest answer a guest accepts.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Guest side: sends a metrics request on the port (or a Unix socket, for tests) and reads
/// the answer up to its blank line, within `timeout`. Returned verbatim.
pub fn request_metrics(port: &Path, timeout: Duration) -> Result<Vec<u8>, crate::VhostmdError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let fail = |message: String| crate::VhostmdError::Virtio {
        path: port.to_path_buf(),
        message,
    };
    let deadline = Instant::now() + timeout;
    let mut stream: Box<dyn ReadWrite> = if is_socket(port) {
        let s = UnixStream::connect(port).map_err(|e| fail(e.to_string()))?;
        s.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
        Box::new(s)
    } else {
        Box::new(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(port)
                .map_err(|e| fail(e.to_string()))?,
        )
    };
    let mut sent = 0;
    let request = b"GET /metrics/XML\n\n";
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !out.ends_with(b"\n\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(fail(format!(
                "no complete answer within {} ms",
                timeout.as_millis()
            )));
        }
        let flags = if sent < request.len() {
            PollFlags::POLLOUT
        } else {
            PollFlags::POLLIN
        };
        let ms = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(stream.fd(), flags)];
        if poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        )
        .unwrap_or(0)
            == 0
        {
            continue;
        }
        if sent < request.len() {
            match stream.write(&request[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(fail(e.to_string())),
            }
            continue;
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(fail("the channel closed before a complete answer".into())),
            Ok(n) => {
                if out.len() + n > MAX_RESPONSE_BYTES {
                    return Err(fail(format!(
                        "answer larger than {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    if out == INVALID_RESPONSE {
        return Err(fail("vhostmd answered INVALID REQUEST".into()));
    }
    Ok(out)
}

trait ReadWrite: std::io::Read + std::io::Write {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_>;
}

impl ReadWrite for UnixStream {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.as_fd()
    }
}

impl ReadWrite for std::fs::File {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_requests_whole_split_crlf_invalid_overlong() {
        let mut p = RequestParser::new();
        assert_eq!(p.push(b"GET /metrics/XML\n\n"), Request::Metrics);
        assert_eq!(p.push(b"GET /metrics/XML\r\n\r\n"), Request::Metrics);
        assert_eq!(p.push(b"GET /metr"), Request::Incomplete);
        assert_eq!(p.push(b"ics/XML\n\n"), Request::Metrics);
        assert_eq!(p.push(b"GET /foo\n\n"), Request::Invalid);
        assert_eq!(p.push(&[b'x'; 600]), Request::Invalid);
        assert_eq!(
            p.push(b"GET /metrics/XML\n\nGET /metrics/XML\n\n"),
            Request::Metrics
        );
        assert_eq!(p.next_request(), Request::Metrics);
        assert_eq!(p.next_request(), Request::Incomplete);
        assert_eq!(p.push(b"noise\n"), Request::Incomplete);
        assert_eq!(p.push(b"\n\nGET /metrics/XML\n\n"), Request::Invalid);
        assert_eq!(p.next_request(), Request::Metrics);
    }

    #[test]
    fn test_channel_dir_names() {
        assert_eq!(channel_dir_vm_id("1-guest-a"), Some(1));
        assert_eq!(channel_dir_vm_id("domain-2-guest-b"), Some(2));
        assert_eq!(channel_dir_vm_id("guest"), None);
        assert_eq!(channel_dir_vm_id("3-"), None);
    }
}
