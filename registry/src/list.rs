//! List with Kubernetes' semantics: pages pinned to the first page's revision through opaque
//! continue tokens, the resourceVersion rules (consistent, any, not older than, exact), and
//! label and field selectors applied while paging (k8s.io/apiserver
//! `pkg/storage/etcd3/store.go` `GetList`, `pkg/storage/continue.go`).

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use storage::{ListOptions, Revision};

use crate::errors::{ApiError, Result};
use crate::generic::GenericStore;
use crate::resource::Resource;
use crate::selector::{labels_of, FieldSelector, LabelSelector};

/// Which revision a list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAt {
    /// The latest state (resourceVersion unset, or "0": served from storage, so also latest).
    Latest,
    /// At least this revision: waits briefly for it, 504 when it does not come.
    NotOlderThan(Revision),
    /// Exactly this revision: 410 when compacted.
    Exact(Revision),
}

/// A list request, validated.
#[derive(Debug, Default)]
pub struct ListRequest {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// Page size; `None` for everything.
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub read_at: Option<ReadAt>,
}

/// One page of objects.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectList {
    pub items: Vec<Value>,
    pub resource_version: Revision,
    /// Set when more objects remain.
    pub continue_token: Option<String>,
    /// How many objects remain, when known (no selector).
    pub remaining_item_count: Option<u64>,
}

/// The token's content (the same fields as kube-apiserver's `continueToken`).
#[derive(Debug, Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: Revision,
    /// The last key returned, relative to the listed prefix.
    start: String,
}

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

/// How long a list waits for a resourceVersion newer than the store's.
const FUTURE_REVISION_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// How many keys one storage read takes: longer lists are read in pages at the first page's
/// revision, so a list of any size holds one page of stored values at a time.
const STORAGE_PAGE: usize = 1000;

fn encode_token(rv: Revision, start: &str) -> String {
    let token = ContinueToken {
        v: TOKEN_VERSION.into(),
        rv,
        start: start.into(),
    };
    let json = serde_json::to_vec(&token).expect("a token always serialises");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_token(token: &str) -> Result<ContinueToken> {
    let invalid = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid("not base64"))?;
    let token: ContinueToken =
        serde_json::from_slice(&bytes).map_err(|_| invalid("not a continue token"))?;
    if token.v != TOKEN_VERSION {
        return Err(invalid(
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    if token.start.is_empty() || token.start.contains("..") || token.start.starts_with('/') {
        return Err(invalid("continue key is not valid"));
    }
    Ok(token)
}

/// The message of a 410 for a continue token whose revision was compacted.
const EXPIRED_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// What comes with a list's items: the revision it was read at and where it goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMeta {
    pub resource_version: Revision,
    /// Set when more objects remain.
    pub continue_token: Option<String>,
    /// How many objects remain, when known (no selector).
    pub remaining_item_count: Option<u64>,
}

/// A list being read page by page ([`GenericStore::list_reader`]): every page after the first
/// at the first page's revision, so the pages are one consistent list.
pub struct ListReader<'a> {
    store: &'a GenericStore,
    res: &'a Resource,
    request: &'a ListRequest,
    filtered: bool,
    prefix: String,
    /// The revision read at: the request's, the token's, or the first page's.
    revision: Option<Revision>,
    start_after: Option<String>,
    inconsistent: bool,
    /// Objects handed out so far.
    listed: usize,
    started: bool,
    /// Set once the last page has been read.
    end: Option<ListMeta>,
}

impl std::fmt::Debug for ListReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListReader")
            .field("prefix", &self.prefix)
            .field("revision", &self.revision)
            .field("listed", &self.listed)
            .finish_non_exhaustive()
    }
}

