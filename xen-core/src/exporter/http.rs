//! The small part of HTTP/1.1 the exporter speaks: parsing a request head (total: any bytes
//! give a request or the status to answer with) and writing a response.

use std::io::{self, Write};

/// Most headers a request may have.
const MAX_HEADERS: usize = 64;

/// A request method the exporter tells apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: like GET, without the body.
    Head,
    /// Any other well-formed method (answered 405 on known paths).
    Other(String),
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, without the query string.
    pub path: String,
    /// Whether the client wants the connection kept open after the answer (HTTP/1.1 by
    /// default, HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
}

/// Why a request head was refused, with the status that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not HTTP.
    BadRequest(&'static str),
    /// 413: the request has a body (the exporter accepts none).
    ContentTooLarge,
    /// 431: the head is longer than the limit.
    HeadTooLarge,
    /// 505: an HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
}

impl Refusal {
    /// The status code and reason phrase.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Refusal::BadRequest(_) => (400, "Bad Request"),
            Refusal::ContentTooLarge => (413, "Content Too Large"),
            Refusal::HeadTooLarge => (431, "Request Header Fields Too Large"),
            Refusal::VersionNotSupported => (505, "HTTP Version Not Supported"),
        }
    }

    /// One line for the response body.
    pub fn explanation(self) -> &'static str {
        match self {
            Refusal::BadRequest(why) => why,
            Refusal::ContentTooLarge => "request bodies are not accepted",
            Refusal::HeadTooLarge => "request head too large",
            Refusal::VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are spoken here",
        }
    }
}

/// The length of the request head at the start of `buf`, terminator included (`\r\n\r\n`, or
/// `\n\n` from lenient clients), once it has fully arrived.
pub fn head_length(buf: &[u8]) -> Option<usize> {
    let start = leading_blank_lines(buf);
    let mut line_start = start;
    for (i, &b) in buf.iter().enumerate().skip(start) {
        if b == b'\n' {
            let line = &buf[line_start..i];
            if (line.is_empty() || line == b"\r") && line_start > start {
                return Some(i + 1);
            }
            line_start = i + 1;
        }
    }
    None
}

/// Empty lines before the request line, which RFC 9112 §2.2 says to ignore.
fn leading_blank_lines(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len())
}

/// Parses a complete head (as measured by [`head_length`]).
pub fn parse_head(head: &[u8]) -> Result<Request, Refusal> {
    let head = &head[leading_blank_lines(head)..];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest("malformed request line"));
    };
    if method.is_empty() || !method.iter().all(|&b| is_token_byte(b)) {
        return Err(Refusal::BadRequest("malformed method"));
    }
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        v if v.len() == 8
            && v.starts_with(b"HTTP/")
            && v[5].is_ascii_digit()
            && v[6] == b'.'
            && v[7].is_ascii_digit() =>
        {
            return Err(Refusal::VersionNotSupported);
        }
        _ => return Err(Refusal::BadRequest("malformed HTTP version")),
    };
    if !target.starts_with(b"/") || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(Refusal::BadRequest("malformed request target"));
    }
    let path_end = target
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(target.len());
    // Graphic ASCII only, so this is UTF-8.
    let path = String::from_utf8_lossy(&target[..path_end]).into_owned();

    let (mut close, mut keep_alive) = (false, false);
    let mut headers = 0;
    for line in lines {
        if line.is_empty() {
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(Refusal::HeadTooLarge);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(Refusal::BadRequest("obsolete header line folding"));
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(Refusal::BadRequest("header line without a colon"));
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return Err(Refusal::BadRequest("malformed header name"));
        }
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                return Err(Refusal::BadRequest("malformed Content-Length"));
            }
            if value.iter().any(|&b| b != b'0') {
                return Err(Refusal::ContentTooLarge);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Refusal::ContentTooLarge);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                close |= option.eq_ignore_ascii_case(b"close");
                keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        // Token bytes are ASCII.
        other => Method::Other(String::from_utf8_lossy(other).into_owned()),
    };
    Ok(Request {
        method,
        path,
        // `close` wins over `keep-alive`, whatever their order.
        keep_alive: !close && (http11 || keep_alive),
    })
}

/// RFC 9110 token characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A response to write.
#[derive(Debug)]
pub struct Response<'a> {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'a str,
    /// Content type of the body.
    pub content_type: &'a str,
    /// Extra header lines (name, value).
    pub extra_headers: &'a [(&'a str, &'a str)],
    /// The body (its length is sent even when `head_only`).
    pub body: &'a [u8],
}

