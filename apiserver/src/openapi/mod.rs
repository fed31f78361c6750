//! OpenAPI documents generated from the registered resources: v3 (`/openapi/v3` and one
//! document per group-version, addressed by content hash) and v2 (`/openapi/v2`), as
//! k8s.io/kube-openapi's handlers serve them. Only operations, parameters and patch types the
//! handlers really implement are declared: kubectl decides from them whether to validate on
//! the client (it does not when the PATCH operation declares `fieldValidation`).

mod paths;
mod schemas;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, ETAG, EXPIRES, LOCATION};
use http::{HeaderMap, Response, StatusCode};
use registry::catalog::CatalogCache;
use registry::{ApiError, Catalog, Resource};
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use crate::negotiation::parse_accept;
use crate::response::{self, Body};

/// The OpenAPI documents, rebuilt when the catalog changes.
#[derive(Debug)]
pub struct OpenApi {
    documents: CatalogCache<Documents>,
}

#[derive(Debug)]
struct Documents {
    v2: Document,
    v3_root: Bytes,
    /// By group-version path (`apis/<group>/<version>` or `api/v1`).
    v3: BTreeMap<String, Document>,
}

#[derive(Debug)]
struct Document {
    body: Bytes,
    /// Upper-case hex SHA-512 of the body.
    hash: String,
}

impl Document {
    fn new(value: &Value) -> Self {
        let body = Bytes::from(serde_json::to_vec(value).expect("JSON values always serialise"));
        let hash = format!("{:X}", Sha512::digest(&body));
        Document { body, hash }
    }

    fn etag(&self) -> String {
        format!("\"{}\"", self.hash)
    }
}

/// Which document a path names.
enum Wanted<'a> {
    V2,
    V3Root,
    V3(&'a str),
}

impl OpenApi {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        OpenApi {
            documents: CatalogCache::new(catalog, |c| Documents::build(&c.all())),
        }
    }

    fn documents(&self) -> Arc<Documents> {
        self.documents.get()
    }

    /// Answers an OpenAPI path, or `None` when `path` is not one.
    pub fn respond(
        &self,
        path: &str,
        query: &[(String, String)],
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        let wanted = match path.trim_end_matches('/') {
            "/openapi/v2" => Wanted::V2,
            "/openapi/v3" => Wanted::V3Root,
            other => Wanted::V3(other.strip_prefix("/openapi/v3/")?),
        };
        if let Err(e) = accepts_json(headers) {
            return Some(response::error(&e));
        }
        let docs = self.documents();
        Some(match wanted {
            Wanted::V2 => cached(&docs.v2, headers, false),
            Wanted::V3Root => {
                response::with_type(StatusCode::OK, "application/json", docs.v3_root.clone())
            }
            Wanted::V3(gv) => match docs.v3.get(gv) {
                None => response::not_found_text(),
                Some(doc) => match query.iter().find(|(k, _)| k == "hash") {
                    Some((_, hash)) if *hash != doc.hash => redirect(gv, doc),
                    Some(_) => cached(doc, headers, true),
                    None => cached(doc, headers, false),
                },
            },
        })
    }
}

/// 406 unless the client takes JSON (the protobuf forms are not offered).
fn accepts_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    if accept.trim().is_empty() {
        return Ok(());
    }
    let json = parse_accept(accept).iter().any(|r| {
        matches!(
            r.essence.as_str(),
            "application/json" | "application/*" | "*/*"
        )
    });
    if json {
        Ok(())
    } else {
        Err(ApiError::not_acceptable(&["application/json"]))
    }
}

fn url(gv: &str, doc: &Document) -> String {
    format!("/openapi/v3/{gv}?hash={}", doc.hash)
}

/// A stale `?hash=` moves permanently to the current document.
fn redirect(gv: &str, doc: &Document) -> Response<Body> {
    let mut response = response::with_type(StatusCode::MOVED_PERMANENTLY, "text/plain", "");
    if let Ok(location) = HeaderValue::from_str(&url(gv, doc)) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// The document with its ETag (304 when it matches `If-None-Match`); `immutable` when
/// addressed by its own hash.
fn cached(doc: &Document, headers: &HeaderMap, immutable: bool) -> Response<Body> {
    let etag = doc.etag();
    let matches = headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        response::with_type(StatusCode::NOT_MODIFIED, "application/json", Bytes::new())
    } else {
        response::with_type(StatusCode::OK, "application/json", doc.body.clone())
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, value);
    }
    if immutable {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("public, immutable"));
        let in_a_year = registry::meta::unix_now() + 365 * 86_400;
        if let Ok(value) = HeaderValue::from_str(&registry::meta::format_http_date(in_a_year)) {
            h.insert(EXPIRES, value);
        }
    } else {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    }
    response
}

impl Documents {
    fn build(resources: &[Arc<Resource>]) -> Self {
        let mut by_gv: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
        for r in resources {
            by_gv.entry(gv_path(r)).or_default().push(r);
        }
        let v3: BTreeMap<String, Document> = by_gv
            .iter()
            .map(|(gv, served)| (gv.clone(), Document::new(&v3_document(served))))
            .collect();
        let root_paths: serde_json::Map<String, Value> = v3
            .iter()
            .map(|(gv, doc)| (gv.clone(), json!({"serverRelativeURL": url(gv, doc)})))
            .collect();
        let all: Vec<&Resource> = resources.iter().map(AsRef::as_ref).collect();
        Documents {
            v2: Document::new(&v2_document(&all)),
            v3_root: Bytes::from(
                serde_json::to_vec(&json!({"paths": root_paths})).expect("JSON serialises"),
            ),
            v3,
        }
    }
}

/// `apis/<group>/<version>`, or `api/<version>` for the core group.
fn gv_path(r: &Resource) -> String {
    if r.def.group.is_empty() {
        format!("api/{}", r.def.version)
    } else {
        format!("apis/{}/{}", r.def.group, r.def.version)
    }
}

fn info() -> Value {
    json!({
        "title": "fleet-apiserver",
        "version": format!("v1.{}.0+fleet-apiserver.{}", crate::KUBERNETES_MINOR, env!("CARGO_PKG_VERSION")),
    })
}

fn v3_document(served: &[&Resource]) -> Value {
    let style = schemas::Style::V3;
    let mut paths = serde_json::Map::new();
    let mut components = schemas::meta_schemas(style);
    for r in served {
        paths.extend(paths::resource_paths(r, style));
        components.extend(schemas::resource_schemas(r, style));
    }
    json!({
        "openapi": "3.0.0",
        "info": info(),
        "paths": paths,
        "components": {"schemas": components},
    })
}

fn v2_document(served: &[&Resource]) -> Value {
    let style = schemas::Style::V2;
    let mut paths = serde_json::Map::new();
    let mut definitions = schemas::meta_schemas(style);
    for r in served {
        paths.extend(paths::resource_paths(r, style));
        definitions.extend(schemas::resource_schemas(r, style));
    }
    json!({
        "swagger": "2.0",
        "info": info(),
        "paths": paths,
        "definitions": definitions,
    })
}
