//! Compiler semantics on small inputs: ordering, includes, deferred templates, skips.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::source::{Diagnostic, SourceFile};

const INVENTORY: &str = "
name: t
hosts:
  a: { vars: { dir: /a, zone: x } }
  b: { vars: { dir: /b, zone: y } }
  c: { vars: { dir: /c, zone: x } }
  d: { vars: { dir: /d, zone: y } }
groups:
  members: [a, b, c, d]
cluster: { consensus: bft, members: members }
";

/// Includes resolved from an in-memory map of name -> text.
struct Files(HashMap<&'static str, &'static str>);

impl IncludeResolver for Files {
    fn resolve(
        &self,
        name: &str,
        _from: &SourceFile,
    ) -> Result<Arc<LoadedRunbook>, Vec<Diagnostic>> {
        let text = self
            .0
            .get(name)
            .ok_or_else(|| vec![Diagnostic::error(format!("no runbook `{name}`"))])?;
        parse_runbook(SourceFile::new(name, *text)).map(Arc::new)
    }
}

fn compile_with(
    runbook: &str,
    files: &[(&'static str, &'static str)],
    params: &[&str],
) -> Result<Plan, String> {
    let rb = parse_runbook(SourceFile::new("rb.yaml", runbook))
        .map_err(|e| crate::source::render_all(&e))?;
    let inv = parse_inventory(SourceFile::new("inv.yaml", INVENTORY))
        .map_err(|e| crate::source::render_all(&e))?;
    let params: Vec<ParamInput> = params
        .iter()
        .map(|p| ParamInput::from_arg(p).unwrap())
        .collect();
    compile(
        &rb,
        &inv,
        &params,
        &Files(files.iter().copied().collect()),
        &CompileOptions::default(),
    )
    .map(|c| c.plan)
    .map_err(|e| crate::source::render_all(&e))
}

fn task<'p>(plan: &'p Plan, step: &str, host: Option<&str>) -> (&'p Node, &'p Task) {
    plan.tasks()
        .find(|(_, t)| t.step == step && t.host.as_deref() == host)
        .unwrap_or_else(|| panic!("no task {step} on {host:?}"))
}

