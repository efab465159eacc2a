//! xl's migration handshake: the fixed messages, the status byte, the xl save header read with
//! exact-length reads and bounded lengths, and the JSON edits of the config it carries
//! (reference `migration.md` §1.3, §1.4).
//!
//! Every read here is an exact-length `read_exact` on the reader it is given, never through a
//! buffer: on the receiver, libxl reads the same descriptor right after the header, and the
//! sender's GO message must still be unread in it after libxl's END.

use std::io::{self, Read, Write};

use serde_json::Value;

use super::error::{MigrateError, Step};
use crate::stream::{MAX_XL_OPTIONAL_DATA_BYTES, XL_GO_MESSAGE, XL_MAGIC, XlHeader};

/// Receiver to sender, first: xl's banner, sent **without** a NUL (54 bytes).
pub const BANNER: &[u8] = b"xl migration receiver ready, send binary domain data.\n";
/// Receiver to sender after the restore: "ready", with its NUL (34 bytes).
pub const READY: &[u8] = b"domain received, ready to unpause\0";
/// Sender to receiver after the stream ("GO"), and receiver to sender after it destroyed its
/// copy (permission to resume), with its NUL (44 bytes).
pub const GO: &[u8] = XL_GO_MESSAGE;
/// Receiver to sender before the status byte, with its NUL (39 bytes).
pub const REPORT: &[u8] = b"my copy unpause results are as follows\0";
/// The status byte when the GO message itself was missing or wrong.
pub const STATUS_BAD_GO: u8 = 0xff;

/// The xl save header's byte-order word (host order, little-endian on x86).
const BYTEORDER: u32 = 0x0102_0304;
/// Mandatory flag: the config is JSON.
const FLAG_JSON: u32 = 1;
/// Mandatory flag: a libxl v2 stream follows.
const FLAG_STREAM_V2: u32 = 2;

/// Suffix of the name a receiver gives the domain until GO (xl's).
pub const INCOMING_SUFFIX: &str = "--incoming";
/// Suffix of the name a sender gives its copy after "ready" (xl's).
pub const MIGRATED_AWAY_SUFFIX: &str = "--migratedaway";

/// Writes one fixed message.
pub fn write_message<W: Write + ?Sized>(
    out: &mut W,
    message: &[u8],
    step: Step,
) -> Result<(), MigrateError> {
    out.write_all(message)
        .and_then(|()| out.flush())
        .map_err(|source| MigrateError::Io { step, source })
}

/// Reads exactly `expected.len()` bytes and compares them with `expected`.
pub fn read_message<R: Read + ?Sized>(
    input: &mut R,
    expected: &[u8],
    step: Step,
) -> Result<(), MigrateError> {
    let mut got = vec![0u8; expected.len()];
    read_full(input, &mut got, step)?;
    if got != expected {
        return Err(MigrateError::UnexpectedData {
            step,
            got: printable(&got),
        });
    }
    Ok(())
}

/// Reads the status byte.
pub fn read_status<R: Read + ?Sized>(input: &mut R) -> Result<u8, MigrateError> {
    let mut byte = [0u8; 1];
    read_full(input, &mut byte, Step::Status)?;
    Ok(byte[0])
}

/// `read_exact` that tells a peer that closed (with how much came) from an I/O error.
fn read_full<R: Read + ?Sized>(
    input: &mut R,
    buf: &mut [u8],
    step: Step,
) -> Result<(), MigrateError> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(MigrateError::PeerClosed {
                    step,
                    received: printable(&buf[..filled]),
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(MigrateError::Io { step, source }),
        }
    }
    Ok(())
}

/// Bytes as text for a message: printable ASCII kept, the rest escaped (at most 80 bytes).
pub fn printable(bytes: &[u8]) -> String {
    let mut text: String = bytes
        .iter()
        .take(80)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    if bytes.len() > 80 {
        text.push_str("...");
    }
    text
}

