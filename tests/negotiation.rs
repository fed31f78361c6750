//! What a response looks like, asked for through raw requests against `fleet-apiserver up` on
//! the embedded store and on etcd: `Table` (v1, v1beta1, `includeObject`, on watch streams),
//! `PartialObjectMetadata(List)`, 406 for what cannot be produced, the watch-list event order,
//! dry-run writes that store nothing, `fieldValidation`, the 415 of strategic merge patch,
//! `Audit-Id`, and OpenAPI documents addressed by hash and cached by ETag
//! (`../shared/docs/KUBERNETES-API.md` §1, §2, §3, §6, §7, §9).

#[macro_use]
mod support;
mod support_everyday;

use std::time::Duration;

use serde_json::{json, Value};
use support::{cld, create, list_revision, Backend, Raw, TestServer, DEFAULT_CLDS};
use support_everyday::{
    cld_with, event_types, get, merge_patch, object_path, patch, revision, status_of, warnings,
    watch_events, INITIAL_EVENTS_END, KUBECTL_TABLE_ACCEPT, METADATA, METADATA_LIST, TABLE_V1,
    UNSUPPORTED_PATCH,
};

/// A server and an admin client; `None` when the backend cannot run here.
async fn start(backend: Backend) -> Option<(TestServer, kube::Client)> {
    let server = TestServer::start(backend)?;
    let client = server.client().await;
    Some((server, client))
}

/// GET with an `Accept` header.
async fn get_as(client: &kube::Client, path: &str, accept: &str) -> support::Reply {
    Raw::get(path).header("accept", accept).send(client).await
}

fn names(values: &[Value], pointer: &str) -> Vec<String> {
    values
        .iter()
        .map(|v| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{pointer} in {v}"))
                .to_owned()
        })
        .collect()
}

/// The Name column as kube-apiserver describes it (`metadata.name` in the OpenAPI of
/// ObjectMeta).
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.";

/// The columns of a ClusterDeployment table (docs/api.md, "Columns"): name, type, format,
/// priority (1: `-o wide` only), and the description where its wording is fixed.
const CLD_COLUMNS: [(&str, &str, &str, i64, Option<&str>); 10] = [
    ("Name", "string", "name", 0, Some(NAME_DESCRIPTION)),
    (
        "Ready",
        "string",
        "",
        0,
        Some("Status of the Ready condition (Unknown until a controller sets it)."),
    ),
    (
        "Reason",
        "string",
        "",
        0,
        Some("Reason of the Ready condition."),
    ),
    ("Template", "string", "", 0, Some("The ClusterTemplate.")),
    (
        "Phase",
        "string",
        "",
        0,
        Some("Where the cluster is in its life."),
    ),
    (
        "Version",
        "string",
        "",
        0,
        Some("Kubernetes version of the control plane."),
    ),
    (
        "Services",
        "string",
        "",
        0,
        Some("Services Deployed / services in spec."),
    ),
    // Described like every column (kube-apiserver describes Age with the documentation of
    // metadata.creationTimestamp), in words this test does not fix.
    ("Age", "date", "", 0, None),
    ("Credential", "string", "", 1, Some("The Credential.")),
    (
        "Message",
        "string",
        "",
        1,
        Some("Message of the Ready condition."),
    ),
];

/// Checks the column definitions of a ClusterDeployment table: exactly [`CLD_COLUMNS`], each
/// described.
fn assert_clusterdeployment_columns(table: &Value) {
    let columns = table["columnDefinitions"]
        .as_array()
        .unwrap_or_else(|| panic!("column definitions: {table}"));
    let described: Vec<(&str, &str, &str, i64)> = columns
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name"),
                c["type"].as_str().expect("type"),
                c["format"].as_str().expect("format"),
                c["priority"].as_i64().expect("priority"),
            )
        })
        .collect();
    let wanted: Vec<(&str, &str, &str, i64)> = CLD_COLUMNS
        .iter()
        .map(|&(name, kind, format, priority, _)| (name, kind, format, priority))
        .collect();
    assert_eq!(described, wanted, "{table}");
    for (column, (.., description)) in columns.iter().zip(CLD_COLUMNS) {
        let found = column["description"].as_str();
        assert!(
            found.is_some_and(|d| !d.is_empty()),
            "every column is described: {column}"
        );
        if let Some(description) = description {
            assert_eq!(found, Some(description), "{column}");
        }
    }
}

