//! Placeholder while the tenant matrix is written.

#[macro_use]
mod support;