impl ListReader<'_> {
    /// The next page of selected objects (possibly empty), or `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>> {
        if self.end.is_some() {
            return Ok(None);
        }
        if !self.started {
            self.started = true;
            if let Some(ReadAt::NotOlderThan(rv)) = self.request.read_at {
                self.store.wait_for(rv).await?;
            }
        }
        let (store, request) = (self.store, self.request);
        let wanted = request.limit.map(|l| l.saturating_sub(self.listed).max(1));
        let options = ListOptions {
            revision: self.revision,
            start_after: self.start_after.clone(),
            limit: Some(wanted.map_or(STORAGE_PAGE, |w| w.min(STORAGE_PAGE))),
            // What follows is counted only where the answer reports it: the page that may
            // end an unfiltered list with a limit (`remainingItemCount`).
            skip_count: self.filtered || wanted.is_none_or(|w| w > STORAGE_PAGE),
        };
        let page = match store.storage().list(&self.prefix, options).await {
            Ok(page) => page,
            Err(storage::Error::Compacted { .. }) if request.continue_token.is_some() => {
                let start = self.start_after.as_deref();
                return Err(store.expired_continue(&self.prefix, start).await);
            }
            // k8s.io/apiserver `storage/etcd3/store.go` interpretListError.
            Err(storage::Error::Compacted { .. }) => {
                return Err(ApiError::expired(
                    "The resourceVersion for the provided list is too old.",
                ));
            }
            Err(e) => {
                let gr = self.res.def.group_resource();
                return Err(ApiError::from_storage(e, &gr, ""));
            }
        };
        self.revision = Some(page.revision);
        let last = page.items.last().map(|kv| kv.key.clone());
        let (more, remaining) = (page.more(), page.remaining);
        let mut objects = Vec::with_capacity(page.items.len());
        for kv in page.items {
            let obj = store.decode(&kv)?;
            drop(kv);
            if !self.filtered || matches(self.res, &obj, request) {
                objects.push(obj);
            }
        }
        self.listed += objects.len();
        let full = request.limit.is_some_and(|l| self.listed >= l);
        if !more || full || last.is_none() {
            let revision = page.revision;
            let continue_token = match (more, &last) {
                (true, Some(last)) => {
                    let rv = if self.inconsistent { -1 } else { revision };
                    Some(encode_token(rv, &last[self.prefix.len()..]))
                }
                _ => None,
            };
            self.end = Some(ListMeta {
                resource_version: revision,
                continue_token,
                remaining_item_count: (!self.filtered && more).then_some(remaining),
            });
        }
        self.start_after = last;
        Ok(Some(objects))
    }

    /// Whether the last page has been read.
    pub fn is_done(&self) -> bool {
        self.end.is_some()
    }

    /// What comes with the items, once every page has been read.
    pub fn finished(self) -> ListMeta {
        self.end.unwrap_or(ListMeta {
            resource_version: self.revision.unwrap_or_default(),
            continue_token: None,
            remaining_item_count: None,
        })
    }
}

impl GenericStore {
    /// Lists objects of `res` as `request` asks.
    pub async fn list(&self, res: &Resource, request: &ListRequest) -> Result<ObjectList> {
        let mut items = Vec::new();
        let meta = self
            .list_each(res, request, |object| {
                items.push(object);
                Ok(())
            })
            .await?;
        Ok(ObjectList {
            items,
            resource_version: meta.resource_version,
            continue_token: meta.continue_token,
            remaining_item_count: meta.remaining_item_count,
        })
    }

    /// Lists objects of `res` as `request` asks, handing each to `visit` as soon as it is
    /// decoded (and selected), in key order: a caller that encodes them one by one never
    /// holds them all decoded.
    pub async fn list_each(
        &self,
        res: &Resource,
        request: &ListRequest,
        mut visit: impl FnMut(Value) -> Result<()> + Send,
    ) -> Result<ListMeta> {
        let mut reader = self.list_reader(res, request)?;
        while let Some(page) = reader.next_page().await? {
            for object in page {
                visit(object)?;
            }
        }
        Ok(reader.finished())
    }

