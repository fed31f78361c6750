//! The versioned envelope around every stored object: encoding, compression and encryption
//! are recorded per value, so that encryption at rest can be switched on (or keys rotated)
//! without a migration — values written before keep being readable.
//!
//! A stored value is the magic `fleet\0` followed by a protobuf [`Envelope`]. With AES-GCM the
//! storage key is the associated data, so a value copied under another key does not decrypt
//! (as kube-apiserver's `k8s:enc:aesgcm:v1` transformer does).

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use bytes::Bytes;
use prost::Message;

/// The first bytes of every enveloped value.
pub const MAGIC: &[u8] = b"fleet\0";

/// The current envelope format version.
pub const ENVELOPE_VERSION: u32 = 1;

/// The envelope as stored, after [`MAGIC`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    /// The envelope format version ([`ENVELOPE_VERSION`]).
    #[prost(uint32, tag = "1")]
    pub version: u32,
    /// How the object is serialised.
    #[prost(enumeration = "Encoding", tag = "2")]
    pub encoding: i32,
    /// How the serialised object is compressed.
    #[prost(enumeration = "Compression", tag = "3")]
    pub compression: i32,
    /// How the payload is encrypted; absent for plain text.
    #[prost(message, optional, tag = "4")]
    pub encryption: Option<Encryption>,
    /// The (compressed, encrypted) object.
    #[prost(bytes = "bytes", tag = "5")]
    pub payload: Bytes,
}

/// Serialisations of the object inside an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Encoding {
    /// Not set: an invalid envelope.
    Unspecified = 0,
    /// The object's JSON.
    Json = 1,
}

/// Compressions of the serialised object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Compression {
    /// Stored as is.
    None = 0,
}

/// How a payload was encrypted.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Encryption {
    /// The algorithm.
    #[prost(enumeration = "Algorithm", tag = "1")]
    pub algorithm: i32,
    /// The name of the key used, to find it among the configured keys.
    #[prost(string, tag = "2")]
    pub key_id: String,
    /// The nonce used for this value.
    #[prost(bytes = "bytes", tag = "3")]
    pub nonce: Bytes,
}

/// Encryption algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Algorithm {
    /// Not set: an invalid envelope.
    Unspecified = 0,
    /// AES-256 in Galois/Counter mode, 96-bit random nonce, the storage key as associated data.
    Aes256Gcm = 1,
}

/// A failure to seal or open an envelope.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The stored bytes do not start with [`MAGIC`].
    #[error("stored value is not a fleet envelope")]
    NotAnEnvelope,
    /// The protobuf did not decode.
    #[error("stored envelope does not decode")]
    Decode(#[source] prost::DecodeError),
    /// A format this build does not know.
    #[error("unsupported envelope: {0}")]
    Unsupported(String),
    /// The value was encrypted with a key that is not configured.
    #[error("stored value is encrypted with unknown key {0:?}")]
    UnknownKey(String),
    /// Decryption failed: wrong key, tampered value, or a value moved to another key.
    #[error("stored value does not decrypt with key {0:?}")]
    Decrypt(String),
    /// Encryption failed.
    #[error("encrypting with key {0:?} failed")]
    Encrypt(String),
    /// A configured key is not 32 bytes.
    #[error("encryption key {0:?} must be 32 bytes")]
    KeyLength(String),
}

/// Seals objects into envelopes and opens them, with the configured encryption keys.
#[derive(Clone, Default)]
pub struct Codec {
    /// The key new values are encrypted with; `None` writes plain text.
    write_key: Option<String>,
    keys: HashMap<String, Aes256Gcm>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key_ids: Vec<_> = self.keys.keys().collect();
        key_ids.sort();
        f.debug_struct("Codec")
            .field("write_key", &self.write_key)
            .field("key_ids", &key_ids)
            .finish()
    }
}

impl Codec {
    /// A codec that writes plain text and reads plain text only.
    pub fn plain() -> Self {
        Codec::default()
    }

    /// Adds a 32-byte AES-256-GCM key that values can be read with.
    pub fn with_key(mut self, id: impl Into<String>, key: &[u8]) -> Result<Self, EnvelopeError> {
        let id = id.into();
        if key.len() != 32 {
            return Err(EnvelopeError::KeyLength(id));
        }
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        self.keys.insert(id, cipher);
        Ok(self)
    }

    /// Encrypts new values with the key `id` (added with [`Codec::with_key`]).
    pub fn writing_with(mut self, id: impl Into<String>) -> Result<Self, EnvelopeError> {
        let id = id.into();
        if !self.keys.contains_key(&id) {
            return Err(EnvelopeError::UnknownKey(id));
        }
        self.write_key = Some(id);
        Ok(self)
    }

