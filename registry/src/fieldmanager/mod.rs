//! Server-side apply and managed fields (in progress).
