//! Label and field selectors, parsed and matched as k8s.io/apimachinery (v0.36) does:
//! `pkg/labels/selector.go` (lexer, parser, `NewRequirement`), `pkg/fields/selector.go`
//! (terms and escaping), and the label key and value rules of `pkg/api/validate/content/kube.go`.
//!
//! Errors print exactly what kube-apiserver puts in the message of its 400 for a bad
//! `labelSelector` or `fieldSelector`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::field::{go_quote, FieldError};

/// Why a selector was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectorError {
    /// Label selector: a token out of place between requirements (upstream `Parser.parse`).
    #[error("found '{found}', expected: {expected}")]
    LabelSyntax {
        found: String,
        expected: &'static str,
    },
    /// Label selector: one requirement is malformed or invalid.
    #[error("unable to parse requirement: {0}")]
    LabelRequirement(#[source] RequirementError),
    /// Field selector: a term with no `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldTerm { selector: String, term: String },
    /// Field selector: a backslash not followed by `\`, `,` or `=` (upstream `UnescapeValue`).
    #[error("invalid field selector: invalid escape sequence: {0}")]
    FieldEscape(String),
    /// Field selector: a bare `=` in a value; upstream prints the code point as a number.
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*.0))]
    FieldUnescapedCharacter(char),
}

/// Why one label selector requirement was rejected (upstream `parseRequirement`,
/// `NewRequirement`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequirementError {
    /// A token the grammar does not allow here.
    #[error("found '{found}', expected: {expected}")]
    Unexpected {
        found: String,
        expected: &'static str,
    },
    /// `in` or `notin` not followed by `(` (upstream's message has no colon).
    #[error("found '{0}' expected: '('")]
    MissingParenthesis(String),
    /// The key or the values fail validation, as field errors.
    #[error("{}", aggregate(.0))]
    Invalid(Vec<FieldError>),
}

pub type Result<T, E = SelectorError> = std::result::Result<T, E>;

/// A parsed label selector: all requirements ANDed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// Sorted by key, as upstream sorts them.
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Operator,
    /// Sorted and deduplicated; exactly one for `=`, `==`, `!=`, `>` and `<`.
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Exists,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
}

impl LabelSelector {
    /// Parses `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (v,…)`, `key notin (v,…)`,
    /// `key>n` and `key<n`, comma-separated. `""` selects everything.
    pub fn parse(s: &str) -> Result<LabelSelector> {
        let mut parser = Parser {
            tokens: lex(s),
            pos: 0,
        };
        let mut requirements = parser.requirements()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// Whether `labels` (a `metadata.labels` object) satisfies every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// `metadata.labels` of `obj`, or an empty map.
pub fn labels_of(obj: &Value) -> Map<String, Value> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

impl Requirement {
    /// Upstream `Requirement.Matches`: `!=` and `notin` match objects without the key; `>` and
    /// `<` need the label to parse as an integer.
    fn matches(&self, labels: &Map<String, Value>) -> bool {
        let value = labels.get(&self.key).map(label_text);
        let has = |v: &str| self.values.iter().any(|x| x == v);
        match (self.op, value.as_deref()) {
            (Operator::Exists, found) => found.is_some(),
            (Operator::DoesNotExist, found) => found.is_none(),
            (Operator::In | Operator::Equals | Operator::DoubleEquals, Some(v)) => has(v),
            (Operator::NotIn | Operator::NotEquals, Some(v)) => !has(v),
            (Operator::NotIn | Operator::NotEquals, None) => true,
            (Operator::GreaterThan | Operator::LessThan, Some(v)) => {
                let (Ok(actual), Some(Ok(bound))) = (
                    v.parse::<i64>(),
                    self.values.first().map(|b| b.parse::<i64>()),
                ) else {
                    return false;
                };
                match self.op {
                    Operator::GreaterThan => actual > bound,
                    _ => actual < bound,
                }
            }
            (_, None) => false,
        }
    }
}

/// A label's value as text; `null` reads as `""` (as it decodes into a Go `map[string]string`).
fn label_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

/// Upstream `Selector.String()`: requirements sorted by key, `in`/`notin` sets sorted.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let values = r.values.join(",");
            match r.op {
                Operator::Exists => write!(f, "{}", r.key)?,
                Operator::DoesNotExist => write!(f, "!{}", r.key)?,
                Operator::Equals => write!(f, "{}={values}", r.key)?,
                Operator::DoubleEquals => write!(f, "{}=={values}", r.key)?,
                Operator::NotEquals => write!(f, "{}!={values}", r.key)?,
                Operator::In => write!(f, "{} in ({values})", r.key)?,
                Operator::NotIn => write!(f, "{} notin ({values})", r.key)?,
                Operator::GreaterThan => write!(f, "{}>{values}", r.key)?,
                Operator::LessThan => write!(f, "{}<{values}", r.key)?,
            }
        }
        Ok(())
    }
}

