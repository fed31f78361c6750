//! `/openapi/v2` as protobuf: the gnostic `openapi.v2.Document` message kube-apiserver serves to
//! clients asking for it, as client-go's `discovery.OpenAPISchema` does (kubectl falls back to
//! it when the OpenAPI v3 document does not tell whether a kind takes `fieldValidation`).
//!
//! k8s.io/kube-openapi `pkg/handler/handler.go` parses its JSON document with gnostic's
//! `ParseDocument` and marshals that; [`encode`] does the same with hand-written messages whose
//! field numbers are those of github.com/google/gnostic-models `openapiv2/OpenAPIv2.proto`. As
//! in gnostic, keys starting with `x-` become `NamedAny` vendor extensions, and free-form values
//! (extensions, `default`, `example`, `enum`) an `Any` whose `yaml` is the value's text. gnostic
//! writes block YAML; this module writes JSON, which is YAML too, and that is how the readers
//! (kube-openapi `pkg/util/proto`, cli-runtime's query parameter verifier) parse it.
//!
//! Not encoded, as the server's documents have none: the document's shared `parameters` and
//! `responses`, security requirements and definitions, tags, external docs, contact and
//! license, a schema's `xml`, a response's headers and examples, file schemas, and the `items`,
//! `collectionFormat` and numeric, length and pattern limits of non-body parameters.
//! Keys that OpenAPI v2 lacks (v3's `nullable`, `anyOf`, `oneOf`, `not`) are left out, as
//! kube-apiserver leaves them out of v2; gnostic would refuse the document.

use prost::{Message, Oneof};
use serde_json::Value;

/// The media type kube-apiserver answers with (kube-openapi `pkg/handler/handler.go`).
pub const MEDIA_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The older spelling kube-apiserver accepts as well; client-go asks for this one
/// (`discovery/discovery_client.go`, `openAPIV2mimePb`).
pub const MEDIA_TYPE_DEPRECATED: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The protobuf form of an OpenAPI v2 JSON document.
pub fn encode(document: &Value) -> Vec<u8> {
    Document::from_json(document).encode_to_vec()
}

/// `Document`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Document {
    #[prost(string, tag = "1")]
    pub(super) swagger: String,
    #[prost(message, optional, tag = "2")]
    pub(super) info: Option<Info>,
    #[prost(string, tag = "3")]
    pub(super) host: String,
    #[prost(string, tag = "4")]
    pub(super) base_path: String,
    #[prost(string, repeated, tag = "5")]
    pub(super) schemes: Vec<String>,
    #[prost(string, repeated, tag = "6")]
    pub(super) consumes: Vec<String>,
    #[prost(string, repeated, tag = "7")]
    pub(super) produces: Vec<String>,
    #[prost(message, optional, tag = "8")]
    pub(super) paths: Option<Paths>,
    #[prost(message, optional, tag = "9")]
    pub(super) definitions: Option<Definitions>,
    #[prost(message, repeated, tag = "16")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `Info`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Info {
    #[prost(string, tag = "1")]
    pub(super) title: String,
    #[prost(string, tag = "2")]
    pub(super) version: String,
    #[prost(string, tag = "3")]
    pub(super) description: String,
    #[prost(string, tag = "4")]
    pub(super) terms_of_service: String,
    #[prost(message, repeated, tag = "7")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `Any`: a free-form value as YAML text (its `google.protobuf.Any value = 1` is never set).
#[derive(Clone, PartialEq, Message)]
pub(super) struct Any {
    #[prost(string, tag = "2")]
    pub(super) yaml: String,
}

/// `NamedAny`: one vendor extension.
#[derive(Clone, PartialEq, Message)]
pub(super) struct NamedAny {
    #[prost(string, tag = "1")]
    pub(super) name: String,
    #[prost(message, optional, tag = "2")]
    pub(super) value: Option<Any>,
}

/// `Paths`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Paths {
    #[prost(message, repeated, tag = "1")]
    pub(super) vendor_extension: Vec<NamedAny>,
    #[prost(message, repeated, tag = "2")]
    pub(super) path: Vec<NamedPathItem>,
}

/// `NamedPathItem`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct NamedPathItem {
    #[prost(string, tag = "1")]
    pub(super) name: String,
    #[prost(message, optional, tag = "2")]
    pub(super) value: Option<PathItem>,
}

