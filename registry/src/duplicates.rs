//! Duplicate fields of a JSON document, as kube-apiserver's strict decoding reports them
//! (sigs.k8s.io/json `UnmarshalStrict`): `metadata.name` for a key repeated in `metadata`,
//! `spec.ports[0].hostPort` inside lists, `[1].path` in a JSON patch's operations. Reported in
//! document order, each path once, at most [`MAX_REPORTED`] — duplicates inside a value that
//! a later duplicate replaces included, as Go's decoder sees them too.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The most duplicate fields one document reports (sigs.k8s.io/json's cap).
pub const MAX_REPORTED: usize = 100;

/// The paths of the repeated keys of the JSON document `json`, in document order; empty for
/// a document without any (and for one that does not parse: decoding reports that).
pub fn duplicate_fields(json: &[u8]) -> Vec<String> {
    let mut found = Found::default();
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let walk = Walk {
        path: String::new(),
        found: &mut found,
    };
    if walk.deserialize(&mut deserializer).is_err() {
        return Vec::new();
    }
    found.paths
}

/// The strict decoding errors of `json`'s duplicate fields: `duplicate field "metadata.name"`.
pub fn duplicate_field_errors(json: &[u8]) -> Vec<String> {
    duplicate_fields(json)
        .iter()
        .map(|path| format!("duplicate field {}", crate::field::go_quote(path)))
        .collect()
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

/// Visits one value at `path`, reporting repeated keys of the objects inside it.
struct Walk<'a> {
    path: String,
    found: &'a mut Found,
}

impl Walk<'_> {
    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = self.child(&key);
            if !keys.insert(key) {
                self.found.report(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let element = Walk {
                path: format!("{}[{index}]", self.path),
                found: &mut *self.found,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