// ---- Lexer ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    End,
    Identifier,
    In,
    NotIn,
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    Greater,
    Less,
    Comma,
    Open,
    Close,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    /// The text as scanned; `""` for the end.
    text: &'a str,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits `input` into tokens ending with [`Kind::End`]. Identifiers run up to whitespace or a
/// special character; `!=` and `==` are the only two-character operators.
fn lex(input: &str) -> Vec<Token<'_>> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos).copied().is_some_and(is_whitespace) {
            pos += 1;
        }
        // Upstream's lexer reads NUL as the end of input where a token would start.
        let Some(&first) = bytes.get(pos).filter(|b| **b != 0) else {
            tokens.push(Token {
                kind: Kind::End,
                text: "",
            });
            return tokens;
        };
        let start = pos;
        let kind = if is_special(first) {
            let double = bytes.get(pos + 1) == Some(&b'=') && matches!(first, b'!' | b'=');
            pos += if double { 2 } else { 1 };
            match (first, double) {
                (b'!', true) => Kind::NotEquals,
                (b'=', true) => Kind::DoubleEquals,
                (b'!', false) => Kind::Not,
                (b'=', false) => Kind::Equals,
                (b'>', _) => Kind::Greater,
                (b'<', _) => Kind::Less,
                (b',', _) => Kind::Comma,
                (b'(', _) => Kind::Open,
                _ => Kind::Close,
            }
        } else {
            while bytes
                .get(pos)
                .is_some_and(|b| *b != 0 && !is_special(*b) && !is_whitespace(*b))
            {
                pos += 1;
            }
            match &input[start..pos] {
                "in" => Kind::In,
                "notin" => Kind::NotIn,
                _ => Kind::Identifier,
            }
        };
        tokens.push(Token {
            kind,
            text: &input[start..pos],
        });
        // ...and swallows a NUL that ends a token.
        if bytes.get(pos) == Some(&0) {
            pos += 1;
        }
    }
}

