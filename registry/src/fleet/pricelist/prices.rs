//! The PriceList `default` that `fleet-apiserver up` installs: public on-demand Linux list
//! prices (USD) of common AWS, Azure and GCP instance types, and per-resource fallback rates.
//! Transcribed by hand from the providers' published pricing pages as of 2024 — NOT fetched
//! at build or run time; `docs/prices.md` gives the source of every figure and how to
//! refresh them, and `examples/pricelist-default.yaml` is this object as YAML.

use serde_json::{json, Value};

/// When the figures were transcribed (the `fleet.k0rdent.io/prices-as-of` annotation).
pub const PRICES_AS_OF: &str = "2024";

/// `(provider, region, instance type, USD per hour)`.
const INSTANCE_TYPES: &[(&str, &str, &str, &str)] = &[
    // AWS EC2 on-demand, Linux, US East (N. Virginia).
    ("aws", "us-east-1", "t3.medium", "0.0416"),
    ("aws", "us-east-1", "t3.large", "0.0832"),
    ("aws", "us-east-1", "t3.xlarge", "0.1664"),
    ("aws", "us-east-1", "m5.large", "0.096"),
    ("aws", "us-east-1", "m5.xlarge", "0.192"),
    ("aws", "us-east-1", "m5.2xlarge", "0.384"),
    ("aws", "us-east-1", "m6i.large", "0.096"),
    ("aws", "us-east-1", "m6i.xlarge", "0.192"),
    ("aws", "us-east-1", "m6i.2xlarge", "0.384"),
    ("aws", "us-east-1", "c5.xlarge", "0.17"),
    ("aws", "us-east-1", "c6i.xlarge", "0.17"),
    ("aws", "us-east-1", "r5.large", "0.126"),
    ("aws", "us-east-1", "r5.xlarge", "0.252"),
    ("aws", "us-east-1", "g4dn.xlarge", "0.526"),
    ("aws", "us-east-1", "g5.xlarge", "1.006"),
    // Azure Virtual Machines pay-as-you-go, Linux, East US.
    ("azure", "eastus", "Standard_B2s", "0.0416"),
    ("azure", "eastus", "Standard_B2ms", "0.0832"),
    ("azure", "eastus", "Standard_D2s_v5", "0.096"),
    ("azure", "eastus", "Standard_D4s_v5", "0.192"),
    ("azure", "eastus", "Standard_D8s_v5", "0.384"),
    ("azure", "eastus", "Standard_E2s_v5", "0.126"),
    ("azure", "eastus", "Standard_E4s_v5", "0.252"),
    ("azure", "eastus", "Standard_F4s_v2", "0.169"),
    ("azure", "eastus", "Standard_NC4as_T4_v3", "0.526"),
    // Google Compute Engine on-demand, us-central1 (Iowa).
    ("gcp", "us-central1", "e2-medium", "0.033503"),
    ("gcp", "us-central1", "e2-standard-2", "0.067006"),
    ("gcp", "us-central1", "e2-standard-4", "0.134012"),
    ("gcp", "us-central1", "e2-standard-8", "0.268024"),
    ("gcp", "us-central1", "n2-standard-2", "0.097118"),
    ("gcp", "us-central1", "n2-standard-4", "0.194236"),
    ("gcp", "us-central1", "n2-standard-8", "0.388472"),
    ("gcp", "us-central1", "n2d-standard-4", "0.168984"),
    ("gcp", "us-central1", "c2-standard-4", "0.2088"),
    ("gcp", "us-central1", "g2-standard-4", "0.706832"),
];

/// The PriceList named `default`.
pub fn default_price_list() -> Value {
    let instance_types: Vec<Value> = INSTANCE_TYPES
        .iter()
        .map(|(provider, region, name, hourly)| {
            json!({"provider": provider, "region": region, "name": name, "hourly": hourly})
        })
        .collect();
    json!({
        "apiVersion": "fleet.k0rdent.io/v1alpha1",
        "kind": "PriceList",
        "metadata": {
            "name": "default",
            "annotations": {
                "fleet.k0rdent.io/prices-as-of": PRICES_AS_OF,
                "fleet.k0rdent.io/prices-source": "public on-demand Linux list prices, transcribed by hand; see docs/prices.md",
            },
        },
        "spec": {
            "currency": "USD",
            "instanceTypes": instance_types,
            "fallback": {
                // GCP N2 per-vCPU and per-GiB rates in us-central1; GCP NVIDIA T4 per GPU;
                // AWS EBS gp3 in us-east-1.
                "cpuCoreHour": "0.031611",
                "memoryGiBHour": "0.004237",
                "gpuHour": "0.35",
                "storageGiBMonth": "0.08",
            },
        },
    })
}
