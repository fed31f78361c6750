//! The contract of `fleet-apiserver up` that scripts and tools rely on: the kubeconfig is
//! complete when `ready https://HOST:PORT` appears, a restart on the same data directory
//! reuses the certificates and keeps the objects, SIGTERM stops it cleanly, and
//! `fleet-apiserver kubeconfig` issues working user kubeconfigs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use kube::config::Kubeconfig;
use support::{
    base64_decode, create, kubeconfig_identity, Backend, Kubectl, Raw, TestServer, BINARY,
    DEFAULT_CLDS,
};

const PKI_FILES: [&str; 6] = [
    "ca.crt",
    "ca.key",
    "serving.crt",
    "serving.key",
    "admin.crt",
    "admin.key",
];

fn pki_bytes(data_dir: &Path) -> Vec<Vec<u8>> {
    PKI_FILES
        .iter()
        .map(|name| {
            let path = data_dir.join("pki").join(name);
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

/// The DER certificates of PEM text.
fn certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    certs::certificates_from_pem(pem)
        .expect("PEM certificates")
        .iter()
        .map(|c| c.as_ref().to_vec())
        .collect()
}

/// The port of an `https://HOST:PORT` URL.
fn port(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

#[tokio::test]
async fn the_kubeconfig_is_complete_when_the_ready_line_appears() {
    let server = TestServer::start(Backend::Embedded).expect("the embedded store always runs");
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert_ne!(port(url), 0, "the real port, not 0");

    let text = std::str::from_utf8(server.kubeconfig_at_ready()).expect("UTF-8");
    let kubeconfig = Kubeconfig::from_yaml(text).expect("a kubeconfig");
    assert_eq!(
        kubeconfig.current_context.as_deref(),
        Some("fleet-admin@fleet")
    );
    let context = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == "fleet-admin@fleet")
        .and_then(|c| c.context.as_ref())
        .expect("the context fleet-admin@fleet");
    assert_eq!(context.user.as_deref(), Some("fleet-admin"));
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.as_ref())
        .expect("the context's cluster");
    assert_eq!(cluster.server.as_deref(), Some(url), "the ready URL");
    assert_ne!(cluster.insecure_skip_tls_verify, Some(true));
    let ca = base64_decode(
        cluster
            .certificate_authority_data
            .as_deref()
            .expect("certificate-authority-data"),
    );
    let ca_file = std::fs::read(server.data_dir().join("pki/ca.crt")).expect("pki/ca.crt");
    assert_eq!(certificates(&ca), certificates(&ca_file), "the CA of pki/");
    assert_eq!(kubeconfig.auth_infos.len(), 1);
    assert_eq!(kubeconfig.auth_infos[0].name, "fleet-admin");
    let auth = kubeconfig.auth_infos[0]
        .auth_info
        .as_ref()
        .expect("credentials");
    assert!(auth.client_key_data.is_some(), "client-key-data");
    assert_eq!(
        kubeconfig_identity(&kubeconfig),
        ("fleet-admin".to_owned(), vec!["system:masters".to_owned()])
    );

    // Nothing was written after the ready line, and no temporary file is left behind.
    let on_disk = std::fs::read(server.kubeconfig()).expect("admin.kubeconfig");
    assert_eq!(on_disk, server.kubeconfig_at_ready());
    let mut entries: Vec<String> = std::fs::read_dir(server.data_dir())
        .expect("the data dir")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    entries.sort();
    assert_eq!(entries, ["admin.kubeconfig", "data", "pki"]);
    for key in ["ca.key", "serving.key", "admin.key"] {
        let mode = std::fs::metadata(server.data_dir().join("pki").join(key))
            .expect(key)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key} is private");
    }

    // And it works.
    let reply = Raw::get("/version").send(&server.client().await).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["major"], "1");
}