// ---- Parser ----

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// The next token without the keywords: `in` and `notin` are identifiers everywhere but in
    /// operator position (upstream's `Values` context).
    fn peek(&self) -> Token<'a> {
        let token = self.tokens[self.pos];
        match token.kind {
            Kind::In | Kind::NotIn => Token {
                kind: Kind::Identifier,
                ..token
            },
            _ => token,
        }
    }

    fn next(&mut self) -> Token<'a> {
        let token = self.peek();
        self.advance();
        token
    }

    /// The next token, keywords included.
    fn next_operator(&mut self) -> Token<'a> {
        let token = self.tokens[self.pos];
        self.advance();
        token
    }

    fn advance(&mut self) {
        self.pos = (self.pos + 1).min(self.tokens.len() - 1);
    }

    /// `<requirement> ("," <requirement>)*`, or nothing.
    fn requirements(&mut self) -> Result<Vec<Requirement>> {
        let mut requirements = Vec::new();
        let first = self.peek();
        match first.kind {
            Kind::End => return Ok(requirements),
            Kind::Identifier | Kind::Not => {}
            _ => return Err(syntax(first, "!, identifier, or 'end of string'")),
        }
        loop {
            let requirement = self
                .requirement()
                .map_err(SelectorError::LabelRequirement)?;
            requirements.push(requirement);
            let after = self.next();
            match after.kind {
                Kind::End => return Ok(requirements),
                Kind::Comma => {
                    let next = self.peek();
                    if !matches!(next.kind, Kind::Identifier | Kind::Not) {
                        return Err(syntax(next, "identifier after ','"));
                    }
                }
                _ => return Err(syntax(after, "',' or 'end of string'")),
            }
        }
    }

    /// `[!] KEY [<operator> <values>]`.
    fn requirement(&mut self) -> Result<Requirement, RequirementError> {
        let mut token = self.next();
        let negated = token.kind == Kind::Not;
        if negated {
            token = self.next();
        }
        if token.kind != Kind::Identifier {
            return Err(unexpected(token, "identifier"));
        }
        let key = token.text;
        let problems = label_key_problems(key);
        if !problems.is_empty() {
            return Err(RequirementError::Invalid(vec![invalid(
                NIL_PATH, key, &problems,
            )]));
        }
        if negated {
            return Requirement::new(key, Operator::DoesNotExist, BTreeSet::new());
        }
        if matches!(self.peek().kind, Kind::End | Kind::Comma) {
            return Requirement::new(key, Operator::Exists, BTreeSet::new());
        }
        let token = self.next_operator();
        let op = match token.kind {
            Kind::In => Operator::In,
            Kind::NotIn => Operator::NotIn,
            Kind::Equals => Operator::Equals,
            Kind::DoubleEquals => Operator::DoubleEquals,
            Kind::NotEquals => Operator::NotEquals,
            Kind::Greater => Operator::GreaterThan,
            Kind::Less => Operator::LessThan,
            _ => return Err(unexpected(token, "in, notin, =, ==, !=, gt, lt")),
        };
        let values = match op {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        Requirement::new(key, op, values)
    }

    /// `"(" VALUE ("," VALUE)* ")"`, where any VALUE may be empty: `()` is `{""}`.
    fn value_set(&mut self) -> Result<BTreeSet<&'a str>, RequirementError> {
        let open = self.next();
        if open.kind != Kind::Open {
            return Err(RequirementError::MissingParenthesis(open.text.into()));
        }
        let first = self.peek();
        match first.kind {
            Kind::Identifier | Kind::Comma => {
                let values = self.value_list()?;
                self.next(); // the `)` that `value_list` stopped at
                Ok(values)
            }
            Kind::Close => {
                self.next();
                Ok(BTreeSet::from([""]))
            }
            _ => Err(unexpected(first, "',', ')' or identifier")),
        }
    }

    /// The values inside the parentheses, up to (not including) the `)`.
    fn value_list(&mut self) -> Result<BTreeSet<&'a str>, RequirementError> {
        let mut values = BTreeSet::new();
        loop {
            let token = self.next();
            match token.kind {
                Kind::Identifier => {
                    values.insert(token.text);
                    let after = self.peek();
                    match after.kind {
                        Kind::Comma => {}
                        Kind::Close => return Ok(values),
                        _ => return Err(unexpected(after, "',' or ')'")),
                    }
                }
                // A comma next to `(`, `)` or another comma stands for an empty value.
                Kind::Comma => {
                    let after = self.peek().kind;
                    if values.is_empty() || matches!(after, Kind::Comma | Kind::Close) {
                        values.insert("");
                    }
                    if after == Kind::Close {
                        return Ok(values);
                    }
                }
                _ => return Err(unexpected(token, "',', or identifier")),
            }
        }
    }

    /// One VALUE, possibly empty (`x=` and `x=,y`).
    fn exact_value(&mut self) -> Result<BTreeSet<&'a str>, RequirementError> {
        if matches!(self.peek().kind, Kind::End | Kind::Comma) {
            return Ok(BTreeSet::from([""]));
        }
        let token = self.next();
        if token.kind != Kind::Identifier {
            return Err(unexpected(token, "identifier"));
        }
        Ok(BTreeSet::from([token.text]))
    }
}

fn syntax(token: Token<'_>, expected: &'static str) -> SelectorError {
    SelectorError::LabelSyntax {
        found: token.text.into(),
        expected,
    }
}

fn unexpected(token: Token<'_>, expected: &'static str) -> RequirementError {
    RequirementError::Unexpected {
        found: token.text.into(),
        expected,
    }
}

impl Requirement {
    /// Upstream `NewRequirement` for what the parser can produce (the key is already valid, and
    /// the value count is right): `>`/`<` values must be integers, every value a label value.
    fn new(
        key: &str,
        op: Operator,
        values: BTreeSet<&str>,
    ) -> Result<Requirement, RequirementError> {
        let mut errors = Vec::new();
        if matches!(op, Operator::GreaterThan | Operator::LessThan) {
            for (i, value) in values.iter().enumerate() {
                if value.parse::<i64>().is_err() {
                    let detail = "for 'Gt', 'Lt' operators, the value must be an integer";
                    errors.push(invalid(&format!("values[{i}]"), value, &[detail.into()]));
                }
            }
        }
        for (i, value) in values.iter().enumerate() {
            let problems = label_value_problems(value);
            if !problems.is_empty() {
                errors.push(invalid(&format!("values[{i}][{key}]"), value, &problems));
            }
        }
        if !errors.is_empty() {
            return Err(RequirementError::Invalid(errors));
        }
        Ok(Requirement {
            key: key.into(),
            op,
            values: values.into_iter().map(String::from).collect(),
        })
    }
}

