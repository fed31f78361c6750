//! The exact-422 case tables of the fleet kinds' suites: each case a write that must be refused
//! with 422 `Invalid` naming its object and exactly its causes (reason, field, message, in
//! order), and nothing stored — the storage revision and the object unchanged
//! (k8s.io/apimachinery `pkg/api/errors.NewInvalid`, `pkg/util/validation/field/errors.go`).

use serde_json::Value;

use super::{list_revision, send_ok, Raw, GROUP};

/// The reasons of `field.Error`s, as a cause names them.
pub const REQUIRED: &str = "FieldValueRequired";
pub const INVALID: &str = "FieldValueInvalid";
pub const DUPLICATE: &str = "FieldValueDuplicate";
pub const FORBIDDEN: &str = "FieldValueForbidden";
pub const NOT_SUPPORTED: &str = "FieldValueNotSupported";

/// The stored object that update and status cases write (the suite creates it first); a
/// create case writes `case-<i>`, `i` being its place in the table.
pub const BASE: &str = "base";

/// A resource a case table writes to.
pub trait Resource: Copy {
    /// The kind, as a Status names it (`ClusterDeployment`).
    fn name(self) -> &'static str;
    /// The collection new objects are posted to.
    fn collection(self) -> &'static str;
    /// A new object `name` with `spec`.
    fn object(self, name: &str, spec: Value) -> Value;
    /// Applies an update case's `change` to the stored `spec`: by default the change's
    /// top-level fields replace the spec's.
    fn change_spec(self, spec: &mut Value, change: Value) {
        for (key, value) in change.as_object().expect("a spec patch") {
            spec[key] = value.clone();
        }
    }
    /// The path of the object `name`.
    fn path(self, name: &str) -> String {
        format!("{}/{name}", self.collection())
    }
}

/// What a case writes.
pub enum Write<R> {
    /// POST of a new object `case-<i>` with this spec.
    Create(R, Value),
    /// POST of a new object with this name and spec.
    CreateNamed(R, &'static str, Value),
    /// PUT of the stored [`BASE`] with its spec changed ([`Resource::change_spec`]).
    Update(R, Value),
    /// PUT of the stored [`BASE`]'s `/status` with this status.
    Status(R, Value),
}

/// A cause of a 422 Status: (reason, field, message).
type Cause = (String, String, String);

/// One refused write and the causes it must answer, in order.
pub struct Case<R> {
    what: &'static str,
    write: Write<R>,
    causes: Vec<Cause>,
}

/// A case: `what` it is, its write, and its causes as (reason, field, message).
pub fn case<R>(what: &'static str, write: Write<R>, causes: &[(&str, &str, &str)]) -> Case<R> {
    Case {
        what,
        write,
        causes: causes
            .iter()
            .map(|(r, f, m)| ((*r).to_owned(), (*f).to_owned(), (*m).to_owned()))
            .collect(),
    }
}

/// The stored object `name` of `resource` with its spec changed as an update case changes
/// it: a PUT body.
pub async fn with_spec_change<R: Resource>(
    client: &kube::Client,
    resource: R,
    name: &str,
    change: Value,
) -> Value {
    let mut object = send_ok(client, Raw::get(&resource.path(name)), 200).await;
    resource.change_spec(&mut object["spec"], change);
    object
}

/// Sends the write of every case, in order, and checks that each is refused exactly and
/// writes nothing.
pub async fn assert_each_refused<R: Resource>(client: &kube::Client, cases: Vec<Case<R>>) {
    for (i, case) in cases.into_iter().enumerate() {
        let (resource, request, name) = request(client, case.write, i).await;
        assert_refused(client, case.what, &case.causes, request, resource, &name).await;
    }
}

/// The request of the `i`-th case's write, its resource and the name of the object it writes.
async fn request<R: Resource>(
    client: &kube::Client,
    write: Write<R>,
    i: usize,
) -> (R, Raw, String) {
    match write {
        Write::Create(resource, spec) => {
            let name = format!("case-{i}");
            let object = resource.object(&name, spec);
            (
                resource,
                Raw::post(resource.collection()).json(&object),
                name,
            )
        }
        Write::CreateNamed(resource, name, spec) => {
            let object = resource.object(name, spec);
            let request = Raw::post(resource.collection()).json(&object);
            (resource, request, name.to_owned())
        }
        Write::Update(resource, change) => {
            let body = with_spec_change(client, resource, BASE, change).await;
            let request = Raw::put(&resource.path(BASE)).json(&body);
            (resource, request, BASE.to_owned())
        }
        Write::Status(resource, status) => {
            let mut body = send_ok(client, Raw::get(&resource.path(BASE)), 200).await;
            body["status"] = status;
            let path = format!("{}/status", resource.path(BASE));
            (resource, Raw::put(&path).json(&body), BASE.to_owned())
        }
    }
}

/// Sends `request`, which writes the object `name` of `resource`: 422 `Invalid` naming that
/// object with exactly `causes`, the storage revision unchanged, and the object as it was
/// (or still absent).
async fn assert_refused<R: Resource>(
    client: &kube::Client,
    what: &str,
    causes: &[Cause],
    request: Raw,
    resource: R,
    name: &str,
) {
    let path = resource.path(name);
    let before_object = Raw::get(&path).send(client).await;
    let before = list_revision(client).await;
    let reply = request.send(client).await;
    let after = list_revision(client).await;
    assert_eq!(reply.status, 422, "{what}: {}", reply.text());
    let status = reply.json();
    assert_eq!(status["reason"], "Invalid", "{what}: {status}");
    let prefix = format!("{}.{GROUP} {name:?} is invalid: ", resource.name());
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&prefix), "{what}: {message}");
    assert_eq!(status["details"]["name"], name, "{what}: {status}");
    assert_eq!(
        status["details"]["kind"],
        resource.name(),
        "{what}: {status}"
    );
    let answered: Vec<Cause> = status["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (text("reason"), text("field"), text("message"))
        })
        .collect();
    assert_eq!(answered, causes, "{what}");
    assert_eq!(before, after, "{what}: the storage revision moved");
    let after_object = Raw::get(&path).send(client).await;
    assert_eq!(after_object.status, before_object.status, "{what}");
    assert_eq!(
        after_object.body, before_object.body,
        "{what}: the object changed"
    );
}
