//! Kubeconfig files: one cluster, one user with a client certificate, one context.

use std::fmt::{self, Write as _};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::Result;
use crate::file;

/// A kubeconfig with a single cluster, user and context, the context current.
#[derive(Clone, Copy)]
pub struct Kubeconfig<'a> {
    /// The cluster's name.
    pub cluster: &'a str,
    /// The context's name.
    pub context: &'a str,
    /// The user's name (in the kubeconfig; the server takes the name from the certificate).
    pub user: &'a str,
    /// The server URL, e.g. `https://127.0.0.1:6443`.
    pub server: &'a str,
    /// The CA certificate(s) to trust, PEM.
    pub ca_pem: &'a str,
    /// The client certificate, PEM.
    pub client_cert_pem: &'a str,
    /// The client certificate's private key, PEM.
    pub client_key_pem: &'a str,
}

impl fmt::Debug for Kubeconfig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kubeconfig")
            .field("cluster", &self.cluster)
            .field("context", &self.context)
            .field("user", &self.user)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Kubeconfig<'_> {
    /// The kubeconfig as YAML. Every string is double-quoted and escaped, so names may
    /// hold any character (`:`, `@`, `#`, quotes, newlines).
    pub fn to_yaml(&self) -> String {
        let data = |pem: &str| quote(&STANDARD.encode(pem));
        let (cluster, context, user) = (quote(self.cluster), quote(self.context), quote(self.user));
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: {cluster}
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: {context}
  context:
    cluster: {cluster}
    user: {user}
current-context: {context}
preferences: {{}}
",
            server = quote(self.server),
            ca = data(self.ca_pem),
            cert = data(self.client_cert_pem),
            key = data(self.client_key_pem),
        )
    }

    /// Writes the kubeconfig to `path` atomically (a temporary file in the same directory,
    /// mode 0600, fsynced, renamed over `path`). The directory must exist.
    pub fn write(&self, path: &Path) -> Result<()> {
        file::write_atomic(path, self.to_yaml().as_bytes(), 0o600)
    }
}

/// `s` as a YAML double-quoted scalar. Besides `"` and `\`, everything YAML does not allow
/// unescaped in a document (C0 and C1 controls, DEL, the Unicode line separators, the byte
/// order mark, U+FFFE/U+FFFF) is written as an escape.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;

    const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

    fn example<'a>(cluster: &'a str, context: &'a str, user: &'a str) -> Kubeconfig<'a> {
        Kubeconfig {
            cluster,
            context,
            user,
            server: "https://127.0.0.1:6443/some path?x=\"y\"",
            ca_pem: "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n",
            client_cert_pem: "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n",
            client_key_pem: "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n",
        }
    }

    /// The kubectl binary, or `None` (after saying why) when the test should be skipped.
    fn kubectl() -> Option<PathBuf> {
        let path = PathBuf::from(KUBECTL);
        if path.exists() {
            return Some(path);
        }
        if std::env::var_os("CI").is_some() {
            panic!("{KUBECTL} is missing; CI must run the kubeconfig test against real kubectl");
        }
        eprintln!("skipping: {KUBECTL} is missing (set CI to make this a failure)");
        None
    }

    /// `kubectl config view --raw` of `file`, printed through `template` (JSONPath).
    fn view(kubectl: &Path, file: &Path, cache: &Path, template: &str) -> String {
        let output = Command::new(kubectl)
            .args(["config", "view", "--raw", "-o"])
            .arg(format!("jsonpath={template}"))
            .arg("--kubeconfig")
            .arg(file)
            .arg("--cache-dir")
            .arg(cache)
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "kubectl failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn kubectl_reads_the_written_kubeconfig() {
        let Some(kubectl) = kubectl() else { return };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kubeconfig");
        let cache = dir.path().join("cache");
        let config = example(
            "fleet: local #1",
            "fleet-admin@fleet: \"local\"",
            "fleet-admin@local\\ü",
        );
        config.write(&file).unwrap();

        let view = |template: &str| view(&kubectl, &file, &cache, template);
        assert_eq!(view("{.current-context}"), config.context);
        assert_eq!(view("{.clusters[0].name}"), config.cluster);
        assert_eq!(view("{.clusters[0].cluster.server}"), config.server);
        assert_eq!(view("{.users[0].name}"), config.user);
        assert_eq!(view("{.contexts[0].context.cluster}"), config.cluster);
        assert_eq!(view("{.contexts[0].context.user}"), config.user);
        for (field, pem) in [
            (
                "{.users[0].user.client-certificate-data}",
                config.client_cert_pem,
            ),
            ("{.users[0].user.client-key-data}", config.client_key_pem),
            (
                "{.clusters[0].cluster.certificate-authority-data}",
                config.ca_pem,
            ),
        ] {
            let decoded = STANDARD.decode(view(field)).unwrap();
            assert_eq!(String::from_utf8(decoded).unwrap(), pem, "{field}");
        }
    }

    #[test]
    fn kubectl_reads_names_with_control_characters() {
        let Some(kubectl) = kubectl() else { return };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kubeconfig");
        let context = "tab\there\u{7}bell\u{2028}sep";
        example("c", context, "u").write(&file).unwrap();
        let cache = dir.path().join("cache");
        assert_eq!(view(&kubectl, &file, &cache, "{.current-context}"), context);
    }

    #[test]
    fn quoting_escapes_what_yaml_would_misread() {
        assert_eq!(quote("a:b@c #d"), "\"a:b@c #d\"");
        assert_eq!(quote("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(
            quote("a\nb\u{7}\u{85}\u{2028}"),
            "\"a\\nb\\u0007\\u0085\\u2028\""
        );
        assert_eq!(quote("ü"), "\"ü\"");
    }

    #[cfg(unix)]
    #[test]
    fn written_kubeconfig_is_private_and_replaces_the_old_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = example("c", "x", "u");
        config.write(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), config.to_yaml());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn debug_output_hides_the_key() {
        let config = example("c", "x", "u");
        assert!(!format!("{config:?}").contains("PRIVATE KEY"));
    }
}
