//! A real etcd process for tests: free loopback ports, data in a temp dir, killed by PID when
//! dropped (also when the test panics).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the etcd binary is: `$ETCD_BIN`, else `/usr/bin/etcd` (Debian's `etcd-server`).
pub fn etcd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("ETCD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"));
    path.exists().then_some(path)
}

/// A running etcd.
#[derive(Debug)]
pub struct EtcdServer {
    child: Option<Child>,
    client_url: String,
    peer_url: String,
    /// Where `/health` is served: the client URL, or a plain-HTTP metrics URL under TLS.
    health_addr: String,
    data: tempfile::TempDir,
    binary: PathBuf,
    tls: Option<TlsFiles>,
}

/// The PEM files of an etcd serving TLS and requiring client certificates.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// A client certificate the server accepts.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

impl EtcdServer {
    /// Starts etcd and waits until it answers. Panics when it cannot (tests want that);
    /// returns `None` when no etcd binary is installed and `CI` is not set — under CI a
    /// missing etcd is a failure, never a skip.
    pub fn start() -> Option<Self> {
        Self::start_with(false)
    }

    /// Like [`EtcdServer::start`], serving `https` with a fresh CA (made with the `openssl`
    /// command) and requiring client certificates (`--client-cert-auth`).
    pub fn start_tls() -> Option<Self> {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Option<Self> {
        let Some(binary) = etcd_binary() else {
            if std::env::var_os("CI").is_some() {
                panic!("etcd is not installed (apt-get install etcd-server) and CI is set");
            }
            eprintln!("skipping: etcd is not installed (apt-get install etcd-server)");
            return None;
        };
        // Another process may take a port between choosing and binding it: try a few times.
        for _ in 0..5 {
            let scheme = if tls { "https" } else { "http" };
            let client_port = free_port();
            let data = tempfile::tempdir().expect("temp dir for etcd");
            let tls = tls.then(|| make_certificates(data.path()));
            let mut server = EtcdServer {
                child: None,
                client_url: format!("{scheme}://127.0.0.1:{client_port}"),
                peer_url: format!("http://127.0.0.1:{}", free_port()),
                health_addr: match tls {
                    Some(_) => format!("127.0.0.1:{}", free_port()),
                    None => format!("127.0.0.1:{client_port}"),
                },
                data,
                binary: binary.clone(),
                tls,
            };
            match server.spawn(false) {
                Ok(()) => return Some(server),
                Err(e) => eprintln!("etcd did not start, retrying on other ports: {e}"),
            }
        }
        panic!("etcd did not start on free loopback ports");
    }

    /// The client URL, e.g. `http://127.0.0.1:41234`.
    pub fn client_url(&self) -> &str {
        &self.client_url
    }

    /// The certificates, for a server started with [`EtcdServer::start_tls`].
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same ports and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn(true).expect("etcd restarts on its ports");
    }

    fn spawn(&mut self, existing: bool) -> Result<(), String> {
        let log =
            std::fs::File::create(self.data.path().join("etcd.log")).map_err(|e| e.to_string())?;
        let mut command = Command::new(&self.binary);
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cert-file={}", tls.server_cert.display()))
                .arg(format!("--key-file={}", tls.server_key.display()))
                .arg(format!("--trusted-ca-file={}", tls.ca.display()))
                .arg("--client-cert-auth")
                .arg(format!("--listen-metrics-urls=http://{}", self.health_addr));
        }
        let child = command
            .arg("--name=test")
            .arg(format!(
                "--data-dir={}",
                self.data.path().join("data").display()
            ))
            .arg(format!("--listen-client-urls={}", self.client_url))
            .arg(format!("--advertise-client-urls={}", self.client_url))
            .arg(format!("--listen-peer-urls={}", self.peer_url))
            .arg(format!("--initial-advertise-peer-urls={}", self.peer_url))
            .arg(format!("--initial-cluster=test={}", self.peer_url))
            .arg(if existing {
                "--initial-cluster-state=existing"
            } else {
                "--initial-cluster-state=new"
            })
            // Progress notifications every second instead of etcd 3.4's 10 minutes.
            .arg("--experimental-watch-progress-notify-interval=1s")
            // Room for a 1.5 MiB value plus the request around it.
            .arg("--max-request-bytes=2097152")
            .arg("--quota-backend-bytes=4294967296")
            .arg("--log-level=warn")
            .arg("--logger=zap")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let addr = self.health_addr.clone();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("etcd exited: {status}"));
                }
            }
            if health(&addr) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        Err("etcd did not become healthy in 20 s".into())
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Makes a CA, a serving certificate for 127.0.0.1 and a client certificate in `dir`.
fn make_certificates(dir: &Path) -> TlsFiles {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"],
            &key[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=etcd-test-ca",
                "-days",
                "2",
            ],
        ]
        .concat(),
    );
    for (name, usage, san) in [
        (
            "server",
            "serverAuth",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        ),
        ("client", "clientAuth", ""),
    ] {
        let ext = format!("{san}extendedKeyUsage={usage}\n");
        std::fs::write(path(&format!("{name}.ext")), ext).expect("writing openssl extensions");
        let (k, csr, crt, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        openssl(
            &[
                &["req"],
                &key[..],
                &["-keyout", &k, "-out", &csr, "-subj", &format!("/CN={name}")],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            &ext,
        ]);
    }
    TlsFiles {
        ca: path("ca.crt"),
        client_cert: path("client.crt"),
        client_key: path("client.key"),
        server_cert: path("server.crt"),
        server_key: path("server.key"),
    }
}

/// A port the OS has just handed out on loopback.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether etcd's `/health` answers `"health":"true"`.
fn health(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.contains("\"health\":\"true\"")
}
