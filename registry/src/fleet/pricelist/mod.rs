//! PriceList (`pl`, cluster-scoped): what compute costs — per instance type (and region), and
//! per CPU core, GiB of memory, GPU and GiB of storage as a fallback — in one currency. Every
//! price is a decimal string (`"0.096"`), never a JSON number, so that no price is rounded
//! through a float. PriceLists are plain configuration: nothing observes them into a status.

mod currency;
mod prices;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

pub use self::currency::is_active as is_active_currency;
pub use self::prices::{default_price_list, PRICES_AS_OF};
use crate::catalog::{AlreadyRegistered, Catalog};
use crate::field::type_error;
use crate::field::FieldError;
use crate::fleet;
use crate::meta;
use crate::resource::{ColumnSource, PrinterColumn, ResourceDefinition, Scope};
use crate::strategy::Strategy;
use crate::structural::object_schema;
pub use fleet_api::v1alpha1::pricelist::{
    FallbackRates, InstanceTypePrice, PriceListSpec, PriceListStatus,
};

/// Most digits after the decimal point of a price.
pub const MAX_DECIMALS: usize = 6;
/// Most digits before it.
const MAX_INTEGER_DIGITS: usize = 9;
/// The message of a price that is not a decimal string.
const DECIMAL_STRING: &str = "must be a decimal string such as \"0.096\"";

/// The fields of `spec.fallback`.
const FALLBACK_FIELDS: [&str; 4] = ["cpuCoreHour", "memoryGiBHour", "gpuHour", "storageGiBMonth"];

/// The definition of `pricelists.fleet.k0rdent.io`.
pub fn definition() -> ResourceDefinition {
    let mut def = ResourceDefinition::new(
        fleet::GROUP,
        fleet::VERSION,
        "PriceList",
        "pricelists",
        Scope::Cluster,
    );
    def.short_names = vec!["pl".into()];
    def.categories = fleet::categories();
    let mut schema = object_schema::<PriceListSpec, PriceListStatus>(
        "Prices of compute in one currency: per instance type and region, and per CPU core, \
         GiB of memory, GPU and GiB of storage as a fallback. Every price is a decimal string.",
    );
    if let Some(properties) = schema["properties"].as_object_mut() {
        properties.remove("status");
    }
    def.schema = Some(schema);
    def.printer_columns = columns();
    def
}

/// Registers `pricelists.fleet.k0rdent.io`.
pub fn register(catalog: &Catalog) -> Result<(), AlreadyRegistered> {
    catalog.register(definition(), Arc::new(PriceListStrategy))?;
    Ok(())
}

/// CURRENCY, INSTANCE TYPES (how many), AGE.
fn columns() -> Vec<PrinterColumn> {
    let column = |name: &str, column_type: &str, source| PrinterColumn {
        name: name.into(),
        column_type: column_type.into(),
        format: String::new(),
        description: match name {
            "Instance Types" => "How many instance types have a price.".into(),
            _ => String::new(),
        },
        priority: 0,
        source,
    };
    vec![
        column(
            "Currency",
            "string",
            ColumnSource::JsonPath(".spec.currency".into()),
        ),
        column(
            "Instance Types",
            "integer",
            ColumnSource::Computed(Arc::new(|obj: &Value| {
                json!(obj["spec"]["instanceTypes"].as_array().map_or(0, Vec::len))
            })),
        ),
        column(
            "Age",
            "date",
            ColumnSource::JsonPath(".metadata.creationTimestamp".into()),
        ),
    ]
}

#[derive(Debug)]
struct PriceListStrategy;

impl Strategy for PriceListStrategy {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let spec = &obj["spec"];
        if spec.is_null() {
            return vec![FieldError::required("spec", "")];
        }
        if !spec.is_object() {
            return vec![type_error("spec", spec, "object")];
        }
        let mut errors = validate_currency(&spec["currency"]);
        errors.extend(validate_instance_types(&spec["instanceTypes"]));
        match &spec["fallback"] {
            Value::Null => {}
            Value::Object(fallback) => {
                for field in FALLBACK_FIELDS {
                    if let Some(price) = fallback.get(field).filter(|p| !p.is_null()) {
                        errors.extend(validate_price(price, &format!("spec.fallback.{field}")));
                    }
                }
            }
            other => errors.push(type_error("spec.fallback", other, "object")),
        }
        errors
    }
}

