//! Aggregated mode end to end (`../shared/docs/KUBERNETES-API.md` §0 and §8): `fleet-apiserver
//! up --authentication-kubeconfig` against a fake host kube-apiserver. The front-proxy CA,
//! allowed names and header names come from the host's ConfigMap
//! `kube-system/extension-apiserver-authentication` (listed, then watched, so that a rotated
//! CA applies without a restart), and bearer tokens are checked with TokenReview against the
//! same host, answers cached for 10 s (k8s.io/apiserver `pkg/server/options/authentication.go`,
//! `pkg/authentication/request/x509/x509.go`).

mod support;
mod support_aggregated;

use std::time::{Duration, Instant};

use certs::{Ca, CertifiedKey};
use serde_json::{json, Value};
use support::assert_unauthorized;
use support_aggregated::{
    eventually, self_subject_review, start_server, user_info, Caller, FakeHost, Logged, Published,
    HOST_TOKEN,
};

/// The CN of the client certificate kube-apiserver's aggregator presents.
const PROXY_CN: &str = "front-proxy-client";
/// The CN of the aggregator's certificate after the rotation.
const ROTATED_PROXY_CN: &str = "front-proxy-client-2";
/// How long the first ConfigMap may take to apply after the ready line, and a rotation
/// after its event is sent ("within a few seconds").
const APPLIED_WITHIN: Duration = Duration::from_secs(5);

/// alice as the aggregator names her, with kube-apiserver's conventional headers.
const ALICE: [(&str, &str); 4] = [
    ("X-Remote-User", "alice"),
    ("X-Remote-Uid", "alice-uid"),
    ("X-Remote-Group", "team-a"),
    ("X-Remote-Extra-Scopes", "read"),
];

/// Who the server says alice is.
fn alice() -> Value {
    json!({
        "username": "alice",
        "uid": "alice-uid",
        "groups": ["team-a", "system:authenticated"],
        "extra": {"scopes": ["read"]},
    })
}

fn ca(common_name: &str) -> Ca {
    Ca::generate(common_name).expect("a CA")
}

/// A client certificate with CN `common_name` and no O.
fn issue(ca: &Ca, common_name: &str) -> CertifiedKey {
    ca.issue_client(common_name, &[])
        .expect("a client certificate")
}

/// Who `caller` is when it names alice, each time on a new connection.
fn as_alice(caller: &Caller) -> Result<Value, String> {
    user_info(&caller.send(&self_subject_review(&ALICE)))
}

/// The ConfigMap reads the host saw: lists first, then watches.
fn config_map_reads(host: &FakeHost) -> (Vec<Logged>, Vec<Logged>) {
    host.requests()
        .into_iter()
        .filter(Logged::is_config_map_read)
        .partition(|r| !r.is_watch())
}

#[test]
fn the_front_proxy_ca_and_header_names_the_host_publishes_are_trusted() {
    let proxy_ca = ca("front-proxy-ca");
    let host_client_ca = ca("host-client-ca");
    let published = Published::front_proxy(&proxy_ca, &[PROXY_CN]).client_ca(&host_client_ca);
    let host = FakeHost::builder().config_map(published.data()).start();
    let server = start_server(&host);
    let proxy = Caller::new(&server, Some(&issue(&proxy_ca, PROXY_CN)));

    let user = eventually(APPLIED_WITHIN, "alice through the front proxy", || {
        as_alice(&proxy)
    });
    assert_eq!(
        user,
        alice(),
        "the ConfigMap's user, UID, group and extra headers"
    );

    // What fleet-apiserver asked the host: the ConfigMap by name, then a watch from the
    // listed version, all with the kubeconfig's token.
    host.wait_for_watch(APPLIED_WITHIN);
    let (lists, watches) = config_map_reads(&host);
    let log = host.describe_requests();
    eprintln!("what fleet-apiserver asked the host:\n{log}");
    let list = lists.first().unwrap_or_else(|| panic!("no list:\n{log}"));
    assert!(
        list.raw_query
            .contains("fieldSelector=metadata.name%3Dextension-apiserver-authentication"),
        "the list selects the ConfigMap by name:\n{log}"
    );
    let watch = watches
        .first()
        .unwrap_or_else(|| panic!("no watch:\n{log}"));
    assert_eq!(
        watch.param("fieldSelector"),
        Some("metadata.name=extension-apiserver-authentication"),
        "{log}"
    );
    assert_eq!(watch.param("resourceVersion"), Some("1000"), "{log}");
    for request in host.requests() {
        let expected = format!("Bearer {HOST_TOKEN}");
        assert_eq!(
            request.authorization.as_deref(),
            Some(&*expected),
            "{request}"
        );
    }

    // The same headers from anyone else name nobody.
    let stranger = Caller::new(&server, Some(&issue(&ca("stranger-ca"), PROXY_CN)));
    let response = stranger.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "the proxy's CN from another CA");
    let intruder = Caller::new(&server, Some(&issue(&proxy_ca, "intruder")));
    let response = intruder.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "a CN of the proxy CA outside the allowed names");
    // `up` fixes its own client CA: the host's `client-ca-file` vouches for nobody here.
    let host_client = Caller::new(&server, Some(&issue(&host_client_ca, PROXY_CN)));
    let response = host_client.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "the proxy's CN from the host's client CA");
    let nobody = Caller::new(&server, None);
    let response = nobody.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "the headers without a certificate");
    // The proxy's certificate without a user header is not a user of the client CA either.
    let response = proxy.send(&self_subject_review(&[("X-Remote-Group", "team-a")]));
    assert_unauthorized(&response, "the proxy without X-Remote-User");
}

