//! Valid objects of every fleet.k0rdent.io kind (`docs/api.md`, `examples/`), for the
//! discovery-driven sweeps (`discovery_sweep`, `front_proxy`, `server_side_apply`): a spec each
//! kind accepts on create, and a status each kind's `/status` accepts.

use serde_json::{json, Value};

/// The spec of a valid object of the fleet kind `kind`, in any namespace and under any name.
/// Its lists are stored as written: a defaulted item of an atomic list (a service's namespace)
/// would make a second applier of the same spec conflict (`server_side_apply`). A kind added to
/// the API gets its fixture here: the sweeps panic on a kind they cannot build.
pub fn spec(kind: &str) -> Value {
    match kind {
        "ClusterTemplate" => json!({
            "provider": "aws",
            "kubernetesVersion": "v1.33.2",
            "source": {"helm": {
                "chart": "aws-standalone-cp",
                "version": "1.0.0",
                "repository": "oci://ghcr.io/k0rdent/kcm/charts",
            }},
            "configSchema": {
                "type": "object",
                "required": ["region"],
                "properties": {"region": {"type": "string"}},
            },
            "upgradeTo": ["aws-standalone-1-34"],
        }),
        // Names a template and a credential that need not exist: objects arrive in any order.
        "ClusterDeployment" => json!({
            "template": "aws-standalone-1-33",
            "credential": "aws-eu",
            "config": {"region": "eu-central-1"},
            "services": [{
                "name": "ingress-nginx",
                "template": "ingress-nginx-4-12-0",
                "namespace": "ingress-nginx",
            }],
        }),
        "ServiceTemplate" => json!({
            "version": "4.12.0",
            "source": {"helm": {
                "chart": "ingress-nginx",
                "version": "4.12.0",
                "repository": "https://kubernetes.github.io/ingress-nginx",
            }},
        }),
        "MultiClusterService" => json!({
            "clusterSelector": {"matchLabels": {"env": "prod"}},
            "services": [{
                "name": "ingress-nginx",
                "template": "ingress-nginx-4-12-0",
                "namespace": "ingress-nginx",
            }],
        }),
        // A Secret in the Credential's own namespace (no namespace given).
        "Credential" => json!({
            "identityRef": {"apiVersion": "v1", "kind": "Secret", "name": "aws-credentials"},
            "region": "eu-central-1",
        }),
        "PriceList" => json!({
            "currency": "USD",
            "instanceTypes": [
                {"provider": "aws", "region": "us-east-1", "name": "m5.large", "hourly": "0.096"},
            ],
            "fallback": {"cpuCoreHour": "0.031611", "memoryGiBHour": "0.004237"},
        }),
        other => panic!("no fixture for the fleet kind {other}: add its spec to fleet::spec"),
    }
}

/// A status the `/status` of fleet kind `kind` accepts, carrying `note` in a message, so that
/// two writes with different notes are told apart.
pub fn status(kind: &str, note: &str) -> Value {
    match kind {
        "ClusterTemplate" | "ServiceTemplate" => {
            json!({"valid": true, "message": note, "observedGeneration": 1})
        }
        "ClusterDeployment" => json!({
            "phase": "Provisioning",
            "conditions": [{
                "type": "Ready",
                "status": "False",
                "reason": "InfrastructureNotReady",
                "message": note,
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "observedGeneration": 1,
            }],
            "observedGeneration": 1,
        }),
        "MultiClusterService" => json!({
            "matchingClusters": [
                {"namespace": "default", "name": "prod-eu", "state": "Deployed", "message": note},
            ],
            "observedGeneration": 1,
        }),
        "Credential" => json!({"ready": false, "message": note}),
        other => panic!("no status fixture for the fleet kind {other}: add it to fleet::status"),
    }
}
