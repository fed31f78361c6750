//! Field paths: path elements, their order, how they print (`.spec.containers[name="nginx"]`)
//! and their `f:`/`k:`/`v:`/`i:` encoding in `fieldsV1` (structured-merge-diff
//! `fieldpath/element.go`, `path.go`, `serialize-pe.go`).

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use super::value;

/// How to select a child of an object or list.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of a struct or a key of a map (`f:<name>`).
    Field(String),
    /// The item of a `map`-type list whose key fields have these values, sorted by name
    /// (`k:{"name":"a"}`).
    Key(Vec<(String, Value)>),
    /// The item of a `set`-type list with this value (`v:"a"`).
    Value(Value),
    /// An item by position (`i:0`); only found in sets written by older servers or clients.
    Index(i64),
}

/// Why a `fieldsV1` key is not a path element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathElementError {
    /// Shorter than a type letter and a colon.
    #[error("key must be 2 characters long: {0}")]
    TooShort(String),
    /// The second character is not `:`.
    #[error("missing colon: {0}")]
    MissingColon(String),
    /// `k:`/`v:` whose rest is not the JSON it must be.
    #[error("{key}: {reason}")]
    BadJson { key: String, reason: String },
    /// `i:` whose rest is not an integer.
    #[error("{key}: invalid index")]
    BadIndex { key: String },
}

impl PathElement {
    /// The element of a `map`-type list item with these key fields (sorted here).
    pub fn key(fields: impl IntoIterator<Item = (String, Value)>) -> PathElement {
        let mut fields: Vec<(String, Value)> = fields.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    /// The field name, for a `Field` element.
    pub fn as_field(&self) -> Option<&str> {
        match self {
            PathElement::Field(name) => Some(name),
            _ => None,
        }
    }

    /// Parses a `fieldsV1` key (`DeserializePathElement`); `Ok(None)` for a type letter this
    /// version does not know, which upstream drops.
    pub fn parse(key: &str) -> Result<Option<PathElement>, PathElementError> {
        let bytes = key.as_bytes();
        if bytes.len() < 2 {
            return Err(PathElementError::TooShort(key.to_owned()));
        }
        if bytes[1] != b':' {
            return Err(PathElementError::MissingColon(key.to_owned()));
        }
        let rest = &key[2..];
        let bad_json = |e: serde_json::Error| PathElementError::BadJson {
            key: key.to_owned(),
            reason: e.to_string(),
        };
        let element = match bytes[0] {
            b'f' => PathElement::Field(rest.to_owned()),
            b'v' => PathElement::Value(serde_json::from_str(rest).map_err(bad_json)?),
            b'k' => {
                let fields: Map<String, Value> = serde_json::from_str(rest).map_err(bad_json)?;
                PathElement::key(fields)
            }
            b'i' => PathElement::Index(rest.parse().map_err(|_| PathElementError::BadIndex {
                key: key.to_owned(),
            })?),
            _ => return Ok(None),
        };
        Ok(Some(element))
    }

    /// The `fieldsV1` key of this element (`SerializePathElement`).
    pub fn serialize(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{}:{}", value::go_json_string(k), value::to_go_json(v)))
                    .collect();
                format!("k:{{{}}}", fields.join(","))
            }
            PathElement::Value(v) => format!("v:{}", value::to_go_json(v)),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }
}

/// Upstream's `PathElement.Compare`: fields, then keys, then values, then indexes.
impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(l), PathElement::Field(r)) => l.cmp(r),
            (PathElement::Key(l), PathElement::Key(r)) => {
                for ((ln, lv), (rn, rv)) in l.iter().zip(r) {
                    let c = ln.cmp(rn).then_with(|| value::compare(lv, rv));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                l.len().cmp(&r.len())
            }
            (PathElement::Value(l), PathElement::Value(r)) => value::compare(l, r),
            (PathElement::Index(l), PathElement::Index(r)) => l.cmp(r),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value::to_go_string(v)))
                    .collect();
                write!(f, "[{}]", fields.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value::to_go_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path from the root of an object; prints as upstream prints it in conflicts:
/// `.spec.replicas`, `.metadata.labels.app`, `.spec.containers[name="nginx"].image`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// A path of field names.
    pub fn fields(names: &[&str]) -> Path {
        Path(
            names
                .iter()
                .map(|n| PathElement::Field((*n).to_owned()))
                .collect(),
        )
    }

    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|e| write!(f, "{e}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn elements_round_trip_through_their_keys() {
        for key in [
            "f:spec",
            r#"k:{"name":"nginx"}"#,
            r#"k:{"containerPort":80,"protocol":"TCP"}"#,
            r#"v:"a""#,
            "v:3.1415",
            "v:false",
            "i:5",
        ] {
            let element = PathElement::parse(key).unwrap().unwrap();
            assert_eq!(element.serialize(), key);
        }
    }

    #[test]
    fn key_fields_are_sorted_when_parsed() {
        let element = PathElement::parse(r#"k:{"protocol":"TCP","containerPort":80}"#).unwrap();
        assert_eq!(
            element.unwrap().serialize(),
            r#"k:{"containerPort":80,"protocol":"TCP"}"#
        );
    }

    #[test]
    fn bad_keys_are_errors_and_unknown_types_are_skipped() {
        assert!(matches!(
            PathElement::parse("f"),
            Err(PathElementError::TooShort(_))
        ));
        assert!(matches!(
            PathElement::parse("fx"),
            Err(PathElementError::MissingColon(_))
        ));
        assert!(PathElement::parse("k:[1]").is_err());
        assert!(PathElement::parse("i:x").is_err());
        assert_eq!(PathElement::parse("x:whatever").unwrap(), None);
    }

    #[test]
    fn paths_print_like_upstream() {
        let path = Path(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::key([("name".to_owned(), json!("nginx"))]),
            PathElement::Field("image".into()),
        ]);
        assert_eq!(path.to_string(), r#".spec.containers[name="nginx"].image"#);
        let ports = PathElement::key([
            ("protocol".to_owned(), json!("TCP")),
            ("containerPort".to_owned(), json!(80)),
        ]);
        assert_eq!(ports.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
        assert_eq!(PathElement::Value(json!("a")).to_string(), r#"[="a"]"#);
        assert_eq!(PathElement::Index(0).to_string(), "[0]");
    }

    #[test]
    fn fields_sort_before_keys_values_and_indexes() {
        let mut elements = [
            PathElement::Index(0),
            PathElement::Value(json!("a")),
            PathElement::key([("name".to_owned(), json!("a"))]),
            PathElement::Field("z".into()),
        ];
        elements.sort();
        let keys: Vec<String> = elements.iter().map(PathElement::serialize).collect();
        assert_eq!(keys, ["f:z", r#"k:{"name":"a"}"#, r#"v:"a""#, "i:0"]);
    }
}