/// Checks a row's cells: the age cell (column 7) is an age, every other cell is as wanted.
fn assert_cells(row: &Value, wanted: &Value) {
    let cells = row["cells"]
        .as_array()
        .unwrap_or_else(|| panic!("cells: {row}"));
    assert_eq!(cells.len(), CLD_COLUMNS.len(), "{row}");
    assert!(is_age(&cells[7]), "an age: {row}");
    let mut without_age = cells.clone();
    without_age[7] = Value::Null;
    assert_eq!(Value::Array(without_age), *wanted, "{row}");
}

/// A ClusterDeployment spec naming `template`, credential `aws`, and these services.
fn spec(template: &str, services: &[&str]) -> Value {
    let services: Vec<Value> = services
        .iter()
        .map(|name| json!({"name": name, "template": format!("{name}-1-0-0")}))
        .collect();
    json!({"template": template, "credential": "aws", "services": services})
}

/// An age as kubectl prints it: digits and units (`0s`, `5m3s`, `2d`).
fn is_age(cell: &Value) -> bool {
    cell.as_str().is_some_and(|s| {
        !s.is_empty()
            && s.chars().next().is_some_and(|c| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_digit() || "smhdy".contains(c))
    })
}

/// A status that a controller would write: Provisioned, one of two services Deployed.
fn provisioned_status() -> Value {
    json!({"status": {
        "phase": "Provisioned",
        "kubernetesVersion": "v1.33.0",
        "conditions": [{
            "type": "Ready",
            "status": "False",
            "reason": "ServicesNotReady",
            "message": "db:Provisioning",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
        }],
        "services": [
            {"name": "web", "state": "Deployed"},
            {"name": "db", "state": "Provisioning"},
        ],
    }})
}

async fn kubectl_accept_on_a_list_gets_a_table_with_name_age_and_metadata_rows(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let a = cld_with("a", json!({"env": "prod"}), spec("t1", &["web", "db"]));
    create(&client, &a).await;
    create(
        &client,
        &cld_with("b", json!({"env": "dev"}), spec("t2", &[])),
    )
    .await;
    let status = format!("{}/status", object_path("a"));
    merge_patch(&client, &status, &provisioned_status()).await;

    let reply = get_as(&client, DEFAULT_CLDS, KUBECTL_TABLE_ACCEPT).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let table = reply.json();
    assert_eq!(table["kind"], "Table", "{table}");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1", "{table}");
    let listed_at: u64 = table["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("the table's resourceVersion: {table}"));
    assert_eq!(listed_at.to_string(), list_revision(&client).await);
    assert_clusterdeployment_columns(&table);
    let rows = table["rows"].as_array().expect("rows");
    assert_eq!(names(rows, "/cells/0"), ["a", "b"], "{table}");
    // READY, REASON and MESSAGE come from the Ready condition, SERVICES counts the services
    // of the spec whose status is Deployed; without a status READY is Unknown.
    let a_cells = json!([
        "a",
        "False",
        "ServicesNotReady",
        "t1",
        "Provisioned",
        "v1.33.0",
        "1/2",
        null,
        "aws",
        "db:Provisioning"
    ]);
    let b_cells = json!(["b", "Unknown", null, "t2", null, null, "0/0", null, "aws", null]);
    assert_cells(&rows[0], &a_cells);
    assert_cells(&rows[1], &b_cells);
    for row in rows {
        let object = &row["object"];
        assert_eq!(object["kind"], "PartialObjectMetadata", "{row}");
        assert_eq!(object["apiVersion"], "meta.k8s.io/v1", "{row}");
        assert!(object.get("spec").is_none(), "metadata only: {row}");
        assert!(object.get("status").is_none(), "metadata only: {row}");
        assert!(object["metadata"]["uid"].is_string(), "{row}");
    }
    assert_eq!(
        rows[0]["object"]["metadata"]["labels"],
        json!({"env": "prod"})
    );

    // One object is a one-row table.
    let one = get_as(&client, &object_path("b"), TABLE_V1).await.json();
    assert_eq!(one["kind"], "Table", "{one}");
    assert_clusterdeployment_columns(&one);
    let rows = one["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{one}");
    assert_cells(&rows[0], &b_cells);

    // v1beta1 alone.
    let beta = get_as(
        &client,
        DEFAULT_CLDS,
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    )
    .await;
    assert_eq!(beta.status, 200, "{}", beta.text());
    let beta = beta.json();
    assert_eq!(beta["kind"], "Table", "{beta}");
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1", "{beta}");
    assert_clusterdeployment_columns(&beta);
    let rows = beta["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{beta}");
    assert_cells(&rows[0], &a_cells);
    assert_cells(&rows[1], &b_cells);
}

async fn include_object_selects_no_object_the_metadata_or_the_whole_object(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create(&client, &cld("a", "t1")).await;
    let table = |query: &'static str| {
        let client = client.clone();
        async move {
            let path = format!("{DEFAULT_CLDS}?includeObject={query}");
            get_as(&client, &path, TABLE_V1).await
        }
    };

    let none = table("None").await;
    assert_eq!(none.status, 200, "{}", none.text());
    let none = none.json();
    assert_eq!(none["rows"][0]["cells"][0], "a", "{none}");
    assert!(none["rows"][0].get("object").is_none(), "{none}");

    let metadata = table("Metadata").await.json();
    assert_eq!(
        metadata["rows"][0]["object"]["kind"], "PartialObjectMetadata",
        "{metadata}"
    );

    let object = table("Object").await;
    assert_eq!(object.status, 200, "{}", object.text());
    let object = object.json();
    let full = &object["rows"][0]["object"];
    assert_eq!(full["kind"], "ClusterDeployment", "{object}");
    assert_eq!(full["apiVersion"], "fleet.k0rdent.io/v1alpha1", "{object}");
    assert_eq!(full["spec"]["template"], "t1", "{object}");

    let bad = table("Everything").await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    let status = bad.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "BadRequest", "{status}");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("Everything")),
        "the message names the value: {status}"
    );
}

