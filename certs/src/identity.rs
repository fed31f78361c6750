//! The user and groups a verified client certificate names, as kube-apiserver reads them.
//!
//! Upstream: `staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go`
//! (`CommonNameUserConversion`) over Go's `crypto/x509/pkix.Name.FillFromRDNSequence`.

use crate::der;
use crate::error::{Error, Result};

/// The identity in a client certificate (DER) that has already been verified: the user is
/// the subject's common name (the last one, as Go keeps), the groups are its organization
/// values in order. An error when the common name is missing or empty.
pub fn identity_from_certificate(der: &[u8]) -> Result<(String, Vec<String>)> {
    let cert = der::parse_certificate(der)?;
    let subject = cert.subject();
    let user = match subject.iter_common_name().last() {
        Some(cn) => cn.as_str().map_err(|source| Error::DecodeAttribute {
            attribute: "CN",
            source,
        })?,
        None => "",
    };
    if user.is_empty() {
        return Err(Error::MissingCommonName);
    }
    let groups = subject
        .iter_organization()
        .map(|o| {
            o.as_str()
                .map(str::to_owned)
                .map_err(|source| Error::DecodeAttribute {
                    attribute: "O",
                    source,
                })
        })
        .collect::<Result<_>>()?;
    Ok((user.to_owned(), groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::{COMMON_NAME, ORGANIZATION};
    use crate::{certificates_from_pem, private_key_from_pem, Ca};

    /// A certificate issued by a fresh CA, its subject replaced by `subject`.
    fn certificate_with_subject(subject: &[(&[u8], &str)]) -> Vec<u8> {
        let ca = Ca::generate("test-ca").unwrap();
        let issued = ca.issue_client("placeholder", &[]).unwrap();
        let der = certificates_from_pem(issued.cert_pem.as_bytes()).unwrap()[0].to_vec();
        let ca_der = certificates_from_pem(ca.cert_pem().as_bytes()).unwrap()[0].to_vec();
        let ca_subject = der::parse_certificate(&ca_der)
            .unwrap()
            .subject()
            .as_raw()
            .to_vec();
        let ca_key =
            crate::ca::key_pair(ca.key_pem(), &der::parse_certificate(&ca_der).unwrap()).unwrap();
        // The key file is well-formed PEM too.
        private_key_from_pem(issued.key_pem.as_bytes()).unwrap();
        der::rewrite_names(&der, &ca_subject, &der::name(subject), &ca_key).unwrap()
    }

    #[test]
    fn groups_keep_their_order_and_the_user_is_the_common_name() {
        let der = certificate_with_subject(&[
            (ORGANIZATION, "system:masters"),
            (COMMON_NAME, "admin"),
            (ORGANIZATION, "zeta"),
            (ORGANIZATION, "alpha"),
        ]);
        let (user, groups) = identity_from_certificate(&der).unwrap();
        assert_eq!(user, "admin");
        assert_eq!(groups, ["system:masters", "zeta", "alpha"]);
    }

    #[test]
    fn the_last_common_name_wins_as_in_go() {
        let der = certificate_with_subject(&[(COMMON_NAME, "first"), (COMMON_NAME, "second")]);
        assert_eq!(identity_from_certificate(&der).unwrap().0, "second");
    }

    #[test]
    fn certificate_without_a_common_name_has_no_identity() {
        let der = certificate_with_subject(&[(ORGANIZATION, "system:masters")]);
        assert!(matches!(
            identity_from_certificate(&der),
            Err(Error::MissingCommonName)
        ));
        let der = certificate_with_subject(&[(COMMON_NAME, "")]);
        assert!(matches!(
            identity_from_certificate(&der),
            Err(Error::MissingCommonName)
        ));
    }

    #[test]
    fn garbage_and_trailing_bytes_are_rejected() {
        assert!(matches!(
            identity_from_certificate(b"not a certificate"),
            Err(Error::ParseCertificate(_))
        ));
        let mut der = certificate_with_subject(&[(COMMON_NAME, "u")]);
        der.push(0);
        assert!(matches!(
            identity_from_certificate(&der),
            Err(Error::ParseCertificate(_))
        ));
    }
}
