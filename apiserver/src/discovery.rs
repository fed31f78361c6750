//! Discovery documents (`/api`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`, and
//! aggregated discovery v2 / v2beta1), built from the catalog alone — never from storage —
//! and cached until the catalog changes.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, ETAG, VARY};
use http::{HeaderMap, Response, StatusCode};
use registry::catalog::CatalogCache;
use registry::{ApiError, Catalog, Resource};
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use crate::negotiation::parse_accept;
use crate::response::{self, Body};

/// The verbs of a resource, as discovery lists them.
pub fn verbs(def: &registry::ResourceDefinition) -> Vec<&'static str> {
    def.verbs.names()
}
/// The verbs of a `/status` subresource, sorted.
pub const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

const DISCOVERY_GROUP: &str = "apidiscovery.k8s.io";

/// Discovery documents, rebuilt when the catalog's generation changes.
#[derive(Debug)]
pub struct Discovery {
    documents: CatalogCache<Documents>,
}

#[derive(Debug)]
struct Documents {
    /// `/apis` as an `APIGroupList`.
    group_list: Bytes,
    /// `/api` as `APIVersions`.
    legacy_versions: Bytes,
    /// `/apis/<group>`.
    groups: HashMap<String, Bytes>,
    /// `/api/v1` and `/apis/<group>/<version>` as `APIResourceList`s.
    resource_lists: HashMap<(String, String), Bytes>,
    /// Aggregated documents by (legacy, version): body and ETag.
    aggregated: HashMap<(bool, &'static str), (Bytes, String)>,
}

impl Discovery {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Discovery {
            documents: CatalogCache::new(catalog, Documents::build),
        }
    }

    fn documents(&self) -> Arc<Documents> {
        self.documents.get()
    }

    /// `/api` (legacy) or `/apis`, plain or aggregated as the `Accept` header asks.
    pub fn root(&self, legacy: bool, headers: &HeaderMap) -> Response<Body> {
        let docs = self.documents();
        match aggregated_version(headers) {
            Err(e) => response::error(&e),
            Ok(Some(version)) => {
                let (body, etag) = &docs.aggregated[&(legacy, version)];
                aggregated_response(version, body, etag, headers)
            }
            Ok(None) if legacy => json_bytes(&docs.legacy_versions),
            Ok(None) => json_bytes(&docs.group_list),
        }
    }

    /// `/apis/<group>`.
    pub fn group(&self, group: &str) -> Response<Body> {
        match self.documents().groups.get(group) {
            Some(doc) => json_bytes(doc),
            None => response::error(&ApiError::no_such_path()),
        }
    }

    /// `/api/<version>` or `/apis/<group>/<version>`: answered from memory, never waiting,
    /// because the aggregator's availability check depends on it.
    pub fn group_version(&self, group: &str, version: &str) -> Response<Body> {
        let key = (group.to_owned(), version.to_owned());
        match self.documents().resource_lists.get(&key) {
            Some(doc) => json_bytes(doc),
            None => response::error(&ApiError::no_such_path()),
        }
    }
}

fn json_bytes(bytes: &Bytes) -> Response<Body> {
    response::with_type(StatusCode::OK, "application/json", bytes.clone())
}

/// The aggregated discovery version asked for, `None` for the plain documents, 406 when
/// the header admits neither.
fn aggregated_version(headers: &HeaderMap) -> Result<Option<&'static str>, ApiError> {
    let Some(accept) = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if accept.trim().is_empty() {
        return Ok(None);
    }
    for range in parse_accept(accept) {
        let json = matches!(
            range.essence.as_str(),
            "application/json" | "application/*" | "*/*"
        );
        match (range.param("as"), range.param("g"), range.param("v")) {
            (Some("APIGroupDiscoveryList"), Some(DISCOVERY_GROUP), Some("v2")) if json => {
                return Ok(Some("v2"))
            }
            (Some("APIGroupDiscoveryList"), Some(DISCOVERY_GROUP), Some("v2beta1")) if json => {
                return Ok(Some("v2beta1"))
            }
            (None, _, _) if json => return Ok(None),
            _ => {}
        }
    }
    Err(ApiError::not_acceptable(&[
        "application/json",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
    ]))
}