#[test]
fn a_rotated_front_proxy_ca_applies_to_new_connections_without_a_restart() {
    let old_ca = ca("front-proxy-ca");
    let host = FakeHost::builder()
        .config_map(Published::front_proxy(&old_ca, &[PROXY_CN]).data())
        .start();
    let server = start_server(&host);
    let pid = server.pid();
    let old_proxy = Caller::new(&server, Some(&issue(&old_ca, PROXY_CN)));
    eventually(APPLIED_WITHIN, "alice through the old proxy", || {
        as_alice(&old_proxy)
    });
    host.wait_for_watch(APPLIED_WITHIN);
    let (lists_before, _) = config_map_reads(&host);

    let new_ca = ca("front-proxy-ca-2");
    let new_proxy = Caller::new(&server, Some(&issue(&new_ca, ROTATED_PROXY_CN)));
    let response = new_proxy.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "the new proxy before the rotation");

    let rotated = Published::front_proxy(&new_ca, &[ROTATED_PROXY_CN]);
    assert_eq!(host.publish(rotated.data()), 1, "one watch gets the event");
    let sent = Instant::now();
    let user = eventually(APPLIED_WITHIN, "alice through the new proxy", || {
        as_alice(&new_proxy)
    });
    assert_eq!(user, alice());
    eventually(APPLIED_WITHIN, "the old proxy refused", || match old_proxy
        .send(&self_subject_review(&ALICE))
    {
        response if response.status == 401 => Ok(response),
        response => Err(format!("HTTP {}: {}", response.status, response.text())),
    });
    eprintln!("the rotation applied {:?} after its event", sent.elapsed());

    let response = old_proxy.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "the old proxy after the rotation");
    // The CA and the allowed names changed together: neither alone is enough.
    let old_ca_new_name = Caller::new(&server, Some(&issue(&old_ca, ROTATED_PROXY_CN)));
    let response = old_ca_new_name.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "the new allowed name from the old CA");
    let new_ca_old_name = Caller::new(&server, Some(&issue(&new_ca, PROXY_CN)));
    let response = new_ca_old_name.send(&self_subject_review(&ALICE));
    assert_unauthorized(&response, "the old allowed name from the new CA");

    // It came through the watch: the same process, no new list.
    assert_eq!(server.pid(), pid);
    let (lists_after, _) = config_map_reads(&host);
    assert_eq!(
        lists_after.len(),
        lists_before.len(),
        "no relist:\n{}",
        host.describe_requests()
    );
    assert!(
        server
            .logged(|line| line
                .contains("loaded CAs from kube-system/extension-apiserver-authentication")),
        "the reload is logged:\n{}",
        server.stderr_tail()
    );
}

