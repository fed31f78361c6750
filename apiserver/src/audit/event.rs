//! One audit record: the audit.k8s.io/v1 `Event` (k8s.io/apiserver
//! `pkg/apis/audit/v1/types.go`), filled as a request is served the way `pkg/audit/request.go`
//! and `pkg/audit/context.go` fill it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use registry::errors::StatusDetails;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Attributes, Decision, Level, Stage, API_VERSION};

/// Longer user agents are cut to this many bytes and marked (`maxUserAgentLength`).
const MAX_USER_AGENT_LEN: usize = 1024;
const USER_AGENT_TRUNCATED: &str = "...TRUNCATED";

/// An audit event, serialized with upstream's field names, order and `omitempty`s.
///
/// The level and the bodies are private: the bodies are kept only when the level allows it
/// (`requestObject` from `Request`, `responseObject` at `RequestResponse`), so no event can
/// carry more than its policy decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    kind: String,
    api_version: String,
    level: Level,
    #[serde(rename = "auditID")]
    pub audit_id: String,
    pub stage: Stage,
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    pub verb: String,
    pub user: UserInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<UserInfo>,
    #[serde(default, rename = "sourceIPs", skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    /// Set with [`Event::set_user_agent`], which truncates it as upstream does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    /// What the request is about; `None` for non-resource requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<ResponseStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_object: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_object: Option<Value>,
    #[serde(with = "micro_time")]
    pub request_received_timestamp: SystemTime,
    #[serde(with = "micro_time")]
    pub stage_timestamp: SystemTime,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip)]
    omit_stages: Vec<Stage>,
    #[serde(skip)]
    omit_managed_fields: bool,
}

/// `authentication.k8s.io/v1` `UserInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The object a request is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// `""` for the core group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

/// The response's `metav1.Status`, reduced to the bounded fields upstream copies: `{code}`
/// for most responses, also `status`, `message`, `reason` and `details` when the response
/// body is a `Status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseStatus {
    /// Always `{}`: `metav1.Status` has a `ListMeta` without `omitempty`.
    #[serde(default)]
    metadata: EmptyMeta,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct EmptyMeta {}

fn is_zero(code: &u16) -> bool {
    *code == 0
}

impl ResponseStatus {
    /// Only the HTTP status code, as the audit filter records every response.
    pub fn new(code: u16) -> Self {
        ResponseStatus {
            code,
            ..ResponseStatus::default()
        }
    }
}

impl From<&registry::Status> for ResponseStatus {
    fn from(status: &registry::Status) -> Self {
        ResponseStatus {
            metadata: EmptyMeta {},
            status: status.status.clone(),
            message: status.message.clone(),
            reason: status.reason.clone(),
            details: status.details.clone(),
            code: status.code,
        }
    }
}

impl Event {
    /// Starts the event of a request received at `received`, audited as `decision` says,
    /// at stage `RequestReceived`.
    pub fn new(audit_id: impl Into<String>, decision: Decision, received: SystemTime) -> Event {
        Event {
            kind: "Event".into(),
            api_version: API_VERSION.into(),
            level: decision.level,
            audit_id: audit_id.into(),
            stage: Stage::RequestReceived,
            request_uri: String::new(),
            verb: String::new(),
            user: UserInfo::default(),
            impersonated_user: None,
            source_ips: Vec::new(),
            user_agent: String::new(),
            object_ref: None,
            response_status: None,
            request_object: None,
            response_object: None,
            request_received_timestamp: received,
            stage_timestamp: received,
            annotations: BTreeMap::new(),
            omit_stages: decision.omit_stages,
            omit_managed_fields: decision.omit_managed_fields,
        }
    }

    /// Fills what the policy matched on (`LogRequestMetadata`): verb, user, and for resource
    /// requests the object reference. `request_uri` is the path with its query.
    pub fn set_request(&mut self, attributes: &Attributes, request_uri: &str) {
        self.request_uri = request_uri.to_owned();
        self.verb = attributes.verb.to_owned();
        self.user.username = attributes.user.name.clone();
        self.user.groups = attributes.user.groups.clone();
        self.object_ref = attributes.resource_request.then(|| ObjectReference {
            resource: attributes.resource.to_owned(),
            namespace: attributes.namespace.to_owned(),
            name: attributes.name.to_owned(),
            api_group: attributes.api_group.to_owned(),
            api_version: attributes.api_version.to_owned(),
            subresource: attributes.subresource.to_owned(),
            ..ObjectReference::default()
        });
    }

