//! Everyday kubectl (1.32 and 1.33) against `fleet-apiserver up`, on the embedded store and on
//! etcd, behaving as against kube-apiserver serving a CRD: server-side columns, `-o wide`,
//! `--sort-by`, `--show-labels`, `-L`; `explain`; `apply` and `diff`; `edit`; `patch`,
//! `label`, `annotate`; `wait` for conditions and deletion; finalizers; cascading deletion;
//! server dry-run; field validation; OpenAPI v3 (`../shared/docs/KUBERNETES-API.md` §1–§3,
//! §6, §7, §9). Strategic merge patch exists only for built-in kinds, and none is served yet:
//! here plain `kubectl patch` must fail with the 415 of custom resources.

#[macro_use]
mod support;
mod support_everyday;

#[path = "everyday_kubectl/delete.rs"]
mod delete;
#[path = "everyday_kubectl/read.rs"]
mod read;
#[path = "everyday_kubectl/write.rs"]
mod write;

use std::process::Output;

use delete::*;
use read::*;
use serde_json::Value;
use support::{Backend, Kubectl, TestServer};
use write::*;

/// A server and a kubectl of `version` for it; `None` when either cannot run here.
fn start(backend: Backend, version: &str) -> Option<(TestServer, Kubectl)> {
    let server = TestServer::start(backend)?;
    let kubectl = Kubectl::new(version, &server.kubeconfig())?;
    Some((server, kubectl))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The rows of a kubectl table, split on whitespace (empty cells vanish).
fn table(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|line| line.split_whitespace().collect())
        .collect()
}

/// The first cell of every row but the header.
fn first_column(text: &str) -> Vec<&str> {
    table(text).iter().skip(1).map(|row| row[0]).collect()
}

/// A ClusterDeployment in `default` as YAML; `metadata` lines (indented by two spaces) are
/// added to its metadata.
fn cld_yaml(name: &str, template: &str, metadata: &str) -> String {
    format!(
        "apiVersion: fleet.k0rdent.io/v1alpha1\n\
         kind: ClusterDeployment\n\
         metadata:\n  name: {name}\n  namespace: default\n{metadata}\
         spec:\n  template: {template}\n  credential: aws\n"
    )
}

/// `kubectl get cld NAME -o jsonpath=PATH`.
fn jsonpath(kubectl: &Kubectl, name: &str, path: &str) -> String {
    kubectl.ok(&["get", "cld", name, "-o", &format!("jsonpath={path}")])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn create(kubectl: &Kubectl, yaml: &str) {
    let out = kubectl.ok_with(&["create", "-f", "-"], Some(yaml));
    assert!(out.trim().ends_with(" created"), "{out}");
}

/// Instantiates each test body that does not depend on storage for both kubectl versions, as
/// `kubectl_<version>::<test>` (on the embedded store).
macro_rules! for_each_kubectl {
    ($($test:ident),* $(,)?) => {
        for_each_backend_and_kubectl!(@one kubectl_1_32, Backend::Embedded, "1.32", $($test),*);
        for_each_backend_and_kubectl!(@one kubectl_1_33, Backend::Embedded, "1.33", $($test),*);
    };
}

for_each_backend_and_kubectl!(
    get_prints_server_side_columns_wide_sorted_and_with_labels,
    apply_creates_then_leaves_unchanged_then_configures_and_diff_stores_nothing,
    edit_patch_label_and_annotate_change_the_object,
    wait_for_ready_needs_a_condition_observed_at_the_current_generation,
    finalizers_hold_deletion_and_wait_for_delete_ends_when_the_last_goes,
    cascading_delete_removes_dependents_in_the_foreground_and_orphans_keep_them,
    server_dry_run_stores_nothing_and_field_validation_refuses_or_warns,
);

for_each_kubectl!(
    explain_describes_the_kind_and_its_spec_recursively,
    openapi_v3_documents_the_kind_and_the_patch_parameters,
);
