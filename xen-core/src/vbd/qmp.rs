//! A minimal QMP client: enough to tell a domain's QEMU that a disk it serves (qdisk) grew.
//!
//! libxl gives every QEMU it starts for a domain (the device model, or the qdisk backend of a
//! PV guest) a control socket at `/var/run/xen/qmp-libxl-DOMID`. The protocol: QEMU greets
//! with `{"QMP": ...}`, the client enters command mode with `qmp_capabilities`, then each
//! command line gets one `{"return": ...}` or `{"error": {"class", "desc"}}` answer, possibly
//! after asynchronous `{"event": ...}` lines, which are skipped.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::XenError;
use crate::host::DomId;

/// Where libxl puts a domain's QMP socket.
pub fn qmp_socket(domid: DomId) -> PathBuf {
    PathBuf::from(format!("/var/run/xen/qmp-libxl-{}", domid.0))
}

/// An open QMP connection in command mode.
#[derive(Debug)]
pub struct Qmp {
    domid: DomId,
    socket: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

/// The longest answer line read (QEMU's `query-block` of a few disks is a few KiB).
const MAX_LINE_BYTES: u64 = 1 << 20;

impl Qmp {
    /// Connects to `socket`, reads the greeting and enters command mode; every read and write
    /// gives up after `timeout`.
    pub fn connect(domid: DomId, socket: &Path, timeout: Duration) -> Result<Qmp, XenError> {
        let io_err = |what: &str, source| XenError::Qmp {
            domid,
            socket: socket.to_path_buf(),
            what: what.to_string(),
            source: Some(source),
        };
        let stream = UnixStream::connect(socket).map_err(|e| io_err("cannot connect", e))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| io_err("cannot set a timeout", e))?;
        let writer = stream
            .try_clone()
            .map_err(|e| io_err("cannot clone the socket", e))?;
        let mut qmp = Qmp {
            domid,
            socket: socket.to_path_buf(),
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = qmp.read_message("the greeting")?;
        if greeting.get("QMP").is_none() {
            return Err(qmp.error(format!("expected the QMP greeting, got {greeting}")));
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    fn error(&self, what: String) -> XenError {
        XenError::Qmp {
            domid: self.domid,
            socket: self.socket.clone(),
            what,
            source: None,
        }
    }

    fn read_message(&mut self, waiting_for: &str) -> Result<Value, XenError> {
        let mut line = String::new();
        let n = std::io::Read::take(&mut self.reader, MAX_LINE_BYTES)
            .read_line(&mut line)
            .map_err(|e| XenError::Qmp {
                domid: self.domid,
                socket: self.socket.clone(),
                what: format!("reading {waiting_for}"),
                source: Some(e),
            })?;
        if n == 0 {
            return Err(self.error(format!("QEMU closed the socket before {waiting_for}")));
        }
        serde_json::from_str(&line).map_err(|e| {
            self.error(format!(
                "{waiting_for}: not JSON ({e}): {}",
                line.trim_end().chars().take(200).collect::<String>()
            ))
        })
    }

    /// Runs `command` with `arguments` and returns its `return` value; QEMU's error (class and
    /// description) is the error's text.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, XenError> {
        let mut request = json!({ "execute": command });
        if let Some(arguments) = arguments {
            request["arguments"] = arguments;
        }
        let mut line = request.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| XenError::Qmp {
                domid: self.domid,
                socket: self.socket.clone(),
                what: format!("sending {command}"),
                source: Some(e),
            })?;
        loop {
            let answer = self.read_message(&format!("the answer to {command}"))?;
            if answer.get("event").is_some() {
                continue;
            }
            if let Some(value) = answer.get("return") {
                return Ok(value.clone());
            }
            if let Some(error) = answer.get("error") {
                let text = |k: &str| {
                    error
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string()
                };
                return Err(self.error(format!("{command}: {} ({})", text("desc"), text("class"))));
            }
            return Err(self.error(format!("{command}: unexpected answer {answer}")));
        }
    }

    /// The block node (`node-name`, else the `device` name) that serves `image`, from
    /// `query-block`: the entry whose file is the same file (device and inode) or, failing
    /// that, whose file name is the same text.
    pub fn node_for(&mut self, image: &Path) -> Result<BlockNode, XenError> {
        let blocks = self.execute("query-block", None)?;
        let image_id = std::fs::metadata(image).ok().map(|m| (m.dev(), m.ino()));
        let mut served = Vec::new();
        for block in blocks.as_array().into_iter().flatten() {
            let Some(inserted) = block.get("inserted") else {
                continue;
            };
            let file = inserted
                .get("file")
                .and_then(Value::as_str)
                .or_else(|| inserted.pointer("/image/filename").and_then(Value::as_str))
                .unwrap_or_default();
            let same = match (std::fs::metadata(file), image_id) {
                (Ok(m), Some(id)) => (m.dev(), m.ino()) == id,
                _ => Path::new(file) == image,
            };
            if same {
                let node = inserted.get("node-name").and_then(Value::as_str);
                let device = block.get("device").and_then(Value::as_str);
                return match (node, device) {
                    (Some(n), _) if !n.is_empty() => Ok(BlockNode::NodeName(n.to_string())),
                    (_, Some(d)) if !d.is_empty() => Ok(BlockNode::Device(d.to_string())),
                    _ => Err(self.error(format!(
                        "query-block: the entry for {file} has no node-name and no device"
                    ))),
                };
            }
            served.push(file.to_string());
        }
        Err(self.error(format!(
            "query-block: QEMU does not serve {} (it serves: {})",
            image.display(),
            if served.is_empty() {
                "nothing".to_string()
            } else {
                served.join(", ")
            }
        )))
    }