// ---- Label keys and values: k8s.io/apimachinery v0.33 `pkg/labels/selector.go`
// `validateLabelKey` (`IsQualifiedName`) and `validateLabelValue` (`IsValidLabelValue`) ----

/// The path upstream's key errors carry: the parser's `*field.Path` is nil, printed `<nil>`.
const NIL_PATH: &str = "<nil>";

pub(crate) use crate::meta::{label_value_problems, qualified_name_problems as label_key_problems};

/// `field.Invalid(path, value, strings.Join(problems, "; "))`.
fn invalid(path: &str, value: &str, problems: &[String]) -> FieldError {
    FieldError::invalid_raw(path, &go_quote(value), &problems.join("; "))
}

/// An aggregate's message: one error alone, several in brackets.
fn aggregate(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => {
            let messages: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("[{}]", messages.join(", "))
        }
    }
}

// ---- Field selectors ----

/// A parsed field selector: `field=value`, `field==value` and `field!=value` terms, ANDed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// In upstream's order: terms sorted as written.
    terms: Vec<FieldTerm>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    equal: bool,
    value: String,
}

impl FieldSelector {
    /// Parses comma-separated terms; in values `\,`, `\=` and `\\` stand for `,`, `=` and `\`.
    /// Field names are neither trimmed nor checked here. `""` selects everything.
    pub fn parse(s: &str) -> Result<FieldSelector> {
        let mut parts = split_terms(s);
        parts.sort_unstable();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let (field, op, value) = split_term(part).ok_or_else(|| SelectorError::FieldTerm {
                selector: s.into(),
                term: part.into(),
            })?;
            let value = unescape(value)?;
            // Upstream's identity `Transform` turns a term with neither side into "everything".
            if field.is_empty() && value.is_empty() {
                continue;
            }
            terms.push(FieldTerm {
                field: field.into(),
                equal: op != "!=",
                value,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// `(field, equal?, value)` for each term.
    pub fn requirements(&self) -> impl Iterator<Item = (&str, bool, &str)> {
        self.terms
            .iter()
            .map(|t| (t.field.as_str(), t.equal, t.value.as_str()))
    }

    /// Whether `fields` satisfies every term; a field it does not know has the value `""`.
    pub fn matches(&self, fields: &dyn Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let actual = fields(&t.field).unwrap_or_default();
            (actual == t.value) == t.equal
        })
    }

    /// The value `field=value` or `field==value` requires, if a term says so (the first in
    /// upstream's sorted order, as `RequiresExactMatch`).
    pub fn exact(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.equal && t.field == field)
            .map(|t| t.value.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// Upstream `String()`, values escaped again.
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            let op = if t.equal { "=" } else { "!=" };
            let value = t
                .value
                .replace('\\', "\\\\")
                .replace(',', "\\,")
                .replace('=', "\\=");
            let sep = if i > 0 { "," } else { "" };
            write!(f, "{sep}{}{op}{value}", t.field)?;
        }
        Ok(())
    }
}

/// Splits at commas not escaped by a backslash.
fn split_terms(s: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits at the first `!=`, `==` or `=` (escapes are not considered here, as upstream).
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    let bytes = term.as_bytes();
    (0..bytes.len()).find_map(|i| {
        ["!=", "==", "="]
            .into_iter()
            .find(|op| bytes[i..].starts_with(op.as_bytes()))
            .map(|op| (&term[..i], op, &term[i + op.len()..]))
    })
}

