//! What kube-apiserver v1.33 answers to writes with invalid object metadata, written out from
//! its sources rather than read from the server under test: the case table of creates, the
//! causes of an update, the 422 `Status` (k8s.io/apimachinery `pkg/api/errors.NewInvalid`,
//! `pkg/util/validation/field/errors.go` `ToAggregate`), and how kubectl prints it
//! (k8s.io/kubectl `pkg/cmd/util/helpers.go` `checkErr`).
//!
//! Which rules run, and how often, depends on who serves a kind upstream:
//! - a custom resource (the fleet kinds): k8s.io/apiextensions-apiserver
//!   `pkg/registry/customresource/validator.go` — `ValidateObjectMetaAccessor` with
//!   `NameIsDNSSubdomain` on create; on update `rest.BeforeUpdate`'s `validateCommonFields`
//!   (`ValidateObjectMetaAccessor` with path-segment names, `ValidateObjectMetaAccessorUpdate`)
//!   and the validator's `ValidateObjectMetaAccessorUpdate`: a bad label is three causes;
//! - a built-in RBAC kind: k8s.io/kubernetes `pkg/apis/rbac/validation/validation.go` with
//!   `pkg/apis/core/validation`'s `ValidateObjectMeta`, which adds `validateKubeFinalizerName`
//!   (a finalizer without a `/` must be a standard one) to apimachinery's checks. On update
//!   `pkg/registry/rbac/*/strategy.go` (v1.33) run `ValidateRole` and then
//!   `ValidateRoleUpdate`, which runs `ValidateRole` again (kubernetes#132550 removed the
//!   repeat after v1.33): with `validateCommonFields`, a bad label is five causes.
//!
//! The message of a 422 lists each distinct error once; kubectl prints each distinct cause once.

use serde_json::{json, Value};

/// `RegexError` of a qualified name's name part (k8s.io/apimachinery
/// `pkg/util/validation/validation.go`; the double spaces are upstream's).
pub const QUALIFIED: &str = "must consist of alphanumeric characters, '-', '_' or '.', and \
    must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
    '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
/// `RegexError` of a DNS-1123 subdomain (`NameIsDNSSubdomain`).
pub const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
    alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character \
    (e.g. 'example.com', regex used for validation is \
    '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
/// `validateKubeFinalizerName` (k8s.io/kubernetes `pkg/apis/core/validation`).
pub const NOT_QUALIFIED_FINALIZER: &str =
    "name is neither a standard finalizer name nor is it fully qualified";
/// The characters `names.SimpleNameGenerator` appends (k8s.io/apimachinery `util/rand`), five.
pub const NAME_SUFFIX_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";
const NAME_SUFFIX_LEN: usize = 5;
/// The field manager of the test's writes.
pub const MANAGER: &str = "metadata-test";

const INVALID: &str = "FieldValueInvalid";
const TOO_LONG: &str = "FieldValueTooLong";

/// Who serves a kind upstream, which decides its name rules and how often metadata is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// By apiextensions-apiserver, from a CustomResourceDefinition.
    CustomResource,
    /// By kube-apiserver's own registry (the RBAC kinds).
    BuiltIn,
}

impl Served {
    /// The fleet kinds are custom resources upstream; the RBAC kinds are built in.
    pub fn of_group(group: &str) -> Served {
        if group == "rbac.authorization.k8s.io" {
            Served::BuiltIn
        } else {
            Served::CustomResource
        }
    }

    /// The problems of a name or a `generateName` under the kind's rules, for the few the
    /// cases use (no trailing dash to mask, no dots): `NameIsDNSSubdomain`, or RBAC's
    /// `ValidateRBACName` (`path.IsValidPathSegmentName`, which ignores `prefix`).
    fn name_problems(self, name: &str) -> Vec<String> {
        match self {
            Served::CustomResource => {
                let lowercase = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
                if name.chars().all(lowercase) {
                    Vec::new()
                } else {
                    vec![SUBDOMAIN.to_owned()]
                }
            }
            Served::BuiltIn => ["/", "%"]
                .iter()
                .filter(|c| name.contains(*c))
                .map(|c| format!("may not contain '{c}'"))
                .collect(),
        }
    }

    /// How many times an update checks the new object's labels (see the module docs).
    fn label_checks_on_update(self) -> usize {
        match self {
            Served::CustomResource => 3,
            Served::BuiltIn => 5,
        }
    }
}

/// One cause of a 422 `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    reason: &'static str,
    field: String,
    message: String,
}

impl Cause {
    /// `field.Invalid(field, value, detail)` of a string value (`%q`; ASCII here).
    fn invalid(field: &str, value: &str, detail: &str) -> Cause {
        Cause {
            reason: INVALID,
            field: field.to_owned(),
            message: format!("Invalid value: {value:?}: {detail}"),
        }
    }

