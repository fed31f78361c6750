//! A small HTTP/1.1 client over rustls, authenticated as the admin of a data directory, for
//! what the kube-rs client cannot show: a watch read event by event as its chunks arrive
//! (kube's streaming APIs need `futures`, which is not a dependency of the tests), and
//! requests that fail with an error instead of a panic while the server is down.

use std::io::{self, BufReader};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::support::http1::{self, Request, Unframed};
use crate::support::Reply;

/// How long a socket read may block: longer than any watch a test keeps idle.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const USER_AGENT: &str = "fleet-list-watch-tests";

type Tls = BufReader<http1::Tls>;

/// A client of one server, negotiating `http/1.1` with ALPN.
#[derive(Debug, Clone)]
pub struct Http1 {
    client: http1::Client,
}

/// Status line and headers of a response, and what TLS negotiated.
#[derive(Debug, Clone)]
pub struct Head {
    /// `HTTP/1.1`.
    pub version: String,
    pub status: u16,
    /// The ALPN protocol TLS agreed on.
    pub alpn: Option<String>,
    /// As received.
    pub received: http1::Head,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.received.header(name)
    }
}

/// What a watch request got: a 200 stream, or any other complete response.
#[derive(Debug)]
pub enum WatchReply {
    Streaming(WatchStream),
    Rejected(Reply),
}

impl WatchReply {
    /// The stream; panics with the response when the watch was rejected.
    pub fn streaming(self) -> WatchStream {
        match self {
            WatchReply::Streaming(stream) => stream,
            WatchReply::Rejected(r) => {
                panic!("the watch was rejected: {} {}", r.status, r.text())
            }
        }
    }

    /// The rejection; panics when the watch streams.
    pub fn rejected(self) -> Reply {
        match self {
            WatchReply::Rejected(response) => response,
            WatchReply::Streaming(s) => {
                panic!("the watch streams ({:?}), a rejection was expected", s.head)
            }
        }
    }
}

/// What a watch stream yields next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// One line: `{"type": ..., "object": ...}`.
    Event(Value),
    /// The end of the stream.
    End(Ending),
}

/// How a watch stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// With the last chunk of the chunked encoding: the server ended the watch.
    Clean,
    /// Anything else: a reset, an EOF in the middle, a read timeout, a line that is not JSON.
    Broken(String),
}

/// A watch being read, line by line, by a thread. Dropping it closes the connection.
#[derive(Debug)]
pub struct WatchStream {
    pub head: Head,
    events: mpsc::UnboundedReceiver<Next>,
    socket: TcpStream,
    ended: bool,
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

impl WatchStream {
    /// The next event or the end; panics when nothing comes `within`.
    pub async fn next(&mut self, within: Duration) -> Next {
        if self.ended {
            panic!("the watch stream has already ended");
        }
        match tokio::time::timeout(within, self.events.recv()).await {
            Ok(Some(next)) => {
                self.ended = matches!(next, Next::End(_));
                next
            }
            Ok(None) => panic!("the watch reader stopped without an ending"),
            Err(_) => panic!("no watch event within {within:?}"),
        }
    }

    /// The next event; panics at the end of the stream or when none comes `within`.
    pub async fn event(&mut self, within: Duration) -> Value {
        match self.next(within).await {
            Next::Event(event) => event,
            Next::End(ending) => panic!("the watch ended ({ending:?}) where an event was expected"),
        }
    }

    /// The next `n` events, each within `within`.
    pub async fn events(&mut self, n: usize, within: Duration) -> Vec<Value> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.event(within).await);
        }
        events
    }

    /// The end of the stream; panics when an event comes first or nothing comes `within`.
    pub async fn end(&mut self, within: Duration) -> Ending {
        match self.next(within).await {
            Next::End(ending) => ending,
            Next::Event(event) => panic!("an event where the end was expected: {event}"),
        }
    }

    /// Panics when anything arrives during `period`.
    pub async fn quiet(&mut self, period: Duration) {
        if let Ok(next) = tokio::time::timeout(period, self.events.recv()).await {
            panic!("nothing was expected on the watch, got {next:?}");
        }
    }
}

