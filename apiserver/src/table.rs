//! Server-side printing and metadata-only responses: objects, lists and watch events rendered
//! as `meta.k8s.io` `Table`s (from each kind's printer columns) or as
//! `PartialObjectMetadata(List)`, as k8s.io/apiserver `handlers/response.go` transforms them.

use bytes::Bytes;
use registry::jsonpath::JsonPath;
use registry::list::ListMeta;
use registry::resource::{ColumnSource, PrinterColumn};
use registry::time;
use registry::watch::{EventType, ObjectEvent};
use registry::{meta, ApiError, ResourceDefinition};
use serde_json::{json, Map, Value};

use crate::negotiation::Output;

/// What each table row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    /// Reads the `includeObject` query parameter of a Table request (400 for other values,
    /// with the message of k8s.io/apiserver `handlers/response.go`).
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("") | Some("Metadata") => Ok(IncludeObject::Metadata),
            Some("None") => Ok(IncludeObject::None),
            Some("Object") => Ok(IncludeObject::Object),
            Some(other) => Err(ApiError::bad_request(format!(
                "Unable to convert to Table as requested: includeObject: Invalid value: {other:?}: must be 'Metadata', 'Object', 'None', or empty"
            ))),
        }
    }
}

/// Renders responses of one request.
#[derive(Debug)]
pub struct Renderer<'a> {
    pub def: &'a ResourceDefinition,
    pub output: Output,
    pub include: IncludeObject,
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.";

impl Renderer<'_> {
    /// One object (get, create, update, patch).
    pub fn object(&self, obj: Value) -> Value {
        self.render(obj, true)
    }

    /// An object as asked: itself, its metadata, or a table of its row (with the column
    /// definitions when `columns`).
    fn render(&self, obj: Value, columns: bool) -> Value {
        match self.output {
            Output::Object => obj,
            Output::Metadata { version } | Output::MetadataList { version } => {
                partial(&obj, version)
            }
            Output::Table { version } => {
                let rv = obj["metadata"]["resourceVersion"].clone();
                let rows = vec![self.row(&obj, version)];
                self.table(version, json!({"resourceVersion": rv}), rows, columns)
            }
        }
    }

    /// An encoder of a list page, fed its objects one at a time.
    pub fn list(&self) -> ListEncoder<'_> {
        ListEncoder {
            render: self,
            items: Vec::new(),
            count: 0,
            rows: Vec::new(),
        }
    }

    /// A watch event; `first` tables carry the column definitions. ERROR events stay Status.
    pub fn event(&self, event: ObjectEvent, first: bool) -> ObjectEvent {
        // Bookmarks are converted like any object (as upstream's response transform does),
        // so a table row's metadata keeps `k8s.io/initial-events-end`.
        let object = match event.kind {
            EventType::Error => event.object,
            _ => self.render(event.object, first),
        };
        ObjectEvent {
            kind: event.kind,
            object,
        }
    }

    fn table(&self, version: &str, metadata: Value, rows: Vec<Value>, columns: bool) -> Value {
        let definitions = if columns {
            Value::Array(self.column_definitions())
        } else {
            Value::Null
        };
        json!({
            "kind": "Table",
            "apiVersion": format!("meta.k8s.io/{version}"),
            "metadata": metadata,
            "columnDefinitions": definitions,
            "rows": rows,
        })
    }

    /// Name, then the kind's columns (Age alone when it declares none).
    fn columns(&self) -> Vec<PrinterColumn> {
        if self.def.printer_columns.is_empty() {
            vec![PrinterColumn {
                name: "Age".into(),
                column_type: "date".into(),
                format: String::new(),
                description: AGE_DESCRIPTION.into(),
                priority: 0,
                source: ColumnSource::JsonPath(".metadata.creationTimestamp".into()),
            }]
        } else {
            self.def.printer_columns.clone()
        }
    }

    fn column_definitions(&self) -> Vec<Value> {
        let mut out = vec![json!({
            "name": "Name", "type": "string", "format": "name",
            "description": NAME_DESCRIPTION, "priority": 0,
        })];
        for c in self.columns() {
            let description = describe(&c);
            out.push(json!({
                "name": c.name, "type": c.column_type, "format": c.format,
                "description": description, "priority": c.priority,
            }));
        }
        out
    }

    /// A row; its object (when included) in the Table's own `meta.k8s.io` version.
    fn row(&self, obj: &Value, version: &str) -> Value {
        let mut cells = vec![json!(meta::name(obj).unwrap_or_default())];
        cells.extend(self.columns().iter().map(|c| cell(c, obj)));
        let mut row = Map::new();
        row.insert("cells".into(), Value::Array(cells));
        match self.include {
            IncludeObject::None => {}
            IncludeObject::Metadata => {
                row.insert("object".into(), partial(obj, version));
            }
            IncludeObject::Object => {
                row.insert("object".into(), obj.clone());
            }
        }
        Value::Object(row)
    }
}

