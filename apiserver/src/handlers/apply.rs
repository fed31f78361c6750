//! Server-side apply: `PATCH` with `application/apply-patch+yaml` (YAML or JSON), merged into
//! the live object by [`registry::fieldmanager::apply`] — creating it when it does not exist —
//! with conflicts on fields other managers own unless `force=true` (k8s.io/apiserver
//! `pkg/endpoints/handlers/patch.go` `applyPatcher`).

use http::{Response, StatusCode};
use registry::field::FieldError;
use registry::fieldmanager::{self, lastapplied, ApplyError};
use registry::{meta, ApiError, Subresource};
use serde_json::Value;

use super::{renderer, Call};
use crate::negotiation::Shape;
use crate::response::{self, Body};

/// How often an apply is retried after losing a race with another write.
const ATTEMPTS: usize = 5;

pub(crate) async fn handle(call: Call<'_>) -> Result<Response<Body>, ApiError> {
    let mut options = call.write_options("PatchOptions")?;
    let manager = field_manager(&call.query)?;
    let force = force(&call.query)?;
    // The apply records its own entry; the store must not add an Update one.
    options.manager = None;
    let (name, namespace) = (call.name().to_owned(), call.namespace().map(str::to_owned));
    let resource = call.resource.clone();
    let render = renderer(&resource.def, &call.headers, &call.query, Shape::Object)?;
    let bytes = crate::request::body::read_bytes(call.body).await?;
    let config = decode_config(&bytes)?;
    let locked = meta::resource_version(&config).is_some();
    // rest.EnsureObjectNamespaceMatchesRequestNamespace
    if let (Some(url), Some(body)) = (namespace.as_deref(), meta::namespace(&config)) {
        if url != body {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let (reset, op) = registry::generic::field_operation(&resource, call.subresource, &manager);
    let store = &call.server.store;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let live = match store.get(&resource, namespace.as_deref(), &name).await {
            Ok(live) => Some(live),
            // Apply creates what is missing — but not through a subresource.
            Err(e) if e.code() == 404 && call.subresource == Subresource::Main => None,
            Err(e) => return Err(e),
        };
        let schema = resource.def.schema.as_ref();
        let mut applied =
            match fieldmanager::apply(schema, reset, live.as_ref(), &config, &op, force) {
                // `kubectl` taking over from client-side apply: fields still as last applied.
                Err(ApplyError::Conflicts(conflicts))
                    if lastapplied::conflicts_allowed(
                        &op.manager,
                        live.as_ref(),
                        &conflicts,
                        schema,
                    ) =>
                {
                    fieldmanager::apply(schema, reset, live.as_ref(), &config, &op, true)
                }
                other => other,
            }
            .map_err(apply_error)?;
        lastapplied::update_annotation(&op.manager, &config, &mut applied);
        if meta::name(&applied) != Some(name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta::name(&applied).unwrap_or_default()
            )));
        }
        check_uid(&resource.def, &name, &config, live.as_ref())?;
        let written = match &live {
            None => {
                let written = store
                    .create(&resource, namespace.as_deref(), applied, &options)
                    .await;
                match written {
                    Err(e) if e.code() == 409 && attempt < ATTEMPTS => continue,
                    other => other.map(|w| (StatusCode::CREATED, w)),
                }
            }
            Some(live) => {
                if !locked {
                    let rv = live["metadata"]["resourceVersion"].clone();
                    meta::set(&mut applied, "resourceVersion", Some(rv));
                }
                let written = store
                    .update(
                        &resource,
                        namespace.as_deref(),
                        &name,
                        applied,
                        call.subresource,
                        &options,
                    )
                    .await;
                match written {
                    Err(e) if e.reason() == "Conflict" && !locked && attempt < ATTEMPTS => continue,
                    other => other.map(|w| (StatusCode::OK, w)),
                }
            }
        };
        let (code, written) = written?;
        let mut response = response::json(code, &render.object(written.object));
        response::add_warnings(&mut response, &written.warnings);
        return Ok(response);
    }
}

