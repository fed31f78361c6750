//! GET of a collection: one page of objects, with selectors, paging and resourceVersion
//! rules validated as k8s.io/apimachinery `internalversion/validation` validates
//! `ListOptions`.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use http::{Response, StatusCode};
use hyper::body::Frame;
use registry::field::FieldError;
use registry::list::{check_selectable, ListMeta, ListReader, ListRequest, ReadAt};
use registry::selector::{FieldSelector, LabelSelector};
use registry::{ApiError, GenericStore, Resource};
use serde_json::Value;
use storage::Revision;
use tokio::sync::{mpsc, oneshot};

use super::{renderer, Call};
use crate::filters::compression::LongList;
use crate::negotiation::Shape;
use crate::response::{self, Body};
use crate::table::{ListEncoder, Renderer};

/// Bytes of encoded items sent at once when a list is streamed.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks in flight between the reader of a streamed list and the connection.
const CHUNKS_IN_FLIGHT: usize = 4;

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let render = renderer(&call.resource.def, &call.headers, &call.query, Shape::List)?;
    let (output, include) = (render.output, render.include);
    let request = list_request(&call)?;
    let (store, resource) = (call.server.store.clone(), call.resource.clone());
    // The list is read and encoded by a task of its own: a list of one storage page is sent
    // whole; a longer one is streamed while its pages are read, so that no list, however
    // long, is held in memory — decoded or encoded.
    let (first_tx, first_rx) = oneshot::channel();
    let (chunks_tx, chunks_rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::spawn(async move {
        let render = Renderer {
            def: &resource.def,
            output,
            include,
        };
        let read = AssertUnwindSafe(read(
            &store, &resource, &request, &render, first_tx, &chunks_tx,
        ));
        let failure = match read.catch_unwind().await {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.status().message.clone(),
            Err(panic) => crate::filters::panic::describe(panic.as_ref()).to_owned(),
        };
        tracing::warn!(%failure, "a streamed list stopped");
        let _ = chunks_tx.send(Err(std::io::Error::other(failure))).await;
    });
    let (body, streamed) = match first_rx.await {
        Ok(First::Refused(error)) => return Err(error),
        Ok(First::Whole(pieces)) => (response::pieces(pieces), false),
        Ok(First::Streaming) => {
            let chunks = futures::stream::unfold(chunks_rx, |mut chunks| async move {
                let chunk = chunks.recv().await?;
                Some((chunk.map(Frame::data), chunks))
            });
            (response::streaming(chunks), true)
        }
        Err(_) => return Err(ApiError::internal("the list stopped before its first page")),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if streamed {
        // A streamed list is long: gzip it when asked, as a whole body over 128 KiB would be.
        response.extensions_mut().insert(LongList);
    }
    Ok(response)
}

/// What the reader of a list says once it has read the first page.
enum First {
    /// The list is refused (a storage error, a bad token): the handler answers the error.
    Refused(ApiError),
    /// The list was one page: the whole body.
    Whole(Vec<bytes::Bytes>),
    /// More pages follow: the body comes in chunks.
    Streaming,
}

/// Reads the list page by page, encoding each object as it comes; see [`handle`].
async fn read(
    store: &GenericStore,
    resource: &Resource,
    request: &ListRequest,
    render: &Renderer<'_>,
    first: oneshot::Sender<First>,
    chunks: &mpsc::Sender<std::io::Result<bytes::Bytes>>,
) -> Result<(), ApiError> {
    let mut page = render.list();
    // Up to the first page (all of it when it is whole), errors are the response's.
    let mut reader = match start(store, resource, request, &mut page).await {
        Ok(Started::Streaming(reader)) => reader,
        Ok(Started::Whole(list)) => {
            let answer = match page.finish(list) {
                Ok(pieces) => First::Whole(pieces),
                Err(error) => First::Refused(error),
            };
            let _ = first.send(answer);
            return Ok(());
        }
        Err(error) => {
            let _ = first.send(First::Refused(error));
            return Ok(());
        }
    };
    let _ = first.send(First::Streaming);
    // A client that went away drops the receiver: reading stops there.
    let send = |chunk| async { chunks.send(Ok(chunk)).await.is_ok() };
    if !send(page.stream_head()?).await {
        return Ok(());
    }
    while let Some(objects) = reader.next_page().await? {
        for object in objects {
            page.push(object)?;
            if page.buffered() >= CHUNK_BYTES && !send(page.take_items()).await {
                return Ok(());
            }
        }
    }
    let tail = page.stream_tail(&reader.finished())?;
    if send(page.take_items()).await {
        send(tail).await;
    }
    Ok(())
}

/// How a list goes on after its first page.
enum Started<'a> {
    /// More pages follow, and the page can be streamed.
    Streaming(ListReader<'a>),
    /// Every page is read into the encoder.
    Whole(ListMeta),
}

/// Reads the first page into `page`, and every other one too unless the list is streamed.
async fn start<'a>(
    store: &'a GenericStore,
    resource: &'a Resource,
    request: &'a ListRequest,
    page: &mut ListEncoder<'_>,
) -> Result<Started<'a>, ApiError> {
    let mut reader = store.list_reader(resource, request)?;
    page.push_all(reader.next_page().await?.unwrap_or_default())?;
    if !reader.is_done() && page.streams() {
        return Ok(Started::Streaming(reader));
    }
    while let Some(objects) = reader.next_page().await? {
        page.push_all(objects)?;
    }
    Ok(Started::Whole(reader.finished()))
}

