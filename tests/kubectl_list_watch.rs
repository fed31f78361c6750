//! kubectl 1.32 and 1.33 listing and watching `fleet-apiserver up`, on the embedded store and
//! on etcd: `get -w` (with and without `--output-watch-events`) prints each change as it
//! happens, `--chunk-size` pages through everything, `-l` with every selector form,
//! `--field-selector`, and `-A`.

#[macro_use]
mod support;
mod support_list_watch;

use std::time::Duration;

use support::{Backend, Kubectl, TestServer};
use support_list_watch::KubectlWatch;

/// How long kubectl may take to print a line for a change just made.
const LINE_WAIT: Duration = Duration::from_secs(15);

/// Prints `namespace/name` of each listed object, one a line.
const NAMESPACED_NAMES: &str =
    "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}";

/// Prints `TYPE namespace/name` of each watch event, one a line.
const EVENT_LINES: &str =
    "jsonpath={.type} {.object.metadata.namespace}/{.object.metadata.name}{\"\\n\"}";

fn start(backend: Backend, version: &str) -> Option<(TestServer, Kubectl)> {
    let server = TestServer::start(backend)?;
    let kubectl = Kubectl::new(version, &server.kubeconfig())?;
    Some((server, kubectl))
}

/// One ClusterDeployment as a YAML document.
fn document(namespace: &str, name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}: \"{v}\""))
        .collect();
    format!(
        "apiVersion: fleet.k0rdent.io/v1alpha1\nkind: ClusterDeployment\n\
         metadata: {{name: {name}, namespace: {namespace}, labels: {{{}}}}}\n\
         spec: {{template: aws-standalone-1-0, credential: aws}}\n",
        labels.join(", ")
    )
}

/// Labels as `(key, value)` pairs.
type Labels<'a> = &'a [(&'a str, &'a str)];