async fn partial_object_metadata_is_served_on_get_list_watch_and_patch(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    for (name, env, x) in [("a", "prod", 1), ("b", "dev", 2)] {
        let mut spec = spec("t1", &[]);
        spec["config"] = json!({"x": x});
        create(&client, &cld_with(name, json!({"env": env}), spec)).await;
    }

    let list = get_as(&client, DEFAULT_CLDS, METADATA_LIST).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    assert_eq!(list["kind"], "PartialObjectMetadataList", "{list}");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1", "{list}");
    assert!(list["metadata"]["resourceVersion"].is_string(), "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(names(items, "/metadata/name"), ["a", "b"], "{list}");
    for item in items {
        assert_eq!(item["kind"], "PartialObjectMetadata", "{item}");
        assert_eq!(item["apiVersion"], "meta.k8s.io/v1", "{item}");
        assert!(item.get("spec").is_none(), "{item}");
        assert!(item["metadata"]["resourceVersion"].is_string(), "{item}");
    }

    let one = get_as(&client, &object_path("a"), METADATA).await;
    assert_eq!(one.status, 200, "{}", one.text());
    let one = one.json();
    assert_eq!(one["kind"], "PartialObjectMetadata", "{one}");
    assert_eq!(one["metadata"]["name"], "a");
    assert_eq!(one["metadata"]["labels"], json!({"env": "prod"}));
    assert!(one.get("spec").is_none(), "{one}");
    // All of the metadata, managedFields included.
    let full = get(&client, &object_path("a")).await;
    assert_eq!(one["metadata"], full["metadata"], "{one}");
    assert!(full["metadata"]["managedFields"].is_array(), "{full}");

    // The list form of an object and the object form of a list cannot be produced.
    for (path, accept) in [
        (object_path("a"), METADATA_LIST),
        (DEFAULT_CLDS.to_owned(), METADATA),
    ] {
        let refused = get_as(&client, &path, accept).await;
        assert_eq!(
            refused.status,
            406,
            "{path} as {accept}: {}",
            refused.text()
        );
        assert_eq!(refused.json()["reason"], "NotAcceptable");
    }

    // A write answers in the form asked for.
    let patched = patch(
        &object_path("a"),
        "application/merge-patch+json",
        &json!({"metadata": {"labels": {"env": "staging"}}}),
    )
    .header("accept", METADATA)
    .send(&client)
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let patched = patched.json();
    assert_eq!(patched["kind"], "PartialObjectMetadata", "{patched}");
    assert_eq!(patched["metadata"]["labels"], json!({"env": "staging"}));
    let stored = get(&client, &object_path("a")).await;
    assert_eq!(patched["metadata"], stored["metadata"], "{patched}");
    assert_eq!(stored["spec"]["config"], json!({"x": 1}));

    // And so does every event of a watch.
    let watch = get_as(
        &client,
        &format!("{DEFAULT_CLDS}?watch=true&timeoutSeconds=1"),
        METADATA,
    )
    .await;
    let events = watch_events(&watch);
    assert_eq!(event_types(&events), ["ADDED", "ADDED"], "{events:?}");
    for event in &events {
        assert_eq!(event["object"]["kind"], "PartialObjectMetadata", "{event}");
        assert!(event["object"].get("spec").is_none(), "{event}");
    }
}

async fn a_table_watch_sends_column_definitions_on_its_first_event_only(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create(&client, &cld("a", "t1")).await;
    create(&client, &cld("b", "t1")).await;
    let writer = client.clone();
    let write = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        merge_patch(
            &writer,
            &object_path("a"),
            &json!({"spec": {"template": "t2"}}),
        )
        .await;
    });
    let path = format!("{DEFAULT_CLDS}?watch=true&timeoutSeconds=2");
    let reply = get_as(&client, &path, KUBECTL_TABLE_ACCEPT).await;
    write.await.expect("the write");
    let events = watch_events(&reply);
    assert_eq!(
        event_types(&events),
        ["ADDED", "ADDED", "MODIFIED"],
        "{events:?}"
    );
    for (i, event) in events.iter().enumerate() {
        let table = &event["object"];
        assert_eq!(table["kind"], "Table", "{event}");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1", "{event}");
        assert_eq!(table["rows"].as_array().map(Vec::len), Some(1), "{event}");
        assert_eq!(
            table["rows"][0]["object"]["kind"], "PartialObjectMetadata",
            "{event}"
        );
        if i == 0 {
            assert_clusterdeployment_columns(table);
        } else {
            let columns = &table["columnDefinitions"];
            assert!(
                columns.is_null() || columns.as_array().is_some_and(Vec::is_empty),
                "only the first event has column definitions: {event}"
            );
        }
    }
    let rows: Vec<Value> = events
        .iter()
        .map(|e| e["object"]["rows"][0].clone())
        .collect();
    assert_eq!(names(&rows, "/cells/0"), ["a", "b", "a"]);
    // The MODIFIED row shows the new template.
    for (row, name, template) in [
        (&rows[0], "a", "t1"),
        (&rows[1], "b", "t1"),
        (&rows[2], "a", "t2"),
    ] {
        let cells = json!([name, "Unknown", null, template, null, null, "0/0", null, "aws", null]);
        assert_cells(row, &cells);
    }
}