    /// `field.Invalid` of a value printed as Go prints it (`%#v` of a struct or a slice).
    fn invalid_raw(field: &str, printed: &str, detail: &str) -> Cause {
        Cause {
            reason: INVALID,
            field: field.to_owned(),
            message: format!("Invalid value: {printed}: {detail}"),
        }
    }

    /// `field.TooLong(field, "", max)`.
    fn too_long(field: &str, max: usize) -> Cause {
        Cause {
            reason: TOO_LONG,
            field: field.to_owned(),
            message: format!("Too long: may not be more than {max} bytes"),
        }
    }

    /// As the cause appears in a message: `field: message`.
    fn line(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }

    fn json(&self) -> Value {
        json!({"reason": self.reason, "message": self.message, "field": self.field})
    }
}

/// What a create case must answer.
#[derive(Debug)]
pub enum Expect {
    /// 422 with these causes, in order; nothing stored.
    Refused(Vec<Cause>),
    /// 201 with these `Warning` headers, and the created object's metadata field `field`
    /// equal to `stored` (`managedFields` entries as their manager and operation).
    Accepted {
        field: &'static str,
        stored: Value,
        warnings: Vec<String>,
    },
}

impl Expect {
    fn accepted(field: &'static str, stored: Value) -> Expect {
        Expect::Accepted {
            field,
            stored,
            warnings: Vec::new(),
        }
    }
}

/// A create of a new object whose metadata differs from the valid fixture's.
pub struct CreateCase {
    pub what: &'static str,
    /// Merged into the fixture's `metadata`; a `null` removes the field.
    pub metadata: Value,
    /// The answer for a kind served as `Served`, given the name the object got (a generated
    /// one when the case sends no name).
    pub expect: fn(Served, &str) -> Expect,
}

/// A label value of 93 characters.
pub fn long_label_value() -> String {
    "x".repeat(93)
}

/// The cause of the label value of [`long_label_value`].
pub fn long_label_value_cause() -> Cause {
    Cause::invalid(
        "metadata.labels",
        &long_label_value(),
        "must be no more than 63 characters",
    )
}

/// The cause of the label key `-bad`.
pub fn bad_label_key_cause() -> Cause {
    Cause::invalid("metadata.labels", "-bad", &format!("name part {QUALIFIED}"))
}

/// Valid metadata beyond a name: domain-qualified labels and finalizers, annotations with
/// upper case in a key (allowed in annotations), an empty label value.
pub fn valid_metadata() -> Value {
    json!({
        "labels": {"app.kubernetes.io/name": "web", "example.com/tier": "gold", "empty": ""},
        "annotations": {"Example.COM/Note": "anything at all: ✓", "example.com/size": "3"},
        "finalizers": ["example.com/hold", "fleet.k0rdent.io/cleanup"],
    })
}

/// Go's `%#v` of a `metav1.OwnerReference` with a set `Controller`; `ADDRESS` stands for the
/// address of the `*bool`, which differs on every request upstream (see [`mask_addresses`]).
fn owner_go(kind: &str, name: &str, uid: &str) -> String {
    format!(
        "v1.OwnerReference{{APIVersion:\"fleet.k0rdent.io/v1alpha1\", Kind:\"{kind}\", \
         Name:\"{name}\", UID:\"{uid}\", Controller:(*bool)(ADDRESS), \
         BlockOwnerDeletion:(*bool)(nil)}}"
    )
}

