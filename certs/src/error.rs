//! The errors of this crate, one variant per step that can fail.

use std::path::PathBuf;

/// Why creating, loading, issuing or writing certificates failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Generating a private key failed.
    #[error("generating a private key")]
    GenerateKey(#[source] rcgen::Error),

    /// Signing a certificate failed.
    #[error("signing a certificate")]
    SignCertificate(#[source] rcgen::Error),

    /// A private key is not one ring can sign with (PKCS#8, PKCS#1 RSA or SEC1 EC; P-256,
    /// P-384, Ed25519 or RSA).
    #[error("parsing the private key")]
    ParseKey(#[source] rcgen::Error),

    /// A PEM document is malformed.
    #[error("decoding PEM")]
    DecodePem(#[source] rustls_pki_types::pem::Error),

    /// A PEM document holds no `CERTIFICATE` block.
    #[error("no certificate in the PEM document")]
    NoCertificate,

    /// A certificate is not valid X.509 DER.
    #[error("parsing the certificate")]
    ParseCertificate(#[source] x509_parser::error::X509Error),

    /// DER that this crate takes apart is not what it expects.
    #[error("decoding DER: {what}")]
    DecodeDer {
        /// What was wrong.
        what: &'static str,
    },

    /// The certificate given as a CA has no BasicConstraints extension saying it is one.
    #[error("the certificate is not a CA certificate")]
    NotCa,

    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,

    /// A serving host is neither an IP address nor a DNS name.
    #[error("{host:?} is neither an IP address nor a DNS name")]
    InvalidHost {
        /// The host as given.
        host: String,
    },

    /// A client certificate was asked for with an empty user name.
    #[error("a client certificate needs a non-empty user name")]
    EmptyUser,

    /// A client certificate's subject has no (or an empty) common name, so it names no user.
    #[error("the certificate's subject has no common name")]
    MissingCommonName,

    /// A subject attribute is not a string this crate can read.
    #[error("decoding the subject's {attribute} attribute")]
    DecodeAttribute {
        /// The attribute's short name (`CN`, `O`).
        attribute: &'static str,
        /// Why it could not be read.
        #[source]
        source: x509_parser::error::X509Error,
    },

    /// Reading a file failed.
    #[error("reading {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file was read but its content could not be used.
    #[error("loading {path}")]
    LoadFile {
        /// The file.
        path: PathBuf,
        /// What was wrong with its content.
        #[source]
        source: Box<Error>,
    },

    /// Writing (or syncing, or renaming into place) a file failed.
    #[error("writing {path}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Creating a directory failed.
    #[error("creating directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// One file of a certificate/key pair exists without the other; rather than overwrite it,
    /// the operator must remove it or supply the other half.
    #[error("{present} exists but {missing} does not; remove the first or supply the second")]
    IncompletePair {
        /// The file that exists.
        present: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
