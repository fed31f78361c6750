//! One kept-alive HTTP/1.1 connection over rustls to `up`, authenticated as the admin of its
//! data directory, that shows which serving certificate its handshake got; and replacing a
//! file the way certificate tooling does (a temp file, then a rename).

use std::io::{self, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::support::http1::{self, Request, Tls, Unframed};
use crate::support::Reply;

const READ_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT: &str = "fleet-access-tests";

/// An open connection; requests on it reuse it (`Connection: keep-alive`).
#[derive(Debug)]
pub struct TlsConnection {
    tls: BufReader<Tls>,
    served: CertificateDer<'static>,
    addr: SocketAddr,
}

impl TlsConnection {
    /// Connects to `url` (`https://IP:PORT`), trusting `data_dir/pki/ca.crt` and presenting
    /// the admin certificate, and completes the handshake.
    pub fn open(url: &str, data_dir: &Path) -> io::Result<TlsConnection> {
        let client = http1::Client::admin(url, data_dir);
        let stream = client.connect(READ_TIMEOUT)?;
        let served = stream
            .conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .ok_or_else(|| io::Error::other("the server presented no certificate"))?
            .clone()
            .into_owned();
        Ok(TlsConnection {
            tls: BufReader::new(stream),
            served,
            addr: client.addr(),
        })
    }

    /// The leaf certificate the server presented in this connection's handshake.
    pub fn served(&self) -> &CertificateDer<'static> {
        &self.served
    }

    /// `GET path` on this connection. An error when the server closed it.
    pub fn get(&mut self, path: &str) -> io::Result<Reply> {
        let request = Request::get(path).header("Connection", "keep-alive");
        request.write_to(self.tls.get_mut(), self.addr, USER_AGENT)?;
        http1::read_response(&mut self.tls, Unframed::Refused)
    }
}

/// Replaces `path` with `contents` atomically: readers see the old file or the new one,
/// never a part.
pub fn replace_atomically(path: &Path, contents: &[u8]) {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".new");
    std::fs::write(&temp, contents).unwrap_or_else(|e| panic!("writing {temp:?}: {e}"));
    std::fs::rename(&temp, path)
        .unwrap_or_else(|e| panic!("renaming {temp:?} to {}: {e}", path.display()));
}
