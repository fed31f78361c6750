//! How resources are SERVED: TLS and HTTP, request parsing, content negotiation, discovery,
//! OpenAPI, one handler per verb, tables, and authentication, authorization and audit layers.
//!
//! # Layout
//! Empty until issue #3 lands; it depends on `registry` (and through it on `storage`).
