//! Writing with kubectl: `apply` and `diff`, `edit` with an editor script, `patch` (merge,
//! JSON, and the 415 of strategic merge), `label`, `annotate`, server dry-run, and field
//! validation.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{cld_yaml, create, json, jsonpath, start, stderr, stdout};
use crate::support::{kubectl_binary, Backend, TestServer};
use crate::support_everyday::UNSUPPORTED_PATCH;

pub(crate) fn apply_creates_then_leaves_unchanged_then_configures_and_diff_stores_nothing(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let first = cld_yaml("web", "t1", "");
    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(&first));
    assert_eq!(out.trim(), "clusterdeployment.fleet.k0rdent.io/web created");
    let rv = jsonpath(&kubectl, "web", "{.metadata.resourceVersion}");

    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(&first));
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/web unchanged"
    );
    assert_eq!(jsonpath(&kubectl, "web", "{.metadata.resourceVersion}"), rv);

    let same = kubectl.run(&["diff", "-f", "-"], Some(&first));
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(same.stdout.is_empty(), "{}", stdout(&same));

    let second = cld_yaml("web", "t2", "");
    let diff = kubectl.run(&["diff", "-f", "-"], Some(&second));
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff exits 1 on differences: {}",
        stderr(&diff)
    );
    let shown = stdout(&diff);
    assert!(shown.lines().any(|l| l == "-  template: t1"), "{shown}");
    assert!(shown.lines().any(|l| l == "+  template: t2"), "{shown}");
    assert!(shown.lines().any(|l| l == "-  generation: 1"), "{shown}");
    assert!(shown.lines().any(|l| l == "+  generation: 2"), "{shown}");
    assert_eq!(
        jsonpath(
            &kubectl,
            "web",
            "{.metadata.resourceVersion} {.spec.template}"
        ),
        format!("{rv} t1"),
        "diff stores nothing"
    );

    let out = kubectl.ok_with(&["apply", "-f", "-"], Some(&second));
    assert_eq!(
        out.trim(),
        "clusterdeployment.fleet.k0rdent.io/web configured"
    );
    assert_eq!(
        jsonpath(&kubectl, "web", "{.spec.template} {.metadata.generation}"),
        "t2 2"
    );
    let last_applied = jsonpath(
        &kubectl,
        "web",
        "{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
    );
    assert_eq!(json(&last_applied)["spec"]["template"], "t2");
}

/// `kubectl edit` with `KUBE_EDITOR` set (the shared runner passes no environment), killed
/// after a minute.
fn edit(server: &TestServer, version: &str, editor: &str, args: &[&str]) -> Output {
    let cache = tempfile::tempdir().expect("a kubectl cache dir");
    let mut child = Command::new(kubectl_binary(version).expect("found by Kubectl::new"))
        .arg("--kubeconfig")
        .arg(server.kubeconfig())
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--request-timeout=10s")
        .arg("edit")
        .args(args)
        .env("KUBE_EDITOR", editor)
        .env_remove("EDITOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting kubectl edit");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for kubectl edit") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kubectl edit hung and was killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Writes a one-line `sed -i` editor script and returns the `KUBE_EDITOR` value running it.
/// The script is run by `sh`, not executed itself: executing a file this process just wrote
/// can fail with ETXTBSY while other test threads fork.
fn sed_editor(dir: &Path, expression: &str) -> String {
    let script = dir.join("editor.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nsed -i '{expression}' \"$1\"\n"),
    )
    .expect("writing the editor script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod +x the editor script");
    format!("sh {}", script.display())
}