/// The steps a node transitively needs (through joins and gates).
fn needs_steps(plan: &Plan, node: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = plan.nodes[node].needs.clone();
    let mut seen = std::collections::HashSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        match &plan.nodes[n].kind {
            NodeKind::Task(t) => out.push(t.step.clone()),
            NodeKind::Join { step } => out.push(step.clone()),
            NodeKind::Gate(_) => {}
        }
        stack.extend(plan.nodes[n].needs.iter().copied());
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn steps_run_in_written_order_unless_needs_says_otherwise() {
    let plan = compile_with(
        "runbook: r\non: all\nsteps:\n  - { id: one, run: 'true' }\n  - { id: two, run: 'true' }\n  - { id: side, needs: [], run: 'true' }\n  - { id: three, needs: [one], run: 'true' }\n",
        &[],
        &[],
    )
    .unwrap();
    let (two, _) = task(&plan, "two", Some("a"));
    assert_eq!(needs_steps(&plan, two.id), ["one"]);
    let (side, _) = task(&plan, "side", Some("a"));
    assert!(needs_steps(&plan, side.id).is_empty());
    let (three, _) = task(&plan, "three", Some("a"));
    assert_eq!(needs_steps(&plan, three.id), ["one"]);
    // A step waits for every host of the step it needs, not just its own host.
    let join = plan.nodes[two.id].needs[0];
    assert_eq!(plan.nodes[join].needs.len(), 4);
}

#[test]
fn included_steps_are_prefixed_and_get_their_own_parameters() {
    let plan = compile_with(
        "runbook: r\non: all\nparams: { v: { default: '9' } }\nsteps:\n  - { id: first, run: 'true' }\n  - id: backup\n    include: child\n    on: [a, b]\n    with: { label: 'v{{params.v}}' }\n  - { id: after, on: c, run: 'true' }\n",
        &[("child", "runbook: child\nparams: { label: { schema: { type: string } } }\nsteps:\n  - { id: stop, run: 'stop {{params.label}}' }\n  - { id: start, run: 'echo {{steps.stop.exit}}' }\n")],
        &[],
    )
    .unwrap();
    let (stop, t) = task(&plan, "backup/stop", Some("a"));
    assert_eq!(
        t.action,
        Action::Run {
            command: Text::Ready("stop v9".into())
        }
    );
    assert_eq!(needs_steps(&plan, stop.id), ["first"]);
    let (_, start) = task(&plan, "backup/start", Some("b"));
    assert!(
        start.action
            == Action::Run {
                command: Text::Deferred {
                    deferred: "echo {{steps.stop.exit}}".into()
                }
            }
    );
    assert_eq!(plan.scopes[start.scope].prefix, "backup/");
    assert!(plan
        .tasks()
        .all(|(_, t)| !(t.step.starts_with("backup/") && t.host.as_deref() == Some("c"))));
    let (after, _) = task(&plan, "after", Some("c"));
    assert_eq!(
        needs_steps(&plan, after.id),
        ["backup", "backup/start", "backup/stop", "first"]
    );
}

#[test]
fn reading_a_step_that_is_not_needed_is_refused() {
    let err = compile_with(
        "runbook: r\non: all\nsteps:\n  - { id: list, run: ls, capture: true }\n  - { id: other, needs: [], run: 'echo {{steps.list.stdout}}' }\n",
        &[],
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("error: step `other` reads `steps.list` but does not need it\n"),
        "{err}"
    );
    assert!(err.contains("rb.yaml:5:"), "{err}");
}

#[test]
fn when_false_skips_at_plan_time_and_deferred_when_waits() {
    let plan = compile_with(
        "runbook: r\non: all\nsteps:\n  - { id: probe, run: 'true', capture: true }\n  - { id: maybe, run: 'true', when: \"{{#if (eq host.name 'a')}}yes{{else}}no{{/if}}\" }\n  - { id: later, run: 'true', when: '{{steps.probe.stdout}}' }\n",
        &[],
        &[],
    )
    .unwrap();
    assert!(!task(&plan, "maybe", Some("a")).1.skip);
    assert!(task(&plan, "maybe", Some("b")).1.skip);
    assert!(task(&plan, "later", Some("b"))
        .1
        .when
        .as_ref()
        .is_some_and(Text::is_deferred));
}

#[test]
fn rolling_tasks_chain_per_host_and_batches_follow_each_other() {
    let plan = compile_with(
        "runbook: r\non: members\nsteps:\n  - id: roll\n    rolling:\n      by: '{{host.vars.zone}}'\n      steps:\n        - { id: stop, run: stop }\n        - { id: start, run: start }\n  - { id: done, on: controller, run: 'true' }\n",
        &[],
        &[],
    )
    .unwrap();
    let batches: Vec<Vec<String>> = plan.rollings[0]
        .batches
        .iter()
        .map(|b| b.hosts.clone())
        .collect();
    assert_eq!(batches, [vec!["a"], vec!["c"], vec!["b"], vec!["d"]]);
    let (start_c, _) = task(&plan, "start", Some("c"));
    let before = needs_steps(&plan, start_c.id);
    assert_eq!(
        before,
        ["start", "stop"],
        "start on c needs stop on c and the previous batch"
    );
    let (stop_a, _) = task(&plan, "stop", Some("a"));
    assert!(needs_steps(&plan, stop_a.id).is_empty());
    let (done, _) = task(&plan, "done", None);
    assert_eq!(needs_steps(&plan, done.id), ["roll", "start", "stop"]);
}

#[test]
fn secrets_stay_out_of_plans() {
    let rb = "runbook: r\non: a\nparams: { token: { secret: true } }\nsteps:\n  - { id: use, run: 'login', env: { TOKEN: 'Bearer {{params.token}}' } }\n";
    let plan = compile_with(rb, &[], &[]).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    assert!(
        json.contains(r#"["TOKEN",{"parts":["Bearer ",{"secret":"token"}]}]"#),
        "{json}"
    );
    assert!(!json.contains("\\u0001"), "{json}");
    let shown = text::render(&plan);
    assert!(shown.contains("env TOKEN=Bearer (secret token)"), "{shown}");
    let err = compile_with(
        "runbook: r\non: a\nparams: { token: { secret: true } }\nsteps:\n  - { id: use, run: 'login {{params.token}}' }\n",
        &[],
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("secret parameter `token` used where it would be printed"),
        "{err}"
    );
}

#[test]
fn a_value_starting_like_the_old_secret_placeholder_is_an_ordinary_value() {
    let rb = "runbook: r\non: a\nparams: { note: {}, token: { secret: true } }\nsteps:\n  - { id: use, run: 'echo {{params.note}}', env: { N: '{{params.note}}' } }\n";
    let plan = compile_with(rb, &[], &["note=\u{1}secret:token\u{1}"]).unwrap();
    let (_, t) = task(&plan, "use", Some("a"));
    assert_eq!(
        t.action,
        Action::Run {
            command: Text::Ready("echo '\u{1}secret:token\u{1}'".to_owned())
        }
    );
    assert_eq!(
        t.env,
        [(
            "N".to_owned(),
            EnvValue::Plain("\u{1}secret:token\u{1}".to_owned())
        )]
    );
}

/// `steps.ID.stdout` of a step with several tasks names one only on a host where the
/// step has a task; a step with one task has one result wherever it is read.
#[test]
fn reading_one_result_is_fine_where_it_names_one_task() {
    let cases = [
        // The same hosts: each reads its own host's result.
        "  - { id: x, on: [a, b], run: v, capture: true }\n  - { id: y, on: [b, a], run: 'echo {{steps.x.stdout}}' }\n",
        // One task, read from the controller and from other hosts.
        "  - { id: x, on: a, run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.stdout}}' }\n  - { id: z, on: all, run: 'echo {{steps.x.exit}}' }\n",
        "  - { id: x, on: controller, run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.stdout}}' }\n",
        // Every host's result, by name or through a fleet helper.
        "  - { id: x, on: all, run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.hosts.a.stdout}} {{common_lines steps.x}}' }\n",
        // Inside a rolling block, a step reads the same host's earlier step.
        "  - id: roll\n    on: all\n    rolling:\n      steps:\n        - { id: x, run: v, capture: true }\n        - { id: y, run: 'echo {{steps.x.stdout}}' }\n      on_failure:\n        - { id: z, run: 'echo {{steps.x.exit}}' }\n",
    ];
    for steps in cases {
        let rb = format!("runbook: r\nsteps:\n{steps}");
        if let Err(e) = compile_with(&rb, &[], &[]) {
            panic!("{steps}\n{e}");
        }
    }
}

#[test]
fn reading_one_result_of_a_step_with_several_tasks_is_refused_where_ambiguous() {
    let cases = [
        (
            "  - { id: x, on: all, run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.stdout}}' }\n",
            "`steps.x.stdout` is ambiguous in `approve` of step `y`: step `x` runs on 4 hosts, step `y` on the controller",
        ),
        (
            "  - { id: x, on: [a, b], run: v, capture: true }\n  - { id: y, on: [a, c], run: 'echo {{steps.x.exit}}' }\n",
            "`steps.x.exit` is ambiguous in `run` of step `y`: step `x` runs on 2 hosts, step `y` also on `c`, where `x` has no task",
        ),
        // Decided without the inventory: two hosts are named.
        (
            "  - { id: x, on: [a, b], run: v, capture: true }\n  - { id: y, sleep: 1s, when: '{{steps.x.stdout}}' }\n",
            "`steps.x.stdout` is ambiguous in `when` of step `y`: step `x` runs on [a, b], step `y` on the controller",
        ),
    ];
    for (steps, message) in cases {
        let rb = format!("runbook: r\nsteps:\n{steps}");
        let err = compile_with(&rb, &[], &[]).unwrap_err();
        assert!(err.contains(message), "{steps}\n{err}");
        assert!(
            err.contains("name the host, `steps.x.hosts.HOST."),
            "{steps}\n{err}"
        );
    }
    // In an included runbook, its own steps are meant.
    let child = "runbook: child\nsteps:\n  - { id: x, on: all, run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.stdout}}' }\n";
    let err = compile_with(
        "runbook: r\nsteps:\n  - { id: inc, include: child }\n",
        &[("child", child)],
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err.matches("error: ").count(),
        2,
        "one problem, then the count: {err}"
    );
    assert!(err.contains("step `x` runs on 4 hosts"), "{err}");
}

/// Without an inventory, only what the runbook decides: `on: all` may be one host.
#[test]
fn validate_refuses_an_ambiguous_read_only_where_the_runbook_decides_it() {
    let check = |steps: &str| {
        let rb = parse_runbook(SourceFile::new(
            "rb.yaml",
            format!("runbook: r\nsteps:\n{steps}"),
        ))
        .unwrap();
        Runbook::validate(&rb)
            .1
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        check("  - { id: x, on: [a, b], run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.stdout}}' }\n"),
        ["`steps.x.stdout` is ambiguous in `approve` of step `y`: step `x` runs on [a, b], step `y` on the controller"]
    );
    assert!(check("  - { id: x, on: all, run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.stdout}}' }\n").is_empty());
    assert!(check("  - { id: x, on: [a], run: v, capture: true }\n  - { id: y, approve: 'v {{steps.x.stdout}}' }\n").is_empty());
}

/// Without an inventory, includes are found and checked like the runbook itself: each
/// included runbook once, however often it is included; a cycle is refused.
#[test]
fn validate_checks_includes_once_each_and_refuses_a_cycle() {
    let files = Files(HashMap::from([
        (
            "mid",
            "runbook: mid\nsteps:\n  - { id: a, include: leaf }\n  - { id: b, include: leaf }\n",
        ),
        (
            "leaf",
            "runbook: leaf\nsteps:\n  - { id: x, run: 'echo {{params.nope}}' }\n",
        ),
        (
            "loop",
            "runbook: loop\nsteps:\n  - { id: again, include: loop }\n",
        ),
    ]));
    let rb = parse_runbook(SourceFile::new(
        "rb.yaml",
        "runbook: r\non: all\nsteps:\n  - { id: m, include: mid }\n  - { id: l, include: loop }\n",
    ))
    .unwrap();
    let (runbook, errors) = Runbook::validate(&rb);
    assert!(errors.is_empty(), "{errors:?}");
    let messages: Vec<String> = check_includes(&runbook, &rb, &files)
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(
        messages,
        [
            "unknown variable `params.nope` in `run` of step `x`",
            "include cycle: loop -> loop"
        ]
    );
}

/// One pass reports every problem: a field the runbook refuses does not hide another
/// field's problem that only the inventory shows.
#[test]
fn a_refused_field_does_not_hide_another_fields_inventory_problem() {
    let err = compile_with(
        "runbook: r\non: all\nsteps:\n  - { id: s, run: 'echo {{nope}}', cwd: '{{host.vars.dri}}' }\n",
        &[],
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("unknown variable `nope` in `run` of step `s`"),
        "{err}"
    );
    assert!(
        err.contains("unknown variable `host.vars.dri` in `cwd` of step `s`"),
        "{err}"
    );
}
