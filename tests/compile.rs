//! Plans as operators see them: snapshot tests of `quorate plan` output, quorum math for
//! several cluster sizes, and a property test that equal inputs give byte-identical plans.

mod support;

use std::fmt::Write as _;

use proptest::prelude::*;
use quorate::catalog::Catalog;
use quorate::plan::{compile, parse_inventory, parse_runbook, text, CompileOptions, ParamInput};
use quorate::source::SourceFile;
use support::{fixture, Quorate};

/// An inventory of `n` members (`consensus` bft or cft), optionally spread over zones.
fn members_inventory(consensus: &str, n: usize, zones: usize) -> String {
    let mut s = format!("name: {consensus}-{n}\nhosts:\n");
    for i in 0..n {
        let zone = if zones > 0 {
            format!(", zone: z{}", i % zones)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  m{i}: {{ address: 127.0.1.{}, vars: {{ dir: /srv/m{i}{zone} }} }}",
            i + 1
        );
    }
    let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    let _ = write!(
        s,
        "groups:\n  members: [{}]\ncluster:\n  consensus: {consensus}\n  members: members\n  health: \"{{{{host.vars.dir}}}}/healthy.sh\"\n",
        names.join(", ")
    );
    s
}

fn plan_text(
    runbook: &str,
    inventory_text: &str,
    params: &[&str],
    opts: &CompileOptions,
) -> Result<String, String> {
    let rb = parse_runbook(SourceFile::new(
        runbook,
        std::fs::read_to_string(fixture(runbook)).unwrap(),
    ))
    .map_err(|e| quorate::source::render_all(&e))?;
    let inv = parse_inventory(SourceFile::new("inventory.yaml", inventory_text))
        .map_err(|e| quorate::source::render_all(&e))?;
    let params: Vec<ParamInput> = params
        .iter()
        .map(|p| ParamInput::from_arg(p).unwrap())
        .collect();
    compile(&rb, &inv, &params, &Catalog::default(), opts)
        .map(|c| text::render(&c.plan))
        .map_err(|e| quorate::source::render_all(&e))
}

#[test]
fn rolling_batches_follow_fault_tolerance() {
    for (consensus, n) in [("bft", 4), ("bft", 7), ("bft", 10), ("cft", 3), ("cft", 5)] {
        let inv = members_inventory(consensus, n, 0);
        let out = plan_text("valid/rolling.yaml", &inv, &[], &CompileOptions::default()).unwrap();
        insta::assert_snapshot!(format!("rolling_{consensus}_{n}"), out);
    }
}

#[test]
fn rolling_batches_never_span_zones() {
    for (consensus, n, zones) in [
        ("bft", 4, 2),
        ("bft", 7, 3),
        ("bft", 10, 3),
        ("cft", 3, 3),
        ("cft", 5, 2),
    ] {
        let inv = members_inventory(consensus, n, zones);
        let out = plan_text(
            "valid/rolling-zones.yaml",
            &inv,
            &[],
            &CompileOptions::default(),
        )
        .unwrap();
        insta::assert_snapshot!(
            format!("rolling_zones_{consensus}_{n}_in_{zones}_zones"),
            out
        );
    }
}

#[test]
fn a_cluster_that_tolerates_no_failure_refuses_a_rolling_block() {
    let inv = members_inventory("bft", 3, 0);
    let err = plan_text("valid/rolling.yaml", &inv, &[], &CompileOptions::default()).unwrap_err();
    assert!(
        err.contains("error: a bft cluster of 3 members tolerates no member down (f = 0)"),
        "{err}"
    );
    let forced = CompileOptions {
        allow_quorum_loss: true,
        ..CompileOptions::default()
    };
    let out = plan_text("valid/rolling.yaml", &inv, &[], &forced).unwrap();
    assert!(out.contains("batches: 3 of up to 1 host"), "{out}");
}

#[test]
fn contract_example_plans() {
    let out = Quorate::new()
        .args([
            "plan",
            "tests/fixtures/valid/contract-upgrade.yaml",
            "-i",
            "tests/fixtures/valid/contract-inventory.yaml",
            "-p",
            "binary=./build/node",
            "-p",
            "version=3.6.0",
        ])
        .env("QUORATE_PARAM_TOKEN", "hunter2-very-secret")
        .run()
        .success();
    assert!(
        !out.contains("hunter2"),
        "a secret reached the plan:\n{out}"
    );
    insta::assert_snapshot!("contract_example", out);
}

#[test]
fn builtin_runbooks_plan_against_the_example_inventory() {
    let out = Quorate::new()
        .args([
            "plan",
            "rolling-upgrade",
            "-i",
            "examples/inventory.yaml",
            "-p",
            "binary=./build/fisco-bcos",
            "-p",
            "version=3.6.0",
        ])
        .run()
        .success();
    insta::assert_snapshot!("builtin_rolling_upgrade", out);
    let out = Quorate::new()
        .args(["plan", "health-check", "-i", "examples/inventory.yaml"])
        .run()
        .success();
    insta::assert_snapshot!("builtin_health_check", out);
}

