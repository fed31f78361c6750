//! Building responses: JSON bodies, `Status` errors, warnings.

use bytes::Bytes;
use futures::StreamExt;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use registry::ApiError;
use serde::Serialize;

/// The body type of every response (boxed so streams can share it later).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A whole body in pieces (a list: its head, its items, its end), sent without joining them;
/// its length is known, as a whole body's.
pub fn pieces(pieces: Vec<Bytes>) -> Body {
    Pieces {
        remaining: pieces.iter().map(|p| p.len() as u64).sum(),
        pieces: pieces.into(),
    }
    .boxed()
}

/// The body of [`pieces`].
struct Pieces {
    pieces: std::collections::VecDeque<Bytes>,
    remaining: u64,
}

impl hyper::body::Body for Pieces {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let next = self.pieces.pop_front();
        if let Some(piece) = &next {
            self.remaining -= piece.len() as u64;
        }
        std::task::Poll::Ready(next.map(|piece| Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.remaining)
    }
}

/// A streamed body (a watch). A panic while producing it ends this stream only, logged: the
/// body fails, so the client sees the stream reset (HTTP/2) or the connection closed
/// (HTTP/1.1), while the connection's other streams go on.
pub fn streaming<S>(frames: S) -> Body
where
    S: futures::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Send + Sync + 'static,
{
    let caught = std::panic::AssertUnwindSafe(frames)
        .catch_unwind()
        .map(|item| match item {
            Ok(frame) => frame,
            Err(panic) => {
                let panic = crate::filters::panic::describe(panic.as_ref());
                tracing::error!(panic, "a streamed response panicked; ending its stream");
                Err(std::io::Error::other("the stream panicked"))
            }
        });
    BodyExt::boxed(StreamBody::new(caught))
}

/// A JSON response.
pub fn json(code: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_type(code, "application/json", bytes),
        Err(e) => error(&ApiError::internal(format!("encoding the response: {e}"))),
    }
}

/// A response with a body of the given media type.
pub fn with_type(code: StatusCode, content_type: &str, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = code;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

/// The `Status` of an error, with its code.
pub fn error(e: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json(code, e.status());
    if e.close_connection {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(seconds) = e
        .status()
        .details
        .as_ref()
        .and_then(|d| d.retry_after_seconds)
    {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
    }
    response
}

/// The plain-text 404 of paths nothing serves.
pub fn not_found_text() -> Response<Body> {
    with_type(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "404 page not found\n",
    )
}

/// Adds `Warning: 299 - "<text>"` headers.
pub fn add_warnings(response: &mut Response<Body>, warnings: &[String]) {
    for warning in warnings {
        let text = warning.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(value) = HeaderValue::from_str(&format!("299 - \"{text}\"")) {
            response.headers_mut().append(http::header::WARNING, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pieces_are_one_body_of_known_length() {
        let parts = ["{\"items\":[", "1,2", "]}"].map(Bytes::from).to_vec();
        let body = pieces(parts);
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(15));
        let whole = body.collect().await.unwrap().to_bytes();
        assert_eq!(whole, "{\"items\":[1,2]}");
    }

    #[tokio::test]
    async fn a_panicking_stream_ends_with_an_error_after_what_it_sent() {
        let frames = futures::stream::iter(0..3).map(|i| {
            assert!(i < 2, "a bug in the third event");
            Ok(Frame::data(Bytes::from(format!("{i}\n"))))
        });
        let mut body = streaming(frames);
        let mut sent = Vec::new();
        let error = loop {
            match body.frame().await {
                Some(Ok(frame)) => sent.push(frame.into_data().unwrap()),
                Some(Err(e)) => break e,
                None => panic!("the stream ended without an error"),
            }
        };
        assert_eq!(sent, ["0\n", "1\n"]);
        assert_eq!(error.to_string(), "the stream panicked");
        assert!(body.frame().await.is_none(), "nothing after the error");
    }
}
