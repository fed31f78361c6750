//! Privilege escalation through RBAC writes: a user may create or change a role, or bind one,
//! only if it already holds every permission granted — or may `escalate` (roles) or `bind`
//! (bindings), or is in `system:masters` (kube-apiserver
//! `pkg/registry/rbac/validation/policy_comparator.go` `Covers`, `rule.go`
//! `ConfirmNoEscalation`, `CompactRules`, and `pkg/apis/rbac/v1/helpers.go` `CompactString`).

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::Value;

use super::authorizer::PolicyRule;
use crate::admission::{Guarded, WriteGuard, Writer};
use crate::errors::{ApiError, Result};
use crate::field::go_quote;
use crate::resource::GroupResource;

/// The rules of a Role or ClusterRole object (its `rules`).
pub fn rules_of(object: &Value) -> Vec<PolicyRule> {
    object
        .get("rules")
        .and_then(|rules| serde_json::from_value(rules.clone()).ok())
        .unwrap_or_default()
}

/// The most single permissions an escalation check breaks rules down into.
const MAX_PERMISSIONS: usize = 100_000;

/// How many rules `breakdown` makes of `rule`.
fn breakdown_size(rule: &PolicyRule) -> usize {
    let names = rule.resource_names.len().max(1);
    let resources = rule
        .api_groups
        .len()
        .saturating_mul(rule.resources.len())
        .saturating_mul(rule.verbs.len())
        .saturating_mul(names);
    resources.saturating_add(
        rule.non_resource_urls
            .len()
            .saturating_mul(rule.verbs.len()),
    )
}

/// `BreakdownRule`: one rule per group × resource × verb (× name), and per URL × verb.
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |s: &String| vec![s.clone()];
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let base = PolicyRule {
                    api_groups: one(group),
                    resources: one(resource),
                    verbs: one(verb),
                    ..PolicyRule::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(base);
                } else {
                    for name in &rule.resource_names {
                        out.push(PolicyRule {
                            resource_names: one(name),
                            ..base.clone()
                        });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: one(url),
                verbs: one(verb),
                ..PolicyRule::default()
            });
        }
    }
    out
}

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

/// `resourceCoversAll`: `*`, exact names, or `*/subresource` for subresources.
fn resources_cover(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, "*") || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        has(owner, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

/// `nonResourceURLsCoversAll`: exact or a prefix ending in `*`.
fn urls_cover(owner: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|path| {
        owner
            .iter()
            .any(|o| o == path || (o.ends_with('*') && path.starts_with(o.trim_end_matches('*'))))
    })
}

/// `ruleCovers`.
fn covers_rule(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, "*") || has_all(&owner.api_groups, &sub.api_groups);
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs
        && groups
        && resources_cover(&owner.resources, &sub.resources)
        && names
        && urls_cover(&owner.non_resource_urls, &sub.non_resource_urls)
}

/// `Covers`: the broken-down parts of `wanted` that no rule of `owner` covers.
pub fn uncovered(owner: &[PolicyRule], wanted: &[PolicyRule]) -> Vec<PolicyRule> {
    wanted
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !owner.iter().any(|o| covers_rule(o, sub)))
        .collect()
}

/// `CompactRules`: simple rules (one group, one resource, at most one name, no URLs) with
/// the same target merge their verbs.
fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for rule in rules {
        let is_simple = rule.api_groups.len() == 1
            && rule.resources.len() == 1
            && rule.resource_names.len() <= 1
            && rule.non_resource_urls.is_empty();
        if !is_simple {
            out.push(rule);
            continue;
        }
        let same = simple.iter_mut().find(|s| {
            s.api_groups == rule.api_groups
                && s.resources == rule.resources
                && s.resource_names == rule.resource_names
        });
        match same {
            Some(existing) => existing.verbs.extend(rule.verbs),
            None => simple.push(rule),
        }
    }
    out.extend(simple);
    out
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn go_quoted(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[{}]", quoted.join(" "))
}

