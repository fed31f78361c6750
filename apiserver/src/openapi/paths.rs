//! The paths and operations of one resource, in v2 or v3 form. They mirror what the handlers
//! serve: list, create, get, replace, patch and delete, and get, replace and patch of
//! `/status`.

use registry::Resource;
use serde_json::{json, Map, Value};

use super::definitions::{kind_name, meta_name, Style};

/// One operation to describe.
struct Op<'a> {
    /// The Kubernetes verb: the operation is declared when the resource serves it.
    verb: &'a str,
    method: &'a str,
    action: &'a str,
    id: String,
    description: String,
    /// The request body schema and its media types, for writes.
    body: Option<(Value, &'a [&'a str])>,
    /// Response code and schema.
    responses: Vec<(&'a str, Value)>,
    /// Takes `fieldValidation`.
    validates: bool,
}

/// The query parameters of list and watch, as the handlers read them.
const LIST_PARAMETERS: &[(&str, &str, &str)] = &[
    (
        "allowWatchBookmarks",
        "boolean",
        "requests watch events with type \"BOOKMARK\".",
    ),
    (
        "continue",
        "string",
        "the continue token of the previous page.",
    ),
    (
        "fieldSelector",
        "string",
        "a selector restricting the list of returned objects by their fields.",
    ),
    (
        "labelSelector",
        "string",
        "a selector restricting the list of returned objects by their labels.",
    ),
    (
        "limit",
        "integer",
        "the maximum number of objects to return; more may be read with continue.",
    ),
    (
        "resourceVersion",
        "string",
        "sets a constraint on what resource versions a request may be served from.",
    ),
    (
        "resourceVersionMatch",
        "string",
        "how resourceVersion is applied to list calls: Exact or NotOlderThan.",
    ),
    (
        "timeoutSeconds",
        "integer",
        "timeout for the list/watch call.",
    ),
    (
        "watch",
        "boolean",
        "watch for changes to the described resources and return them as a stream.",
    ),
];