/// A column's description when its kind gives none: a column over
/// `.metadata.creationTimestamp` gets that field's documentation, another JSONPath column the
/// custom resource table convertor's `Custom resource definition column (in JSONPath format):`
/// line; computed columns stay as declared (kube-apiserver's built-in printers leave some
/// empty, e.g. a RoleBinding's Role).
fn describe(column: &PrinterColumn) -> String {
    if !column.description.is_empty() {
        return column.description.clone();
    }
    match &column.source {
        ColumnSource::JsonPath(path) if path == ".metadata.creationTimestamp" => {
            AGE_DESCRIPTION.into()
        }
        ColumnSource::JsonPath(path) => {
            format!("Custom resource definition column (in JSONPath format): {path}")
        }
        ColumnSource::Computed(_) => String::new(),
    }
}

/// The cell of one column: dates as ages, scalars as they are, missing values as null.
fn cell(column: &PrinterColumn, obj: &Value) -> Value {
    let value = match &column.source {
        ColumnSource::Computed(compute) => compute(obj),
        ColumnSource::JsonPath(path) => JsonPath::parse(path)
            .ok()
            .and_then(|p| p.find(obj).first().map(|v| (*v).clone()))
            .unwrap_or(Value::Null),
    };
    match (column.column_type.as_str(), &value) {
        ("date", Value::String(time)) => match time::parse_time(time) {
            Some(at) => json!(time::human_duration(time::unix_now() - at)),
            None => Value::Null,
        },
        (_, Value::Object(_) | Value::Array(_)) => json!(value.to_string()),
        _ => value,
    }
}

/// `PartialObjectMetadata`: the object's metadata alone.
/// A list page being encoded: each object is rendered (as itself, its metadata, or a table
/// row) and encoded as it comes, so that the page never holds its objects decoded. A page is
/// sent whole ([`ListEncoder::finish`]) or, when long, streamed: [`ListEncoder::stream_head`],
/// the items as they are encoded ([`ListEncoder::take_items`]), [`ListEncoder::stream_tail`].
#[derive(Debug)]
pub struct ListEncoder<'a> {
    render: &'a Renderer<'a>,
    /// The JSON of the items not yet taken, comma-separated.
    items: Vec<u8>,
    /// How many items were encoded.
    count: usize,
    /// The rows of a table (small: cells and, at most, object metadata).
    rows: Vec<Value>,
}

impl ListEncoder<'_> {
    /// Adds the next objects.
    pub fn push_all(&mut self, objects: Vec<Value>) -> Result<(), ApiError> {
        objects.into_iter().try_for_each(|obj| self.push(obj))
    }

    /// Adds the next object.
    pub fn push(&mut self, obj: Value) -> Result<(), ApiError> {
        if let Output::Table { version } = self.render.output {
            self.rows.push(self.render.row(&obj, version));
            return Ok(());
        }
        let item = self.render.render(obj, false);
        if self.count > 0 {
            self.items.push(b',');
        }
        self.count += 1;
        serde_json::to_writer(&mut self.items, &item)
            .map_err(|e| ApiError::internal(format!("encoding a list item: {e}")))
    }

    /// Whether the page can be streamed (tables are built whole; their rows are small).
    pub fn streams(&self) -> bool {
        !matches!(self.render.output, Output::Table { .. })
    }

    /// The bytes of items encoded and not yet taken.
    pub fn buffered(&self) -> usize {
        self.items.len()
    }

    /// The items encoded since the last call.
    pub fn take_items(&mut self) -> Bytes {
        std::mem::take(&mut self.items).into()
    }

    /// The page's JSON, in kube-apiserver's field order: kind, apiVersion, metadata, items —
    /// in pieces, so that the items are not copied again.
    pub fn finish(self, list: ListMeta) -> Result<Vec<Bytes>, ApiError> {
        let render = self.render;
        let metadata = list_metadata(&list);
        if let Output::Table { version } = render.output {
            let table = render.table(version, metadata, self.rows, true);
            return Ok(vec![encode(&table)?.into()]);
        }
        let mut head = self.opening()?;
        head.extend_from_slice(b",\"metadata\":");
        head.extend_from_slice(&encode(&metadata)?);
        head.extend_from_slice(b",\"items\":[");
        Ok(vec![
            head.into(),
            self.items.into(),
            Bytes::from_static(b"]}"),
        ])
    }

    /// What a streamed page starts with: kind, apiVersion, and the opening of its items (its
    /// metadata, known only at the end, comes last).
    pub fn stream_head(&self) -> Result<Bytes, ApiError> {
        let mut head = self.opening()?;
        head.extend_from_slice(b",\"items\":[");
        Ok(head.into())
    }

    /// What a streamed page ends with: the end of its items and its metadata.
    pub fn stream_tail(&self, list: &ListMeta) -> Result<Bytes, ApiError> {
        let mut tail = b"],\"metadata\":".to_vec();
        tail.extend_from_slice(&encode(&list_metadata(list))?);
        tail.push(b'}');
        Ok(tail.into())
    }

    /// `{"kind":…,"apiVersion":…` of an object or metadata list.
    fn opening(&self) -> Result<Vec<u8>, ApiError> {
        let render = self.render;
        let (kind, api_version) = match render.output {
            Output::Metadata { version } | Output::MetadataList { version } => (
                "PartialObjectMetadataList".to_owned(),
                format!("meta.k8s.io/{version}"),
            ),
            _ => (render.def.list_kind(), render.def.api_version()),
        };
        let mut out = b"{\"kind\":".to_vec();
        out.extend_from_slice(&encode(&kind)?);
        out.extend_from_slice(b",\"apiVersion\":");
        out.extend_from_slice(&encode(&api_version)?);
        Ok(out)
    }
}

