//! Decoding Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
//! JSON object the same object has in Kubernetes' JSON encoding.
//!
//! client-go's typed clients send built-in kinds as protobuf (`kubectl create role`, `kubectl
//! auth can-i`, `kubectl auth whoami`, …), while the server works on JSON. A body is the magic
//! `k8s\0` followed by a `runtime.Unknown` envelope whose `raw` holds the object's message (as
//! k8s.io/apimachinery `pkg/runtime/serializer/protobuf/protobuf.go` writes and reads it).
//!
//! Only the messages of the supported kinds are defined, by hand, with the field numbers of
//! the upstream `generated.proto` files (Kubernetes 1.33) and the JSON names and `omitempty`
//! of the matching `types.go`. What is not decoded:
//! - `metadata.managedFields`: the server sets them itself;
//! - the `status` of the review kinds (the server computes it, a request's is ignored);
//! - a zero time (an empty `Time` message) is left out, where Go writes `null`;
//! - the envelope's `contentEncoding` and `contentType`: apimachinery ignores them as well.

mod authentication;
mod authorization;
mod meta;
mod rbac;

use std::collections::BTreeMap;

use prost::Message;
use serde_json::{Map, Value};

/// The media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The first bytes of every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\0";

/// A failure to decode a protobuf body.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body does not start with the `k8s\0` magic.
    #[error("the body is not a Kubernetes protobuf message (no k8s\\0 prefix)")]
    NotProtobuf,
    /// The `runtime.Unknown` envelope after the magic did not decode.
    #[error("the protobuf envelope does not decode")]
    Envelope(#[source] prost::DecodeError),
    /// The envelope names no `apiVersion` or no `kind`.
    #[error("the protobuf envelope names no apiVersion or kind")]
    MissingKind,
    /// The envelope names a kind this module has no message for.
    #[error("protobuf bodies of {api_version}, Kind={kind} are not supported")]
    UnsupportedKind {
        /// The envelope's `apiVersion`.
        api_version: String,
        /// The envelope's `kind`.
        kind: String,
    },
    /// The object inside the envelope did not decode as its kind's message.
    #[error("the protobuf object does not decode")]
    Malformed(#[source] prost::DecodeError),
    /// A time that RFC 3339 cannot write (outside the years 0000–9999), as Go refuses too.
    #[error("time {0}s since 1970 is outside the years 0000-9999")]
    TimeOutOfRange(i64),
}

/// The result of decoding.
pub type Result<T, E = DecodeError> = std::result::Result<T, E>;

/// Decodes a protobuf body into the object's JSON, with `apiVersion` and `kind` set.
pub fn decode(bytes: &[u8]) -> Result<Value> {
    let envelope = bytes.strip_prefix(MAGIC).ok_or(DecodeError::NotProtobuf)?;
    let unknown = Unknown::decode(envelope).map_err(DecodeError::Envelope)?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    if api_version.is_empty() || kind.is_empty() {
        return Err(DecodeError::MissingKind);
    }
    let fields = decode_raw(&api_version, &kind, &unknown.raw.unwrap_or_default())?;
    let mut object = Map::new();
    object.insert("apiVersion".into(), api_version.into());
    object.insert("kind".into(), kind.into());
    object.extend(fields.0);
    Ok(Value::Object(object))
}

/// Decodes `raw` as the message of `api_version`/`kind`.
fn decode_raw(api_version: &str, kind: &str, raw: &[u8]) -> Result<Fields> {
    match (api_version, kind) {
        (rbac::GROUP_VERSION, "Role") => decode_object::<rbac::Role>(raw),
        (rbac::GROUP_VERSION, "ClusterRole") => decode_object::<rbac::ClusterRole>(raw),
        (rbac::GROUP_VERSION, "RoleBinding" | "ClusterRoleBinding") => {
            decode_object::<rbac::Binding>(raw)
        }
        (authorization::GROUP_VERSION, "SubjectAccessReview" | "LocalSubjectAccessReview") => {
            decode_object::<authorization::SubjectAccessReview>(raw)
        }
        (authorization::GROUP_VERSION, "SelfSubjectAccessReview") => {
            decode_object::<authorization::SelfSubjectAccessReview>(raw)
        }
        (authorization::GROUP_VERSION, "SelfSubjectRulesReview") => {
            decode_object::<authorization::SelfSubjectRulesReview>(raw)
        }
        (authentication::GROUP_VERSION, "SelfSubjectReview") => {
            decode_object::<authentication::SelfSubjectReview>(raw)
        }
        (authentication::GROUP_VERSION, "TokenReview") => {
            decode_object::<authentication::TokenReview>(raw)
        }
        // metav1.AddToGroupVersion registers DeleteOptions in every group version, and a typed
        // client sends it under its own (`v1`, `rbac.authorization.k8s.io/v1`, …).
        (_, "DeleteOptions") => decode_object::<meta::DeleteOptions>(raw),
        _ => Err(DecodeError::UnsupportedKind {
            api_version: api_version.into(),
            kind: kind.into(),
        }),
    }
}

fn decode_object<O: Object>(raw: &[u8]) -> Result<Fields> {
    O::decode(raw)
        .map_err(DecodeError::Malformed)?
        .into_fields()
}

/// A kind's top-level message, as `runtime.Unknown.raw` holds it.
trait Object: Message + Default {
    /// The object's JSON fields, without `apiVersion` and `kind`.
    fn into_fields(self) -> Result<Fields>;
}

/// `runtime.Unknown` (k8s.io/apimachinery `pkg/runtime/generated.proto`).
#[derive(Clone, PartialEq, Message)]
struct Unknown {
    #[prost(message, optional, tag = "1")]
    type_meta: Option<TypeMeta>,
    #[prost(bytes = "vec", optional, tag = "2")]
    raw: Option<Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    content_encoding: Option<String>,
    #[prost(string, optional, tag = "4")]
    content_type: Option<String>,
}

/// `runtime.TypeMeta`.
#[derive(Clone, PartialEq, Message)]
struct TypeMeta {
    #[prost(string, optional, tag = "1")]
    api_version: Option<String>,
    #[prost(string, optional, tag = "2")]
    kind: Option<String>,
}

/// A JSON object built by Go's `encoding/json` rules, one method per shape of Go field.
///
/// gogo-protobuf writes every non-pointer field, so an unset Go string arrives as `Some("")`:
/// `omitempty` fields treat it like `None`.
#[derive(Debug, Default)]
struct Fields(Map<String, Value>);

impl Fields {
    /// A `string` tagged `omitempty`: left out when unset or empty.
    fn string(self, key: &str, value: Option<String>) -> Self {
        self.pointer(key, value.filter(|v| !v.is_empty()))
    }

    /// A `string` without `omitempty`: always written, `""` when unset.
    fn required_string(self, key: &str, value: Option<String>) -> Self {
        self.pointer(key, Some(value.unwrap_or_default()))
    }

    /// An `int64` tagged `omitempty`: left out when unset or 0.
    fn int(self, key: &str, value: Option<i64>) -> Self {
        self.pointer(key, value.filter(|v| *v != 0))
    }

    /// A pointer (`*string`, `*bool`, `*int64`, `*Struct`): written whenever set.
    fn pointer(mut self, key: &str, value: Option<impl Into<Value>>) -> Self {
        if let Some(value) = value {
            self.0.insert(key.into(), value.into());
        }
        self
    }

    /// A slice tagged `omitempty`: left out when empty.
    fn list(self, key: &str, values: Vec<impl Into<Value>>) -> Self {
        if values.is_empty() {
            return self;
        }
        self.required_list(key, values)
    }

    /// A slice without `omitempty`: always written. Where Go writes `null` for a nil slice this
    /// writes `[]`; Kubernetes decodes both to an empty slice.
    fn required_list(self, key: &str, values: Vec<impl Into<Value>>) -> Self {
        let values: Vec<Value> = values.into_iter().map(Into::into).collect();
        self.pointer(key, Some(values))
    }

    /// A map tagged `omitempty`: left out when empty.
    fn map(self, key: &str, entries: BTreeMap<String, impl Into<Value>>) -> Self {
        if entries.is_empty() {
            return self;
        }
        let object: Map<String, Value> = entries.into_iter().map(|(k, v)| (k, v.into())).collect();
        self.pointer(key, Some(object))
    }

    /// A struct (not a pointer), which `omitempty` never leaves out.
    fn object(self, key: &str, value: Fields) -> Self {
        self.pointer(key, Some(value))
    }
}

impl From<Fields> for Value {
    fn from(fields: Fields) -> Self {
        Value::Object(fields.0)
    }
}

/// Wraps `object` in a protobuf body of `api_version`/`kind`, as client-go does.
#[cfg(test)]
fn envelope(api_version: &str, kind: &str, object: &impl Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(object.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    [MAGIC, &unknown.encode_to_vec()].concat()
}

/// `Some(value)`, for building messages in tests.
#[cfg(test)]
fn some(value: &str) -> Option<String> {
    Some(value.into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A Role written byte by byte from the wire format, as gogo-protobuf writes it (empty
    /// strings and a zero generation included), independent of this module's structs.
    #[rustfmt::skip]
    const GOLDEN_ROLE: &[u8] = &[
        b'k', b'8', b's', 0,
        0x0a, 36, // Unknown.typeMeta (1), 36 bytes
            0x0a, 28, // TypeMeta.apiVersion (1)
                b'r', b'b', b'a', b'c', b'.', b'a', b'u', b't', b'h', b'o', b'r', b'i', b'z', b'a',
                b't', b'i', b'o', b'n', b'.', b'k', b'8', b's', b'.', b'i', b'o', b'/', b'v', b'1',
            0x12, 4, b'R', b'o', b'l', b'e', // TypeMeta.kind (2)
        0x12, 57, // Unknown.raw (2), 57 bytes: the Role
            0x0a, 34, // Role.metadata (1)
                0x0a, 3, b'r', b'e', b'd', // ObjectMeta.name (1)
                0x12, 0, // ObjectMeta.generateName (2): ""
                0x1a, 3, b'n', b's', b'1', // ObjectMeta.namespace (3)
                0x38, 0, // ObjectMeta.generation (7): 0
                0x42, 6, 0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, // creationTimestamp (8): 1700000000s
                0x5a, 10, // ObjectMeta.labels (11): one entry
                    0x0a, 3, b'a', b'p', b'p', // key (1)
                    0x12, 3, b'w', b'e', b'b', // value (2)
            0x12, 19, // Role.rules (2): one PolicyRule
                0x0a, 3, b'g', b'e', b't', // PolicyRule.verbs (1)
                0x0a, 4, b'l', b'i', b's', b't', // PolicyRule.verbs (1)
                0x12, 0, // PolicyRule.apiGroups (2): ""
                0x1a, 4, b'p', b'o', b'd', b's', // PolicyRule.resources (3)
        0x1a, 0, // Unknown.contentEncoding (3): ""
        0x22, 0, // Unknown.contentType (4): ""
    ];

    #[test]
    fn hand_written_role_decodes_to_its_json() {
        let role = decode(GOLDEN_ROLE).unwrap();
        assert_eq!(
            role,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {
                    "name": "red",
                    "namespace": "ns1",
                    "creationTimestamp": "2023-11-14T22:13:20Z",
                    "labels": {"app": "web"},
                },
                "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}],
            })
        );
    }

    #[test]
    fn body_without_magic_is_not_protobuf() {
        let err = decode(br#"{"kind":"Role"}"#).unwrap_err();
        assert!(matches!(err, DecodeError::NotProtobuf), "{err:?}");
    }

    #[test]
    fn unknown_kind_is_unsupported() {
        let body = envelope("apps/v1", "Deployment", &TypeMeta::default());
        let err = decode(&body).unwrap_err();
        assert!(
            matches!(&err, DecodeError::UnsupportedKind { api_version, kind }
                if api_version == "apps/v1" && kind == "Deployment"),
            "{err:?}"
        );
    }

    #[test]
    fn envelope_without_kind_is_rejected() {
        let err = decode(MAGIC).unwrap_err();
        assert!(matches!(err, DecodeError::MissingKind), "{err:?}");
    }

    #[test]
    fn truncated_envelope_is_rejected() {
        let err = decode(&GOLDEN_ROLE[..GOLDEN_ROLE.len() - 20]).unwrap_err();
        assert!(matches!(err, DecodeError::Envelope(_)), "{err:?}");
    }

    #[test]
    fn malformed_object_is_rejected() {
        let unknown = Unknown {
            type_meta: Some(TypeMeta {
                api_version: some("rbac.authorization.k8s.io/v1"),
                kind: some("Role"),
            }),
            // Role.metadata (1) claiming 5 bytes where 1 follows.
            raw: Some(vec![0x0a, 5, 0x0a]),
            ..Unknown::default()
        };
        let body = [MAGIC, &unknown.encode_to_vec()].concat();
        let err = decode(&body).unwrap_err();
        assert!(matches!(err, DecodeError::Malformed(_)), "{err:?}");
    }
}