/// Creates the objects (namespace, name, labels) with one `kubectl create -f -`.
fn create(kubectl: &Kubectl, objects: &[(&str, &str, Labels<'_>)]) {
    let docs: Vec<String> = objects
        .iter()
        .map(|(namespace, name, labels)| document(namespace, name, labels))
        .collect();
    kubectl.ok_with(&["create", "-f", "-"], Some(&docs.join("---\n")));
}

/// The names printed by `-o name`, without the resource prefix.
fn names(output: &str) -> Vec<String> {
    output
        .lines()
        .map(|line| {
            line.strip_prefix("clusterdeployment.fleet.k0rdent.io/")
                .unwrap_or_else(|| panic!("not a clusterdeployment name: {line:?}"))
                .to_owned()
        })
        .collect()
}

fn lines(output: &str) -> Vec<&str> {
    output.lines().collect()
}

fn get_watch_with_output_watch_events_shows_each_change_as_it_happens(
    backend: Backend,
    version: &str,
) {
    let Some((server, kubectl)) = start(backend, version) else {
        return;
    };
    create(&kubectl, &[("default", "a", &[])]);
    let args = ["get", "cld", "-w", "--output-watch-events"];
    let Some(mut watch) = KubectlWatch::spawn(version, &server.kubeconfig(), &args) else {
        return;
    };
    assert_eq!(watch.row(LINE_WAIT)[..2], ["EVENT", "NAME"], "the header");
    assert_eq!(watch.row(LINE_WAIT)[..2], ["ADDED", "a"]);
    kubectl.ok(&[
        "patch",
        "cld",
        "a",
        "--type=merge",
        "-p",
        r#"{"spec":{"template":"t2"}}"#,
    ]);
    assert_eq!(watch.row(LINE_WAIT)[..2], ["MODIFIED", "a"]);
    create(&kubectl, &[("default", "b", &[])]);
    assert_eq!(watch.row(LINE_WAIT)[..2], ["ADDED", "b"]);
    kubectl.ok(&["delete", "cld", "a"]);
    assert_eq!(watch.row(LINE_WAIT)[..2], ["DELETED", "a"]);
    drop(watch);

    let args = [
        "get",
        "cld",
        "-A",
        "-w",
        "--output-watch-events",
        "-o",
        EVENT_LINES,
    ];
    let Some(mut watch) = KubectlWatch::spawn(version, &server.kubeconfig(), &args) else {
        return;
    };
    assert_eq!(watch.line(LINE_WAIT), "ADDED default/b");
    create(&kubectl, &[("other", "c", &[])]);
    assert_eq!(watch.line(LINE_WAIT), "ADDED other/c");
    kubectl.ok(&["label", "cld", "c", "-n", "other", "env=prod"]);
    assert_eq!(watch.line(LINE_WAIT), "MODIFIED other/c");
    kubectl.ok(&["delete", "cld", "b"]);
    assert_eq!(watch.line(LINE_WAIT), "DELETED default/b");
}

fn get_watch_prints_a_row_for_each_change_as_it_happens(backend: Backend, version: &str) {
    let Some((server, kubectl)) = start(backend, version) else {
        return;
    };
    create(&kubectl, &[("default", "a", &[("env", "prod")])]);
    let args = ["get", "cld", "-w", "-l", "env=prod"];
    let Some(mut watch) = KubectlWatch::spawn(version, &server.kubeconfig(), &args) else {
        return;
    };
    assert_eq!(watch.row(LINE_WAIT)[0], "NAME", "the header");
    assert_eq!(watch.row(LINE_WAIT)[0], "a");
    create(&kubectl, &[("default", "ignored", &[("env", "dev")])]);
    create(&kubectl, &[("default", "b", &[("env", "prod")])]);
    assert_eq!(
        watch.row(LINE_WAIT)[0],
        "b",
        "the dev object is not printed"
    );
    kubectl.ok(&["label", "cld", "a", "env=dev", "--overwrite"]);
    assert_eq!(
        watch.row(LINE_WAIT)[0],
        "a",
        "a leaves the selector (a DELETED event)"
    );
}

fn get_with_chunk_size_lists_every_object_one_page_at_a_time(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let no_labels: &[(&str, &str)] = &[];
    create(
        &kubectl,
        &[
            ("default", "a", no_labels),
            ("default", "b", no_labels),
            ("default", "c", no_labels),
            ("default", "d", no_labels),
            ("default", "e", no_labels),
            ("other", "x", no_labels),
        ],
    );
    let out = kubectl.run(
        &["get", "cld", "--chunk-size=1", "-o", "name", "-v=6"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(names(&stdout), ["a", "b", "c", "d", "e"]);
    let log = String::from_utf8_lossy(&out.stderr);
    let pages = log
        .lines()
        .filter(|l| l.contains("clusterdeployments?") && l.contains("limit=1"));
    let pages: Vec<_> = pages.collect();
    assert_eq!(pages.len(), 5, "one request per object:\n{log}");
    let continued = pages.iter().filter(|l| l.contains("continue=")).count();
    assert_eq!(continued, 4, "every page after the first continues:\n{log}");

    let all = kubectl.ok(&["get", "cld", "-A", "--chunk-size=2", "-o", NAMESPACED_NAMES]);
    assert_eq!(
        lines(&all),
        [
            "default/a",
            "default/b",
            "default/c",
            "default/d",
            "default/e",
            "other/x"
        ]
    );
}

fn get_with_a_label_selector_of_every_form_lists_the_matching_objects(
    backend: Backend,
    version: &str,
) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    create(
        &kubectl,
        &[
            ("default", "a", &[("env", "prod"), ("tier", "1")]),
            ("default", "b", &[("env", "dev"), ("tier", "5")]),
            ("default", "c", &[("env", "qa")]),
            ("default", "d", &[]),
        ],
    );
    let cases: &[(&str, &[&str])] = &[
        ("env=prod", &["a"]),
        ("env==prod", &["a"]),
        ("env!=prod", &["b", "c", "d"]),
        ("env in (prod,dev)", &["a", "b"]),
        ("env notin (prod,dev)", &["c", "d"]),
        ("env", &["a", "b", "c"]),
        ("!env", &["d"]),
        ("tier>2", &["b"]),
        ("tier<2", &["a"]),
        ("env,tier>0,env!=dev", &["a"]),
    ];
    for (selector, expected) in cases {
        let out = kubectl.ok(&["get", "cld", "-l", selector, "-o", "name"]);
        assert_eq!(names(&out), *expected, "-l {selector:?}");
    }
    let nothing = kubectl.run(&["get", "cld", "-l", "env=staging"], None);
    assert!(nothing.status.success());
    assert!(nothing.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&nothing.stderr).trim(),
        "No resources found in default namespace."
    );
    let bad = kubectl.fails(&["get", "cld", "-l", "env in (prod"]);
    assert!(bad.starts_with("Error from server (BadRequest)"), "{bad}");
    assert!(
        bad.contains("unable to parse requirement: found '', expected: ',' or ')'"),
        "{bad}"
    );
}

fn get_with_a_field_selector_filters_on_name_and_namespace(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let no_labels: &[(&str, &str)] = &[];
    create(
        &kubectl,
        &[
            ("default", "a", no_labels),
            ("default", "b", no_labels),
            ("default", "c", no_labels),
            ("other", "a", no_labels),
        ],
    );
    let cases: &[(&[&str], &[&str])] = &[
        (&["--field-selector", "metadata.name=a"], &["default/a"]),
        (
            &["--field-selector", "metadata.name!=a"],
            &["default/b", "default/c"],
        ),
        (
            &["-A", "--field-selector", "metadata.name=a"],
            &["default/a", "other/a"],
        ),
        (
            &["-A", "--field-selector", "metadata.namespace=other"],
            &["other/a"],
        ),
        (
            &[
                "-A",
                "--field-selector",
                "metadata.namespace!=other,metadata.name!=b",
            ],
            &["default/a", "default/c"],
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["get", "cld", "-o", NAMESPACED_NAMES];
        args.extend_from_slice(flags);
        let out = kubectl.ok(&args);
        assert_eq!(lines(&out), *expected, "{flags:?}");
    }
    let bad = kubectl.fails(&["get", "cld", "--field-selector", "spec.x=1"]);
    assert!(bad.starts_with("Error from server (BadRequest)"), "{bad}");
    assert!(bad.contains("field label not supported: spec.x"), "{bad}");
}

fn get_all_namespaces_lists_every_namespace(backend: Backend, version: &str) {
    let Some((_server, kubectl)) = start(backend, version) else {
        return;
    };
    let no_labels: &[(&str, &str)] = &[];
    create(
        &kubectl,
        &[
            ("default", "a", no_labels),
            ("other", "b", no_labels),
            ("third", "c", no_labels),
        ],
    );
    let table = kubectl.ok(&["get", "cld", "-A"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..2], ["NAMESPACE", "NAME"], "{table}");
    let listed: Vec<_> = rows[1..].iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        listed,
        [("default", "a"), ("other", "b"), ("third", "c")],
        "{table}"
    );
    let all = kubectl.ok(&["get", "cld", "--all-namespaces", "-o", NAMESPACED_NAMES]);
    assert_eq!(lines(&all), ["default/a", "other/b", "third/c"]);
    assert_eq!(names(&kubectl.ok(&["get", "cld", "-o", "name"])), ["a"]);
    assert_eq!(
        names(&kubectl.ok(&["get", "cld", "-n", "other", "-o", "name"])),
        ["b"]
    );
}

for_each_backend_and_kubectl!(
    get_watch_with_output_watch_events_shows_each_change_as_it_happens,
    get_watch_prints_a_row_for_each_change_as_it_happens,
    get_with_chunk_size_lists_every_object_one_page_at_a_time,
    get_with_a_label_selector_of_every_form_lists_the_matching_objects,
    get_with_a_field_selector_filters_on_name_and_namespace,
    get_all_namespaces_lists_every_namespace,
);
