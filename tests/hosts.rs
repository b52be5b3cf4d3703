//! Host names as inventories write them: an IPv4 address, an FQDN and an IPv6 address,
//! planned, graphed and run on real sshd hosts (127.0.0.x), their captured output read
//! from another host's task through the `[...]` segment syntax.

mod support;

use std::fmt::Write as _;

use serde_json::Value;
use support::lab::{run_id, Lab};
use support::sshd::SshCluster;

/// Host names of fake hosts 0, 1 and 2 (on 127.0.0.2, .3 and .4).
const NAMES: [&str; 3] = ["127.0.0.2", "node-1.dc1.example.internal", "fd00::12"];

/// Host 0 is named by its own address (no `address:`); the others connect to theirs.
fn inventory(cluster: &SshCluster) -> String {
    let mut yaml = String::from("name: fqdn-test\nhosts:\n");
    for (i, h) in cluster.hosts.iter().enumerate() {
        let address = if i == 0 {
            assert_eq!(h.address, NAMES[0]);
            String::new()
        } else {
            format!("address: {}, ", h.address)
        };
        writeln!(
            yaml,
            "  \"{}\": {{ {address}port: {}, user: root, vars: {{ node_dir: {} }} }}",
            NAMES[i],
            h.port,
            h.home.join("node").display()
        )
        .unwrap();
    }
    writeln!(
        yaml,
        "groups:\n  db: [127.0.0.2, node-1.dc1.example.internal]\nssh:\n  config: {}\n  host_keys: strict",
        cluster.ssh_config.display()
    )
    .unwrap();
    yaml
}

const RUNBOOK: &str = r#"
runbook: names
on: all
steps:
  - id: version
    run: echo "{{host.name}}-v1" > {{host.vars.node_dir}}/version && cat {{host.vars.node_dir}}/version
    capture: true
  - id: peers
    on: "fd00::12"
    needs: [version]
    run: echo {{steps.version.hosts.[node-1.dc1.example.internal].stdout}} {{steps.version.hosts.[127.0.0.2].stdout}} {{hosts.[node-1.dc1.example.internal].address}} > {{host.vars.node_dir}}/peers
  - id: db
    on: db
    run: echo "db on {{host.name}}" > {{host.vars.node_dir}}/db
"#;