/// The xl save header and config `xl migrate` writes after the banner.
pub fn encode_header(config_json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(56 + config_json.len());
    XlHeader::with_json_config(config_json).encode(&mut out);
    out
}

/// What a receiver read from the xl save header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedHeader {
    /// The mandatory flags (3 from every xl and xenadm sender).
    pub mandatory_flags: u32,
    /// The optional data length (the "N" of xl's `info 0x3/0x0/N`).
    pub optional_data_len: u32,
    /// The config, JSON without its NUL.
    pub config_json: String,
    /// 2 for a libxl v2 stream (STREAMv2 flag), 1 for a legacy one.
    pub stream_version: u32,
}

/// Reads the xl save header exactly (48 bytes, then the optional data it announces, nothing
/// more). Lengths are bounded by [`MAX_XL_OPTIONAL_DATA_BYTES`] before anything is allocated.
pub fn read_header<R: Read + ?Sized>(input: &mut R) -> Result<ReceivedHeader, MigrateError> {
    let mut fixed = [0u8; 48];
    read_full(input, &mut fixed, Step::Header)?;
    let word =
        |at: usize| u32::from_le_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
    if fixed[..32] != XL_MAGIC {
        return Err(header_error(format!(
            "no xl save header (magic is \"{}\")",
            printable(&fixed[..32])
        )));
    }
    if word(32) != BYTEORDER {
        return Err(header_error(format!(
            "byte order word {:#010x}: the sender's byte order differs from this host's",
            word(32)
        )));
    }
    let mandatory_flags = word(36);
    let unknown = mandatory_flags & !(FLAG_JSON | FLAG_STREAM_V2);
    if unknown != 0 {
        return Err(header_error(format!(
            "mandatory flag(s) {unknown:#x} unknown here (a newer sender)"
        )));
    }
    if mandatory_flags & FLAG_JSON == 0 {
        return Err(header_error(
            "the config is in xl.cfg format, not JSON (a sender older than Xen 4.7); receive it with xl migrate-receive".to_string(),
        ));
    }
    let optional_data_len = word(44);
    if optional_data_len > MAX_XL_OPTIONAL_DATA_BYTES {
        return Err(header_error(format!(
            "optional data of {optional_data_len} bytes announced, more than the {MAX_XL_OPTIONAL_DATA_BYTES} accepted"
        )));
    }
    if optional_data_len < 4 {
        return Err(header_error(format!(
            "optional data of {optional_data_len} bytes cannot hold the config length"
        )));
    }
    let mut optional = vec![0u8; optional_data_len as usize];
    read_full(input, &mut optional, Step::Header)?;
    let config_len = u32::from_le_bytes([optional[0], optional[1], optional[2], optional[3]]);
    if u64::from(config_len) > u64::from(optional_data_len) - 4 {
        return Err(header_error(format!(
            "config of {config_len} bytes announced in {optional_data_len} bytes of optional data"
        )));
    }
    let config = &optional[4..4 + config_len as usize];
    let config = config.strip_suffix(b"\0").unwrap_or(config);
    let config_json = std::str::from_utf8(config)
        .map_err(|e| {
            header_error(format!(
                "the config is not UTF-8 (byte {})",
                e.valid_up_to()
            ))
        })?
        .to_string();
    Ok(ReceivedHeader {
        mandatory_flags,
        optional_data_len,
        config_json,
        stream_version: if mandatory_flags & FLAG_STREAM_V2 != 0 {
            2
        } else {
            1
        },
    })
}

fn header_error(message: String) -> MigrateError {
    MigrateError::Header { message }
}

/// The domain name in a libxl config JSON (`c_info.name`).
pub fn config_name(config_json: &str) -> Result<String, MigrateError> {
    let value = parse_config(config_json)?;
    value
        .pointer("/c_info/name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| MigrateError::Config {
            message: "the config has no c_info.name".to_string(),
        })
}

