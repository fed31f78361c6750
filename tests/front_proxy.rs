//! Placeholder.
#[macro_use]
mod support;
