//! One kept-alive HTTP/1.1 connection over rustls to `up`, authenticated as the admin of its
//! data directory, that shows which serving certificate its handshake got; and replacing a
//! file the way certificate tooling does (a temp file, then a rename).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::support::install_crypto;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(10);

type Tls = BufReader<StreamOwned<ClientConnection, TcpStream>>;

/// An open connection; requests on it reuse it (`Connection: keep-alive`).
#[derive(Debug)]
pub struct TlsConnection {
    tls: Tls,
    served: CertificateDer<'static>,
    addr: SocketAddr,
}

impl TlsConnection {
    /// Connects to `url` (`https://IP:PORT`), trusting `data_dir/pki/ca.crt` and presenting
    /// the admin certificate, and completes the handshake.
    pub fn open(url: &str, data_dir: &Path) -> io::Result<TlsConnection> {
        let addr: SocketAddr = url
            .strip_prefix("https://")
            .and_then(|authority| authority.parse().ok())
            .unwrap_or_else(|| panic!("not https://IP:PORT: {url}"));
        let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        tcp.set_read_timeout(Some(READ_TIMEOUT))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::IpAddress(addr.ip().into());
        let connection =
            ClientConnection::new(client_config(data_dir), name).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
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
            addr,
        })
    }

    /// The leaf certificate the server presented in this connection's handshake.
    pub fn served(&self) -> &CertificateDer<'static> {
        &self.served
    }

    /// `GET path` on this connection: status and body. An error when the server closed it.
    pub fn get(&mut self, path: &str) -> io::Result<(u16, Vec<u8>)> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
             User-Agent: fleet-access-tests\r\nConnection: keep-alive\r\n\r\n",
            self.addr
        );
        let stream = self.tls.get_mut();
        stream.write_all(request.as_bytes())?;
        stream.flush()?;
        let status_line = read_line(&mut self.tls)?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("not a status line: {status_line:?}")))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            let line = read_line(&mut self.tls)?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(io::Error::other)?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let body = match (chunked, length) {
            (true, _) => read_chunked(&mut self.tls)?,
            (false, Some(length)) => {
                let mut body = vec![0; length];
                self.tls.read_exact(&mut body)?;
                body
            }
            (false, None) => {
                return Err(io::Error::other(
                    "a response without a length cannot keep the connection",
                ))
            }
        };
        Ok((status, body))
    }
}

/// Trusts the data directory's CA and presents its admin certificate; HTTP/1.1 only.
fn client_config(data_dir: &Path) -> Arc<ClientConfig> {
    install_crypto();
    let files = certs::Pki::new(data_dir).files();
    let read = |path: &Path| {
        std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    };
    let mut roots = RootCertStore::empty();
    for ca in certs::certificates_from_pem(&read(&files.ca_cert)).expect("the CA") {
        roots.add(ca).expect("a CA certificate rustls accepts");
    }
    let chain = certs::certificates_from_pem(&read(&files.admin_cert)).expect("admin cert");
    let key = certs::private_key_from_pem(&read(&files.admin_key)).expect("admin key");
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("a client TLS configuration");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn read_line(tls: &mut Tls) -> io::Result<String> {
    let mut line = String::new();
    if tls.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_chunked(tls: &mut Tls) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(tls)?;
        let size = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| io::Error::other(format!("not a chunk size: {size_line:?}")))?;
        if size == 0 {
            while !read_line(tls)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        tls.read_exact(&mut body[start..])?;
        read_line(tls)?;
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
