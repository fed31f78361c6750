//! Encryption at rest through the generic store: each resource sealed by its codec, and an
//! update that changes nothing still rewrites a stale value (read with another key than the
//! one that writes), as GuaranteedUpdate does — what makes `kubectl replace` re-encrypt.

use std::sync::Arc;

use serde_json::{json, Value};
use storage::{Codec, Codecs, EmbeddedOptions, EmbeddedStore, Provider, Store};

use super::{GenericStore, Subresource, WriteOptions};
use crate::resource::{Resource, ResourceDefinition, Scope};
use crate::strategy::SchemalessStrategy;

fn resource(kind: &str, plural: &str) -> Resource {
    Resource {
        def: ResourceDefinition::new(
            "fleet.k0rdent.io",
            "v1alpha1",
            kind,
            plural,
            Scope::Namespaced,
        ),
        strategy: Arc::new(SchemalessStrategy),
    }
}

fn object(kind: &str, name: &str) -> Value {
    json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"description": "SECRET"},
    })
}

fn aes(keys: &[(&str, u8)]) -> Codec {
    let keys: Vec<(String, Vec<u8>)> = keys
        .iter()
        .map(|(name, byte)| ((*name).to_owned(), vec![*byte; 32]))
        .collect();
    Codec::new(vec![Provider::aes_gcm(&keys).unwrap(), Provider::Identity]).unwrap()
}

/// Codecs encrypting credentials only, with `codec`.
fn credentials_with(codec: &Codec) -> Codecs {
    Codecs::plain().with_codec("fleet.k0rdent.io", "credentials", codec.clone())
}

#[tokio::test]
async fn credentials_are_sealed_by_their_codec_and_stale_values_are_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let embedded: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap());
    let one = aes(&[("one", 1)]);
    let store = GenericStore::new(embedded.clone(), credentials_with(&one), "/registry");
    let credentials = resource("Credential", "credentials");
    let deployments = resource("ClusterDeployment", "clusterdeployments");
    let options = WriteOptions::default();
    let ns = Some("default");
    store
        .create(&credentials, ns, object("Credential", "c"), &options)
        .await
        .unwrap();
    store
        .create(&deployments, ns, object("ClusterDeployment", "d"), &options)
        .await
        .unwrap();
    let raw = |key: &'static str| {
        let embedded = embedded.clone();
        async move { embedded.get(key).await.unwrap() }
    };
    let sealed = raw("/registry/fleet.k0rdent.io/credentials/default/c").await;
    assert!(!sealed.value.windows(6).any(|w| w == b"SECRET"));
    assert!(sealed.value.windows(3).any(|w| w == b"one"));
    let plain = raw("/registry/fleet.k0rdent.io/clusterdeployments/default/d").await;
    assert!(plain.value.windows(6).any(|w| w == b"SECRET"));

    // Rotate: "two" writes, "one" reads. An update that changes nothing rewrites the value.
    store.set_codecs(credentials_with(&aes(&[("two", 2), ("one", 1)])));
    let current = store.get(&credentials, ns, "c").await.unwrap();
    let written = store
        .update(
            &credentials,
            ns,
            "c",
            current.clone(),
            Subresource::Main,
            &options,
        )
        .await
        .unwrap();
    assert_ne!(
        written.object["metadata"]["resourceVersion"], current["metadata"]["resourceVersion"],
        "a stale value is written again"
    );
    let rewritten = raw("/registry/fleet.k0rdent.io/credentials/default/c").await;
    assert!(rewritten.value.windows(3).any(|w| w == b"two"));
    // Now current: the same update is a no-op.
    let current = store.get(&credentials, ns, "c").await.unwrap();
    let again = store
        .update(
            &credentials,
            ns,
            "c",
            current.clone(),
            Subresource::Main,
            &options,
        )
        .await
        .unwrap();
    assert_eq!(
        again.object["metadata"]["resourceVersion"],
        current["metadata"]["resourceVersion"]
    );
    // And "one" can go.
    store.set_codecs(credentials_with(&aes(&[("two", 2)])));
    let read = store.get(&credentials, ns, "c").await.unwrap();
    assert_eq!(read["spec"]["description"], "SECRET");
}
