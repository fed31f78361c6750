//! `fleet-apiserver kubeconfig`: a client certificate for a user, signed by the CA of
//! `fleet-apiserver up`, in a kubeconfig.

use std::io::Write;

use crate::cli::KubeconfigArgs;
use crate::error::{Error, Result};
use crate::wiring;

pub fn run(args: KubeconfigArgs) -> Result<()> {
    let pki = args.data_dir.join("pki");
    if !pki.join("ca.crt").exists() {
        return Err(Error::NoLocalCa { dir: pki });
    }
    let ca =
        certs::Ca::load(&pki.join("ca.crt"), &pki.join("ca.key")).map_err(Error::Certificates)?;
    let server = match args.server {
        Some(server) => server,
        None => server_of(&args.data_dir.join("admin.kubeconfig"))?,
    };
    let issued = ca
        .issue_client(&args.user, &args.groups)
        .map_err(Error::Certificates)?;
    let kubeconfig = certs::Kubeconfig {
        cluster: "fleet",
        context: &format!("{}@fleet", args.user),
        user: &args.user,
        server: &server,
        ca_pem: ca.cert_pem(),
        client_cert_pem: &issued.cert_pem,
        client_key_pem: &issued.key_pem,
    };
    match args.output {
        Some(path) => kubeconfig.write(&path).map_err(Error::Certificates),
        None => std::io::stdout()
            .write_all(kubeconfig.to_yaml().as_bytes())
            .map_err(Error::Output),
    }
}

/// The `server:` of the admin kubeconfig that `up` wrote.
fn server_of(path: &std::path::PathBuf) -> Result<String> {
    let text = String::from_utf8_lossy(&wiring::read(path)?).into_owned();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("server:"))
        .map(|s| s.trim().trim_matches('"').to_owned())
        .next()
        .ok_or_else(|| Error::Usage(format!("no server in {}; pass --server", path.display())))
}
