//! Duplicate fields of a JSON document, as kube-apiserver's strict decoding reports them
//! (sigs.k8s.io/json `UnmarshalStrict`): `metadata.name` for a key repeated in `metadata`,
//! `spec.ports[0].hostPort` inside lists, `[1].path` in a JSON patch's operations. Reported in
//! document order (a key when it repeats, before its value), each path once, at most
//! [`MAX_REPORTED`] — duplicates inside a value that a later duplicate replaces included, as
//! Go's decoder sees them too. Found while the document is parsed, in the same pass: the
//! last value of a repeated key wins, as in Go's and serde_json's decoding.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The most duplicate fields one document reports (sigs.k8s.io/json's cap).
pub const MAX_REPORTED: usize = 100;

/// A parsed JSON document and its duplicate fields.
#[derive(Debug)]
pub struct Parsed {
    pub value: Value,
    /// The paths of the repeated keys, in document order.
    pub duplicates: Vec<String>,
}

/// The strict decoding errors of duplicate fields: `duplicate field "metadata.name"`.
pub fn field_errors(paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .map(|path| format!("duplicate field {}", crate::field::go_quote(path)))
        .collect()
}

/// Parses `json` as `serde_json::from_slice` does (same value, same errors), noting its
/// duplicate fields on the way.
pub fn parse(json: &[u8]) -> serde_json::Result<Parsed> {
    let mut found = Found::default();
    let mut path = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = Build {
        path: &mut path,
        found: &mut found,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(Parsed {
        value,
        duplicates: found.paths,
    })
}

#[derive(Default)]
struct Found {
    paths: Vec<String>,
    seen: HashSet<String>,
}

impl Found {
    fn report(&mut self, path: String) {
        if self.paths.len() < MAX_REPORTED && self.seen.insert(path.clone()) {
            self.paths.push(path);
        }
    }
}

/// Where the parser is: the keys and indexes above the current value.
enum Step {
    Key(String),
    Index(usize),
}

/// `metadata.name`, `spec.ports[0].hostPort`, `[1].path`.
fn path_of(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Key(key) if path.is_empty() => path.push_str(key),
            Step::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Step::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    path
}

/// Builds one value at `path`, reporting repeated keys of the objects inside it. The path is
/// a stack of steps, made into a string only for a duplicate.
struct Build<'a> {
    path: &'a mut Vec<Step>,
    found: &'a mut Found,
}

impl<'de> DeserializeSeed<'de> for Build<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let repeated = map.contains_key(&key);
            self.path.push(Step::Key(key));
            if repeated {
                self.found.report(path_of(self.path));
            }
            let value = access.next_value_seed(Build {
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            let Some(Step::Key(key)) = self.path.pop() else {
                unreachable!("the key pushed above");
            };
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            self.path.push(Step::Index(items.len()));
            let item = access.next_element_seed(Build {
                path: &mut *self.path,
                found: &mut *self.found,
            });
            self.path.pop();
            match item? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths of the repeated keys of `json`; none for a document that does not parse.
    fn duplicate_fields(json: &[u8]) -> Vec<String> {
        parse(json).map(|p| p.duplicates).unwrap_or_default()
    }

    #[test]
    fn repeated_keys_are_reported_by_path_in_document_order() {
        let json = br#"{"apiVersion":"v","metadata":{"name":"a","name":"b"},
            "spec":{"x":1,"ports":[{"hostPort":1,"hostPort":2}],"x":2},"spec":{}}"#;
        assert_eq!(
            duplicate_fields(json),
            ["metadata.name", "spec.ports[0].hostPort", "spec.x", "spec"]
        );
    }

    #[test]
    fn each_path_is_reported_once() {
        let json = br#"{"spec":{"x":1,"x":2},"spec":{"x":1,"x":2,"x":3}}"#;
        assert_eq!(duplicate_fields(json), ["spec.x", "spec"]);
    }

    #[test]
    fn json_patch_operations_are_paths_from_the_list() {
        let json = br#"[{"op":"add","path":"/a","value":1},{"op":"add","path":"/b","path":"/c","value":{}}]"#;
        assert_eq!(duplicate_fields(json), ["[1].path"]);
    }

    #[test]
    fn documents_without_repeats_or_that_do_not_parse_report_nothing() {
        assert!(duplicate_fields(br#"{"a":{"a":{"a":[{"a":1}]}}}"#).is_empty());
        assert!(duplicate_fields(b"{not json").is_empty());
        assert!(duplicate_fields(b"[]").is_empty());
    }

    #[test]
    fn at_most_a_hundred_are_reported() {
        let body: Vec<String> = (0..150).map(|i| format!(r#""k{i}":1,"k{i}":2"#)).collect();
        let json = format!("{{{}}}", body.join(","));
        assert_eq!(duplicate_fields(json.as_bytes()).len(), MAX_REPORTED);
    }

    #[test]
    fn a_key_is_reported_when_it_repeats_before_what_its_value_holds() {
        assert_eq!(
            duplicate_fields(br#"{"a":1,"a":{"b":1,"b":2}}"#),
            ["a", "a.b"]
        );
    }

    #[test]
    fn documents_parse_as_serde_json_parses_them() {
        for json in [
            &br#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"\u00e9"}"#[..],
            b"[]",
            b"  7 ",
        ] {
            let expected: Value = serde_json::from_slice(json).unwrap();
            assert_eq!(parse(json).unwrap().value, expected);
        }
        let parsed = parse(br#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(
            parsed.value,
            serde_json::json!({"a": 2}),
            "the last value wins"
        );
        assert_eq!(field_errors(&parsed.duplicates), [r#"duplicate field "a""#]);
        for bad in [&b"{not json"[..], b"{} x", b""] {
            let ours = parse(bad).unwrap_err().to_string();
            let theirs = serde_json::from_slice::<Value>(bad)
                .unwrap_err()
                .to_string();
            assert_eq!(ours, theirs);
        }
    }
}
