//! Encryption at rest with `--encryption-provider-config`, on both backends: the bytes on disk
//! (etcd's WAL and database, the embedded store's file) hold no plaintext of an encrypted
//! resource while another resource stays readable there; a key rotated by order (followed by
//! `--encryption-provider-config-automatic-reload`) reads old and new objects; the documented
//! rewrite (`kubectl get credentials -A -o json | kubectl replace -f -`) moves every object to
//! the new key, so the old key can go; a file that does not load leaves the configuration in
//! force; and a bad file at start-up stops the server with kube-apiserver's message.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{kubectl_binary, Backend, Raw, TestServer, API_VERSION, BINARY};

const CREDENTIALS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/credentials";
const CLDS: &str = "/apis/fleet.k0rdent.io/v1alpha1/namespaces/default/clusterdeployments";
/// base64 of 32 bytes of 0x11 and of 16 bytes of 0x22.
const KEY_ONE: &str = "ERERERERERERERERERERERERERERERERERERERERERE=";
const KEY_TWO: &str = "IiIiIiIiIiIiIiIiIiIiIg==";
/// How long a followed configuration may take to apply (it is checked every 5 s).
const RELOAD_WITHIN: Duration = Duration::from_secs(20);

fn configuration(keys: &[(&str, &str)]) -> String {
    let keys: Vec<String> = keys
        .iter()
        .map(|(name, secret)| format!("{{name: {name}, secret: {secret}}}"))
        .collect();
    format!(
        "apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [credentials.fleet.k0rdent.io]
    providers:
      - aesgcm:
          keys: [{}]
      - identity: {{}}
",
        keys.join(", ")
    )
}

fn credential(name: &str, marker: &str) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "Credential",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "description": marker,
            "identityRef": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSClusterStaticIdentity", "name": "id"},
        },
    })
}

/// Replaces the configuration file at once (as an operator's tools should: a reload never
/// reads half a file).
fn replace(path: &Path, text: &str) {
    let staged = path.with_extension("staged");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// How many times the server logged `line`.
fn logged_times(server: &TestServer, line: &str) -> usize {
    server.stderr_tail().matches(line).count()
}

/// Whether any file under `dir` contains `needle`.
fn on_disk(dir: &Path, needle: &str) -> bool {
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                pending.push(entry.path());
            }
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                return true;
            }
        }
    }
    false
}

/// Where the server keeps what it stores: etcd's data directory, or the embedded store's.
fn storage_dir(server: &TestServer) -> PathBuf {
    match server.etcd() {
        Some(etcd) => etcd.data_dir().to_owned(),
        None => server.data_dir().join("data"),
    }
}

async fn get(client: &kube::Client, path: &str) -> Value {
    let reply = Raw::get(path).send(client).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    reply.json()
}

