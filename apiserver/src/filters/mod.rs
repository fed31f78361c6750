//! What happens to every request before a handler sees it: authentication (and, later,
//! authorization and audit).

pub mod authentication;
