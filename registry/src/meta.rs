//! `metadata` of objects held as JSON: accessors, name rules, generated names, timestamps.

use serde_json::{Map, Value};

/// The object's `metadata`, created when missing (or when it is not an object).
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let map = obj.as_object_mut().expect("made an object above");
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("made an object above")
}

/// A string field of `metadata`; `None` when absent or empty.
pub fn get<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?
        .get(field)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// Sets (or, with `None`, removes) a field of `metadata`.
pub fn set(obj: &mut Value, field: &str, value: Option<Value>) {
    let meta = metadata_mut(obj);
    match value {
        Some(value) => {
            meta.insert(field.into(), value);
        }
        None => {
            meta.remove(field);
        }
    }
}

pub fn name(obj: &Value) -> Option<&str> {
    get(obj, "name")
}

pub fn namespace(obj: &Value) -> Option<&str> {
    get(obj, "namespace")
}

pub fn resource_version(obj: &Value) -> Option<&str> {
    get(obj, "resourceVersion")
}

const DNS1123_SUBDOMAIN_MAX: usize = 253;
const DNS1123_LABEL_MAX: usize = 63;

/// k8s.io/apimachinery `pkg/util/validation/validation.go` `IsDNS1123Subdomain`.
pub fn dns1123_subdomain_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.len() > DNS1123_SUBDOMAIN_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    if !name.split('.').all(is_dns1123_label) {
        problems.push(DNS1123_SUBDOMAIN_RULES.into());
    }
    problems
}

/// `IsDNS1123Subdomain`'s `RegexError`.
pub(crate) const DNS1123_SUBDOMAIN_RULES: &str = "a lowercase RFC 1123 subdomain must consist \
    of lower case alphanumeric characters, '-' or '.', and must start and end with an \
    alphanumeric character (e.g. 'example.com', regex used for validation is \
    '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// k8s.io/apimachinery `IsDNS1123Label` (namespace names).
pub fn dns1123_label_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.len() > DNS1123_LABEL_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    if !is_dns1123_label(name) && name.split('.').all(is_dns1123_label) {
        // A valid subdomain of the right length: only the dots are wrong.
        problems.push("must not contain dots".into());
    } else if !is_dns1123_label(name) {
        problems.push(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
             '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
             '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                .into(),
        );
    }
    problems
}

/// k8s.io/apimachinery `path.IsValidPathSegmentName`: names that can stand as one URL path
/// segment (RBAC names; every name in a request path).
pub fn path_segment_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name == "." || name == ".." {
        problems.push(format!("may not be '{name}'"));
    }
    for bad in ['/', '%'] {
        if name.contains(bad) {
            problems.push(format!("may not contain '{bad}'"));
        }
    }
    problems
}

/// k8s.io/apimachinery `path.IsValidPathSegmentPrefix`: a prefix to which a generated suffix
/// is appended (`generateName`); only the characters are checked.
pub fn path_segment_prefix_problems(prefix: &str) -> Vec<String> {
    ['/', '%']
        .into_iter()
        .filter(|bad| prefix.contains(*bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

/// k8s.io/apimachinery `maskTrailingDash` (`pkg/api/validation/generic.go`): a `generateName`
/// is checked as a name once its trailing `-` is masked. Like upstream, the last TWO bytes
/// are replaced by `a` (`name[:len(name)-2] + "a"`); a character cut in half there becomes
/// `_` bytes, still invalid in a DNS name and of the same length.
pub fn mask_trailing_dash(name: &str) -> String {
    if name.len() <= 1 || !name.ends_with('-') {
        return name.to_owned();
    }
    let mut end = name.len() - 2;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let cut = name.len() - 2 - end;
    format!("{}{}a", &name[..end], "_".repeat(cut))
}

/// The rules of a qualified name (`IsQualifiedName`), as `RegexError` words them.
pub(crate) const QUALIFIED_NAME_RULES: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', \
    and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or \
    '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;

/// k8s.io/apimachinery `pkg/util/validation` `IsQualifiedName`: label keys, annotation keys
/// (lower-cased first), finalizers — an optional DNS-1123 subdomain prefix and `/`, then a
/// name of at most 63 characters.
pub fn qualified_name_problems(value: &str) -> Vec<String> {
    let parts: Vec<&str> = value.split('/').collect();
    let (prefix, name) = match parts[..] {
        [name] => (None, name),
        [prefix, name] => (Some(prefix), name),
        _ => {
            return vec![format!(
                "a qualified name {QUALIFIED_NAME_RULES} with an optional DNS subdomain prefix \
                 and '/' (e.g. 'example.com/MyName')"
            )]
        }
    };
    let mut problems = Vec::new();
    match prefix {
        Some("") => problems.push("prefix part must be non-empty".to_owned()),
        Some(prefix) => problems.extend(
            dns1123_subdomain_problems(prefix)
                .into_iter()
                .map(|p| format!("prefix part {p}")),
        ),
        None => {}
    }
    if name.is_empty() {
        problems.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX {
        problems.push(format!(
            "name part must be no more than {QUALIFIED_NAME_MAX} characters"
        ));
    }
    if !is_qualified_name_part(name) {
        problems.push(format!("name part {QUALIFIED_NAME_RULES}"));
    }
    problems
}

/// `IsValidLabelValue`'s `RegexError`.
pub(crate) const LABEL_VALUE_RULES: &str = "a valid label must be an empty string or consist of \
    alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
    character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is \
    '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// k8s.io/apimachinery `pkg/util/validation` `IsValidLabelValue`: empty, or at most 63
/// characters of a qualified name's name part.
pub fn label_value_problems(value: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        problems.push(format!("must be no more than {LABEL_VALUE_MAX} characters"));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        problems.push(LABEL_VALUE_RULES.into());
    }
    problems
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    let inner = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() && bytes.iter().all(inner)
        }
        _ => false,
    }
}

fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

/// The characters of generated name suffixes (k8s.io/apiserver `pkg/storage/names`).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const GENERATED_SUFFIX_LEN: usize = 5;
const MAX_GENERATED_BASE: usize = DNS1123_LABEL_MAX - GENERATED_SUFFIX_LEN;

/// `base` (cut to 58 characters) followed by 5 random characters, as kube-apiserver's
/// `SimpleNameGenerator` does.
pub fn generate_name(base: &str) -> String {
    let mut end = base.len().min(MAX_GENERATED_BASE);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    let random = uuid::Uuid::new_v4();
    let suffix: String = random.as_bytes()[..GENERATED_SUFFIX_LEN]
        .iter()
        .map(|b| NAME_ALPHABET[*b as usize % NAME_ALPHABET.len()] as char)
        .collect();
    format!("{}{suffix}", &base[..end])
}

/// A new random `metadata.uid`.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_rules_match_upstream() {
        assert!(dns1123_subdomain_problems("prod-eu.1").is_empty());
        assert_eq!(dns1123_subdomain_problems("Prod").len(), 1);
        assert_eq!(dns1123_subdomain_problems("-a").len(), 1);
        assert_eq!(dns1123_subdomain_problems("a..b").len(), 1);
        assert_eq!(dns1123_subdomain_problems(&"a".repeat(254)).len(), 1);
        assert!(dns1123_label_problems("a.b").len() == 1);
    }

    #[test]
    fn generated_names_have_five_random_characters_from_the_alphabet() {
        let name = generate_name("web-");
        assert_eq!(name.len(), 9);
        assert!(name[4..].bytes().all(|b| NAME_ALPHABET.contains(&b)));
        assert_eq!(generate_name(&"x".repeat(80)).len(), 63);
    }
}