fn aggregated_response(
    version: &str,
    body: &Bytes,
    etag: &str,
    headers: &HeaderMap,
) -> Response<Body> {
    let matches = headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let content_type =
        format!("application/json;g={DISCOVERY_GROUP};v={version};as=APIGroupDiscoveryList");
    let mut response = if matches {
        response::with_type(StatusCode::NOT_MODIFIED, &content_type, Bytes::new())
    } else {
        response::with_type(StatusCode::OK, &content_type, body.clone())
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(ETAG, value);
    }
    h.insert(VARY, HeaderValue::from_static("Accept"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("public"));
    response
}

impl Documents {
    fn build(catalog: &Catalog) -> Self {
        let resources = catalog.all();
        let mut groups = catalog.groups();
        // The core group always exists (clients such as kube-rs refuse a server without
        // it), even while no core resource is registered: `/api/v1` then lists none.
        if !groups.iter().any(|(g, _)| g.is_empty()) {
            groups.insert(0, (String::new(), vec!["v1".to_owned()]));
        }
        let mut docs = Documents {
            group_list: Bytes::new(),
            legacy_versions: Bytes::new(),
            groups: HashMap::new(),
            resource_lists: HashMap::new(),
            aggregated: HashMap::new(),
        };
        let mut group_entries = Vec::new();
        for (group, versions) in &groups {
            for version in versions {
                let served: Vec<&Arc<Resource>> = resources
                    .iter()
                    .filter(|r| &r.def.group == group && &r.def.version == version)
                    .collect();
                let list = resource_list(group, version, &served);
                docs.resource_lists
                    .insert((group.clone(), version.clone()), to_bytes(&list));
            }
            if !group.is_empty() {
                let entry = api_group(group, versions);
                docs.groups.insert(group.clone(), to_bytes(&entry));
                group_entries.push(entry);
            }
        }
        docs.group_list = to_bytes(&json!({
            "kind": "APIGroupList", "apiVersion": "v1", "groups": group_entries
        }));
        let core_versions: Vec<&String> = groups
            .iter()
            .filter(|(g, _)| g.is_empty())
            .flat_map(|(_, v)| v)
            .collect();
        docs.legacy_versions = to_bytes(&json!({
            "kind": "APIVersions",
            "versions": core_versions,
            "serverAddressByClientCIDRs": null
        }));
        for legacy in [true, false] {
            for version in ["v2", "v2beta1"] {
                let doc = aggregated(&groups, &resources, legacy, version);
                let body = to_bytes(&doc);
                let etag = format!("\"{:X}\"", Sha512::digest(&body));
                docs.aggregated.insert((legacy, version), (body, etag));
            }
        }
        docs
    }
}

fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("JSON values always serialise"))
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": group_version(group, v), "version": v}))
        .collect();
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries.first().cloned().unwrap_or(Value::Null),
    })
}

fn resource_list(group: &str, version: &str, served: &[&Arc<Resource>]) -> Value {
    let mut entries = Vec::new();
    for r in served {
        let d = &r.def;
        let mut entry = json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced(),
            "kind": d.kind,
            "verbs": verbs(d),
        });
        if d.verbs.stored() {
            entry["storageVersionHash"] = json!(d.storage_version_hash());
        }
        if !d.short_names.is_empty() {
            entry["shortNames"] = json!(d.short_names);
        }
        if !d.categories.is_empty() {
            entry["categories"] = json!(d.categories);
        }
        entries.push(entry);
        if d.status_subresource {
            entries.push(json!({
                "name": format!("{}/status", d.plural),
                "singularName": "",
                "namespaced": d.namespaced(),
                "kind": d.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": entries,
    })
}

/// An `APIGroupDiscoveryList` (k8s.io/api `apidiscovery/v2`) of the core group (`legacy`) or
/// of every other group.
fn aggregated(
    groups: &[(String, Vec<String>)],
    resources: &[Arc<Resource>],
    legacy: bool,
    version: &str,
) -> Value {
    let items: Vec<Value> = groups
        .iter()
        .filter(|(g, _)| g.is_empty() == legacy)
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let entries: Vec<Value> = resources
                        .iter()
                        .filter(|r| &r.def.group == group && &r.def.version == v)
                        .map(|r| aggregated_resource(r))
                        .collect();
                    json!({"version": v, "resources": entries, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("{DISCOVERY_GROUP}/{version}"),
        "metadata": {},
        "items": items,
    })
}

fn aggregated_resource(r: &Resource) -> Value {
    let d = &r.def;
    let kind = json!({"group": d.group, "version": d.version, "kind": d.kind});
    let mut entry = json!({
        "resource": d.plural,
        "responseKind": kind,
        "scope": if d.namespaced() { "Namespaced" } else { "Cluster" },
        "singularResource": d.singular,
        "verbs": verbs(d),
    });
    if !d.short_names.is_empty() {
        entry["shortNames"] = json!(d.short_names);
    }
    if !d.categories.is_empty() {
        entry["categories"] = json!(d.categories);
    }
    if d.status_subresource {
        entry["subresources"] = json!([{
            "subresource": "status",
            "responseKind": kind,
            "verbs": STATUS_VERBS,
        }]);
    }
    entry
}
