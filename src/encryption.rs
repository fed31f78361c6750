//! Encryption at rest from `--encryption-provider-config`: the configuration loaded before
//! anything is read or written, and, with `--encryption-provider-config-automatic-reload`,
//! followed — a changed file that loads replaces the configuration, one that does not is
//! logged and the configuration in force stays (as kube-apiserver's reload controller).

use std::path::{Path, PathBuf};
use std::time::Duration;

use registry::GenericStore;
use storage::Codecs;

use crate::cli::EncryptionArgs;
use crate::wiring::{Error, Result};

/// How often a followed configuration file is checked for changes (kube-apiserver checks
/// every minute; comparing a small file is cheap).
const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The codecs the flags ask for: plain text without a configuration file.
pub fn load(args: &EncryptionArgs) -> Result<Codecs> {
    match &args.encryption_provider_config {
        None if args.encryption_provider_config_automatic_reload => Err(Error::Usage(
            "--encryption-provider-config-automatic-reload must be set with --encryption-provider-config"
                .into(),
        )),
        None => Ok(Codecs::plain()),
        Some(path) => {
            let codecs = Codecs::load(path).map_err(Error::Encryption)?;
            tracing::info!(file = %path.display(), "encryption at rest configured");
            Ok(codecs)
        }
    }
}

/// The file to follow, if the flags ask for it.
pub fn followed(args: &EncryptionArgs) -> Option<PathBuf> {
    args.encryption_provider_config
        .clone()
        .filter(|_| args.encryption_provider_config_automatic_reload)
}

/// Follows `path` for `store` until aborted.
pub async fn follow(path: PathBuf, store: GenericStore) {
    let mut loaded = std::fs::read(&path).ok();
    let mut ticker = tokio::time::interval(RELOAD_INTERVAL);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(current) = read_changed(&path, loaded.as_deref()) else {
            continue;
        };
        match Codecs::parse(&current, &path) {
            Ok(codecs) => {
                store.set_codecs(codecs);
                tracing::info!(file = %path.display(), "reloaded the encryption configuration");
            }
            Err(e) => tracing::error!(
                file = %path.display(),
                error = %e,
                "error processing encryption config file; the configuration in force stays"
            ),
        }
        // A file that does not load is not tried again until it changes.
        loaded = Some(current);
    }
}

/// The file's bytes when they differ from `loaded`; `None` when unchanged or unreadable
/// (a file being replaced is read again at the next tick).
fn read_changed(path: &Path, loaded: Option<&[u8]>) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) if Some(bytes.as_slice()) != loaded => Some(bytes),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "reading the encryption configuration");
            None
        }
    }
}
