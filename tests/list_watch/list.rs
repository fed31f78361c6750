//! §5 List: paging pinned to the first page's revision, the resourceVersion and
//! resourceVersionMatch rules, selectors, all-namespaces lists, the list's own shape.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Backend, Raw, TestServer, API_VERSION};
use crate::support_list_watch::{
    assert_reply, assert_status, create_in, current_revision, delete_in, encode, get_ok, items,
    keys, names, retemplate, revision, wait_until_compacted, with_query, Http1, Up,
};

/// The 410 message for a compacted continue token (k8s.io/apiserver
/// `pkg/storage/etcd3/errors.go` `inconsistentContinue`).
const INCONSISTENT_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

async fn start(backend: Backend) -> Option<(TestServer, kube::Client)> {
    let server = TestServer::start(backend)?;
    let client = server.client().await;
    Some((server, client))
}

/// A server compacting its history every 2 s.
async fn start_compacting(backend: Backend) -> Option<(Up, kube::Client)> {
    let server = Up::builder(backend).compaction_interval("2s").start()?;
    let client = server.client().await;
    Some((server, client))
}

/// Lists `default` with `query`, asserting 200.
async fn list_default(client: &kube::Client, query: &str) -> Value {
    get_ok(client, &with_query(Some("default"), query)).await
}

async fn create_default(client: &kube::Client, names: &[&str]) -> Vec<Value> {
    let mut created = Vec::new();
    for name in names {
        created.push(create_in(client, "default", name, &[]).await);
    }
    created
}

fn continue_token(list: &Value) -> Option<&str> {
    list["metadata"]["continue"]
        .as_str()
        .filter(|c| !c.is_empty())
}

async fn limit_and_continue_pages_cover_every_object_once_at_the_first_pages_revision(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let originals = ["o0", "o1", "o2", "o3", "o4", "o5", "o6"];
    let created = create_default(&client, &originals).await;

    let first = list_default(&client, "limit=2").await;
    let pinned = revision(&first);
    let mut seen = names(&first);
    let mut page = first;
    let mut round = 0;
    while let Some(token) = continue_token(&page).map(str::to_owned) {
        // Writes between pages: a new object sorting after every original, an update of one
        // not listed yet, and an update of one already listed.
        create_in(&client, "default", &format!("p{round}"), &[]).await;
        retemplate(&client, "default", "o6", &format!("changed-{round}")).await;
        retemplate(&client, "default", "o0", &format!("changed-{round}")).await;
        round += 1;
        page = list_default(&client, &format!("limit=2&continue={}", encode(&token))).await;
        assert_eq!(
            revision(&page),
            pinned,
            "every page is read at the first page's revision"
        );
        for item in items(&page) {
            assert!(
                revision(item) <= pinned,
                "an item newer than the page: {item}"
            );
        }
        seen.extend(names(&page));
        assert!(round < 10, "paging does not end: {page}");
    }
    assert_eq!(
        seen, originals,
        "each object exactly once, and none created since"
    );
    let last_o6 = items(&page).last().expect("o6 is on the last page");
    assert_eq!(
        last_o6, &created[6],
        "o6 as it was at the first page's revision"
    );
}

async fn a_continue_token_reads_the_first_pages_revision_so_an_object_deleted_after_page_one_still_appears(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let created = create_default(&client, &["a", "b", "c"]).await;
    let first = list_default(&client, "limit=1").await;
    assert_eq!(names(&first), ["a"]);
    let token = continue_token(&first).expect("a continue token").to_owned();

    delete_in(&client, "default", "c").await;
    let rest = list_default(&client, &format!("limit=5&continue={}", encode(&token))).await;
    assert_eq!(
        names(&rest),
        ["b", "c"],
        "c was deleted after page one: {rest}"
    );
    assert_eq!(
        items(&rest)[1],
        created[2],
        "c in its state at page one's revision"
    );
    assert_eq!(revision(&rest), revision(&first));
    assert_eq!(
        continue_token(&rest),
        None,
        "the last page has no continue token"
    );
    let now = list_default(&client, "").await;
    assert_eq!(names(&now), ["a", "b"], "c is gone from a fresh list");
}

