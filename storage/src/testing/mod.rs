//! Test support shared by this crate's tests, the benchmark and the end-to-end tests: a real
//! etcd process on free loopback ports.

mod etcd_server;

pub use etcd_server::{etcd_binary, EtcdServer, TlsFiles};