/// `PathItem`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct PathItem {
    /// `$ref`.
    #[prost(string, tag = "1")]
    pub(super) reference: String,
    #[prost(message, optional, tag = "2")]
    pub(super) get: Option<Operation>,
    #[prost(message, optional, tag = "3")]
    pub(super) put: Option<Operation>,
    #[prost(message, optional, tag = "4")]
    pub(super) post: Option<Operation>,
    #[prost(message, optional, tag = "5")]
    pub(super) delete: Option<Operation>,
    #[prost(message, optional, tag = "6")]
    pub(super) options: Option<Operation>,
    #[prost(message, optional, tag = "7")]
    pub(super) head: Option<Operation>,
    #[prost(message, optional, tag = "8")]
    pub(super) patch: Option<Operation>,
    #[prost(message, repeated, tag = "9")]
    pub(super) parameters: Vec<ParametersItem>,
    #[prost(message, repeated, tag = "10")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `Operation`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Operation {
    #[prost(string, repeated, tag = "1")]
    pub(super) tags: Vec<String>,
    #[prost(string, tag = "2")]
    pub(super) summary: String,
    #[prost(string, tag = "3")]
    pub(super) description: String,
    #[prost(string, tag = "5")]
    pub(super) operation_id: String,
    #[prost(string, repeated, tag = "6")]
    pub(super) produces: Vec<String>,
    #[prost(string, repeated, tag = "7")]
    pub(super) consumes: Vec<String>,
    #[prost(message, repeated, tag = "8")]
    pub(super) parameters: Vec<ParametersItem>,
    #[prost(message, optional, tag = "9")]
    pub(super) responses: Option<Responses>,
    #[prost(string, repeated, tag = "10")]
    pub(super) schemes: Vec<String>,
    #[prost(bool, tag = "11")]
    pub(super) deprecated: bool,
    #[prost(message, repeated, tag = "13")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `ParametersItem`: a parameter or a `$ref` to one.
#[derive(Clone, PartialEq, Message)]
pub(super) struct ParametersItem {
    #[prost(oneof = "ParametersItemOneof", tags = "1, 2")]
    pub(super) oneof: Option<ParametersItemOneof>,
}

/// `ParametersItem.oneof`.
#[derive(Clone, PartialEq, Oneof)]
pub(super) enum ParametersItemOneof {
    #[prost(message, tag = "1")]
    Parameter(Parameter),
    #[prost(message, tag = "2")]
    JsonReference(JsonReference),
}

/// `JsonReference`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct JsonReference {
    /// `$ref`.
    #[prost(string, tag = "1")]
    pub(super) reference: String,
    #[prost(string, tag = "2")]
    pub(super) description: String,
}

/// `Parameter`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Parameter {
    #[prost(oneof = "ParameterOneof", tags = "1, 2")]
    pub(super) oneof: Option<ParameterOneof>,
}

/// `Parameter.oneof`.
#[derive(Clone, PartialEq, Oneof)]
pub(super) enum ParameterOneof {
    #[prost(message, tag = "1")]
    BodyParameter(Box<BodyParameter>),
    #[prost(message, tag = "2")]
    NonBodyParameter(NonBodyParameter),
}

/// `BodyParameter`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct BodyParameter {
    #[prost(string, tag = "1")]
    pub(super) description: String,
    #[prost(string, tag = "2")]
    pub(super) name: String,
    #[prost(string, tag = "3")]
    pub(super) r#in: String,
    #[prost(bool, tag = "4")]
    pub(super) required: bool,
    #[prost(message, optional, tag = "5")]
    pub(super) schema: Option<Schema>,
    #[prost(message, repeated, tag = "6")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `NonBodyParameter`. `HeaderParameterSubSchema` numbers its fields as
/// `PathParameterSubSchema` does, and `FormDataParameterSubSchema` as
/// `QueryParameterSubSchema`, so one message stands for each pair.
#[derive(Clone, PartialEq, Message)]
pub(super) struct NonBodyParameter {
    #[prost(oneof = "NonBodyParameterOneof", tags = "1, 2, 3, 4")]
    pub(super) oneof: Option<NonBodyParameterOneof>,
}

/// `NonBodyParameter.oneof`, by the parameter's `in`.
#[derive(Clone, PartialEq, Oneof)]
pub(super) enum NonBodyParameterOneof {
    #[prost(message, tag = "1")]
    Header(PathParameterSubSchema),
    #[prost(message, tag = "2")]
    FormData(QueryParameterSubSchema),
    #[prost(message, tag = "3")]
    Query(QueryParameterSubSchema),
    #[prost(message, tag = "4")]
    Path(PathParameterSubSchema),
}

