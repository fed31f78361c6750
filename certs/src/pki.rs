//! The CA and certificates `fleet-apiserver up` keeps under `<data-dir>/pki/`.

use std::fs::DirBuilder;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::ca::{self, Ca, CertifiedKey};
use crate::der;
use crate::error::{Error, Result};
use crate::file::write_atomic;
use crate::pem;

/// The user of the admin client certificate.
pub const ADMIN_USER: &str = "fleet-admin";
/// The group of the admin client certificate: the one Kubernetes RBAC lets do anything.
pub const ADMIN_GROUP: &str = "system:masters";
/// The common name of a CA [`Pki::ensure`] generates.
pub const CA_COMMON_NAME: &str = "fleet-apiserver-ca";
/// A serving or admin certificate expiring sooner than this is issued again.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

const PRIVATE: u32 = 0o600;
const PUBLIC: u32 = 0o644;

/// The PKI directory of a data directory, `<data-dir>/pki`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pki {
    /// `<data-dir>/pki`.
    pub dir: PathBuf,
}

/// The paths of the files under `<data-dir>/pki`, all PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiFiles {
    /// `ca.crt`: the CA certificate clients trust.
    pub ca_cert: PathBuf,
    /// `ca.key`: the CA private key.
    pub ca_key: PathBuf,
    /// `serving.crt`: the API server's certificate.
    pub serving_cert: PathBuf,
    /// `serving.key`: its private key.
    pub serving_key: PathBuf,
    /// `admin.crt`: the client certificate of [`ADMIN_USER`] in [`ADMIN_GROUP`].
    pub admin_cert: PathBuf,
    /// `admin.key`: its private key.
    pub admin_key: PathBuf,
}

impl Pki {
    /// The PKI directory of `data_dir`; nothing is touched.
    pub fn new(data_dir: &Path) -> Pki {
        Pki {
            dir: data_dir.join("pki"),
        }
    }

    /// The paths of the files in this directory; nothing is touched.
    pub fn files(&self) -> PkiFiles {
        let path = |name: &str| self.dir.join(name);
        PkiFiles {
            ca_cert: path("ca.crt"),
            ca_key: path("ca.key"),
            serving_cert: path("serving.crt"),
            serving_key: path("serving.key"),
            admin_cert: path("admin.crt"),
            admin_key: path("admin.key"),
        }
    }

    /// Makes sure `data_dir/pki` holds a CA (`ca.crt`, `ca.key`), a serving certificate for
    /// `serving_hosts` (`serving.crt`, `serving.key`) and an admin client certificate
    /// (`admin.crt`, `admin.key`; user [`ADMIN_USER`], group [`ADMIN_GROUP`]).
    ///
    /// Missing files are created (directories mode 0700, keys 0600, certificates 0644), each
    /// written atomically. An existing CA is loaded and never rewritten; half of a CA pair is
    /// an error. An existing serving or admin pair is kept unless it cannot serve: then both
    /// files are issued again. That is when one of the pair is missing, the key is not the
    /// certificate's, the certificate is not signed by the CA (the CA was replaced), it
    /// expires within 30 days, or (serving) one of `serving_hosts` is not among its SANs.
    pub fn ensure(data_dir: &Path, serving_hosts: &[String]) -> Result<PkiFiles> {
        let pki = Pki::new(data_dir);
        create_private_dir(&pki.dir)?;
        let files = pki.files();
        let ca = ensure_ca(&files.ca_cert, &files.ca_key)?;
        ensure_leaf(
            &ca,
            (&files.serving_cert, &files.serving_key),
            |cert| serving_hosts.iter().all(|host| has_name(cert, host)),
            || ca.issue_serving(serving_hosts),
        )?;
        ensure_leaf(
            &ca,
            (&files.admin_cert, &files.admin_key),
            |_| true,
            || ca.issue_client(ADMIN_USER, &[ADMIN_GROUP.to_owned()]),
        )?;
        Ok(files)
    }
}

/// Creates `dir` and missing parents with mode 0700 on Unix; an existing one is left as is.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| Error::CreateDir {
        path: dir.to_owned(),
        source,
    })
}

/// Loads the CA at `cert`/`key`, or generates and writes one when neither exists.
fn ensure_ca(cert: &Path, key: &Path) -> Result<Ca> {
    match (read_if_exists(cert)?, read_if_exists(key)?) {
        (Some(cert_pem), Some(key_pem)) => {
            Ca::from_pem(&cert_pem, &key_pem).map_err(|source| Error::LoadFile {
                path: cert.to_owned(),
                source: Box::new(source),
            })
        }
        (None, None) => {
            let ca = Ca::generate(CA_COMMON_NAME)?;
            write_atomic(key, ca.key_pem().as_bytes(), PRIVATE)?;
            write_atomic(cert, ca.cert_pem().as_bytes(), PUBLIC)?;
            Ok(ca)
        }
        (Some(_), None) => Err(Error::IncompletePair {
            present: cert.to_owned(),
            missing: key.to_owned(),
        }),
        (None, Some(_)) => Err(Error::IncompletePair {
            present: key.to_owned(),
            missing: cert.to_owned(),
        }),
    }
}

