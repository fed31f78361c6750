//! The versioned envelope around every stored object: encoding, compression and encryption
//! are recorded per value, so that encryption at rest can be switched on (or keys rotated)
//! without a migration — values written before keep being readable.
//!
//! A stored value is the magic `fleet\0` followed by a protobuf [`Envelope`]. With AES-GCM the
//! storage key is the associated data, so a value copied under another key does not decrypt
//! (as kube-apiserver's `k8s:enc:aesgcm:v1` transformer does).
//!
//! A [`Codec`] is the list of providers of one resource, as kube-apiserver's
//! `EncryptionConfiguration` gives them: the first writes (with its first key), every one
//! reads, and a value read by any other is *stale* — rewriting it moves it to the first.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::aes::Aes192;
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce};
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
    /// AES in Galois/Counter mode with the key's size (128, 192 or 256 bits), 96-bit random
    /// nonce, the storage key as associated data.
    AesGcm = 1,
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
    /// The value is plain text and no `identity` provider reads plain text.
    #[error("stored value is not encrypted and no identity provider is configured to read it")]
    Unencrypted,
    /// Encryption failed.
    #[error("encrypting with key {0:?} failed")]
    Encrypt(String),
    /// A configured key is not 16, 24 or 32 bytes.
    #[error("encryption key {0:?} must be 16, 24 or 32 bytes")]
    KeyLength(String),
    /// A codec needs at least one provider, and an `aesgcm` provider a key.
    #[error("a codec needs at least one provider, and an aesgcm provider at least one key")]
    NoProvider,
}

/// AES-GCM with a 96-bit nonce and a 192-bit key.
type Aes192Gcm = AesGcm<Aes192, U12>;

/// An AES-GCM cipher of the size its key has.
#[derive(Clone)]
enum AesCipher {
    Aes128(Aes128Gcm),
    Aes192(Aes192Gcm),
    Aes256(Aes256Gcm),
}

impl AesCipher {
    fn new(secret: &[u8]) -> Option<Self> {
        match secret.len() {
            16 => Aes128Gcm::new_from_slice(secret)
                .ok()
                .map(AesCipher::Aes128),
            24 => Aes192Gcm::new_from_slice(secret)
                .ok()
                .map(AesCipher::Aes192),
            32 => Aes256Gcm::new_from_slice(secret)
                .ok()
                .map(AesCipher::Aes256),
            _ => None,
        }
    }

    fn encrypt(&self, nonce: &Nonce<U12>, payload: Payload<'_, '_>) -> Option<Vec<u8>> {
        match self {
            AesCipher::Aes128(c) => c.encrypt(nonce, payload).ok(),
            AesCipher::Aes192(c) => c.encrypt(nonce, payload).ok(),
            AesCipher::Aes256(c) => c.encrypt(nonce, payload).ok(),
        }
    }

    fn decrypt(&self, nonce: &Nonce<U12>, payload: Payload<'_, '_>) -> Option<Vec<u8>> {
        match self {
            AesCipher::Aes128(c) => c.decrypt(nonce, payload).ok(),
            AesCipher::Aes192(c) => c.decrypt(nonce, payload).ok(),
            AesCipher::Aes256(c) => c.decrypt(nonce, payload).ok(),
        }
    }
}

/// A named AES-GCM key.
#[derive(Clone)]
struct AesKey {
    name: String,
    cipher: AesCipher,
}

/// One provider of a resource's values (an entry of `EncryptionConfiguration`'s
/// `providers`).
#[derive(Clone)]
pub enum Provider {
    /// Plain text: writes values unencrypted, reads unencrypted values.
    Identity,
    /// AES-GCM: writes with its first key, reads with the key a value names.
    AesGcm(Vec<AesKeyHandle>),
}

/// A key of an [`Provider::AesGcm`] provider (its secret stays inside).
#[derive(Clone)]
pub struct AesKeyHandle(AesKey);

impl fmt::Debug for AesKeyHandle {
    /// The key's name only, never its secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AesKey").field(&self.0.name).finish()
    }
}