/// A query parameter's value.
pub(crate) fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The selectors of a list or watch (400 for malformed ones or unselectable fields).
pub(crate) fn selectors(call: &Call<'_>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(param(&call.query, "labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = FieldSelector::parse(param(&call.query, "fieldSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    check_selectable(&call.resource, &fields)?;
    Ok((labels, fields))
}

/// A non-zero resourceVersion; `None` for "" and "0"; 400 when not a revision.
pub(crate) fn parse_revision(rv: Option<&str>) -> Result<Option<Revision>, ApiError> {
    match rv {
        None | Some("") | Some("0") => Ok(None),
        Some(rv) => match rv.parse::<Revision>() {
            Ok(revision) if revision > 0 => Ok(Some(revision)),
            _ => Err(ApiError::bad_request(format!(
                "invalid resource version: {rv:?} is not a valid resource version"
            ))),
        },
    }
}

/// 422 for invalid `ListOptions`.
pub(crate) fn invalid_options(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", &errors))
}

pub(crate) fn list_request(call: &Call<'_>) -> Result<ListRequest, ApiError> {
    let query = &call.query;
    let rv = param(query, "resourceVersion").unwrap_or_default();
    let rv_match = param(query, "resourceVersionMatch").unwrap_or_default();
    let continue_token = param(query, "continue").filter(|c| !c.is_empty());
    let mut errors = Vec::new();
    if !rv_match.is_empty() {
        if rv.is_empty() {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if continue_token.is_some() {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if !matches!(rv_match, "Exact" | "NotOlderThan") {
            errors.push(FieldError::not_supported(
                "resourceVersionMatch",
                &Value::String(rv_match.into()),
                &["Exact", "NotOlderThan", ""],
            ));
        }
        if rv_match == "Exact" && rv == "0" {
            errors.push(FieldError::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if param(query, "sendInitialEvents").is_some() {
        errors.push(FieldError::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    invalid_options(errors)?;
    let revision = parse_revision(Some(rv))?;
    if revision.is_some() && continue_token.is_some() {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    let limit = match param(query, "limit") {
        None | Some("") => None,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => return Err(ApiError::bad_request(format!("invalid limit: {l:?}"))),
        },
    };
    let read_at = match (revision, rv_match) {
        (None, _) => Some(ReadAt::Latest),
        (Some(rv), "Exact") => Some(ReadAt::Exact(rv)),
        (Some(rv), "NotOlderThan") => Some(ReadAt::NotOlderThan(rv)),
        // The legacy rule: a resourceVersion with a limit and no match reads exactly there.
        (Some(rv), _) if limit.is_some() => Some(ReadAt::Exact(rv)),
        (Some(rv), _) => Some(ReadAt::NotOlderThan(rv)),
    };
    let (labels, fields) = selectors(call)?;
    Ok(ListRequest {
        namespace: call.namespace().map(str::to_owned),
        labels,
        fields,
        limit,
        continue_token: continue_token.map(str::to_owned),
        read_at,
    })
}