#[test]
fn builtin_rolling_restart_plans_one_member_at_a_time() {
    let out = Quorate::new()
        .args(["plan", "rolling-restart", "-i", "examples/inventory.yaml"])
        .run()
        .success();
    insta::assert_snapshot!("builtin_rolling_restart", out);
}

#[test]
fn builtin_add_node_plans_for_a_host_outside_the_members() {
    let out = Quorate::new()
        .args([
            "plan",
            "add-node",
            "-i",
            "examples/inventory.yaml",
            "-p",
            "node=node4",
        ])
        .run()
        .success();
    insta::assert_snapshot!("builtin_add_node", out);
}

#[test]
fn builtin_remove_node_plans_for_a_sealer() {
    let out = Quorate::new()
        .args([
            "plan",
            "remove-node",
            "-i",
            "examples/inventory.yaml",
            "-p",
            "node=node3",
        ])
        .run()
        .success();
    insta::assert_snapshot!("builtin_remove_node", out);
}

/// Joins on the new hosts first, then retirements on the members: each step picks its
/// hosts with `when` (`contains`), and both rolling blocks take one host per batch.
#[test]
fn builtin_replace_upgrade_plans_joins_before_retirements() {
    let out = Quorate::new()
        .args([
            "plan",
            "replace-upgrade",
            "-i",
            "tests/fixtures/valid/replace-inventory.yaml",
            "-p",
            "nodes=node4,node5,node6,node7",
            "-p",
            "binary=./demo-node-1.1.0",
            "-p",
            "version=1.1.0",
        ])
        .run()
        .success();
    insta::assert_snapshot!("builtin_replace_upgrade", out);
    let described = Quorate::new()
        .args(["describe", "replace-upgrade"])
        .run()
        .success();
    insta::assert_snapshot!("describe_replace_upgrade", described);
}

/// The node alone goes down (a rolling block of one host, steps picked with `when`), and
/// the old data is removed only after the approval.
#[test]
fn builtin_migrate_disk_plans_one_node_and_an_approval() {
    let out = Quorate::new()
        .args([
            "plan",
            "migrate-disk",
            "-i",
            "examples/inventory.yaml",
            "-p",
            "node=node1",
            "-p",
            "dest=/data2/node1",
        ])
        .run()
        .success();
    insta::assert_snapshot!("builtin_migrate_disk", out);
    let described = Quorate::new()
        .args(["describe", "migrate-disk"])
        .run()
        .success();
    insta::assert_snapshot!("describe_migrate_disk", described);
}

#[test]
fn plan_json_round_trips() {
    let out = Quorate::new()
        .args([
            "plan",
            "tests/fixtures/valid/contract-upgrade.yaml",
            "-i",
            "tests/fixtures/valid/contract-inventory.yaml",
            "-p",
            "binary=./node",
            "-p",
            "version=1.0.0",
            "--format",
            "json",
        ])
        .run()
        .success();
    let plan: quorate::plan::Plan = serde_json::from_str(&out).expect("plan JSON reads back");
    assert_eq!(plan.cluster, "prod-chain");
    assert_eq!(plan.quorum.map(|q| (q.n, q.f)), Some((4, 1)));
    // preflight on 5 hosts, upload on 4, 4 rolling steps on 4 hosts, 2 controller steps
    assert_eq!(plan.tasks().count(), 5 + 4 + 16 + 2);
    let rolling = &plan.rollings[0];
    let batches: Vec<Vec<String>> = rolling.batches.iter().map(|b| b.hosts.clone()).collect();
    assert_eq!(
        batches,
        [vec!["node0"], vec!["node2"], vec!["node1"], vec!["node3"]]
    );
}

#[test]
fn graph_formats() {
    let args = [
        "tests/fixtures/valid/rolling.yaml",
        "-i",
        "tests/fixtures/valid/members-4.yaml",
    ];
    let dot = Quorate::new()
        .args(["graph"])
        .args(args)
        .args(["--format", "dot"])
        .run()
        .success();
    assert!(dot.starts_with("digraph \"roll-members\" {"), "{dot}");
    assert!(
        dot.contains("[label=\"roll batch 1/4\", shape=hexagon]"),
        "{dot}"
    );
    let mermaid = Quorate::new()
        .args(["graph"])
        .args(args)
        .args(["--format", "mermaid"])
        .run()
        .success();
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    assert!(mermaid.contains("[\"restart @ node0\"]"), "{mermaid}");
}

