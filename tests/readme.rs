//! The README's "Try it" and "Tenants" blocks, read from README.md (so they cannot drift) and
//! run verbatim, line by line in one bash, against a fresh `fleet-apiserver up` on the embedded
//! store — as a newcomer would in a checkout: `./.fleet` is the data directory, `examples/` is
//! the repository's, `target/release/fleet-apiserver` is the binary under test and `kubectl`
//! is a real kubectl of each tested version. Every line must succeed, except those whose
//! comment says `# Forbidden`, which must be refused with kube-apiserver's 403.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::{kubectl_binary, Backend, TestServer, BINARY};

/// The indented command lines of the README section headed `## {title}`, in order.
fn commands_of(readme: &str, title: &str) -> Vec<String> {
    let heading = format!("## {title}\n");
    let start = readme
        .find(&heading)
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .map(str::to_owned)
        .collect()
}

/// What one README line did.
#[derive(Debug)]
struct Ran {
    line: String,
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `lines` in one bash in `dir` (so `export` carries over), each line's output and exit
/// code kept apart.
fn run_lines(dir: &Path, path: &str, lines: &[String]) -> Vec<Ran> {
    let mut script = String::new();
    for (i, line) in lines.iter().enumerate() {
        script.push_str(&format!(
            "{{ {line}\n}} >out.{i} 2>err.{i} </dev/null; echo $? >code.{i}\n"
        ));
    }
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .stdin(Stdio::null())
        .status()
        .expect("running bash");
    assert!(status.success(), "bash ended with {status}");
    let read = |name: String| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| Ran {
            line: line.clone(),
            code: read(format!("code.{i}"))
                .trim()
                .parse()
                .expect("an exit code"),
            stdout: read(format!("out.{i}")),
            stderr: read(format!("err.{i}")),
        })
        .collect()
}

fn readme_blocks_run_verbatim(version: &str) {
    let Some(kubectl) = kubectl_binary(version) else {
        return;
    };
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let try_it = commands_of(&readme, "Try it");
    let tenants = commands_of(&readme, "Tenants");
    assert!(
        try_it.len() >= 5 && tenants.len() >= 5,
        "{try_it:?} {tenants:?}"
    );

    // A checkout as the README's reader has it, with the server already `up` in it.
    let checkout = tempfile::tempdir().expect("a temp dir");
    let dir = checkout.path();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::os::unix::fs::symlink(repo.join("examples"), dir.join("examples")).unwrap();
    std::fs::create_dir_all(dir.join("target/release")).unwrap();
    std::os::unix::fs::symlink(BINARY, dir.join("target/release/fleet-apiserver")).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::os::unix::fs::symlink(&kubectl, dir.join("bin/kubectl")).unwrap();
    let Some(_server) = TestServer::builder(Backend::Embedded)
        .data_dir(&dir.join(".fleet"))
        .start()
    else {
        return;
    };
    let path = format!("{}:/usr/bin:/bin", dir.join("bin").display());

    let mut lines = try_it.clone();
    lines.extend(tenants);
    let ran = run_lines(dir, &path, &lines);
    for ran in &ran {
        let shown = format!(
            "kubectl {version}: `{}` exited {}\nstdout:\n{}\nstderr:\n{}",
            ran.line, ran.code, ran.stdout, ran.stderr
        );
        if ran.line.contains("# Forbidden") {
            assert_ne!(ran.code, 0, "{shown}");
            assert!(
                ran.stderr
                    .contains("Error from server (Forbidden): clusterdeployments.fleet.k0rdent.io is forbidden: User \"alice\" cannot list resource \"clusterdeployments\" in API group \"fleet.k0rdent.io\" in the namespace \"team-b\""),
                "{shown}"
            );
        } else {
            assert_eq!(ran.code, 0, "{shown}");
        }
    }
    // What the lines say they show.
    let output_of = |prefix: &str| {
        ran.iter()
            .find(|r| r.line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no README line starts with {prefix:?}"))
            .stdout
            .clone()
    };
    let managed = output_of("kubectl get cld prod-eu -o yaml --show-managed-fields");
    assert!(managed.contains("manager: kubectl-patch"), "{managed}");
    assert!(
        managed.contains("template: aws-standalone-1-34"),
        "{managed}"
    );
    let whoami = output_of("kubectl --kubeconfig alice.kubeconfig auth whoami");
    assert!(
        whoami.contains("alice") && whoami.contains("team-a"),
        "{whoami}"
    );
    let created = output_of("kubectl --kubeconfig alice.kubeconfig create");
    assert_eq!(
        created.trim(),
        "clusterdeployment.fleet.k0rdent.io/prod-eu created"
    );
    let prices = output_of("kubectl --kubeconfig alice.kubeconfig get pricelists");
    assert!(
        prices.lines().any(|l| l.starts_with("default ")),
        "{prices}"
    );
}

#[test]
fn the_readme_blocks_run_verbatim_with_kubectl_1_32() {
    readme_blocks_run_verbatim("1.32");
}

#[test]
fn the_readme_blocks_run_verbatim_with_kubectl_1_33() {
    readme_blocks_run_verbatim("1.33");
}