#[test]
fn bearer_tokens_are_reviewed_by_the_host_and_the_answers_cached() {
    let proxy_ca = ca("front-proxy-ca");
    let carol = json!({
        "username": "carol",
        "uid": "carol-uid",
        "groups": ["team-c"],
        "extra": {"scopes": ["write"]},
    });
    let host = FakeHost::builder()
        .config_map(Published::front_proxy(&proxy_ca, &[PROXY_CN]).data())
        .user("carol-token", carol)
        .start();
    let server = start_server(&host);
    let nobody = Caller::new(&server, None);
    let bearer =
        |token: &str| self_subject_review(&[("Authorization", &format!("Bearer {token}"))]);

    let started = Instant::now();
    for attempt in ["first", "second"] {
        let user = user_info(&nobody.send(&bearer("carol-token")))
            .unwrap_or_else(|e| panic!("carol's token, {attempt} time: {e}"));
        assert_eq!(
            user,
            json!({
                "username": "carol",
                "uid": "carol-uid",
                "groups": ["team-c", "system:authenticated"],
                "extra": {"scopes": ["write"]},
            }),
            "{attempt} time"
        );
    }
    for attempt in ["first", "second"] {
        let response = nobody.send(&bearer("forged-token"));
        assert_unauthorized(&response, &format!("an unknown token, {attempt} time"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the requests took {:?}: longer than the cache keeps answers",
        started.elapsed()
    );
    let log = host.describe_requests();
    assert_eq!(
        host.reviews_of("carol-token"),
        1,
        "one review of a known token:\n{log}"
    );
    assert_eq!(
        host.reviews_of("forged-token"),
        1,
        "one review of an unknown token:\n{log}"
    );
    for request in host.requests() {
        let expected = format!("Bearer {HOST_TOKEN}");
        assert_eq!(
            request.authorization.as_deref(),
            Some(&*expected),
            "{request}"
        );
    }
    let review = host
        .requests()
        .into_iter()
        .find(|r| r.reviewed_token().is_some())
        .expect("a review");
    assert_eq!(
        review.body,
        json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": "carol-token"},
        })
    );
}

/// kube-apiserver reads the ConfigMap once before it serves (`RunOnce` in
/// `createRequestHeaderConfig`), so the aggregator's first request after startup is trusted.
#[test]
fn the_server_is_ready_only_once_it_has_read_the_hosts_configmap() {
    let proxy_ca = ca("front-proxy-ca");
    let host = FakeHost::builder()
        .config_map(Published::front_proxy(&proxy_ca, &[PROXY_CN]).data())
        .list_delay(Duration::from_secs(2))
        .start();
    let server = start_server(&host);
    let proxy = Caller::new(&server, Some(&issue(&proxy_ca, PROXY_CN)));
    let user = as_alice(&proxy).unwrap_or_else(|e| {
        panic!(
            "the first proxied request after the ready line: {e}; host requests:\n{}",
            host.describe_requests()
        )
    });
    assert_eq!(user, alice());
}

/// kube-apiserver verifies the client certificate against the current CA on every request
/// (x509 `Verifier.AuthenticateRequest`), so a kept-alive connection — the aggregator keeps
/// its HTTP/2 connections open — follows a rotation like a new one.
#[test]
fn a_kept_alive_connection_follows_a_rotation_of_the_front_proxy_ca() {
    let old_ca = ca("front-proxy-ca");
    let host = FakeHost::builder()
        .config_map(Published::front_proxy(&old_ca, &[PROXY_CN]).data())
        .start();
    let server = start_server(&host);
    let old_proxy = Caller::new(&server, Some(&issue(&old_ca, PROXY_CN)));
    eventually(APPLIED_WITHIN, "alice through the old proxy", || {
        as_alice(&old_proxy)
    });
    host.wait_for_watch(APPLIED_WITHIN);
    let new_ca = ca("front-proxy-ca-2");
    let new_proxy = Caller::new(&server, Some(&issue(&new_ca, PROXY_CN)));
    let mut old_connection = old_proxy.connect().expect("a connection of the old proxy");
    let mut new_connection = new_proxy.connect().expect("a connection of the new proxy");
    let response = old_connection
        .send(&self_subject_review(&ALICE))
        .expect("the old proxy's connection before the rotation");
    assert_eq!(
        user_info(&response),
        Ok(alice()),
        "the old proxy before the rotation"
    );
    let response = new_connection
        .send(&self_subject_review(&ALICE))
        .expect("the new proxy's connection before the rotation");
    assert_unauthorized(&response, "the new proxy before the rotation");

    host.publish(Published::front_proxy(&new_ca, &[PROXY_CN]).data());
    eventually(APPLIED_WITHIN, "the rotation on new connections", || {
        as_alice(&new_proxy)
    });

    // Both verdicts, so that a failure shows each.
    let new_after = new_connection
        .send(&self_subject_review(&ALICE))
        .expect("the new proxy's connection after the rotation");
    let old_after = old_connection
        .send(&self_subject_review(&ALICE))
        .expect("the old proxy's connection after the rotation");
    assert!(
        user_info(&new_after) == Ok(alice()) && old_after.status == 401,
        "on connections opened before the rotation: the new proxy got HTTP {} {} (alice \
         expected), the old proxy HTTP {} {} (401 expected)",
        new_after.status,
        new_after.text(),
        old_after.status,
        old_after.text()
    );
    assert_unauthorized(&old_after, "the old proxy on its kept-alive connection");
}
