//! The cluster CA: generating or loading it, and issuing serving and client certificates.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData as _, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

use crate::der::{self, COMMON_NAME, ORGANIZATION};
use crate::error::{Error, Result};
use crate::pem;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a generated CA is valid.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * DAY.as_secs());
/// How long serving and client certificates are valid.
pub(crate) const LEAF_VALIDITY: Duration = Duration::from_secs(365 * DAY.as_secs());
/// How far before "now" certificates start to be valid, so that a peer whose clock is a
/// little behind accepts a certificate issued a moment ago (client-go backdates an hour too).
const BACKDATE: Duration = Duration::from_secs(60 * 60);
/// Names every serving certificate has, so local clients can always reach the server.
const LOCAL_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// An issued certificate and its private key, both PEM (the key PKCS#8).
#[derive(Clone, PartialEq, Eq)]
pub struct CertifiedKey {
    /// The certificate.
    pub cert_pem: String,
    /// The private key.
    pub key_pem: String,
}

impl fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertifiedKey")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[elided]")
            .finish()
    }
}

/// A certificate authority that issues serving and client certificates.
pub struct Ca {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    /// The CA certificate's subject exactly as encoded: what issued certificates name as
    /// their issuer (rcgen would re-encode it; see [`der`]).
    subject: Vec<u8>,
    /// Whether issued certificates carry an AuthorityKeyIdentifier: only when the CA has a
    /// SubjectKeyIdentifier for it to point at.
    authority_key_identifier: bool,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A new self-signed CA: ECDSA P-256, valid 10 years, BasicConstraints CA and KeyUsage
    /// keyCertSign, cRLSign and digitalSignature.
    pub fn generate(common_name: &str) -> Result<Ca> {
        let key = KeyPair::generate().map_err(Error::GenerateKey)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, CA_VALIDITY);
        let cert = params.self_signed(&key).map_err(Error::SignCertificate)?;
        Ca::from_pem(&cert.pem(), &key.serialize_pem())
    }

    /// Loads a CA from its certificate (the first in `cert_pem`) and private key (PKCS#8,
    /// PKCS#1 or SEC1), checking that the certificate is a CA and the key is its key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca> {
        let certificates = pem::certificates_from_pem(cert_pem.as_bytes())?;
        let cert_der = certificates
            .into_iter()
            .next()
            .ok_or(Error::NoCertificate)?;
        let cert = der::parse_certificate(&cert_der)?;
        if !cert.is_ca() {
            return Err(Error::NotCa);
        }
        let key = key_pair(key_pem, &cert)?;
        let mut params = CertificateParams::default();
        let key_id = subject_key_identifier(&cert);
        let authority_key_identifier = key_id.is_some();
        if let Some(id) = key_id {
            params.key_identifier_method = KeyIdMethod::PreSpecified(id);
        }
        let subject = cert.subject().as_raw().to_vec();
        Ok(Ca {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            cert_der: cert_der.clone(),
            subject,
            authority_key_identifier,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from PEM files, as [`Ca::from_pem`].
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Ca> {
        let cert_pem = read_to_string(cert_path)?;
        let key_pem = read_to_string(key_path)?;
        Ca::from_pem(&cert_pem, &key_pem).map_err(|source| Error::LoadFile {
            path: cert_path.to_owned(),
            source: Box::new(source),
        })
    }

    /// The CA certificate, PEM, as generated or given.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key, PEM, as generated or given.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// A serving certificate. Its SANs are localhost, 127.0.0.1 and ::1, then `hosts`, each
    /// an IP address if it parses as one and a DNS name otherwise, without duplicates (DNS
    /// names compared ignoring case). Its CN is the first host, or "localhost"; EKU
    /// serverAuth; valid one year.
    pub fn issue_serving(&self, hosts: &[String]) -> Result<CertifiedKey> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = serving_names(hosts)?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let common_name = hosts.first().map_or("localhost", String::as_str);
        self.issue(params, &der::name(&[(COMMON_NAME, common_name)]))
    }

    /// A client certificate whose subject is one O per group, in order, then CN `user` (the
    /// order Go's `pkix.Name` writes); EKU clientAuth; valid one year.
    pub fn issue_client(&self, user: &str, groups: &[String]) -> Result<CertifiedKey> {
        if user.is_empty() {
            return Err(Error::EmptyUser);
        }
        let mut params = CertificateParams::default();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let subject: Vec<(&[u8], &str)> = groups
            .iter()
            .map(|group| (ORGANIZATION, group.as_str()))
            .chain([(COMMON_NAME, user)])
            .collect();
        self.issue(params, &der::name(&subject))
    }

    /// Whether this CA's key signed `cert` under this CA's subject.
    pub(crate) fn issued(&self, cert: &X509Certificate<'_>) -> bool {
        let Ok(ca) = der::parse_certificate(&self.cert_der) else {
            return false;
        };
        cert.issuer().as_raw() == self.subject
            && cert.verify_signature(Some(ca.public_key())).is_ok()
    }

    /// Signs `params` for a new key, then puts in this CA's exact subject as issuer and
    /// `subject` as subject (see [`der`]).
    fn issue(&self, mut params: CertificateParams, subject: &[u8]) -> Result<CertifiedKey> {
        // Replaced below; not empty, or rcgen would mark the SAN extension critical.
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "placeholder");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = self.authority_key_identifier;
        set_validity(&mut params, LEAF_VALIDITY);
        let key = KeyPair::generate().map_err(Error::GenerateKey)?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(Error::SignCertificate)?;
        let cert = der::rewrite_names(cert.der(), &self.subject, subject, self.issuer.key())?;
        Ok(CertifiedKey {
            cert_pem: pem::encode("CERTIFICATE", &cert),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The private key in `key_pem`, which must be the key of `cert`. ring reads PKCS#8 only,
/// so a PKCS#1 or SEC1 key is wrapped in PKCS#8 with the certificate's key algorithm.
pub(crate) fn key_pair(key_pem: &str, cert: &X509Certificate<'_>) -> Result<KeyPair> {
    let spki = cert.public_key();
    let key = match pem::private_key_from_pem(key_pem.as_bytes())? {
        key @ PrivateKeyDer::Pkcs8(_) => key,
        other => {
            let algorithm = der::spki_algorithm(spki.raw)?;
            PrivateKeyDer::Pkcs8(der::pkcs8(algorithm, other.secret_der()).into())
        }
    };
    let key = KeyPair::try_from(&key).map_err(Error::ParseKey)?;
    if key.der_bytes() != spki.subject_public_key.data.as_ref() {
        return Err(Error::KeyMismatch);
    }
    Ok(key)
}

/// The certificate's SubjectKeyIdentifier, if it has one.
fn subject_key_identifier(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
}

/// The SANs of a serving certificate for `hosts`; see [`Ca::issue_serving`].
fn serving_names(hosts: &[String]) -> Result<Vec<SanType>> {
    let mut names: Vec<SanType> = Vec::new();
    for host in LOCAL_HOSTS
        .into_iter()
        .chain(hosts.iter().map(String::as_str))
    {
        let name = serving_name(host)?;
        if !names.iter().any(|known| same_name(known, &name)) {
            names.push(name);
        }
    }
    Ok(names)
}

fn serving_name(host: &str) -> Result<SanType> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let invalid = || Error::InvalidHost {
        host: host.to_owned(),
    };
    // Letters, digits, '-', '.', and '_' and '*' for names some resolvers and wildcards use.
    let dns_like = |b: u8| b.is_ascii_alphanumeric() || b"-._*".contains(&b);
    if host.is_empty() || !host.bytes().all(dns_like) {
        return Err(invalid());
    }
    let name = host.try_into().map_err(|_| invalid())?;
    Ok(SanType::DnsName(name))
}

fn same_name(a: &SanType, b: &SanType) -> bool {
    match (a, b) {
        (SanType::IpAddress(a), SanType::IpAddress(b)) => a == b,
        (SanType::DnsName(a), SanType::DnsName(b)) => a.as_str().eq_ignore_ascii_case(b.as_str()),
        _ => false,
    }
}

/// Valid from [`BACKDATE`] ago until `lifetime` from now.
fn set_validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = SystemTime::now();
    params.not_before = now.checked_sub(BACKDATE).unwrap_or(now).into();
    params.not_after = (now + lifetime).into();
}

fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use rustls::client::danger::ServerCertVerifier as _;
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::server::WebPkiClientVerifier;
    use rustls::RootCertStore;

    use super::*;

    fn roots(ca_pem: &str) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        for cert in pem::certificates_from_pem(ca_pem.as_bytes()).unwrap() {
            roots.add(cert).unwrap();
        }
        Arc::new(roots)
    }

    fn leaf(cert_pem: &str) -> CertificateDer<'static> {
        pem::certificates_from_pem(cert_pem.as_bytes()).unwrap()[0].clone()
    }

    /// Verifies `cert_pem` as a server certificate for `name` with rustls' webpki verifier.
    pub(crate) fn verify_server(ca_pem: &str, cert_pem: &str, name: &str) -> bool {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(roots(ca_pem), provider)
            .build()
            .unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        verifier
            .verify_server_cert(&leaf(cert_pem), &[], &name, &[], UnixTime::now())
            .is_ok()
    }

    fn verify_client(ca_pem: &str, cert_pem: &str) -> bool {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca_pem), provider)
            .build()
            .unwrap();
        verifier
            .verify_client_cert(&leaf(cert_pem), &[], UnixTime::now())
            .is_ok()
    }

    fn hosts(hosts: &[&str]) -> Vec<String> {
        hosts.iter().map(|h| h.to_string()).collect()
    }

    fn parsed<T>(cert_pem: &str, f: impl FnOnce(&X509Certificate<'_>) -> T) -> T {
        let der = leaf(cert_pem);
        f(&der::parse_certificate(&der).unwrap())
    }

    fn san_strings(cert: &X509Certificate<'_>) -> Vec<String> {
        use x509_parser::extensions::GeneralName;
        let sans = cert.subject_alternative_name().unwrap().unwrap();
        sans.value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => dns.to_string(),
                GeneralName::IPAddress(ip) => match ip.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string(),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
                },
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect()
    }

    #[test]
    fn serving_certificate_verifies_for_its_names_and_no_others() {
        let ca = Ca::generate("test-ca").unwrap();
        let issued = ca
            .issue_serving(&hosts(&["fleet.example.com", "10.1.2.3"]))
            .unwrap();
        for name in [
            "localhost",
            "127.0.0.1",
            "::1",
            "fleet.example.com",
            "10.1.2.3",
        ] {
            assert!(
                verify_server(&ca.cert_pem, &issued.cert_pem, name),
                "{name}"
            );
        }
        for name in ["other.example.com", "10.9.9.9", "::2"] {
            assert!(
                !verify_server(&ca.cert_pem, &issued.cert_pem, name),
                "{name}"
            );
        }
        let other_ca = Ca::generate("other").unwrap();
        assert!(!verify_server(
            &other_ca.cert_pem,
            &issued.cert_pem,
            "localhost"
        ));
    }

    #[test]
    fn serving_names_are_deduplicated_and_the_first_host_is_the_common_name() {
        let ca = Ca::generate("test-ca").unwrap();
        let issued = ca
            .issue_serving(&hosts(&[
                "API.example",
                "::1",
                "api.EXAMPLE",
                "10.0.0.1",
                "0:0:0:0:0:0:0:1",
            ]))
            .unwrap();
        parsed(&issued.cert_pem, |cert| {
            assert_eq!(
                san_strings(cert),
                ["localhost", "127.0.0.1", "::1", "API.example", "10.0.0.1"]
            );
            let cn = cert.subject().iter_common_name().next().unwrap();
            assert_eq!(cn.as_str().unwrap(), "API.example");
            assert!(ca.issued(cert));
            assert!(!cert.subject_alternative_name().unwrap().unwrap().critical);
            let validity = cert.validity();
            let lifetime = validity.not_after.timestamp() - validity.not_before.timestamp();
            let expected = (LEAF_VALIDITY + BACKDATE).as_secs() as i64;
            assert!((lifetime - expected).abs() <= 2, "{lifetime}");
        });
    }

    #[test]
    fn serving_certificate_without_hosts_is_for_localhost() {
        let ca = Ca::generate("test-ca").unwrap();
        let issued = ca.issue_serving(&[]).unwrap();
        parsed(&issued.cert_pem, |cert| {
            let cn = cert.subject().iter_common_name().next().unwrap();
            assert_eq!(cn.as_str().unwrap(), "localhost");
            assert_eq!(san_strings(cert), LOCAL_HOSTS);
        });
    }

    #[test]
    fn hosts_that_are_not_names_are_rejected() {
        let ca = Ca::generate("test-ca").unwrap();
        for host in ["", "has space", "ünicode.example", "a/b", "[::1]"] {
            let err = ca.issue_serving(&hosts(&[host])).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidHost { host: h } if h == host),
                "{err}"
            );
        }
    }

    #[test]
    fn client_certificate_verifies_as_a_client_and_not_as_a_server() {
        let ca = Ca::generate("test-ca").unwrap();
        let groups = hosts(&["system:masters", "b", "a"]);
        let client = ca.issue_client("jane@example.com", &groups).unwrap();
        assert!(verify_client(&ca.cert_pem, &client.cert_pem));
        assert!(!verify_server(&ca.cert_pem, &client.cert_pem, "localhost"));
        let serving = ca.issue_serving(&[]).unwrap();
        assert!(!verify_client(&ca.cert_pem, &serving.cert_pem));

        let der = leaf(&client.cert_pem);
        let (user, read_groups) = crate::identity_from_certificate(&der).unwrap();
        assert_eq!(user, "jane@example.com");
        assert_eq!(read_groups, groups);
    }

    #[test]
    fn client_certificate_needs_a_user() {
        let ca = Ca::generate("test-ca").unwrap();
        assert!(matches!(ca.issue_client("", &[]), Err(Error::EmptyUser)));
    }

    #[test]
    fn generated_ca_is_a_ca_valid_for_ten_years() {
        let ca = Ca::generate("fleet test CA").unwrap();
        parsed(&ca.cert_pem, |cert| {
            assert!(cert.is_ca());
            assert_eq!(cert.subject().to_string(), "CN=fleet test CA");
            let usage = cert.key_usage().unwrap().unwrap().value;
            assert!(usage.key_cert_sign() && usage.crl_sign() && usage.digital_signature());
            let validity = cert.validity();
            let lifetime = validity.not_after.timestamp() - validity.not_before.timestamp();
            let expected = (CA_VALIDITY + BACKDATE).as_secs() as i64;
            assert!((lifetime - expected).abs() <= 2, "{lifetime}");
        });
    }

    #[test]
    fn ca_loaded_from_pem_issues_certificates_the_original_verifies() {
        let original = Ca::generate("test-ca").unwrap();
        let loaded = Ca::from_pem(original.cert_pem(), original.key_pem()).unwrap();
        assert_eq!(loaded.cert_pem(), original.cert_pem());
        assert_eq!(loaded.key_pem(), original.key_pem());
        let serving = loaded.issue_serving(&hosts(&["x.example"])).unwrap();
        assert!(verify_server(
            original.cert_pem(),
            &serving.cert_pem,
            "x.example"
        ));
        let client = loaded.issue_client("u", &[]).unwrap();
        assert!(verify_client(original.cert_pem(), &client.cert_pem));
    }

    #[test]
    fn ca_loads_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::generate("test-ca").unwrap();
        let (cert, key) = (dir.path().join("ca.crt"), dir.path().join("ca.key"));
        std::fs::write(&cert, ca.cert_pem()).unwrap();
        std::fs::write(&key, ca.key_pem()).unwrap();
        assert_eq!(Ca::load(&cert, &key).unwrap().cert_pem(), ca.cert_pem());

        std::fs::write(&key, "not a key").unwrap();
        let err = Ca::load(&cert, &key).unwrap_err();
        assert!(
            matches!(&err, Error::LoadFile { path, .. } if *path == cert),
            "{err}"
        );
        let missing = dir.path().join("missing");
        assert!(matches!(
            Ca::load(&missing, &key),
            Err(Error::ReadFile { path, .. }) if path == missing
        ));
    }

    #[test]
    fn ca_with_another_key_or_a_leaf_certificate_is_rejected() {
        let ca = Ca::generate("test-ca").unwrap();
        let other = Ca::generate("other").unwrap();
        assert!(matches!(
            Ca::from_pem(ca.cert_pem(), other.key_pem()),
            Err(Error::KeyMismatch)
        ));
        let serving = ca.issue_serving(&[]).unwrap();
        assert!(matches!(
            Ca::from_pem(&serving.cert_pem, &serving.key_pem),
            Err(Error::NotCa)
        ));
    }

    #[test]
    fn ca_loads_a_sec1_ec_key() {
        let ca = Ca::generate("test-ca").unwrap();
        let pkcs8 = pem::private_key_from_pem(ca.key_pem().as_bytes()).unwrap();
        // PrivateKeyInfo: version, algorithm, OCTET STRING holding the SEC1 ECPrivateKey.
        let info = x509_parser::der_parser::parse_der(pkcs8.secret_der())
            .unwrap()
            .1;
        let sec1 = info.as_sequence().unwrap()[2].as_slice().unwrap();
        let sec1_pem = pem::encode("EC PRIVATE KEY", sec1);

        let loaded = Ca::from_pem(ca.cert_pem(), &sec1_pem).unwrap();
        let serving = loaded.issue_serving(&[]).unwrap();
        assert!(verify_server(ca.cert_pem(), &serving.cert_pem, "localhost"));
    }

    #[test]
    fn ca_whose_subject_repeats_an_attribute_issues_certificates_that_chain() {
        // A CA subject rcgen cannot represent: O=first, O=second, CN=ca.
        let generated = Ca::generate("ca").unwrap();
        let subject = der::name(&[
            (ORGANIZATION, "first"),
            (ORGANIZATION, "second"),
            (COMMON_NAME, "ca"),
        ]);
        let ca_der = der::rewrite_names(
            &generated.cert_der,
            &subject,
            &subject,
            generated.issuer.key(),
        )
        .unwrap();
        let ca = Ca::from_pem(&pem::encode("CERTIFICATE", &ca_der), generated.key_pem()).unwrap();

        let serving = ca.issue_serving(&[]).unwrap();
        assert!(verify_server(ca.cert_pem(), &serving.cert_pem, "localhost"));
        parsed(&serving.cert_pem, |cert| {
            assert_eq!(cert.issuer().as_raw(), &subject[..]);
        });
    }

    #[test]
    fn debug_output_hides_private_keys() {
        let ca = Ca::generate("test-ca").unwrap();
        let issued = ca.issue_client("u", &[]).unwrap();
        assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
        assert!(!format!("{issued:?}").contains("PRIVATE KEY"));
    }
}