#[test]
fn fqdn_and_ip_host_names_plan_run_and_show() {
    let lab = Lab::new(3, inventory);
    let rb = lab.runbook(RUNBOOK);
    let inventory = lab.path("inventory.yaml");

    let plan = lab
        .quorate()
        .args(["plan"])
        .arg(&rb)
        .arg("-i")
        .arg(&inventory)
        .run()
        .success();
    assert!(plan.contains("tasks: 6 on 3 hosts"), "{plan}");
    assert!(plan.contains("3. db: run on db, after peers"), "{plan}");
    assert!(
        plan.contains("   fd00::12                     $ echo \"fd00::12-v1\" > "),
        "{plan}"
    );
    assert!(
        plan.contains("2. peers: run on fd00::12, after version"),
        "{plan}"
    );

    let out = lab.run(&rb);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for (i, name) in NAMES.iter().enumerate() {
        assert_eq!(lab.read(i, "version"), format!("{name}-v1\n"));
    }
    assert_eq!(
        lab.read(2, "peers"),
        "node-1.dc1.example.internal-v1 127.0.0.2-v1 127.0.0.3\n",
        "the FQDN's and the IP's captured output reached fd00::12"
    );
    assert_eq!(lab.read(0, "db"), "db on 127.0.0.2\n");
    assert_eq!(lab.read(1, "db"), "db on node-1.dc1.example.internal\n");
    assert_eq!(lab.read(2, "db"), "", "fd00::12 is not in group db");

    let run = run_id(&out.stdout);
    let show = lab.quorate().args(["show", &run]).run().success();
    for name in NAMES {
        let line = show
            .lines()
            .find(|l| l.contains(name) && l.contains("version"))
            .unwrap_or_else(|| panic!("no version task of {name} in:\n{show}"));
        assert!(line.contains("done"), "{line}");
    }
    let json: Value = serde_json::from_str(
        &lab.quorate()
            .args(["show", &run, "--format", "json"])
            .run()
            .success(),
    )
    .unwrap();
    let mut tasks: Vec<(String, String, String)> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["step"].as_str().unwrap().to_owned(),
                t["host"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    tasks.sort();
    let done = |step: &str, host: &str| (step.to_owned(), host.to_owned(), "done".to_owned());
    assert_eq!(
        tasks,
        [
            done("db", "127.0.0.2"),
            done("db", "node-1.dc1.example.internal"),
            done("peers", "fd00::12"),
            done("version", "127.0.0.2"),
            done("version", "fd00::12"),
            done("version", "node-1.dc1.example.internal"),
        ]
    );
    let logs = lab
        .quorate()
        .args(["logs", &run, "--host", "node-1.dc1.example.internal"])
        .run()
        .success();
    assert!(logs.contains("node-1.dc1.example.internal-v1"), "{logs}");
    assert!(!logs.contains("127.0.0.2-v1"), "{logs}");
}

#[test]
fn graphs_name_nodes_by_number_and_quote_host_names_in_labels() {
    let lab = Lab::new(3, inventory);
    let rb = lab.runbook(RUNBOOK);
    let graph = |format: &str| {
        lab.quorate()
            .args(["graph", "--format", format])
            .arg(&rb)
            .arg("-i")
            .arg(lab.path("inventory.yaml"))
            .run()
            .success()
    };
    let dot = graph("dot");
    for name in NAMES {
        assert!(
            dot.contains(&format!("[label=\"version @ {name}\", shape=box];")),
            "{dot}"
        );
    }
    let mermaid = graph("mermaid");
    assert!(mermaid.contains("[\"peers @ fd00::12\"]"), "{mermaid}");
    // Node ids are `nN` whatever the host is called: no `.` or `:` reaches an id.
    for line in dot.lines().skip(1).chain(mermaid.lines().skip(1)) {
        let id = line
            .trim_start()
            .split(['[', ' ', '(', '{'])
            .next()
            .unwrap();
        if ["", "}", "rankdir=TB;", "node"].contains(&id) {
            continue;
        }
        assert!(
            id.starts_with('n') && id[1..].chars().all(|c| c.is_ascii_digit()),
            "node id `{id}` in `{line}`"
        );
    }
}

#[test]
fn a_dotted_host_name_without_brackets_or_an_unknown_one_is_refused_with_a_hint() {
    let lab = Lab::new(3, inventory);
    let plan = |runbook: &str| {
        let rb = lab.runbook(runbook);
        lab.quorate()
            .args(["plan"])
            .arg(&rb)
            .arg("-i")
            .arg(lab.path("inventory.yaml"))
            .run()
            .failure(2)
    };
    let err = plan(&RUNBOOK.replace(
        "steps.version.hosts.[node-1.dc1.example.internal].stdout",
        "steps.version.hosts.node-1.dc1.example.internal.stdout",
    ));
    assert!(
        err.contains(
            "error: unknown variable `steps.version.hosts.node-1.dc1.example.internal.stdout` in `run` of step `peers`"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: a host name with dots is one segment in brackets: `steps.version.hosts.[node-1.dc1.example.internal].stdout`"),
        "{err}"
    );
    let err = plan(&RUNBOOK.replace("[127.0.0.2].stdout", "[127.0.0.9].stdout"));
    assert!(
        err.contains("error: unknown host `127.0.0.9` in `steps.version.hosts`"),
        "{err}"
    );
    assert!(err.contains("hint: did you mean `127.0.0.2`?"), "{err}");
    let err = plan(&RUNBOOK.replace(
        "steps.version.hosts.[127.0.0.2]",
        "steps.nope.hosts.[127.0.0.2]",
    ));
    assert!(err.contains("error: unknown step `nope`"), "{err}");
}