impl Provider {
    /// An `aesgcm` provider with `keys` (name, secret of 16, 24 or 32 bytes), the first of
    /// which encrypts.
    pub fn aes_gcm<S: AsRef<[u8]>>(keys: &[(String, S)]) -> Result<Provider, EnvelopeError> {
        let keys = keys
            .iter()
            .map(|(name, secret)| {
                let cipher = AesCipher::new(secret.as_ref())
                    .ok_or_else(|| EnvelopeError::KeyLength(name.clone()))?;
                Ok(AesKeyHandle(AesKey {
                    name: name.clone(),
                    cipher,
                }))
            })
            .collect::<Result<Vec<_>, EnvelopeError>>()?;
        if keys.is_empty() {
            return Err(EnvelopeError::NoProvider);
        }
        Ok(Provider::AesGcm(keys))
    }

    fn describe(&self) -> String {
        match self {
            Provider::Identity => "identity".into(),
            Provider::AesGcm(keys) => {
                let names: Vec<&str> = keys.iter().map(|k| k.0.name.as_str()).collect();
                format!("aesgcm{names:?}")
            }
        }
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// What [`Codec::open_checked`] read.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The object's JSON.
    pub json: Bytes,
    /// Read by another provider or key than the one that writes now: a rewrite moves it.
    pub stale: bool,
}

/// Seals objects into envelopes and opens them with the providers of one resource.
#[derive(Clone)]
pub struct Codec {
    providers: Arc<[Provider]>,
}

impl Default for Codec {
    fn default() -> Self {
        Codec::plain()
    }
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.providers.iter()).finish()
    }
}

impl Codec {
    /// A codec that writes and reads plain text only (the `identity` provider).
    pub fn plain() -> Self {
        Codec {
            providers: Arc::from([Provider::Identity]),
        }
    }

    /// A codec with `providers`, the first of which writes.
    pub fn new(providers: Vec<Provider>) -> Result<Self, EnvelopeError> {
        let keyless = |p: &Provider| matches!(p, Provider::AesGcm(keys) if keys.is_empty());
        if providers.is_empty() || providers.iter().any(keyless) {
            return Err(EnvelopeError::NoProvider);
        }
        Ok(Codec {
            providers: Arc::from(providers),
        })
    }

    /// Whether new values are encrypted.
    pub fn encrypts(&self) -> bool {
        matches!(self.providers[0], Provider::AesGcm(_))
    }

