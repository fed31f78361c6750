//! kube-rs against `fleet-apiserver up`, on the embedded store and on etcd: discovery finds
//! the group and its six kinds; `Api<DynamicObject>` creates, gets, replaces and deletes a
//! ClusterDeployment, and a stale replace is a Conflict.

#[macro_use]
mod support;

use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use support::{Backend, TestServer, API_VERSION, GROUP, STORED_VERBS, VERSION};

/// Checks what discovery says about ClusterDeployment.
fn check_clusterdeployment(found: &(ApiResource, ApiCapabilities)) {
    let (resource, caps) = found;
    assert_eq!(resource.group, GROUP);
    assert_eq!(resource.version, VERSION);
    assert_eq!(resource.api_version, API_VERSION);
    assert_eq!(resource.kind, "ClusterDeployment");
    assert_eq!(resource.plural, "clusterdeployments");
    assert_eq!(caps.scope, Scope::Namespaced);
    for verb in ["create", "delete", "get", "list", "update"] {
        assert!(
            caps.supports_operation(verb),
            "{verb} in {:?}",
            caps.operations
        );
    }
    let (status, status_caps) = caps
        .subresources
        .iter()
        .find(|(r, _)| r.plural == "status")
        .unwrap_or_else(|| panic!("a status subresource: {:?}", caps.subresources));
    assert_eq!(status.kind, "ClusterDeployment");
    assert!(status_caps.supports_operation("get"), "{status_caps:?}");
    assert!(status_caps.supports_operation("update"), "{status_caps:?}");
}

/// The kinds of the group: kind, plural, scope, and whether it has a `/status` subresource.
const KINDS: [(&str, &str, Scope, bool); 6] = [
    (
        "ClusterTemplate",
        "clustertemplates",
        Scope::Namespaced,
        true,
    ),
    (
        "ClusterDeployment",
        "clusterdeployments",
        Scope::Namespaced,
        true,
    ),
    (
        "ServiceTemplate",
        "servicetemplates",
        Scope::Namespaced,
        true,
    ),
    (
        "MultiClusterService",
        "multiclusterservices",
        Scope::Cluster,
        true,
    ),
    ("Credential", "credentials", Scope::Namespaced, true),
    ("PriceList", "pricelists", Scope::Cluster, false),
];

/// Checks that the group serves exactly [`KINDS`], each with every verb and the status
/// subresource it declares.
fn check_kinds(resources: &[(ApiResource, ApiCapabilities)]) {
    let mut found: Vec<_> = resources
        .iter()
        .map(|(r, caps)| {
            let status = caps.subresources.iter().any(|(s, _)| s.plural == "status");
            (
                r.kind.as_str(),
                r.plural.as_str(),
                caps.scope.clone(),
                status,
            )
        })
        .collect();
    let mut wanted = KINDS.to_vec();
    found.sort_by_key(|k| k.0);
    wanted.sort_by_key(|k| k.0);
    assert_eq!(found, wanted, "the kinds of {GROUP}: {resources:?}");
    for (resource, caps) in resources {
        let mut verbs = caps.operations.clone();
        verbs.sort();
        assert_eq!(verbs, STORED_VERBS, "verbs of {}", resource.plural);
    }
}

fn find(discovery: &Discovery) -> (ApiResource, ApiCapabilities) {
    let group = discovery
        .get(GROUP)
        .unwrap_or_else(|| panic!("group {GROUP} is discovered"));
    assert_eq!(group.versions().collect::<Vec<_>>(), [VERSION]);
    assert_eq!(group.preferred_version(), Some(VERSION));
    check_kinds(&group.versioned_resources(VERSION));
    group
        .recommended_kind("ClusterDeployment")
        .expect("ClusterDeployment is discovered")
}

