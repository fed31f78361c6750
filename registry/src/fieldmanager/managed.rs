//! `metadata.managedFields`: decoding and encoding entries, the identity of a manager, the order
//! entries are written in, and the cap on update entries (k8s.io/apimachinery
//! `pkg/util/managedfields/internal/managedfields.go`, `capmanagers.go`).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::set::FieldSet;
use super::value;
use super::Error;

const FIELDS_V1: &str = "FieldsV1";
/// `DefaultMaxUpdateManagers`.
const MAX_UPDATE_MANAGERS: usize = 10;
/// The manager older update entries are merged into.
const ANCIENT_CHANGES: &str = "ancient-changes";

/// The operation an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ManagedOperation {
    Apply,
    Update,
}

impl ManagedOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedOperation::Apply => "Apply",
            ManagedOperation::Update => "Update",
        }
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    pub manager: String,
    pub operation: ManagedOperation,
    pub api_version: String,
    /// RFC 3339, seconds; absent when never set.
    pub time: Option<String>,
    /// `None` for the main resource.
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

/// The key upstream files a manager under (`BuildManagerIdentifier`): its entry's JSON without
/// time and fields, and without the apiVersion of an Apply — one Apply entry per manager and
/// subresource, one Update entry per manager, apiVersion and subresource.
pub(crate) fn identifier(
    manager: &str,
    operation: ManagedOperation,
    api_version: &str,
    subresource: Option<&str>,
) -> String {
    let mut out = String::from("{");
    if !manager.is_empty() {
        out.push_str(&format!("\"manager\":{},", value::go_json_string(manager)));
    }
    out.push_str(&format!("\"operation\":\"{}\"", operation.as_str()));
    if operation == ManagedOperation::Update && !api_version.is_empty() {
        out.push_str(&format!(
            ",\"apiVersion\":{}",
            value::go_json_string(api_version)
        ));
    }
    if let Some(subresource) = subresource.filter(|s| !s.is_empty()) {
        out.push_str(&format!(
            ",\"subresource\":{}",
            value::go_json_string(subresource)
        ));
    }
    out.push('}');
    out
}

impl ManagedFieldsEntry {
    pub(crate) fn identifier(&self) -> String {
        identifier(
            &self.manager,
            self.operation,
            &self.api_version,
            self.subresource.as_deref(),
        )
    }

    fn decode(index: usize, entry: &Value) -> Result<ManagedFieldsEntry, Error> {
        let invalid = |reason: String| Error::DecodeEntry { index, reason };
        let Value::Object(entry) = entry else {
            return Err(invalid("must be an object".to_owned()));
        };
        let text = |field: &str| -> Result<String, Error> {
            match entry.get(field) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(invalid(format!("{field} must be a string"))),
            }
        };
        let operation = match text("operation")?.as_str() {
            "Apply" => ManagedOperation::Apply,
            "Update" => ManagedOperation::Update,
            _ => return Err(invalid("operation must be `Apply` or `Update`".to_owned())),
        };
        let api_version = text("apiVersion")?;
        if api_version.is_empty() {
            return Err(invalid("apiVersion must not be empty".to_owned()));
        }
        match text("fieldsType")?.as_str() {
            FIELDS_V1 => {}
            "" => return Err(invalid("missing fieldsType".to_owned())),
            other => {
                return Err(invalid(format!(
                    "invalid fieldsType {}",
                    value::go_quote(other)
                )))
            }
        }
        let time = Some(text("time")?).filter(|t| !t.is_empty());
        if let Some(time) = &time {
            if unix_seconds(time).is_none() {
                return Err(invalid(format!(
                    "time {} is not RFC 3339",
                    value::go_quote(time)
                )));
            }
        }
        let fields = match entry.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(fields) => FieldSet::from_fields_v1(fields)
                .map_err(|source| Error::DecodeFields { index, source })?,
        };
        Ok(ManagedFieldsEntry {
            manager: text("manager")?,
            operation,
            api_version,
            time,
            subresource: Some(text("subresource")?).filter(|s| !s.is_empty()),
            fields,
        })
    }

    fn encode(&self) -> Value {
        let mut entry = Map::new();
        if !self.manager.is_empty() {
            entry.insert("manager".into(), self.manager.clone().into());
        }
        entry.insert("operation".into(), self.operation.as_str().into());
        entry.insert("apiVersion".into(), self.api_version.clone().into());
        if let Some(time) = &self.time {
            entry.insert("time".into(), time.clone().into());
        }
        entry.insert("fieldsType".into(), FIELDS_V1.into());
        entry.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(subresource) = &self.subresource {
            entry.insert("subresource".into(), subresource.clone().into());
        }
        Value::Object(entry)
    }

    /// Upstream's order (`sortEncodedManagedFields`): Apply before Update, then oldest first
    /// (no time counts as the epoch), then manager, apiVersion, subresource.
    fn sort_key(&self) -> (ManagedOperation, i64, &str, &str, &str) {
        (
            self.operation,
            self.time.as_deref().and_then(unix_seconds).unwrap_or(0),
            &self.manager,
            &self.api_version,
            self.subresource.as_deref().unwrap_or(""),
        )
    }
}

