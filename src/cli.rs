//! The command line: `up`, `serve` and `kubeconfig`, with kube-apiserver's flag names where
//! they exist.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "fleet-apiserver",
    version,
    about = "The fleet.k0rdent.io API server",
    after_help = "Logs go to stderr. RUST_LOG filters them (default `info`; `RUST_LOG=debug` adds a \
                  line per request, `RUST_LOG=registry=debug,info` one crate's details)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a complete server on this machine with one command: embedded storage (or etcd),
    /// generated certificates, and an admin kubeconfig.
    Up(UpArgs),
    /// Run in production: storage, certificates and clients configured by flags.
    Serve(ServeArgs),
    /// Issue a user's client certificate from the local CA and print (or write) a kubeconfig.
    Kubeconfig(KubeconfigArgs),
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where data, certificates and the kubeconfig live.
    #[arg(long, default_value = "./.fleet")]
    pub data_dir: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    /// The port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// Use these etcd servers (comma-separated URLs) instead of the embedded store.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// How often storage history is compacted, keeping one interval of history
    /// (kube-apiserver's flag; e.g. `5m`, `30s`; `0` disables compaction).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub etcd_compaction_interval: std::time::Duration,
    #[command(flatten)]
    pub encryption: EncryptionArgs,
    #[command(flatten)]
    pub access: AccessArgs,
}

/// Encryption at rest, with kube-apiserver's flag names.
#[derive(Debug, Args, Clone)]
pub struct EncryptionArgs {
    /// Encrypt stored objects as this EncryptionConfiguration (apiserver.config.k8s.io/v1)
    /// says: `resources[].resources` names what (`credentials.fleet.k0rdent.io`,
    /// `*.fleet.k0rdent.io`, `*.*`), `providers` how — `aesgcm` (keys of 16, 24 or 32 bytes)
    /// or `identity`; the first provider writes, every one reads.
    #[arg(long)]
    pub encryption_provider_config: Option<PathBuf>,
    /// Follow changes of --encryption-provider-config (checked every 5 seconds); a file that
    /// does not load leaves the configuration in force as it was.
    #[arg(long)]
    pub encryption_provider_config_automatic_reload: bool,
}

/// Authentication, authorization and audit, with kube-apiserver's flag names.
#[derive(Debug, Args, Clone)]
pub struct AccessArgs {
    /// CA of front-proxy client certificates; with it, `--requestheader-*` headers name the
    /// user on connections whose certificate this CA verifies.
    #[arg(long)]
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// CNs of front-proxy certificates that are trusted (comma-separated; empty: any
    /// certificate of the request-header CA).
    #[arg(long, value_delimiter = ',')]
    pub requestheader_allowed_names: Vec<String>,
    /// Headers naming the user, tried in order.
    #[arg(long, value_delimiter = ',', default_value = "X-Remote-User")]
    pub requestheader_username_headers: Vec<String>,
    /// Headers naming the user's UID, tried in order.
    #[arg(long, value_delimiter = ',')]
    pub requestheader_uid_headers: Vec<String>,
    /// Headers naming the user's groups.
    #[arg(long, value_delimiter = ',', default_value = "X-Remote-Group")]
    pub requestheader_group_headers: Vec<String>,
    /// Prefixes of headers carrying extra user attributes.
    #[arg(long, value_delimiter = ',', default_value = "X-Remote-Extra-")]
    pub requestheader_extra_headers_prefix: Vec<String>,
    /// Static bearer tokens: CSV lines `token,user,uid,"group1,group2"`.
    #[arg(long)]
    pub token_auth_file: Option<PathBuf>,
    /// Kubeconfig of the host cluster's kube-apiserver: bearer tokens are checked with
    /// TokenReview, and the front-proxy and client CAs are read (and followed) from ConfigMap
    /// kube-system/extension-apiserver-authentication for what flags do not set.
    #[arg(long)]
    pub authentication_kubeconfig: Option<PathBuf>,
    /// Kubeconfig of the server answering SubjectAccessReviews in Webhook mode.
    #[arg(long)]
    pub authorization_kubeconfig: Option<PathBuf>,
    /// Authorization modes in order (comma-separated): RBAC, Webhook, AlwaysAllow.
    /// `system:masters` is always allowed.
    #[arg(long, value_delimiter = ',', default_value = "RBAC")]
    pub authorization_mode: Vec<String>,
    /// Serve requests without credentials as `system:anonymous`.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub anonymous_auth: bool,
    /// Write audit events (audit.k8s.io/v1, JSON lines) here; `-` for stdout.
    #[arg(long)]
    pub audit_log_path: Option<PathBuf>,
    /// The audit policy (audit.k8s.io/v1 Policy); without it, every request is logged at
    /// Metadata level.
    #[arg(long)]
    pub audit_policy_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// etcd client URLs, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// CA file verifying etcd's serving certificates.
    #[arg(long)]
    pub etcd_cafile: Option<PathBuf>,
    /// Client certificate for etcd.
    #[arg(long)]
    pub etcd_certfile: Option<PathBuf>,
    /// Client key for etcd.
    #[arg(long)]
    pub etcd_keyfile: Option<PathBuf>,
    /// The key prefix of every object in storage.
    #[arg(long, default_value = "/registry")]
    pub etcd_prefix: String,
    /// Use the embedded store in this directory instead of etcd.
    #[arg(long)]
    pub storage_dir: Option<PathBuf>,
    /// The serving certificate (PEM, chain allowed).
    #[arg(long)]
    pub tls_cert_file: PathBuf,
    /// The serving key (PEM).
    #[arg(long)]
    pub tls_private_key_file: PathBuf,
    /// CA of client certificates; the certificate's CN is the user, its O values the groups.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// The port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// Run the garbage collector over ownerReferences in-process (needed when no
    /// kube-controller-manager serves this API, e.g. without a host cluster).
    #[arg(long)]
    pub enable_garbage_collector: bool,
    /// How often storage history is compacted, keeping one interval of history
    /// (kube-apiserver's flag; e.g. `5m`, `30s`; `0` disables compaction).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub etcd_compaction_interval: std::time::Duration,
    #[command(flatten)]
    pub encryption: EncryptionArgs,
    #[command(flatten)]
    pub access: AccessArgs,
}

#[derive(Debug, Args)]
pub struct KubeconfigArgs {
    /// The data directory of `fleet-apiserver up` (its CA is used).
    #[arg(long, default_value = "./.fleet")]
    pub data_dir: PathBuf,
    /// The user name (certificate CN).
    #[arg(long)]
    pub user: String,
    /// Groups of the user (certificate O), repeatable.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// The server URL; by default the one in the admin kubeconfig.
    #[arg(long)]
    pub server: Option<String>,
    /// Write the kubeconfig here instead of printing it.
    #[arg(long = "out", short, alias = "output")]
    pub output: Option<PathBuf>,
}

/// Parses a Go-style duration: a number with `h`, `m`, `s` or `ms` (`1h30m`, `90s`, `0`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut total = std::time::Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}"))?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += match &rest[..unit] {
            "h" => std::time::Duration::from_secs(number * 3600),
            "m" => std::time::Duration::from_secs(number * 60),
            "s" => std::time::Duration::from_secs(number),
            "ms" => std::time::Duration::from_millis(number),
            _ => return Err(format!("invalid duration {text:?}: use h, m, s or ms")),
        };
        rest = &rest[unit..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_like_go_durations() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("m").is_err());
    }
}