/// Upstream `UnescapeValue`.
fn unescape(raw: &str) -> Result<String> {
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('\\' | ',' | '=')) => value.push(escaped),
                Some(other) => return Err(SelectorError::FieldEscape(format!("\\{other}"))),
                None => return Err(SelectorError::FieldEscape("\\".into())),
            },
            ',' | '=' => return Err(SelectorError::FieldUnescapedCharacter(c)),
            c => value.push(c),
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{
        DNS1123_SUBDOMAIN_RULES as DNS1123_SUBDOMAIN_FORMAT,
        LABEL_VALUE_RULES as LABEL_VALUE_FORMAT,
    };
    use serde_json::json;

    fn labels(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn selects(selector: &str, set: Value) -> bool {
        LabelSelector::parse(selector)
            .unwrap()
            .matches(&labels(set))
    }

    fn label_error(selector: &str) -> String {
        LabelSelector::parse(selector).unwrap_err().to_string()
    }

    fn field_error(selector: &str) -> String {
        FieldSelector::parse(selector).unwrap_err().to_string()
    }

    fn fields_match(selector: &str, set: &[(&str, &str)]) -> bool {
        let lookup = |f: &str| {
            set.iter()
                .find(|(k, _)| *k == f)
                .map(|(_, v)| v.to_string())
        };
        FieldSelector::parse(selector).unwrap().matches(&lookup)
    }

    const NAME_FORMAT: &str = "must consist of alphanumeric characters, '-', '_' or '.', and \
        must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
        '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    #[test]
    fn an_empty_label_selector_selects_everything() {
        for s in ["", "  ", "\t\r\n"] {
            let selector = LabelSelector::parse(s).unwrap();
            assert!(selector.is_empty());
            assert!(selector.matches(&labels(json!({"x": "y"}))));
            assert!(selector.matches(&Map::new()));
        }
        assert!(LabelSelector::default().is_empty());
        assert!(!LabelSelector::parse("x").unwrap().is_empty());
    }

    #[test]
    fn equality_operators_match_the_value_and_need_the_key() {
        assert!(selects("x=y", json!({"x": "y"})));
        assert!(selects("x==y", json!({"x": "y"})));
        assert!(!selects("x=y", json!({"x": "z"})));
        assert!(!selects("x=z", json!({})));
        assert!(selects("x=", json!({"x": ""})));
        assert!(!selects("x=", json!({})));
        assert!(selects("notin=in", json!({"notin": "in"})));
    }

    #[test]
    fn not_equals_and_notin_match_objects_without_the_key() {
        assert!(selects("x!=y", json!({})));
        assert!(selects("x!=y", json!({"x": "z"})));
        assert!(!selects("x!=y", json!({"x": "y"})));
        assert!(selects("x notin (a,b)", json!({"y": "a"})));
        assert!(selects("x notin (a,b)", json!({"x": "c"})));
        assert!(!selects("x notin (a,b)", json!({"x": "b"})));
    }

    #[test]
    fn in_matches_any_listed_value_and_needs_the_key() {
        assert!(selects("x in (a,b)", json!({"x": "b"})));
        assert!(!selects("x in (a,b)", json!({"x": "c"})));
        assert!(!selects("x in (a,b)", json!({})));
    }

    #[test]
    fn an_empty_set_is_the_empty_value() {
        assert!(selects("x in ()", json!({"x": ""})));
        assert!(!selects("x in ()", json!({"x": "a"})));
        assert!(!selects("x in ()", json!({})));
        assert!(selects("x notin ( )", json!({"x": "a"})));
        assert!(!selects("x notin ()", json!({"x": ""})));
        assert_eq!(
            LabelSelector::parse("x in ()").unwrap().to_string(),
            "x in ()"
        );
    }

    #[test]
    fn exists_and_does_not_exist_look_only_at_the_key() {
        assert!(selects("x", json!({"x": ""})));
        assert!(!selects("x", json!({"y": "z"})));
        assert!(selects("!x", json!({"y": "z"})));
        assert!(!selects("!x", json!({"x": "z"})));
    }

    #[test]
    fn greater_and_less_than_compare_integers() {
        assert!(selects("x>1", json!({"x": "2"})));
        assert!(!selects("x>1", json!({"x": "1"})));
        assert!(selects("x<1", json!({"x": "0"})));
        assert!(selects("x<1", json!({"x": "-5"})));
        assert!(!selects("x<1", json!({"x": "2"})));
        assert!(selects("x>0010", json!({"x": "11"})));
    }

    #[test]
    fn greater_and_less_than_skip_missing_and_non_integer_labels() {
        assert!(!selects("x>1", json!({})));
        assert!(!selects("x>1", json!({"x": "v2"})));
        assert!(!selects("x<1", json!({"x": ""})));
        assert!(!selects("x<1", json!({"x": "99999999999999999999"})));
    }

    #[test]
    fn commas_and_all_requirements() {
        let set = json!({"foo": "bar", "baz": "blah"});
        assert!(selects("foo=bar,baz=blah", set.clone()));
        assert!(!selects("foo=bar,foobar=bar,baz=blah", set.clone()));
        assert!(selects("x!=y,z!=w", json!({"x": "z", "z": "a"})));
        assert!(!selects("x!=y,z!=w", json!({"x": "z", "z": "w"})));
        assert!(selects("foo,!nope,baz in (blah)", set));
    }

    #[test]
    fn whitespace_is_tolerated_between_tokens() {
        for (input, parsed) in [
            ("\rx", "x"),
            ("a ", "a"),
            ("foo  in\t (abc)", "foo in (abc)"),
            ("x notin\n (abc)", "x notin (abc)"),
            ("x  notin\t\t(abc,def)", "x notin (abc,def)"),
            ("x= ,z= ", "x=,z="),
            (" x != a , y == b ", "x!=a,y==b"),
            (
                "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
            ),
        ] {
            assert_eq!(
                LabelSelector::parse(input).unwrap().to_string(),
                parsed,
                "{input:?}"
            );
        }
    }

    #[test]
    fn parsing_sorts_requirements_and_set_values_as_upstream() {
        for (input, parsed) in [
            ("x=a,a=x", "a=x,x=a"),
            (
                "x notin (abc,,def),bar,z in (),w",
                "bar,w,x notin (,abc,def),z in ()",
            ),
            ("x,y in (a)", "x,y in (a)"),
            ("x in (abc,)", "x in (,abc)"),
            ("x in (abc,abc)", "x in (abc)"),
            ("x in (a,,)", "x in (,a)"),
            ("x in (a,,,,,,)", "x in (,a)"),
            ("x in (a,,a,,a,,a,,)", "x in (,a)"),
            ("x notin (, a)", "x notin (,a)"),
            ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
            ("x=abc,y==jkl,z!=a,z", "x=abc,y==jkl,z!=a,z"),
            ("x>2,y<8,z", "x>2,y<8,z"),
        ] {
            assert_eq!(
                LabelSelector::parse(input).unwrap().to_string(),
                parsed,
                "{input:?}"
            );
        }
    }

    #[test]
    fn keys_may_carry_a_dns_subdomain_prefix() {
        let set = json!({"app.kubernetes.io/name": "web", "example.com/Tier": "1"});
        assert!(selects("app.kubernetes.io/name=web", set.clone()));
        assert!(selects("example.com/Tier>0", set.clone()));
        assert!(selects(
            "this-is-a-dns.domain.com/key-with-dash notin (a)",
            set
        ));
        assert!(LabelSelector::parse("My_Key.1=Value_1.x").is_ok());
    }

    #[test]
    fn keywords_are_values_and_keys_outside_operator_position() {
        assert!(selects("in=notin", json!({"in": "notin"})));
        assert!(selects("x,in", json!({"x": "1", "in": "2"})));
        assert!(selects("x in (in)", json!({"x": "in"})));
    }

    #[test]
    fn misplaced_tokens_between_requirements_are_rejected() {
        assert_eq!(
            label_error(",x"),
            "found ',', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            label_error("("),
            "found '(', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            label_error("!=a"),
            "found '!=', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            label_error("x,,y"),
            "found ',', expected: identifier after ','"
        );
        assert_eq!(
            label_error("a in (xyz),"),
            "found '', expected: identifier after ','"
        );
        assert_eq!(
            label_error("x==a==b"),
            "found '==', expected: ',' or 'end of string'"
        );
        assert_eq!(
            label_error("!x=a"),
            "found '=', expected: ',' or 'end of string'"
        );
        assert_eq!(
            label_error("x=a b"),
            "found 'b', expected: ',' or 'end of string'"
        );
        assert_eq!(
            label_error("a in (xyz)b notin ()"),
            "found 'b', expected: ',' or 'end of string'"
        );
    }

    #[test]
    fn malformed_requirements_are_rejected_with_upstream_messages() {
        let req = |s: &str| format!("unable to parse requirement: {s}");
        assert_eq!(label_error("!"), req("found '', expected: identifier"));
        assert_eq!(label_error("! =a"), req("found '=', expected: identifier"));
        assert_eq!(
            label_error("x y"),
            req("found 'y', expected: in, notin, =, ==, !=, gt, lt")
        );
        assert_eq!(
            label_error("x nott in (y)"),
            req("found 'nott', expected: in, notin, =, ==, !=, gt, lt")
        );
        assert_eq!(
            label_error("a ("),
            req("found '(', expected: in, notin, =, ==, !=, gt, lt")
        );
        assert_eq!(label_error("x in a"), req("found 'a' expected: '('"));
        assert_eq!(label_error("x in"), req("found '' expected: '('"));
        assert_eq!(
            label_error("a notin("),
            req("found '', expected: ',', ')' or identifier")
        );
        assert_eq!(
            label_error("x in (=)"),
            req("found '=', expected: ',', ')' or identifier")
        );
        assert_eq!(
            label_error("a in (xyz abc)"),
            req("found 'abc', expected: ',' or ')'")
        );
        assert_eq!(
            label_error("x in (a,=)"),
            req("found '=', expected: ',', or identifier")
        );
        assert_eq!(label_error("x=(a)"), req("found '(', expected: identifier"));
    }

    #[test]
    fn ordering_operators_need_an_integer() {
        assert_eq!(
            label_error("x<a"),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' \
             operators, the value must be an integer"
        );
        assert_eq!(
            label_error("x>"),
            "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' \
             operators, the value must be an integer"
        );
        // An integer that is not a label value fails as a label value.
        assert!(label_error("x>-1").starts_with(
            "unable to parse requirement: values[0][x]: Invalid value: \"-1\": a valid label \
             must be an empty string"
        ));
        // Both at once are an aggregate.
        assert_eq!(
            label_error("x>a_"),
            format!(
                "unable to parse requirement: [values[0]: Invalid value: \"a_\": for 'Gt', \
                 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \
                 \"a_\": {LABEL_VALUE_FORMAT}]"
            )
        );
    }

    #[test]
    fn invalid_keys_report_is_label_key_problems_on_a_nil_path() {
        // The message kube-apiserver returns for `kubectl get pods -l app:monolith`.
        assert_eq!(
            label_error("app:monolith"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": name \
                 part {NAME_FORMAT}"
            )
        );
        assert_eq!(
            label_error("app.kubernetes_io/name=x"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"app.kubernetes_io/name\": \
                 prefix part {DNS1123_SUBDOMAIN_FORMAT}"
            )
        );
        assert_eq!(
            label_error("a/b/c"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified \
                 name {NAME_FORMAT} with an optional DNS subdomain prefix and '/' (e.g. \
                 'example.com/MyName')"
            )
        );
        assert_eq!(
            label_error("example.com/"),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"example.com/\": name part \
                 must be non-empty; name part {NAME_FORMAT}"
            )
        );
        assert_eq!(
            label_error("/a"),
            "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be \
             non-empty"
        );
        let long = "a".repeat(64);
        assert_eq!(
            label_error(&long),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"{long}\": name part must \
                 be no more than 63 characters"
            )
        );
        let long_prefix = format!("{}/a", "a".repeat(254));
        assert!(label_error(&long_prefix)
            .ends_with("\": prefix part must be no more than 253 characters"));
        assert!(LabelSelector::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn invalid_values_report_is_label_value_problems_under_the_key() {
        let long = "v".repeat(64);
        assert_eq!(
            label_error(&format!("x={long}")),
            format!(
                "unable to parse requirement: values[0][x]: Invalid value: \"{long}\": must be \
                 no more than 63 characters"
            )
        );
        assert_eq!(
            label_error("x in (a,b_)"),
            format!(
                "unable to parse requirement: values[1][x]: Invalid value: \"b_\": \
                 {LABEL_VALUE_FORMAT}"
            )
        );
        assert!(LabelSelector::parse(&format!("x={}", "v".repeat(63))).is_ok());
    }

    #[test]
    fn bad_values_are_quoted_as_go_quotes_them() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{1}\u{7f}\u{7}\u{b}"), r#""\x01\x7f\a\v""#);
        assert_eq!(go_quote("é\u{a0}\u{200b}"), r#""é\u00a0\u200b""#);
        assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
        assert!(label_error("a\u{1}").contains(r#"Invalid value: "a\x01""#));
    }

    #[test]
    fn a_nul_ends_the_input_where_a_token_would_start() {
        assert!(LabelSelector::parse("\0x y").unwrap().is_empty());
        assert_eq!(LabelSelector::parse("x \0 y").unwrap().to_string(), "x");
        assert_eq!(LabelSelector::parse("x=\0y").unwrap().to_string(), "x=y");
    }

    #[test]
    fn labels_of_reads_metadata_labels() {
        let obj = json!({"metadata": {"name": "a", "labels": {"x": "y"}}});
        assert_eq!(labels_of(&obj), labels(json!({"x": "y"})));
        assert!(labels_of(&json!({"metadata": {"name": "a"}})).is_empty());
        assert!(labels_of(&json!({"metadata": {"labels": null}})).is_empty());
        assert!(labels_of(&json!("not an object")).is_empty());
    }

    #[test]
    fn an_empty_field_selector_selects_everything() {
        for s in ["", ",", ",,", "=", "=="] {
            let selector = FieldSelector::parse(s).unwrap();
            assert!(selector.is_empty(), "{s:?}");
            assert!(selector.matches(&|_| None));
        }
        assert!(FieldSelector::default().is_empty());
    }

    #[test]
    fn field_terms_compare_values_and_missing_fields_are_empty() {
        let set = [("metadata.name", "a"), ("metadata.namespace", "ns")];
        assert!(fields_match("metadata.name=a", &set));
        assert!(fields_match("metadata.name==a", &set));
        assert!(!fields_match("metadata.name=b", &set));
        assert!(fields_match("metadata.name!=b", &set));
        assert!(!fields_match("metadata.name!=a", &set));
        assert!(fields_match("metadata.name=a,metadata.namespace=ns", &set));
        assert!(!fields_match(
            "metadata.name=a,metadata.namespace=other",
            &set
        ));
        assert!(fields_match("spec.missing=", &set));
        assert!(fields_match("spec.missing!=x", &set));
        assert!(!fields_match("spec.missing=x", &set));
        // An unannotated closure works, as the list code passes one.
        let selector = FieldSelector::parse("spec.x=1").unwrap();
        assert!(selector.matches(&|f| (f == "spec.x").then(|| "1".to_string())));
    }

    #[test]
    fn field_values_unescape_backslashes() {
        let set = [("complex", r"=value\,\"), ("foo", "bar")];
        assert!(fields_match(r"foo=bar,complex=\=value\\\,\\", &set));
        let selector = FieldSelector::parse(r"x=a\,b\=c\\").unwrap();
        assert_eq!(
            selector.requirements().collect::<Vec<_>>(),
            [("x", true, r"a,b=c\")]
        );
        assert_eq!(selector.to_string(), r"x=a\,b\=c\\");
        assert!(fields_match("x=a!b", &[("x", "a!b")]));
        assert!(fields_match("x=a||y", &[("x", "a||y")]));
    }

    #[test]
    fn field_requirements_come_sorted_and_untrimmed() {
        let selector = FieldSelector::parse("b!=2, a = 1 ,=x").unwrap();
        assert_eq!(
            selector.requirements().collect::<Vec<_>>(),
            [(" a ", true, " 1 "), ("", true, "x"), ("b", false, "2")]
        );
    }

    #[test]
    fn exact_is_the_first_equality_term_for_the_field() {
        let selector = FieldSelector::parse("metadata.name=b,metadata.name==a").unwrap();
        assert_eq!(selector.exact("metadata.name"), Some("a"));
        let selector = FieldSelector::parse("metadata.name!=a,metadata.namespace=ns").unwrap();
        assert_eq!(selector.exact("metadata.name"), None);
        assert_eq!(selector.exact("metadata.namespace"), Some("ns"));
        assert_eq!(FieldSelector::parse("x=").unwrap().exact("x"), Some(""));
        assert_eq!(FieldSelector::default().exact("x"), None);
    }

    #[test]
    fn malformed_field_selectors_are_rejected_with_upstream_messages() {
        assert_eq!(
            field_error("x"),
            "invalid selector: 'x'; can't understand 'x'"
        );
        assert_eq!(
            field_error("x=a,b"),
            "invalid selector: 'x=a,b'; can't understand 'b'"
        );
        assert_eq!(
            field_error("x in (a)"),
            "invalid selector: 'x in (a)'; can't understand 'x in (a)'"
        );
        assert_eq!(
            field_error("x==a==b"),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            field_error(r"x=a\b"),
            r"invalid field selector: invalid escape sequence: \b"
        );
        assert_eq!(
            field_error(r"x=a\!"),
            r"invalid field selector: invalid escape sequence: \!"
        );
        assert_eq!(
            field_error(r"x=a\"),
            r"invalid field selector: invalid escape sequence: \"
        );
        // An escaped `=` in the field name still splits there.
        assert_eq!(
            field_error(r"a\=b=c"),
            "invalid field selector: unescaped character in value: 61"
        );
    }
}
