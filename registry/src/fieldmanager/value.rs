//! JSON values as structured-merge-diff sees them (`value/value.go`, `value/fields.go`): a
//! total order across types, equality that compares numbers by value (`1` equals `1.0`), and
//! Go's renderings of a value — `%v`/`%q` in paths, `encoding/json` in `fieldsV1` keys.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// The order of `value.Compare`: floats, ints, strings, bools, lists, maps, null; numbers of
/// either kind compare by value.
pub(crate) fn compare(lhs: &Value, rhs: &Value) -> Ordering {
    match (lhs, rhs) {
        (Value::Number(l), Value::Number(r)) => compare_numbers(l, r),
        (Value::String(l), Value::String(r)) => l.cmp(r),
        (Value::Bool(l), Value::Bool(r)) => l.cmp(r),
        (Value::Array(l), Value::Array(r)) => compare_lists(l, r),
        (Value::Object(l), Value::Object(r)) => compare_maps(l, r),
        _ => rank(lhs).cmp(&rank(rhs)),
    }
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Number(n) if n.is_f64() => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
        Value::Null => 6,
    }
}

enum Num {
    Int(i128),
    Float(f64),
}

fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn float(n: &Num) -> f64 {
    match *n {
        // Precision loss is what upstream does too (`float64(lhs.AsInt())`).
        #[allow(clippy::cast_precision_loss)]
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

fn compare_numbers(lhs: &Number, rhs: &Number) -> Ordering {
    match (num(lhs), num(rhs)) {
        (Num::Int(l), Num::Int(r)) => l.cmp(&r),
        (l, r) => float(&l).partial_cmp(&float(&r)).unwrap_or(Ordering::Equal),
    }
}

fn compare_lists(lhs: &[Value], rhs: &[Value]) -> Ordering {
    for (l, r) in lhs.iter().zip(rhs) {
        let c = compare(l, r);
        if c != Ordering::Equal {
            return c;
        }
    }
    lhs.len().cmp(&rhs.len())
}

/// `MapCompareUsing`: keys visited in lexical order; the map missing a key sorts after.
fn compare_maps(lhs: &Map<String, Value>, rhs: &Map<String, Value>) -> Ordering {
    let mut keys: Vec<&String> = lhs.keys().chain(rhs.keys()).collect();
    keys.sort();
    keys.dedup();
    for (i, key) in keys.into_iter().enumerate() {
        let c = match (lhs.get(key), rhs.get(key)) {
            _ if i == lhs.len() => Ordering::Less,
            _ if i == rhs.len() => Ordering::Greater,
            (None, _) => Ordering::Greater,
            (_, None) => Ordering::Less,
            (Some(l), Some(r)) => compare(l, r),
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

/// `value.Equals`: deep equality with numbers compared by value.
pub(crate) fn equals(lhs: &Value, rhs: &Value) -> bool {
    match (lhs, rhs) {
        (Value::Number(l), Value::Number(r)) => match (num(l), num(r)) {
            (Num::Int(l), Num::Int(r)) => l == r,
            (l, r) => float(&l) == float(&r),
        },
        (Value::Array(l), Value::Array(r)) => {
            l.len() == r.len() && l.iter().zip(r).all(|(l, r)| equals(l, r))
        }
        (Value::Object(l), Value::Object(r)) => {
            l.len() == r.len()
                && l.iter()
                    .all(|(k, l)| r.get(k).is_some_and(|r| equals(l, r)))
        }
        _ => lhs == rhs,
    }
}

/// `value.ToString`, used when a path is printed: strings quoted as Go's `%q`.
pub(crate) fn to_go_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match num(n) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => go_float(f, 1e-4),
        },
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(to_go_string).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", to_go_string(v)))
            .collect(),
    }
}

/// The JSON Go's `encoding/json` (HTML-escaping, as SMD's jsoniter is configured) writes.
pub(crate) fn to_go_json(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match num(n) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => go_float(f, 1e-6),
        },
        Value::String(s) => go_json_string(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(to_go_json).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}:{}", go_json_string(k), to_go_json(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
    }
}

/// A float as Go prints it: plain between `small` and 1e21, else with a signed two-digit
/// exponent (`1e+21`, `1e-07`).
fn go_float(f: f64, small: f64) -> String {
    let abs = f.abs();
    if abs == 0.0 || (small..1e21).contains(&abs) {
        return format!("{f}");
    }
    let text = format!("{f:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.abs())
        }
        None => text,
    }
}

/// A JSON string literal as Go's `encoding/json` writes it, `<`, `>` and `&` escaped.
pub(crate) fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) use crate::field::go_quote;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn types_sort_floats_ints_strings_bools_lists_maps_null() {
        let ordered = [
            json!(1.5),
            json!(2),
            json!("a"),
            json!(false),
            json!([1]),
            json!({"a": 1}),
            json!(null),
        ];
        for pair in ordered.windows(2) {
            assert_eq!(compare(&pair[0], &pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(compare(&json!(3), &json!(3.0)), Ordering::Equal);
        assert_eq!(compare(&json!(3), &json!(3.25)), Ordering::Less);
    }

    #[test]
    fn numbers_are_equal_by_value() {
        assert!(equals(&json!({"a": [1]}), &json!({"a": [1.0]})));
        assert!(!equals(&json!({"a": 1}), &json!({"a": "1"})));
    }

    #[test]
    fn renderings_follow_go() {
        assert_eq!(to_go_string(&json!("nginx")), r#""nginx""#);
        assert_eq!(to_go_string(&json!(1e21)), "1e+21");
        assert_eq!(to_go_string(&json!(80.0)), "80");
        assert_eq!(to_go_json(&json!("<a&b>")), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(to_go_json(&json!(3.25)), "3.25");
        assert_eq!(go_quote("a\"b\n"), r#""a\"b\n""#);
    }
}
