//! OpenAPI documents generated from the registered resources: v3 (`/openapi/v3` and one
//! document per group-version, addressed by content hash) and v2 (`/openapi/v2`, as JSON or
//! protobuf), as k8s.io/kube-openapi's handlers serve them. Only operations, parameters and
//! patch types the handlers really implement are declared: kubectl decides from them whether
//! to validate on the client (it does not when the PATCH operation declares `fieldValidation`).

mod definitions;
mod gnostic;
mod paths;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, ETAG, EXPIRES, LOCATION, VARY};
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
    /// `v2` as the gnostic protobuf message.
    v2_protobuf: Document,
    v3_root: Bytes,
    /// By group-version path (`apis/<group>/<version>` or `api/v1`).
    v3: BTreeMap<String, Document>,
}

#[derive(Debug)]
struct Document {
    body: Bytes,
    /// Upper-case hex SHA-512 of the body.
    hash: String,
    content_type: &'static str,
}

impl Document {
    fn new(value: &Value) -> Self {
        let body = serde_json::to_vec(value).expect("JSON values always serialise");
        Document::with_type(body, "application/json")
    }

    fn with_type(body: Vec<u8>, content_type: &'static str) -> Self {
        let body = Bytes::from(body);
        let hash = format!("{:X}", Sha512::digest(&body));
        Document {
            body,
            hash,
            content_type,
        }
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
        let representation = match negotiate(headers, matches!(wanted, Wanted::V2)) {
            Ok(representation) => representation,
            Err(e) => return Some(response::error(&e)),
        };
        let docs = self.documents();
        Some(match wanted {
            Wanted::V2 if representation == Representation::Protobuf => {
                cached(&docs.v2_protobuf, headers, false)
            }
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

/// The forms a document is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Json,
    Protobuf,
}

/// The first form the client's ranges name (JSON for an absent header or a wildcard), where
/// protobuf is offered only for v2 (kube-openapi `pkg/handler/handler.go`); 406 when none.
fn negotiate(headers: &HeaderMap, protobuf: bool) -> Result<Representation, ApiError> {
    let Some(accept) = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(Representation::Json);
    };
    for range in parse_accept(accept) {
        match range.essence.as_str() {
            "application/json" | "application/*" | "*/*" => return Ok(Representation::Json),
            gnostic::MEDIA_TYPE | gnostic::MEDIA_TYPE_DEPRECATED if protobuf => {
                return Ok(Representation::Protobuf)
            }
            _ => {}
        }
    }
    if protobuf {
        Err(ApiError::not_acceptable(&[
            "application/json",
            gnostic::MEDIA_TYPE,
        ]))
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
/// addressed by its own hash. Each form has its own ETag, and caches keep them apart by
/// `Accept`.
fn cached(doc: &Document, headers: &HeaderMap, immutable: bool) -> Response<Body> {
    let etag = doc.etag();
    let matches = headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        response::with_type(StatusCode::NOT_MODIFIED, doc.content_type, Bytes::new())
    } else {
        response::with_type(StatusCode::OK, doc.content_type, doc.body.clone())
    };
    let h = response.headers_mut();
    h.insert(VARY, HeaderValue::from_static("Accept"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, value);
    }
    if immutable {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("public, immutable"));
        let in_a_year = registry::time::unix_now() + 365 * 86_400;
        if let Ok(value) = HeaderValue::from_str(&registry::time::format_http_date(in_a_year)) {
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
        let v2 = v2_document(&all);
        Documents {
            v2: Document::new(&v2),
            v2_protobuf: Document::with_type(gnostic::encode(&v2), gnostic::MEDIA_TYPE),
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
    let style = definitions::Style::V3;
    let mut paths = serde_json::Map::new();
    let mut components = definitions::meta_schemas(style);
    for r in served {
        paths.extend(paths::resource_paths(r, style));
        components.extend(definitions::resource_schemas(r, style));
    }
    json!({
        "openapi": "3.0.0",
        "info": info(),
        "paths": paths,
        "components": {"schemas": components},
    })
}

fn v2_document(served: &[&Resource]) -> Value {
    let style = definitions::Style::V2;
    let mut paths = serde_json::Map::new();
    let mut definitions = definitions::meta_schemas(style);
    for r in served {
        paths.extend(paths::resource_paths(r, style));
        definitions.extend(definitions::resource_schemas(r, style));
    }
    json!({
        "swagger": "2.0",
        "info": info(),
        "paths": paths,
        "definitions": definitions,
    })
}

#[cfg(test)]
mod tests {
    use http::header::{ACCEPT, CONTENT_TYPE, IF_NONE_MATCH};

    use super::*;

    fn get(path: &str, accept: &str, etag: Option<&str>) -> Response<Body> {
        let catalog = Arc::new(Catalog::new());
        crate::handlers::review::install(&catalog).expect("review kinds register");
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(accept).expect("header"));
        if let Some(etag) = etag {
            headers.insert(IF_NONE_MATCH, HeaderValue::from_str(etag).expect("header"));
        }
        let openapi = OpenApi::new(catalog);
        openapi
            .respond(path, &[], &headers)
            .expect("an OpenAPI path")
    }

    fn header(response: &Response<Body>, name: http::header::HeaderName) -> &str {
        let value = response.headers().get(name).expect("header set");
        value.to_str().expect("ASCII header")
    }

    #[test]
    fn v2_is_protobuf_for_either_spelling_of_its_media_type() {
        let json = get("/openapi/v2", "application/json", None);
        for accept in [gnostic::MEDIA_TYPE, gnostic::MEDIA_TYPE_DEPRECATED] {
            let response = get("/openapi/v2", accept, None);
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(header(&response, CONTENT_TYPE), gnostic::MEDIA_TYPE);
            assert_eq!(header(&response, VARY), "Accept");
            assert_ne!(header(&response, ETAG), header(&json, ETAG));
            let etag = header(&response, ETAG);
            let again = get("/openapi/v2", accept, Some(etag));
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        }
    }

    #[test]
    fn json_comes_first_and_protobuf_is_only_for_v2() {
        let either = format!("application/json, {}", gnostic::MEDIA_TYPE);
        let response = get("/openapi/v2", &either, None);
        assert_eq!(header(&response, CONTENT_TYPE), "application/json");
        let v3 = get("/openapi/v3", gnostic::MEDIA_TYPE_DEPRECATED, None);
        assert_eq!(v3.status(), StatusCode::NOT_ACCEPTABLE);
        let yaml = get("/openapi/v2", "application/yaml", None);
        assert_eq!(yaml.status(), StatusCode::NOT_ACCEPTABLE);
    }
}
