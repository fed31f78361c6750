//! The typed API of `fleet_api` with kube-rs against `fleet-apiserver up`, on the embedded
//! store and on etcd: every example object deserializes into its kind's Rust type and is
//! created through `Api<Kind>`, coming back with the server's defaults; a controller's round —
//! watch, patch `/status`, see the change — runs on `Api<ClusterDeployment>`.

#[macro_use]
mod support;

use std::pin::Pin;
use std::time::Duration;

use fleet_api::v1alpha1::clusterdeployment::{
    Condition, ConditionStatus, ConditionType, MachineCounts, Phase,
};
use fleet_api::v1alpha1::multiclusterservice::{SyncMode, DEFAULT_PRIORITY};
use fleet_api::v1alpha1::{
    ClusterDeployment, ClusterDeploymentSpec, ClusterDeploymentStatus, ClusterTemplate, Credential,
    MultiClusterService, PriceList, ServiceTemplate,
};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use support::{example_files, Backend, TestServer};

/// How long one expected watch event may take.
const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The documents of an example file as `K`, each checked to be that kind.
fn examples_of<K: DeserializeOwned + Resource<DynamicType = ()>>(prefix: &str) -> Vec<K> {
    let mut objects = Vec::new();
    for file in example_files(&[prefix]) {
        let text = std::fs::read_to_string(&file).expect("the example");
        for document in yaml_serde::Deserializer::from_str(&text) {
            let value: serde_json::Value = serde::Deserialize::deserialize(document).expect("YAML");
            assert_eq!(value["kind"], K::kind(&()).as_ref(), "{file}");
            assert_eq!(value["apiVersion"], K::api_version(&()).as_ref(), "{file}");
            let object = serde_json::from_value(value)
                .unwrap_or_else(|e| panic!("{file} is a {}: {e}", K::kind(&())));
            objects.push(object);
        }
    }
    assert!(!objects.is_empty(), "examples/{prefix}*");
    objects
}

/// Creates every example of a kind through `api` and returns what the server stored.
async fn create_examples<K>(api: &Api<K>, prefix: &str) -> Vec<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let mut created = Vec::new();
    for object in examples_of::<K>(prefix) {
        let stored = api
            .create(&PostParams::default(), &object)
            .await
            .unwrap_or_else(|e| panic!("create {}: {e}", object.name_any()));
        assert_eq!(stored.name_any(), object.name_any());
        assert!(stored.meta().uid.is_some() && stored.meta().resource_version.is_some());
        created.push(stored);
    }
    created
}

async fn every_kind_round_trips_through_its_typed_api(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let ns = |client: &kube::Client| client.default_namespace().to_owned();

    let templates: Api<ClusterTemplate> = Api::namespaced(client.clone(), &ns(&client));
    for stored in create_examples(&templates, "clustertemplate-").await {
        assert!(!stored.spec.kubernetes_version.is_empty());
    }
    let services: Api<ServiceTemplate> = Api::namespaced(client.clone(), &ns(&client));
    create_examples(&services, "servicetemplate-").await;
    let credentials: Api<Credential> = Api::namespaced(client.clone(), &ns(&client));
    create_examples(&credentials, "credential-").await;
    let clusters: Api<ClusterDeployment> = Api::namespaced(client.clone(), &ns(&client));
    for stored in create_examples(&clusters, "clusterdeployment").await {
        // Services without a namespace are installed in one named after them.
        for service in &stored.spec.services {
            assert!(service.namespace.is_some(), "{service:?}");
        }
    }

    let mcs: Api<MultiClusterService> = Api::all(client.clone());
    for stored in create_examples(&mcs, "multiclusterservice-").await {
        assert!(stored.spec.priority >= 1, "{:?}", stored.spec);
    }
    let ingress = mcs.get("ingress").await.expect("the ingress example");
    assert_eq!(ingress.spec.template_namespace, "default");
    // Left out of the example: the type's defaults are the server's.
    assert_eq!(ingress.spec.priority, DEFAULT_PRIORITY);
    assert_eq!(ingress.spec.sync_mode, SyncMode::Continuous);

    let prices: Api<PriceList> = Api::all(client.clone());
    let default = prices.get("default").await.expect("the default PriceList");
    assert_eq!(default.spec.currency, "USD");
    assert!(!default.spec.instance_types.is_empty());
    assert_eq!(default.status, None);
    let listed = prices.list(&Default::default()).await.expect("list");
    assert_eq!(
        listed
            .items
            .iter()
            .map(|p| p.name_any())
            .collect::<Vec<_>>(),
        ["default"]
    );
}