/// `QueryParameterSubSchema` (and `FormDataParameterSubSchema`).
#[derive(Clone, PartialEq, Message)]
pub(super) struct QueryParameterSubSchema {
    #[prost(bool, tag = "1")]
    pub(super) required: bool,
    #[prost(string, tag = "2")]
    pub(super) r#in: String,
    #[prost(string, tag = "3")]
    pub(super) description: String,
    #[prost(string, tag = "4")]
    pub(super) name: String,
    #[prost(bool, tag = "5")]
    pub(super) allow_empty_value: bool,
    #[prost(string, tag = "6")]
    pub(super) r#type: String,
    #[prost(string, tag = "7")]
    pub(super) format: String,
    #[prost(message, optional, tag = "10")]
    pub(super) default: Option<Any>,
    #[prost(bool, tag = "20")]
    pub(super) unique_items: bool,
    #[prost(message, repeated, tag = "21")]
    pub(super) r#enum: Vec<Any>,
    #[prost(message, repeated, tag = "23")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `PathParameterSubSchema` (and `HeaderParameterSubSchema`).
#[derive(Clone, PartialEq, Message)]
pub(super) struct PathParameterSubSchema {
    #[prost(bool, tag = "1")]
    pub(super) required: bool,
    #[prost(string, tag = "2")]
    pub(super) r#in: String,
    #[prost(string, tag = "3")]
    pub(super) description: String,
    #[prost(string, tag = "4")]
    pub(super) name: String,
    #[prost(string, tag = "5")]
    pub(super) r#type: String,
    #[prost(string, tag = "6")]
    pub(super) format: String,
    #[prost(message, optional, tag = "9")]
    pub(super) default: Option<Any>,
    #[prost(bool, tag = "19")]
    pub(super) unique_items: bool,
    #[prost(message, repeated, tag = "20")]
    pub(super) r#enum: Vec<Any>,
    #[prost(message, repeated, tag = "22")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `Responses`: by status code (or `default`).
#[derive(Clone, PartialEq, Message)]
pub(super) struct Responses {
    #[prost(message, repeated, tag = "1")]
    pub(super) response_code: Vec<NamedResponseValue>,
    #[prost(message, repeated, tag = "2")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `NamedResponseValue`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct NamedResponseValue {
    #[prost(string, tag = "1")]
    pub(super) name: String,
    #[prost(message, optional, tag = "2")]
    pub(super) value: Option<ResponseValue>,
}

/// `ResponseValue`: a response or a `$ref` to one.
#[derive(Clone, PartialEq, Message)]
pub(super) struct ResponseValue {
    #[prost(oneof = "ResponseValueOneof", tags = "1, 2")]
    pub(super) oneof: Option<ResponseValueOneof>,
}

/// `ResponseValue.oneof`.
#[derive(Clone, PartialEq, Oneof)]
pub(super) enum ResponseValueOneof {
    #[prost(message, tag = "1")]
    Response(Box<Response>),
    #[prost(message, tag = "2")]
    JsonReference(JsonReference),
}

/// `Response`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Response {
    #[prost(string, tag = "1")]
    pub(super) description: String,
    #[prost(message, optional, tag = "2")]
    pub(super) schema: Option<SchemaItem>,
    #[prost(message, repeated, tag = "5")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `SchemaItem`; its `file_schema` (2) is never set.
#[derive(Clone, PartialEq, Message)]
pub(super) struct SchemaItem {
    #[prost(oneof = "SchemaItemOneof", tags = "1")]
    pub(super) oneof: Option<SchemaItemOneof>,
}

/// `SchemaItem.oneof`.
#[derive(Clone, PartialEq, Oneof)]
pub(super) enum SchemaItemOneof {
    #[prost(message, tag = "1")]
    Schema(Schema),
}

/// `Definitions`: the schemas by name.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Definitions {
    #[prost(message, repeated, tag = "1")]
    pub(super) additional_properties: Vec<NamedSchema>,
}

/// `NamedSchema`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct NamedSchema {
    #[prost(string, tag = "1")]
    pub(super) name: String,
    #[prost(message, optional, tag = "2")]
    pub(super) value: Option<Schema>,
}