async fn discovery_finds_the_group_and_resource_with_scope_and_verbs(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;

    let ours = Discovery::new(client.clone())
        .filter(&[GROUP])
        .run()
        .await
        .expect("discovery of our group through /apis and /apis/<g>/<v>");
    check_clusterdeployment(&find(&ours));

    let aggregated = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .expect("aggregated discovery of /apis and /api");
    // The core group is always served, with no resources yet.
    let mut names: Vec<_> = aggregated.groups().map(|g| g.name()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "",
            "authentication.k8s.io",
            "authorization.k8s.io",
            GROUP,
            "rbac.authorization.k8s.io"
        ]
    );
    let core = aggregated.groups().find(|g| g.name().is_empty()).unwrap();
    assert_eq!(core.versions().collect::<Vec<_>>(), ["v1"]);
    assert_eq!(core.recommended_resources().len(), 0);
    check_clusterdeployment(&find(&aggregated));

    // Unfiltered, discovery also reads the core group's versions from /api.
    let everything = Discovery::new(client)
        .run()
        .await
        .expect("discovery of every group, the core group included");
    check_clusterdeployment(&find(&everything));
}

const CONFLICT: &str = "Operation cannot be fulfilled on clusterdeployments.fleet.k0rdent.io \"prod\": the object has been modified; please apply your changes to the latest version and try again";

async fn dynamic_api_creates_gets_replaces_and_deletes(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let discovery = Discovery::new(client.clone())
        .filter(&[GROUP])
        .run()
        .await
        .expect("discovery");
    let (resource, _) = find(&discovery);
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &resource);

    let wanted = DynamicObject::new("prod", &resource)
        .within("default")
        .data(serde_json::json!({"spec": {"template": "t1", "credential": "aws"}}));
    let created = api
        .create(&PostParams::default(), &wanted)
        .await
        .expect("create");
    let meta = &created.metadata;
    assert_eq!(meta.name.as_deref(), Some("prod"));
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert_eq!(meta.generation, Some(1));
    let uid = meta.uid.clone().expect("a uid");
    assert!(meta.creation_timestamp.is_some());
    let rv1 = meta.resource_version.clone().expect("a resourceVersion");
    assert_eq!(
        created.data["spec"],
        serde_json::json!({"template": "t1", "credential": "aws"})
    );
    let types = created.types.as_ref().expect("apiVersion and kind");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        (API_VERSION, "ClusterDeployment")
    );

    let got = api.get("prod").await.expect("get");
    assert_eq!(got.metadata, created.metadata);
    assert_eq!(got.data, created.data);

    let mut changed = got.clone();
    changed.data["spec"]["template"] = "t2".into();
    let replaced = api
        .replace("prod", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert_eq!(replaced.data["spec"]["template"], "t2");
    assert_eq!(replaced.metadata.generation, Some(2));
    assert_eq!(replaced.metadata.uid.as_deref(), Some(uid.as_str()));
    let rv2 = replaced.metadata.resource_version.clone().expect("rv");
    assert_ne!(rv2, rv1);

    let mut stale = got;
    stale.data["spec"]["template"] = "t3".into();
    match api.replace("prod", &PostParams::default(), &stale).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 409, "{status:?}");
            assert_eq!(status.reason, "Conflict");
            assert_eq!(status.message, CONFLICT);
            let details = status.details.as_ref().expect("details");
            assert_eq!(
                (
                    details.name.as_str(),
                    details.group.as_str(),
                    details.kind.as_str()
                ),
                ("prod", GROUP, "clusterdeployments")
            );
        }
        other => panic!("a stale replace is a Conflict, got {other:?}"),
    }
    let current = api.get("prod").await.expect("get");
    assert_eq!(
        current.metadata.resource_version.as_deref(),
        Some(rv2.as_str())
    );
    assert_eq!(current.data["spec"]["template"], "t2");

    let deleted = api
        .delete("prod", &DeleteParams::default())
        .await
        .expect("delete");
    let status = deleted
        .right()
        .expect("a Success status for a deleted custom resource");
    assert!(status.is_success(), "{status:?}");
    let details = status.details.as_ref().expect("details");
    assert_eq!(details.name, "prod");
    assert_eq!(details.uid, uid);

    match api.get("prod").await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 404, "{status:?}");
            assert_eq!(status.reason, "NotFound");
            assert_eq!(
                status.message,
                "clusterdeployments.fleet.k0rdent.io \"prod\" not found"
            );
        }
        other => panic!("a deleted object is NotFound, got {other:?}"),
    }
    assert!(api
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .is_empty());
}

on_both_backends!(
    discovery_finds_the_group_and_resource_with_scope_and_verbs,
    dynamic_api_creates_gets_replaces_and_deletes,
);
