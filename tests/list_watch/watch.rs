//! §6 Watch: where a watch starts, what DELETED and selector transitions carry, bookmarks,
//! timeouts, 410 ERROR events, single-object watches, watch-list, and events
//! streamed one by one over HTTP/1.1.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Backend, TestServer, API_VERSION};
use crate::support_list_watch::{
    assert_status, create_in, current_revision, delete_in, encode, relabel, retemplate, revision,
    wait_until_compacted, with_query, Ending, Http1, Up, WatchStream, EVENT_WAIT,
};

async fn start(backend: Backend) -> Option<(TestServer, kube::Client, Http1)> {
    let server = TestServer::start(backend)?;
    let client = server.client().await;
    let http = Http1::new(server.url(), server.data_dir());
    Some((server, client, http))
}

/// Opens a watch of `default` with `query` (without `watch=true`), expecting a stream.
async fn watch_default(http: &Http1, query: &str) -> WatchStream {
    let path = with_query(Some("default"), &format!("watch=true&{query}"));
    http.watch(&path)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .streaming()
}

/// `(type, namespace/name)` of an event.
fn summary(event: &Value) -> (String, String) {
    let kind = event["type"]
        .as_str()
        .unwrap_or_else(|| panic!("no type: {event}"));
    (
        kind.to_owned(),
        crate::support_list_watch::key(&event["object"]),
    )
}

fn added(name: &str) -> (String, String) {
    ("ADDED".into(), format!("default/{name}"))
}

fn modified(name: &str) -> (String, String) {
    ("MODIFIED".into(), format!("default/{name}"))
}

fn deleted(name: &str) -> (String, String) {
    ("DELETED".into(), format!("default/{name}"))
}

/// Checks that the initial events of a watch are ADDED, once for each of `objects`.
async fn expect_synthetic_added(stream: &mut WatchStream, objects: &[Value]) {
    let mut events = stream.events(objects.len(), EVENT_WAIT).await;
    events.sort_by_key(|e| e["object"]["metadata"]["name"].as_str().map(str::to_owned));
    for (event, object) in events.iter().zip(objects) {
        assert_eq!(event["type"], "ADDED", "{event}");
        assert_eq!(&event["object"], object, "the current state of each object");
    }
}

async fn starting_without_resource_version_sends_added_for_every_object_then_live_events(
    backend: Backend,
) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    let a = create_in(&client, "default", "a", &[]).await;
    create_in(&client, "default", "b", &[]).await;
    let b = retemplate(&client, "default", "b", "changed-before-the-watch").await;
    let mut stream = watch_default(&http, "").await;
    expect_synthetic_added(&mut stream, &[a, b]).await;

    let c = create_in(&client, "default", "c", &[]).await;
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!((summary(&event), &event["object"]), (added("c"), &c));
    let a2 = retemplate(&client, "default", "a", "t2").await;
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!((summary(&event), &event["object"]), (modified("a"), &a2));
    delete_in(&client, "default", "b").await;
    assert_eq!(summary(&stream.event(EVENT_WAIT).await), deleted("b"));
}

async fn starting_at_resource_version_zero_also_sends_added_for_every_object_first(
    backend: Backend,
) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    let a = create_in(&client, "default", "a", &[]).await;
    let b = create_in(&client, "default", "b", &[]).await;
    let mut stream = watch_default(&http, "resourceVersion=0").await;
    expect_synthetic_added(&mut stream, &[a, b]).await;
    let c = create_in(&client, "default", "c", &[]).await;
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!((summary(&event), &event["object"]), (added("c"), &c));
}

async fn starting_at_a_revision_sends_only_the_changes_after_it(backend: Backend) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    create_in(&client, "default", "a", &[]).await;
    let a2 = retemplate(&client, "default", "a", "t2").await;
    let b = create_in(&client, "default", "b", &[]).await;
    let mut stream = watch_default(&http, &format!("resourceVersion={}", revision(&a2))).await;
    let first = stream.event(EVENT_WAIT).await;
    assert_eq!(
        (summary(&first), &first["object"]),
        (added("b"), &b),
        "only what came after"
    );
    let a3 = retemplate(&client, "default", "a", "t3").await;
    let next = stream.event(EVENT_WAIT).await;
    assert_eq!((summary(&next), &next["object"]), (modified("a"), &a3));
}