async fn remaining_item_count_is_present_only_without_selectors(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    for name in ["a", "b", "c", "d", "e"] {
        create_in(&client, "default", name, &[("env", "prod")]).await;
    }
    let first = list_default(&client, "limit=2").await;
    assert_eq!(first["metadata"]["remainingItemCount"], 3, "{first}");
    let token = continue_token(&first).expect("a continue token").to_owned();
    let second = list_default(&client, &format!("limit=2&continue={}", encode(&token))).await;
    assert_eq!(second["metadata"]["remainingItemCount"], 1, "{second}");
    let token = continue_token(&second)
        .expect("a continue token")
        .to_owned();
    let last = list_default(&client, &format!("limit=2&continue={}", encode(&token))).await;
    assert_eq!(names(&last), ["e"]);
    let meta = last["metadata"].as_object().expect("metadata");
    assert!(
        !meta.contains_key("remainingItemCount"),
        "not on the last page: {last}"
    );
    assert!(
        !meta.contains_key("continue"),
        "not on the last page: {last}"
    );

    for selector in [
        format!("labelSelector={}", encode("env=prod")),
        format!("fieldSelector={}", encode("metadata.namespace=default")),
    ] {
        let filtered = list_default(&client, &format!("limit=2&{selector}")).await;
        assert_eq!(names(&filtered), ["a", "b"], "{selector}");
        assert!(
            continue_token(&filtered).is_some(),
            "{selector}: {filtered}"
        );
        let meta = filtered["metadata"].as_object().expect("metadata");
        assert!(
            !meta.contains_key("remainingItemCount"),
            "no remainingItemCount with {selector}: {filtered}"
        );
    }
}

async fn a_selector_with_limit_pages_through_matching_objects_only(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    for (name, env) in [
        ("a", "prod"),
        ("b", "dev"),
        ("c", "dev"),
        ("d", "prod"),
        ("e", "dev"),
        ("f", "prod"),
    ] {
        create_in(&client, "default", name, &[("env", env)]).await;
    }
    let query = format!("limit=2&labelSelector={}", encode("env=prod"));
    let mut page = list_default(&client, &query).await;
    let pinned = revision(&page);
    let mut seen = names(&page);
    while let Some(token) = continue_token(&page).map(str::to_owned) {
        page = list_default(&client, &format!("{query}&continue={}", encode(&token))).await;
        assert_eq!(revision(&page), pinned);
        seen.extend(names(&page));
        assert!(seen.len() <= 3, "too many pages: {seen:?}");
    }
    assert_eq!(seen, ["a", "d", "f"]);
}

async fn an_unset_resource_version_reads_the_latest_state(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create_in(&client, "default", "a", &[]).await;
    let patched = retemplate(&client, "default", "a", "newest").await;
    let list = list_default(&client, "").await;
    assert_eq!(
        items(&list),
        std::slice::from_ref(&patched),
        "the latest state of a"
    );
    assert_eq!(
        revision(&list),
        revision(&patched),
        "the list is at the latest revision"
    );
    let b = create_in(&client, "default", "b", &[]).await;
    let list = list_default(&client, "").await;
    assert_eq!(
        names(&list),
        ["a", "b"],
        "a consistent read sees the write just made"
    );
    assert_eq!(revision(&list), revision(&b));
}

async fn resource_version_zero_reads_the_latest_state_too(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create_in(&client, "default", "a", &[]).await;
    let patched = retemplate(&client, "default", "a", "newest").await;
    for query in [
        "resourceVersion=0",
        "resourceVersion=0&resourceVersionMatch=NotOlderThan",
    ] {
        let list = list_default(&client, query).await;
        assert_eq!(items(&list), std::slice::from_ref(&patched), "{query}");
        assert_eq!(revision(&list), revision(&patched), "{query}");
    }
}