    /// A reader of the list `request` asks for, one storage page of selected objects at a
    /// time (what a caller streaming the list to a client needs). A malformed continue token
    /// is an error here; everything else comes with the pages.
    pub fn list_reader<'a>(
        &'a self,
        res: &'a Resource,
        request: &'a ListRequest,
    ) -> Result<ListReader<'a>> {
        let prefix = self.prefix(res, request.namespace.as_deref());
        let (mut revision, start_after, inconsistent) = match &request.continue_token {
            Some(token) => {
                let token = decode_token(token)?;
                let start = format!("{prefix}{}", token.start);
                // rv -1: an inconsistent continuation, read at the latest revision.
                let revision = (token.rv > 0).then_some(token.rv);
                (revision, Some(start), token.rv <= 0)
            }
            None => (None, None, false),
        };
        if let Some(ReadAt::Exact(rv)) = request.read_at {
            revision = Some(rv);
        }
        Ok(ListReader {
            store: self,
            res,
            request,
            filtered: !request.labels.is_empty() || !request.fields.is_empty(),
            prefix,
            revision,
            start_after,
            inconsistent,
            listed: 0,
            started: false,
            end: None,
        })
    }

    /// Waits up to 3 s for the store to reach `revision`; 504 when it does not.
    async fn wait_for(&self, revision: Revision) -> Result<()> {
        let deadline = tokio::time::Instant::now() + FUTURE_REVISION_WAIT;
        loop {
            let current = self
                .storage()
                .current_revision()
                .await
                .map_err(|e| ApiError::from_storage(e, &Default::default(), ""))?;
            if current >= revision {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::from_storage(
                    storage::Error::FutureRevision {
                        requested: revision,
                        current,
                    },
                    &Default::default(),
                    "",
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// 410 for a compacted continue token, carrying an inconsistent continuation.
    async fn expired_continue(&self, prefix: &str, start_after: Option<&str>) -> ApiError {
        let mut error = ApiError::expired(EXPIRED_CONTINUE);
        if let Some(start) = start_after {
            let token = encode_token(-1, &start[prefix.len()..]);
            error
                .status_mut()
                .metadata
                .insert("continue".into(), Value::String(token));
        }
        error
    }
}

/// Whether an object passes the request's selectors.
fn matches(res: &Resource, obj: &Value, request: &ListRequest) -> bool {
    request.labels.matches(&labels_of(obj)) && request.fields.matches(&|f| field_value(res, obj, f))
}

/// The value of a selectable field of `obj`: `metadata.name`, `metadata.namespace`, or one
/// the resource declares.
pub fn field_value(res: &Resource, obj: &Value, field: &str) -> Option<String> {
    let path = match field {
        "metadata.name" => ".metadata.name",
        "metadata.namespace" => ".metadata.namespace",
        other => res
            .def
            .selectable_fields
            .iter()
            .find(|f| f.name == other)
            .map(|f| f.json_path.as_str())?,
    };
    let mut value = obj;
    for part in path.trim_start_matches('.').split('.') {
        value = value.get(part)?;
    }
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Checks that every field a selector names can be selected on `res` (400 otherwise).
pub fn check_selectable(res: &Resource, fields: &FieldSelector) -> Result<()> {
    for (field, _, _) in fields.requirements() {
        let known = matches!(field, "metadata.name" | "metadata.namespace")
            || res.def.selectable_fields.iter().any(|f| f.name == field);
        if !known {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {field}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = encode_token(42, "ns/name");
        let decoded = decode_token(&token).unwrap();
        assert_eq!((decoded.rv, decoded.start.as_str()), (42, "ns/name"));
        assert_eq!(decode_token("!!!").unwrap_err().code(), 400);
        let escape = encode_token(42, "../other/x");
        assert_eq!(decode_token(&escape).unwrap_err().code(), 400);
    }

    /// More objects than one storage page: a full list, a limit across pages and its
    /// continuation (with the exact count of what remains), a selected page.
    #[tokio::test]
    async fn lists_of_thousands_are_whole_paged_and_selected() {
        use std::sync::Arc;

        use serde_json::json;
        use storage::{Codec, EmbeddedOptions, EmbeddedStore};

        use crate::generic::WriteOptions;
        use crate::resource::{ResourceDefinition, Scope};
        use crate::strategy::SchemalessStrategy;

        let dir = tempfile::tempdir().unwrap();
        let embedded = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
        let store = GenericStore::new(Arc::new(embedded), Codec::plain(), "/registry");
        let def = ResourceDefinition::new("example.io", "v1", "Widget", "widgets", Scope::Cluster);
        let res = Resource {
            def,
            strategy: Arc::new(SchemalessStrategy),
        };
        const PAGE: usize = STORAGE_PAGE;
        let total = PAGE * 2 + 100;
        for i in 0..total {
            let parity = if i % 2 == 0 { "even" } else { "odd" };
            let obj = json!({"apiVersion": "example.io/v1", "kind": "Widget",
                "metadata": {"name": format!("w-{i:05}"), "labels": {"parity": parity}}});
            store
                .create(&res, None, obj, &WriteOptions::default())
                .await
                .unwrap();
        }
        let names = |list: &ObjectList| -> Vec<String> {
            list.items
                .iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
                .collect()
        };

        let all = store.list(&res, &ListRequest::default()).await.unwrap();
        assert_eq!(all.items.len(), total);
        assert_eq!(
            (all.continue_token.as_ref(), all.remaining_item_count),
            (None, None)
        );
        let expected: Vec<String> = (0..total).map(|i| format!("w-{i:05}")).collect();
        assert_eq!(names(&all), expected, "every object once, in key order");

        let limited = ListRequest {
            limit: Some(PAGE + 500),
            ..ListRequest::default()
        };
        let first = store.list(&res, &limited).await.unwrap();
        assert_eq!(first.items.len(), PAGE + 500);
        assert_eq!(first.remaining_item_count, Some(600));
        assert_eq!(first.resource_version, all.resource_version);
        let rest = ListRequest {
            continue_token: first.continue_token.clone(),
            ..ListRequest::default()
        };
        let second = store.list(&res, &rest).await.unwrap();
        assert_eq!(names(&second), expected[PAGE + 500..]);

        let odd = ListRequest {
            labels: LabelSelector::parse("parity=odd").unwrap(),
            limit: Some(PAGE),
            ..ListRequest::default()
        };
        let page = store.list(&res, &odd).await.unwrap();
        assert_eq!(page.items.len(), PAGE);
        assert_eq!(page.remaining_item_count, None, "unknown with a selector");
        assert!(page.continue_token.is_some());
        assert!(names(&page)
            .iter()
            .all(|n| n.ends_with(['1', '3', '5', '7', '9'])));
    }
}