pub(crate) fn edit_patch_label_and_annotate_change_the_object(backend: Backend, version: &str) {
    let Some((server, kubectl)) = start(backend, version) else {
        return;
    };
    create(&kubectl, &cld_yaml("web", "t1", ""));

    let dir = tempfile::tempdir().expect("a temp dir");
    let editor = sed_editor(dir.path(), "s/template: t1/template: t9/");
    let edited = edit(&server, version, &editor, &["cld", "web"]);
    assert!(edited.status.success(), "kubectl edit: {}", stderr(&edited));
    assert_eq!(
        stdout(&edited).trim(),
        "clusterdeployment.fleet.k0rdent.io/web edited"
    );
    assert_eq!(
        jsonpath(&kubectl, "web", "{.spec.template} {.metadata.generation}"),
        "t9 2"
    );

    let merged = kubectl.ok(&[
        "patch",
        "cld",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"template":"t10","config":{"size":3,"region":"eu-central-1"}}}"#,
    ]);
    assert_eq!(
        merged.trim(),
        "clusterdeployment.fleet.k0rdent.io/web patched"
    );
    let json_patched = kubectl.ok(&[
        "patch",
        "cld",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/config/size","value":5},{"op":"remove","path":"/spec/config/region"}]"#,
    ]);
    assert_eq!(
        json_patched.trim(),
        "clusterdeployment.fleet.k0rdent.io/web patched"
    );
    let spec = json(&jsonpath(&kubectl, "web", "{.spec}"));
    assert_eq!(
        spec,
        json!({"template": "t10", "credential": "aws", "config": {"size": 5}})
    );
    let unchanged = kubectl.ok(&[
        "patch",
        "cld",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"config":{"size":5}}}"#,
    ]);
    assert_eq!(
        unchanged.trim(),
        "clusterdeployment.fleet.k0rdent.io/web patched (no change)"
    );

    // A patch is validated like any write: a required field cannot be removed.
    let rv = jsonpath(&kubectl, "web", "{.metadata.resourceVersion}");
    let invalid = kubectl.fails(&[
        "patch",
        "cld",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/spec/credential"}]"#,
    ]);
    assert_eq!(
        invalid.trim(),
        r#"The ClusterDeployment "web" is invalid: spec.credential: Required value"#
    );
    // Plain `kubectl patch` sends a strategic merge patch, which custom kinds refuse.
    let refused = kubectl.fails(&[
        "patch",
        "cld",
        "web",
        "-p",
        r#"{"spec":{"config":{"size":7}}}"#,
    ]);
    assert!(refused.contains(UNSUPPORTED_PATCH), "{refused}");
    assert_eq!(jsonpath(&kubectl, "web", "{.metadata.resourceVersion}"), rv);

    let labeled = kubectl.ok(&["label", "cld", "web", "env=prod", "tier=gold"]);
    assert_eq!(
        labeled.trim(),
        "clusterdeployment.fleet.k0rdent.io/web labeled"
    );
    let annotated = kubectl.ok(&["annotate", "cld", "web", "example.com/note=hello"]);
    assert_eq!(
        annotated.trim(),
        "clusterdeployment.fleet.k0rdent.io/web annotated"
    );
    kubectl.ok(&["label", "cld", "web", "tier-"]);
    let meta = json(&jsonpath(&kubectl, "web", "{.metadata}"));
    assert_eq!(meta["labels"], json!({"env": "prod"}), "{meta}");
    assert_eq!(meta["annotations"]["example.com/note"], "hello", "{meta}");
    let overwrite = kubectl.fails(&["label", "cld", "web", "env=dev"]);
    assert!(
        overwrite.contains("already has a value (prod)"),
        "{overwrite}"
    );
    kubectl.ok(&["label", "cld", "web", "env=dev", "--overwrite"]);
    assert_eq!(jsonpath(&kubectl, "web", "{.metadata.labels.env}"), "dev");
}

pub(crate) fn server_dry_run_stores_nothing_and_field_validation_refuses_or_warns(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let dry = kubectl.ok_with(
        &["create", "--dry-run=server", "-f", "-"],
        Some(&cld_yaml("dry", "t1", "")),
    );
    assert_eq!(
        dry.trim(),
        "clusterdeployment.fleet.k0rdent.io/dry created (server dry run)"
    );
    let returned = json(&kubectl.ok_with(
        &["create", "--dry-run=server", "-o", "json", "-f", "-"],
        Some(&cld_yaml("dry", "t1", "")),
    ));
    assert!(returned["metadata"]["uid"].is_string(), "{returned}");
    assert!(kubectl.fails(&["get", "cld", "dry"]).contains("NotFound"));
    let applied = kubectl.ok_with(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&cld_yaml("dry", "t1", "")),
    );
    assert_eq!(
        applied.trim(),
        "clusterdeployment.fleet.k0rdent.io/dry created (server dry run)"
    );
    assert!(kubectl.fails(&["get", "cld", "dry"]).contains("NotFound"));

    let unknown = cld_yaml("strict", "t1", "").replace("spec:", "bogus: 1\nspec:");
    let refused = kubectl.fails_with(&["apply", "--validate=strict", "-f", "-"], Some(&unknown));
    assert!(refused.contains(r#"unknown field "bogus""#), "{refused}");
    assert!(refused.contains("strict decoding error"), "{refused}");
    // kubectl's default is --validate=strict as well.
    let by_default = kubectl.fails_with(&["apply", "-f", "-"], Some(&unknown));
    assert!(
        by_default.contains(r#"unknown field "bogus""#),
        "{by_default}"
    );
    assert!(kubectl
        .fails(&["get", "cld", "strict"])
        .contains("NotFound"));

    let warned = kubectl.run(&["apply", "--validate=warn", "-f", "-"], Some(&unknown));
    assert!(warned.status.success(), "{}", stderr(&warned));
    assert!(
        stderr(&warned).contains(r#"Warning: unknown field "bogus""#),
        "{}",
        stderr(&warned)
    );
    let stored = json(&kubectl.ok(&["get", "cld", "strict", "-o", "json"]));
    assert!(stored.get("bogus").is_none(), "pruned: {stored}");

    let ignored = kubectl.run(
        &["create", "--validate=ignore", "-f", "-"],
        Some(&unknown.replace("name: strict", "name: lax")),
    );
    assert!(ignored.status.success(), "{}", stderr(&ignored));
    assert!(
        !stderr(&ignored).contains("Warning"),
        "{}",
        stderr(&ignored)
    );
}