/// A list's `metadata`: its resourceVersion, continue token and remaining count.
fn list_metadata(list: &ListMeta) -> Value {
    let mut metadata = json!({"resourceVersion": list.resource_version.to_string()});
    if let Some(token) = &list.continue_token {
        metadata["continue"] = json!(token);
    }
    if let Some(remaining) = list.remaining_item_count {
        metadata["remainingItemCount"] = json!(remaining);
    }
    metadata
}

fn encode(value: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::internal(format!("encoding a list: {e}")))
}

fn partial(obj: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::Scope;

    fn def() -> ResourceDefinition {
        let mut def = ResourceDefinition::new("g", "v1", "Thing", "things", Scope::Namespaced);
        def.printer_columns = vec![PrinterColumn {
            name: "Template".into(),
            column_type: "string".into(),
            format: String::new(),
            description: "the template".into(),
            priority: 0,
            source: ColumnSource::JsonPath(".spec.template".into()),
        }];
        def
    }

    fn object() -> Value {
        json!({"apiVersion": "g/v1", "kind": "Thing",
               "metadata": {"name": "a", "resourceVersion": "7", "creationTimestamp": time::now()},
               "spec": {"template": "t1"}})
    }

    #[test]
    fn tables_have_name_then_declared_columns_and_metadata_rows() {
        let def = def();
        let r = Renderer {
            def: &def,
            output: Output::Table { version: "v1" },
            include: IncludeObject::Metadata,
        };
        let t = r.object(object());
        assert_eq!(t["kind"], "Table");
        let beta = Renderer {
            def: &def,
            output: Output::Table { version: "v1beta1" },
            include: IncludeObject::Metadata,
        };
        assert_eq!(
            beta.object(object())["rows"][0]["object"]["apiVersion"],
            "meta.k8s.io/v1beta1"
        );
        let names: Vec<_> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].clone())
            .collect();
        assert_eq!(names, [json!("Name"), json!("Template")]);
        assert_eq!(t["rows"][0]["cells"], json!(["a", "t1"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn kinds_without_columns_get_an_age_column() {
        let def = ResourceDefinition::new("g", "v1", "Thing", "things", Scope::Namespaced);
        let r = Renderer {
            def: &def,
            output: Output::Table { version: "v1" },
            include: IncludeObject::None,
        };
        let t = r.object(object());
        assert_eq!(t["columnDefinitions"][1]["name"], "Age");
        assert_eq!(t["rows"][0]["cells"][1], "0s");
        assert!(t["rows"][0].get("object").is_none());
    }

    #[test]
    fn later_watch_tables_omit_column_definitions_and_errors_stay_status() {
        let def = def();
        let r = Renderer {
            def: &def,
            output: Output::Table { version: "v1" },
            include: IncludeObject::Metadata,
        };
        let event = |kind| ObjectEvent {
            kind,
            object: object(),
        };
        assert!(r.event(event(EventType::Added), true).object["columnDefinitions"].is_array());
        assert!(r.event(event(EventType::Modified), false).object["columnDefinitions"].is_null());
        let error = ObjectEvent {
            kind: EventType::Error,
            object: json!({"kind": "Status"}),
        };
        assert_eq!(r.event(error, false).object["kind"], "Status");
    }

    #[test]
    fn include_object_values_are_checked() {
        assert_eq!(IncludeObject::parse(None).unwrap(), IncludeObject::Metadata);
        assert_eq!(
            IncludeObject::parse(Some("Object")).unwrap(),
            IncludeObject::Object
        );
        assert_eq!(IncludeObject::parse(Some("All")).unwrap_err().code(), 400);
    }

    #[test]
    fn columns_without_descriptions_get_kube_apiservers() {
        let column = |path: &str| PrinterColumn {
            name: "X".into(),
            column_type: "string".into(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            source: ColumnSource::JsonPath(path.into()),
        };
        assert_eq!(
            describe(&column(".metadata.creationTimestamp")),
            AGE_DESCRIPTION
        );
        assert_eq!(
            describe(&column(".spec.region")),
            "Custom resource definition column (in JSONPath format): .spec.region"
        );
    }
}
