//! xenadm's own wire format for the migration stream, used only between two xenadm ends that
//! negotiated it ([`WIRE_OPTION`]): the libxl stream cut into frames, runs of zeros of a page or
//! more elided, the rest compressed with LZ4. xl never sees it: a stock `xl migrate` never
//! passes the option, and the sender adds it only to a rune whose receiver is xenadm's.
//!
//! Negotiation: the sender's rune runs `xenadm migrate-receive ... --wire lz4`; that receiver
//! sends xl's banner and then [`CONFIRM`] (16 bytes, which no xl receiver ever sends), and only
//! after reading both does the sender encode. The xl save header, "ready", GO, the report and
//! the status byte stay xl's, unframed: the frames carry the libxl stream only, ending with an
//! END frame, so the receiver's decoder stops exactly there and GO stays unread after it.
//!
//! A frame is a 12-byte header, then `wire_len` bytes:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 1 | kind: 0 END, 1 RAW, 2 LZ4 (one LZ4 block), 3 ZERO (`raw_len` zero bytes, no payload) |
//! | 1 | 3 | zero |
//! | 4 | 4 | `raw_len`, little-endian: the stream bytes the frame stands for |
//! | 8 | 4 | `wire_len`, little-endian: the payload's bytes |
//!
//! Every length is checked before anything is allocated or decompressed: `raw_len` is at most
//! [`MAX_FRAME_BYTES`] (ZERO: [`MAX_ZERO_BYTES`]), a RAW payload is exactly `raw_len`, an LZ4
//! payload at most LZ4's bound for `raw_len` and must decompress to exactly `raw_len` bytes
//! (so no frame can expand past 1 MiB: no decompression bomb).
//!
//! LZ4 (`lz4_flex`, pure Rust) rather than zstd, by measurement on the real 71.5 MB wire
//! capture of a live 64 MiB PV guest (tests/data/xen-real/s2r.bin), after zero elision (10,865
//! zero pages, 27.0 MB left), per 1 MiB block, same run, load 12-20 on 2 cores: lz4_flex 6.62 MB
//! (9.3 % of the stream) at 185 MB/s compressing, 447 MB/s decompressing; zstd level 1 4.49 MB
//! (6.3 %) at 117 MB/s and 334 MB/s; zstd -5 6.39 MB at 162 MB/s. Compression is what limits
//! a migration on a busy host (the wire carries a tenth of the stream either way), so the
//! 1.6x faster encoder wins; zstd would also bring a C build (zstd-sys) into every build.
//! Figures and the command: docs/PERFORMANCE.md "Migration wire compression".

use std::io::{self, Read, Write};

/// The receiver option that asks for this format (with the value [`WIRE_LZ4`]).
pub const WIRE_OPTION: &str = "--wire";
/// The one format so far: zero elision and LZ4.
pub const WIRE_LZ4: &str = "lz4";
/// What a xenadm receiver sends after xl's banner when it was asked for the wire format.
pub const CONFIRM: &[u8; 16] = b"xenadm wire lz4\n";
/// The most stream bytes one RAW or LZ4 frame stands for.
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// The most zero bytes one ZERO frame stands for.
pub const MAX_ZERO_BYTES: u32 = 16 << 20;
/// A run of zeros this long or longer is elided (a page).
const ZERO_RUN_BYTES: usize = 4096;
/// Zero runs are found by whole aligned blocks of this size (any run of a page contains 7).
const BLOCK: usize = 512;

const KIND_END: u8 = 0;
const KIND_RAW: u8 = 1;
const KIND_LZ4: u8 = 2;
const KIND_ZERO: u8 = 3;
const HEADER_BYTES: usize = 12;