#[test]
fn list_and_describe() {
    let out = Quorate::new().args(["list"]).run().success();
    assert!(
        out.contains("rolling-upgrade") && out.contains("health-check"),
        "{out}"
    );
    let out = Quorate::new()
        .args(["list", "--runbooks", "tests/fixtures/valid"])
        .run()
        .success();
    assert!(
        out.contains("tests/fixtures/valid/contract-upgrade.yaml (overrides built-in)"),
        "{out}"
    );
    assert!(out.contains("roll-members"), "{out}");
    let out = Quorate::new()
        .args(["describe", "rolling-upgrade"])
        .run()
        .success();
    insta::assert_snapshot!("describe_rolling_upgrade", out);
}

/// A random runbook over a random inventory, as YAML text.
fn arbitrary_case() -> impl Strategy<Value = (String, String)> {
    (1usize..8, prop::collection::vec((0usize..4, prop::collection::vec(0usize..12, 0..3), 0usize..5), 1..12)).prop_map(
        |(hosts, steps)| {
            let mut inv = String::from("name: prop\nhosts:\n");
            for h in 0..hosts {
                let _ = writeln!(inv, "  h{h}: {{ vars: {{ zone: z{} }} }}", h % 3);
            }
            let names: Vec<String> = (0..hosts).map(|h| format!("h{h}")).collect();
            let _ = write!(
                inv,
                "groups:\n  even: [{}]\n  all_hosts: [{}]\ncluster:\n  consensus: cft\n  members: all_hosts\n",
                names.iter().step_by(2).cloned().collect::<Vec<_>>().join(", "),
                names.join(", ")
            );
            let mut rb = String::from("runbook: prop\non: all\nsteps:\n");
            for (i, (kind, needs, target)) in steps.iter().enumerate() {
                let _ = writeln!(rb, "  - id: s{i}");
                let mut earlier: Vec<usize> = needs.iter().copied().filter(|&n| n < i).collect();
                earlier.sort_unstable();
                earlier.dedup();
                let earlier: Vec<String> = earlier.iter().map(|n| format!("s{n}")).collect();
                if !needs.is_empty() {
                    let _ = writeln!(rb, "    needs: [{}]", earlier.join(", "));
                }
                let on = ["all", "even", "h0", "controller", "[h0, even]"][*target];
                match kind {
                    0 | 1 => {
                        let _ = writeln!(rb, "    on: {on}\n    run: echo {i} {{{{json groups.even}}}}");
                    }
                    2 => {
                        let _ = writeln!(rb, "    rolling:\n      batch: 1\n      by: \"{{{{host.vars.zone}}}}\"\n      steps:\n        - id: r{i}\n          run: echo {{{{host.name}}}}");
                    }
                    _ => {
                        let _ = writeln!(rb, "    sleep: 1s");
                    }
                }
            }
            (rb, inv)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn equal_inputs_give_byte_identical_plans((rb_text, inv_text) in arbitrary_case()) {
        let once = || {
            let rb = parse_runbook(SourceFile::new("p.yaml", rb_text.clone())).expect("runbook");
            let inv = parse_inventory(SourceFile::new("i.yaml", inv_text.clone())).expect("inventory");
            let opts = CompileOptions { allow_quorum_loss: true, ..CompileOptions::default() };
            let c = compile(&rb, &inv, &[], &Catalog::default(), &opts).expect("compiles");
            (text::render(&c.plan), serde_json::to_string(&c.plan).unwrap(), c.plan)
        };
        let (text_a, json_a, plan) = once();
        let (text_b, json_b, _) = once();
        prop_assert_eq!(text_a, text_b);
        prop_assert_eq!(json_a, json_b);
        // Nodes are created after everything they need: ids increase along every edge.
        for n in &plan.nodes {
            prop_assert!(n.needs.iter().all(|&d| d < n.id), "node {} needs a later node", n.id);
        }
    }
}

#[test]
fn every_shipped_file_validates() {
    let mut files: Vec<String> = Vec::new();
    for dir in ["runbooks", "examples", "tests/fixtures/valid"] {
        for entry in std::fs::read_dir(support::root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(
                    path.strip_prefix(support::root())
                        .unwrap()
                        .display()
                        .to_string(),
                );
            }
        }
    }
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let out = Quorate::new()
        .args(["validate"])
        .args(&files)
        .run()
        .success();
    for f in &files {
        assert!(
            out.contains(&format!("ok: {f}\n")),
            "{f} not reported valid:\n{out}"
        );
    }
}

#[test]
fn plan_out_saves_the_plan_for_review() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let shown = Quorate::new()
        .args([
            "plan",
            "health-check",
            "-i",
            "examples/inventory.yaml",
            "--out",
        ])
        .arg(&file)
        .run()
        .success();
    let saved = quorate::plan::saved::SavedPlan::read(&std::fs::read_to_string(&file).unwrap())
        .unwrap()
        .content
        .plan;
    assert_eq!(saved.runbook, "health-check");
    assert_eq!(
        saved.tasks().count(),
        36,
        "6 checks and a verdict on 5 hosts, and the summary"
    );
    assert_eq!(
        text::render(&saved),
        shown,
        "the saved plan shows exactly what was printed"
    );
}
