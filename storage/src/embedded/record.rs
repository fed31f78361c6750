//! The byte layout of the embedded store's rows: one version of a key, and one logged event.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::store::{KeyValue, Revision, WatchEvent};

/// One version of a key: what `current` and `history` rows hold.
///
/// Layout: `create_revision: i64 LE | mod_revision: i64 LE | deleted: u8 | value bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub create_revision: Revision,
    pub mod_revision: Revision,
    /// A tombstone: the key was deleted at `mod_revision`.
    pub deleted: bool,
    pub value: Bytes,
}

const VERSION_HEADER: usize = 17;

impl Version {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VERSION_HEADER + self.value.len());
        out.extend_from_slice(&self.create_revision.to_le_bytes());
        out.extend_from_slice(&self.mod_revision.to_le_bytes());
        out.push(u8::from(self.deleted));
        out.extend_from_slice(&self.value);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < VERSION_HEADER {
            return Err(Error::corrupt(format!(
                "embedded store: version row of {} bytes is shorter than its header",
                bytes.len()
            )));
        }
        Ok(Version {
            create_revision: read_i64(&bytes[0..8]),
            mod_revision: read_i64(&bytes[8..16]),
            deleted: bytes[16] != 0,
            value: Bytes::copy_from_slice(&bytes[VERSION_HEADER..]),
        })
    }

    pub fn into_key_value(self, key: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: self.value,
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
        }
    }
}

/// One write, as logged in the `events` table under its revision: the key, the version it
/// wrote (a tombstone for a delete) and the version it replaced.
///
/// Layout: `key_len: u32 LE | key | version_len: u32 LE | version | [prev version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggedEvent {
    pub key: String,
    pub version: Version,
    pub prev: Option<Version>,
}

impl LoggedEvent {
    pub fn encode(&self) -> Vec<u8> {
        let version = self.version.encode();
        let prev = self.prev.as_ref().map(Version::encode).unwrap_or_default();
        let mut out = Vec::with_capacity(8 + self.key.len() + version.len() + prev.len());
        out.extend_from_slice(&(self.key.len() as u32).to_le_bytes());
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(&(version.len() as u32).to_le_bytes());
        out.extend_from_slice(&version);
        out.extend_from_slice(&prev);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (key, rest) = split_prefixed(bytes)?;
        let key = std::str::from_utf8(key)
            .map_err(|e| Error::other("embedded store: event key is not UTF-8", e))?
            .to_owned();
        let (version, prev) = split_prefixed(rest)?;
        Ok(LoggedEvent {
            key,
            version: Version::decode(version)?,
            prev: if prev.is_empty() {
                None
            } else {
                Some(Version::decode(prev)?)
            },
        })
    }

    /// The watch event this log entry stands for.
    pub fn into_watch_event(self) -> Result<WatchEvent> {
        let prev = self.prev.map(|p| p.into_key_value(&self.key));
        if self.version.deleted {
            let prev = prev.ok_or_else(|| {
                Error::corrupt(format!(
                    "embedded store: delete of {:?} at revision {} has no previous value",
                    self.key, self.version.mod_revision
                ))
            })?;
            Ok(WatchEvent::Delete {
                revision: self.version.mod_revision,
                key: self.key,
                prev,
            })
        } else {
            Ok(WatchEvent::Put {
                kv: self.version.into_key_value(&self.key),
                prev,
            })
        }
    }
}

fn read_i64(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(bytes);
    i64::from_le_bytes(buf)
}

/// Splits a `u32 LE` length-prefixed field off the front of `bytes`.
fn split_prefixed(bytes: &[u8]) -> Result<(&[u8], &[u8])> {
    let truncated = || Error::corrupt("embedded store: event row is truncated");
    let len_bytes: [u8; 4] = bytes
        .get(0..4)
        .ok_or_else(truncated)?
        .try_into()
        .map_err(|_| truncated())?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let field = bytes.get(4..4 + len).ok_or_else(truncated)?;
    Ok((field, &bytes[4 + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(rev: i64, deleted: bool, value: &'static [u8]) -> Version {
        Version {
            create_revision: 2,
            mod_revision: rev,
            deleted,
            value: Bytes::from_static(value),
        }
    }

    #[test]
    fn version_round_trips() {
        let v = version(7, false, b"{\"a\":1}");
        assert_eq!(Version::decode(&v.encode()).unwrap(), v);
    }

    #[test]
    fn event_round_trips_with_and_without_previous_value() {
        let created = LoggedEvent {
            key: "/r/a".into(),
            version: version(3, false, b"x"),
            prev: None,
        };
        assert_eq!(LoggedEvent::decode(&created.encode()).unwrap(), created);
        let deleted = LoggedEvent {
            key: "/r/a".into(),
            version: version(4, true, b""),
            prev: Some(version(3, false, b"x")),
        };
        assert_eq!(LoggedEvent::decode(&deleted.encode()).unwrap(), deleted);
    }

    #[test]
    fn truncated_rows_are_reported_not_panicked_on() {
        assert!(Version::decode(&[0; 5]).is_err());
        assert!(LoggedEvent::decode(&[9, 0, 0, 0, b'a']).is_err());
    }
}