/// `Schema`, without `xml` (28) and `external_docs` (29).
#[derive(Clone, PartialEq, Message)]
pub(super) struct Schema {
    /// `$ref`.
    #[prost(string, tag = "1")]
    pub(super) reference: String,
    #[prost(string, tag = "2")]
    pub(super) format: String,
    #[prost(string, tag = "3")]
    pub(super) title: String,
    #[prost(string, tag = "4")]
    pub(super) description: String,
    #[prost(message, optional, tag = "5")]
    pub(super) default: Option<Any>,
    #[prost(double, tag = "6")]
    pub(super) multiple_of: f64,
    #[prost(double, tag = "7")]
    pub(super) maximum: f64,
    #[prost(bool, tag = "8")]
    pub(super) exclusive_maximum: bool,
    #[prost(double, tag = "9")]
    pub(super) minimum: f64,
    #[prost(bool, tag = "10")]
    pub(super) exclusive_minimum: bool,
    #[prost(int64, tag = "11")]
    pub(super) max_length: i64,
    #[prost(int64, tag = "12")]
    pub(super) min_length: i64,
    #[prost(string, tag = "13")]
    pub(super) pattern: String,
    #[prost(int64, tag = "14")]
    pub(super) max_items: i64,
    #[prost(int64, tag = "15")]
    pub(super) min_items: i64,
    #[prost(bool, tag = "16")]
    pub(super) unique_items: bool,
    #[prost(int64, tag = "17")]
    pub(super) max_properties: i64,
    #[prost(int64, tag = "18")]
    pub(super) min_properties: i64,
    #[prost(string, repeated, tag = "19")]
    pub(super) required: Vec<String>,
    #[prost(message, repeated, tag = "20")]
    pub(super) r#enum: Vec<Any>,
    #[prost(message, optional, tag = "21")]
    pub(super) additional_properties: Option<AdditionalPropertiesItem>,
    #[prost(message, optional, tag = "22")]
    pub(super) r#type: Option<TypeItem>,
    #[prost(message, optional, tag = "23")]
    pub(super) items: Option<ItemsItem>,
    #[prost(message, repeated, tag = "24")]
    pub(super) all_of: Vec<Schema>,
    #[prost(message, optional, tag = "25")]
    pub(super) properties: Option<Properties>,
    #[prost(string, tag = "26")]
    pub(super) discriminator: String,
    #[prost(bool, tag = "27")]
    pub(super) read_only: bool,
    #[prost(message, optional, tag = "30")]
    pub(super) example: Option<Any>,
    #[prost(message, repeated, tag = "31")]
    pub(super) vendor_extension: Vec<NamedAny>,
}

/// `AdditionalPropertiesItem`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct AdditionalPropertiesItem {
    #[prost(oneof = "AdditionalPropertiesOneof", tags = "1, 2")]
    pub(super) oneof: Option<AdditionalPropertiesOneof>,
}

/// `AdditionalPropertiesItem.oneof`: a schema for the values, or whether any are allowed.
#[derive(Clone, PartialEq, Oneof)]
pub(super) enum AdditionalPropertiesOneof {
    #[prost(message, tag = "1")]
    Schema(Box<Schema>),
    #[prost(bool, tag = "2")]
    Boolean(bool),
}

/// `TypeItem`: `type`, one name or several.
#[derive(Clone, PartialEq, Message)]
pub(super) struct TypeItem {
    #[prost(string, repeated, tag = "1")]
    pub(super) value: Vec<String>,
}

/// `ItemsItem`: `items`, one schema or several.
#[derive(Clone, PartialEq, Message)]
pub(super) struct ItemsItem {
    #[prost(message, repeated, tag = "1")]
    pub(super) schema: Vec<Schema>,
}

/// `Properties`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Properties {
    #[prost(message, repeated, tag = "1")]
    pub(super) additional_properties: Vec<NamedSchema>,
}

/// A message built from its JSON form, as gnostic's `New<Message>` functions build it.
trait FromJson {
    fn from_json(v: &Value) -> Self;
}

