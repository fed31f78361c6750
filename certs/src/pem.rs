//! PEM: reading certificates and keys for rustls configs, and writing certificates.

use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// Every `CERTIFICATE` block of `pem`, in order; an error when there is none.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::DecodePem)?;
    if certificates.is_empty() {
        return Err(Error::NoCertificate);
    }
    Ok(certificates)
}

/// The first private key of `pem` (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn private_key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(Error::DecodePem)
}

/// `der` as a PEM block with `label`, lines of 64 characters, ending in a newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    // Base64 output is ASCII, so every 64-byte chunk is valid UTF-8.
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_certificates_read_back_in_order() {
        let first: Vec<u8> = (0..=200).collect();
        let second = vec![9u8; 5];
        let pem = encode("CERTIFICATE", &first) + &encode("CERTIFICATE", &second);
        assert!(pem.lines().all(|line| line.len() <= 64));
        let read = certificates_from_pem(pem.as_bytes()).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].as_ref(), &first[..]);
        assert_eq!(read[1].as_ref(), &second[..]);
    }

    #[test]
    fn pem_without_certificates_is_an_error() {
        let key_only = encode("PRIVATE KEY", &[1, 2, 3]);
        assert!(matches!(
            certificates_from_pem(key_only.as_bytes()),
            Err(Error::NoCertificate)
        ));
        assert!(matches!(
            certificates_from_pem(b""),
            Err(Error::NoCertificate)
        ));
    }

    #[test]
    fn private_keys_are_found_after_certificates() {
        let pem = encode("CERTIFICATE", &[1]) + &encode("EC PRIVATE KEY", &[4, 5]);
        let key = private_key_from_pem(pem.as_bytes()).unwrap();
        assert!(matches!(key, PrivateKeyDer::Sec1(_)));
        assert_eq!(key.secret_der(), &[4, 5]);
        assert!(private_key_from_pem(encode("CERTIFICATE", &[1]).as_bytes()).is_err());
    }
}
