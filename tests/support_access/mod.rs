//! Fixtures of the access tests, on top of `tests/support`: reading the audit log `up` writes
//! ([`AuditFile`]) and what it must say about a request ([`Expected`]), and a kept-alive
//! HTTP/1.1 connection that shows the serving certificate it got ([`TlsConnection`]).

// Each test crate includes this module and uses only part of it.
#![allow(dead_code, unused_imports)]

mod audit_file;
mod expected_event;
mod tls_connection;

pub use audit_file::{micros_since_epoch, AuditFile};
pub use expected_event::{now_micros, Expected, USER_AGENT};
pub use tls_connection::{replace_atomically, TlsConnection};