    /// Wraps the JSON of an object stored under `key`.
    pub fn seal(&self, key: &str, json: &[u8]) -> Result<Bytes, EnvelopeError> {
        let (encryption, payload) = match &self.write_key {
            None => (None, Bytes::copy_from_slice(json)),
            Some(id) => {
                let cipher = &self.keys[id];
                let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
                let payload = cipher
                    .encrypt(
                        &nonce,
                        Payload {
                            msg: json,
                            aad: key.as_bytes(),
                        },
                    )
                    .map_err(|_| EnvelopeError::Encrypt(id.clone()))?;
                let encryption = Encryption {
                    algorithm: Algorithm::Aes256Gcm as i32,
                    key_id: id.clone(),
                    nonce: Bytes::copy_from_slice(&nonce),
                };
                (Some(encryption), Bytes::from(payload))
            }
        };
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            encoding: Encoding::Json as i32,
            compression: Compression::None as i32,
            encryption,
            payload,
        };
        let mut out = Vec::with_capacity(MAGIC.len() + envelope.encoded_len());
        out.extend_from_slice(MAGIC);
        envelope
            .encode(&mut out)
            .expect("a Vec grows to fit any message");
        Ok(Bytes::from(out))
    }

    /// Unwraps a value stored under `key`, returning the object's JSON.
    pub fn open(&self, key: &str, stored: &[u8]) -> Result<Bytes, EnvelopeError> {
        let body = stored
            .strip_prefix(MAGIC)
            .ok_or(EnvelopeError::NotAnEnvelope)?;
        let envelope = Envelope::decode(body).map_err(EnvelopeError::Decode)?;
        if envelope.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Unsupported(format!(
                "version {}",
                envelope.version
            )));
        }
        if envelope.encoding != Encoding::Json as i32 {
            return Err(EnvelopeError::Unsupported(format!(
                "encoding {}",
                envelope.encoding
            )));
        }
        if envelope.compression != Compression::None as i32 {
            return Err(EnvelopeError::Unsupported(format!(
                "compression {}",
                envelope.compression
            )));
        }
        match envelope.encryption {
            None => Ok(envelope.payload),
            Some(encryption) => self.decrypt(key, &encryption, &envelope.payload),
        }
    }

    fn decrypt(
        &self,
        key: &str,
        encryption: &Encryption,
        payload: &[u8],
    ) -> Result<Bytes, EnvelopeError> {
        if encryption.algorithm != Algorithm::Aes256Gcm as i32 {
            return Err(EnvelopeError::Unsupported(format!(
                "encryption algorithm {}",
                encryption.algorithm
            )));
        }
        let id = &encryption.key_id;
        let cipher = self
            .keys
            .get(id)
            .ok_or_else(|| EnvelopeError::UnknownKey(id.clone()))?;
        if encryption.nonce.len() != 12 {
            return Err(EnvelopeError::Decrypt(id.clone()));
        }
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&encryption.nonce),
                Payload {
                    msg: payload,
                    aad: key.as_bytes(),
                },
            )
            .map_err(|_| EnvelopeError::Decrypt(id.clone()))?;
        Ok(Bytes::from(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &[u8] = br#"{"kind":"ClusterDeployment","spec":{"template":"aws-1-30"}}"#;

    fn encrypting() -> Codec {
        Codec::plain()
            .with_key("k1", &[7; 32])
            .unwrap()
            .writing_with("k1")
            .unwrap()
    }

    #[test]
    fn plain_values_round_trip_and_keep_the_json_readable() {
        let codec = Codec::plain();
        let stored = codec.seal("/r/a", JSON).unwrap();
        assert!(stored.starts_with(MAGIC));
        assert!(stored.windows(JSON.len()).any(|w| w == JSON));
        assert_eq!(codec.open("/r/a", &stored).unwrap(), JSON);
    }

    #[test]
    fn encrypted_values_round_trip_and_hide_the_json() {
        let codec = encrypting();
        let stored = codec.seal("/r/a", JSON).unwrap();
        assert!(!stored.windows(8).any(|w| w == &JSON[..8]));
        assert_eq!(codec.open("/r/a", &stored).unwrap(), JSON);
    }

    #[test]
    fn plain_values_stay_readable_after_encryption_is_switched_on() {
        let stored = Codec::plain().seal("/r/a", JSON).unwrap();
        assert_eq!(encrypting().open("/r/a", &stored).unwrap(), JSON);
    }

    #[test]
    fn a_value_moved_to_another_key_does_not_decrypt() {
        let codec = encrypting();
        let stored = codec.seal("/r/a", JSON).unwrap();
        assert!(matches!(
            codec.open("/r/b", &stored),
            Err(EnvelopeError::Decrypt(id)) if id == "k1"
        ));
    }

    #[test]
    fn a_value_under_an_unconfigured_key_names_the_key() {
        let stored = encrypting().seal("/r/a", JSON).unwrap();
        assert!(matches!(
            Codec::plain().open("/r/a", &stored),
            Err(EnvelopeError::UnknownKey(id)) if id == "k1"
        ));
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(matches!(
            Codec::plain().open("/r/a", JSON),
            Err(EnvelopeError::NotAnEnvelope)
        ));
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&[0xff, 0xff, 0xff]);
        assert!(matches!(
            Codec::plain().open("/r/a", &bad),
            Err(EnvelopeError::Decode(_))
        ));
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(matches!(
            Codec::plain().with_key("short", &[1; 16]),
            Err(EnvelopeError::KeyLength(_))
        ));
    }
}