impl FromJson for Document {
    fn from_json(v: &Value) -> Self {
        Document {
            swagger: text(v, "swagger"),
            info: message(v, "info"),
            host: text(v, "host"),
            base_path: text(v, "basePath"),
            schemes: texts(v, "schemes"),
            consumes: texts(v, "consumes"),
            produces: texts(v, "produces"),
            paths: message(v, "paths"),
            definitions: v.get("definitions").map(|d| Definitions {
                additional_properties: named(d, |name, value| NamedSchema { name, value }),
            }),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for Info {
    fn from_json(v: &Value) -> Self {
        Info {
            title: text(v, "title"),
            version: text(v, "version"),
            description: text(v, "description"),
            terms_of_service: text(v, "termsOfService"),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for Any {
    fn from_json(v: &Value) -> Self {
        Any {
            yaml: v.to_string(),
        }
    }
}

impl FromJson for Paths {
    fn from_json(v: &Value) -> Self {
        Paths {
            vendor_extension: extensions(v),
            path: named(v, |name, value| NamedPathItem { name, value }),
        }
    }
}

impl FromJson for PathItem {
    fn from_json(v: &Value) -> Self {
        PathItem {
            reference: text(v, "$ref"),
            get: message(v, "get"),
            put: message(v, "put"),
            post: message(v, "post"),
            delete: message(v, "delete"),
            options: message(v, "options"),
            head: message(v, "head"),
            patch: message(v, "patch"),
            parameters: messages(v, "parameters"),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for Operation {
    fn from_json(v: &Value) -> Self {
        Operation {
            tags: texts(v, "tags"),
            summary: text(v, "summary"),
            description: text(v, "description"),
            operation_id: text(v, "operationId"),
            produces: texts(v, "produces"),
            consumes: texts(v, "consumes"),
            parameters: messages(v, "parameters"),
            responses: message(v, "responses"),
            schemes: texts(v, "schemes"),
            deprecated: flag(v, "deprecated"),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for ParametersItem {
    fn from_json(v: &Value) -> Self {
        let oneof = match v.get("$ref") {
            Some(_) => ParametersItemOneof::JsonReference(JsonReference::from_json(v)),
            None => ParametersItemOneof::Parameter(Parameter::from_json(v)),
        };
        ParametersItem { oneof: Some(oneof) }
    }
}

impl FromJson for JsonReference {
    fn from_json(v: &Value) -> Self {
        JsonReference {
            reference: text(v, "$ref"),
            description: text(v, "description"),
        }
    }
}

impl FromJson for Parameter {
    fn from_json(v: &Value) -> Self {
        use NonBodyParameterOneof::{FormData, Header, Path, Query};
        let non_body = |oneof| ParameterOneof::NonBodyParameter(NonBodyParameter { oneof });
        let oneof = match text(v, "in").as_str() {
            "body" => Some(ParameterOneof::BodyParameter(Box::new(BodyParameter {
                description: text(v, "description"),
                name: text(v, "name"),
                r#in: text(v, "in"),
                required: flag(v, "required"),
                schema: message(v, "schema"),
                vendor_extension: extensions(v),
            }))),
            "query" => Some(non_body(Some(Query(FromJson::from_json(v))))),
            "formData" => Some(non_body(Some(FormData(FromJson::from_json(v))))),
            "path" => Some(non_body(Some(Path(FromJson::from_json(v))))),
            "header" => Some(non_body(Some(Header(FromJson::from_json(v))))),
            _ => None,
        };
        Parameter { oneof }
    }
}

impl FromJson for QueryParameterSubSchema {
    fn from_json(v: &Value) -> Self {
        QueryParameterSubSchema {
            required: flag(v, "required"),
            r#in: text(v, "in"),
            description: text(v, "description"),
            name: text(v, "name"),
            allow_empty_value: flag(v, "allowEmptyValue"),
            r#type: text(v, "type"),
            format: text(v, "format"),
            default: message(v, "default"),
            unique_items: flag(v, "uniqueItems"),
            r#enum: messages(v, "enum"),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for PathParameterSubSchema {
    fn from_json(v: &Value) -> Self {
        PathParameterSubSchema {
            required: flag(v, "required"),
            r#in: text(v, "in"),
            description: text(v, "description"),
            name: text(v, "name"),
            r#type: text(v, "type"),
            format: text(v, "format"),
            default: message(v, "default"),
            unique_items: flag(v, "uniqueItems"),
            r#enum: messages(v, "enum"),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for Responses {
    fn from_json(v: &Value) -> Self {
        Responses {
            response_code: named(v, |name, value| NamedResponseValue { name, value }),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for ResponseValue {
    fn from_json(v: &Value) -> Self {
        let oneof = match v.get("$ref") {
            Some(_) => ResponseValueOneof::JsonReference(JsonReference::from_json(v)),
            None => ResponseValueOneof::Response(Box::new(Response::from_json(v))),
        };
        ResponseValue { oneof: Some(oneof) }
    }
}

impl FromJson for Response {
    fn from_json(v: &Value) -> Self {
        Response {
            description: text(v, "description"),
            schema: v.get("schema").map(|s| SchemaItem {
                oneof: Some(SchemaItemOneof::Schema(Schema::from_json(s))),
            }),
            vendor_extension: extensions(v),
        }
    }
}

impl FromJson for Schema {
    fn from_json(v: &Value) -> Self {
        Schema {
            reference: text(v, "$ref"),
            format: text(v, "format"),
            title: text(v, "title"),
            description: text(v, "description"),
            default: message(v, "default"),
            multiple_of: number(v, "multipleOf"),
            maximum: number(v, "maximum"),
            exclusive_maximum: flag(v, "exclusiveMaximum"),
            minimum: number(v, "minimum"),
            exclusive_minimum: flag(v, "exclusiveMinimum"),
            max_length: integer(v, "maxLength"),
            min_length: integer(v, "minLength"),
            pattern: text(v, "pattern"),
            max_items: integer(v, "maxItems"),
            min_items: integer(v, "minItems"),
            unique_items: flag(v, "uniqueItems"),
            max_properties: integer(v, "maxProperties"),
            min_properties: integer(v, "minProperties"),
            required: texts(v, "required"),
            r#enum: messages(v, "enum"),
            additional_properties: v.get("additionalProperties").and_then(|a| {
                let oneof = match a {
                    Value::Bool(allowed) => AdditionalPropertiesOneof::Boolean(*allowed),
                    Value::Object(_) => {
                        AdditionalPropertiesOneof::Schema(Box::new(Schema::from_json(a)))
                    }
                    _ => return None,
                };
                Some(AdditionalPropertiesItem { oneof: Some(oneof) })
            }),
            r#type: v.get("type").and_then(|t| match t {
                Value::String(name) => Some(TypeItem {
                    value: vec![name.clone()],
                }),
                Value::Array(_) => Some(TypeItem {
                    value: texts(v, "type"),
                }),
                _ => None,
            }),
            items: v.get("items").and_then(|i| match i {
                Value::Object(_) => Some(ItemsItem {
                    schema: vec![Schema::from_json(i)],
                }),
                Value::Array(all) => Some(ItemsItem {
                    schema: all.iter().map(Schema::from_json).collect(),
                }),
                _ => None,
            }),
            all_of: messages(v, "allOf"),
            properties: v.get("properties").map(|p| Properties {
                additional_properties: named(p, |name, value| NamedSchema { name, value }),
            }),
            discriminator: text(v, "discriminator"),
            read_only: flag(v, "readOnly"),
            example: message(v, "example"),
            vendor_extension: extensions(v),
        }
    }
}

/// The message at `key`, when there is one.
fn message<M: FromJson>(v: &Value, key: &str) -> Option<M> {
    v.get(key).map(M::from_json)
}

/// The messages of the array at `key`.
fn messages<M: FromJson>(v: &Value, key: &str) -> Vec<M> {
    let items = v.get(key).and_then(Value::as_array);
    items.into_iter().flatten().map(M::from_json).collect()
}

/// The entries of an object that are not vendor extensions, as `Named<Message>`s.
fn named<M: FromJson, N>(v: &Value, make: impl Fn(String, Option<M>) -> N) -> Vec<N> {
    let entries = v.as_object().into_iter().flatten();
    entries
        .filter(|(key, _)| !key.starts_with("x-"))
        .map(|(key, value)| make(key.clone(), Some(M::from_json(value))))
        .collect()
}

/// The `x-` entries of an object.
fn extensions(v: &Value) -> Vec<NamedAny> {
    let entries = v.as_object().into_iter().flatten();
    entries
        .filter(|(key, _)| key.starts_with("x-"))
        .map(|(key, value)| NamedAny {
            name: key.clone(),
            value: Some(Any::from_json(value)),
        })
        .collect()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn texts(v: &Value, key: &str) -> Vec<String> {
    let items = v.get(key).and_then(Value::as_array);
    let strings = items.into_iter().flatten().filter_map(Value::as_str);
    strings.map(str::to_owned).collect()
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or_default()
}

fn number(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or_default()
}

fn integer(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use registry::Catalog;
    use serde_json::json;

    use super::*;

    fn decode(document: &Value) -> Document {
        Document::decode(encode(document).as_slice()).expect("our own bytes decode")
    }

    fn path<'a>(doc: &'a Document, name: &str) -> &'a PathItem {
        let paths = &doc.paths.as_ref().expect("paths").path;
        let item = paths.iter().find(|p| p.name == name).expect(name);
        item.value.as_ref().expect("path item")
    }

    fn definition<'a>(doc: &'a Document, name: &str) -> &'a Schema {
        let definitions = doc.definitions.as_ref().expect("definitions");
        let mut named = definitions.additional_properties.iter();
        let schema = named.find(|s| s.name == name).expect(name);
        schema.value.as_ref().expect("schema")
    }

    fn property<'a>(schema: &'a Schema, name: &str) -> &'a Schema {
        let properties = schema.properties.as_ref().expect("properties");
        let mut named = properties.additional_properties.iter();
        let property = named.find(|s| s.name == name).expect(name);
        property.value.as_ref().expect("property schema")
    }

    /// The JSON value of the vendor extension `name`.
    fn extension(extensions: &[NamedAny], name: &str) -> Value {
        let found = extensions.iter().find(|e| e.name == name).expect(name);
        let yaml = &found.value.as_ref().expect("value").yaml;
        serde_json::from_str(yaml).expect("the YAML is JSON")
    }

    fn parameter(item: &ParametersItem) -> Option<&ParameterOneof> {
        match &item.oneof {
            Some(ParametersItemOneof::Parameter(p)) => p.oneof.as_ref(),
            _ => None,
        }
    }

    fn non_body(item: &ParametersItem) -> Option<&NonBodyParameterOneof> {
        match parameter(item) {
            Some(ParameterOneof::NonBodyParameter(p)) => p.oneof.as_ref(),
            _ => None,
        }
    }

    fn query_parameters(op: &Operation) -> Vec<&str> {
        let parameters = op.parameters.iter().filter_map(|p| match non_body(p) {
            Some(NonBodyParameterOneof::Query(q)) => Some(q.name.as_str()),
            _ => None,
        });
        parameters.collect()
    }

    #[test]
    fn swagger_info_paths_and_definitions_have_gnostic_field_numbers() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "t", "version": "v"},
            "paths": {"/a": {}},
            "definitions": {"A": {"type": "object"}},
        });
        let mut expected = vec![0x0a, 3, b'2', b'.', b'0']; // 1: swagger
        expected.extend([0x12, 6, 0x0a, 1, b't', 0x12, 1, b'v']); // 2: info {1: title, 2: version}
                                                                  // 8: paths {2: path {1: name, 2: value (empty PathItem)}}
        expected.extend([0x42, 8, 0x12, 6, 0x0a, 2, b'/', b'a', 0x12, 0]);
        // 9: definitions {1: {1: name, 2: Schema {22: type {1: "object"}}}}
        expected.extend([0x4a, 18, 0x0a, 16, 0x0a, 1, b'A', 0x12, 11, 0xb2, 0x01, 8]);
        expected.extend([0x0a, 6]);
        expected.extend(b"object");
        assert_eq!(encode(&doc), expected);
    }

    #[test]
    fn operations_keep_parameters_responses_and_extensions() {
        let doc = decode(&json!({
            "swagger": "2.0",
            "paths": {
                "/apis/g/v1/things": {
                    "parameters": [{"name": "namespace", "in": "path", "required": true, "type": "string"}],
                    "post": {
                        "operationId": "createThing",
                        "consumes": ["application/json"],
                        "parameters": [
                            {"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/g.v1.Thing"}},
                            {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": true},
                            {"$ref": "#/parameters/shared"},
                        ],
                        "responses": {
                            "201": {"description": "Created", "schema": {"$ref": "#/definitions/g.v1.Thing"}},
                            "401": {"description": "Unauthorized"},
                        },
                        "x-kubernetes-action": "post",
                        "x-kubernetes-group-version-kind": {"group": "g", "version": "v1", "kind": "Thing"},
                    },
                },
            },
        }));
        let item = path(&doc, "/apis/g/v1/things");
        assert!(
            matches!(non_body(&item.parameters[0]), Some(NonBodyParameterOneof::Path(p)) if p.required && p.name == "namespace")
        );
        assert!(item.get.is_none() && item.patch.is_none());
        let post = item.post.as_ref().expect("post");
        assert_eq!(post.operation_id, "createThing");
        assert_eq!(post.consumes, ["application/json"]);
        assert_eq!(query_parameters(post), ["fieldValidation"]);
        match parameter(&post.parameters[0]) {
            Some(ParameterOneof::BodyParameter(body)) => {
                assert!(body.required);
                let schema = body.schema.as_ref().expect("schema");
                assert_eq!(schema.reference, "#/definitions/g.v1.Thing");
            }
            other => panic!("not a body parameter: {other:?}"),
        }
        assert!(matches!(&post.parameters[2].oneof,
            Some(ParametersItemOneof::JsonReference(r)) if r.reference == "#/parameters/shared"));
        let responses = &post.responses.as_ref().expect("responses").response_code;
        let codes: Vec<&str> = responses.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(codes, ["201", "401"]);
        assert_eq!(
            extension(&post.vendor_extension, "x-kubernetes-group-version-kind"),
            json!({"group": "g", "version": "v1", "kind": "Thing"})
        );
        assert_eq!(
            extension(&post.vendor_extension, "x-kubernetes-action"),
            "post"
        );
    }

    #[test]
    fn schemas_keep_their_structure_and_extensions() {
        let doc = decode(&json!({
            "definitions": {
                "g.v1.Thing": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "metadata": {"allOf": [{"$ref": "#/definitions/meta.ObjectMeta"}]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "open": {"type": "object", "additionalProperties": true},
                        "phase": {"type": "string", "enum": ["Ready", "Failed"], "default": "Ready"},
                        "owners": {"type": "array", "items": {"type": "string"}, "maxItems": 3,
                                   "x-kubernetes-patch-strategy": "merge"},
                        "empty": {"type": "object", "properties": {}},
                        "maybe": {"type": "string", "nullable": true},
                    },
                    "x-kubernetes-group-version-kind": [{"group": "g", "version": "v1", "kind": "Thing"}],
                },
            },
        }));
        let thing = definition(&doc, "g.v1.Thing");
        assert_eq!(thing.r#type.as_ref().expect("type").value, ["object"]);
        assert_eq!(thing.required, ["spec"]);
        assert_eq!(
            extension(&thing.vendor_extension, "x-kubernetes-group-version-kind"),
            json!([{"group": "g", "version": "v1", "kind": "Thing"}])
        );
        let metadata = property(thing, "metadata");
        assert_eq!(
            metadata.all_of[0].reference,
            "#/definitions/meta.ObjectMeta"
        );
        assert!(metadata.r#type.is_none());
        let labels = property(thing, "labels").additional_properties.clone();
        assert!(matches!(labels.and_then(|a| a.oneof),
            Some(AdditionalPropertiesOneof::Schema(s)) if s.r#type.as_ref().is_some_and(|t| t.value == ["string"])));
        let open = property(thing, "open").additional_properties.clone();
        assert_eq!(
            open.and_then(|a| a.oneof),
            Some(AdditionalPropertiesOneof::Boolean(true))
        );
        let phase = property(thing, "phase");
        let values: Vec<&str> = phase.r#enum.iter().map(|a| a.yaml.as_str()).collect();
        assert_eq!(values, [r#""Ready""#, r#""Failed""#]);
        assert_eq!(phase.default.as_ref().expect("default").yaml, r#""Ready""#);
        let owners = property(thing, "owners");
        assert_eq!(owners.max_items, 3);
        assert_eq!(owners.items.as_ref().expect("items").schema.len(), 1);
        assert_eq!(
            extension(&owners.vendor_extension, "x-kubernetes-patch-strategy"),
            "merge"
        );
        // kube-openapi tells a kind from a map by whether `properties` is set, even if empty.
        assert!(property(thing, "empty").properties.is_some());
        assert_eq!(
            property(thing, "maybe")
                .r#type
                .as_ref()
                .expect("type")
                .value,
            ["string"]
        );
    }

    #[test]
    fn the_served_document_says_which_operations_take_field_validation() {
        let catalog = Catalog::new();
        registry::rbac::install(&catalog).expect("rbac kinds register");
        crate::handlers::review::install(&catalog).expect("review kinds register");
        let resources: Vec<Arc<registry::Resource>> = catalog.all();
        let served: Vec<&registry::Resource> = resources.iter().map(AsRef::as_ref).collect();
        let doc = decode(&super::super::v2_document(&served));
        assert_eq!(doc.swagger, "2.0");
        let reviews = path(
            &doc,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        );
        assert!(reviews.patch.is_none());
        let create = reviews.post.as_ref().expect("post");
        assert!(query_parameters(create).contains(&"fieldValidation"));
        assert_eq!(
            extension(&create.vendor_extension, "x-kubernetes-group-version-kind"),
            json!({"group": "authorization.k8s.io", "version": "v1", "kind": "SelfSubjectAccessReview"})
        );
        let role = path(
            &doc,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}",
        );
        let patch = role.patch.as_ref().expect("patch");
        assert!(query_parameters(patch).contains(&"fieldValidation"));
        assert!(patch
            .consumes
            .contains(&"application/strategic-merge-patch+json".to_owned()));
        let meta = definition(&doc, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
        let owners = property(meta, "ownerReferences");
        assert_eq!(
            extension(&owners.vendor_extension, "x-kubernetes-patch-merge-key"),
            "uid"
        );
    }
}
