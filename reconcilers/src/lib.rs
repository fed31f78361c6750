//! What the control plane DOES: in-process controllers that drive Cluster API, install
//! services on child clusters and collect inventory and cost.
//!
//! # Layout
//! Empty: the fleet API exists (`registry/`), and its controllers come with the controller
//! runtime (the garbage collector lives in `registry/src/gc.rs` and ClusterRole aggregation in
//! `apiserver/src/authorization/rbac.rs` until they move here). Controllers will reach other
//! clusters only through kube-rs.