async fn deleted_events_carry_the_last_state_at_the_deletion_revision(backend: Backend) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    create_in(&client, "default", "a", &[("env", "prod")]).await;
    let last = retemplate(&client, "default", "a", "last-state").await;
    let mut stream = watch_default(&http, &format!("resourceVersion={}", revision(&last))).await;
    delete_in(&client, "default", "a").await;
    let deletion = current_revision(&client).await;
    assert!(deletion > revision(&last));

    let event = stream.event(EVENT_WAIT).await;
    assert_eq!(summary(&event), deleted("a"));
    let object = &event["object"];
    assert_eq!(
        object["spec"]["template"], "last-state",
        "the last state: {object}"
    );
    assert_eq!(object["metadata"]["labels"]["env"], "prod", "{object}");
    assert_eq!(
        object["metadata"]["uid"], last["metadata"]["uid"],
        "{object}"
    );
    assert_eq!(
        revision(object),
        deletion,
        "the revision of the deletion: {object}"
    );
}

async fn a_label_selector_watch_turns_entering_into_added_and_leaving_into_deleted(
    backend: Backend,
) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    let z = create_in(&client, "default", "z", &[("env", "prod")]).await;
    create_in(&client, "default", "y", &[("env", "dev")]).await;
    let selector = encode("env=prod");
    let mut stream = watch_default(&http, &format!("labelSelector={selector}")).await;
    expect_synthetic_added(&mut stream, &[z]).await;

    create_in(&client, "default", "a", &[("env", "dev")]).await;
    let entered = relabel(&client, "default", "a", "env", Some("prod")).await;
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!(
        (summary(&event), &event["object"]),
        (added("a"), &entered),
        "enters: ADDED"
    );

    let changed = retemplate(&client, "default", "a", "t2").await;
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!(
        (summary(&event), &event["object"]),
        (modified("a"), &changed)
    );

    let left = relabel(&client, "default", "a", "env", Some("dev")).await;
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!(summary(&event), deleted("a"), "leaves: DELETED");
    let object = &event["object"];
    assert_eq!(
        object["metadata"]["labels"]["env"], "prod",
        "the last matching state: {object}"
    );
    assert_eq!(object["spec"]["template"], "t2", "{object}");
    assert_eq!(
        revision(object),
        revision(&left),
        "at the revision it left: {object}"
    );

    // Changes outside the selector send nothing: the next event is z's.
    retemplate(&client, "default", "a", "t3").await;
    retemplate(&client, "default", "y", "t3").await;
    delete_in(&client, "default", "a").await;
    relabel(&client, "default", "z", "other", Some("x")).await;
    assert_eq!(summary(&stream.event(EVENT_WAIT).await), modified("z"));
}

async fn a_field_selector_on_metadata_name_watches_a_single_object(backend: Backend) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    let selector = encode("metadata.name=a");
    let mut stream = watch_default(&http, &format!("fieldSelector={selector}")).await;
    create_in(&client, "default", "b", &[]).await;
    create_in(&client, "default", "a", &[]).await;
    retemplate(&client, "default", "b", "t2").await;
    retemplate(&client, "default", "a", "t2").await;
    delete_in(&client, "default", "b").await;
    delete_in(&client, "default", "a").await;
    create_in(&client, "other", "a", &[]).await;
    create_in(&client, "default", "a", &[]).await;
    let events = stream.events(4, EVENT_WAIT).await;
    let seen: Vec<_> = events.iter().map(summary).collect();
    assert_eq!(seen, [added("a"), modified("a"), deleted("a"), added("a")]);
    stream.quiet(Duration::from_millis(300)).await;
}

async fn a_watch_of_every_namespace_sees_each_namespace_and_a_namespaced_one_only_its_own(
    backend: Backend,
) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    let everywhere = with_query(None, "watch=true");
    let mut all = http.watch(&everywhere).await.expect("watch").streaming();
    let mut other = http
        .watch(&with_query(Some("other"), "watch=true"))
        .await
        .expect("watch")
        .streaming();
    create_in(&client, "default", "a", &[]).await;
    create_in(&client, "other", "b", &[]).await;
    let seen: Vec<_> = all
        .events(2, EVENT_WAIT)
        .await
        .iter()
        .map(summary)
        .collect();
    assert_eq!(seen, [added("a"), ("ADDED".into(), "other/b".into())]);
    let only = other.event(EVENT_WAIT).await;
    assert_eq!(summary(&only), ("ADDED".into(), "other/b".into()));
}