fn validate_currency(currency: &Value) -> Vec<FieldError> {
    const PATH: &str = "spec.currency";
    let code = match currency {
        Value::Null => return vec![FieldError::required(PATH, "")],
        Value::String(code) if code.is_empty() => return vec![FieldError::required(PATH, "")],
        Value::String(code) => code,
        other => return vec![type_error(PATH, other, "string")],
    };
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return vec![FieldError::invalid(
            PATH,
            currency,
            "must be an ISO 4217 code: three uppercase letters such as \"USD\"",
        )];
    }
    if !currency::is_active(code) {
        return vec![FieldError::invalid(
            PATH,
            currency,
            "not an active ISO 4217 currency code",
        )];
    }
    Vec::new()
}

fn validate_instance_types(instance_types: &Value) -> Vec<FieldError> {
    const PATH: &str = "spec.instanceTypes";
    let items = match instance_types {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        other => return vec![type_error(PATH, other, "array")],
    };
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{PATH}[{i}]");
        if !item.is_object() {
            errors.push(type_error(&at, item, "object"));
            continue;
        }
        errors.extend(validate_instance_type(item, &at));
        let text = |field: &str| item[field].as_str().unwrap_or_default();
        let key = (text("provider"), text("region"), text("name"));
        if !seen.insert(key) {
            let mut printed = json!({"provider": key.0, "name": key.2});
            if !key.1.is_empty() {
                printed["region"] = json!(key.1);
            }
            errors.push(FieldError::duplicate(&at, &printed));
        }
    }
    errors
}

fn validate_instance_type(item: &Value, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, required) in [("provider", true), ("region", false), ("name", true)] {
        let at = format!("{path}.{field}");
        match &item[field] {
            Value::Null if required => errors.push(FieldError::required(&at, "")),
            Value::String(s) if s.is_empty() && required => {
                errors.push(FieldError::required(&at, ""))
            }
            Value::Null | Value::String(_) => {}
            other => errors.push(type_error(&at, other, "string")),
        }
    }
    if let Some(provider) = item["provider"].as_str().filter(|p| !p.is_empty()) {
        for problem in meta::dns1123_label_problems(provider) {
            errors.push(FieldError::invalid(
                &format!("{path}.provider"),
                &json!(provider),
                &problem,
            ));
        }
    }
    let hourly = format!("{path}.hourly");
    match &item["hourly"] {
        Value::Null => errors.push(FieldError::required(&hourly, "")),
        price => errors.extend(validate_price(price, &hourly)),
    }
    errors
}

