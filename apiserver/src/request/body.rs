//! A request body inside the server: its type, reading it whole with kube-apiserver's limit,
//! and throwing it away so that the connection stays usable.

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use registry::ApiError;

/// An error of any kind.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of a request inside the chain.
pub type RequestBody = BoxBody<Bytes, BodyError>;

/// Reading a request body failed (the connection broke, a client's body stream failed). A
/// named type rather than a `BoxError`, so that the chain's futures are `Send` for every
/// lifetime the compiler asks about.
#[derive(Debug)]
pub struct BodyError(pub BoxError);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}
/// The largest request body read: 3 MiB, as kube-apiserver's `MaxRequestBodyBytes`.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How much of an oversized body is read and thrown away, so that the connection stays
/// usable for the 413 and later requests; beyond it the connection is closed.
const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// How long draining an oversized body may take.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] with 413.
pub async fn read_bytes(mut body: RequestBody) -> Result<Bytes, ApiError> {
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            buffer.extend_from_slice(&data);
            if buffer.len() > MAX_BODY_BYTES {
                let drained = drain(&mut body, buffer.len(), MAX_DRAIN_BYTES).await;
                let mut error = ApiError::request_too_large(MAX_BODY_BYTES);
                error.close_connection = !drained;
                return Err(error);
            }
        }
    }
    Ok(buffer.freeze())
}

/// Reads and discards a body the server answers without reading (a refused request), so that
/// an HTTP/1.1 connection stays usable; false when it was too long or too slow (the
/// connection is then closed).
pub async fn discard(mut body: RequestBody) -> bool {
    // As Go's HTTP server: up to 256 KiB is read to keep the connection; beyond, it closes.
    const LIMIT: usize = 256 * 1024;
    drain(&mut body, 0, LIMIT).await
}

/// Reads and discards the rest of a body of which `read` bytes were read; false when it runs
/// past `limit` bytes or takes too long.
async fn drain(body: &mut RequestBody, mut read: usize, limit: usize) -> bool {
    let drained = async {
        while let Some(frame) = body.frame().await {
            match frame.map(|f| f.into_data()) {
                Ok(Ok(data)) => read += data.len(),
                Ok(Err(_trailers)) => {}
                Err(_) => return false,
            }
            if read > limit {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIMEOUT, drained)
        .await
        .unwrap_or(false)
}