pub fn resource_paths(r: &Resource, style: Style) -> Map<String, Value> {
    let d = &r.def;
    let prefix = if d.group.is_empty() {
        format!("/api/{}", d.version)
    } else {
        format!("/apis/{}/{}", d.group, d.version)
    };
    let scope = if d.namespaced() {
        "namespaces/{namespace}/"
    } else {
        ""
    };
    let collection = format!("{prefix}/{scope}{}", d.plural);
    let object = format!("{collection}/{{name}}");
    let id_kind = format!(
        "{}{}{}",
        camel(&d.group),
        camel(&d.version),
        if d.namespaced() {
            format!("Namespaced{}", d.kind)
        } else {
            d.kind.clone()
        }
    );
    let kind = style.reference(&kind_name(r, &d.kind));
    let list = style.reference(&kind_name(r, &d.list_kind()));
    let status = style.reference(&meta_name("Status"));
    let json_types: &[&str] = &["application/json"];

    let mut paths = Map::new();
    let collection_ops = vec![
        Op {
            verb: "list",
            method: "get",
            action: "list",
            id: format!("list{id_kind}"),
            description: format!("list or watch objects of kind {}", d.kind),
            body: None,
            responses: vec![("200", list.clone())],
            validates: false,
        },
        Op {
            verb: "create",
            method: "post",
            action: "post",
            id: format!("create{id_kind}"),
            description: format!("create a {}", d.kind),
            body: Some((kind.clone(), json_types)),
            responses: vec![("200", kind.clone()), ("201", kind.clone())],
            validates: true,
        },
        Op {
            verb: "deletecollection",
            method: "delete",
            action: "deletecollection",
            id: format!("deletecollection{id_kind}"),
            description: format!("delete a collection of {}", d.kind),
            body: Some((style.reference(&meta_name("DeleteOptions")), json_types)),
            responses: vec![("200", list.clone())],
            validates: false,
        },
    ];
    // Only the operations of the verbs the resource serves, and only paths with one.
    let mut insert = |path: String, ops: Vec<Op<'_>>, namespaced: bool, object: bool| {
        let ops: Vec<Op<'_>> = ops
            .into_iter()
            .filter(|op| d.verbs.allows(op.verb))
            .collect();
        if !ops.is_empty() {
            paths.insert(path, path_item(r, style, ops, namespaced, object));
        }
    };
    insert(collection, collection_ops, d.namespaced(), false);
    let object_ops = |suffix: &str, what: &str| {
        let mut ops = vec![
            Op {
                verb: "get",
                method: "get",
                action: "get",
                id: format!("read{id_kind}{suffix}"),
                description: describe("read", what, &d.kind),
                body: None,
                responses: vec![("200", kind.clone())],
                validates: false,
            },
            Op {
                verb: "update",
                method: "put",
                action: "put",
                id: format!("replace{id_kind}{suffix}"),
                description: describe("replace", what, &d.kind),
                body: Some((kind.clone(), json_types)),
                responses: vec![("200", kind.clone())],
                validates: true,
            },
            Op {
                verb: "patch",
                method: "patch",
                action: "patch",
                id: format!("patch{id_kind}{suffix}"),
                description: describe("partially update", what, &d.kind),
                body: Some((style.reference(&meta_name("Patch")), d.patch_types())),
                responses: vec![("200", kind.clone())],
                validates: true,
            },
        ];
        if suffix.is_empty() {
            ops.push(Op {
                verb: "delete",
                method: "delete",
                action: "delete",
                id: format!("delete{id_kind}"),
                description: format!("delete a {}", d.kind),
                body: Some((style.reference(&meta_name("DeleteOptions")), json_types)),
                responses: vec![("200", status.clone())],
                validates: false,
            });
        }
        ops
    };
    insert(object.clone(), object_ops("", ""), d.namespaced(), true);
    if d.status_subresource {
        let status_ops = object_ops("Status", "status");
        insert(format!("{object}/status"), status_ops, d.namespaced(), true);
    }
    if d.namespaced() {
        let all = Op {
            verb: "list",
            method: "get",
            action: "list",
            id: format!(
                "list{}{}{}ForAllNamespaces",
                camel(&d.group),
                camel(&d.version),
                d.kind
            ),
            description: format!(
                "list or watch objects of kind {} in every namespace",
                d.kind
            ),
            body: None,
            responses: vec![("200", list)],
            validates: false,
        };
        insert(format!("{prefix}/{}", d.plural), vec![all], false, false);
    }
    paths
}

/// "read the specified X", or "read status of the specified X" for a subresource.
fn describe(verb: &str, what: &str, kind: &str) -> String {
    if what.is_empty() {
        format!("{verb} the specified {kind}")
    } else {
        format!("{verb} {what} of the specified {kind}")
    }
}