/// The managed fields of an object: one entry per manager identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedFields {
    entries: BTreeMap<String, ManagedFieldsEntry>,
}

impl ManagedFields {
    /// Reads `metadata.managedFields` (`DecodeManagedFields`); absent or `null` is empty. Of
    /// two entries with one identity the later wins, as upstream.
    pub fn from_object(object: &Value) -> Result<ManagedFields, Error> {
        let list = match object.pointer("/metadata/managedFields") {
            None | Some(Value::Null) => return Ok(ManagedFields::default()),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(Error::NotAList),
        };
        let mut managed = ManagedFields::default();
        for (index, entry) in list.iter().enumerate() {
            managed.insert(ManagedFieldsEntry::decode(index, entry)?);
        }
        Ok(managed)
    }

    /// Sets `metadata.managedFields`, in upstream's order; removes it when there is none.
    pub fn write_to(&self, object: &mut Value) {
        let Some(object) = object.as_object_mut() else {
            return;
        };
        if self.entries.is_empty() {
            if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
                metadata.remove("managedFields");
            }
            return;
        }
        let entries: Vec<Value> = self.entries().map(ManagedFieldsEntry::encode).collect();
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !metadata.is_object() {
            *metadata = Value::Object(Map::new());
        }
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("managedFields".into(), Value::Array(entries));
        }
    }

    /// The entries in the order they are written.
    pub fn entries(&self) -> impl Iterator<Item = &ManagedFieldsEntry> {
        let mut entries: Vec<&ManagedFieldsEntry> = self.entries.values().collect();
        entries.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        entries.into_iter()
    }

    /// The first entry (in written order) of `manager` for `operation`.
    pub fn entry(&self, manager: &str, operation: ManagedOperation) -> Option<&ManagedFieldsEntry> {
        self.entries()
            .find(|e| e.manager == manager && e.operation == operation)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn insert(&mut self, entry: ManagedFieldsEntry) {
        self.entries.insert(entry.identifier(), entry);
    }

    pub(crate) fn get(&self, id: &str) -> Option<&ManagedFieldsEntry> {
        self.entries.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut ManagedFieldsEntry> {
        self.entries.get_mut(id)
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<ManagedFieldsEntry> {
        self.entries.remove(id)
    }

    /// Entries by identifier.
    pub(crate) fn by_id(&self) -> &BTreeMap<String, ManagedFieldsEntry> {
        &self.entries
    }

    pub(crate) fn by_id_mut(&mut self) -> &mut BTreeMap<String, ManagedFieldsEntry> {
        &mut self.entries
    }

    /// Keeps at most ten Update entries by merging the oldest ones, per apiVersion, into an
    /// `ancient-changes` entry (`capUpdateManagers`).
    pub(crate) fn cap_update_managers(&mut self) {
        let mut updaters: Vec<(i64, String)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.operation == ManagedOperation::Update)
            .map(|(id, e)| {
                (
                    e.time.as_deref().and_then(unix_seconds).unwrap_or(0),
                    id.clone(),
                )
            })
            .collect();
        if updaters.len() <= MAX_UPDATE_MANAGERS {
            return;
        }
        updaters.sort();
        let mut length = updaters.len();
        let mut first_of_version: HashMap<String, String> = HashMap::new();
        for (_, id) in updaters {
            if length <= MAX_UPDATE_MANAGERS {
                break;
            }
            let Some(entry) = self.entries.get(&id).cloned() else {
                continue;
            };
            let version = entry.api_version.clone();
            let Some(first) = first_of_version.get(&version) else {
                first_of_version.insert(version, id);
                continue;
            };
            let bucket = identifier(ANCIENT_CHANGES, ManagedOperation::Update, &version, None);
            if !self.entries.contains_key(&bucket) {
                let moved = self.entries.remove(first).map(|e| ManagedFieldsEntry {
                    manager: ANCIENT_CHANGES.to_owned(),
                    subresource: None,
                    ..e
                });
                self.entries.extend(moved.map(|e| (bucket.clone(), e)));
            }
            let fields = match self.entries.get(&bucket) {
                Some(b) => entry.fields.union(&b.fields),
                None => entry.fields.clone(),
            };
            self.entries.insert(
                bucket.clone(),
                ManagedFieldsEntry {
                    manager: ANCIENT_CHANGES.to_owned(),
                    operation: ManagedOperation::Update,
                    api_version: version,
                    time: entry.time.clone(),
                    subresource: None,
                    fields,
                },
            );
            self.entries.remove(&id);
            length -= 1;
        }
    }
}

/// Seconds since the epoch of an RFC 3339 time (`2006-01-02T15:04:05Z07:00`, fraction
/// allowed).
pub(crate) fn unix_seconds(time: &str) -> Option<i64> {
    crate::time::parse_time(time)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn identifiers_match_upstream() {
        assert_eq!(
            identifier("foo", ManagedOperation::Update, "v1", None),
            r#"{"manager":"foo","operation":"Update","apiVersion":"v1"}"#
        );
        assert_eq!(
            identifier("foo", ManagedOperation::Apply, "v1", None),
            r#"{"manager":"foo","operation":"Apply"}"#
        );
        assert_eq!(
            identifier("foo", ManagedOperation::Apply, "v1", Some("scale")),
            r#"{"manager":"foo","operation":"Apply","subresource":"scale"}"#
        );
    }

    #[test]
    fn times_parse_as_rfc3339() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2001-02-03T04:05:06Z"), Some(981_173_106));
        assert_eq!(
            unix_seconds("2001-02-03T05:05:06.5+01:00"),
            Some(981_173_106)
        );
        assert_eq!(unix_seconds("2001-02-03 04:05:06"), None);
    }

    #[test]
    fn entries_round_trip_in_upstream_order() {
        let object = json!({"metadata": {"managedFields": [
            {"manager": "b", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2011-12-13T14:15:16Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"i:5": {"f:i": {}}}},
            {"manager": "a", "operation": "Update", "apiVersion": "v1beta1", "time": "2001-02-03T04:05:06Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"v:3": {"f:alsoPi": {}}, "v:3.1415": {"f:pi": {}}}},
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "subresource": "scale",
             "time": "2011-12-13T14:15:16Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        ]}});
        let managed = ManagedFields::from_object(&object).unwrap();
        let mut written = json!({"metadata": {}});
        managed.write_to(&mut written);
        let list = object["metadata"]["managedFields"].as_array().unwrap();
        let expected = json!([list[0], list[2], list[1], list[3]]);
        assert_eq!(written["metadata"]["managedFields"], expected);
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let entry = |e: Value| json!({"metadata": {"managedFields": [e]}});
        let error = |e: Value| {
            ManagedFields::from_object(&entry(e))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(
                json!({"manager": "a", "operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"})
            ),
            "metadata.managedFields[0]: operation must be `Apply` or `Update`"
        );
        assert_eq!(
            error(json!({"manager": "a", "operation": "Apply", "fieldsType": "FieldsV1"})),
            "metadata.managedFields[0]: apiVersion must not be empty"
        );
        assert_eq!(
            error(
                json!({"manager": "a", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV2"})
            ),
            r#"metadata.managedFields[0]: invalid fieldsType "FieldsV2""#
        );
        assert!(error(
            json!({"manager": "a", "operation": "Apply", "apiVersion": "v1",
                             "fieldsType": "FieldsV1", "fieldsV1": {"f:a": 1}})
        )
        .starts_with("metadata.managedFields[0].fieldsV1: "));
        assert!(ManagedFields::from_object(&json!({"metadata": {"managedFields": {}}})).is_err());
    }

    #[test]
    fn update_entries_beyond_ten_merge_into_ancient_changes() {
        let mut managed = ManagedFields::default();
        for i in 0..12 {
            let mut fields = FieldSet::new();
            fields.insert(&[super::super::path::PathElement::Field(format!("f{i}"))]);
            managed.insert(ManagedFieldsEntry {
                manager: format!("m{i:02}"),
                operation: ManagedOperation::Update,
                api_version: "v1".into(),
                time: Some(format!("2001-02-03T04:05:{i:02}Z")),
                subresource: None,
                fields,
            });
        }
        managed.cap_update_managers();
        assert_eq!(managed.len(), 10);
        let ancient = managed
            .entry(ANCIENT_CHANGES, ManagedOperation::Update)
            .unwrap();
        assert_eq!(
            ancient.fields.to_fields_v1(),
            json!({"f:f0": {}, "f:f1": {}, "f:f2": {}})
        );
        assert_eq!(ancient.time.as_deref(), Some("2001-02-03T04:05:02Z"));
    }
}
