//! Certificates: the local CA, serving and client certificates, kubeconfig files.
//!
//! `fleet-apiserver up` keeps a CA and the certificates it issues under `<data-dir>/pki`
//! ([`Pki::ensure`]) and writes an admin kubeconfig ([`Kubeconfig`]); the API server reads
//! the user and groups of a verified client certificate ([`identity_from_certificate`]) and
//! builds its rustls configs from PEM ([`certificates_from_pem`], [`private_key_from_pem`]).
//!
//! # Layout
//! - [`ca`]: the CA ([`Ca`]): generate or load it, issue serving and client certificates.
//! - [`pki`]: the files under `<data-dir>/pki`, created once and reused.
//! - [`kubeconfig`]: kubeconfig YAML, written atomically.
//! - [`identity`]: user and groups from a client certificate, as kube-apiserver reads them.
//! - [`pem`]: PEM in and out.
//! - [`error`]: the crate's error.
//! - `der` and `file` (private): exact names rcgen cannot write, atomic file writes.

pub mod ca;
mod der;
pub mod error;
mod file;
pub mod identity;
pub mod kubeconfig;
pub mod pem;
pub mod pki;

pub use ca::{Ca, CertifiedKey};
pub use error::{Error, Result};
pub use identity::identity_from_certificate;
pub use kubeconfig::Kubeconfig;
pub use pem::{certificates_from_pem, private_key_from_pem};
pub use pki::{Pki, PkiFiles, ADMIN_GROUP, ADMIN_USER};
