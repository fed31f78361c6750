//! Properties of apply over random small configurations of the fixture schema.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{content, deployment, op_at, schema, T0, T1, T2};
use crate::fieldmanager::{
    apply, ApplyError, FieldSet, ManagedFields, ManagedOperation, Path, Reset,
};

/// A configuration over some of: replicas, paused, args (atomic), tags (set, from `tags`),
/// containers (map-list, names from `names`), each with an image and maybe ports.
fn config(
    names: &'static [&'static str],
    tags: &'static [&'static str],
) -> impl Strategy<Value = Value> {
    let container = |name: &'static str| {
        (
            1..4u8,
            proptest::option::of(prop::sample::subsequence(vec![80, 443], 1..=2)),
        )
            .prop_map(move |(version, ports)| {
                let mut c = json!({"name": name, "image": format!("{name}:{version}")});
                if let Some(ports) = ports {
                    c["ports"] = ports
                        .into_iter()
                        .map(|p| json!({"containerPort": p}))
                        .collect();
                }
                c
            })
    };
    let containers = prop::sample::subsequence(names.to_vec(), 0..=names.len())
        .prop_flat_map(move |chosen| chosen.into_iter().map(container).collect::<Vec<_>>());
    (
        proptest::option::of(1..5i64),
        proptest::option::of(any::<bool>()),
        proptest::option::of(prop::collection::vec("[a-c]", 0..3)),
        proptest::option::of(prop::sample::subsequence(tags.to_vec(), 0..=tags.len())),
        containers,
    )
        .prop_map(|(replicas, paused, args, tags, containers)| {
            let mut spec = Map::new();
            if let Some(replicas) = replicas {
                spec.insert("replicas".into(), json!(replicas));
            }
            if let Some(paused) = paused {
                spec.insert("paused".into(), json!(paused));
            }
            if let Some(args) = args {
                spec.insert("args".into(), json!(args));
            }
            if let Some(tags) = tags {
                spec.insert("tags".into(), json!(tags));
            }
            if !containers.is_empty() {
                spec.insert("containers".into(), Value::Array(containers));
            }
            deployment(Value::Object(spec))
        })
}

/// Like [`config`] but never setting replicas, paused or args: disjoint from an `a` config.
fn other_config() -> impl Strategy<Value = Value> {
    config(&["x", "y"], &["t3", "t4"]).prop_map(|mut c| {
        for field in ["replicas", "paused", "args"] {
            c["spec"].as_object_mut().unwrap().remove(field);
        }
        c
    })
}

fn run(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    time: &str,
    force: bool,
) -> Result<Value, ApplyError> {
    apply(
        Some(&schema()),
        Reset::None,
        live,
        config,
        &op_at(manager, time),
        force,
    )
}

fn applied(object: &Value, manager: &str) -> FieldSet {
    ManagedFields::from_object(object)
        .unwrap()
        .entry(manager, ManagedOperation::Apply)
        .map(|e| e.fields.clone())
        .unwrap_or_default()
}

