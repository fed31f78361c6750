//! The Python `kubernetes` client (PyPI, `DynamicClient`) against `fleet-apiserver up`, on the
//! embedded store and on etcd: the scripts in `tests/python/` print what they saw as JSON and
//! these tests assert on it. Python is `$FLEET_PYTHON`, else `.cache/venv/bin/python` (made by
//! `scripts/install-test-deps`); without it the tests skip, except under CI.

#[macro_use]
mod support;
mod support_everyday;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{create, under_ci, Backend, TestServer, STATUS_VERBS, STORED_VERBS};
use support_everyday::{cld_with, UNSUPPORTED_PATCH};

/// How long one script may run before it is killed.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// The Python with the `kubernetes` package; `None` (with a message) when there is none
/// outside CI.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("FLEET_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/venv/bin/python"));
    if python.exists() {
        return Some(python);
    }
    let why = format!(
        "{} is missing (run scripts/install-test-deps or set FLEET_PYTHON)",
        python.display()
    );
    if under_ci() {
        panic!("{why} and CI is set");
    }
    eprintln!("skipping: {why}");
    None
}

/// Runs `tests/python/<script>` with the server's kubeconfig; returns the JSON it printed.
fn run_script(python: &Path, script: &str, server: &TestServer) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut child = Command::new(python)
        .arg(&path)
        .arg(server.kubeconfig())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} {}: {e}", python.display(), path.display()));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for python") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{script} ran longer than {SCRIPT_TIMEOUT:?} and was killed; stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    assert!(
        status.success(),
        "{script} failed ({status}):\nstderr: {stderr}\nstdout: {stdout}\nserver: {}",
        server.stderr_tail()
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {stdout}\nstderr: {stderr}"))
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// A server and the Python to run against it.
fn start(backend: Backend) -> Option<(TestServer, PathBuf)> {
    let python = python()?;
    let server = TestServer::start(backend)?;
    Some((server, python))
}

async fn dynamic_client_discovers_creates_gets_lists_patches_and_deletes(backend: Backend) {
    let Some((server, python)) = start(backend) else {
        return;
    };
    let client = server.client().await;
    // Someone else's object in the namespace, which the selector must leave out.
    let spec = json!({"template": "t1", "credential": "aws"});
    create(&client, &cld_with("other", json!({"env": "qa"}), spec)).await;

    let out = run_script(&python, "dynamic_crud.py", &server);
    let discovery = &out["discovery"];
    assert_eq!(discovery["name"], "clusterdeployments", "{out}");
    assert_eq!(discovery["kind"], "ClusterDeployment", "{out}");
    assert_eq!(discovery["namespaced"], true, "{out}");
    assert_eq!(discovery["short_names"], json!(["cld"]), "{out}");
    assert_eq!(discovery["verbs"], json!(STORED_VERBS), "{out}");
    assert_eq!(discovery["status_verbs"], json!(STATUS_VERBS), "{out}");

    let kinds: Vec<Value> = [
        ("ClusterDeployment", "clusterdeployments", true, "cld", true),
        ("ClusterTemplate", "clustertemplates", true, "ctpl", true),
        ("Credential", "credentials", true, "cred", true),
        (
            "MultiClusterService",
            "multiclusterservices",
            false,
            "mcs",
            true,
        ),
        ("PriceList", "pricelists", false, "pl", false),
        ("ServiceTemplate", "servicetemplates", true, "stpl", true),
    ]
    .into_iter()
    .map(|(kind, name, namespaced, short_name, status)| {
        let subresources: &[&str] = if status { &["status"] } else { &[] };
        json!({
            "kind": kind,
            "name": name,
            "namespaced": namespaced,
            "short_names": [short_name],
            "categories": ["k0rdent"],
            "subresources": subresources,
        })
    })
    .collect();
    assert_eq!(out["kinds"], json!(kinds), "{out}");
    // `up` installs the cluster-scoped PriceList `default`.
    assert_eq!(out["pricelists"], json!(["default"]), "{out}");

    let created = &out["created"];
    assert_eq!(created["name"], "py-a", "{out}");
    assert_eq!(created["namespace"], "default", "{out}");
    assert!(
        created["uid"].as_str().is_some_and(|u| u.len() == 36),
        "{out}"
    );
    assert_eq!(out["got"]["uid"], created["uid"], "{out}");
    assert_eq!(out["got"]["template"], "t1", "{out}");

    assert_eq!(out["listed"]["kind"], "ClusterDeploymentList", "{out}");
    assert_eq!(out["listed"]["names"], json!(["py-a"]), "{out}");
    assert_eq!(out["listed_in"], json!(["py-a", "py-b"]), "{out}");

    let patched = &out["patched"];
    assert_eq!(patched["template"], "t2", "{out}");
    assert_eq!(
        patched["labels"],
        json!({"env": "prod", "tier": "gold"}),
        "{out}"
    );
    assert_eq!(patched["generation"], 2, "{out}");

    // The DynamicClient's default patch type is strategic merge, which fleet kinds refuse
    // exactly as kube-apiserver refuses it for custom resources.
    let strategic = &out["strategic"];
    assert_eq!(strategic["status"], 415, "{out}");
    assert_eq!(strategic["body"]["reason"], "UnsupportedMediaType", "{out}");
    assert_eq!(strategic["body"]["message"], UNSUPPORTED_PATCH, "{out}");

    assert_eq!(out["deleted"]["kind"], "Status", "{out}");
    assert_eq!(out["deleted"]["status"], "Success", "{out}");
    assert_eq!(out["after_delete"], 404, "{out}");
    assert_eq!(out["remaining"], json!(["other", "py-b"]), "{out}");
}

async fn dynamic_client_watch_sees_added_modified_and_deleted(backend: Backend) {
    let Some((server, python)) = start(backend) else {
        return;
    };
    let client = server.client().await;
    create(
        &client,
        &cld_with(
            "existing",
            json!({}),
            json!({"template": "t0", "credential": "aws"}),
        ),
    )
    .await;

    let out = run_script(&python, "dynamic_watch.py", &server);
    assert_eq!(out["errors"], json!([]), "{out}");
    let events = out["events"].as_array().expect("events");
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().expect("type"),
                e["name"].as_str().expect("name"),
                e["template"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ADDED", "existing", "t0"),
            ("ADDED", "py-w", "t1"),
            ("MODIFIED", "py-w", "t2"),
            ("DELETED", "py-w", "t2"),
        ],
        "{out}"
    );
    let revisions: Vec<u64> = events
        .iter()
        .map(|e| {
            e["resourceVersion"]
                .as_str()
                .and_then(|rv| rv.parse().ok())
                .expect("a resourceVersion")
        })
        .collect();
    assert!(
        revisions[1] < revisions[2] && revisions[2] < revisions[3],
        "live events in revision order: {out}"
    );
}

/// The client's default patch type is strategic merge: on a built-in kind it merges maps
/// (labels kept and added) and replaces atomic lists (rules).
async fn dynamic_client_default_strategic_patch_works_on_a_built_in_kind(backend: Backend) {
    let Some((server, python)) = start(backend) else {
        return;
    };
    let out = run_script(&python, "rbac_strategic.py", &server);
    assert_eq!(
        out["labels"],
        json!({"keep": "yes", "added": "yes"}),
        "{out}"
    );
    assert_eq!(out["verbs"], json!(["get", "list"]), "{out}");
    assert_eq!(out["rule_count"], 1, "{out}");
}

on_both_backends!(
    dynamic_client_discovers_creates_gets_lists_patches_and_deletes,
    dynamic_client_watch_sees_added_modified_and_deleted,
    dynamic_client_default_strategic_patch_works_on_a_built_in_kind,
);
