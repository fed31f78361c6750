//! Content negotiation: which representation an `Accept` header asks for (with q-values and
//! wildcards), and whether a request body's `Content-Type` can be read.

use registry::ApiError;

/// The media type of every object and list we produce.
pub const JSON: &str = "application/json";

/// One entry of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRange {
    pub essence: String,
    pub params: Vec<(String, String)>,
    pub q: f32,
}

impl MediaRange {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this range admits `application/json`.
    fn admits_json(&self) -> bool {
        matches!(
            self.essence.as_str(),
            "application/json" | "application/*" | "*/*"
        )
    }
}

/// Parses an `Accept` header into its ranges, best first (by q, then by order); ranges with
/// `q=0` are dropped.
pub fn parse_accept(header: &str) -> Vec<MediaRange> {
    let mut ranges: Vec<MediaRange> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let essence = pieces.next()?.trim().to_ascii_lowercase();
            if essence.is_empty() {
                return None;
            }
            let mut q = 1.0;
            let mut params = Vec::new();
            for piece in pieces {
                let Some((k, v)) = piece.split_once('=') else {
                    continue;
                };
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse().unwrap_or(0.0);
                } else {
                    params.push((k, v.to_owned()));
                }
            }
            Some(MediaRange { essence, params, q })
        })
        .filter(|r| r.q > 0.0)
        .collect();
    ranges.sort_by(|a, b| b.q.total_cmp(&a.q));
    ranges
}

/// What a response for objects is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The object or list itself, as JSON.
    Object,
    /// A `meta.k8s.io` `Table` (`v1` or `v1beta1`).
    Table { version: &'static str },
    /// `PartialObjectMetadata` (objects and watch events).
    Metadata { version: &'static str },
    /// `PartialObjectMetadataList` (lists).
    MetadataList { version: &'static str },
}

/// Whether the response is one object (get, writes, watch events) or a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    List,
}

/// The media types listed in 406 messages: the serializers, as kube-apiserver lists them
/// (conversions asked for with `as=` are not listed there).
const OFFERED: &[&str] = &[JSON];

/// Chooses the representation of a response; 406 when nothing in `accept` fits. An absent
/// or empty header means JSON.
pub fn negotiate(accept: Option<&str>, shape: Shape) -> Result<Output, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Object);
    };
    parse_accept(accept)
        .iter()
        .filter(|r| r.admits_json())
        .find_map(|r| conversion(r, shape))
        .ok_or_else(|| ApiError::not_acceptable(OFFERED))
}

/// The representation one range asks for, if we offer it for `shape`.
fn conversion(range: &MediaRange, shape: Shape) -> Option<Output> {
    let Some(as_) = range.param("as") else {
        return Some(Output::Object);
    };
    if range.param("g") != Some("meta.k8s.io") {
        return None;
    }
    let version = match range.param("v") {
        Some("v1") => "v1",
        Some("v1beta1") => "v1beta1",
        _ => return None,
    };
    match (as_, shape) {
        ("Table", _) => Some(Output::Table { version }),
        ("PartialObjectMetadata", Shape::Object) => Some(Output::Metadata { version }),
        ("PartialObjectMetadataList", Shape::List) => Some(Output::MetadataList { version }),
        _ => None,
    }
}

/// Checks only that a plain object response is acceptable (responses that are always a
/// `Status` or the object itself).
pub fn negotiate_object(accept: Option<&str>) -> Result<Output, ApiError> {
    negotiate(accept, Shape::Object)
}

/// Checks that a request body is JSON; 415 otherwise (an absent type included, as in
/// kube-apiserver, which reads it as `application/octet-stream`).
pub fn check_body_type(content_type: Option<&str>) -> Result<(), ApiError> {
    body_type(content_type, false).map(|_| ())
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    Json,
    /// `application/vnd.kubernetes.protobuf`: accepted for built-in kinds only, as
    /// kube-apiserver accepts it for compiled-in types and not for custom resources.
    Protobuf,
}

/// The encoding of a request body; 415 listing what is accepted otherwise.
pub fn body_type(content_type: Option<&str>, protobuf: bool) -> Result<BodyType, ApiError> {
    let essence = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    match essence.as_deref() {
        // No Content-Type: the first type the server accepts, JSON (upstream's
        // `NegotiateInputSerializerForMediaType`) — `kubectl create --raw` sends none.
        None | Some("") | Some(JSON) => Ok(BodyType::Json),
        Some(crate::protobuf::MEDIA_TYPE) if protobuf => Ok(BodyType::Protobuf),
        _ if protobuf => Err(ApiError::unsupported_media_type(&[
            JSON,
            crate::protobuf::MEDIA_TYPE,
        ])),
        _ => Err(ApiError::unsupported_media_type(&[JSON])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_accept_gets_a_table() {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(Some(accept), Shape::List).unwrap(),
            Output::Table { version: "v1" }
        );
    }

    #[test]
    fn tables_and_metadata_are_offered_where_they_fit() {
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(Some(table), Shape::List).unwrap(),
            Output::Table { version: "v1" }
        );
        let partial = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(
            negotiate(Some(partial), Shape::List).unwrap(),
            Output::MetadataList { version: "v1" }
        );
        assert_eq!(
            negotiate(Some(partial), Shape::Object).unwrap_err().code(),
            406
        );
        let unknown = "application/json;as=Widget;g=meta.k8s.io;v=v1";
        assert_eq!(
            negotiate(Some(unknown), Shape::Object).unwrap_err().code(),
            406
        );
    }

    #[test]
    fn wildcards_and_q_values_are_honoured() {
        assert!(negotiate_object(Some("*/*")).is_ok());
        assert!(negotiate_object(Some("application/*;q=0.5, text/html")).is_ok());
        assert!(negotiate_object(None).is_ok());
        let refused = negotiate_object(Some("application/json;q=0, text/plain")).unwrap_err();
        assert_eq!(refused.code(), 406);
        assert_eq!(
            negotiate_object(Some("application/yaml"))
                .unwrap_err()
                .code(),
            406
        );
    }

    #[test]
    fn ranges_sort_by_quality() {
        let ranges = parse_accept("text/plain;q=0.2, application/json;q=0.9;g=x");
        assert_eq!(ranges[0].essence, "application/json");
        assert_eq!(ranges[0].param("g"), Some("x"));
    }

    #[test]
    fn only_json_bodies_are_read() {
        assert!(check_body_type(Some("application/json; charset=utf-8")).is_ok());
        assert_eq!(check_body_type(Some("text/plain")).unwrap_err().code(), 415);
        assert!(
            check_body_type(None).is_ok(),
            "no Content-Type reads as JSON"
        );
    }
}
