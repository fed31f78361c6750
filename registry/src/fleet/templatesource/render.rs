//! Inline manifests in minijinja: checked when a template is written, rendered with a
//! cluster's `config` or a service's `values`, and warned about when they name variables the
//! renderer never gives.

use std::collections::BTreeSet;

use serde_json::Value;

/// Functions minijinja templates may call without being given them.
const TEMPLATE_GLOBALS: [&str; 6] = ["range", "dict", "namespace", "debug", "cycler", "joiner"];

/// `syntax error: unexpected end of input, expected end of block (line 3)`.
pub(super) fn template_error(e: &minijinja::Error) -> String {
    let mut message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        message.push_str(&format!(" (line {line})"));
    }
    message
}

/// The minijinja environment inline manifests are checked and rendered in: Jinja2 syntax,
/// `trim_blocks` and `lstrip_blocks` (a block tag leaves no blank line or indentation behind,
/// which keeps YAML tidy), and undefined values that chain, so that
/// `{{ config.workers.replicas | default(2) }}` works when `workers` is not given.
pub fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env
}

/// Renders inline `manifests` with `context` (`{"cluster": …, "config": …}` or
/// `{"cluster": …, "values": …}`): the multi-document YAML to apply.
pub fn render_manifests(manifests: &str, context: &Value) -> Result<String, minijinja::Error> {
    environment().render_str(manifests, template_value(context))
}

fn template_value(value: &Value) -> minijinja::Value {
    match value {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => minijinja::Value::from(i),
            (None, Some(u)) => minijinja::Value::from(u),
            _ => minijinja::Value::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(items) => items.iter().map(template_value).collect(),
        Value::Object(map) => {
            minijinja::Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), template_value(v))))
        }
    }
}

/// Warnings for inline manifests that refer to variables the renderer does not give them
/// (`given`: `cluster` and `config`, or `cluster` and `values`).
pub fn manifests_warnings(source: &Value, path: &str, given: &[&str]) -> Vec<String> {
    let Some(manifests) = source.pointer("/inline/manifests").and_then(Value::as_str) else {
        return Vec::new();
    };
    let env = environment();
    let Ok(template) = env.template_from_str(manifests) else {
        return Vec::new();
    };
    let unknown: BTreeSet<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !given.contains(&v.as_str()) && !TEMPLATE_GLOBALS.contains(&v.as_str()))
        .collect();
    unknown
        .into_iter()
        .map(|name| {
            format!(
                "{path}.inline.manifests: the template refers to {name:?}, which is never \
                 given; it sees only {}",
                given.join(" and ")
            )
        })
        .collect()
}