/// Checks a BOOKMARK: only kind, apiVersion and metadata.resourceVersion.
fn assert_bookmark(event: &Value) -> i64 {
    assert_eq!(event["type"], "BOOKMARK", "{event}");
    let object = event["object"].as_object().expect("an object");
    let mut fields: Vec<_> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["apiVersion", "kind", "metadata"], "{event}");
    assert_eq!(object["kind"], "ClusterDeployment", "{event}");
    assert_eq!(object["apiVersion"], API_VERSION, "{event}");
    let metadata: Vec<_> = object["metadata"]
        .as_object()
        .expect("metadata")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(metadata, ["resourceVersion"], "{event}");
    revision(&event["object"])
}

async fn bookmarks_and_a_timeout_end_the_stream_with_a_bookmark_of_kind_api_version_and_resource_version_only(
    backend: Backend,
) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    let a = create_in(&client, "default", "a", &[]).await;
    let opened = Instant::now();
    let mut stream = watch_default(&http, "allowWatchBookmarks=true&timeoutSeconds=2").await;
    assert_eq!(summary(&stream.event(EVENT_WAIT).await), added("a"));
    let bookmark = stream.event(EVENT_WAIT).await;
    let at = opened.elapsed();
    assert!(assert_bookmark(&bookmark) >= revision(&a), "{bookmark}");
    assert_eq!(stream.end(EVENT_WAIT).await, Ending::Clean);
    assert!(
        at >= Duration::from_millis(1500) && at < Duration::from_secs(6),
        "the bookmark comes at the 2 s timeout, came after {at:?}"
    );
}

async fn timeout_seconds_ends_the_stream_on_time_without_a_bookmark_unless_allowed(
    backend: Backend,
) {
    let Some((_server, _client, http)) = start(backend).await else {
        return;
    };
    let opened = Instant::now();
    let mut stream = watch_default(&http, "timeoutSeconds=1").await;
    assert_eq!(
        stream.end(EVENT_WAIT).await,
        Ending::Clean,
        "no event, no bookmark"
    );
    let took = opened.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "ends after about 1 s, took {took:?}"
    );
}

async fn a_watch_from_a_compacted_revision_sends_one_error_410_expired_and_ends(backend: Backend) {
    let Some(server) = Up::builder(backend).compaction_interval("2s").start() else {
        return;
    };
    let client = server.client().await;
    let created = create_in(&client, "default", "a", &[]).await;
    retemplate(&client, "default", "a", "t2").await;
    let rv = revision(&created);
    wait_until_compacted(&client, rv).await;

    let path = with_query(Some("default"), &format!("watch=true&resourceVersion={rv}"));
    let reply = server.http().watch(&path).await.expect("watch");
    let mut stream = match reply {
        crate::support_list_watch::WatchReply::Streaming(stream) => stream,
        crate::support_list_watch::WatchReply::Rejected(response) => panic!(
            "a 200 stream with an ERROR event was expected (as kube-apiserver answers), got HTTP {}: {}",
            response.status,
            response.text()
        ),
    };
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!(event["type"], "ERROR", "{event}");
    let status = &event["object"];
    assert_eq!(status["kind"], "Status", "{event}");
    assert_eq!(status["apiVersion"], "v1", "{event}");
    assert_eq!(status["status"], "Failure", "{event}");
    assert_eq!(status["code"], 410, "{event}");
    assert_eq!(status["reason"], "Expired", "{event}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!("too old resource version: {rv} (")),
        "{event}"
    );
    assert_eq!(
        stream.end(EVENT_WAIT).await,
        Ending::Clean,
        "the stream ends after the ERROR"
    );
}

const WATCH_LIST: &str =
    "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true";

async fn the_watch_list_sends_added_for_every_object_then_the_initial_events_end_bookmark_then_live_events(
    backend: Backend,
) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    let a = create_in(&client, "default", "a", &[]).await;
    let b = create_in(&client, "default", "b", &[]).await;
    let mut stream = watch_default(&http, &WATCH_LIST["watch=true&".len()..]).await;
    expect_synthetic_added(&mut stream, &[a, b.clone()]).await;

    let bookmark = stream.event(EVENT_WAIT).await;
    assert_eq!(bookmark["type"], "BOOKMARK", "{bookmark}");
    let object = &bookmark["object"];
    assert_eq!(object["kind"], "ClusterDeployment", "{bookmark}");
    assert_eq!(object["apiVersion"], API_VERSION, "{bookmark}");
    assert_eq!(
        object["metadata"]["annotations"],
        serde_json::json!({"k8s.io/initial-events-end": "true"}),
        "{bookmark}"
    );
    assert!(revision(object) >= revision(&b), "{bookmark}");

    let c = create_in(&client, "default", "c", &[]).await;
    let event = stream.event(EVENT_WAIT).await;
    assert_eq!((summary(&event), &event["object"]), (added("c"), &c));
}