impl Response<'_> {
    /// Writes the response in one piece; the body only unless `head_only` (a HEAD request).
    pub fn write_to(
        &self,
        out: &mut impl Write,
        head_only: bool,
        keep_alive: bool,
    ) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(256 + if head_only { 0 } else { self.body.len() });
        write!(
            bytes,
            "HTTP/1.1 {} {}\r\nServer: xenadm/{}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            self.status,
            self.reason,
            env!("CARGO_PKG_VERSION"),
            self.content_type,
            self.body.len(),
            if keep_alive { "keep-alive" } else { "close" },
        )?;
        for (name, value) in self.extra_headers {
            write!(bytes, "{name}: {value}\r\n")?;
        }
        bytes.extend_from_slice(b"\r\n");
        if !head_only {
            bytes.extend_from_slice(self.body);
        }
        out.write_all(&bytes)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Request, Refusal> {
        let bytes = text.as_bytes();
        let len = head_length(bytes).expect("complete head");
        parse_head(&bytes[..len])
    }

    #[test]
    fn test_prometheus_scrape_request() {
        let req = parse(
            "GET /metrics HTTP/1.1\r\nHost: localhost:9753\r\nUser-Agent: Prometheus/2.42.0\r\n\
             Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\
             X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
        )
        .unwrap();
        assert_eq!(req.method, Method::Get);
        assert_eq!(req.path, "/metrics");
        assert!(req.keep_alive);
    }

    #[test]
    fn test_connection_handling_by_version() {
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(
            parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            !parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            !parse("GET / HTTP/1.1\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
    }

    #[test]
    fn test_query_is_dropped_and_methods_kept() {
        let req = parse("HEAD /metrics?x=1 HTTP/1.1\n\n").unwrap();
        assert_eq!((req.method, req.path.as_str()), (Method::Head, "/metrics"));
        let req = parse("\r\nDELETE /metrics HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(req.method, Method::Other("DELETE".into()));
    }

    #[test]
    fn test_refusals() {
        let cases = [
            (
                "GARBAGE\r\n\r\n",
                Refusal::BadRequest("malformed request line"),
            ),
            (
                "GET  /metrics HTTP/1.1\r\n\r\n",
                Refusal::BadRequest("malformed request line"),
            ),
            (
                "GET metrics HTTP/1.1\r\n\r\n",
                Refusal::BadRequest("malformed request target"),
            ),
            (
                "G(T /metrics HTTP/1.1\r\n\r\n",
                Refusal::BadRequest("malformed method"),
            ),
            (
                "GET /metrics HTTP/2.0\r\n\r\n",
                Refusal::VersionNotSupported,
            ),
            (
                "GET /metrics HTTP/1.1x\r\n\r\n",
                Refusal::BadRequest("malformed HTTP version"),
            ),
            (
                "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                Refusal::BadRequest("header line without a colon"),
            ),
            (
                "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
                Refusal::BadRequest("malformed header name"),
            ),
            (
                "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
                Refusal::BadRequest("obsolete header line folding"),
            ),
            (
                "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
                Refusal::ContentTooLarge,
            ),
            (
                "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                Refusal::BadRequest("malformed Content-Length"),
            ),
            (
                "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                Refusal::ContentTooLarge,
            ),
        ];
        for (text, refusal) in cases {
            assert_eq!(parse(text), Err(refusal), "{text:?}");
        }
        assert_eq!(
            parse("GET / HTTP/1.1\r\nContent-Length: 000\r\n\r\n").map(|r| r.path),
            Ok("/".into())
        );
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(parse(&many), Err(Refusal::HeadTooLarge));
    }

    #[test]
    fn test_head_length_waits_for_the_blank_line() {
        assert_eq!(head_length(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(head_length(b"GET / HTTP/1.1\r\n\r\nGET"), Some(18));
        assert_eq!(head_length(b"\r\n\r\nGET / HTTP/1.1\n\n"), Some(20));
        assert_eq!(head_length(b"\r\n\r\n"), None);
    }

    #[test]
    fn test_response_head_only_keeps_the_length() {
        let response = Response {
            status: 200,
            reason: "OK",
            content_type: "text/plain",
            extra_headers: &[("Allow", "GET, HEAD")],
            body: b"hello",
        };
        let mut out = Vec::new();
        response.write_to(&mut out, true, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(
            text.contains("Content-Length: 5\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n")
        );
        assert!(text.ends_with("\r\n\r\n"));
    }

    proptest! {
        #[test]
        fn prop_any_bytes_parse_or_refuse(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Some(len) = head_length(&bytes) {
                prop_assert!(len <= bytes.len());
                let _ = parse_head(&bytes[..len]);
            }
            let _ = parse_head(&bytes);
        }
    }
}