fn config_fields(config: &Value) -> FieldSet {
    let set = FieldSet::from_object(config, Some(&schema())).unwrap();
    let meta: Vec<Path> = ["apiVersion", "kind"]
        .iter()
        .map(|f| Path::fields(&[f]))
        .chain([
            Path::fields(&["metadata", "name"]),
            Path::fields(&["metadata", "namespace"]),
        ])
        .collect();
    set.difference(&FieldSet::from_paths(&meta))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn reapplying_the_same_configuration_is_a_no_op(
        first in config(&["a", "b"], &["t1", "t2"]),
        second in config(&["a", "b"], &["t1", "t2"]),
    ) {
        let live = run(None, &first, "alice", T0, false).unwrap();
        let live = run(Some(&live), &second, "alice", T1, false).unwrap();
        // An object left without managed fields is first owned by before-first-apply.
        prop_assume!(!ManagedFields::from_object(&live).unwrap().is_empty());
        let again = run(Some(&live), &second, "alice", T2, false).unwrap();
        prop_assert_eq!(again, live);
    }

    #[test]
    fn managers_applying_disjoint_fields_never_conflict_and_both_keep_theirs(
        a1 in config(&["a", "b"], &["t1", "t2"]),
        b1 in other_config(),
        a2 in config(&["a", "b"], &["t1", "t2"]),
    ) {
        let live = run(None, &a1, "alice", T0, false).unwrap();
        let live = run(Some(&live), &b1, "bob", T1, false).unwrap();
        let live = run(Some(&live), &a2, "alice", T2, false).unwrap();
        prop_assert_eq!(applied(&live, "alice"), config_fields(&a2));
        prop_assert_eq!(applied(&live, "bob"), config_fields(&b1));
        // Each manager's values are in the object.
        let object = content(&live);
        for config in [&a2, &b1] {
            for field in ["replicas", "paused", "args"] {
                if let Some(value) = config["spec"].get(field) {
                    prop_assert_eq!(&object["spec"][field], value);
                }
            }
            for container in config["spec"]["containers"].as_array().into_iter().flatten() {
                let found = object["spec"]["containers"].as_array().unwrap().iter()
                    .find(|c| c["name"] == container["name"]).cloned();
                prop_assert_eq!(found, Some(container.clone()));
            }
            for tag in config["spec"]["tags"].as_array().into_iter().flatten() {
                prop_assert!(object["spec"]["tags"].as_array().unwrap().contains(tag));
            }
        }
    }

    #[test]
    fn force_moves_ownership_of_conflicting_fields(
        base in config(&["a"], &["t1"]),
        replicas in 10..20i64,
    ) {
        let mut first = base.clone();
        first["spec"]["replicas"] = json!(1);
        let live = run(None, &first, "alice", T0, false).unwrap();
        let second = deployment(json!({"replicas": replicas}));
        let error = run(Some(&live), &second, "bob", T1, false);
        let Err(ApplyError::Conflicts(conflicts)) = error else {
            return Err(TestCaseError::fail(format!("expected a conflict, got {error:?}")));
        };
        prop_assert_eq!(conflicts.0.len(), 1);
        prop_assert_eq!(conflicts.0[0].field(), ".spec.replicas");
        prop_assert_eq!(&conflicts.0[0].manager, "alice");

        let forced = run(Some(&live), &second, "bob", T1, true).unwrap();
        let path = Path::fields(&["spec", "replicas"]);
        prop_assert!(applied(&forced, "bob").has(&path.0));
        prop_assert!(!applied(&forced, "alice").has(&path.0));
        prop_assert_eq!(&forced["spec"]["replicas"], &json!(replicas));
        // Everything else alice applied is still hers.
        prop_assert_eq!(
            applied(&forced, "alice"),
            config_fields(&first).difference(&FieldSet::from_paths([&path]))
        );
    }

    #[test]
    fn fields_only_the_applier_owned_go_and_shared_ones_stay(
        first in config(&["a", "b"], &["t1", "t2"]),
        second in config(&["a", "b"], &["t1", "t2"]),
        share_replicas in any::<bool>(),
    ) {
        let live = run(None, &first, "alice", T0, false).unwrap();
        // bob shares replicas (same value) when asked to.
        let live = match first["spec"].get("replicas") {
            Some(r) if share_replicas => {
                run(Some(&live), &deployment(json!({"replicas": r})), "bob", T1, false).unwrap()
            }
            _ => live,
        };
        // Forced: a changed replicas bob shares would conflict.
        let next = run(Some(&live), &second, "alice", T2, true).unwrap();
        let object = content(&next);
        let spec = &object["spec"];
        for field in ["paused", "args"] {
            if second["spec"].get(field).is_none() {
                prop_assert_eq!(spec.get(field), None);
            }
        }
        if second["spec"].get("replicas").is_none() {
            let bob_owns = share_replicas && first["spec"].get("replicas").is_some();
            prop_assert_eq!(spec.get("replicas"), if bob_owns { first["spec"].get("replicas") } else { None });
        }
        let names = |c: &Value| -> Vec<Value> {
            c["spec"]["containers"].as_array().into_iter().flatten().map(|c| c["name"].clone()).collect()
        };
        prop_assert_eq!(names(&object), names(&second));
        let tags: Vec<Value> = spec["tags"].as_array().cloned().unwrap_or_default();
        let expected: Vec<Value> = second["spec"]["tags"].as_array().cloned().unwrap_or_default();
        let mut tags_sorted = tags.iter().map(Value::to_string).collect::<Vec<_>>();
        tags_sorted.sort();
        let mut expected_sorted = expected.iter().map(Value::to_string).collect::<Vec<_>>();
        expected_sorted.sort();
        prop_assert_eq!(tags_sorted, expected_sorted);
        prop_assert_eq!(applied(&next, "alice"), config_fields(&second));
    }
}

#[test]
fn an_empty_set_owns_nothing_so_no_entry_is_recorded() {
    let live = run(None, &deployment(json!({"tags": []})), "alice", T0, false).unwrap();
    assert_eq!(applied(&live, "alice"), FieldSet::new());
}
