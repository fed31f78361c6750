//! A `dependsOn` cycle through other MultiClusterServices, found by reading them. Every write
//! that adds an edge is checked, so no stored cycle can form (short of two racing writes,
//! which the controller reports). Missing objects are fine: they may be created later.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::admission::{Admission, Request};
use crate::errors::ApiError;
use crate::field::{FieldError, FieldErrorKind};
use crate::generic::GenericStore;
use crate::meta;
use crate::resource::{Resource, ResourceDefinition};
use crate::strategy::SchemalessStrategy;

/// At most this many MultiClusterServices are read for one check.
const MAX_READS: usize = 256;

/// Refuses a `spec.dependsOn` entry that leads back to the object being written.
#[derive(Debug)]
pub(super) struct NoCycles {
    /// The resource, for its storage keys (its strategy is not used).
    resource: Resource,
}

impl NoCycles {
    pub(super) fn new(def: ResourceDefinition) -> Self {
        NoCycles {
            resource: Resource {
                def,
                strategy: Arc::new(SchemalessStrategy),
            },
        }
    }

    /// The chain of names from `first` back to `own` (`[first, …]`), if there is one.
    async fn path_back(
        &self,
        store: &GenericStore,
        first: &str,
        own: &str,
    ) -> Result<Option<Vec<String>>, ApiError> {
        // Each visited name and the name it was reached from.
        let mut parents: BTreeMap<String, Option<String>> = BTreeMap::new();
        parents.insert(first.to_owned(), None);
        let mut queue = VecDeque::from([first.to_owned()]);
        while let Some(name) = queue.pop_front() {
            if parents.len() > MAX_READS {
                break;
            }
            let dependencies = match store.get(&self.resource, None, &name).await {
                Ok(obj) => depends_on(&obj),
                Err(e) if e.code() == 404 => continue,
                Err(e) => return Err(e),
            };
            if dependencies.iter().any(|d| d == own) {
                let mut chain = vec![name.clone()];
                while let Some(Some(parent)) = parents.get(chain.last().unwrap_or(&name)) {
                    chain.push(parent.clone());
                }
                chain.reverse();
                return Ok(Some(chain));
            }
            for dependency in dependencies {
                if !parents.contains_key(&dependency) {
                    parents.insert(dependency.clone(), Some(name.clone()));
                    queue.push_back(dependency);
                }
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Admission for NoCycles {
    async fn admit(&self, request: &Request<'_>) -> Vec<FieldError> {
        let own = meta::name(request.new).unwrap_or_default();
        let mut errors = Vec::new();
        for (i, first) in depends_on(request.new).iter().enumerate() {
            if first == own {
                continue; // `validate` reports it.
            }
            let at = format!("spec.dependsOn[{i}]");
            match self.path_back(request.store, first, own).await {
                Ok(None) => {}
                Ok(Some(chain)) => {
                    let mut names = vec![own];
                    names.extend(chain.iter().map(String::as_str));
                    names.push(own);
                    errors.push(FieldError::invalid(
                        &at,
                        &json!(first),
                        &format!("dependency cycle: {}", names.join(" -> ")),
                    ));
                }
                Err(e) => errors.push(FieldError {
                    kind: FieldErrorKind::Internal,
                    field: at,
                    value: None,
                    detail: format!("reading the MultiClusterServices it depends on: {e}"),
                }),
            }
        }
        errors
    }
}

/// `spec.dependsOn` of a MultiClusterService (its string items).
fn depends_on(obj: &Value) -> Vec<String> {
    obj["spec"]["dependsOn"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use storage::{Codec, EmbeddedOptions, EmbeddedStore};

    use super::*;
    use crate::catalog::Catalog;
    use crate::fleet;
    use crate::generic::{Subresource, WriteOptions};

    fn mcs(name: &str, depends_on: &[&str]) -> Value {
        json!({
            "apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "MultiClusterService",
            "metadata": {"name": name},
            "spec": {"clusterSelector": {}, "dependsOn": depends_on},
        })
    }

    fn causes(error: ApiError) -> Vec<String> {
        let details = error.status().details.clone().unwrap_or_default();
        details
            .causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[tokio::test]
    async fn a_dependency_leading_back_through_stored_objects_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let embedded = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
        let store = GenericStore::new(Arc::new(embedded), Codec::plain(), "/registry");
        let catalog = Catalog::new();
        super::super::register(&catalog).unwrap();
        let res = catalog
            .find(fleet::GROUP, fleet::VERSION, "multiclusterservices")
            .unwrap();
        let options = WriteOptions::default();
        // a -> b (missing yet), then b -> c, then c -> a closes the loop.
        store
            .create(&res, None, mcs("a", &["b"]), &options)
            .await
            .unwrap();
        store
            .create(&res, None, mcs("b", &["c", "x"]), &options)
            .await
            .unwrap();
        let error = store
            .create(&res, None, mcs("c", &["a"]), &options)
            .await
            .unwrap_err();
        assert_eq!(error.code(), 422);
        assert_eq!(
            causes(error),
            ["spec.dependsOn[0]: Invalid value: \"a\": dependency cycle: c -> a -> b -> c"]
        );
        store
            .create(&res, None, mcs("c", &[]), &options)
            .await
            .unwrap();
        // An update that adds the closing edge is refused too; nothing changes.
        let mut a = store.get(&res, None, "a").await.unwrap();
        let before = a.clone();
        a["spec"]["dependsOn"] = json!(["b", "d"]);
        store
            .update(&res, None, "a", a, Subresource::Main, &options)
            .await
            .unwrap();
        let mut c = store.get(&res, None, "c").await.unwrap();
        c["spec"]["dependsOn"] = json!(["a"]);
        let error = store
            .update(&res, None, "c", c, Subresource::Main, &options)
            .await
            .unwrap_err();
        assert_eq!(
            causes(error),
            ["spec.dependsOn[0]: Invalid value: \"a\": dependency cycle: c -> a -> b -> c"]
        );
        assert_ne!(before, store.get(&res, None, "a").await.unwrap());
        assert_eq!(
            store.get(&res, None, "c").await.unwrap()["spec"]["dependsOn"],
            json!([])
        );
    }
}
