//! The in-process controllers act through the server's own API as
//! `system:fleet-controller-manager`: their requests are authenticated, authorized by the
//! bootstrap policy's binding and audited like anyone's. (That no request from outside the
//! process can be that user is in `front_proxy.rs`.)

mod support;
mod support_access;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{cld, create, send_ok, Backend, Raw, TestServer, DEFAULT_CLDS};
use support_access::AuditFile;

const MANAGER: &str = "system:fleet-controller-manager";
const BINDING: &str =
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:fleet-controller-manager";

/// A ClusterDeployment owned by `owner` (uid).
fn dependent(name: &str, owner: &Value) -> Value {
    let mut object = cld(name, "t1");
    object["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterDeployment",
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
    }]);
    object
}

async fn exists(client: &kube::Client, name: &str) -> bool {
    let status = Raw::get(&format!("{DEFAULT_CLDS}/{name}"))
        .send(client)
        .await
        .status;
    assert!(matches!(status, 200 | 404), "{status}");
    status == 200
}

async fn eventually_gone(client: &kube::Client, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while exists(client, name).await {
        assert!(Instant::now() < deadline, "{name} was not collected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_garbage_collector_acts_as_its_user_under_rbac_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let Some(server) = TestServer::builder(Backend::Embedded)
        .args(["--audit-log-path", log.to_str().unwrap()])
        .start()
    else {
        return;
    };
    let admin = server.client().await;

    // Without its binding, the collector may not delete: the orphan stays.
    let binding = send_ok(&admin, Raw::get(BINDING), 200).await;
    send_ok(&admin, Raw::delete(BINDING), 200).await;
    let owner = create(&admin, &cld("owner", "t1")).await;
    create(&admin, &dependent("dependent", &owner)).await;
    send_ok(&admin, Raw::delete(&format!("{DEFAULT_CLDS}/owner")), 200).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        exists(&admin, "dependent").await,
        "collected without permission"
    );
    let audit = AuditFile::new(&log);
    let refused = audit.events().into_iter().any(|e| {
        e["user"]["username"] == MANAGER
            && e["verb"] == "delete"
            && e["objectRef"]["name"] == "dependent"
            && e["responseStatus"]["code"] == 403
    });
    assert!(refused, "the refused delete is audited:\n{}", audit.text());

    // With it back (as bootstrap wrote it), the dependent is collected, by that user.
    let mut restored = binding.clone();
    restored["metadata"] = json!({"name": binding["metadata"]["name"], "labels": binding["metadata"]["labels"], "annotations": binding["metadata"]["annotations"]});
    let bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
    send_ok(&admin, Raw::post(bindings).json(&restored), 201).await;
    eventually_gone(&admin, "dependent").await;
    let collected = audit.events().into_iter().any(|e| {
        e["user"]["username"] == MANAGER
            && e["verb"] == "delete"
            && e["objectRef"]["name"] == "dependent"
            && e["responseStatus"]["code"] == 200
    });
    assert!(
        collected,
        "the collecting delete is audited:\n{}",
        audit.text()
    );
}