    /// Records the client's user agent, cut after 1024 bytes and marked `...TRUNCATED`.
    pub fn set_user_agent(&mut self, user_agent: &str) {
        self.user_agent = if user_agent.len() > MAX_USER_AGENT_LEN {
            let mut end = MAX_USER_AGENT_LEN;
            while !user_agent.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}{USER_AGENT_TRUNCATED}", &user_agent[..end])
        } else {
            user_agent.to_owned()
        };
    }

    /// The decoded request body (`LogRequestObject`): fills the blanks of the object
    /// reference from its metadata, and is kept from level `Request` on.
    pub fn set_request_object(&mut self, object: Value) {
        if self.level == Level::None {
            return;
        }
        let reference = self.object_ref.get_or_insert_with(ObjectReference::default);
        let field = |name: &str| {
            object
                .pointer(&format!("/metadata/{name}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        for (slot, name) in [
            (&mut reference.namespace, "namespace"),
            (&mut reference.name, "name"),
            (&mut reference.uid, "uid"),
            (&mut reference.resource_version, "resourceVersion"),
        ] {
            if slot.is_empty() {
                *slot = field(name);
            }
        }
        self.set_request_patch(object);
    }

    /// A patch body, kept as sent from level `Request` on (`LogRequestPatch`).
    pub fn set_request_patch(&mut self, mut patch: Value) {
        if self.level >= Level::Request {
            if self.omit_managed_fields {
                strip_managed_fields(&mut patch);
            }
            self.request_object = Some(patch);
        }
    }

    /// The response body (`LogResponseObject`): a `Status` body becomes the response status;
    /// the body is kept at level `RequestResponse`.
    pub fn set_response_object(&mut self, mut object: Value) {
        if self.level == Level::None {
            return;
        }
        if object.get("kind").and_then(Value::as_str) == Some("Status") {
            if let Ok(status) = serde_json::from_value::<registry::Status>(object.clone()) {
                self.response_status = Some(ResponseStatus::from(&status));
            }
        }
        if self.level == Level::RequestResponse {
            if self.omit_managed_fields {
                strip_managed_fields(&mut object);
            }
            self.response_object = Some(object);
        }
    }

    /// Moves the event to `stage`, reached at `at`.
    pub fn set_stage(&mut self, stage: Stage, at: SystemTime) {
        self.stage = stage;
        self.stage_timestamp = at;
    }

    /// Sets the level, dropping the bodies it does not allow. Lowering is final: raising the
    /// level again does not bring dropped bodies back.
    pub fn apply_level(&mut self, level: Level) {
        self.level = level;
        if level < Level::Request {
            self.request_object = None;
        }
        if level < Level::RequestResponse {
            self.response_object = None;
        }
    }

    pub fn level(&self) -> Level {
        self.level
    }

    /// Whether the event is written at its current stage: its level is not `None` and the
    /// policy does not omit the stage.
    pub fn records(&self) -> bool {
        self.level > Level::None && !self.omit_stages.contains(&self.stage)
    }

    pub fn request_object(&self) -> Option<&Value> {
        self.request_object.as_ref()
    }

    pub fn response_object(&self) -> Option<&Value> {
        self.response_object.as_ref()
    }
}

/// Drops `metadata.managedFields` from an object, the items of a list, or the rows of a
/// table (`copyWithoutManagedFields`).
fn strip_managed_fields(object: &mut Value) {
    fn strip(object: &mut Value) {
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("managedFields");
        }
    }
    strip(object);
    if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(strip);
    }
    if let Some(rows) = object.get_mut("rows").and_then(Value::as_array_mut) {
        rows.iter_mut()
            .filter_map(|row| row.get_mut("object"))
            .for_each(strip);
    }
}

/// `metav1.MicroTime`: RFC 3339 in UTC with six fractional digits,
/// `2006-01-02T15:04:05.000000Z`.
pub fn format_micro_time(at: SystemTime) -> String {
    let micros: i128 = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_micros() as i128,
        Err(before) => -(before.duration().as_micros() as i128),
    };
    let seconds = registry::time::format_time(micros.div_euclid(1_000_000) as i64);
    let fraction = micros.rem_euclid(1_000_000);
    format!("{}.{fraction:06}Z", seconds.trim_end_matches('Z'))
}

