use super::*;
use serde_json::json;

fn messages(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn templatesource_needs_exactly_one_member() {
    let path = "spec.source";
    assert_eq!(
        messages(&validate_source(Some(&json!({})), path)),
        ["spec.source: Invalid value: \"\": must specify one of: `helm`, `inline`"]
    );
    let both = json!({"helm": {"chart": "a", "version": "1.0.0", "repository": "oci://x"},
                      "inline": {"manifests": "x"}});
    assert_eq!(
        messages(&validate_source(Some(&both), path)),
        ["spec.source: Invalid value: \"{helm, inline}\": must specify exactly one of: `helm`, `inline`"]
    );
    assert_eq!(
        messages(&validate_source(None, path)),
        ["spec.source: Required value"]
    );
}

#[test]
fn templatesource_checks_helm_fields() {
    let helm = json!({"helm": {"chart": "-x", "version": "1.0", "repository": "ftp://h/c"}});
    assert_eq!(
        messages(&validate_source(Some(&helm), "spec.source")),
        [
            "spec.source.helm.chart: Invalid value: \"-x\": a chart name must consist of alphanumeric characters, '-', '_' or '.', and must start with an alphanumeric character (e.g. 'ingress-nginx')",
            "spec.source.helm.version: Invalid value: \"1.0\": must be a semantic version MAJOR.MINOR.PATCH, optionally prefixed with 'v' and followed by -PRERELEASE and +BUILD (e.g. '1.0.0', 'v1.16.2' or '4.12.0-rc.1')",
            "spec.source.helm.repository: Invalid value: \"ftp://h/c\": must be a URL with scheme oci://, https:// or http:// (e.g. 'oci://ghcr.io/k0rdent/kcm/charts')",
        ]
    );
    let missing = json!({"helm": {"chart": 3}});
    assert_eq!(
        messages(&validate_source(Some(&missing), "spec.source")),
        [
            "spec.source.helm.chart: Invalid value: \"integer\": spec.source.helm.chart in body must be of type string: \"integer\"",
            "spec.source.helm.version: Required value",
            "spec.source.helm.repository: Required value",
        ]
    );
}

#[test]
fn templatesource_compiles_inline_manifests() {
    let bad = json!({"inline": {"manifests": "kind: A\nname: {{ cluster.name }\n"}});
    let errors = validate_source(Some(&bad), "spec.source");
    assert_eq!(
        messages(&errors),
        ["spec.source.inline.manifests: Invalid value: syntax error: unexpected `}`, expected end of variable block (line 2)"]
    );
    let good = json!({"inline": {"manifests": "{% for i in range(2) %}n: {{ cluster.name }}-{{ config.x | default(1) }}{% endfor %}"}});
    assert!(validate_source(Some(&good), "spec.source").is_empty());
    assert!(manifests_warnings(&good, "spec.source", &["cluster", "config"]).is_empty());
    assert_eq!(
        manifests_warnings(&good, "spec.source", &["cluster", "values"]),
        ["spec.source.inline.manifests: the template refers to \"config\", which is never given; it sees only cluster and values"]
    );
}

#[test]
fn templatesource_renders_manifests_with_chained_defaults() {
    let manifests = "{% for i in range(config.workers.replicas | default(2)) %}\n- {{ cluster.name }}-{{ i }}\n{% endfor %}\nregion: {{ config.region }}";
    let context = json!({"cluster": {"name": "dev"}, "config": {"region": "eu"}});
    assert_eq!(
        render_manifests(manifests, &context).expect("renders"),
        "- dev-0\n- dev-1\nregion: eu"
    );
}

#[test]
fn templatesource_versions() {
    for good in [
        "1.0.0",
        "v1.16.2",
        "4.12.0-rc.1",
        "1.0.0+build.5",
        "0.0.0-0.a-b",
    ] {
        assert!(is_semver(good), "{good}");
    }
    for bad in [
        "1.0", "01.0.0", "1.0.0-", "1.0.0-01", "^1.0.0", "1.0.0 ", "v",
    ] {
        assert!(!is_semver(bad), "{bad}");
    }
    assert!(is_kubernetes_version("v1.33.0"));
    for bad in ["1.33.0", "v1.33", "v1.033.0", "v1.33.0+k0s.0"] {
        assert!(!is_kubernetes_version(bad), "{bad}");
    }
}

#[test]
fn templatesource_schemas_are_checked_against_the_meta_schema() {
    assert!(validate_schema(
        &json!({"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}}),
        "spec.configSchema"
    )
    .is_empty());
    assert_eq!(
        messages(&validate_schema(&json!({"type": 12}), "spec.configSchema")),
        ["spec.configSchema.type: Unsupported value: 12: supported values: \"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\""]
    );
    assert_eq!(
        messages(&validate_schema(
            &json!({"properties": {"replicas": {"type": "integr"}, "zones": {"minItems": -1}}}),
            "spec.configSchema"
        )),
        [
            "spec.configSchema.properties[replicas].type: Unsupported value: \"integr\": supported values: \"array\", \"boolean\", \"integer\", \"null\", \"number\", \"object\", \"string\"",
            "spec.configSchema.properties[zones].minItems: Invalid value: -1: -1 is less than the minimum of 0",
        ]
    );
    assert_eq!(
        messages(&validate_schema(
            &json!({"$ref": "#/definitions/missing"}),
            "spec.configSchema"
        ))
        .len(),
        1
    );
    assert_eq!(
        messages(&validate_schema(&json!({"$schema": "https://example.com/s"}), "spec.configSchema")),
        ["spec.configSchema.$schema: Unsupported value: \"https://example.com/s\": supported values: \"http://json-schema.org/draft-07/schema#\", \"http://json-schema.org/draft-06/schema#\", \"http://json-schema.org/draft-04/schema#\", \"https://json-schema.org/draft/2019-09/schema\", \"https://json-schema.org/draft/2020-12/schema\""]
    );
    assert_eq!(
        messages(&validate_schema(&json!(true), "spec.configSchema")),
        ["spec.configSchema: Invalid value: \"boolean\": spec.configSchema in body must be of type object: \"boolean\""]
    );
}

#[test]
fn templatesource_values_are_checked_against_a_schema() {
    let schema = json!({
        "type": "object",
        "required": ["region"],
        "properties": {
            "region": {"type": "string"},
            "workers": {"type": "object", "properties": {"replicas": {"type": "integer", "maximum": 10}}},
            "zones": {"type": "array", "items": {"type": "string"}},
        },
    });
    let config = json!({"workers": {"replicas": 11}, "zones": ["a", 2]});
    assert_eq!(
        messages(&validate_against(&schema, &config, "spec.config")),
        [
            "spec.config: Invalid value: \"object\": \"region\" is a required property",
            "spec.config.workers.replicas: Invalid value: 11: 11 is greater than the maximum of 10",
            "spec.config.zones[1]: Invalid value: 2: 2 is not of type \"string\"",
        ]
    );
    assert!(validate_against(&schema, &json!({"region": "eu"}), "spec.config").is_empty());
}

#[test]
fn templatesource_specs_are_immutable() {
    let old = json!({"spec": {"version": "1.0.0"}});
    assert!(validate_spec_immutable(&old, &old).is_empty());
    let new = json!({"spec": {"version": "1.0.1"}});
    assert_eq!(
        messages(&validate_spec_immutable(&new, &old)),
        ["spec: Invalid value: \"object\": field is immutable"]
    );
}