/// Keeps the pair at `cert`/`key` if it is usable and `fits`, else writes `issue()`'s.
fn ensure_leaf(
    ca: &Ca,
    (cert, key): (&Path, &Path),
    fits: impl Fn(&X509Certificate<'_>) -> bool,
    issue: impl FnOnce() -> Result<CertifiedKey>,
) -> Result<()> {
    if let (Some(cert_pem), Some(key_pem)) = (read_if_exists(cert)?, read_if_exists(key)?) {
        let usable = usable(ca, &cert_pem, &key_pem, fits).map_err(|source| Error::LoadFile {
            path: cert.to_owned(),
            source: Box::new(source),
        })?;
        if usable {
            return Ok(());
        }
    }
    let issued = issue()?;
    // Key first: if the certificate write fails, the next run sees a mismatch and re-issues.
    write_atomic(key, issued.key_pem.as_bytes(), PRIVATE)?;
    write_atomic(cert, issued.cert_pem.as_bytes(), PUBLIC)
}

/// Whether an existing pair can keep serving: see [`Pki::ensure`]. A key that belongs to
/// another certificate is "no"; files that do not parse at all are an error, not overwritten.
fn usable(
    ca: &Ca,
    cert_pem: &str,
    key_pem: &str,
    fits: impl Fn(&X509Certificate<'_>) -> bool,
) -> Result<bool> {
    let der = pem::certificates_from_pem(cert_pem.as_bytes())?;
    let cert = der::parse_certificate(&der[0])?;
    let key_matches = match ca::key_pair(key_pem, &cert) {
        Ok(_) => true,
        Err(Error::KeyMismatch) => false,
        Err(e) => return Err(e),
    };
    let renew_at = SystemTime::now() + RENEW_BEFORE;
    let renew_at = renew_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let not_expiring = cert.validity().not_after.timestamp() > renew_at as i64;
    Ok(key_matches && not_expiring && ca.issued(&cert) && fits(&cert))
}

/// Whether `host` (an IP address if it parses as one, else a DNS name compared ignoring
/// case) is among the certificate's SANs.
fn has_name(cert: &X509Certificate<'_>, host: &str) -> bool {
    let Ok(Some(sans)) = cert.subject_alternative_name() else {
        return false;
    };
    let ip = host.parse::<IpAddr>().ok();
    sans.value
        .general_names
        .iter()
        .any(|name| match (name, ip) {
            (GeneralName::IPAddress(bytes), Some(IpAddr::V4(ip))) => *bytes == ip.octets(),
            (GeneralName::IPAddress(bytes), Some(IpAddr::V6(ip))) => *bytes == ip.octets(),
            (GeneralName::DNSName(dns), None) => dns.eq_ignore_ascii_case(host),
            _ => false,
        })
}

/// The file's content, or `None` when it does not exist.
fn read_if_exists(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(content) => Ok(Some(content)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::ReadFile {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::ca::tests::verify_server;

    fn hosts(hosts: &[&str]) -> Vec<String> {
        hosts.iter().map(|h| h.to_string()).collect()
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    #[test]
    fn ensure_twice_reuses_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pki::ensure(dir.path(), &hosts(&["fleet.local"])).unwrap();
        assert_eq!(first, Pki::new(dir.path()).files());
        let contents = |f: &PkiFiles| {
            [
                &f.ca_cert,
                &f.ca_key,
                &f.serving_cert,
                &f.serving_key,
                &f.admin_cert,
                &f.admin_key,
            ]
            .map(|p| read(p))
        };
        let before = contents(&first);
        let second = Pki::ensure(dir.path(), &hosts(&["fleet.local"])).unwrap();
        assert_eq!(contents(&second), before);

        assert!(verify_server(&before[0], &before[2], "fleet.local"));
        let admin = pem::certificates_from_pem(before[4].as_bytes()).unwrap();
        let identity = crate::identity_from_certificate(&admin[0]).unwrap();
        assert_eq!(
            identity,
            (ADMIN_USER.to_owned(), vec![ADMIN_GROUP.to_owned()])
        );
    }

    #[test]
    fn a_new_serving_host_reissues_only_the_serving_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let files = Pki::ensure(dir.path(), &hosts(&["a.example"])).unwrap();
        let (ca, serving, admin) = (
            read(&files.ca_cert),
            read(&files.serving_cert),
            read(&files.admin_cert),
        );

        Pki::ensure(dir.path(), &hosts(&["a.example", "10.0.0.7"])).unwrap();
        assert_eq!(read(&files.ca_cert), ca);
        assert_eq!(read(&files.admin_cert), admin);
        assert_ne!(read(&files.serving_cert), serving);
        for name in ["a.example", "10.0.0.7", "localhost"] {
            assert!(
                verify_server(&ca, &read(&files.serving_cert), name),
                "{name}"
            );
        }

        // Fewer hosts than the certificate has is fine: it is kept.
        let serving = read(&files.serving_cert);
        Pki::ensure(dir.path(), &hosts(&["A.EXAMPLE"])).unwrap();
        assert_eq!(read(&files.serving_cert), serving);
    }

    #[cfg(unix)]
    #[test]
    fn keys_and_the_directory_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let files = Pki::ensure(dir.path(), &[]).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for key in [&files.ca_key, &files.serving_key, &files.admin_key] {
            assert_eq!(mode(key), 0o600, "{}", key.display());
        }
        assert_eq!(mode(&Pki::new(dir.path()).dir), 0o700);
        assert_eq!(
            mode(&files.ca_cert) & 0o022,
            0,
            "certificates are not writable by others"
        );
    }

    #[test]
    fn a_replaced_ca_gets_new_leaf_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let files = Pki::ensure(dir.path(), &[]).unwrap();
        let (admin, serving) = (read(&files.admin_cert), read(&files.serving_cert));
        fs::remove_file(&files.ca_cert).unwrap();
        fs::remove_file(&files.ca_key).unwrap();

        Pki::ensure(dir.path(), &[]).unwrap();
        assert_ne!(read(&files.admin_cert), admin);
        assert_ne!(read(&files.serving_cert), serving);
        assert!(verify_server(
            &read(&files.ca_cert),
            &read(&files.serving_cert),
            "::1"
        ));
    }

    #[test]
    fn an_operator_ca_is_used_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new(dir.path());
        fs::create_dir_all(&pki.dir).unwrap();
        let ca = Ca::generate("operator CA").unwrap();
        let files = pki.files();
        fs::write(&files.ca_cert, ca.cert_pem()).unwrap();
        fs::write(&files.ca_key, ca.key_pem()).unwrap();

        Pki::ensure(dir.path(), &[]).unwrap();
        assert_eq!(read(&files.ca_cert), ca.cert_pem());
        assert_eq!(read(&files.ca_key), ca.key_pem());
        assert!(verify_server(
            ca.cert_pem(),
            &read(&files.serving_cert),
            "localhost"
        ));
    }

    #[test]
    fn half_a_ca_is_an_error_and_stays_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let files = Pki::ensure(dir.path(), &[]).unwrap();
        fs::remove_file(&files.ca_cert).unwrap();
        let key = read(&files.ca_key);
        let err = Pki::ensure(dir.path(), &[]).unwrap_err();
        assert!(
            matches!(&err, Error::IncompletePair { present, missing }
                if *present == files.ca_key && *missing == files.ca_cert),
            "{err}"
        );
        assert_eq!(read(&files.ca_key), key);
    }

    #[test]
    fn a_leaf_with_a_missing_or_foreign_key_is_reissued() {
        let dir = tempfile::tempdir().unwrap();
        let files = Pki::ensure(dir.path(), &[]).unwrap();
        let serving = read(&files.serving_cert);
        fs::copy(&files.admin_key, &files.serving_key).unwrap();
        fs::remove_file(&files.admin_key).unwrap();

        Pki::ensure(dir.path(), &[]).unwrap();
        assert_ne!(read(&files.serving_cert), serving);
        let ca = read(&files.ca_cert);
        let ca = Ca::from_pem(&ca, &read(&files.ca_key)).unwrap();
        for (cert, key) in [
            (&files.serving_cert, &files.serving_key),
            (&files.admin_cert, &files.admin_key),
        ] {
            let der = pem::certificates_from_pem(read(cert).as_bytes()).unwrap();
            let cert = der::parse_certificate(&der[0]).unwrap();
            assert!(ca.issued(&cert));
            ca::key_pair(&read(key), &cert).unwrap();
        }
    }

    #[test]
    fn an_unreadable_certificate_is_an_error_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let files = Pki::ensure(dir.path(), &[]).unwrap();
        fs::write(&files.serving_cert, "garbage").unwrap();
        let err = Pki::ensure(dir.path(), &[]).unwrap_err();
        assert!(
            matches!(&err, Error::LoadFile { path, .. } if *path == files.serving_cert),
            "{err}"
        );
        assert_eq!(read(&files.serving_cert), "garbage");
    }
}