async fn an_accept_header_naming_an_unknown_conversion_is_not_acceptable(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create(&client, &cld("a", "t1")).await;
    for path in [DEFAULT_CLDS.to_owned(), object_path("a")] {
        for accept in [
            "application/json;as=Widget;g=meta.k8s.io;v=v1",
            "application/json;as=Table;g=meta.k8s.io;v=v2",
            "application/yaml",
        ] {
            let reply = get_as(&client, &path, accept).await;
            assert_eq!(reply.status, 406, "{path} as {accept}: {}", reply.text());
            let status = reply.json();
            assert_eq!(status["kind"], "Status");
            assert_eq!(status["reason"], "NotAcceptable", "{status}");
            assert_eq!(status["code"], 406, "{status}");
        }
    }
}

async fn watch_list_sends_every_object_then_the_annotated_bookmark_then_live_events(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    for name in ["a", "b", "c"] {
        create(&client, &cld(name, "t1")).await;
    }
    let before = list_revision(&client)
        .await
        .parse::<u64>()
        .expect("a revision");
    let writer = client.clone();
    let write = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        create(&writer, &cld("d", "t1")).await
    });
    let path = format!(
        "{DEFAULT_CLDS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan\
         &allowWatchBookmarks=true&timeoutSeconds=2"
    );
    let events = watch_events(&Raw::get(&path).send(&client).await);
    let live = write.await.expect("the write");
    let types = event_types(&events);
    assert_eq!(
        types[..5],
        ["ADDED", "ADDED", "ADDED", "BOOKMARK", "ADDED"],
        "{events:?}"
    );
    let mut initial = names(&events[..3], "/object/metadata/name");
    initial.sort();
    assert_eq!(initial, ["a", "b", "c"]);
    let end = &events[3]["object"];
    assert_eq!(
        end["metadata"]["annotations"][INITIAL_EVENTS_END], "true",
        "{end}"
    );
    assert_eq!(end["kind"], "ClusterDeployment", "{end}");
    assert_eq!(end["apiVersion"], "fleet.k0rdent.io/v1alpha1", "{end}");
    assert!(
        end.get("spec").is_none(),
        "a bookmark carries no object: {end}"
    );
    let end_revision = revision(end);
    assert!(end_revision >= before, "{end_revision} >= {before}");
    for initial in &events[..3] {
        assert!(revision(&initial["object"]) <= end_revision, "{initial}");
    }
    assert_eq!(events[4]["object"]["metadata"]["name"], "d");
    assert_eq!(revision(&events[4]["object"]), revision(&live));
    assert!(revision(&live) > end_revision);
    // Only bookmarks follow (at the timeout), none of them annotated.
    for later in &events[5..] {
        assert_eq!(later["type"], "BOOKMARK", "{events:?}");
        assert!(
            later["object"]["metadata"]["annotations"].is_null(),
            "{later}"
        );
    }
}

