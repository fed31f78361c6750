//! HTTP/1.1 framing spoken by both ends of these tests: a head (start line and headers), then
//! a body sized by `Content-Length` or sent in chunks.

use std::io::{self, BufRead, Write};

/// The start line and headers of a request or a response.
#[derive(Debug, Clone)]
pub struct Head {
    /// `GET /path HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start: String,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }
}

/// How a body without `Content-Length` or chunks ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unframed {
    /// There is none (a request).
    Empty,
    /// It runs to the end of the connection (a response).
    UntilClose,
}

/// The next head; `None` when the peer closed the connection between messages.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let Some(start) = read_line(reader)? else {
        return Ok(None);
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "EOF in the headers"))?;
        if line.is_empty() {
            return Ok(Some(Head { start, headers }));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| io::Error::other(format!("not a header: {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// The body that follows `head`.
pub fn read_body(
    reader: &mut impl BufRead,
    head: &Head,
    unframed: Unframed,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if head.chunked() {
        loop {
            let line = read_line(reader)?
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "EOF in chunks"))?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::other(format!("not a chunk size: {line:?}")))?;
            if size == 0 {
                while !read_line(reader)?.unwrap_or_default().is_empty() {}
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            read_line(reader)?;
        }
    }
    match (head.header("content-length"), unframed) {
        (Some(length), _) => {
            body.resize(length.parse().map_err(io::Error::other)?, 0);
            reader.read_exact(&mut body)?;
        }
        (None, Unframed::UntilClose) => {
            reader.read_to_end(&mut body)?;
        }
        (None, Unframed::Empty) => {}
    }
    Ok(body)
}

/// Writes one chunk of a chunked body and flushes it; an empty `data` is the last chunk.
pub fn write_chunk(writer: &mut impl Write, data: &[u8]) -> io::Result<()> {
    write!(writer, "{:x}\r\n", data.len())?;
    writer.write_all(data)?;
    writer.write_all(b"\r\n")?;
    writer.flush()
}

/// A line without its CRLF; `None` at the end of the stream.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}