impl Http1 {
    /// A client of the server at `url` (`https://IP:PORT`), presenting the admin certificate
    /// of `data_dir/pki` and trusting its CA.
    pub fn new(url: &str, data_dir: &Path) -> Http1 {
        Http1 {
            client: http1::Client::admin(url, data_dir),
        }
    }

    /// `GET path`, the whole response; an error when the server cannot be reached or the
    /// connection breaks.
    pub async fn get(&self, path: &str) -> io::Result<Reply> {
        let this = self.clone();
        let path = path.to_owned();
        blocking(move || {
            let (mut tls, _) = this.send(&path)?;
            http1::read_response(&mut tls, Unframed::UntilClose)
        })
        .await
    }

    /// `GET path` of a watch: a stream read as it arrives when the answer is 200 and chunked,
    /// the complete response otherwise. Returns once the headers are in.
    pub async fn watch(&self, path: &str) -> io::Result<WatchReply> {
        let this = self.clone();
        let path = path.to_owned();
        blocking(move || {
            let (mut tls, socket) = this.send(&path)?;
            let head = read_head(&mut tls)?;
            if head.status != 200 || !head.received.chunked() {
                let body = http1::read_body(&mut tls, &head.received, Unframed::UntilClose)?;
                let (status, headers) = (head.status, head.received.headers);
                let reply = Reply {
                    status,
                    headers,
                    body,
                };
                return Ok(WatchReply::Rejected(reply));
            }
            let (sender, events) = mpsc::unbounded_channel();
            std::thread::spawn(move || read_events(tls, sender));
            Ok(WatchReply::Streaming(WatchStream {
                head,
                events,
                socket,
                ended: false,
            }))
        })
        .await
    }

    /// Connects, shakes hands and writes the request; returns the reader and a handle on the
    /// socket to shut it down.
    fn send(&self, path: &str) -> io::Result<(Tls, TcpStream)> {
        let mut tls = self.client.connect(READ_TIMEOUT)?;
        let socket = tls.sock.try_clone()?;
        let request = Request::get(path).header("Connection", "close");
        request.write_to(&mut tls, self.client.addr(), USER_AGENT)?;
        Ok((BufReader::new(tls), socket))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| panic!("the HTTP/1.1 thread failed: {e}"))
}

/// The head of a response, with what TLS negotiated.
fn read_head(tls: &mut Tls) -> io::Result<Head> {
    let received = http1::read_head(tls)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"))?;
    let alpn = tls.get_ref().conn.alpn_protocol();
    Ok(Head {
        version: received
            .start
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_owned(),
        status: received.status()?,
        alpn: alpn.map(|p| String::from_utf8_lossy(p).into_owned()),
        received,
    })
}

/// Sends every line of the chunked body as an event, then how the body ended.
fn read_events(mut tls: Tls, sender: mpsc::UnboundedSender<Next>) {
    let mut pending = Vec::new();
    let ending = loop {
        match http1::read_chunk(&mut tls) {
            Ok(Some(chunk)) => pending.extend(chunk),
            Ok(None) if pending.iter().all(u8::is_ascii_whitespace) => break Ending::Clean,
            Ok(None) => break Ending::Broken("the body ends inside a line".into()),
            Err(e) => break Ending::Broken(e.to_string()),
        }
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let next = match serde_json::from_slice(&line) {
                Ok(event) => Next::Event(event),
                Err(e) => {
                    let text = String::from_utf8_lossy(&line);
                    let _ =
                        sender.send(Next::End(Ending::Broken(format!("not JSON ({e}): {text}"))));
                    return;
                }
            };
            if sender.send(next).is_err() {
                return;
            }
        }
    };
    let _ = sender.send(Next::End(ending));
}
