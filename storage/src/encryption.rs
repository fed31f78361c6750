//! Encryption at rest configured as kube-apiserver's `--encryption-provider-config` is: an
//! `EncryptionConfiguration` (apiserver.config.k8s.io/v1) whose `resources` entries give the
//! providers of the resources they name. Read and checked with kube-apiserver 1.33's rules and
//! messages (k8s.io/apiserver `pkg/apis/apiserver/validation/validation_encryption.go` and
//! `pkg/server/options/encryptionconfig/config.go`); `aesgcm` (16, 24 or 32-byte keys) and
//! `identity` are served, `aescbc`, `secretbox` and `kms` are refused with a message.
//!
//! A resource takes the providers of the entry that names it exactly (`credentials.fleet.k0rdent.io`),
//! else of `*.<group>`, else of `*.*`, else it is stored in plain text. A name listed by two
//! entries gets both provider lists, the earlier first.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

use crate::envelope::{Codec, Provider};

/// The providers of every resource, from an encryption configuration (or one codec for all).
#[derive(Clone, Default)]
pub struct Codecs {
    rules: Arc<Rules>,
}

#[derive(Default)]
struct Rules {
    /// (group, resource) → codec.
    exact: HashMap<(String, String), Codec>,
    /// group → codec (`*.<group>`; `*.` is the core group "").
    groups: HashMap<String, Codec>,
    /// `*.*`.
    all: Option<Codec>,
    /// What everything else uses.
    default: Codec,
}

impl fmt::Debug for Codecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut exact: Vec<String> = self
            .rules
            .exact
            .keys()
            .map(|(group, resource)| group_resource(resource, group))
            .collect();
        exact.sort();
        let mut groups: Vec<&String> = self.rules.groups.keys().collect();
        groups.sort();
        f.debug_struct("Codecs")
            .field("exact", &exact)
            .field("groups", &groups)
            .field("all", &self.rules.all.is_some())
            .finish()
    }
}

impl From<Codec> for Codecs {
    /// Every resource with `codec`.
    fn from(codec: Codec) -> Self {
        Codecs {
            rules: Arc::new(Rules {
                default: codec,
                ..Rules::default()
            }),
        }
    }
}

impl Codecs {
    /// Plain text for every resource (no encryption configured).
    pub fn plain() -> Self {
        Codecs::default()
    }

    /// The codec of `resource` in `group` ("" for the core group).
    pub fn codec(&self, group: &str, resource: &str) -> &Codec {
        let rules = &self.rules;
        rules
            .exact
            .get(&(group.to_owned(), resource.to_owned()))
            .or_else(|| rules.groups.get(group))
            .or(rules.all.as_ref())
            .unwrap_or(&rules.default)
    }

    /// These codecs with `codec` for `resource` in `group` (tests and tools; a
    /// configuration file is how a server gets its codecs).
    pub fn with_codec(self, group: &str, resource: &str, codec: Codec) -> Codecs {
        let rules = &self.rules;
        let mut exact = rules.exact.clone();
        exact.insert((group.to_owned(), resource.to_owned()), codec);
        Codecs {
            rules: Arc::new(Rules {
                exact,
                groups: rules.groups.clone(),
                all: rules.all.clone(),
                default: rules.default.clone(),
            }),
        }
    }