/// The config a sender sends: `c_info.domid` dropped (0, libxl's default: the target picks a
/// new domid), as xl does without `-D`.
pub fn outgoing_config(config_json: &str) -> Result<String, MigrateError> {
    let mut value = parse_config(config_json)?;
    let had_domid = value
        .get_mut("c_info")
        .and_then(Value::as_object_mut)
        .is_some_and(|c_info| c_info.remove("domid").is_some());
    if !had_domid {
        return Ok(config_json.to_string());
    }
    to_json(&value)
}

/// The config a receiver restores: named `<name>--incoming` until GO. Returns the original
/// name and the edited JSON.
pub fn incoming_config(config_json: &str) -> Result<(String, String), MigrateError> {
    let mut value = parse_config(config_json)?;
    let name = config_name(config_json)?;
    if let Some(slot) = value.pointer_mut("/c_info/name") {
        *slot = Value::String(format!("{name}{INCOMING_SUFFIX}"));
    }
    Ok((name, to_json(&value)?))
}

fn parse_config(config_json: &str) -> Result<Value, MigrateError> {
    let value: Value = serde_json::from_str(config_json).map_err(|e| MigrateError::Config {
        message: format!("the config is not JSON: {e}"),
    })?;
    if !value.is_object() {
        return Err(MigrateError::Config {
            message: "the config is not a JSON object".to_string(),
        });
    }
    Ok(value)
}

fn to_json(value: &Value) -> Result<String, MigrateError> {
    serde_json::to_string_pretty(value).map_err(|e| MigrateError::Config {
        message: format!("cannot write the config as JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_messages_have_xls_lengths() {
        assert_eq!(BANNER.len(), 54);
        assert_eq!(READY.len(), 34);
        assert_eq!(GO.len(), 44);
        assert_eq!(REPORT.len(), 39);
        assert!(!BANNER.ends_with(b"\0"));
    }

    #[test]
    fn test_header_round_trips_and_reads_nothing_more() {
        let mut bytes = encode_header("{\"c_info\":{\"name\":\"a\"}}");
        bytes.extend_from_slice(b"LibxlFmt");
        let mut input = &bytes[..];
        let header = read_header(&mut input).unwrap();
        assert_eq!(header.config_json, "{\"c_info\":{\"name\":\"a\"}}");
        assert_eq!(header.stream_version, 2);
        assert_eq!(header.mandatory_flags, 3);
        assert_eq!(input, b"LibxlFmt");
    }

    #[test]
    fn test_hostile_lengths_are_refused_before_allocating() {
        let mut bytes = encode_header("{}");
        bytes[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = read_header(&mut &bytes[..]).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
        let mut bytes = encode_header("{}");
        bytes[48..52].copy_from_slice(&1000u32.to_le_bytes());
        let err = read_header(&mut &bytes[..]).unwrap_err();
        assert!(err.to_string().contains("config of 1000 bytes"), "{err}");
        let mut bytes = encode_header("{}");
        bytes[36] |= 4;
        assert!(
            read_header(&mut &bytes[..])
                .unwrap_err()
                .to_string()
                .contains("0x4")
        );
        let mut bytes = encode_header("{}");
        bytes[36] = 2;
        assert!(
            read_header(&mut &bytes[..])
                .unwrap_err()
                .to_string()
                .contains("xl.cfg")
        );
    }

    #[test]
    fn test_configs_are_edited_as_json() {
        let json = r#"{"c_info":{"name":"web1","domid":7,"type":"pv"},"b_info":{}}"#;
        let out = outgoing_config(json).unwrap();
        assert!(!out.contains("domid"));
        assert_eq!(config_name(&out).unwrap(), "web1");
        let (name, incoming) = incoming_config(&out).unwrap();
        assert_eq!(name, "web1");
        assert_eq!(config_name(&incoming).unwrap(), "web1--incoming");
        assert!(config_name("{}").is_err());
        assert!(incoming_config("[1]").is_err());
        let plain = r#"{"c_info":{"name":"x"}}"#;
        assert_eq!(outgoing_config(plain).unwrap(), plain);
    }
}
