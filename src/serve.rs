//! `fleet-apiserver serve`: production, everything from flags.

use std::net::SocketAddr;

use apiserver::tls::{TlsFiles, TlsPaths};
use storage::{EtcdOptions, EtcdTls};

use crate::cli::ServeArgs;
use crate::error::{Error, Result};
use crate::wiring::{self, Serving, StorageChoice};

pub async fn run(args: ServeArgs) -> Result<()> {
    // A configuration that does not load stops the start before anything is touched.
    let encryption = crate::encryption::load(&args.encryption)?;
    let storage = match (&args.storage_dir, args.etcd_servers.is_empty()) {
        (Some(dir), true) => StorageChoice::Embedded(dir.clone()),
        (None, false) => {
            let mut options = EtcdOptions::new(args.etcd_servers.clone());
            if args.etcd_cafile.is_some() || args.etcd_certfile.is_some() {
                let tls = EtcdTls::from_files(
                    args.etcd_cafile.as_deref(),
                    args.etcd_certfile.as_deref(),
                    args.etcd_keyfile.as_deref(),
                )
                .map_err(Error::Storage)?;
                options.tls = Some(tls);
            }
            StorageChoice::Etcd(options)
        }
        _ => {
            return Err(Error::Usage(
                "exactly one of --etcd-servers and --storage-dir is required".into(),
            ))
        }
    };
    let tls = TlsFiles {
        cert_pem: wiring::read(&args.tls_cert_file)?,
        key_pem: wiring::read(&args.tls_private_key_file)?,
        client_ca_pem: args.client_ca_file.as_ref().map(wiring::read).transpose()?,
        request_header_ca_pem: args
            .access
            .requestheader_client_ca_file
            .as_ref()
            .map(wiring::read)
            .transpose()?,
    };
    let tls_paths = TlsPaths {
        cert: Some(args.tls_cert_file.clone()),
        key: Some(args.tls_private_key_file.clone()),
        client_ca: args.client_ca_file.clone(),
        request_header_ca: args.access.requestheader_client_ca_file.clone(),
    };
    let store = wiring::open_storage(storage).await?;
    let listener = wiring::bind(SocketAddr::new(args.bind_address, args.secure_port)).await?;
    let local = listener.local_addr().map_err(Error::Serve)?;
    tracing::info!(address = %local, "serving");
    wiring::serve(
        listener,
        Serving {
            tls,
            tls_paths,
            store,
            prefix: &args.etcd_prefix,
            compaction_interval: args.etcd_compaction_interval,
            garbage_collector: args.enable_garbage_collector,
            access: &args.access,
            encryption,
            client_ca_from_flags: args.client_ca_file.is_some(),
            before_serving: None,
        },
    )
    .await
}
