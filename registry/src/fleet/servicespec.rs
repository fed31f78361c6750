//! What ClusterDeployment and MultiClusterService `services` share: names are unique,
//! `dependsOn` names other services of the same list, and the dependencies form no cycle.
//! The per-field checks stay with each kind.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::field::{go_strings, FieldError};

/// How many dependency cycles one write reports.
const MAX_CYCLES: usize = 10;
/// How many names a reported cycle shows.
const MAX_CHAIN: usize = 20;

/// The string items of an array, with their indices.
fn strings(value: &Value) -> impl Iterator<Item = (usize, &str)> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
}

/// Duplicate names, bad `dependsOn` entries and dependency cycles of the services `items`
/// at `path` (e.g. `spec.services`).
pub fn dependency_problems(items: &[Value], path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    // Index of each first occurrence of a name.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(name) = item["name"].as_str().filter(|n| !n.is_empty()) {
            if names.contains_key(name) {
                let at = format!("{path}[{i}].name");
                errors.push(FieldError::duplicate(&at, &json!(name)));
            } else {
                names.insert(name, i);
            }
        }
    }
    // Edges of the dependency graph, between first occurrences of names.
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for (i, item) in items.iter().enumerate() {
        let own = item["name"].as_str().unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (j, dependency) in strings(&item["dependsOn"]) {
            let at = format!("{path}[{i}].dependsOn[{j}]");
            if !seen.insert(dependency) {
                errors.push(FieldError::duplicate(&at, &json!(dependency)));
            } else if dependency == own {
                errors.push(FieldError::invalid(
                    &at,
                    &json!(dependency),
                    "a service may not depend on itself",
                ));
            } else if let Some(&target) = names.get(dependency) {
                edges[i].push(target);
            } else {
                errors.push(FieldError::invalid(
                    &at,
                    &json!(dependency),
                    &format!("must be the name of another service in {path}"),
                ));
            }
        }
    }
    for cycle in cycles(&edges) {
        let first = cycle[0];
        let dependencies: Vec<&str> = strings(&items[first]["dependsOn"])
            .map(|(_, d)| d)
            .collect();
        let mut chain: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&first))
            .map(|&k| items[k]["name"].as_str().unwrap_or_default())
            .collect();
        if chain.len() > MAX_CHAIN {
            let last = chain[chain.len() - 1];
            chain.truncate(MAX_CHAIN - 2);
            chain.extend(["…", last]);
        }
        errors.push(FieldError::invalid_raw(
            &format!("{path}[{first}].dependsOn"),
            &go_strings(&dependencies),
            &format!("dependency cycle: {}", chain.join(" -> ")),
        ));
    }
    errors
}

/// The cycles of a directed graph, each once, as a depth-first search in index order finds
/// them; each starts at the node where the search entered it. Iterative, so a long chain of
/// dependencies cannot overflow the stack.
fn cycles(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    let mut found = Vec::new();
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // The current path, each node with the next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::OnPath;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&to) = edges[node].get(*next) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match marks[to] {
                Mark::New => {
                    marks[to] = Mark::OnPath;
                    path.push((to, 0));
                }
                // Reported up to a limit: the error says enough, and a list of services
                // can hold very many back edges.
                Mark::OnPath if found.len() < MAX_CYCLES => {
                    let from = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                    found.push(path[from..].iter().map(|(n, _)| *n).collect());
                }
                Mark::OnPath => {}
                Mark::Done => {}
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(items: Value) -> Vec<String> {
        let items = items.as_array().cloned().unwrap_or_default();
        dependency_problems(&items, "spec.services")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn names_are_unique_and_dependencies_name_other_listed_services() {
        assert_eq!(
            messages(json!([
                {"name": "web"}, {"name": "web"},
                {"name": "x", "dependsOn": ["web", "web", "db", "x"]},
            ])),
            [
                "spec.services[1].name: Duplicate value: \"web\"",
                "spec.services[2].dependsOn[1]: Duplicate value: \"web\"",
                "spec.services[2].dependsOn[2]: Invalid value: \"db\": must be the name of another service in spec.services",
                "spec.services[2].dependsOn[3]: Invalid value: \"x\": a service may not depend on itself",
            ]
        );
    }

    #[test]
    fn each_cycle_is_reported_once_where_it_is_entered() {
        assert_eq!(
            messages(json!([
                {"name": "a", "dependsOn": ["b"]}, {"name": "b", "dependsOn": ["c"]},
                {"name": "c", "dependsOn": ["a"]}, {"name": "d", "dependsOn": ["e"]},
                {"name": "e", "dependsOn": ["d"]},
            ])),
            [
                "spec.services[0].dependsOn: Invalid value: []string{\"b\"}: dependency cycle: a -> b -> c -> a",
                "spec.services[3].dependsOn: Invalid value: []string{\"e\"}: dependency cycle: d -> e -> d",
            ]
        );
    }

    #[test]
    fn many_back_edges_are_reported_a_few_times_briefly() {
        let n = 5_000;
        let mut items: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("s{i}"), "dependsOn": [format!("s{}", i + 1)]}))
            .collect();
        let all: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        items.push(json!({"name": format!("s{n}"), "dependsOn": all}));
        let errors = dependency_problems(&items, "spec.services");
        let cycles: Vec<_> = errors
            .iter()
            .filter(|e| e.to_string().contains("dependency cycle"))
            .collect();
        assert_eq!(cycles.len(), MAX_CYCLES);
        assert!(
            cycles[0].to_string().contains("-> … -> s0"),
            "{}",
            cycles[0]
        );
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let chain: Vec<Value> = (0..50_000)
            .map(|i| json!({"name": format!("s{i}"), "dependsOn": [format!("s{}", i + 1)]}))
            .chain(std::iter::once(json!({"name": "s50000"})))
            .collect();
        assert!(dependency_problems(&chain, "spec.services").is_empty());
    }
}
