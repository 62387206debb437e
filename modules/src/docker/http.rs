//! Just enough HTTP/1.1 to talk to the Docker Engine API on its socket and to probe a
//! container's health endpoint: one request per stream (`Connection: close`), responses with a
//! `Content-Length`, chunked, or ended by the close.

use std::fmt::Write as _;

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Bytes of one request. `host` is only the `Host:` header (the Docker API ignores it).
pub fn request(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: converge\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    let mut out = Vec::new();
    match body {
        Some((content_type, bytes)) => {
            let _ = write!(
                head,
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            );
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(bytes);
        }
        None => {
            head.push_str("\r\n");
            out.extend_from_slice(head.as_bytes());
        }
    }
    out
}

/// Parse what came back on the stream.
pub fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = find(raw, b"\r\n\r\n").ok_or_else(|| {
        if raw.is_empty() {
            "the connection closed without an answer".to_string()
        } else {
            format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(80)])
            )
        }
    })?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| status_line.starts_with("HTTP/"))
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    resp.body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = resp
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        if rest.len() < n {
            return Err(format!(
                "the answer was cut short ({} of {n} bytes)",
                rest.len()
            ));
        }
        rest[..n].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(resp)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = find(data, b"\r\n") else {
            // A stream cut before the last chunk: keep what arrived (the caller sees an
            // incomplete JSON stream and says so).
            return Ok(out);
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?} in the answer"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let take = size.min(data.len());
        out.extend_from_slice(&data[..take]);
        if take < size {
            return Ok(out);
        }
        data = &data[take..];
        data = data.strip_prefix(b"\r\n").unwrap_or(data);
    }
}

/// Percent-encode a query value (filters are JSON).
pub fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_length_and_close() {
        let r = request(
            "POST",
            "docker",
            "/x",
            &[],
            Some(("application/json", b"{}")),
        );
        let s = String::from_utf8(r).unwrap();
        assert!(s.starts_with("POST /x HTTP/1.1\r\n"));
        assert!(s.contains("Connection: close\r\n"));
        assert!(s.ends_with("Content-Length: 2\r\n\r\n{}"));
    }

    #[test]
    fn parses_length_chunked_and_close_delimited() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKextra").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"OK"[..]));
        let r = parse(
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=1\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body_str(), "{\"a\":1}");
        let r = parse(b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nno such").unwrap();
        assert_eq!((r.status, r.body_str().as_str()), (404, "no such"));
        assert_eq!(r.header("server"), Some("x"));
    }

    #[test]
    fn refuses_garbage_and_short_bodies() {
        assert!(parse(b"").unwrap_err().contains("without an answer"));
        assert!(parse(b"SSH-2.0-x\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
            .unwrap_err()
            .contains("cut short"));
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode_query("{\"label\":[\"a=b\"]}"),
            "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
    }
}