/// A price: a non-negative decimal string, `^\d+(\.\d+)?$`, at most 6 decimals.
pub fn validate_price(price: &Value, path: &str) -> Option<FieldError> {
    let Value::String(text) = price else {
        return Some(FieldError::invalid(path, price, DECIMAL_STRING));
    };
    if text.is_empty() {
        return Some(FieldError::required(path, ""));
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let decimal = |s: &str| match s.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(s),
    };
    if text.strip_prefix('-').is_some_and(decimal) {
        return Some(FieldError::invalid(path, price, "must not be negative"));
    }
    if !decimal(text) {
        return Some(FieldError::invalid(path, price, DECIMAL_STRING));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > MAX_DECIMALS {
        return Some(FieldError::invalid(
            path,
            price,
            &format!("must have at most {MAX_DECIMALS} decimal places"),
        ));
    }
    if whole.len() > MAX_INTEGER_DIGITS {
        return Some(FieldError::invalid(
            path,
            price,
            &format!("must have at most {MAX_INTEGER_DIGITS} digits before the decimal point"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(spec: Value) -> Vec<String> {
        PriceListStrategy
            .validate(&json!({"metadata": {"name": "p"}, "spec": spec}))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn hourly(price: Value) -> Vec<String> {
        messages(json!({"currency": "USD", "instanceTypes": [
            {"provider": "aws", "name": "m5.large", "hourly": price}
        ]}))
    }

    #[test]
    fn the_default_price_list_is_valid_and_typed() {
        let list = default_price_list();
        assert!(PriceListStrategy.validate(&list).is_empty());
        let spec: PriceListSpec = serde_json::from_value(list["spec"].clone()).unwrap();
        assert_eq!(spec.currency, "USD");
        for provider in ["aws", "azure", "gcp"] {
            assert!(
                spec.instance_types
                    .iter()
                    .filter(|t| t.provider == provider)
                    .count()
                    >= 6
            );
        }
        assert_eq!(spec.fallback.storage_gib_month, "0.08");
        assert_eq!(serde_json::to_value(&spec).unwrap(), list["spec"]);
    }

    #[test]
    fn prices_are_non_negative_decimal_strings() {
        assert!(hourly(json!("0.096")).is_empty());
        assert!(hourly(json!("12")).is_empty());
        assert!(hourly(json!("0.000001")).is_empty());
        let path = "spec.instanceTypes[0].hourly";
        assert_eq!(
            hourly(json!(0.096)),
            [format!(
                "{path}: Invalid value: 0.096: must be a decimal string such as \"0.096\""
            )]
        );
        assert_eq!(
            hourly(json!(1)),
            [format!(
                "{path}: Invalid value: 1: must be a decimal string such as \"0.096\""
            )]
        );
        assert_eq!(
            hourly(json!("-0.5")),
            [format!(
                "{path}: Invalid value: \"-0.5\": must not be negative"
            )]
        );
        for bad in ["1e-3", ".5", "1.", "+1", " 1", "0,5", "abc", "1.2.3"] {
            assert_eq!(
                hourly(json!(bad)),
                [format!(
                    "{path}: Invalid value: {bad:?}: must be a decimal string such as \"0.096\""
                )]
            );
        }
        assert_eq!(
            hourly(json!("0.0000001")),
            [format!(
                "{path}: Invalid value: \"0.0000001\": must have at most 6 decimal places"
            )]
        );
        assert_eq!(
            hourly(json!("1234567890")),
            [format!("{path}: Invalid value: \"1234567890\": must have at most 9 digits before the decimal point")]
        );
        assert_eq!(hourly(json!("")), [format!("{path}: Required value")]);
    }

    #[test]
    fn currency_is_an_active_iso_code() {
        let currency = |c: Value| messages(json!({"currency": c}));
        assert!(currency(json!("EUR")).is_empty());
        assert_eq!(
            currency(json!("usd")),
            ["spec.currency: Invalid value: \"usd\": must be an ISO 4217 code: three uppercase letters such as \"USD\""]
        );
        assert_eq!(
            currency(json!("ABC")),
            ["spec.currency: Invalid value: \"ABC\": not an active ISO 4217 currency code"]
        );
        assert_eq!(currency(Value::Null), ["spec.currency: Required value"]);
    }

    #[test]
    fn instance_types_are_complete_and_unique() {
        assert_eq!(
            messages(json!({"currency": "USD", "instanceTypes": [
                {"provider": "aws", "region": "us-east-1", "name": "m5.large", "hourly": "0.096"},
                {"provider": "aws", "name": "m5.large", "hourly": "0.1"},
                {"provider": "aws", "region": "us-east-1", "name": "m5.large", "hourly": "0.2"},
                {"provider": "AWS", "hourly": "1"}
            ], "fallback": {"gpuHour": 0.35}})),
            [
                "spec.instanceTypes[2]: Duplicate value: {\"name\":\"m5.large\",\"provider\":\"aws\",\"region\":\"us-east-1\"}",
                "spec.instanceTypes[3].name: Required value",
                "spec.instanceTypes[3].provider: Invalid value: \"AWS\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.fallback.gpuHour: Invalid value: 0.35: must be a decimal string such as \"0.096\"",
            ]
        );
    }

    #[test]
    fn the_schema_has_no_status_and_documents_prices() {
        let def = definition();
        let schema = def.schema.unwrap();
        assert!(schema["properties"]["status"].is_null());
        let fallback = &schema["properties"]["spec"]["properties"]["fallback"]["properties"];
        assert_eq!(fallback["memoryGiBHour"]["type"], "string");
        assert_eq!(
            fallback.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["cpuCoreHour", "gpuHour", "memoryGiBHour", "storageGiBMonth"]
        );
        assert!(!def.status_subresource);
    }
}
