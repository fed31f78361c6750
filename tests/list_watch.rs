//! The list and watch semantics of `../shared/docs/KUBERNETES-API.md` §5–§6, one test per
//! rule, through raw HTTP against `fleet-apiserver up` on the embedded store and on a real
//! etcd: `list::<backend>::<rule>` and `watch::<backend>::<rule>`.

mod support;
mod support_list_watch;

/// Instantiates each async test body for both backends, as `<backend>::<test>`.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $( #[tokio::test] async fn $test() { super::$test(Backend::Embedded).await } )*
        }
        mod etcd {
            use super::*;
            $( #[tokio::test] async fn $test() { super::$test(Backend::Etcd).await } )*
        }
    };
}

#[path = "list_watch/list.rs"]
mod list;
#[path = "list_watch/watch.rs"]
mod watch;
