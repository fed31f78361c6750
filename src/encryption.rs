//! Encryption at rest from `--encryption-provider-config`: the configuration loaded before
//! anything is read or written, and, with `--encryption-provider-config-automatic-reload`,
//! followed — a changed file that loads replaces the configuration, one that does not is
//! logged and the configuration in force stays (as kube-apiserver's reload controller).

use std::path::{Path, PathBuf};
use std::time::Duration;

use registry::GenericStore;
use storage::Codecs;

use crate::cli::EncryptionArgs;
use crate::error::{Error, Result};

/// How often a followed configuration file is checked for changes (kube-apiserver checks
/// every minute; comparing a small file is cheap).
const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// What the flags ask for: the codecs (plain text without a configuration file), and the file
/// to follow with the bytes they were read from.
#[derive(Debug)]
pub struct Loaded {
    pub codecs: Codecs,
    pub follow: Option<Followed>,
}

/// A configuration file followed from the bytes first loaded.
#[derive(Debug)]
pub struct Followed {
    path: PathBuf,
    loaded: Vec<u8>,
}

/// Reads the configuration the flags name, once, before anything is stored.
pub fn load(args: &EncryptionArgs) -> Result<Loaded> {
    let Some(path) = &args.encryption_provider_config else {
        if args.encryption_provider_config_automatic_reload {
            return Err(Error::Usage(
                "--encryption-provider-config-automatic-reload must be set with --encryption-provider-config"
                    .into(),
            ));
        }
        return Ok(Loaded {
            codecs: Codecs::plain(),
            follow: None,
        });
    };
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Encryption(storage::ConfigError::unreadable(path, &e)))?;
    let codecs = Codecs::parse(&bytes, path).map_err(Error::Encryption)?;
    tracing::info!(file = %path.display(), "encryption at rest configured");
    let follow = args
        .encryption_provider_config_automatic_reload
        .then(|| Followed {
            path: path.clone(),
            loaded: bytes,
        });
    Ok(Loaded { codecs, follow })
}

/// Follows the file for `store` until aborted.
pub async fn follow(followed: Followed, store: GenericStore) {
    let Followed { path, mut loaded } = followed;
    let mut ticker = tokio::time::interval(RELOAD_INTERVAL);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(current) = read_changed(&path, &loaded).await else {
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
        loaded = current;
    }
}

/// The file's bytes when they differ from `loaded`; `None` when unchanged or unreadable
/// (a file being replaced is read again at the next tick).
async fn read_changed(path: &Path, loaded: &[u8]) -> Option<Vec<u8>> {
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || std::fs::read(owned))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    match read {
        Ok(bytes) if bytes != loaded => Some(bytes),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "reading the encryption configuration");
            None
        }
    }
}