/// Reads an RFC 3339 time to the microsecond; `None` when it is not one.
pub fn parse_micro_time(text: &str) -> Option<SystemTime> {
    let seconds = registry::time::parse_time(text)?;
    let digits: String = text
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .take(6)
        .collect();
    let fraction: i64 = format!("{digits:0<6}").parse().ok()?;
    let micros = seconds.checked_mul(1_000_000)?.checked_add(fraction)?;
    let offset = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

/// Serde for `SystemTime` fields written as [`format_micro_time`].
mod micro_time {
    use std::time::SystemTime;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_micro_time(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_micro_time(&text)
            .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// 2023-11-14T22:13:20.123456Z
    fn received() -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456)
    }

    fn decision(level: Level) -> Decision {
        Decision {
            level,
            ..Decision::default()
        }
    }

    /// A create of ClusterDeployment `web` in `kcm-system` by alice.
    fn create_event(level: Level) -> Event {
        let groups = vec!["devs".to_string(), "system:authenticated".into()];
        let attributes = Attributes {
            user: registry::authorizer::User::new("alice", groups),
            verb: "create".into(),
            resource_request: true,
            namespace: "kcm-system".into(),
            api_group: "fleet.k0rdent.io".into(),
            api_version: "v1alpha1".into(),
            resource: "clusterdeployments".into(),
            ..Attributes::default()
        };
        let mut event = Event::new("4f1c", decision(level), received());
        event.set_request(
            &attributes,
            "/apis/fleet.k0rdent.io/v1alpha1/namespaces/kcm-system/clusterdeployments?dryRun=All",
        );
        event
    }

    fn cluster_deployment() -> Value {
        json!({
            "apiVersion": "fleet.k0rdent.io/v1alpha1",
            "kind": "ClusterDeployment",
            "metadata": {"name": "web", "uid": "u-1", "resourceVersion": "7",
                         "managedFields": [{"manager": "kubectl"}]},
            "spec": {"template": "aws-1-0"},
        })
    }

    #[test]
    fn micro_times_have_six_fractional_digits_in_utc() {
        assert_eq!(format_micro_time(received()), "2023-11-14T22:13:20.123456Z");
        assert_eq!(format_micro_time(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let before = UNIX_EPOCH - Duration::from_micros(500_000);
        assert_eq!(format_micro_time(before), "1969-12-31T23:59:59.500000Z");
        assert_eq!(
            parse_micro_time("2023-11-14T22:13:20.123456Z"),
            Some(received())
        );
        assert_eq!(
            parse_micro_time("2023-11-14T23:13:20.123456+01:00"),
            Some(received())
        );
        assert_eq!(parse_micro_time("1969-12-31T23:59:59.5Z"), Some(before));
        assert_eq!(parse_micro_time("yesterday"), None);
    }

    #[test]
    fn a_minimal_event_has_only_the_required_fields() {
        let event = Event::new("id", decision(Level::Metadata), received());
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "level": "Metadata",
                "auditID": "id",
                "stage": "RequestReceived",
                "requestURI": "",
                "verb": "",
                "user": {},
                "requestReceivedTimestamp": "2023-11-14T22:13:20.123456Z",
                "stageTimestamp": "2023-11-14T22:13:20.123456Z",
            })
        );
    }

    #[test]
    fn a_complete_event_serializes_with_upstream_names_in_upstream_order() {
        let mut event = create_event(Level::RequestResponse);
        event.source_ips = vec!["10.0.0.1".into()];
        event.set_user_agent("kubectl/v1.33.0");
        event.set_request_object(cluster_deployment());
        event.response_status = Some(ResponseStatus::new(201));
        event.set_response_object(json!({"kind": "ClusterDeployment"}));
        event
            .annotations
            .insert("authorization.k8s.io/decision".into(), "allow".into());
        event.set_stage(
            Stage::ResponseComplete,
            received() + Duration::from_millis(5),
        );
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            concat!(
                r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","#,
                r#""auditID":"4f1c","stage":"ResponseComplete","#,
                r#""requestURI":"/apis/fleet.k0rdent.io/v1alpha1/namespaces/kcm-system/clusterdeployments?dryRun=All","#,
                r#""verb":"create","user":{"username":"alice","groups":["devs","system:authenticated"]},"#,
                r#""sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.33.0","#,
                r#""objectRef":{"resource":"clusterdeployments","namespace":"kcm-system","name":"web","#,
                r#""uid":"u-1","apiGroup":"fleet.k0rdent.io","apiVersion":"v1alpha1","resourceVersion":"7"},"#,
                r#""responseStatus":{"metadata":{},"code":201},"#,
                r#""requestObject":{"apiVersion":"fleet.k0rdent.io/v1alpha1","kind":"ClusterDeployment","#,
                r#""metadata":{"managedFields":[{"manager":"kubectl"}],"name":"web","resourceVersion":"7","uid":"u-1"},"#,
                r#""spec":{"template":"aws-1-0"}},"#,
                r#""responseObject":{"kind":"ClusterDeployment"},"#,
                r#""requestReceivedTimestamp":"2023-11-14T22:13:20.123456Z","#,
                r#""stageTimestamp":"2023-11-14T22:13:20.128456Z","#,
                r#""annotations":{"authorization.k8s.io/decision":"allow"}}"#,
            )
        );
    }

    #[test]
    fn an_event_reads_back_from_its_json() {
        let mut event = create_event(Level::Request);
        event.set_request_object(cluster_deployment());
        let line = serde_json::to_string(&event).unwrap();
        let read: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(read.request_object(), event.request_object());
        assert_eq!(read.request_received_timestamp, received());
        assert_eq!(serde_json::to_string(&read).unwrap(), line);
    }

    #[test]
    fn bodies_are_kept_only_as_far_as_the_level_allows() {
        let body = cluster_deployment();
        let cases = [
            (Level::Metadata, false, false),
            (Level::Request, true, false),
            (Level::RequestResponse, true, true),
        ];
        for (level, request, response) in cases {
            let mut event = create_event(level);
            event.set_request_object(body.clone());
            event.set_response_object(body.clone());
            assert_eq!(event.request_object().is_some(), request, "{level:?}");
            assert_eq!(event.response_object().is_some(), response, "{level:?}");
            // Every level above None learns the object's identity from the body.
            assert_eq!(event.object_ref.as_ref().unwrap().uid, "u-1");
        }

        let mut event = create_event(Level::RequestResponse);
        event.set_request_object(body.clone());
        event.set_response_object(body);
        event.apply_level(Level::Request);
        assert!(event.request_object().is_some() && event.response_object().is_none());
        event.apply_level(Level::Metadata);
        assert!(event.request_object().is_none());
        event.apply_level(Level::RequestResponse);
        assert!(event.request_object().is_none(), "lowering is final");
    }

    #[test]
    fn a_status_response_becomes_the_response_status() {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "clusterdeployments.fleet.k0rdent.io \"web\" not found",
            "reason": "NotFound", "details": {"name": "web", "kind": "clusterdeployments"},
            "code": 404,
        });
        let mut event = create_event(Level::Metadata);
        event.response_status = Some(ResponseStatus::new(404));
        event.set_response_object(status);
        assert_eq!(event.response_object(), None);
        assert_eq!(
            serde_json::to_value(event.response_status.unwrap()).unwrap(),
            json!({
                "metadata": {}, "status": "Failure",
                "message": "clusterdeployments.fleet.k0rdent.io \"web\" not found",
                "reason": "NotFound", "details": {"name": "web", "kind": "clusterdeployments"},
                "code": 404,
            })
        );
    }

    #[test]
    fn managed_fields_are_dropped_when_the_policy_says_so() {
        let decision = Decision {
            level: Level::RequestResponse,
            omit_managed_fields: true,
            ..Decision::default()
        };
        let mut event = Event::new("id", decision, received());
        event.set_request_object(cluster_deployment());
        event.set_response_object(json!({"kind": "List", "items": [cluster_deployment()]}));
        assert_eq!(
            event
                .request_object()
                .unwrap()
                .pointer("/metadata/managedFields"),
            None
        );
        let item = &event.response_object().unwrap()["items"][0];
        assert_eq!(item.pointer("/metadata/managedFields"), None);
        assert_eq!(item.pointer("/metadata/name"), Some(&json!("web")));
    }

    #[test]
    fn long_user_agents_are_truncated_and_marked() {
        let mut event = create_event(Level::Metadata);
        // Byte 1024 falls inside an "é": the cut moves back to the character before it.
        event.set_user_agent(&format!("a{}", "é".repeat(600)));
        assert!(event.user_agent.ends_with("é...TRUNCATED"));
        assert_eq!(event.user_agent.len(), 1023 + "...TRUNCATED".len());
        event.set_user_agent("kubectl");
        assert_eq!(event.user_agent, "kubectl");
    }

    #[test]
    fn an_event_is_recorded_only_at_stages_its_policy_keeps() {
        let omitting = Decision {
            level: Level::Metadata,
            omit_stages: vec![Stage::RequestReceived],
            ..Decision::default()
        };
        let mut event = Event::new("id", omitting, received());
        assert!(!event.records());
        event.set_stage(Stage::ResponseComplete, received());
        assert!(event.records());
        let mut none = Event::new("id", decision(Level::None), received());
        none.set_stage(Stage::ResponseComplete, received());
        assert!(!none.records());
    }
}
