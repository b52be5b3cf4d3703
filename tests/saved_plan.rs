//! Saved plans, `apply` and `diff`: what runs is what was reviewed. A saved plan applies
//! and runs to done; a runbook, inventory or parameter change since is refused with the
//! difference naming the changed task and command; a file edited by one byte or cut
//! short is refused; `--force` runs the saved plan and the run records it; a changed
//! node version makes the plan stale. Hosts are `transport: local` (the point here is
//! not SSH): each writes to its own directory, which the tests read.

mod support;

use std::fmt::Write as _;
use std::path::PathBuf;

use quorate::schema::{output_violations, OutputKind};
use serde_json::Value;
use support::{Output, Quorate};

const RUNBOOK: &str = r#"
runbook: upgrade
params:
  version: { schema: { type: string } }
  token: { secret: true }
on: all
steps:
  - id: write
    run: echo {{params.version}} > {{host.vars.dir}}/out
    env: { TOKEN: "{{params.token}}" }
  - id: check
    run: cat {{host.vars.dir}}/out
"#;

const SECRET: &str = "s3cr3t-value-42";

/// A controller directory: two local hosts with a directory each, a fingerprint command
/// reading their `version` file, the runbook, a store.
struct Desk {
    dir: tempfile::TempDir,
}

impl Desk {
    fn new() -> Self {
        let desk = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        for host in ["n0", "n1", "n2", "n3"] {
            std::fs::create_dir_all(desk.path(host)).unwrap();
            std::fs::write(desk.path(host).join("version"), "1.0\n").unwrap();
        }
        desk.inventory(&["node0", "node1"]);
        std::fs::write(desk.path("rb.yaml"), RUNBOOK).unwrap();
        desk
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the inventory with these members (node0..node2, each in its own directory).
    fn inventory(&self, members: &[&str]) {
        let mut yaml = String::from("name: desk\nhosts:\n");
        for m in members {
            let dir = self.path(&format!("n{}", &m[4..]));
            let _ = writeln!(
                yaml,
                "  {m}: {{ transport: local, vars: {{ dir: {} }} }}",
                dir.display()
            );
        }
        let _ = write!(
            yaml,
            "cluster:\n  consensus: cft\n  members: [{}]\n  health: \"true\"\n  membership: \"for m in {}; do echo $m; done\"\n  fingerprint: \"cat {{{{host.vars.dir}}}}/version\"\n",
            members.join(", "),
            members.join(" ")
        );
        std::fs::write(self.path("inv.yaml"), yaml).unwrap();
    }

    fn quorate(&self) -> Quorate {
        Quorate::in_lab(self.dir.path()).env("QUORATE_PARAM_TOKEN", SECRET)
    }

    /// `quorate plan rb.yaml -i inv.yaml -p version=V --out FILE`; the file's text.
    fn save(&self, version: &str, file: &str) -> String {
        self.quorate()
            .args(["plan"])
            .arg(self.path("rb.yaml"))
            .arg("-i")
            .arg(self.path("inv.yaml"))
            .args(["-p", &format!("version={version}"), "--out"])
            .arg(self.path(file))
            .run()
            .success();
        std::fs::read_to_string(self.path(file)).unwrap()
    }

    fn apply(&self, file: &str, extra: &[&str]) -> Output {
        self.quorate()
            .args(["apply", "--plain"])
            .arg(self.path(file))
            .args(extra)
            .run()
    }

    fn out_of(&self, host: &str) -> String {
        std::fs::read_to_string(self.path(host).join("out")).unwrap_or_default()
    }

    fn show(&self) -> Value {
        let out = self
            .quorate()
            .args(["show", "latest", "--format", "json"])
            .run()
            .success();
        serde_json::from_str(&out).unwrap()
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.path(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{from} not in {text}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }
}

fn events_of<'v>(show: &'v Value, kind: &str) -> Vec<&'v str> {
    show["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

/// Asserts that a refused apply ran nothing: no run recorded, no host written.
fn assert_nothing_ran(desk: &Desk) {
    assert!(
        !desk.path("state").exists(),
        "no run store, so no run, is created"
    );
    assert_eq!(desk.out_of("n0"), "", "no task ran");
}

#[test]
fn an_unchanged_plan_applies_and_runs_to_done() {
    let desk = Desk::new();
    let text = desk.save("1.2", "plan.json");
    assert!(!text.contains(SECRET), "the saved plan holds no secret");
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        output_violations(OutputKind::SavedPlan, &saved),
        Vec::<String>::new(),
        "schemas/saved-plan.schema.json describes it"
    );
    assert_eq!(saved["saved_plan"], 1);
    assert_eq!(
        saved["content"]["fingerprint"]["nodes"][1],
        serde_json::json!({"host": "node1", "answer": {"version": "1.0"}})
    );
    assert_eq!(
        saved["content"]["fingerprint"]["membership"]["members"],
        serde_json::json!(["node0", "node1"])
    );
    let secret = saved["content"]["plan"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "token")
        .unwrap();
    assert_eq!(secret["value"], Value::Null);
    let sha = |s: &Value| s["sha256"].as_str().unwrap().len();
    assert_eq!(sha(&saved["content"]["sources"]["runbook"]), 64);
    assert_eq!(sha(&saved["content"]["sources"]["inventory"]), 64);

    let out = desk.apply("plan.json", &[]);
    let stdout = out.success();
    assert!(
        stdout.contains("done: 4 done, 0 skipped, 0 failed"),
        "{stdout}"
    );
    assert_eq!(desk.out_of("n0"), "1.2\n");
    assert_eq!(desk.out_of("n1"), "1.2\n");
    let show = desk.show();
    assert_eq!(show["run"]["status"], "done");
    let applied = events_of(&show, "applied");
    assert_eq!(applied.len(), 1);
    assert!(
        applied[0].contains(saved["digest"].as_str().unwrap()),
        "{applied:?}"
    );
    assert!(events_of(&show, "forced").is_empty(), "nothing was forced");
}

#[test]
fn a_limited_plan_applies_with_its_limit() {
    let desk = Desk::new();
    desk.quorate()
        .args(["plan"])
        .arg(desk.path("rb.yaml"))
        .arg("-i")
        .arg(desk.path("inv.yaml"))
        .args(["-p", "version=1.2", "--limit", "node1", "--out"])
        .arg(desk.path("plan.json"))
        .run()
        .success();
    desk.apply("plan.json", &[]).success();
    assert_eq!(desk.out_of("n1"), "1.2\n");
    assert_eq!(desk.out_of("n0"), "", "node0 is outside the limit");
}

#[test]
fn a_runbook_edit_is_refused_with_the_changed_command() {
    let desk = Desk::new();
    desk.save("1.2", "plan.json");
    desk.edit(
        "rb.yaml",
        "run: cat {{host.vars.dir}}/out",
        "run: cat {{host.vars.dir}}/out; rm -f {{host.vars.dir}}/version",
    );
    let err = desk.apply("plan.json", &[]).failure(2);
    let n0 = desk.path("n0").display().to_string();
    assert!(
        err.contains("plan.json: today's runbook, inventory or parameters compile to a different plan than the one saved"),
        "{err}"
    );
    assert!(err.contains("  ~ check@node0\n"), "{err}");
    assert!(
        err.contains(&format!("      - run: cat {n0}/out\n")),
        "{err}"
    );
    assert!(
        err.contains(&format!("      + run: cat {n0}/out; rm -f {n0}/version\n")),
        "{err}"
    );
    assert!(
        !err.contains("write@node0"),
        "an unchanged task is not listed:\n{err}"
    );
    assert_nothing_ran(&desk);
}

#[test]
fn an_inventory_edit_is_refused_with_the_changed_tasks() {
    let desk = Desk::new();
    desk.save("1.2", "plan.json");
    let (n1, n2) = (desk.path("n1"), desk.path("n2"));
    desk.edit(
        "inv.yaml",
        &format!("dir: {} }}", n1.display()),
        &format!("dir: {} }}", n2.display()),
    );
    let err = desk.apply("plan.json", &[]).failure(2);
    assert!(err.contains("  ~ write@node1\n"), "{err}");
    assert!(
        err.contains(&format!("      + run: echo 1.2 > {}/out\n", n2.display())),
        "{err}"
    );
    assert!(err.contains("  ~ check@node1\n"), "{err}");
    assert!(!err.contains("write@node0"), "{err}");
    assert_nothing_ran(&desk);
}

#[test]
fn a_parameter_change_is_refused_with_the_changed_value_and_commands() {
    let desk = Desk::new();
    desk.save("1.2", "plan.json");
    let err = desk.apply("plan.json", &["-p", "version=1.3"]).failure(2);
    assert!(
        err.contains("parameters:\n  - version = \"1.2\"\n  + version = \"1.3\"\n"),
        "{err}"
    );
    let n0 = desk.path("n0").display().to_string();
    assert!(
        err.contains(&format!(
            "  ~ write@node0\n      - run: echo 1.2 > {n0}/out\n      + run: echo 1.3 > {n0}/out\n"
        )),
        "{err}"
    );
    assert_nothing_ran(&desk);
}

#[test]
fn a_file_edited_by_one_byte_or_cut_short_is_refused() {
    let desk = Desk::new();
    let text = desk.save("1.2", "plan.json");
    let at = text.find("echo 1.2").unwrap() + "echo 1.".len();
    let mut bytes = text.clone().into_bytes();
    bytes[at] = b'9';
    std::fs::write(desk.path("edited.json"), &bytes).unwrap();
    let err = desk.apply("edited.json", &[]).failure(2);
    assert!(
        err.contains("edited.json cannot be used as a saved plan: it was changed after it was saved: its content has digest sha256:"),
        "{err}"
    );
    std::fs::write(desk.path("short.json"), &text.as_bytes()[..text.len() / 2]).unwrap();
    let err = desk.apply("short.json", &[]).failure(2);
    assert!(
        err.contains(
            "short.json cannot be used as a saved plan: it is cut short: its JSON ends at line"
        ),
        "{err}"
    );
    assert!(err.contains("(truncated?)"), "{err}");
    // Layout is not content: the same plan reformatted still applies.
    let value: Value = serde_json::from_str(&text).unwrap();
    std::fs::write(desk.path("compact.json"), value.to_string()).unwrap();
    assert_nothing_ran(&desk);
    desk.apply("compact.json", &[]).success();
    assert_eq!(desk.out_of("n0"), "1.2\n");
}

#[test]
fn force_runs_the_saved_plan_and_the_run_records_what_it_overrode() {
    let desk = Desk::new();
    desk.save("1.2", "plan.json");
    let out = desk.apply("plan.json", &["-p", "version=1.3", "--force"]);
    assert!(
        out.stderr
            .contains("plan.json: today's runbook, inventory or parameters compile to a different plan than the one saved"),
        "{}",
        out.stderr
    );
    out.success();
    assert_eq!(
        desk.out_of("n0"),
        "1.2\n",
        "the saved plan ran, not today's"
    );
    let show = desk.show();
    let forced = events_of(&show, "forced");
    assert_eq!(forced.len(), 1, "{show}");
    assert!(
        forced[0].starts_with("forced with --force by "),
        "{}",
        forced[0]
    );
    assert!(forced[0].contains("+ version = \"1.3\""), "{}", forced[0]);
    let text = desk.quorate().args(["show", "latest"]).run().success();
    assert!(text.contains("\nforced with --force by "), "{text}");
    assert!(text.contains("\napplied saved plan "), "{text}");
}

#[test]
fn a_changed_node_version_makes_the_plan_stale() {
    let desk = Desk::new();
    desk.save("1.2", "plan.json");
    std::fs::write(desk.path("n1").join("version"), "1.1\n").unwrap();
    let err = desk.apply("plan.json", &[]).failure(2);
    assert!(
        err.contains("plan.json: the cluster changed since the plan was saved: the plan is stale"),
        "{err}"
    );
    assert!(
        err.contains("  node1: fingerprint `1.0` when the plan was saved, `1.1` now\n"),
        "{err}"
    );
    assert_nothing_ran(&desk);
}

#[test]
fn a_member_unreachable_at_plan_time_is_recorded_and_not_compared() {
    let desk = Desk::new();
    std::fs::remove_file(desk.path("n1").join("version")).unwrap();
    let text = desk.save("1.2", "plan.json");
    let saved: Value = serde_json::from_str(&text).unwrap();
    let answer = &saved["content"]["fingerprint"]["nodes"][1]["answer"];
    assert_eq!(answer["unreachable"], "it ended with exit 1", "{answer}");
    std::fs::write(desk.path("n1").join("version"), "2.0\n").unwrap();
    let out = desk.apply("plan.json", &[]);
    assert!(
        out.stderr
            .contains("node1 was not reachable when the plan was saved: not compared"),
        "{}",
        out.stderr
    );
    out.success();
}

#[test]
fn a_missing_secret_is_named_at_apply() {
    let desk = Desk::new();
    desk.save("1.2", "plan.json");
    let out = Quorate::in_lab(desk.dir.path())
        .args(["apply"])
        .arg(desk.path("plan.json"))
        .run();
    let err = out.failure(2);
    assert!(
        err.contains("error: missing secret parameter `token`"),
        "{err}"
    );
    assert!(err.contains("set QUORATE_PARAM_TOKEN"), "{err}");
    assert_nothing_ran(&desk);
}

fn diff(desk: &Desk, a: &str, b: &str) -> Output {
    Quorate::new()
        .args(["diff"])
        .arg(desk.path(a))
        .arg(desk.path(b))
        .run()
}

const ROLLING: &str = r"
runbook: roll
params:
  version: { schema: { type: string } }
on: all
steps:
  - id: roll
    rolling:
      batch: 1
      steps:
        - id: install
          run: echo {{params.version}} > {{host.vars.dir}}/out
";

#[test]
fn diff_shows_parameters_quorum_tasks_and_batches() {
    let desk = Desk::new();
    std::fs::write(desk.path("rb.yaml"), ROLLING).unwrap();
    desk.inventory(&["node0", "node1", "node2"]);
    desk.save("1.2", "a.json");
    let same = diff(&desk, "a.json", "a.json");
    assert_eq!(same.code, 0);
    assert!(
        same.stdout.ends_with("the plans are the same\n"),
        "{}",
        same.stdout
    );
    desk.inventory(&["node0", "node1", "node2", "node3"]);
    desk.save("1.3", "b.json");
    let out = diff(&desk, "a.json", "b.json");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let dirs: Vec<String> = ["n0", "n1", "n2", "n3"]
        .iter()
        .map(|d| desk.path(d).display().to_string())
        .collect();
    let body = out.stdout.split_once("\n+++ ").unwrap().1;
    let body = body.split_once('\n').unwrap().1;
    let expected = format!(
        "parameters:
  - version = \"1.2\"
  + version = \"1.3\"
quorum:
  - cft: n = 3, f = 1, quorum 2
  - members: node0, node1, node2
  + cft: n = 4, f = 1, quorum 3
  + members: node0, node1, node2, node3
tasks:
  ~ install@node0
      - run: echo 1.2 > {d0}/out
      + run: echo 1.3 > {d0}/out
  ~ install@node1
      - run: echo 1.2 > {d1}/out
      + run: echo 1.3 > {d1}/out
  ~ install@node2
      - run: echo 1.2 > {d2}/out
      + run: echo 1.3 > {d2}/out
  + install@node3 (added)
      run: echo 1.3 > {d3}/out
      in batch 4 of `roll`
      after: the gate of batch 4 of `roll`
batches of `roll`:
  + batch 4: node3 (1 voting member down)
  - membership on node0: for m in node0 node1 node2; do echo $m; done
  - membership on node1: for m in node0 node1 node2; do echo $m; done
  - membership on node2: for m in node0 node1 node2; do echo $m; done
  + health on node3: true
  + membership on node0: for m in node0 node1 node2 node3; do echo $m; done
  + membership on node1: for m in node0 node1 node2 node3; do echo $m; done
  + membership on node2: for m in node0 node1 node2 node3; do echo $m; done
  + membership on node3: for m in node0 node1 node2 node3; do echo $m; done
",
        d0 = dirs[0],
        d1 = dirs[1],
        d2 = dirs[2],
        d3 = dirs[3],
    );
    assert!(body.starts_with(&expected), "{body}");
}

#[test]
fn diff_refuses_what_is_not_a_saved_plan() {
    let desk = Desk::new();
    desk.save("1.2", "a.json");
    std::fs::write(desk.path("plain.json"), "{\"format\": 2}").unwrap();
    let err = diff(&desk, "a.json", "plain.json").failure(2);
    assert!(
        err.contains("plain.json cannot be used as a saved plan: it is not a saved plan"),
        "{err}"
    );
}
