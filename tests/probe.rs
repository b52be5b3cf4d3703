//! `plan --probe` on real sshd hosts: it changes nothing on any host (every file of every
//! host's home hashed before and after), and its would-run tasks are exactly the tasks a
//! following real run executes, its would-skip tasks exactly those the run skips; a task
//! reading an earlier task's output is unknown, and so is what comes after it.

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use lab::Lab;
use serde_json::Value;

/// Every file under `dir` (relative path) with the sha256 of its content, and every
/// directory: a change anywhere shows.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if p.is_dir() {
                out.insert(rel + "/", String::new());
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(rel, quorate::digest::sha256_hex(&bytes));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn trees(lab: &Lab) -> Vec<BTreeMap<String, String>> {
    lab.cluster.hosts.iter().map(|h| tree(&h.home)).collect()
}

/// `STEP@HOST` of each task of a probe with this verdict.
fn probed(probe: &Value, verdict: &str) -> Vec<String> {
    let mut v: Vec<String> = probe["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["verdict"] == verdict)
        .map(|t| {
            format!(
                "{}@{}",
                t["step"].as_str().unwrap(),
                t["host"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

/// `STEP@HOST` of each task of the latest run in this state.
fn ran(show: &Value, state: &str) -> Vec<String> {
    let mut v: Vec<String> = show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == state)
        .map(|t| {
            format!(
                "{}@{}",
                t["step"].as_str().unwrap(),
                t["host"].as_str().unwrap_or("controller")
            )
        })
        .collect();
    v.sort();
    v
}

fn reason<'v>(probe: &'v Value, task: &str) -> &'v str {
    probe["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            format!(
                "{}@{}",
                t["step"].as_str().unwrap(),
                t["host"].as_str().unwrap()
            ) == task
        })
        .unwrap_or_else(|| panic!("no {task} in {probe}"))["reason"]
        .as_str()
        .unwrap()
}

fn probe(lab: &Lab, runbook: &Path) -> Value {
    let out = lab
        .compile_command("plan", runbook, &["--probe", "--format", "json"])
        .success();
    let plan: Value = serde_json::from_str(&out).unwrap();
    plan["probe"].clone()
}

/// Guards that skip on one host and not the other, a `when` false at plan time, a copy
/// one host already has, plain tasks, and a rolling block behind a health gate. Every guarded step starts its own
/// branch (`needs: []`), so no task before it on its host changes what it checks.
const PREDICTABLE: &str = r#"
runbook: predictable
on: all
steps:
  - id: install
    run: touch {{host.vars.node_dir}}/installed
    creates: "{{host.vars.node_dir}}/installed"
  - id: migrate
    needs: []
    run: echo migrated >> {{host.vars.node_dir}}/migrations
    only_if: "test -e {{host.vars.node_dir}}/pending"
  - id: cleanup
    needs: []
    run: rm -f {{host.vars.node_dir}}/stale
    removes: "{{host.vars.node_dir}}/stale"
  - id: first-only
    needs: []
    when: "{{#if (eq host.name \"node0\")}}true{{else}}false{{/if}}"
    run: echo first > {{host.vars.node_dir}}/first
  - id: deliver
    needs: []
    copy: { src: PAYLOAD, dest: "{{host.vars.node_dir}}/payload" }
  - id: roll
    needs: [install, migrate, cleanup, first-only, deliver]
    rolling:
      batch: 1
      steps:
        - id: restart
          run: echo restarted >> {{host.vars.node_dir}}/restarts
"#;

/// A task reading an earlier task's output, and one after it.
const DEPENDENT: &str = r"
runbook: dependent
on: all
steps:
  - id: version
    run: cat {{host.vars.node_dir}}/installed; echo v1
    capture: true
  - id: record
    run: echo {{steps.version.stdout}} > {{host.vars.node_dir}}/recorded
  - id: finish
    run: echo done >> {{host.vars.node_dir}}/finished
";

#[test]
fn probe_changes_nothing_and_predicts_the_run() {
    let lab = Lab::new(
        3,
        "cluster:\n  consensus: cft\n  members: [node0, node1, node2]\n  health: \"test -d {{host.vars.node_dir}}\"\n",
    );
    // node0: installed already, nothing pending, something stale; node1: the opposite.
    std::fs::write(lab.node_dir(0).join("installed"), "").unwrap();
    std::fs::write(lab.node_dir(0).join("stale"), "").unwrap();
    std::fs::write(lab.node_dir(1).join("pending"), "").unwrap();
    let payload = lab.path("payload");
    std::fs::write(&payload, "v2\n").unwrap();
    std::fs::write(lab.node_dir(2).join("payload"), "v2\n").unwrap();
    std::fs::write(lab.node_dir(1).join("payload"), "v1\n").unwrap();
    let predictable = PREDICTABLE.replace("PAYLOAD", &payload.display().to_string());
    let runbook = lab.runbook(&predictable);
    let before = trees(&lab);
    let found = probe(&lab, &runbook);
    assert_eq!(trees(&lab), before, "the probe changed a host");

    let would_run = probed(&found, "would-run");
    let would_skip = probed(&found, "would-skip");
    assert_eq!(probed(&found, "unknown"), Vec::<String>::new(), "{found}");
    assert_eq!(
        would_skip,
        [
            "cleanup@node1",
            "cleanup@node2",
            "deliver@node2",
            "first-only@node1",
            "first-only@node2",
            "install@node0",
            "migrate@node0",
            "migrate@node2",
        ],
        "{found}"
    );
    assert_eq!(
        reason(&found, "install@node0"),
        format!("`creates`: {}/installed exists", lab.node_dir(0).display())
    );
    assert_eq!(reason(&found, "migrate@node2"), "`only_if` failed");
    assert_eq!(
        reason(&found, "deliver@node2"),
        format!(
            "{}/payload already has this content",
            lab.node_dir(2).display()
        )
    );
    assert_eq!(
        found["gates"].as_array().unwrap().len(),
        3,
        "one gate per batch: {found}"
    );
    assert!(found["gates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["passes"] == true));

    let out = lab.run(&runbook, &[]).success();
    let show = lab.show(&lab::run_id(&out));
    assert_eq!(
        ran(&show, "done"),
        would_run,
        "the run executed what the probe said"
    );
    assert_eq!(ran(&show, "skipped"), would_skip);

    unknown_propagates(&lab);
    a_gate_that_would_not_pass(&lab, &predictable);
}

/// What comes after a task's output cannot be known, and the probe says so.
fn unknown_propagates(lab: &Lab) {
    let runbook = lab.runbook(DEPENDENT);
    let before = trees(lab);
    let found = probe(lab, &runbook);
    assert_eq!(trees(lab), before, "the probe changed a host");
    assert_eq!(
        probed(&found, "would-run"),
        ["version@node0", "version@node1", "version@node2"]
    );
    assert_eq!(
        reason(&found, "record@node1"),
        "`run` reads the output of step `version`, which only a run produces"
    );
    assert_eq!(
        reason(&found, "finish@node1"),
        "it comes after record@node0, which is unknown"
    );
    assert_eq!(probed(&found, "unknown").len(), 6, "{found}");
    let out = lab.run(&runbook, &[]).success();
    let show = lab.show(&lab::run_id(&out));
    let done = ran(&show, "done");
    for task in probed(&found, "would-run") {
        assert!(
            done.contains(&task),
            "{task} was predicted to run: {done:?}"
        );
    }
    assert_eq!(done.len(), 9, "the unknown ones ran too: {done:?}");
}

/// A member down: the first batch's gate would not pass, so its tasks, and all after
/// them, are unknown rather than a failed probe.
fn a_gate_that_would_not_pass(lab: &Lab, predictable: &str) {
    std::fs::remove_dir_all(lab.node_dir(2)).unwrap();
    let found = probe(lab, &lab.runbook(predictable));
    let gate = &found["gates"][0];
    assert_eq!(gate["passes"], false, "{found}");
    assert!(
        gate["reason"]
            .as_str()
            .unwrap()
            .starts_with("it would not pass now: batch 1 of `roll` would leave 1 healthy members, fewer than the 2 needed"),
        "{gate}"
    );
    assert_eq!(
        reason(&found, "restart@node0"),
        "it comes after the gate of batch 1 of `roll`, which is unknown"
    );
    assert_eq!(
        reason(&found, "restart@node2"),
        "it comes after restart@node1, which is unknown"
    );
}