/// A bad frame from the peer, located.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The frame's header or payload is not valid.
    #[error("wire frame {frame} at byte {offset} of the compressed stream: {message}")]
    BadFrame {
        /// The frame's number, from 0.
        frame: u64,
        /// Its first byte's offset on the wire.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// Reading the wire or writing the decoded stream failed.
    #[error("wire frame {frame} at byte {offset} of the compressed stream: {what}: {source}")]
    Io {
        /// The frame's number.
        frame: u64,
        /// Its offset on the wire.
        offset: u64,
        /// Reading or writing.
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// Bytes in and out of a codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct WireStats {
    /// Stream bytes (what libxl wrote or reads).
    pub stream_bytes: u64,
    /// Bytes on the wire, frame headers included.
    pub wire_bytes: u64,
    /// Stream bytes elided as zero runs.
    pub zero_bytes: u64,
    /// Frames.
    pub frames: u64,
}

/// Encodes a stream into frames on `inner`: bytes are gathered up to [`MAX_FRAME_BYTES`] and
/// then framed ([`Write::flush`] does not cut a frame: only [`finish`](Self::finish), at the
/// stream's end, does, and writes END).
#[derive(Debug)]
pub struct WireEncoder<W: Write> {
    inner: W,
    pending: Vec<u8>,
    scratch: Vec<u8>,
    stats: WireStats,
}

impl<W: Write> WireEncoder<W> {
    /// An encoder writing to `inner`.
    pub fn new(inner: W) -> WireEncoder<W> {
        WireEncoder {
            inner,
            pending: Vec::with_capacity(MAX_FRAME_BYTES),
            scratch: Vec::with_capacity(lz4_flex::block::get_maximum_output_size(MAX_FRAME_BYTES)),
            stats: WireStats::default(),
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> WireStats {
        self.stats
    }

    /// The writer, dropping what is pending (for an aborted stream).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Frames what is pending, writes END and flushes; returns the writer and the counts.
    pub fn finish(mut self) -> io::Result<(W, WireStats)> {
        self.encode_pending()?;
        self.frame(KIND_END, 0, &[])?;
        self.inner.flush()?;
        Ok((self.inner, self.stats))
    }

    fn frame(&mut self, kind: u8, raw_len: usize, payload: &[u8]) -> io::Result<()> {
        let mut header = [0u8; HEADER_BYTES];
        header[0] = kind;
        header[4..8].copy_from_slice(&len32(raw_len).to_le_bytes());
        header[8..12].copy_from_slice(&len32(payload.len()).to_le_bytes());
        self.inner.write_all(&header)?;
        self.inner.write_all(payload)?;
        self.stats.frames += 1;
        self.stats.wire_bytes += (HEADER_BYTES + payload.len()) as u64;
        Ok(())
    }

    /// One data frame: LZ4 when that is smaller, RAW otherwise.
    fn data_frame(&mut self, start: usize, end: usize) -> io::Result<()> {
        if start == end {
            return Ok(());
        }
        let bound = lz4_flex::block::get_maximum_output_size(end - start);
        self.scratch.resize(bound, 0);
        let packed = lz4_flex::block::compress_into(&self.pending[start..end], &mut self.scratch)
            .unwrap_or(usize::MAX);
        let scratch = std::mem::take(&mut self.scratch);
        let pending = std::mem::take(&mut self.pending);
        let result = if packed < end - start {
            self.frame(KIND_LZ4, end - start, &scratch[..packed])
        } else {
            self.frame(KIND_RAW, end - start, &pending[start..end])
        };
        self.scratch = scratch;
        self.pending = pending;
        result
    }

    /// Frames the pending bytes: zero runs of a page or more as ZERO, the rest as data.
    fn encode_pending(&mut self) -> io::Result<()> {
        let mut data_start = 0;
        for (start, end) in zero_runs(&self.pending) {
            self.data_frame(data_start, start)?;
            let mut left = end - start;
            while left > 0 {
                let n = left.min(MAX_ZERO_BYTES as usize);
                self.frame(KIND_ZERO, n, &[])?;
                self.stats.zero_bytes += n as u64;
                left -= n;
            }
            data_start = end;
        }
        let end = self.pending.len();
        self.data_frame(data_start, end)?;
        self.pending.clear();
        Ok(())
    }
}

impl<W: Write> Write for WireEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = MAX_FRAME_BYTES - self.pending.len();
        let n = buf.len().min(room);
        self.pending.extend_from_slice(&buf[..n]);
        self.stats.stream_bytes += n as u64;
        if self.pending.len() == MAX_FRAME_BYTES {
            self.encode_pending()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The runs of zeros in `data` that are at least a page long, in order, as (start, end).
fn zero_runs(data: &[u8]) -> Vec<(usize, usize)> {
    let zero = |b: &[u8]| b.iter().all(|&x| x == 0);
    let mut runs = Vec::new();
    let mut block = 0;
    let blocks = data.len() / BLOCK;
    while block < blocks {
        if !zero(&data[block * BLOCK..(block + 1) * BLOCK]) {
            block += 1;
            continue;
        }
        let first = block;
        while block < blocks && zero(&data[block * BLOCK..(block + 1) * BLOCK]) {
            block += 1;
        }
        // Extend over the zero bytes on both sides of the whole blocks.
        let mut start = first * BLOCK;
        let floor = runs.last().map_or(0, |&(_, end)| end);
        while start > floor && data[start - 1] == 0 {
            start -= 1;
        }
        let mut end = block * BLOCK;
        while end < data.len() && data[end] == 0 {
            end += 1;
        }
        if end - start >= ZERO_RUN_BYTES {
            runs.push((start, end));
        }
        block = end.div_ceil(BLOCK).max(block);
    }
    runs
}

/// Decodes frames from `input` into `output` until the END frame, reading exactly the frames
/// (nothing after END). Returns the counts; a bad frame is a located [`WireError`].
pub fn decode<R: Read + ?Sized, W: Write + ?Sized>(
    input: &mut R,
    output: &mut W,
) -> Result<WireStats, WireError> {
    let mut stats = WireStats::default();
    let mut payload = Vec::new();
    let mut raw = vec![0u8; MAX_FRAME_BYTES];
    let zeros = [0u8; 64 << 10];
    loop {
        let (frame, offset) = (stats.frames, stats.wire_bytes);
        let bad = |message: String| WireError::BadFrame {
            frame,
            offset,
            message,
        };
        let io = |what, source| WireError::Io {
            frame,
            offset,
            what,
            source,
        };
        let mut header = [0u8; HEADER_BYTES];
        input
            .read_exact(&mut header)
            .map_err(|e| io("reading the frame header", e))?;
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let (kind, raw_len, wire_len) = (header[0], word(4), word(8));
        if header[1..4] != [0, 0, 0] {
            return Err(bad(format!(
                "reserved bytes {:02x?} are not zero",
                &header[1..4]
            )));
        }
        let raw_len_usize = raw_len as usize;
        let max_wire = match kind {
            KIND_END if raw_len == 0 => 0,
            KIND_END => return Err(bad(format!("END frame announces {raw_len} bytes"))),
            KIND_ZERO if raw_len <= MAX_ZERO_BYTES => 0,
            KIND_RAW | KIND_LZ4 if raw_len_usize <= MAX_FRAME_BYTES && raw_len > 0 => {
                if kind == KIND_RAW {
                    raw_len_usize
                } else {
                    lz4_flex::block::get_maximum_output_size(raw_len_usize)
                }
            }
            KIND_ZERO | KIND_RAW | KIND_LZ4 => {
                return Err(bad(format!(
                    "frame of kind {kind} announces {raw_len} stream bytes (at most {} allowed)",
                    if kind == KIND_ZERO {
                        MAX_ZERO_BYTES as usize
                    } else {
                        MAX_FRAME_BYTES
                    }
                )));
            }
            other => return Err(bad(format!("unknown frame kind {other}"))),
        };
        let wire_ok = if kind == KIND_RAW {
            wire_len as usize == max_wire
        } else {
            wire_len as usize <= max_wire
        };
        if !wire_ok {
            return Err(bad(format!(
                "frame of kind {kind} for {raw_len} stream bytes has a payload of {wire_len} bytes"
            )));
        }
        payload.resize(wire_len as usize, 0);
        input
            .read_exact(&mut payload)
            .map_err(|e| io("reading the frame payload", e))?;
        stats.frames += 1;
        stats.wire_bytes += (HEADER_BYTES + payload.len()) as u64;
        let written = match kind {
            KIND_END => return Ok(stats),
            KIND_RAW => output.write_all(&payload),
            KIND_LZ4 => {
                let n = lz4_flex::block::decompress_into(&payload, &mut raw[..raw_len_usize])
                    .map_err(|e| bad(format!("LZ4 payload does not decompress: {e}")))?;
                if n != raw_len_usize {
                    return Err(bad(format!(
                        "LZ4 payload decompresses to {n} bytes, the header says {raw_len}"
                    )));
                }
                output.write_all(&raw[..n])
            }
            _ => {
                stats.zero_bytes += u64::from(raw_len);
                let mut left = raw_len_usize;
                let mut result = Ok(());
                while left > 0 && result.is_ok() {
                    let n = left.min(zeros.len());
                    result = output.write_all(&zeros[..n]);
                    left -= n;
                }
                result
            }
        };
        written.map_err(|e| io("writing the decoded stream", e))?;
        stats.stream_bytes += u64::from(raw_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) -> (Vec<u8>, WireStats) {
        let mut encoder = WireEncoder::new(Vec::new());
        for chunk in data.chunks(65536 + 17) {
            encoder.write_all(chunk).unwrap();
            encoder.flush().unwrap();
        }
        let (wire, sent) = encoder.finish().unwrap();
        let mut input = wire.as_slice();
        let mut out = Vec::new();
        let got = decode(&mut input, &mut out).unwrap();
        assert!(input.is_empty());
        assert_eq!(out, data);
        assert_eq!(got.wire_bytes, wire.len() as u64);
        assert_eq!(sent.wire_bytes, got.wire_bytes);
        assert_eq!(sent.stream_bytes, data.len() as u64);
        (wire, got)
    }

    #[test]
    fn zero_pages_are_elided_wherever_they_sit() {
        // Pages of noise with zero pages at odd offsets, across frame boundaries too.
        let mut data = Vec::new();
        let mut x = 0x1234_5678u32;
        for page in 0..700 {
            let zero = page % 3 == 0;
            for _ in 0..4096 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                data.push(if zero { 0 } else { x.to_le_bytes()[2] });
            }
            data.extend_from_slice(&[7; 24]);
        }
        let (wire, stats) = round_trip(&data);
        assert!(stats.zero_bytes >= 233 * 4096 - 2 * 4096, "{stats:?}");
        assert!(
            wire.len() < data.len() * 70 / 100,
            "{} of {}",
            wire.len(),
            data.len()
        );
    }

    #[test]
    fn short_zero_runs_stay_and_edges_are_exact() {
        assert_eq!(zero_runs(&[0; 4095]), []);
        assert_eq!(zero_runs(&[0; 4096]), [(0, 4096)]);
        let mut d = vec![1u8; 10_000];
        d[1000..5097].fill(0);
        assert_eq!(zero_runs(&d), [(1000, 5097)]);
        round_trip(&d);
        round_trip(&[]);
        round_trip(&vec![0; 40 << 20]);
    }

    fn header(kind: u8, raw: u32, wire: u32) -> Vec<u8> {
        let mut h = vec![kind, 0, 0, 0];
        h.extend_from_slice(&raw.to_le_bytes());
        h.extend_from_slice(&wire.to_le_bytes());
        h
    }

    fn decode_err(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        decode(&mut &bytes[..], &mut out).unwrap_err().to_string()
    }

    #[test]
    fn hostile_frames_are_located_and_bounded() {
        let mut two = header(KIND_RAW, 3, 3);
        two.extend_from_slice(b"abc");
        let mut bomb = two.clone();
        bomb.extend(header(KIND_LZ4, u32::MAX, 16));
        let e = decode_err(&bomb);
        assert!(e.starts_with("wire frame 1 at byte 15 of the compressed stream: frame of kind 2 announces 4294967295"), "{e}");
        // A tiny LZ4 payload that would expand past what its header announces.
        let big = lz4_flex::block::compress(&vec![0u8; 1 << 20]);
        let mut lie = header(KIND_LZ4, 4096, u32::try_from(big.len()).unwrap());
        lie.extend_from_slice(&big);
        assert!(
            decode_err(&lie).contains("does not decompress"),
            "{}",
            decode_err(&lie)
        );
        assert!(decode_err(&header(KIND_RAW, 10, 11)).contains("payload of 11 bytes"));
        assert!(decode_err(&header(KIND_ZERO, MAX_ZERO_BYTES + 1, 0)).contains("at most"));
        assert!(decode_err(&header(9, 1, 0)).contains("unknown frame kind 9"));
        assert!(decode_err(&header(KIND_END, 1, 0)).contains("END frame announces 1"));
        assert!(decode_err(&[1, 2, 3]).contains("reading the frame header"));
        let mut cut = header(KIND_RAW, 100, 100);
        cut.extend_from_slice(&[0; 10]);
        assert!(decode_err(&cut).contains("reading the frame payload"));
    }

    #[test]
    fn decoding_stops_at_end_and_leaves_what_follows() {
        let mut encoder = WireEncoder::new(Vec::new());
        encoder.write_all(b"stream").unwrap();
        let (mut wire, _) = encoder.finish().unwrap();
        wire.extend_from_slice(b"GO");
        let mut input = wire.as_slice();
        let mut out = Vec::new();
        decode(&mut input, &mut out).unwrap();
        assert_eq!(out, b"stream");
        assert_eq!(input, b"GO");
    }
}