#[tokio::test]
async fn restarting_on_the_same_data_dir_reuses_certificates_and_keeps_objects() {
    let dir = tempfile::tempdir().expect("a data dir");
    let mut first = TestServer::builder(Backend::Embedded)
        .data_dir(dir.path())
        .start()
        .expect("the embedded store always runs");
    let pki = pki_bytes(dir.path());
    let created = create(&first.client().await, &support::cld("prod", "t1")).await;
    let status = first.terminate(Duration::from_secs(10));
    assert!(status.success(), "a clean exit: {status}");
    drop(first);

    let second = TestServer::builder(Backend::Embedded)
        .data_dir(dir.path())
        .start()
        .expect("the embedded store always runs");
    for (name, (before, after)) in PKI_FILES.iter().zip(pki.iter().zip(pki_bytes(dir.path()))) {
        assert!(before == &after, "pki/{name} was rewritten");
    }
    let reply = Raw::get(&format!("{DEFAULT_CLDS}/prod"))
        .send(&second.client().await)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let kept = reply.json();
    assert_eq!(kept["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        kept["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    assert_eq!(kept["spec"], created["spec"]);
}

async fn sigterm_stops_the_server_with_exit_code_0_within_10_seconds(backend: Backend) {
    let Some(mut server) = TestServer::start(backend) else {
        return;
    };
    // A client with a kept-alive connection must not hold the shutdown up.
    let client = server.client().await;
    create(&client, &support::cld("prod", "t1")).await;
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status: {status}");
    assert!(
        server.stderr_tail().contains("shutting down"),
        "{}",
        server.stderr_tail()
    );
}

#[tokio::test]
async fn embedded_sigterm_stops_the_server_with_exit_code_0_within_10_seconds() {
    sigterm_stops_the_server_with_exit_code_0_within_10_seconds(Backend::Embedded).await;
}

#[tokio::test]
async fn etcd_sigterm_stops_the_server_with_exit_code_0_within_10_seconds() {
    sigterm_stops_the_server_with_exit_code_0_within_10_seconds(Backend::Etcd).await;
}

#[tokio::test]
async fn the_kubeconfig_command_issues_a_user_kubeconfig_kubectl_can_use() {
    // Request lines are debug-level (as kube-apiserver's at -v=3).
    let server = TestServer::builder(Backend::Embedded)
        .env("RUST_LOG", "info,apiserver=debug")
        .start()
        .expect("the embedded store always runs");
    create(&server.client().await, &support::cld("prod", "t1")).await;

    let out = Command::new(BINARY)
        .arg("kubeconfig")
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["--user", "alice", "--group", "team-a"])
        .stdin(Stdio::null())
        .output()
        .expect("running fleet-apiserver kubeconfig");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let kubeconfig = Kubeconfig::from_yaml(&text).expect("a kubeconfig");
    assert_eq!(kubeconfig.current_context.as_deref(), Some("alice@fleet"));
    let server_url = kubeconfig.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.server.as_deref());
    assert_eq!(server_url, Some(server.url()));
    assert_eq!(
        kubeconfig_identity(&kubeconfig),
        ("alice".to_owned(), vec!["team-a".to_owned()])
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("alice.kubeconfig");
    std::fs::write(&path, &text).expect("writing alice's kubeconfig");

    // kube-rs with alice's kubeconfig: authenticated as alice, who may do nothing yet.
    let alice = support::client_from(&path).await;
    let reply = Raw::get(DEFAULT_CLDS).send(&alice).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert_eq!(
        reply.json()["message"],
        "clusterdeployments.fleet.k0rdent.io is forbidden: User \"alice\" cannot list resource \"clusterdeployments\" in API group \"fleet.k0rdent.io\" in the namespace \"default\""
    );
    // A RoleBinding of her group to fleet:view lets her read (once the authorizer's watch
    // has seen it).
    let binding = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "team-a-view", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "fleet:view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-a"}],
    });
    let created = Raw::post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings")
        .json(&binding)
        .send(&server.client().await)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let reply = loop {
        let reply = Raw::get(DEFAULT_CLDS).send(&alice).await;
        if reply.status != 403 || std::time::Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["items"][0]["metadata"]["name"], "prod");
    let logged_path = format!("path={DEFAULT_CLDS} ");
    assert!(
        server.logged(|line| line.contains(&logged_path) && line.contains("user=alice")),
        "the request is logged as alice's:\n{}",
        server.stderr_tail()
    );

    let Some(kubectl) = Kubectl::new("1.33", &path) else {
        return;
    };
    let version = kubectl.ok(&["get", "--raw", "/version"]);
    let version: serde_json::Value = serde_json::from_str(&version).expect("JSON");
    assert_eq!(version["major"], "1");
    let list = kubectl.ok(&["get", "--raw", DEFAULT_CLDS]);
    let list: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list["kind"], "ClusterDeploymentList");
    assert_eq!(list["items"][0]["metadata"]["name"], "prod");
    assert_eq!(
        kubectl.ok(&["get", "cld", "-o", "name"]).trim(),
        "clusterdeployment.fleet.k0rdent.io/prod"
    );
}