    /// Wraps the JSON of an object stored under `key`.
    pub fn seal(&self, key: &str, json: &[u8]) -> Result<Bytes, EnvelopeError> {
        let (encryption, payload) = match &self.providers[0] {
            Provider::Identity => (None, Bytes::copy_from_slice(json)),
            Provider::AesGcm(keys) => {
                let writer = &keys[0].0;
                let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
                let payload = writer
                    .cipher
                    .encrypt(
                        &nonce,
                        Payload {
                            msg: json,
                            aad: key.as_bytes(),
                        },
                    )
                    .ok_or_else(|| EnvelopeError::Encrypt(writer.name.clone()))?;
                let encryption = Encryption {
                    algorithm: Algorithm::AesGcm as i32,
                    key_id: writer.name.clone(),
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
        self.open_checked(key, stored).map(|opened| opened.json)
    }

    /// Unwraps a value stored under `key`: the object's JSON, and whether it is stale.
    pub fn open_checked(&self, key: &str, stored: &[u8]) -> Result<Opened, EnvelopeError> {
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
            None => {
                let reader = self
                    .providers
                    .iter()
                    .position(|p| matches!(p, Provider::Identity))
                    .ok_or(EnvelopeError::Unencrypted)?;
                Ok(Opened {
                    json: envelope.payload,
                    stale: reader != 0,
                })
            }
            Some(encryption) => self.decrypt(key, &encryption, &envelope.payload),
        }
    }

    /// Tries every key named as the value says, provider by provider (upstream tries every
    /// provider whose prefix matches and goes on past failures).
    fn decrypt(
        &self,
        key: &str,
        encryption: &Encryption,
        payload: &[u8],
    ) -> Result<Opened, EnvelopeError> {
        if encryption.algorithm != Algorithm::AesGcm as i32 {
            return Err(EnvelopeError::Unsupported(format!(
                "encryption algorithm {}",
                encryption.algorithm
            )));
        }
        let id = &encryption.key_id;
        if encryption.nonce.len() != 12 {
            return Err(EnvelopeError::Decrypt(id.clone()));
        }
        let nonce = Nonce::<U12>::from_slice(&encryption.nonce);
        let mut named = false;
        for (p, provider) in self.providers.iter().enumerate() {
            let Provider::AesGcm(keys) = provider else {
                continue;
            };
            for (k, AesKeyHandle(aes)) in keys.iter().enumerate() {
                if aes.name != *id {
                    continue;
                }
                named = true;
                let payload = Payload {
                    msg: payload,
                    aad: key.as_bytes(),
                };
                if let Some(plain) = aes.cipher.decrypt(nonce, payload) {
                    return Ok(Opened {
                        json: Bytes::from(plain),
                        stale: p != 0 || k != 0,
                    });
                }
            }
        }
        Err(if named {
            EnvelopeError::Decrypt(id.clone())
        } else {
            EnvelopeError::UnknownKey(id.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &[u8] = br#"{"kind":"ClusterDeployment","spec":{"template":"aws-1-30"}}"#;

    fn aes(name: &str, secret: &[u8]) -> Provider {
        Provider::aes_gcm(&[(name.to_owned(), secret)]).unwrap()
    }

    fn encrypting() -> Codec {
        Codec::new(vec![aes("k1", &[7; 32]), Provider::Identity]).unwrap()
    }

    #[test]
    fn plain_values_round_trip_and_keep_the_json_readable() {
        let codec = Codec::plain();
        assert!(!codec.encrypts());
        let stored = codec.seal("/r/a", JSON).unwrap();
        assert!(stored.starts_with(MAGIC));
        assert!(stored.windows(JSON.len()).any(|w| w == JSON));
        assert_eq!(codec.open("/r/a", &stored).unwrap(), JSON);
    }

    #[test]
    fn encrypted_values_round_trip_and_hide_the_json_with_every_key_size() {
        for size in [16, 24, 32] {
            let codec = Codec::new(vec![aes("k", &vec![9; size])]).unwrap();
            assert!(codec.encrypts());
            let stored = codec.seal("/r/a", JSON).unwrap();
            assert!(!stored.windows(8).any(|w| w == &JSON[..8]), "{size}");
            let opened = codec.open_checked("/r/a", &stored).unwrap();
            assert_eq!(opened.json, JSON, "{size}");
            assert!(!opened.stale, "{size}");
        }
    }

    #[test]
    fn plain_values_are_read_by_an_identity_provider_only() {
        let stored = Codec::plain().seal("/r/a", JSON).unwrap();
        let opened = encrypting().open_checked("/r/a", &stored).unwrap();
        assert_eq!(opened.json, JSON);
        assert!(opened.stale, "read by the second provider");
        let only_aes = Codec::new(vec![aes("k1", &[7; 32])]).unwrap();
        assert!(matches!(
            only_aes.open("/r/a", &stored),
            Err(EnvelopeError::Unencrypted)
        ));
    }

    #[test]
    fn keys_rotate_by_order_and_old_values_are_stale() {
        let old = Codec::new(vec![aes("k1", &[1; 32])]).unwrap();
        let stored = old.seal("/r/a", JSON).unwrap();
        let both = Provider::aes_gcm(&[
            ("k2".to_owned(), vec![2; 16]),
            ("k1".to_owned(), vec![1; 32]),
        ])
        .unwrap();
        let rotated = Codec::new(vec![both]).unwrap();
        let opened = rotated.open_checked("/r/a", &stored).unwrap();
        assert_eq!(opened.json, JSON);
        assert!(opened.stale);
        let rewritten = rotated.seal("/r/a", JSON).unwrap();
        assert!(!rotated.open_checked("/r/a", &rewritten).unwrap().stale);
        assert!(matches!(
            old.open("/r/a", &rewritten),
            Err(EnvelopeError::UnknownKey(id)) if id == "k2"
        ));
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
    fn a_key_of_the_same_name_with_another_secret_does_not_decrypt() {
        let stored = encrypting().seal("/r/a", JSON).unwrap();
        let other = Codec::new(vec![aes("k1", &[8; 32])]).unwrap();
        assert!(matches!(
            other.open("/r/a", &stored),
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
    fn keys_must_be_16_24_or_32_bytes_and_codecs_need_a_provider() {
        assert!(matches!(
            Provider::aes_gcm(&[("short".to_owned(), [1; 8])]),
            Err(EnvelopeError::KeyLength(name)) if name == "short"
        ));
        assert!(matches!(
            Codec::new(Vec::new()),
            Err(EnvelopeError::NoProvider)
        ));
        assert!(matches!(
            Codec::new(vec![Provider::AesGcm(Vec::new())]),
            Err(EnvelopeError::NoProvider)
        ));
    }
}