async fn not_older_than_a_future_revision_is_a_504_timeout_after_about_three_seconds(
    backend: Backend,
) {
    let Some((server, client)) = start(backend).await else {
        return;
    };
    create_in(&client, "default", "a", &[]).await;
    let current = current_revision(&client).await;
    let future = current + 1000;
    // Through the HTTP/1.1 client: kube-rs' default retry policy retries 504s.
    let http = Http1::new(server.url(), server.data_dir());
    let started = Instant::now();
    let reply = http
        .get(&with_query(
            Some("default"),
            &format!("resourceVersion={future}&resourceVersionMatch=NotOlderThan"),
        ))
        .await
        .expect("GET");
    let waited = started.elapsed();
    let body = reply.json();
    assert_status(
        reply.status,
        &body,
        504,
        "Timeout",
        &format!("Too large resource version: {future}, current: {current}"),
    );
    assert_eq!(
        body["details"]["causes"][0]["reason"], "ResourceVersionTooLarge",
        "{body}"
    );
    assert_eq!(body["details"]["retryAfterSeconds"], 1, "{body}");
    assert!(
        waited >= Duration::from_millis(2500) && waited < Duration::from_secs(8),
        "the server waits about 3 s before giving up, waited {waited:?}"
    );
}

async fn not_older_than_waits_for_a_revision_that_arrives_during_the_wait(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let next = current_revision(&client).await + 1;
    let path = with_query(
        Some("default"),
        &format!("resourceVersion={next}&resourceVersionMatch=NotOlderThan"),
    );
    let waiter = client.clone();
    let waiting = tokio::spawn(async move { Raw::get(&path).send(&waiter).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    create_in(&client, "default", "late", &[]).await;
    let reply = waiting.await.expect("the waiting list");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let list = reply.json();
    assert!(revision(&list) >= next, "{list}");
    assert_eq!(names(&list), ["late"]);
}

async fn a_resource_version_without_limit_or_match_means_not_older_than(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let created = create_in(&client, "default", "a", &[]).await;
    let patched = retemplate(&client, "default", "a", "newest").await;
    let list = list_default(&client, &format!("resourceVersion={}", revision(&created))).await;
    assert_eq!(
        items(&list),
        std::slice::from_ref(&patched),
        "not older than: the latest state"
    );
    assert!(revision(&list) >= revision(&patched), "{list}");
}

async fn exact_at_a_past_revision_returns_the_state_at_that_revision(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let created = create_in(&client, "default", "a", &[]).await;
    retemplate(&client, "default", "a", "newest").await;
    create_in(&client, "default", "b", &[]).await;
    let rv = revision(&created);
    let list = list_default(
        &client,
        &format!("resourceVersion={rv}&resourceVersionMatch=Exact"),
    )
    .await;
    assert_eq!(items(&list), &[created], "the state at revision {rv}");
    assert_eq!(revision(&list), rv);
}

async fn a_resource_version_with_limit_and_no_match_reads_exactly_that_revision(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let created = create_in(&client, "default", "a", &[]).await;
    retemplate(&client, "default", "a", "newest").await;
    create_in(&client, "default", "b", &[]).await;
    let rv = revision(&created);
    let list = list_default(&client, &format!("resourceVersion={rv}&limit=10")).await;
    assert_eq!(
        items(&list),
        &[created],
        "the legacy rule: Exact at revision {rv}"
    );
    assert_eq!(revision(&list), rv);
}

const INVALID: &str = "ListOptions.meta.k8s.io \"\" is invalid: ";

/// Checks a 422 for ListOptions with one cause on `field`.
fn assert_invalid_options(reply: &crate::support::Reply, cause: &str, field: &str) {
    assert_reply(reply, 422, "Invalid", &format!("{INVALID}{field}: {cause}"));
    let body = reply.json();
    let details = &body["details"];
    assert_eq!(details["kind"], "ListOptions", "{body}");
    assert_eq!(details["group"], "meta.k8s.io", "{body}");
    assert_eq!(
        details["causes"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
    assert_eq!(details["causes"][0]["field"], field, "{body}");
    assert_eq!(details["causes"][0]["message"], cause, "{body}");
}

async fn resource_version_match_without_resource_version_is_422(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    for rv_match in ["Exact", "NotOlderThan"] {
        let path = with_query(Some("default"), &format!("resourceVersionMatch={rv_match}"));
        let reply = Raw::get(&path).send(&client).await;
        assert_invalid_options(
            &reply,
            "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            "resourceVersionMatch",
        );
    }
}

/// A continue token of a list of `default` with two objects.
async fn some_continue_token(client: &kube::Client) -> String {
    create_default(client, &["a", "b"]).await;
    let first = list_default(client, "limit=1").await;
    continue_token(&first).expect("a continue token").to_owned()
}

async fn resource_version_match_with_continue_is_422(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let token = encode(&some_continue_token(&client).await);
    let path = with_query(
        Some("default"),
        &format!("continue={token}&resourceVersion=0&resourceVersionMatch=NotOlderThan"),
    );
    let reply = Raw::get(&path).send(&client).await;
    assert_invalid_options(
        &reply,
        "Forbidden: resourceVersionMatch is forbidden when continue is provided",
        "resourceVersionMatch",
    );
}

async fn exact_with_resource_version_zero_is_422(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = with_query(
        Some("default"),
        "resourceVersion=0&resourceVersionMatch=Exact",
    );
    let reply = Raw::get(&path).send(&client).await;
    assert_invalid_options(
        &reply,
        "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        "resourceVersionMatch",
    );
}

async fn an_unknown_resource_version_match_is_422(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = with_query(
        Some("default"),
        "resourceVersion=1&resourceVersionMatch=Newest",
    );
    let reply = Raw::get(&path).send(&client).await;
    assert_invalid_options(
        &reply,
        "Unsupported value: \"Newest\": supported values: \"Exact\", \"NotOlderThan\", \"\"",
        "resourceVersionMatch",
    );
}

async fn a_resource_version_with_continue_is_400_but_zero_is_allowed(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let token = encode(&some_continue_token(&client).await);
    let current = current_revision(&client).await;
    let path = with_query(
        Some("default"),
        &format!("continue={token}&resourceVersion={current}"),
    );
    let reply = Raw::get(&path).send(&client).await;
    assert_reply(
        &reply,
        400,
        "BadRequest",
        "specifying resource version is not allowed when using continue",
    );
    let zero = list_default(&client, &format!("continue={token}&resourceVersion=0")).await;
    assert_eq!(names(&zero), ["b"], "resourceVersion 0 goes with continue");
}

async fn exact_at_a_compacted_revision_is_410_expired(backend: Backend) {
    let Some((_server, client)) = start_compacting(backend).await else {
        return;
    };
    let created = create_in(&client, "default", "a", &[]).await;
    retemplate(&client, "default", "a", "newest").await;
    let rv = revision(&created);
    wait_until_compacted(&client, rv).await;
    for query in [
        format!("resourceVersion={rv}&resourceVersionMatch=Exact"),
        format!("resourceVersion={rv}&limit=10"),
    ] {
        let reply = Raw::get(&with_query(Some("default"), &query))
            .send(&client)
            .await;
        assert_reply(
            &reply,
            410,
            "Expired",
            "The resourceVersion for the provided list is too old.",
        );
    }
}

async fn a_compacted_continue_token_is_410_expired_with_an_inconsistent_continue_token(
    backend: Backend,
) {
    let Some((_server, client)) = start_compacting(backend).await else {
        return;
    };
    create_default(&client, &["a", "b", "c"]).await;
    let first = list_default(&client, "limit=1").await;
    let token = continue_token(&first).expect("a continue token").to_owned();
    create_in(&client, "default", "d", &[]).await;
    retemplate(&client, "default", "b", "newest").await;
    wait_until_compacted(&client, revision(&first)).await;

    let path = with_query(
        Some("default"),
        &format!("limit=10&continue={}", encode(&token)),
    );
    let reply = Raw::get(&path).send(&client).await;
    assert_reply(&reply, 410, "Expired", INCONSISTENT_CONTINUE);
    let status = reply.json();
    let inconsistent = status["metadata"]["continue"]
        .as_str()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| panic!("the Status carries metadata.continue: {status}"));

    let rest = list_default(
        &client,
        &format!("limit=10&continue={}", encode(inconsistent)),
    )
    .await;
    assert_eq!(
        names(&rest),
        ["b", "c", "d"],
        "the rest, read at the latest revision"
    );
    assert_eq!(items(&rest)[0]["spec"]["template"], "newest");
    assert_eq!(revision(&rest), current_revision(&client).await);
}

async fn label_selectors_select_with_every_operator(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create_in(&client, "default", "a", &[("env", "prod"), ("tier", "1")]).await;
    create_in(&client, "default", "b", &[("env", "dev"), ("tier", "5")]).await;
    create_in(&client, "default", "c", &[("env", "qa")]).await;
    create_in(&client, "default", "d", &[]).await;
    let cases: &[(&str, &[&str])] = &[
        ("env=prod", &["a"]),
        ("env==prod", &["a"]),
        ("env!=prod", &["b", "c", "d"]),
        ("env in (prod,dev)", &["a", "b"]),
        ("env in (prod, dev)", &["a", "b"]),
        ("env notin (prod,dev)", &["c", "d"]),
        ("env", &["a", "b", "c"]),
        ("!env", &["d"]),
        ("tier>2", &["b"]),
        ("tier<2", &["a"]),
        ("env=prod,tier", &["a"]),
        ("env in (prod,dev),tier>1", &["b"]),
        ("env!=prod,!tier", &["c", "d"]),
        (" env = qa ", &["c"]),
        ("", &["a", "b", "c", "d"]),
    ];
    for (selector, expected) in cases {
        let list = list_default(&client, &format!("labelSelector={}", encode(selector))).await;
        assert_eq!(names(&list), *expected, "labelSelector {selector:?}");
    }
}

async fn a_malformed_label_selector_is_400(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let exact = [
        ("env in (prod", "unable to parse requirement: found '', expected: ',' or ')'"),
        (
            "tier>abc",
            "unable to parse requirement: values[0]: Invalid value: \"abc\": for 'Gt', 'Lt' operators, the value must be an integer",
        ),
    ];
    for (selector, message) in exact {
        let path = with_query(
            Some("default"),
            &format!("labelSelector={}", encode(selector)),
        );
        let reply = Raw::get(&path).send(&client).await;
        assert_reply(&reply, 400, "BadRequest", message);
    }
    for selector in [
        "=prod",
        "env in prod",
        "env=a b",
        "!env=prod",
        "env,,tier",
        "Bad Key=x",
    ] {
        let path = with_query(
            Some("default"),
            &format!("labelSelector={}", encode(selector)),
        );
        let reply = Raw::get(&path).send(&client).await;
        let body = reply.json();
        assert_eq!(reply.status, 400, "labelSelector {selector:?}: {body}");
        assert_eq!(
            body["reason"], "BadRequest",
            "labelSelector {selector:?}: {body}"
        );
    }
}

async fn field_selectors_on_metadata_name_select_with_equals_and_exclude_with_not_equals(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create_default(&client, &["a", "b", "c"]).await;
    let cases: &[(&str, &[&str])] = &[
        ("metadata.name=a", &["a"]),
        ("metadata.name==b", &["b"]),
        ("metadata.name!=a", &["b", "c"]),
        ("metadata.name!=a,metadata.name!=c", &["b"]),
        ("metadata.name=zzz", &[]),
    ];
    for (selector, expected) in cases {
        let list = list_default(&client, &format!("fieldSelector={}", encode(selector))).await;
        assert_eq!(names(&list), *expected, "fieldSelector {selector:?}");
    }
}

async fn field_selectors_on_metadata_namespace_filter_a_list_of_every_namespace(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create_in(&client, "default", "a", &[]).await;
    create_in(&client, "other", "b", &[]).await;
    create_in(&client, "third", "c", &[]).await;
    let cases: &[(&str, &[&str])] = &[
        ("metadata.namespace=other", &["other/b"]),
        ("metadata.namespace!=other", &["default/a", "third/c"]),
        ("metadata.namespace=third,metadata.name=c", &["third/c"]),
    ];
    for (selector, expected) in cases {
        let list = get_ok(
            &client,
            &with_query(None, &format!("fieldSelector={}", encode(selector))),
        )
        .await;
        assert_eq!(keys(&list), *expected, "fieldSelector {selector:?}");
    }
}

async fn a_field_selector_on_an_unknown_field_is_400(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    let path = with_query(
        Some("default"),
        &format!("fieldSelector={}", encode("spec.x=1")),
    );
    let reply = Raw::get(&path).send(&client).await;
    assert_reply(
        &reply,
        400,
        "BadRequest",
        "field label not supported: spec.x",
    );
    let path = with_query(
        Some("default"),
        &format!("fieldSelector={}", encode("metadata.name")),
    );
    let reply = Raw::get(&path).send(&client).await;
    assert_eq!(
        reply.status,
        400,
        "a term without an operator: {}",
        reply.text()
    );
}

async fn a_list_without_a_namespace_returns_every_namespace_in_key_order(backend: Backend) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create_in(&client, "third", "c", &[]).await;
    create_in(&client, "default", "a", &[]).await;
    create_in(&client, "other", "b", &[]).await;
    create_in(&client, "default", "z", &[]).await;
    let list = get_ok(&client, &with_query(None, "")).await;
    assert_eq!(
        keys(&list),
        ["default/a", "default/z", "other/b", "third/c"]
    );
    let paged = get_ok(&client, &with_query(None, "limit=3")).await;
    assert_eq!(keys(&paged), ["default/a", "default/z", "other/b"]);
    assert_eq!(paged["metadata"]["remainingItemCount"], 1, "{paged}");
}

async fn an_empty_list_has_items_as_an_empty_array_and_kind_cluster_deployment_list(
    backend: Backend,
) {
    let Some((_server, client)) = start(backend).await else {
        return;
    };
    create_in(&client, "other", "elsewhere", &[("env", "prod")]).await;
    for path in [
        with_query(Some("default"), ""),
        with_query(None, &format!("labelSelector={}", encode("env=dev"))),
        with_query(
            None,
            &format!("fieldSelector={}", encode("metadata.name=nothing")),
        ),
    ] {
        let reply = Raw::get(&path).send(&client).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        let list = reply.json();
        assert_eq!(list["kind"], "ClusterDeploymentList", "{list}");
        assert_eq!(list["apiVersion"], API_VERSION, "{list}");
        assert_eq!(
            list["items"],
            Value::Array(Vec::new()),
            "items is [], never null: {list}"
        );
        assert!(revision(&list) > 1, "{list}");
        let meta = list["metadata"].as_object().expect("metadata");
        assert!(!meta.contains_key("continue"), "{list}");
        assert!(!meta.contains_key("remainingItemCount"), "{list}");
    }
}

on_both_backends!(
    limit_and_continue_pages_cover_every_object_once_at_the_first_pages_revision,
    a_continue_token_reads_the_first_pages_revision_so_an_object_deleted_after_page_one_still_appears,
    remaining_item_count_is_present_only_without_selectors,
    a_selector_with_limit_pages_through_matching_objects_only,
    an_unset_resource_version_reads_the_latest_state,
    resource_version_zero_reads_the_latest_state_too,
    not_older_than_a_future_revision_is_a_504_timeout_after_about_three_seconds,
    not_older_than_waits_for_a_revision_that_arrives_during_the_wait,
    a_resource_version_without_limit_or_match_means_not_older_than,
    exact_at_a_past_revision_returns_the_state_at_that_revision,
    a_resource_version_with_limit_and_no_match_reads_exactly_that_revision,
    resource_version_match_without_resource_version_is_422,
    resource_version_match_with_continue_is_422,
    exact_with_resource_version_zero_is_422,
    an_unknown_resource_version_match_is_422,
    a_resource_version_with_continue_is_400_but_zero_is_allowed,
    exact_at_a_compacted_revision_is_410_expired,
    a_compacted_continue_token_is_410_expired_with_an_inconsistent_continue_token,
    label_selectors_select_with_every_operator,
    a_malformed_label_selector_is_400,
    field_selectors_on_metadata_name_select_with_equals_and_exclude_with_not_equals,
    field_selectors_on_metadata_namespace_filter_a_list_of_every_namespace,
    a_field_selector_on_an_unknown_field_is_400,
    a_list_without_a_namespace_returns_every_namespace_in_key_order,
    an_empty_list_has_items_as_an_empty_array_and_kind_cluster_deployment_list,
);