/// Runs `fleet-apiserver args...` to completion with a 30 s limit: (exit code, stderr).
fn run_to_end(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting fleet-apiserver");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("waiting").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("fleet-apiserver {args:?} did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("its output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_data_dir_that_cannot_be_made_is_named_with_what_to_do() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let file = file.to_str().unwrap();

    let (code, stderr) = run_to_end(&["up", "--data-dir", file, "--secure-port", "0"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "fleet-apiserver: --data-dir {file} is a file: name a directory (it is created when missing)"
        )
    );

    // A directory under a file cannot be created either (root may create anywhere else).
    let below = format!("{file}/data");
    let (code, stderr) = run_to_end(&["up", "--data-dir", &below, "--secure-port", "0"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "fleet-apiserver: creating the data directory {below}: Not a directory (os error 20); pass a --data-dir you may create and write"
        )
    );
}

#[test]
fn the_kubeconfig_command_without_a_ca_says_to_run_up_first() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("never-up");
    let dir = dir.to_str().unwrap();
    let (code, stderr) = run_to_end(&["kubeconfig", "--user", "alice", "--data-dir", dir]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "fleet-apiserver: no certificate authority under {dir}/pki: run `fleet-apiserver up` first (it creates one there), or pass the --data-dir that `up` used"
        )
    );
}

#[test]
fn help_names_the_log_filter() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("RUST_LOG"), "{help}");
}

/// Logs into a pipe (or a file) carry no colour codes, and requests are logged at debug only.
#[test]
fn logs_into_a_pipe_are_plain_text_without_request_lines() {
    let temp = tempfile::tempdir().unwrap();
    let child = Command::new(BINARY)
        .args(["up", "--secure-port", "0", "--data-dir"])
        .arg(temp.path())
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting fleet-apiserver up");
    let mut child = KilledOnDrop(Some(child));
    let stdout = child.0.as_mut().unwrap().stdout.take().unwrap();
    // Kept open while the server runs (it may still write to it).
    let mut stdout = std::io::BufReader::new(stdout);
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut ready).unwrap();
    assert!(ready.starts_with("ready https://"), "{ready}");
    // A request, answered, so that a request line would appear if requests were logged at info.
    if let Some(kubectl) = Kubectl::new("1.33", &temp.path().join("admin.kubeconfig")) {
        kubectl.ok(&["get", "--raw", "/version"]);
    }
    let child = child.0.take().unwrap();
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(" INFO "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes:\n{stderr:?}");
    assert!(
        !stderr.contains("latency"),
        "no request lines at info:\n{stderr}"
    );
}

/// A child process killed when dropped (a failed assertion must not leave it running).
struct KilledOnDrop(Option<std::process::Child>);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