/// A uid in the configuration must be the live object's: a missing object is a conflict
/// (`uid mismatch`, as kube-apiserver's patcher says), another uid an immutable field.
fn check_uid(
    def: &registry::ResourceDefinition,
    name: &str,
    config: &Value,
    live: Option<&Value>,
) -> Result<(), ApiError> {
    let Some(uid) = meta::get(config, "uid").filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    match live {
        None => Err(ApiError::conflict(
            &def.group_resource(),
            name,
            &format!(
                "uid mismatch: the provided object specified uid {uid}, and no existing object was found"
            ),
        )),
        Some(live) if meta::get(live, "uid") != Some(uid) => Err(ApiError::invalid(
            &def.kind,
            &def.group,
            name,
            &[FieldError::invalid(
                "metadata.uid",
                &Value::String(uid.to_owned()),
                "field is immutable",
            )],
        )),
        Some(_) => Ok(()),
    }
}

/// `fieldManager` is required for apply (`ValidatePatchOptions`).
fn field_manager(query: &[(String, String)]) -> Result<String, ApiError> {
    match query.iter().find(|(k, _)| k == "fieldManager") {
        Some((_, manager)) if !manager.is_empty() => Ok(manager.clone()),
        _ => Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            &[FieldError::required(
                "fieldManager",
                "is required for apply patch",
            )],
        )),
    }
}

/// `force`: a boolean as Go's `strconv.ParseBool` reads it.
fn force(query: &[(String, String)]) -> Result<bool, ApiError> {
    match query
        .iter()
        .find(|(k, _)| k == "force")
        .map(|(_, v)| v.as_str())
    {
        None | Some("") => Ok(false),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(ApiError::bad_request(format!(
            "strconv.ParseBool: parsing {other:?}: invalid syntax"
        ))),
    }
}

fn apply_error(error: ApplyError) -> ApiError {
    match error {
        ApplyError::Conflicts(conflicts) => {
            let causes = conflicts
                .0
                .iter()
                .map(|c| (c.field(), c.message()))
                .collect();
            ApiError::apply_conflict(conflicts.message(), causes)
        }
        ApplyError::Invalid(message) => ApiError::bad_request(message),
        ApplyError::ManagedFields(e) => {
            ApiError::internal(format!("failed to decode managed fields: {e}"))
        }
    }
}

/// The applied configuration: JSON (what kubectl and client-go send), or YAML decoded with a
/// budget of values so that aliases cannot expand a small body into an enormous one (go-yaml
/// refuses "excessive aliasing" the same way).
fn decode_config(bytes: &[u8]) -> Result<Value, ApiError> {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return Ok(value);
    }
    // A document without aliases has fewer values than bytes.
    let budget = Budget(std::cell::Cell::new(bytes.len().max(1024)));
    let deserializer = yaml_serde::Deserializer::from_slice(bytes);
    serde::de::DeserializeSeed::deserialize(ValueSeed(&budget), deserializer)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

/// How many more values a YAML document may produce.
struct Budget(std::cell::Cell<usize>);

impl Budget {
    fn take<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.0.get() {
            0 => Err(E::custom("document contains excessive aliasing")),
            left => {
                self.0.set(left - 1);
                Ok(())
            }
        }
    }
}

/// Builds a JSON value, spending the budget on every value.
struct ValueSeed<'b>(&'b Budget);

impl<'de> serde::de::DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.take()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.0.take()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.take()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed(self.0))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.take()?;
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.0.take()?;
            let value = map.next_value_seed(ValueSeed(self.0))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_configurations_decode() {
        let yaml = b"apiVersion: v1\nkind: X\nmetadata: {name: a}\nspec:\n  list: [1, two, 3.5]\n  flag: true\n  none: null\n";
        let value = decode_config(yaml).unwrap();
        assert_eq!(value["spec"]["list"], serde_json::json!([1, "two", 3.5]));
        assert_eq!(value["spec"]["none"], Value::Null);
        assert_eq!(
            decode_config(br#"{"a": [1]}"#).unwrap(),
            serde_json::json!({"a": [1]})
        );
    }

    #[test]
    fn aliases_cannot_expand_a_small_body_without_bound() {
        let mut yaml = String::from("a: &a [");
        yaml.push_str(&"x, ".repeat(2000));
        yaml.push_str("x]\nb: [");
        yaml.push_str(&"*a, ".repeat(2000));
        yaml.push_str("*a]\n");
        let refused = decode_config(yaml.as_bytes()).unwrap_err();
        assert_eq!(refused.code(), 400);
        assert!(
            refused.status().message.contains("excessive aliasing"),
            "{}",
            refused.status().message
        );
        // A few aliases within the budget are fine.
        let fine = decode_config(b"a: &a {x: 1}\nb: *a\n").unwrap();
        assert_eq!(fine["b"]["x"], 1);
    }
}