async fn watch_and_list_option_combinations_kube_apiserver_forbids_are_422(backend: Backend) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    const INVALID: &str = "ListOptions.meta.k8s.io \"\" is invalid: ";
    let cases = [
        (
            "watch=true&sendInitialEvents=true",
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan".to_owned(),
        ),
        (
            "watch=true&resourceVersionMatch=NotOlderThan",
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided".to_owned(),
        ),
        (
            "watch=true&sendInitialEvents=true&resourceVersionMatch=Exact&allowWatchBookmarks=true",
            "[resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"]".to_owned(),
        ),
    ];
    for (query, message) in cases {
        let reply = http
            .watch(&with_query(Some("default"), query))
            .await
            .expect("watch")
            .rejected();
        let body = reply.json();
        assert_status(
            reply.status,
            &body,
            422,
            "Invalid",
            &format!("{INVALID}{message}"),
        );
    }
    // The same parameter on a list (k8s.io/apimachinery `internalversion/validation`).
    let path = with_query(Some("default"), "sendInitialEvents=true");
    let reply = crate::support::Raw::get(&path).send(&client).await;
    crate::support_list_watch::assert_reply(
        &reply,
        422,
        "Invalid",
        &format!("{INVALID}sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
    );
}

async fn events_stream_one_by_one_over_http1_chunked_as_they_happen(backend: Backend) {
    let Some((_server, client, http)) = start(backend).await else {
        return;
    };
    for watch in ["watch=true", "watch=1"] {
        let path = with_query(Some("default"), watch);
        // Returns once the headers are in: they are flushed before any event exists.
        let mut stream = http.watch(&path).await.expect("watch").streaming();
        let head = &stream.head;
        assert_eq!(head.version, "HTTP/1.1", "{head:?}");
        assert_eq!(head.alpn.as_deref(), Some("http/1.1"), "{head:?}");
        assert_eq!(head.status, 200, "{head:?}");
        assert_eq!(
            head.header("content-type"),
            Some("application/json"),
            "{head:?}"
        );
        assert_eq!(
            head.header("transfer-encoding"),
            Some("chunked"),
            "{head:?}"
        );

        let name = format!("first-{}", watch.len());
        create_in(&client, "default", &name, &[]).await;
        let first = stream.event(EVENT_WAIT).await;
        assert_eq!(
            summary(&first),
            added(&name),
            "{watch}: the event before any other write"
        );
        retemplate(&client, "default", &name, "t2").await;
        let second = stream.event(EVENT_WAIT).await;
        assert_eq!(summary(&second), modified(&name), "{watch}");
        delete_in(&client, "default", &name).await;
        assert_eq!(summary(&stream.event(EVENT_WAIT).await), deleted(&name));
    }
}

on_both_backends!(
    starting_without_resource_version_sends_added_for_every_object_then_live_events,
    starting_at_resource_version_zero_also_sends_added_for_every_object_first,
    starting_at_a_revision_sends_only_the_changes_after_it,
    deleted_events_carry_the_last_state_at_the_deletion_revision,
    a_label_selector_watch_turns_entering_into_added_and_leaving_into_deleted,
    a_field_selector_on_metadata_name_watches_a_single_object,
    a_watch_of_every_namespace_sees_each_namespace_and_a_namespaced_one_only_its_own,
    bookmarks_and_a_timeout_end_the_stream_with_a_bookmark_of_kind_api_version_and_resource_version_only,
    timeout_seconds_ends_the_stream_on_time_without_a_bookmark_unless_allowed,
    a_watch_from_a_compacted_revision_sends_one_error_410_expired_and_ends,
    the_watch_list_sends_added_for_every_object_then_the_initial_events_end_bookmark_then_live_events,
    watch_and_list_option_combinations_kube_apiserver_forbids_are_422,
    events_stream_one_by_one_over_http1_chunked_as_they_happen,
);
