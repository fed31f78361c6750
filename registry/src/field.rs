//! Field validation errors, formatted as k8s.io/apimachinery's
//! `pkg/util/validation/field/errors.go` formats them.

use std::fmt;

use serde_json::Value;

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Required,
    Invalid,
    NotSupported,
    Forbidden,
    Duplicate,
    TooLong,
    Internal,
}

impl FieldErrorKind {
    /// The `StatusCause.reason`.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::Internal => "InternalError",
        }
    }

    fn text(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::Internal => "Internal error",
        }
    }
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    /// The path, e.g. `spec.services[0].name`.
    pub field: String,
    /// The bad value as the message prints it, for kinds that print it.
    pub value: Option<String>,
    pub detail: String,
}

impl FieldError {
    fn new(kind: FieldErrorKind, field: &str, value: Option<String>, detail: &str) -> Self {
        FieldError {
            kind,
            field: field.into(),
            value,
            detail: detail.into(),
        }
    }

    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Required, field, None, detail)
    }

    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        Self::new(
            FieldErrorKind::Invalid,
            field,
            Some(print_value(value)),
            detail,
        )
    }

    /// An invalid value printed as given, for values Go prints unquoted (such as `0x0`).
    pub fn invalid_raw(field: &str, printed: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Invalid, field, Some(printed.into()), detail)
    }

    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Forbidden, field, None, detail)
    }

    pub fn duplicate(field: &str, value: &Value) -> Self {
        Self::new(
            FieldErrorKind::Duplicate,
            field,
            Some(print_value(value)),
            "",
        )
    }

    pub fn too_long(field: &str, max: usize) -> Self {
        let detail = format!("may not be more than {max} bytes");
        Self::new(FieldErrorKind::TooLong, field, None, &detail)
    }

    pub fn not_supported(field: &str, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let detail = format!("supported values: {}", list.join(", "));
        Self::new(
            FieldErrorKind::NotSupported,
            field,
            Some(print_value(value)),
            &detail,
        )
    }

    /// An unsupported value printed as given (such as Go's `[]string{"x"}`).
    pub fn not_supported_raw(field: &str, printed: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let detail = format!("supported values: {}", list.join(", "));
        Self::new(
            FieldErrorKind::NotSupported,
            field,
            Some(printed.into()),
            &detail,
        )
    }

    /// The message without the field path: `StatusCause.message`.
    pub fn body(&self) -> String {
        let mut out = self.kind.text().to_owned();
        if let Some(value) = &self.value {
            out.push_str(": ");
            out.push_str(value);
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Go's `%#v` of a `[]string` (`[]string{"a", "b"}`), as upstream messages print slices.
pub fn go_strings<S: AsRef<str>>(values: &[S]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v.as_ref())).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// Go's `%q` (`strconv.Quote`): how field errors, conflicts and other upstream messages print
/// a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let code = u32::from(c);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_prints(c) => out.push(c),
            c if c.is_ascii() => out.push_str(&format!("\\x{code:02x}")),
            _ if code < 0x10000 => out.push_str(&format!("\\u{code:04x}")),
            _ => out.push_str(&format!("\\U{code:08x}")),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Approximated outside ASCII (unassigned code points count as printable here).
fn go_prints(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let format_or_private = matches!(c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
        | '\u{e000}'..='\u{f8ff}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{fffe}'
        | '\u{ffff}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}' | '\u{f0000}'..);
    !(c.is_control() || c.is_whitespace() || format_or_private)
}

/// Prints a bad value as the upstream messages do: strings quoted, numbers and booleans
/// bare, nothing as `"null"` (quoted, as `field.Invalid(path, nil, …)` prints it), and JSON
/// for objects and arrays (where Go would print its own syntax).
fn print_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "\"null\"".into(),
        other => other.to_string(),
    }
}

/// The JSON type of a value, as OpenAPI names it.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// kube-openapi's `InvalidType`: `spec.provider: Invalid value: "integer": spec.provider in
/// body must be of type string: "integer"`.
pub fn type_error(path: &str, value: &Value, expected: &str) -> FieldError {
    let actual = type_name(value);
    FieldError::invalid(
        path,
        &Value::from(actual),
        &format!("{path} in body must be of type {expected}: {actual:?}"),
    )
}

/// A required string field at `path`: `Required` when missing or empty, a type error when
/// not a string.
pub fn required_string<'a>(
    value: Option<&'a Value>,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match value {
        None | Some(Value::Null) => {
            errors.push(FieldError::required(path, ""));
            None
        }
        Some(Value::String(s)) if s.is_empty() => {
            errors.push(FieldError::required(path, ""));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            errors.push(type_error(path, other, "string"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_follow_the_upstream_formats() {
        assert_eq!(
            FieldError::required("spec.template", "").to_string(),
            "spec.template: Required value"
        );
        assert_eq!(
            FieldError::invalid("metadata.name", &json!("A_b"), "must be lowercase").to_string(),
            "metadata.name: Invalid value: \"A_b\": must be lowercase"
        );
        assert_eq!(
            FieldError::not_supported("spec.provider", &json!("x"), &["aws", "sim"]).to_string(),
            "spec.provider: Unsupported value: \"x\": supported values: \"aws\", \"sim\""
        );
        assert_eq!(
            FieldError::forbidden("spec", "may not be changed").body(),
            "Forbidden: may not be changed"
        );
    }
}