async fn dry_run_writes_answer_like_real_ones_and_store_nothing(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let created = create(&client, &cld("a", "t1")).await;
    let rv = list_revision(&client).await;

    let dry = Raw::post(&format!("{DEFAULT_CLDS}?dryRun=All"))
        .json(&cld("b", "t1"))
        .send(&client)
        .await;
    assert_eq!(dry.status, 201, "{}", dry.text());
    let dry = dry.json();
    assert_eq!(dry["metadata"]["name"], "b");
    assert!(dry["metadata"]["uid"].is_string(), "defaulted: {dry}");
    assert!(dry["metadata"]["creationTimestamp"].is_string(), "{dry}");
    assert_eq!(dry["metadata"]["generation"], 1, "{dry}");
    assert_eq!(status_of(&client, &object_path("b")).await, 404);

    let mut changed = created.clone();
    changed["spec"]["template"] = json!("t2");
    let updated = Raw::put(&format!("{}?dryRun=All", object_path("a")))
        .json(&changed)
        .send(&client)
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    let updated = updated.json();
    assert_eq!(updated["spec"]["template"], "t2");
    assert_eq!(updated["metadata"]["generation"], 2, "{updated}");

    let patched = patch(
        &format!("{}?dryRun=All", object_path("a")),
        "application/json-patch+json",
        &json!([{"op": "replace", "path": "/spec/template", "value": "t3"}]),
    )
    .send(&client)
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["spec"]["template"], "t3");

    let deleted = Raw::delete(&format!("{}?dryRun=All", object_path("a")))
        .send(&client)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    let body_dry_run = Raw::delete(&object_path("a"))
        .json(&json!({"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}))
        .send(&client)
        .await;
    assert_eq!(body_dry_run.status, 200, "{}", body_dry_run.text());

    let stored = get(&client, &object_path("a")).await;
    assert_eq!(stored, created, "nothing was written");
    assert_eq!(list_revision(&client).await, rv, "no revision was written");

    // A dry-run delete of an object held by a finalizer answers the marked object.
    let held = merge_patch(
        &client,
        &object_path("a"),
        &json!({"metadata": {"finalizers": ["example.com/hold"]}}),
    )
    .await;
    let rv = list_revision(&client).await;
    let marked = Raw::delete(&format!("{}?dryRun=All", object_path("a")))
        .send(&client)
        .await;
    assert_eq!(marked.status, 200, "{}", marked.text());
    let marked = marked.json();
    assert!(
        marked["metadata"]["deletionTimestamp"].is_string(),
        "{marked}"
    );
    assert_eq!(get(&client, &object_path("a")).await, held);
    assert_eq!(list_revision(&client).await, rv);
}

async fn an_unknown_dry_run_value_is_invalid_on_every_write(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let created = create(&client, &cld("a", "t1")).await;
    let expected = r#"dryRun: Unsupported value: []string{"Foo"}: supported values: "All""#;
    let requests = [
        (
            "CreateOptions",
            Raw::post(&format!("{DEFAULT_CLDS}?dryRun=Foo")).json(&cld("b", "t1")),
        ),
        (
            "UpdateOptions",
            Raw::put(&format!("{}?dryRun=Foo", object_path("a"))).json(&created),
        ),
        (
            "PatchOptions",
            patch(
                &format!("{}?dryRun=Foo", object_path("a")),
                "application/merge-patch+json",
                &json!({"spec": {"template": "t2"}}),
            ),
        ),
        (
            "DeleteOptions",
            Raw::delete(&format!("{}?dryRun=Foo", object_path("a"))),
        ),
    ];
    for (kind, request) in requests {
        let reply = request.send(&client).await;
        assert_eq!(reply.status, 422, "{kind}: {}", reply.text());
        let status = reply.json();
        assert_eq!(status["reason"], "Invalid", "{status}");
        let message = status["message"].as_str().expect("a message");
        assert!(message.contains(expected), "{kind}: {message}");
        assert!(
            message.starts_with(&format!("{kind}.meta.k8s.io \"\" is invalid")),
            "{message}"
        );
    }
    assert_eq!(get(&client, &object_path("a")).await, created);
    assert_eq!(status_of(&client, &object_path("b")).await, 404);
}

async fn field_validation_warns_by_default_refuses_when_strict_and_prunes(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    // Unknown at the top and in the typed spec; `config` is free-form and kept as written.
    let with_unknown = |name: &str| {
        let mut object = cld(name, "t1");
        object["bogus"] = json!(1);
        object["spec"]["bogus"] = json!(2);
        object["spec"]["config"] = json!({"bogus": 3});
        object
    };

    let warned = Raw::post(DEFAULT_CLDS)
        .json(&with_unknown("a"))
        .send(&client)
        .await;
    assert_eq!(warned.status, 201, "{}", warned.text());
    assert_eq!(
        warnings(&warned),
        [
            r#"299 - "unknown field \"bogus\"""#,
            r#"299 - "unknown field \"spec.bogus\"""#
        ],
        "{:?}",
        warned.headers
    );
    let pruned = json!({"template": "t1", "credential": "aws", "config": {"bogus": 3}});
    let answered = warned.json();
    assert!(answered.get("bogus").is_none(), "pruned: {answered}");
    assert_eq!(answered["spec"], pruned, "pruned: {answered}");
    let stored = get(&client, &object_path("a")).await;
    assert!(stored.get("bogus").is_none(), "{stored}");
    assert_eq!(stored["spec"], pruned, "{stored}");

    let strict = Raw::post(&format!("{DEFAULT_CLDS}?fieldValidation=Strict"))
        .json(&with_unknown("b"))
        .send(&client)
        .await;
    assert_eq!(strict.status, 400, "{}", strict.text());
    let status = strict.json();
    assert_eq!(status["reason"], "BadRequest", "{status}");
    assert_eq!(
        status["message"],
        // handlers/rest.go transformDecodeError: the body's kind and version, then the error.
        r#"ClusterDeployment in version "v1alpha1" cannot be handled as a ClusterDeployment: strict decoding error: unknown field "bogus", unknown field "spec.bogus""#,
        "{status}"
    );
    assert_eq!(status_of(&client, &object_path("b")).await, 404);

    let ignored = Raw::post(&format!("{DEFAULT_CLDS}?fieldValidation=Ignore"))
        .json(&with_unknown("c"))
        .send(&client)
        .await;
    assert_eq!(ignored.status, 201, "{}", ignored.text());
    assert!(warnings(&ignored).is_empty(), "{:?}", ignored.headers);
    let answered = ignored.json();
    assert!(answered.get("bogus").is_none(), "pruned: {answered}");
    assert_eq!(answered["spec"], pruned, "pruned: {answered}");

    let patched = patch(
        &format!("{}?fieldValidation=Strict", object_path("a")),
        "application/merge-patch+json",
        &json!({"bogus": 2}),
    )
    .send(&client)
    .await;
    // handlers/patch.go: a strict error of a patch is 422 on `patch`, quoting the patched
    // object.
    assert_eq!(patched.status, 422, "{}", patched.text());
    let status = patched.json();
    assert_eq!(status["reason"], "Invalid", "{status}");
    assert_eq!(status["details"]["causes"][0]["field"], "patch", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(r#" "" is invalid: patch: Invalid value: "{"#)
            && message.ends_with(r#"}": strict decoding error: unknown field "bogus""#),
        "{message}"
    );
}

async fn strategic_merge_patch_is_an_unsupported_media_type_listing_the_accepted_ones(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let created = create(&client, &cld("a", "t1")).await;
    for path in [object_path("a"), format!("{}/status", object_path("a"))] {
        let reply = patch(
            &path,
            "application/strategic-merge-patch+json",
            &json!({"spec": {"template": "t2"}}),
        )
        .send(&client)
        .await;
        assert_eq!(reply.status, 415, "{path}: {}", reply.text());
        let status = reply.json();
        assert_eq!(status["reason"], "UnsupportedMediaType", "{status}");
        assert_eq!(status["message"], UNSUPPORTED_PATCH, "{status}");
    }
    assert_eq!(get(&client, &object_path("a")).await, created);
}

async fn every_response_has_an_audit_id_echoing_the_one_given(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let first = Raw::get(DEFAULT_CLDS).send(&client).await;
    let second = Raw::get(&object_path("missing")).send(&client).await;
    assert_eq!(second.status, 404);
    let ids: Vec<&str> = [&first, &second]
        .iter()
        .map(|r| {
            r.header("audit-id")
                .unwrap_or_else(|| panic!("an Audit-Id: {:?}", r.headers))
        })
        .collect();
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    assert_ne!(ids[0], ids[1], "each request has its own id");

    let given = "0f1e2d3c-test-audit-id";
    for request in [
        Raw::get(DEFAULT_CLDS),
        Raw::get(&object_path("missing")),
        Raw::post(DEFAULT_CLDS).json(&cld("a", "t1")),
        Raw::get(&format!("{DEFAULT_CLDS}?watch=true&timeoutSeconds=1")),
    ] {
        let reply = request
            .clone()
            .header("Audit-ID", given)
            .send(&client)
            .await;
        assert_eq!(
            reply.header("audit-id"),
            Some(given),
            "{request:?}: {:?}",
            reply.headers
        );
    }
}

async fn openapi_documents_are_addressed_by_hash_and_cached_by_etag(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let root = get(&client, "/openapi/v3").await;
    let url = root["paths"]["apis/fleet.k0rdent.io/v1alpha1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("the group-version is listed: {root}"))
        .to_owned();
    let (path, hash) = url.split_once("?hash=").expect("a ?hash= URL");

    let current = Raw::get(&url).send(&client).await;
    assert_eq!(current.status, 200, "{}", current.text());
    assert_eq!(current.header("cache-control"), Some("public, immutable"));
    assert!(current.header("expires").is_some(), "{:?}", current.headers);
    let etag = current.header("etag").expect("an ETag").to_owned();
    assert_eq!(etag, format!("\"{hash}\""));

    let stale = Raw::get(&format!("{path}?hash=0123ABCD"))
        .send(&client)
        .await;
    assert_eq!(stale.status, 301, "{}", stale.text());
    assert_eq!(stale.header("location"), Some(url.as_str()));

    let unchanged = Raw::get(path)
        .header("if-none-match", &etag)
        .send(&client)
        .await;
    assert_eq!(unchanged.status, 304, "{}", unchanged.text());
    assert!(unchanged.body.is_empty());

    let v2 = Raw::get("/openapi/v2").send(&client).await;
    assert_eq!(v2.status, 200);
    let v2_etag = v2.header("etag").expect("an ETag on v2").to_owned();
    let v2_again = Raw::get("/openapi/v2")
        .header("if-none-match", &v2_etag)
        .send(&client)
        .await;
    assert_eq!(v2_again.status, 304, "{}", v2_again.text());
}

on_both_backends!(
    kubectl_accept_on_a_list_gets_a_table_with_name_age_and_metadata_rows,
    include_object_selects_no_object_the_metadata_or_the_whole_object,
    partial_object_metadata_is_served_on_get_list_watch_and_patch,
    a_table_watch_sends_column_definitions_on_its_first_event_only,
    an_accept_header_naming_an_unknown_conversion_is_not_acceptable,
    watch_list_sends_every_object_then_the_annotated_bookmark_then_live_events,
    dry_run_writes_answer_like_real_ones_and_store_nothing,
    an_unknown_dry_run_value_is_invalid_on_every_write,
    field_validation_warns_by_default_refuses_when_strict_and_prunes,
    strategic_merge_patch_is_an_unsupported_media_type_listing_the_accepted_ones,
    every_response_has_an_audit_id_echoing_the_one_given,
    openapi_documents_are_addressed_by_hash_and_cached_by_etag,
);
