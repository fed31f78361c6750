//! `fleet-apiserver up`: a complete server with one command. Certificates are created once
//! under `DIR/pki/`; after the port is bound, `DIR/admin.kubeconfig` is written atomically and
//! then `ready https://HOST:PORT` is printed on stdout — the contract scripts and tests wait on.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use apiserver::tls::{TlsFiles, TlsPaths};
use registry::{Catalog, GenericStore, Resource, WriteOptions};
use storage::EtcdOptions;

use crate::cli::UpArgs;
use crate::error::{Error, Result};
use crate::wiring::{self, Serving, StorageChoice};

pub async fn run(args: UpArgs) -> Result<()> {
    // A configuration that does not load stops the start before anything is touched.
    let encryption = crate::encryption::load(&args.encryption)?;
    std::fs::create_dir_all(&args.data_dir).map_err(|error| Error::DataDir {
        path: args.data_dir.clone(),
        error,
    })?;
    let listener = wiring::bind(SocketAddr::new(args.bind_address, args.secure_port)).await?;
    let local = listener.local_addr().map_err(Error::Serve)?;
    let host = client_host(args.bind_address);
    let pki =
        certs::Pki::ensure(&args.data_dir, &[host.to_string()]).map_err(Error::Certificates)?;
    let ca_pem = wiring::read(&pki.ca_cert)?;
    let tls = TlsFiles {
        cert_pem: wiring::read(&pki.serving_cert)?,
        key_pem: wiring::read(&pki.serving_key)?,
        client_ca_pem: Some(ca_pem.clone()),
        request_header_ca_pem: args
            .access
            .requestheader_client_ca_file
            .as_ref()
            .map(wiring::read)
            .transpose()?,
    };
    let storage = if args.etcd_servers.is_empty() {
        StorageChoice::Embedded(args.data_dir.join("data"))
    } else {
        StorageChoice::Etcd(EtcdOptions::new(args.etcd_servers.clone()))
    };
    let store = wiring::open_storage(storage).await?;
    let url = match host {
        IpAddr::V6(ip) => format!("https://[{ip}]:{}", local.port()),
        IpAddr::V4(ip) => format!("https://{ip}:{}", local.port()),
    };
    let kubeconfig_path = args.data_dir.join("admin.kubeconfig");
    let ca = String::from_utf8_lossy(&ca_pem).into_owned();
    let cert = String::from_utf8_lossy(&wiring::read(&pki.admin_cert)?).into_owned();
    let key = String::from_utf8_lossy(&wiring::read(&pki.admin_key)?).into_owned();
    // The kubeconfig and the ready line come once the server can answer as it will.
    let announce = move |store: &GenericStore, catalog: &Catalog| -> wiring::BeforeServing {
        let store = store.clone();
        let pricelists = catalog.find(
            registry::fleet::GROUP,
            registry::fleet::VERSION,
            "pricelists",
        );
        Box::pin(async move {
            if let Some(pricelists) = pricelists {
                install_default_price_list(&store, &pricelists).await?;
            }
            certs::Kubeconfig {
                cluster: "fleet",
                context: "fleet-admin@fleet",
                user: "fleet-admin",
                server: &url,
                ca_pem: &ca,
                client_cert_pem: &cert,
                client_key_pem: &key,
            }
            .write(&kubeconfig_path)
            .map_err(Error::Certificates)?;
            // An absolute path, so the hint works from any directory.
            let shown = std::fs::canonicalize(&kubeconfig_path).unwrap_or(kubeconfig_path);
            // One write: a reader that takes the ready line and closes the pipe has all of it.
            let announcement = format!(
                "ready {url}\n  export KUBECONFIG={}\n  kubectl api-resources --api-group=fleet.k0rdent.io\n",
                shown.display()
            );
            let mut out = std::io::stdout().lock();
            out.write_all(announcement.as_bytes())
                .map_err(Error::Output)?;
            out.flush().map_err(Error::Output)
        })
    };
    let tls_paths = TlsPaths {
        cert: Some(pki.serving_cert.clone()),
        key: Some(pki.serving_key.clone()),
        client_ca: Some(pki.ca_cert.clone()),
        request_header_ca: args.access.requestheader_client_ca_file.clone(),
    };
    wiring::serve(
        listener,
        Serving {
            tls,
            tls_paths,
            store,
            prefix: "/registry",
            compaction_interval: args.etcd_compaction_interval,
            garbage_collector: true,
            access: &args.access,
            encryption,
            client_ca_from_flags: true,
            before_serving: Some(Box::new(announce)),
        },
    )
    .await
}

/// Creates the PriceList `default` (public list prices) unless it exists; an existing one
/// is the operator's and stays as it is.
async fn install_default_price_list(store: &GenericStore, pricelists: &Resource) -> Result<()> {
    let options = WriteOptions {
        manager: Some("fleet-apiserver".into()),
        ..WriteOptions::default()
    };
    let object = registry::fleet::pricelist::default_price_list();
    match store.create(pricelists, None, object, &options).await {
        Ok(_) => {
            tracing::info!("created the default PriceList");
            Ok(())
        }
        Err(e) if e.code() == 409 => Ok(()),
        Err(e) => Err(Error::Bootstrap(e.to_string())),
    }
}

/// The address clients use: the bound one, or loopback when bound to every address.
fn client_host(bind: IpAddr) -> IpAddr {
    match bind {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        other => other,
    }
}
