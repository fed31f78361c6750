//! What the audit log must say about one request ([`Expected`], a builder), checked against
//! the events the request left in the log: upstream's fields, stages and bodies
//! (k8s.io/apiserver `pkg/audit/request.go`, `pkg/endpoints/filters/audit.go`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{micros_since_epoch, AuditFile};
use crate::support::Reply;

/// The user agent the tests send, which every event must carry.
pub const USER_AGENT: &str = "fleet-audit-tests/1.0";

/// One request and what its events must say. Built for the admin at level Metadata,
/// recorded when received and when complete; the builder methods change that.
#[derive(Debug, Clone)]
pub struct Expected {
    pub what: String,
    reply: Reply,
    pub audit_id: String,
    request_uri: String,
    verb: String,
    /// Username and groups; `None` for a request without credentials (`user: {}`).
    user: Option<(String, Vec<String>)>,
    impersonated: Option<Value>,
    object_ref: Option<Value>,
    level: &'static str,
    stages: Vec<&'static str>,
    request_object: Option<Value>,
    response_object: Option<Value>,
}

impl Expected {
    /// The request that got `reply` (its `Audit-Id` header names its events).
    pub fn new(what: &str, reply: &Reply, request_uri: &str, verb: &str) -> Expected {
        let audit_id = reply
            .header("audit-id")
            .unwrap_or_else(|| panic!("{what}: no Audit-Id header: {:?}", reply.headers))
            .to_owned();
        assert!(!audit_id.is_empty(), "{what}: an empty Audit-Id");
        Expected {
            what: what.to_owned(),
            reply: reply.clone(),
            audit_id,
            request_uri: request_uri.to_owned(),
            verb: verb.to_owned(),
            user: Some((
                "fleet-admin".into(),
                strings(&["system:masters", "system:authenticated"]),
            )),
            impersonated: None,
            object_ref: None,
            level: "Metadata",
            stages: vec!["RequestReceived", "ResponseComplete"],
            request_object: None,
            response_object: None,
        }
    }

    pub fn user(mut self, name: &str, groups: &[&str]) -> Self {
        self.user = Some((name.to_owned(), strings(groups)));
        self
    }

    pub fn without_credentials(mut self) -> Self {
        self.user = None;
        self
    }

    /// The `impersonatedUser`, in the last event.
    pub fn impersonating(mut self, name: &str, groups: &[&str]) -> Self {
        self.impersonated = Some(json!({"username": name, "groups": groups}));
        self
    }

    /// The `objectRef` of the last event, exactly (earlier ones may lack the name a create
    /// takes from its body).
    pub fn object(mut self, reference: Value) -> Self {
        self.object_ref = Some(reference);
        self
    }

    pub fn level(mut self, level: &'static str) -> Self {
        self.level = level;
        self
    }