    /// `block_resize` of `node` to `size_bytes`.
    pub fn block_resize(&mut self, node: &BlockNode, size_bytes: u64) -> Result<(), XenError> {
        let arguments = match node {
            BlockNode::NodeName(n) => json!({ "node-name": n, "size": size_bytes }),
            BlockNode::Device(d) => json!({ "device": d, "size": size_bytes }),
        };
        self.execute("block_resize", Some(arguments)).map(drop)
    }
}

/// How `block_resize` names a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockNode {
    /// A block graph node (`node-name`).
    NodeName(String),
    /// A block backend (`device`).
    Device(String),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::sync::{Arc, Mutex};

    /// A fake QEMU on a socket: greets, then answers each command line with `answer(cmd)`,
    /// after an event line; records the requests.
    pub(crate) fn fake_qemu(
        socket: &Path,
        answer: impl Fn(&Value) -> Value + Send + 'static,
    ) -> (std::thread::JoinHandle<()>, Arc<Mutex<Vec<Value>>>) {
        let listener = UnixListener::bind(socket).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut out = stream.try_clone().unwrap();
            writeln!(
                out,
                r#"{{"QMP": {{"version": {{"qemu": {{"major": 7}}}}, "capabilities": []}}}}"#
            )
            .unwrap();
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let request: Value = serde_json::from_str(&line).unwrap();
                log.lock().unwrap().push(request.clone());
                writeln!(out, r#"{{"event": "SOMETHING", "data": {{}}}}"#).unwrap();
                writeln!(out, "{}", answer(&request)).unwrap();
            }
        });
        (handle, seen)
    }

    #[test]
    fn test_query_block_finds_the_image_and_block_resize_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("d.img");
        std::fs::write(&image, b"x").unwrap();
        let socket = dir.path().join("qmp");
        let img = image.display().to_string();
        let (server, seen) = fake_qemu(&socket, move |req| match req["execute"].as_str() {
            Some("qmp_capabilities") => json!({"return": {}}),
            Some("query-block") => json!({"return": [
                {"device": "", "qdev": "/machine/peripheral-anon/device[0]",
                 "inserted": {"file": "/other.img", "node-name": "xvda"}},
                {"device": "", "inserted": {"file": img, "node-name": "xvdb"}}
            ]}),
            Some("block_resize") => json!({"return": {}}),
            _ => {
                json!({"error": {"class": "CommandNotFound", "desc": "The command x has not been found"}})
            }
        });
        let mut qmp = Qmp::connect(DomId(4), &socket, Duration::from_secs(5)).unwrap();
        let node = qmp.node_for(&image).unwrap();
        assert_eq!(node, BlockNode::NodeName("xvdb".into()));
        qmp.block_resize(&node, 1 << 30).unwrap();
        let err = qmp.execute("x", None).unwrap_err().to_string();
        assert!(
            err.contains("The command x has not been found (CommandNotFound)"),
            "{err}"
        );
        assert!(err.starts_with("domain 4: QEMU at "), "{err}");
        drop(qmp);
        server.join().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen[2],
            json!({"execute": "block_resize", "arguments": {"node-name": "xvdb", "size": 1u64 << 30}})
        );
    }

    #[test]
    fn test_an_image_qemu_does_not_serve_and_a_dead_socket_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("d.img");
        std::fs::write(&image, b"x").unwrap();
        let socket = dir.path().join("qmp");
        let (server, _) = fake_qemu(&socket, |req| match req["execute"].as_str() {
            Some("query-block") => {
                json!({"return": [{"device": "ide0", "inserted": {"file": "/a.img"}}]})
            }
            _ => json!({"return": {}}),
        });
        let mut qmp = Qmp::connect(DomId(4), &socket, Duration::from_secs(5)).unwrap();
        let err = qmp.node_for(&image).unwrap_err().to_string();
        assert!(
            err.contains("does not serve") && err.contains("/a.img"),
            "{err}"
        );
        drop(qmp);
        server.join().unwrap();
        let err =
            Qmp::connect(DomId(4), &dir.path().join("none"), Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("cannot connect"), "{err}");
    }
}