/// `PolicyRule.CompactString`: `{APIGroups:["g"], Resources:["r"], Verbs:["get"]}`.
pub fn compact_string(rule: &PolicyRule) -> String {
    let mut parts = Vec::new();
    for (label, values) in [
        ("APIGroups", &rule.api_groups),
        ("Resources", &rule.resources),
        ("NonResourceURLs", &rule.non_resource_urls),
        ("ResourceNames", &rule.resource_names),
        ("Verbs", &rule.verbs),
    ] {
        if !values.is_empty() {
            parts.push(format!("{label}:{}", go_quoted(values)));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// `ConfirmNoEscalation`'s message when `held` does not cover `wanted`; `None` when it does.
/// `errors` are the errors met resolving the user's own roles.
pub fn escalation(
    user: &str,
    groups: &[String],
    held: &[PolicyRule],
    wanted: &[PolicyRule],
    errors: &[String],
) -> Option<String> {
    // Upstream breaks every rule down into single permissions; a few kilobytes of rules can
    // name billions of them. Beyond a bound only full authority covers them.
    let size: usize = wanted
        .iter()
        .map(breakdown_size)
        .fold(0, usize::saturating_add);
    if size > MAX_PERMISSIONS {
        let all = PolicyRule {
            verbs: vec!["*".into()],
            api_groups: vec!["*".into()],
            resources: vec!["*".into()],
            ..PolicyRule::default()
        };
        if uncovered(held, std::slice::from_ref(&all)).is_empty() {
            return None;
        }
        return Some(format!(
            "user {user:?} (groups={}) is attempting to grant RBAC permissions not currently held: the rules name more than {MAX_PERMISSIONS} permissions, which only a user who may do everything can grant",
            go_quoted(groups)
        ));
    }
    let missing = uncovered(held, wanted);
    if missing.is_empty() {
        return None;
    }
    let lines: BTreeSet<String> = compact(missing).iter().map(compact_string).collect();
    let mut message = format!(
        "user {user:?} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        go_quoted(groups),
        lines.into_iter().collect::<Vec<_>>().join("\n")
    );
    if !errors.is_empty() {
        message.push_str(&format!("; resolution errors: [{}]", errors.join(" ")));
    }
    Some(message)
}

/// No privilege escalation through RBAC writes, the RBAC kinds' [`WriteGuard`]: a Role or
/// ClusterRole is written only by a writer who holds every permission it grants or may
/// `escalate` it; a binding only by one who holds the referenced role's permissions or may
/// `bind` it; `system:masters` always (kube-apiserver `pkg/registry/rbac/{role,clusterrole,
/// rolebinding,clusterrolebinding}/policybased/storage.go`, `pkg/registry/rbac/
/// escalation_check.go`).
#[derive(Debug, Clone, Copy)]
pub struct EscalationCheck;

#[async_trait]
impl WriteGuard for EscalationCheck {
    async fn check(&self, write: &Guarded<'_>) -> Result<()> {
        let Guarded {
            def,
            namespace,
            new,
            old,
            writer,
        } = *write;
        if writer.is_superuser() {
            return Ok(());
        }
        let namespace = def.scoped(namespace).unwrap_or_default();
        let name = crate::meta::name(new).unwrap_or_default();
        let resource = def.group_resource();
        // Writes that only touch what the garbage collector touches are no grant
        // (`IsOnlyMutatingGCFields`); every other update is checked, labels included (a label
        // can feed an aggregating role).
        if old.is_some_and(|old| only_gc_fields_differ(old, new)) {
            return Ok(());
        }
        match def.plural.as_str() {
            "roles" | "clusterroles" => {
                if writer.may("escalate", &resource, name, namespace).await {
                    return Ok(());
                }
                let aggregates = [Some(new), old]
                    .into_iter()
                    .flatten()
                    .any(|o| o.get("aggregationRule").is_some_and(|a| !a.is_null()));
                if aggregates {
                    return Err(ApiError::forbidden(
                        &resource,
                        name,
                        "must have cluster-admin privileges to use the aggregationRule",
                    ));
                }
                confirm(writer, &resource, name, namespace, &rules_of(new))
            }
            "rolebindings" | "clusterrolebindings" => {
                let kind = new["roleRef"]["kind"].as_str().unwrap_or_default();
                let role = new["roleRef"]["name"].as_str().unwrap_or_default();
                let plural = if kind == "Role" {
                    "roles"
                } else {
                    "clusterroles"
                };
                let role_resource = GroupResource::new(super::GROUP, plural);
                if writer.may("bind", &role_resource, role, namespace).await {
                    return Ok(());
                }
                let rules = match writer.role_reference_rules(kind, role, namespace) {
                    Some(Ok(rules)) => rules,
                    Some(Err(e)) => return Err(ApiError::forbidden(&resource, name, &e)),
                    // No mode keeps roles: nothing can be shown to be held.
                    None => Vec::new(),
                };
                confirm(writer, &resource, name, namespace, &rules)
            }
            _ => Ok(()),
        }
    }
}

/// Whether `new` differs from `old` only in `metadata.ownerReferences` and
/// `metadata.finalizers` (and what the server sets on every write).
fn only_gc_fields_differ(old: &Value, new: &Value) -> bool {
    let strip = |object: &Value| {
        let mut object = object.clone();
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "ownerReferences",
                "finalizers",
                "resourceVersion",
                "managedFields",
                "generation",
            ] {
                metadata.remove(field);
            }
        }
        object
    };
    strip(old) == strip(new)
}

/// `ConfirmNoEscalation`: 403 unless the writer holds every rule of `wanted` in `namespace`.
fn confirm(
    writer: &dyn Writer,
    resource: &GroupResource,
    name: &str,
    namespace: &str,
    wanted: &[PolicyRule],
) -> Result<()> {
    let (held, errors) = writer.rules_held(namespace);
    match escalation(writer.name(), writer.groups(), &held, wanted, &errors) {
        None => Ok(()),
        Some(message) => Err(ApiError::forbidden(resource, name, &message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(value: Value) -> Vec<PolicyRule> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn held_rules_cover_what_they_grant_and_no_more() {
        let held = rules(json!([
            {"apiGroups": ["fleet.k0rdent.io"], "resources": ["clusterdeployments", "*/status"], "verbs": ["get", "list", "create"]},
            {"nonResourceURLs": ["/apis/*"], "verbs": ["get"]},
        ]));
        let fine = rules(json!([
            {"apiGroups": ["fleet.k0rdent.io"], "resources": ["clusterdeployments", "clusterdeployments/status"], "verbs": ["get"]},
            {"nonResourceURLs": ["/apis/fleet.k0rdent.io"], "verbs": ["get"]},
        ]));
        assert!(uncovered(&held, &fine).is_empty());
        let more = rules(json!([
            {"apiGroups": ["fleet.k0rdent.io"], "resources": ["credentials", "clusterdeployments"], "verbs": ["create", "delete"]},
        ]));
        let message = escalation("alice", &["team-a".into()], &held, &more, &[]).unwrap();
        assert_eq!(
            message,
            "user \"alice\" (groups=[\"team-a\"]) is attempting to grant RBAC permissions not currently held:\n\
             {APIGroups:[\"fleet.k0rdent.io\"], Resources:[\"clusterdeployments\"], Verbs:[\"delete\"]}\n\
             {APIGroups:[\"fleet.k0rdent.io\"], Resources:[\"credentials\"], Verbs:[\"create\" \"delete\"]}"
        );
    }

    #[test]
    fn enormous_rules_need_full_authority() {
        let many: Vec<String> = (0..100).map(|i| format!("x{i}")).collect();
        let huge = vec![PolicyRule {
            verbs: many.clone(),
            api_groups: many.clone(),
            resources: many,
            ..PolicyRule::default()
        }];
        let held =
            rules(json!([{"apiGroups": ["fleet.k0rdent.io"], "resources": ["*"], "verbs": ["*"]}]));
        let message = escalation("alice", &[], &held, &huge, &[]).unwrap();
        assert!(
            message.contains("more than 100000 permissions"),
            "{message}"
        );
        let all = rules(json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]));
        assert_eq!(escalation("root", &[], &all, &huge, &[]), None);
    }

    #[test]
    fn named_rules_need_the_names_or_every_name() {
        let held = rules(
            json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]}]),
        );
        let named = rules(
            json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"], "verbs": ["get"]}]),
        );
        let all =
            rules(json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]));
        assert!(uncovered(&held, &named).is_empty());
        assert_eq!(uncovered(&held, &all).len(), 1);
        let star = rules(json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]));
        assert!(uncovered(&star, &all).is_empty());
    }
}
