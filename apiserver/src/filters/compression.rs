//! Response compression as kube-apiserver does it (k8s.io/apiserver
//! `pkg/endpoints/handlers/responsewriters/writers.go`): gzip at level 1 when the client
//! accepts it and the body is a whole one larger than 128 KiB, with `Content-Encoding: gzip`
//! and `Vary: Accept-Encoding`. Never a watch, never a body of unknown length: those are
//! streams, and compressing them would buffer them. tower-http's `CompressionLayer`, with that
//! rule as its predicate (its default would compress streams too).

use http::Response;
use hyper::body::Body;
use tower_http::compression::predicate::Predicate;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Upstream's `defaultGzipThresholdBytes`: bodies up to this size are sent as they are.
pub const THRESHOLD_BYTES: u64 = 128 * 1024;
/// Upstream's `defaultGzipContentEncodingLevel`.
const LEVEL: i32 = 1;

pub fn layer() -> CompressionLayer<LargeWholeBodies> {
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(LEVEL))
        .compress_when(LargeWholeBodies)
}

/// Marks a response whose body is a long list sent in pieces: compressed when asked, whatever
/// its size hint says (a streamed list is longer than one storage page of objects).
#[derive(Debug, Clone, Copy)]
pub struct LongList;

/// Compresses bodies of a known length above [`THRESHOLD_BYTES`], and long lists.
#[derive(Debug, Clone, Copy)]
pub struct LargeWholeBodies;

impl Predicate for LargeWholeBodies {
    fn should_compress<B: Body>(&self, response: &Response<B>) -> bool {
        let long = response
            .body()
            .size_hint()
            .exact()
            .is_some_and(|len| len > THRESHOLD_BYTES);
        long || response.extensions().get::<LongList>().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{Full, StreamBody};

    #[test]
    fn only_whole_bodies_over_the_threshold_are_compressed() {
        let whole = |len: usize| Response::new(Full::new(Bytes::from(vec![b'x'; len])));
        assert!(!LargeWholeBodies.should_compress(&whole(128 * 1024)));
        assert!(LargeWholeBodies.should_compress(&whole(128 * 1024 + 1)));
        let frames = futures::stream::iter(Vec::<
            Result<hyper::body::Frame<Bytes>, std::convert::Infallible>,
        >::new());
        let stream = Response::new(StreamBody::new(frames));
        assert!(!LargeWholeBodies.should_compress(&stream), "a stream");
    }
}