/// The next watcher event, failing the test on an error, the end, or a timeout.
async fn next_event<S>(stream: &mut S, what: &str) -> Event<ClusterDeployment>
where
    S: WatchStreamExt<Item = watcher::Result<Event<ClusterDeployment>>> + Unpin,
{
    let next = std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx));
    match tokio::time::timeout(EVENT_TIMEOUT, next).await {
        Err(_) => panic!("no event within {EVENT_TIMEOUT:?} while waiting for {what}"),
        Ok(None) => panic!("the watcher ended while waiting for {what}"),
        Ok(Some(Err(e))) => panic!("the watcher failed while waiting for {what}: {e}"),
        Ok(Some(Ok(event))) => event,
    }
}

async fn a_controller_round_watches_and_patches_status(backend: Backend) {
    let Some(server) = TestServer::start(backend) else {
        return;
    };
    let client = server.client().await;
    let clusters: Api<ClusterDeployment> = Api::namespaced(client.clone(), "default");
    let wanted = ClusterDeployment::new(
        "dev-1",
        ClusterDeploymentSpec {
            template: "sim-1-33".into(),
            credential: "sim".into(),
            ..ClusterDeploymentSpec::default()
        },
    );
    let created = clusters
        .create(&PostParams::default(), &wanted)
        .await
        .expect("create");
    assert_eq!(created.spec, wanted.spec);
    assert_eq!(created.status, None);
    assert_eq!(created.metadata.generation, Some(1));

    let mut stream = Box::pin(watcher::watcher(clusters.clone(), Default::default()));
    let mut initial = Vec::new();
    loop {
        match next_event(&mut stream, "the initial list").await {
            Event::Init => {}
            Event::InitApply(cluster) => initial.push(cluster.name_any()),
            Event::InitDone => break,
            other => panic!("an initial event, got {other:?}"),
        }
    }
    assert_eq!(initial, ["dev-1"]);

    let status = ClusterDeploymentStatus {
        phase: Some(Phase::Provisioning),
        conditions: Some(vec![Condition {
            type_: ConditionType::Ready,
            status: ConditionStatus::False,
            reason: "Provisioning".into(),
            message: "0/1 control-plane machines ready".into(),
            observed_generation: Some(1),
            last_transition_time: "2026-12-06T12:00:00Z".into(),
        }]),
        control_plane: Some(MachineCounts {
            ready: 0,
            desired: 1,
        }),
        observed_generation: Some(1),
        ..ClusterDeploymentStatus::default()
    };
    let patched = clusters
        .patch_status(
            "dev-1",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .expect("patch /status");
    assert_eq!(patched.status.as_ref(), Some(&status));
    assert_eq!(patched.spec, wanted.spec, "/status leaves the spec alone");
    assert_eq!(
        patched.metadata.generation,
        Some(1),
        "status is no new generation"
    );

    match next_event(&mut stream, "the status change").await {
        Event::Apply(seen) => {
            assert_eq!(seen.status.as_ref(), Some(&status));
            assert_eq!(seen.resource_version(), patched.resource_version());
        }
        other => panic!("the patched object, got {other:?}"),
    }

    // A status sent to the main resource is ignored there, as for every kind with /status.
    let mut replaced = patched.clone();
    replaced.status = None;
    replaced.spec.paused = Some(true);
    let replaced = clusters
        .replace("dev-1", &PostParams::default(), &replaced)
        .await
        .expect("replace");
    assert_eq!(replaced.status.as_ref(), Some(&status));
    assert_eq!(replaced.spec.paused, Some(true));
    assert_eq!(replaced.metadata.generation, Some(2));
    match next_event(&mut stream, "the spec change").await {
        Event::Apply(seen) => assert_eq!(seen.spec.paused, Some(true)),
        other => panic!("the replaced object, got {other:?}"),
    }
}

on_both_backends!(
    every_kind_round_trips_through_its_typed_api,
    a_controller_round_watches_and_patches_status,
);
