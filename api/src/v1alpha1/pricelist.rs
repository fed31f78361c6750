//! PriceList: what compute costs — per instance type (and region), and per CPU core, GiB of
//! memory, GPU and GiB of storage as a fallback — in one currency. Every price is a decimal
//! string (`"0.096"`), never a JSON number, so that no price is rounded through a float.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Prices in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceListSpec {
    /// ISO 4217 code of the currency of every price (e.g. `USD`, `EUR`).
    pub currency: String,
    /// Price per hour of instance types, unique per provider, region and name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_types: Vec<InstanceTypePrice>,
    /// Per-resource rates for machines whose instance type has no price here.
    #[serde(default)]
    pub fallback: FallbackRates,
}

/// The price of one instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceTypePrice {
    /// The ClusterTemplate provider (e.g. `aws`, `azure`, `gcp`).
    pub provider: String,
    /// The provider region (e.g. `us-east-1`); empty: any region without its own entry.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// The provider's instance type name (e.g. `m5.large`, `Standard_D2s_v5`).
    pub name: String,
    /// Price per hour: a decimal string such as `"0.096"` (never a number), at most 6
    /// decimals.
    #[schemars(regex(pattern = r"^\d+(\.\d+)?$"))]
    pub hourly: String,
}

/// Per-resource rates, each a decimal string such as `"0.031611"` (never a number), at most
/// 6 decimals. A missing rate is unknown (costs that need it are not computed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FallbackRates {
    /// Price of one CPU core for an hour.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^\d+(\.\d+)?$"))]
    pub cpu_core_hour: String,
    /// Price of one GiB of memory for an hour.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^\d+(\.\d+)?$"))]
    #[serde(rename = "memoryGiBHour")]
    pub memory_gib_hour: String,
    /// Price of one GPU for an hour.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^\d+(\.\d+)?$"))]
    pub gpu_hour: String,
    /// Price of one GiB of persistent storage for a month.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(regex(pattern = r"^\d+(\.\d+)?$"))]
    #[serde(rename = "storageGiBMonth")]
    pub storage_gib_month: String,
}

/// No status: nothing observes a PriceList.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceListStatus {}
