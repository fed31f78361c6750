//! The list and watch semantics of `../shared/docs/KUBERNETES-API.md` §5–§6, one test per
//! rule, through raw HTTP against `fleet-apiserver up` on the embedded store and on a real
//! etcd: `list::<backend>::<rule>` and `watch::<backend>::<rule>`.

#[macro_use]
mod support;
mod support_list_watch;

#[path = "list_watch/list.rs"]
mod list;
#[path = "list_watch/watch.rs"]
mod watch;
