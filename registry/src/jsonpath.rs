//! The JSONPath subset of printer columns and selectable fields: `.a.b`, `[n]`, `[*]` and
//! filters `[?(@.type=="Ready")]`, as CRD `additionalPrinterColumns` use them.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    /// `[?(@.<path>=="<value>")]`
    Filter(Vec<String>, String),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// A path that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath {path:?}: {why}")]
pub struct JsonPathError {
    pub path: String,
    pub why: String,
}

impl JsonPath {
    /// Parses `.a.b[0].c`, `.a[*].b`, `.a[?(@.k=="v")].b` (with or without `{}` around it).
    pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> {
        let error = |why: &str| JsonPathError {
            path: path.into(),
            why: why.into(),
        };
        let text = path.trim();
        let text = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        let mut steps = Vec::new();
        let mut rest = text.strip_prefix('$').unwrap_or(text);
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(error("empty field name"));
                }
                steps.push(Step::Field(after[..end].to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| error("missing ]"))?;
                let inside = after[..end].trim();
                steps.push(bracket(inside).ok_or_else(|| error("unsupported [] expression"))?);
                rest = &after[end + 1..];
            } else {
                return Err(error("expected . or ["));
            }
        }
        Ok(JsonPath { steps })
    }

    /// Every value the path reaches in `obj`, in order.
    pub fn find<'a>(&self, obj: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![obj];
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                match step {
                    Step::Field(name) => next.extend(value.get(name)),
                    Step::Index(i) => next.extend(value.get(*i)),
                    Step::All => match value {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(map) => next.extend(map.values()),
                        _ => {}
                    },
                    Step::Filter(path, wanted) => {
                        if let Value::Array(items) = value {
                            next.extend(items.iter().filter(|item| {
                                let found = path.iter().try_fold(*item, |v, f| v.get(f));
                                found.and_then(Value::as_str) == Some(wanted.as_str())
                            }));
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

/// Reads what is between `[` and `]`.
fn bracket(inside: &str) -> Option<Step> {
    if inside == "*" {
        return Some(Step::All);
    }
    if let Ok(i) = inside.parse::<usize>() {
        return Some(Step::Index(i));
    }
    let filter = inside.strip_prefix("?(")?.strip_suffix(')')?.trim();
    let (left, right) = filter.split_once("==")?;
    let path: Vec<String> = left
        .trim()
        .strip_prefix("@.")?
        .split('.')
        .map(str::to_owned)
        .collect();
    let value = right.trim().trim_matches(|c| c == '"' || c == '\'');
    Some(Step::Filter(path, value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Value {
        json!({
            "spec": {"template": "aws", "services": [{"name": "a"}, {"name": "b"}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "Provisioning"},
                {"type": "TemplateReady", "status": "True"}
            ]}
        })
    }

    #[test]
    fn fields_indexes_wildcards_and_filters_reach_their_values() {
        let find = |p: &str| -> Vec<Value> {
            JsonPath::parse(p)
                .unwrap()
                .find(&obj())
                .into_iter()
                .cloned()
                .collect()
        };
        assert_eq!(find(".spec.template"), [json!("aws")]);
        assert_eq!(find("{.spec.services[1].name}"), [json!("b")]);
        assert_eq!(find(".spec.services[*].name"), [json!("a"), json!("b")]);
        assert_eq!(
            find(".status.conditions[?(@.type==\"Ready\")].reason"),
            [json!("Provisioning")]
        );
        assert!(find(".spec.missing").is_empty());
    }

    #[test]
    fn malformed_paths_are_errors() {
        assert!(JsonPath::parse(".a[").is_err());
        assert!(JsonPath::parse("a.b").is_err());
        assert!(JsonPath::parse(".a[?(x)]").is_err());
    }
}