    /// Checks the configuration `text` (YAML or JSON) read from `path`.
    pub fn parse(text: &[u8], path: &Path) -> Result<Codecs, ConfigError> {
        let shown = quote(&path.display().to_string());
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(ConfigError::parsing(format!(
                "error while loading file: encryption provider configuration file {shown} is empty"
            )));
        }
        let document: Value = yaml_serde::from_slice(text).map_err(|e| {
            ConfigError::parsing(format!(
                "error decoding encryption provider configuration file {shown}: {e}"
            ))
        })?;
        let api_version = document.get("apiVersion").and_then(Value::as_str);
        let kind = document.get("kind").and_then(Value::as_str);
        match (api_version, kind) {
            (Some("apiserver.config.k8s.io/v1"), Some("EncryptionConfiguration"))
            | (Some("v1"), Some("EncryptionConfig")) => {}
            _ => {
                return Err(ConfigError::parsing(format!(
                    "error while loading file: got unexpected config type: {}, Kind={}",
                    api_version.unwrap_or_default(),
                    kind.unwrap_or_default()
                )))
            }
        }
        let unknown = unknown_fields(&document);
        if !unknown.is_empty() {
            return Err(ConfigError::parsing(format!(
                "error decoding encryption provider configuration file {shown}: strict decoding error: {}",
                unknown
                    .iter()
                    .map(|f| format!("unknown field {}", quote(f)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let entries = validate(&document)?;
        build(entries)
    }
}

/// A configuration that cannot be used, with kube-apiserver's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn parsing(message: String) -> Self {
        ConfigError(format!("error while parsing file: {message}"))
    }

    /// The file at `path` could not be read.
    pub fn unreadable(path: &Path, error: &std::io::Error) -> Self {
        ConfigError::parsing(format!(
            "error while loading file: error reading encryption provider configuration file {}: {error}",
            quote(&path.display().to_string())
        ))
    }
}

/// Go's `%q` of a string (what the messages quote with).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Go's `%#v` of a `[]string`.
fn go_strings(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// `resource.group`, with `*.` for the core group's wildcard (upstream's `grYAMLString`).
fn group_resource(resource: &str, group: &str) -> String {
    if group.is_empty() && resource != "*" {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

/// Splits a name of `resources` at its first dot: `secrets` → ("secrets", ""), `*.apps` →
/// ("*", "apps"), `credentials.fleet.k0rdent.io` → ("credentials", "fleet.k0rdent.io").
fn parse_name(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or((name, ""))
}

/// The fields a strict decoding does not know, as paths (`resources[0].providers[1].kms.x`).
fn unknown_fields(document: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    let known = |value: &Value, allowed: &[&str], path: &str, unknown: &mut Vec<String>| {
        if let Some(map) = value.as_object() {
            for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
                unknown.push(if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                });
            }
        }
    };
    known(
        document,
        &["apiVersion", "kind", "resources"],
        "",
        &mut unknown,
    );
    let entries = document.get("resources").and_then(Value::as_array);
    for (i, entry) in entries.into_iter().flatten().enumerate() {
        let path = format!("resources[{i}]");
        known(entry, &["resources", "providers"], &path, &mut unknown);
        let providers = entry.get("providers").and_then(Value::as_array);
        for (j, provider) in providers.into_iter().flatten().enumerate() {
            let path = format!("{path}.providers[{j}]");
            known(
                provider,
                &["aesgcm", "aescbc", "secretbox", "identity", "kms"],
                &path,
                &mut unknown,
            );
            for (name, fields) in [
                ("aesgcm", &["keys"][..]),
                ("aescbc", &["keys"][..]),
                ("secretbox", &["keys"][..]),
                ("identity", &[][..]),
                (
                    "kms",
                    &["apiVersion", "name", "cachesize", "endpoint", "timeout"][..],
                ),
            ] {
                let Some(config) = provider.get(name) else {
                    continue;
                };
                let path = format!("{path}.{name}");
                known(config, fields, &path, &mut unknown);
                let keys = config.get("keys").and_then(Value::as_array);
                for (k, key) in keys.into_iter().flatten().enumerate() {
                    known(
                        key,
                        &["name", "secret"],
                        &format!("{path}.keys[{k}]"),
                        &mut unknown,
                    );
                }
            }
        }
    }
    unknown
}

/// One checked entry of `resources`: its names and providers.
struct Entry {
    names: Vec<(String, String)>,
    providers: Vec<Provider>,
}

/// `ValidateEncryptionConfiguration`, with the checks this server adds (providers it does not
/// serve); all errors at once, as upstream aggregates them.
fn validate(document: &Value) -> Result<Vec<Entry>, ConfigError> {
    let mut errors = Vec::new();
    let entries: &[Value] = document
        .get("resources")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if entries.is_empty() {
        errors.push("resources: Required value: at least one resources is required".to_owned());
    }
    let mut checked = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("resources[{i}]");
        let names = strings(entry.get("resources"));
        if names.is_empty() {
            errors.push(format!(
                "{path}.resources: Required value: at least one {path}.resources is required"
            ));
        }
        errors.extend(check_names(&names, &format!("{path}.resources")));
        let providers: &[Value] = entry
            .get("providers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if providers.is_empty() {
            errors.push(format!(
                "{path}.providers: Required value: at least one {path}.providers is required"
            ));
        }
        let mut built = Vec::new();
        for (j, provider) in providers.iter().enumerate() {
            match check_provider(provider, &format!("{path}.providers[{j}]")) {
                Ok(provider) => built.push(provider),
                Err(mut found) => errors.append(&mut found),
            }
        }
        checked.push(Entry {
            names: names
                .iter()
                .map(|n| {
                    let (resource, group) = parse_name(n);
                    (group.to_owned(), resource.to_owned())
                })
                .collect(),
            providers: built,
        });
    }
    let mut unique = Vec::new();
    for error in errors {
        if !unique.contains(&error) {
            unique.push(error);
        }
    }
    match unique.as_slice() {
        [] => Ok(checked),
        [one] => Err(ConfigError::parsing(one.clone())),
        many => Err(ConfigError::parsing(format!("[{}]", many.join(", ")))),
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The checks of one `resources` list.
fn check_names(names: &[&str], path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let listed = go_strings(names);
    let mut seen = Vec::new();
    for name in names {
        if seen.contains(name) {
            errors.push(format!(
                "{path}: Invalid value: {listed}: the same resource cannot be specified multiple times"
            ));
            break;
        }
        seen.push(name);
    }
    // A wildcard and a name it covers in the same list.
    'overlap: for wildcard in names.iter().filter(|n| n.starts_with("*.")) {
        let (_, group) = parse_name(wildcard);
        for name in names.iter().filter(|n| *n != wildcard) {
            let (_, other_group) = parse_name(name);
            if group == "*" || group == other_group {
                errors.push(format!(
                    "{path}: Invalid value: {listed}: using overlapping resources such as '{name}' and '{wildcard}' in the same resource list is not allowed as they will be masked"
                ));
                break 'overlap;
            }
        }
    }
    for (k, name) in names.iter().enumerate() {
        let at = format!("{path}[{k}]: Invalid value: {}", quote(name));
        let (resource, group) = parse_name(name);
        if *name == "*" {
            errors.push(format!(
                "{at}: use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"
            ));
        } else if name.chars().any(|c| c.is_ascii_uppercase()) {
            errors.push(format!(
                "{at}: resource name should not contain capital letters"
            ));
        } else if group == "*" && resource != "*" {
            errors.push(format!(
                "{at}: encrypting the same resource across groups is not supported"
            ));
        }
    }
    errors
}

/// One provider: exactly one of the known kinds, served ones only.
fn check_provider(provider: &Value, path: &str) -> Result<Provider, Vec<String>> {
    let kinds: Vec<&str> = ["kms", "aesgcm", "aescbc", "secretbox", "identity"]
        .into_iter()
        .filter(|k| provider.get(*k).is_some())
        .collect();
    // Shown with its secrets redacted (kube-apiserver prints a Go struct of pointers here).
    let shown = redacted(provider);
    match kinds.as_slice() {
        [] => Err(vec![format!(
            "{path}: Invalid value: {shown}: provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity"
        )]),
        [_, _, ..] => Err(vec![format!(
            "{path}: Invalid value: {shown}: more than one provider specified in a single element, should split into different list elements"
        )]),
        ["identity"] => Ok(Provider::Identity),
        ["aesgcm"] => check_aes_gcm(&provider["aesgcm"], &format!("{path}.aesgcm")),
        [other] => Err(vec![format!(
            "{path}.{other}: Unsupported value: fleet-apiserver encrypts with aesgcm (keys of 16, 24 or 32 bytes) and reads identity; {other} is not served"
        )]),
    }
}

/// `value` with every `secret` replaced by `REDACTED`, for messages.
fn redacted(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match k.as_str() {
                    "secret" => (k.clone(), Value::String("REDACTED".into())),
                    _ => (k.clone(), redacted(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// The keys of an `aesgcm` provider: named, base64, 16, 24 or 32 bytes.
fn check_aes_gcm(config: &Value, path: &str) -> Result<Provider, Vec<String>> {
    let keys: &[Value] = config
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut errors = Vec::new();
    if keys.is_empty() {
        errors.push(format!(
            "{path}.keys: Required value: at least one keys is required"
        ));
    }
    let mut decoded = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let at = format!("{path}.keys[{k}]");
        let name = key.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            errors.push(format!(
                "{at}.name: Required value: name is a mandatory field for a key"
            ));
        }
        let secret = key
            .get("secret")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if secret.is_empty() {
            errors.push(format!(
                "{at}.secret: Required value: secret is a mandatory field for a key"
            ));
            continue;
        }
        match base64::engine::general_purpose::STANDARD.decode(secret) {
            Err(_) => errors.push(format!(
                "{at}.secret: Invalid value: \"REDACTED\": secrets must be base64 encoded"
            )),
            Ok(bytes) if ![16, 24, 32].contains(&bytes.len()) => errors.push(format!(
                "{at}.secret: Invalid value: \"REDACTED\": secret is not of the expected length, got {}, expected one of [16 24 32]",
                bytes.len()
            )),
            Ok(bytes) => decoded.push((name.to_owned(), bytes)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Provider::aes_gcm(&decoded).map_err(|e| vec![format!("{path}: {e}")])
}

/// The lookup table: providers appended per name in order; a name an earlier wildcard covers
/// is an error (`is masked by earlier rule`).
fn build(entries: Vec<Entry>) -> Result<Codecs, ConfigError> {
    let mut lists: Vec<((String, String), Vec<Provider>)> = Vec::new();
    for entry in entries {
        for (group, resource) in &entry.names {
            let masking = lists.iter().find_map(|((g, r), _)| {
                let covers = r == "*" && (g == "*" || g == group) && (g, r) != (group, resource);
                covers.then(|| group_resource(r, g))
            });
            if let Some(earlier) = masking {
                return Err(ConfigError(format!(
                    "error while building transformers: resource {} is masked by earlier rule {}",
                    quote(&group_resource(resource, group)),
                    quote(&earlier)
                )));
            }
            let key = (group.clone(), resource.clone());
            match lists.iter_mut().find(|(k, _)| *k == key) {
                Some((_, providers)) => providers.extend(entry.providers.iter().cloned()),
                None => lists.push((key, entry.providers.clone())),
            }
        }
    }
    let mut rules = Rules::default();
    for ((group, resource), providers) in lists {
        let codec = Codec::new(providers).map_err(|e| ConfigError(e.to_string()))?;
        match (group.as_str(), resource.as_str()) {
            ("*", "*") => rules.all = Some(codec),
            (_, "*") => {
                rules.groups.insert(group, codec);
            }
            _ => {
                rules.exact.insert((group, resource), codec);
            }
        }
    }
    Ok(Codecs {
        rules: Arc::new(rules),
    })
}

#[cfg(test)]
mod tests;
