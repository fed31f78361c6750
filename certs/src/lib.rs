//! Certificates: the local CA, serving and client certificates, kubeconfig files, hot reload.
//!
//! # Layout
//! Empty until issue #3 lands.
