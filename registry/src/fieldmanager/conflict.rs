//! Apply conflicts and how kube-apiserver words them (k8s.io/apimachinery
//! `pkg/util/managedfields/internal/conflict.go`, structured-merge-diff `merge/conflict.go`).

use std::collections::BTreeMap;
use std::fmt;

use super::managed::{identifier, ManagedOperation};
use super::path::Path;
use super::value::go_quote;

/// A field the applier sets to a new value while another manager owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// How the other manager came to own the field.
    pub operation: ManagedOperation,
    /// The apiVersion of the other manager's entry.
    pub api_version: String,
    pub subresource: Option<String>,
    pub path: Path,
}

impl Conflict {
    /// The field, as a status cause's `field`: `.spec.replicas`.
    pub fn field(&self) -> String {
        self.path.to_string()
    }

    /// The status cause's `message`: `conflict with "kubectl" using apps/v1`.
    pub fn message(&self) -> String {
        format!("conflict with {}", self.describe_manager())
    }

    /// `printManager`: the quoted name, its subresource, and for updates the apiVersion.
    pub fn describe_manager(&self) -> String {
        let mut out = go_quote(&self.manager);
        if let Some(subresource) = &self.subresource {
            out.push_str(&format!(" with subresource {}", go_quote(subresource)));
        }
        if self.operation == ManagedOperation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn identifier(&self) -> String {
        identifier(
            &self.manager,
            self.operation,
            &self.api_version,
            self.subresource.as_deref(),
        )
    }
}

/// The conflicts of one apply, by manager identity, each manager's fields in field-set order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

impl Conflicts {
    /// The 409's message (`getConflictMessage`): one conflict on one line, several grouped
    /// by manager:
    ///
    /// ```text
    /// Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas
    /// Apply failed with 2 conflicts: conflicts with "a":
    /// - .spec.x
    /// conflicts with "b" using v1:
    /// - .spec.y
    /// ```
    pub fn message(&self) -> String {
        if let [only] = self.0.as_slice() {
            return format!(
                "Apply failed with 1 conflict: {}: {}",
                only.message(),
                only.path
            );
        }
        let mut by_manager: BTreeMap<String, (&Conflict, Vec<&Path>)> = BTreeMap::new();
        for conflict in &self.0 {
            by_manager
                .entry(conflict.identifier())
                .or_insert_with(|| (conflict, Vec::new()))
                .1
                .push(&conflict.path);
        }
        let mut lines = Vec::new();
        for (conflict, paths) in by_manager.values() {
            lines.push(format!("conflicts with {}:", conflict.describe_manager()));
            lines.extend(paths.iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Conflicts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(manager: &str, operation: ManagedOperation, path: &[&str]) -> Conflict {
        Conflict {
            manager: manager.into(),
            operation,
            api_version: "apps/v1".into(),
            subresource: None,
            path: Path::fields(path),
        }
    }

    #[test]
    fn one_conflict_is_one_line() {
        let c = Conflicts(vec![conflict(
            "kubectl",
            ManagedOperation::Update,
            &["spec", "replicas"],
        )]);
        assert_eq!(
            c.message(),
            r#"Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas"#
        );
        assert_eq!(c.0[0].message(), r#"conflict with "kubectl" using apps/v1"#);
        assert_eq!(c.0[0].field(), ".spec.replicas");
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let mut scaler = conflict("hpa", ManagedOperation::Apply, &["spec", "replicas"]);
        scaler.subresource = Some("scale".into());
        let c = Conflicts(vec![
            conflict("b", ManagedOperation::Update, &["spec", "x"]),
            scaler,
            conflict("b", ManagedOperation::Update, &["spec", "y"]),
        ]);
        assert_eq!(
            c.message(),
            "Apply failed with 3 conflicts: conflicts with \"b\" using apps/v1:\n- .spec.x\n- .spec.y\n\
             conflicts with \"hpa\" with subresource \"scale\":\n- .spec.replicas"
        );
    }
}
