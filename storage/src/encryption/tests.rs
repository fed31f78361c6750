use std::path::Path;

use super::*;

const PATH: &str = "/etc/fleet/encryption.yaml";
/// base64 of 32 bytes of 0x01, of 16 of 0x02, of 8 of 0x03.
const KEY_32: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const KEY_16: &str = "AgICAgICAgICAgICAgICAg==";
const KEY_8: &str = "AwMDAwMDAwM=";

fn parse(text: &str) -> Result<Codecs, ConfigError> {
    Codecs::parse(text.as_bytes(), Path::new(PATH))
}

fn error(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn config(resources: &str) -> String {
    format!("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n{resources}")
}

#[test]
fn resources_take_the_providers_of_their_name_then_group_then_everything() {
    let codecs = parse(&config(&format!(
        "- resources: [credentials.fleet.k0rdent.io]
  providers:
  - aesgcm: {{keys: [{{name: k1, secret: {KEY_32}}}]}}
  - identity: {{}}
- resources: ['*.rbac.authorization.k8s.io']
  providers:
  - aesgcm: {{keys: [{{name: k2, secret: {KEY_16}}}]}}
"
    )))
    .unwrap();
    assert!(codecs.codec("fleet.k0rdent.io", "credentials").encrypts());
    assert!(!codecs
        .codec("fleet.k0rdent.io", "clusterdeployments")
        .encrypts());
    assert!(codecs
        .codec("rbac.authorization.k8s.io", "roles")
        .encrypts());
    assert!(!codecs.codec("", "secrets").encrypts());

    let everything = parse(&config(&format!(
        "- resources: ['*.*']\n  providers:\n  - aesgcm: {{keys: [{{name: k1, secret: {KEY_32}}}]}}\n"
    )))
    .unwrap();
    assert!(everything
        .codec("fleet.k0rdent.io", "pricelists")
        .encrypts());
    assert!(everything.codec("", "secrets").encrypts());
}

#[test]
fn the_first_provider_writes_and_every_one_reads() {
    let writing = parse(&config(&format!(
        "- resources: [credentials.fleet.k0rdent.io]\n  providers:\n  - aesgcm: {{keys: [{{name: new, secret: {KEY_16}}}, {{name: old, secret: {KEY_32}}}]}}\n"
    )))
    .unwrap();
    let old_only = parse(&config(&format!(
        "- resources: [credentials.fleet.k0rdent.io]\n  providers:\n  - aesgcm: {{keys: [{{name: old, secret: {KEY_32}}}]}}\n"
    )))
    .unwrap();
    let key = "/registry/fleet.k0rdent.io/credentials/ns/a";
    let old = old_only
        .codec("fleet.k0rdent.io", "credentials")
        .seal(key, b"{}")
        .unwrap();
    let codec = writing.codec("fleet.k0rdent.io", "credentials");
    let opened = codec.open_checked(key, &old).unwrap();
    assert_eq!(&opened.json[..], b"{}");
    assert!(opened.stale);
    let new = codec.seal(key, b"{}").unwrap();
    assert!(!codec.open_checked(key, &new).unwrap().stale);
}

#[test]
fn a_name_in_two_entries_gets_both_lists_in_order() {
    let codecs = parse(&config(&format!(
        "- resources: [credentials.fleet.k0rdent.io]
  providers:
  - identity: {{}}
- resources: [credentials.fleet.k0rdent.io]
  providers:
  - aesgcm: {{keys: [{{name: k1, secret: {KEY_32}}}]}}
"
    )))
    .unwrap();
    let codec = codecs.codec("fleet.k0rdent.io", "credentials");
    assert!(!codec.encrypts(), "the earlier entry writes");
    let encrypted = Codec::new(vec![
        Provider::aes_gcm(&[("k1".to_owned(), vec![1; 32])]).unwrap()
    ])
    .unwrap()
    .seal("/k", b"{}")
    .unwrap();
    assert!(
        codec.open_checked("/k", &encrypted).unwrap().stale,
        "the later one reads"
    );
}

#[test]
fn the_legacy_kind_is_read_too() {
    let text = "apiVersion: v1\nkind: EncryptionConfig\nresources:\n- resources: ['*.*']\n  providers:\n  - identity: {}\n";
    assert!(parse(text).is_ok());
}

#[test]
fn invalid_files_get_kube_apiservers_messages() {
    let cases: Vec<(String, String)> = vec![
        (
            String::new(),
            format!("error while parsing file: error while loading file: encryption provider configuration file \"{PATH}\" is empty"),
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\n".into(),
            "error while parsing file: error while loading file: got unexpected config type: apps/v1, Kind=Deployment".into(),
        ),
        (
            config("- resources: [secrets]\n  providers:\n  - identity: {}\n    kms: {pandas: 1}\n  - identity: {bamboo: 2}\n"),
            format!("error while parsing file: error decoding encryption provider configuration file \"{PATH}\": strict decoding error: unknown field \"resources[0].providers[0].kms.pandas\", unknown field \"resources[0].providers[1].identity.bamboo\""),
        ),
        (
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n".into(),
            "error while parsing file: resources: Required value: at least one resources is required".into(),
        ),
        (
            config("- resources: []\n  providers: []\n"),
            "error while parsing file: [resources[0].resources: Required value: at least one resources[0].resources is required, resources[0].providers: Required value: at least one resources[0].providers is required]".into(),
        ),
        (
            config("- resources: [secrets, secrets]\n  providers:\n  - identity: {}\n"),
            "error while parsing file: resources[0].resources: Invalid value: []string{\"secrets\", \"secrets\"}: the same resource cannot be specified multiple times".into(),
        ),
        (
            config("- resources: [secrets, '*.']\n  providers:\n  - identity: {}\n"),
            "error while parsing file: resources[0].resources: Invalid value: []string{\"secrets\", \"*.\"}: using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked".into(),
        ),
        (
            config("- resources: ['*', Secrets, 'secrets.*']\n  providers:\n  - identity: {}\n"),
            "error while parsing file: [resources[0].resources[0]: Invalid value: \"*\": use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources, resources[0].resources[1]: Invalid value: \"Secrets\": resource name should not contain capital letters, resources[0].resources[2]: Invalid value: \"secrets.*\": encrypting the same resource across groups is not supported]".into(),
        ),
        (
            config(&format!("- resources: [secrets]\n  providers:\n  - aesgcm: {{keys: [{{name: '', secret: ''}}, {{name: a, secret: 'not base64!'}}, {{name: b, secret: {KEY_8}}}]}}\n")),
            "error while parsing file: [resources[0].providers[0].aesgcm.keys[0].name: Required value: name is a mandatory field for a key, resources[0].providers[0].aesgcm.keys[0].secret: Required value: secret is a mandatory field for a key, resources[0].providers[0].aesgcm.keys[1].secret: Invalid value: \"REDACTED\": secrets must be base64 encoded, resources[0].providers[0].aesgcm.keys[2].secret: Invalid value: \"REDACTED\": secret is not of the expected length, got 8, expected one of [16 24 32]]".into(),
        ),
        (
            config("- resources: [secrets]\n  providers:\n  - aesgcm: {keys: []}\n"),
            "error while parsing file: resources[0].providers[0].aesgcm.keys: Required value: at least one keys is required".into(),
        ),
        (
            config("- resources: ['*.apps']\n  providers:\n  - identity: {}\n- resources: [deployments.apps]\n  providers:\n  - identity: {}\n"),
            "error while building transformers: resource \"deployments.apps\" is masked by earlier rule \"*.apps\"".into(),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error(&text), want, "{text}");
    }
}

#[test]
fn providers_this_server_does_not_serve_are_refused_by_name() {
    for (provider, body) in [
        (
            "aescbc",
            format!("{{keys: [{{name: k, secret: {KEY_32}}}]}}"),
        ),
        (
            "secretbox",
            format!("{{keys: [{{name: k, secret: {KEY_32}}}]}}"),
        ),
        (
            "kms",
            "{apiVersion: v2, name: vault, endpoint: 'unix:///kms.sock'}".to_owned(),
        ),
    ] {
        let text = config(&format!(
            "- resources: [secrets]\n  providers:\n  - {provider}: {body}\n"
        ));
        assert_eq!(
            error(&text),
            format!("error while parsing file: resources[0].providers[0].{provider}: Unsupported value: fleet-apiserver encrypts with aesgcm (keys of 16, 24 or 32 bytes) and reads identity; {provider} is not served"),
        );
    }
    let two =
        config("- resources: [secrets]\n  providers:\n  - identity: {}\n    aesgcm: {keys: []}\n");
    assert!(error(&two).contains("more than one provider specified in a single element, should split into different list elements"));
    let none = config("- resources: [secrets]\n  providers:\n  - {}\n");
    assert!(error(&none).contains("provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity"));
}

#[test]
fn messages_never_show_a_secret() {
    // An indentation slip: `identity` lands in the same list element as `aesgcm`.
    let text = config(&format!(
        "- resources: [secrets]\n  providers:\n  - aesgcm: {{keys: [{{name: k, secret: {KEY_32}}}]}}\n    identity: {{}}\n"
    ));
    let message = error(&text);
    assert!(
        message.contains("more than one provider specified"),
        "{message}"
    );
    assert!(message.contains("REDACTED"), "{message}");
    assert!(!message.contains(KEY_32), "{message}");
}