/// Creates credentials until one's value on disk names `key` (the server has reloaded its
/// configuration), at most [`RELOAD_WITHIN`]; returns its name.
async fn create_once_writing_with(server: &TestServer, client: &kube::Client, key: &str) -> String {
    let deadline = Instant::now() + RELOAD_WITHIN;
    for attempt in 0.. {
        // Not named after the key: names are stored in plain text (in the storage key).
        let name = format!("probe-{attempt}");
        let created = Raw::post(CREDENTIALS)
            .json(&credential(&name, &format!("probe secret {attempt}")))
            .send(client)
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        if on_disk(&storage_dir(server), key) {
            return name;
        }
        assert!(
            Instant::now() < deadline,
            "{key} never wrote:\n{}",
            server.stderr_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    unreachable!()
}

async fn encrypted_at_rest_rotated_and_rewritten(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("encryption.yaml");
    std::fs::write(&config, configuration(&[("fleet-key-one", KEY_ONE)])).unwrap();
    let Some(server) = TestServer::builder(backend)
        .args(["--encryption-provider-config"])
        .args([&config])
        .args(["--encryption-provider-config-automatic-reload"])
        .start()
    else {
        return;
    };
    let client = server.client().await;

    // An encrypted kind and a plain one, each with a marker to look for on disk.
    let created = Raw::post(CREDENTIALS)
        .json(&credential("old", "SECRET-MARKER-OLD access keys"))
        .send(&client)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let mut plain = support::cld("plain", "t");
    plain["spec"]["config"] = json!({"note": "PLAIN-MARKER visible"});
    let created = Raw::post(CLDS).json(&plain).send(&client).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let stored = storage_dir(&server);
    assert!(
        on_disk(&stored, "PLAIN-MARKER"),
        "the search finds what is stored in plain text"
    );
    assert!(
        !on_disk(&stored, "SECRET-MARKER"),
        "no plaintext of a credential"
    );
    assert!(on_disk(&stored, "fleet-key-one"), "the value names its key");
    let old = get(&client, &format!("{CREDENTIALS}/old")).await;
    assert_eq!(old["spec"]["description"], "SECRET-MARKER-OLD access keys");

    // Rotation by order: the new key first writes, the old one still reads.
    replace(
        &config,
        &configuration(&[("fleet-key-two", KEY_TWO), ("fleet-key-one", KEY_ONE)]),
    );
    create_once_writing_with(&server, &client, "fleet-key-two").await;
    let created = Raw::post(CREDENTIALS)
        .json(&credential("new", "SECRET-MARKER-NEW"))
        .send(&client)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(!on_disk(&storage_dir(&server), "SECRET-MARKER"));
    let old = get(&client, &format!("{CREDENTIALS}/old")).await;
    assert_eq!(old["spec"]["description"], "SECRET-MARKER-OLD access keys");
    let new = get(&client, &format!("{CREDENTIALS}/new")).await;
    assert_eq!(new["spec"]["description"], "SECRET-MARKER-NEW");

    // The documented rewrite, verbatim from docs/encryption-at-rest.md.
    if let Some(kubectl) = kubectl_binary("1.33") {
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(&kubectl, bin.join("kubectl")).unwrap();
        let doc = std::fs::read_to_string("docs/encryption-at-rest.md").unwrap();
        let rewrite = doc
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("kubectl get credentials"))
            .expect("the rewrite command in docs/encryption-at-rest.md");
        let output = Command::new("bash")
            .args(["-o", "pipefail", "-c", rewrite])
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("KUBECONFIG", server.kubeconfig())
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{rewrite}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let replaced = String::from_utf8_lossy(&output.stdout);
        assert!(
            replaced.contains("credential.fleet.k0rdent.io/old replaced"),
            "{replaced}"
        );

        // Now the old key can go: everything reads with the new one alone.
        replace(&config, &configuration(&[("fleet-key-two", KEY_TWO)]));
        // The second reload; a value still under the old key would then answer 500.
        let deadline = Instant::now() + RELOAD_WITHIN;
        while logged_times(&server, "reloaded the encryption configuration") < 2 {
            assert!(Instant::now() < deadline, "{}", server.stderr_tail());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let list = get(&client, CREDENTIALS).await;
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["metadata"]["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"old") && names.contains(&"new"),
            "{names:?}"
        );
        let old = get(&client, &format!("{CREDENTIALS}/old")).await;
        assert_eq!(old["spec"]["description"], "SECRET-MARKER-OLD access keys");
    }

    // A file that does not load leaves the configuration in force.
    const REFUSED: &str = "error processing encryption config file";
    assert_eq!(
        logged_times(&server, REFUSED),
        0,
        "{}",
        server.stderr_tail()
    );
    replace(
        &config,
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n",
    );
    let deadline = Instant::now() + RELOAD_WITHIN;
    while logged_times(&server, REFUSED) == 0 {
        assert!(Instant::now() < deadline, "{}", server.stderr_tail());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(server.logged(|l| l.contains(
        "error while parsing file: resources: Required value: at least one resources is required"
    )));
    let created = Raw::post(CREDENTIALS)
        .json(&credential("after-bad-file", "SECRET-MARKER-AFTER"))
        .send(&client)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let stored = storage_dir(&server);
    assert!(!on_disk(&stored, "SECRET-MARKER"));
    let read = get(&client, &format!("{CREDENTIALS}/after-bad-file")).await;
    assert_eq!(read["spec"]["description"], "SECRET-MARKER-AFTER");
    get(&client, &format!("{CREDENTIALS}/old")).await;
}

on_both_backends!(encrypted_at_rest_rotated_and_rewritten);

#[test]
fn a_configuration_that_does_not_load_stops_the_start_with_kube_apiservers_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("encryption.yaml");
    std::fs::write(
        &config,
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [credentials.fleet.k0rdent.io]\n    providers:\n      - aesgcm: {keys: [{name: k, secret: AwMDAwMDAwM=}]}\n      - aescbc: {keys: [{name: k, secret: AwMDAwMDAwM=}]}\n",
    )
    .unwrap();
    let output = Command::new(BINARY)
        .args(["up", "--secure-port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--encryption-provider-config")
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        "fleet-apiserver: error while parsing file: [resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 8, expected one of [16 24 32], resources[0].providers[1].aescbc: Unsupported value: fleet-apiserver encrypts with aesgcm (keys of 16, 24 or 32 bytes) and reads identity; aescbc is not served]"
    );

    let output = Command::new(BINARY)
        .args(["up", "--secure-port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--encryption-provider-config-automatic-reload")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        "fleet-apiserver: --encryption-provider-config-automatic-reload must be set with --encryption-provider-config"
    );
}
