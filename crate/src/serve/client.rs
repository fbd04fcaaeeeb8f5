//! A minimal blocking HTTP/1.1 client over one TCP connection per request (`Connection: close`),
//! for the server's tests, the load bench and the browser test's WebDriver calls: no client
//! library to compile for that.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An answer: status, headers (names lower-cased) and body.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> std::io::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            invalid(format!(
                "HTTP {}: the body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            ))
        })
    }
}

fn invalid(why: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.into())
}

/// Sends `method target` to `host_port` (e.g. `127.0.0.1:8765`) with `body` (none when empty
/// and not a POST) and reads the whole answer. Gives up after `timeout` without progress.
pub fn request(
    host_port: &str,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(host_port)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n");
    if let Some(kind) = content_type {
        head.push_str(&format!("Content-Type: {kind}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A server refusing the body early (413) may close before reading it all: still read its answer.
    // (A failed write shows as a failed read of the answer.)
    let _ = stream.write_all(body).and_then(|()| stream.flush());
    read_response(BufReader::new(stream))
}

fn read_response(mut reader: impl BufRead) -> std::io::Result<HttpResponse> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("not an HTTP status line: {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the connection closed inside the headers"));
        }
        let text = line.trim_end();
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sized_and_chunked_bodies() {
        let sized = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        let r = read_response(&sized[..]).expect("sized");
        assert_eq!(
            (r.status, r.body.as_slice(), r.header("x-a")),
            (200, &b"hello"[..], Some("b"))
        );
        let chunked = b"HTTP/1.1 415 Unsupported\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = read_response(&chunked[..]).expect("chunked");
        assert_eq!((r.status, r.body.as_slice()), (415, &b"abcde"[..]));
        assert!(read_response(&b"garbage\r\n"[..]).is_err());
    }
}
