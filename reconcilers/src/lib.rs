//! What the control plane DOES: in-process controllers that drive Cluster API, install
//! services on child clusters and collect inventory and cost.
//!
//! # Layout
//! Empty until the fleet API exists; controllers reach other clusters only through kube-rs.