/// `fleet.k0rdent.io` → `FleetK0rdentIo`, `v1alpha1` → `V1alpha1`.
fn camel(s: &str) -> String {
    s.split(['.', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect()
}

fn path_item(r: &Resource, style: Style, ops: Vec<Op>, namespaced: bool, named: bool) -> Value {
    let mut item = Map::new();
    let mut shared = Vec::new();
    if named {
        shared.push(parameter(style, "name", "path", "name of the object"));
    }
    if namespaced {
        shared.push(parameter(
            style,
            "namespace",
            "path",
            "object name and auth scope, such as for teams and projects",
        ));
    }
    item.insert("parameters".into(), Value::Array(shared));
    for op in ops {
        item.insert(op.method.to_owned(), operation(r, style, op));
    }
    Value::Object(item)
}

fn parameter(style: Style, name: &str, location: &str, description: &str) -> Value {
    let mut p = json!({
        "name": name,
        "in": location,
        "description": description,
        "uniqueItems": true,
    });
    if location == "path" {
        p["required"] = json!(true);
    }
    match style {
        Style::V2 => p["type"] = json!("string"),
        Style::V3 => p["schema"] = json!({"type": "string", "uniqueItems": true}),
    }
    p
}

const FIELD_VALIDATION: &str = "fieldValidation instructs the server on how to handle objects in \
the request containing unknown or duplicate fields. Valid values are: Ignore (drop them \
silently), Warn (drop them and send a warning header; the default), Strict (fail the request \
with a BadRequest error).";

/// kube-apiserver's text for patches.
const PATCH_FIELD_MANAGER: &str = "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).";
const FORCE: &str = "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.";
const FIELD_MANAGER: &str = "fieldManager is a name associated with the actor or entity that \
is making these changes. The value must be less than or 128 characters long, and only contain \
printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.";

const DRY_RUN: &str = "When present, indicates that modifications should not be persisted. \
An invalid or unrecognized dryRun directive will result in an error response and no further \
processing of the request. Valid values are: All (all dry run stages will be processed).";

fn operation(r: &Resource, style: Style, op: Op) -> Value {
    let d = &r.def;
    let mut o = json!({
        "description": op.description,
        "operationId": op.id,
        "tags": [format!("{}_{}", camel(&d.group), d.version)],
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": {"group": d.group, "version": d.version, "kind": d.kind},
    });
    let mut params = Vec::new();
    if matches!(op.action, "list" | "deletecollection") {
        for (name, kind, description) in LIST_PARAMETERS {
            let watching = matches!(*name, "watch" | "allowWatchBookmarks");
            if watching && op.action == "deletecollection" {
                continue;
            }
            let mut p = parameter(style, name, "query", description);
            match style {
                Style::V2 => p["type"] = json!(kind),
                Style::V3 => p["schema"]["type"] = json!(kind),
            }
            params.push(p);
        }
    }
    if op.validates || matches!(op.action, "delete" | "deletecollection") {
        params.push(parameter(style, "dryRun", "query", DRY_RUN));
    }
    if op.validates {
        let description = if op.action == "patch" {
            PATCH_FIELD_MANAGER
        } else {
            FIELD_MANAGER
        };
        params.push(parameter(style, "fieldManager", "query", description));
    }
    if op.validates {
        params.push(parameter(
            style,
            "fieldValidation",
            "query",
            FIELD_VALIDATION,
        ));
    }
    if op.action == "patch" {
        let mut force = parameter(style, "force", "query", FORCE);
        match style {
            Style::V2 => force["type"] = json!("boolean"),
            Style::V3 => force["schema"]["type"] = json!("boolean"),
        }
        params.push(force);
    }
    let mut responses = Map::new();
    for (code, schema) in &op.responses {
        let response = match style {
            Style::V2 => json!({"description": "OK", "schema": schema}),
            Style::V3 => {
                json!({"description": "OK", "content": {"application/json": {"schema": schema}}})
            }
        };
        responses.insert((*code).to_owned(), response);
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    o["responses"] = Value::Object(responses);
    match (style, op.body) {
        (Style::V2, Some((schema, types))) => {
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": schema}));
            o["consumes"] = json!(types);
        }
        (Style::V3, Some((schema, types))) => {
            let content: Map<String, Value> = types
                .iter()
                .map(|t| ((*t).to_owned(), json!({"schema": schema})))
                .collect();
            o["requestBody"] = json!({"content": content, "required": true});
        }
        (_, None) => {}
    }
    if style == Style::V2 {
        o["produces"] = json!(["application/json"]);
        o["schemes"] = json!(["https"]);
    }
    if !params.is_empty() {
        o["parameters"] = Value::Array(params);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_version_become_operation_id_words() {
        assert_eq!(camel("fleet.k0rdent.io"), "FleetK0rdentIo");
        assert_eq!(camel("v1alpha1"), "V1alpha1");
        assert_eq!(camel(""), "");
    }
}