    pub fn stages(mut self, stages: &[&'static str]) -> Self {
        self.stages = stages.to_vec();
        self
    }

    /// The `requestObject` of the last event.
    pub fn request_object(mut self, body: Value) -> Self {
        self.request_object = Some(body);
        self
    }

    /// The `responseObject` of the last event.
    pub fn response_object(mut self, body: Value) -> Self {
        self.response_object = Some(body);
        self
    }

    /// The `responseStatus` upstream records once the response is written: the code alone,
    /// or the bounded fields of a `Status` body and the HTTP code (`processCode` sets it
    /// after `LogResponseObject` copied the body's).
    pub fn response_status(&self) -> Value {
        let code = self.reply.status;
        let body: Value = serde_json::from_slice(&self.reply.body).unwrap_or(Value::Null);
        if body["kind"] != "Status" {
            return json!({"metadata": {}, "code": code});
        }
        let mut status = json!({"metadata": {}});
        // Strings are `omitempty`; details are a pointer, copied when the body has them.
        for field in ["status", "message", "reason", "details"] {
            let value = &body[field];
            if !(value.is_null() || value.as_str() == Some("")) {
                status[field] = value.clone();
            }
        }
        status["code"] = json!(code);
        status
    }

    /// Waits until the request's last expected stage is in `log`, then checks every event
    /// of the request. `since`: microseconds since the epoch before the server started.
    pub async fn check(&self, log: &AuditFile, since: i64) {
        let last_stage = *self.stages.last().expect("at least one stage");
        let events = log.reached(&self.audit_id, last_stage).await;
        self.check_events(&events, since);
    }

    /// Checks the events of the request (all of them, in file order).
    pub fn check_events(&self, events: &[Value], since: i64) {
        let what = &self.what;
        let stages: Vec<&str> = events
            .iter()
            .map(|e| e["stage"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(stages, self.stages, "{what}: stages; events: {events:#?}");
        let received = &events[0]["requestReceivedTimestamp"];
        let mut previous = micros(received, what);
        assert!(
            previous >= since - 1_000_000 && previous <= now_micros() + 1_000_000,
            "{what}: requestReceivedTimestamp {received} is not the time of the request"
        );
        for (i, event) in events.iter().enumerate() {
            let context = format!("{what}, stage {}: {event:#}", stages[i]);
            self.check_common(event, &context);
            assert_eq!(&event["requestReceivedTimestamp"], received, "{context}");
            let at = micros(&event["stageTimestamp"], &context);
            assert!(
                at >= previous,
                "{context}: stageTimestamp goes back in time"
            );
            previous = at;
            if stages[i] == "RequestReceived" {
                assert_eq!(&event["stageTimestamp"], received, "{context}");
                assert_eq!(event.get("responseStatus"), None, "{context}");
            } else {
                assert_eq!(event["responseStatus"], self.response_status(), "{context}");
            }
            if i + 1 == events.len() {
                self.check_last(event, &context);
            } else {
                assert_eq!(event.get("requestObject"), None, "{context}");
                assert_eq!(event.get("responseObject"), None, "{context}");
            }
        }
    }

    /// What only the last event must carry: all that the request revealed as it was served.
    fn check_last(&self, event: &Value, context: &str) {
        let reference = event.get("objectRef");
        assert_eq!(reference, self.object_ref.as_ref(), "{context}: objectRef");
        let field = |name: &str| event.get(name);
        assert_eq!(
            field("impersonatedUser"),
            self.impersonated.as_ref(),
            "{context}"
        );
        assert_eq!(
            field("requestObject"),
            self.request_object.as_ref(),
            "{context}"
        );
        assert_eq!(
            field("responseObject"),
            self.response_object.as_ref(),
            "{context}"
        );
    }

    /// What every event of the request carries, whatever its stage.
    fn check_common(&self, event: &Value, context: &str) {
        assert_eq!(event["kind"], "Event", "{context}");
        assert_eq!(event["apiVersion"], "audit.k8s.io/v1", "{context}");
        assert_eq!(event["level"], self.level, "{context}");
        assert_eq!(event["auditID"], self.audit_id.as_str(), "{context}");
        assert_eq!(event["requestURI"], self.request_uri.as_str(), "{context}");
        assert_eq!(event["verb"], self.verb.as_str(), "{context}");
        assert_eq!(event["sourceIPs"], json!(["127.0.0.1"]), "{context}");
        assert_eq!(event["userAgent"], USER_AGENT, "{context}");
        check_user(&event["user"], self.user.as_ref(), context);
        // The same at every stage, but for the name a create learns from its body.
        assert_eq!(
            without_name(event.get("objectRef")),
            without_name(self.object_ref.as_ref()),
            "{context}: objectRef"
        );
        if self.impersonated.is_none() {
            assert_eq!(event.get("impersonatedUser"), None, "{context}");
        }
    }
}

fn without_name(reference: Option<&Value>) -> Option<Value> {
    reference.cloned().map(|mut reference| {
        if let Some(fields) = reference.as_object_mut() {
            fields.remove("name");
        }
        reference
    })
}

/// `user` is `username` and `groups` exactly; its only extra, if any, is the client
/// certificate's credential ID (`authentication.kubernetes.io/credential-id`).
fn check_user(user: &Value, expected: Option<&(String, Vec<String>)>, context: &str) {
    let Some((name, groups)) = expected else {
        assert_eq!(user, &json!({}), "{context}: a request without credentials");
        return;
    };
    assert_eq!(user["username"], name.as_str(), "{context}: user");
    assert_eq!(user["groups"], json!(groups), "{context}: groups");
    assert_eq!(user.get("uid"), None, "{context}: a certificate has no uid");
    if let Some(extra) = user.get("extra") {
        let ids = extra["authentication.kubernetes.io/credential-id"]
            .as_array()
            .unwrap_or_else(|| panic!("{context}: unexpected extra {extra}"));
        assert_eq!(
            extra.as_object().map(|o| o.len()),
            Some(1),
            "{context}: {extra}"
        );
        assert!(
            ids.len() == 1
                && ids[0]
                    .as_str()
                    .is_some_and(|id| id.starts_with("X509SHA256=")),
            "{context}: credential-id {extra}"
        );
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn micros(timestamp: &Value, context: &str) -> i64 {
    timestamp
        .as_str()
        .and_then(micros_since_epoch)
        .unwrap_or_else(|| {
            panic!("{context}: {timestamp} is not RFC 3339 with 6 fractional digits in UTC")
        })
}

/// Microseconds since the epoch, now.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as i64
}