/// Every `(*bool)(0x…)` of `text` written `(*bool)(ADDRESS)`: Go prints a pointer's address.
pub fn mask_addresses(text: &str) -> String {
    const POINTER: &str = "(*bool)(0x";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(POINTER) {
        out.push_str(&rest[..at]);
        let after = &rest[at + POINTER.len()..];
        let digits = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_hexdigit())
                .len();
        match after[digits..].strip_prefix(')') {
            Some(tail) if digits > 0 => {
                out.push_str("(*bool)(ADDRESS)");
                rest = tail;
            }
            _ => {
                out.push_str(POINTER);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `name` is `base` followed by what `SimpleNameGenerator` appends.
pub fn is_generated_from(name: &str, base: &str) -> bool {
    name.strip_prefix(base).is_some_and(|suffix| {
        suffix.len() == NAME_SUFFIX_LEN && suffix.chars().all(|c| NAME_SUFFIX_ALPHABET.contains(c))
    })
}

fn refused(causes: Vec<Cause>) -> Expect {
    Expect::Refused(causes)
}

/// The creates of the sweep, each a metadata change of the kind's valid fixture.
pub fn create_cases() -> Vec<CreateCase> {
    vec![
        CreateCase {
            what: "a label value of 93 characters",
            metadata: json!({"labels": {"env": long_label_value()}}),
            expect: |_, _| refused(vec![long_label_value_cause()]),
        },
        CreateCase {
            what: "a label key starting with a dash",
            metadata: json!({"labels": {"-bad": "x"}}),
            expect: |_, _| refused(vec![bad_label_key_cause()]),
        },
        CreateCase {
            what: "an annotation key with two slashes",
            metadata: json!({"annotations": {"x/y/z": "v"}}),
            expect: |_, _| {
                let detail = format!(
                    "a qualified name {QUALIFIED} with an optional DNS subdomain prefix and \
                     '/' (e.g. 'example.com/MyName')"
                );
                refused(vec![Cause::invalid(
                    "metadata.annotations",
                    "x/y/z",
                    &detail,
                )])
            },
        },
        CreateCase {
            what: "an annotation of 300 KiB",
            metadata: json!({"annotations": {"example.com/big": "x".repeat(300 * 1024)}}),
            expect: |_, _| refused(vec![Cause::too_long("metadata.annotations", 256 * 1024)]),
        },
        CreateCase {
            what: "a finalizer with a space",
            metadata: json!({"finalizers": ["bad finalizer"]}),
            expect: |served, _| {
                let field = "metadata.finalizers";
                let mut causes = vec![Cause::invalid(
                    field,
                    "bad finalizer",
                    &format!("name part {QUALIFIED}"),
                )];
                if served == Served::BuiltIn {
                    let at = "metadata.finalizers[0]";
                    causes.push(Cause::invalid(at, "bad finalizer", NOT_QUALIFIED_FINALIZER));
                }
                refused(causes)
            },
        },
        CreateCase {
            what: "a finalizer without a domain (a warning for custom resources)",
            metadata: json!({"finalizers": ["hold"]}),
            expect: |served, _| match served {
                Served::CustomResource => Expect::Accepted {
                    field: "finalizers",
                    stored: json!(["hold"]),
                    warnings: vec![warning(
                        "metadata.finalizers: \"hold\": prefer a domain-qualified finalizer \
                         name to avoid accidental conflicts with other finalizer writers",
                    )],
                },
                Served::BuiltIn => refused(vec![Cause::invalid(
                    "metadata.finalizers[0]",
                    "hold",
                    NOT_QUALIFIED_FINALIZER,
                )]),
            },
        },
        CreateCase {
            what: "an owner reference with every field empty",
            metadata: json!({"ownerReferences": [
                {"apiVersion": "", "kind": "", "name": "", "uid": ""},
            ]}),
            expect: |_, _| {
                let path = "metadata.ownerReferences";
                refused(
                    [
                        ("apiVersion", "version"),
                        ("kind", "kind"),
                        ("name", "name"),
                        ("uid", "uid"),
                    ]
                    .iter()
                    .map(|(field, what)| {
                        let detail = format!("{what} must not be empty");
                        Cause::invalid(&format!("{path}.{field}"), "", &detail)
                    })
                    .collect(),
                )
            },
        },
        CreateCase {
            what: "two owner references that are both the controller",
            metadata: json!({"ownerReferences": [
                {"apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ClusterTemplate",
                 "name": "a", "uid": "1", "controller": true},
                {"apiVersion": "fleet.k0rdent.io/v1alpha1", "kind": "ServiceTemplate",
                 "name": "b", "uid": "2", "controller": true},
            ]}),
            expect: |_, _| {
                let list = format!(
                    "[]v1.OwnerReference{{{}, {}}}",
                    owner_go("ClusterTemplate", "a", "1"),
                    owner_go("ServiceTemplate", "b", "2")
                );
                refused(vec![Cause::invalid_raw(
                    "metadata.ownerReferences",
                    &list,
                    "Only one reference can have Controller set to true. Found \"true\" in \
                     references for ClusterTemplate/a and ServiceTemplate/b",
                )])
            },
        },
        CreateCase {
            what: "an invalid generateName and no name: Bad_",
            metadata: json!({"name": null, "generateName": "Bad_"}),
            expect: generate_name_causes,
        },
        CreateCase {
            what: "an invalid generateName and no name: bad/",
            metadata: json!({"name": null, "generateName": "bad/"}),
            expect: generate_name_causes,
        },
        CreateCase {
            // Upstream's field manager cannot decode the entry, so it starts from the live
            // object's (none) and records the request's own (`decodeLiveOrNew`,
            // k8s.io/apimachinery `pkg/util/managedfields/internal/fieldmanager.go`): the
            // object is created and `ValidateManagedFields` never sees `Replace`.
            what: "a managedFields entry with operation Replace",
            metadata: json!({"managedFields": [{
                "manager": "someone", "operation": "Replace",
                "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {},
            }]}),
            expect: |_, _| {
                let entries = json!([{"manager": MANAGER, "operation": "Update"}]);
                Expect::accepted("managedFields", entries)
            },
        },
        CreateCase {
            // An entry the field manager decodes and keeps (its field is not in the object, so
            // the create takes nothing from it; untimed, it sorts first), which
            // `ValidateManagedFields` then refuses.
            what: "a managedFields entry with a manager of 129 bytes",
            metadata: json!({"managedFields": [{
                "manager": "m".repeat(129), "operation": "Update",
                "apiVersion": "fleet.k0rdent.io/v1alpha1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {"f:gone": {}}}},
            }]}),
            expect: |_, _| {
                refused(vec![Cause::too_long(
                    "metadata.managedFields[0].manager",
                    128,
                )])
            },
        },
    ]
}

/// A `generateName` the kind's rules refuse (or, for `Bad_` under RBAC's path-segment rules,
/// accept): causes for it and for the name generated from it (`rest.BeforeCreate` generates
/// the name before validating).
fn generate_name_causes(served: Served, name: &str) -> Expect {
    let base = &name[..name.len().saturating_sub(NAME_SUFFIX_LEN)];
    let mut causes: Vec<Cause> = served
        .name_problems(base)
        .iter()
        .map(|p| Cause::invalid("metadata.generateName", base, p))
        .collect();
    causes.extend(
        served
            .name_problems(name)
            .iter()
            .map(|p| Cause::invalid("metadata.name", name, p)),
    );
    if causes.is_empty() {
        Expect::accepted("generateName", json!(base))
    } else {
        refused(causes)
    }
}

/// The causes of an update (PUT or patch) that adds the label key `-bad`.
pub fn bad_label_update_causes(served: Served) -> Vec<Cause> {
    vec![bad_label_key_cause(); served.label_checks_on_update()]
}

/// A `Warning` header of `text` (k8s.io/apiserver `pkg/warning`: code 299, agent `-`, the
/// text as an RFC 7230 quoted string).
pub fn warning(text: &str) -> String {
    let quoted = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("299 - \"{quoted}\"")
}

/// The distinct lines of `causes`, in order (`ErrorList.ToAggregate`, kubectl's
/// `statusCausesToAggrError`).
fn distinct_lines(causes: &[Cause]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in causes.iter().map(Cause::line) {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// The whole 422 `Status` of `causes` about object `name` of `kind` in `group`.
pub fn invalid_status(kind: &str, group: &str, name: &str, causes: &[Cause]) -> Value {
    let lines = distinct_lines(causes);
    let aggregate = match lines.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("{kind}.{group} {name:?} is invalid: {aggregate}"),
        "reason": "Invalid",
        "details": {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": causes.iter().map(Cause::json).collect::<Vec<_>>(),
        },
        "code": 422,
    })
}

/// What kubectl writes to stderr for that 422: `The <Kind> "<name>" is invalid: ` and the one
/// distinct cause, or a line per distinct cause (`MultilineError`).
pub fn kubectl_invalid(kind: &str, name: &str, causes: &[Cause]) -> String {
    let prefix = format!("The {kind} {name:?} is invalid: ");
    match distinct_lines(causes).as_slice() {
        [one] => format!("{prefix}{one}\n"),
        many => {
            let lines: String = many.iter().map(|l| format!("* {l}\n")).collect();
            format!("{prefix}\n{lines}")
        }
    }
}

#[test]
fn go_pointer_addresses_are_masked_and_nothing_else() {
    assert_eq!(
        mask_addresses("a (*bool)(0xc000a1b2c3), b (*bool)(nil), c (*bool)(0x)"),
        "a (*bool)(ADDRESS), b (*bool)(nil), c (*bool)(0x)"
    );
}

#[test]
fn kubectl_prints_each_distinct_cause_once() {
    let one = bad_label_update_causes(Served::BuiltIn);
    assert_eq!(
        kubectl_invalid("Role", "base", &one),
        format!("The Role \"base\" is invalid: metadata.labels: Invalid value: \"-bad\": name part {QUALIFIED}\n")
    );
    let two = [Cause::invalid("a", "x", "p"), Cause::invalid("b", "y", "q")];
    assert_eq!(
        kubectl_invalid("K", "n", &two),
        "The K \"n\" is invalid: \n* a: Invalid value: \"x\": p\n* b: Invalid value: \"y\": q\n"
    );
}
