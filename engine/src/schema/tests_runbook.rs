//! Messages about runbooks: fields, actions, durations, alternatives, type mismatches.

use super::tests::{check, messages, rendered, summary};
use super::SchemaKind;

#[test]
fn reports_every_violation_in_source_order() {
    let text = r#"runbook: Rolling-Upgrade
params:
  version: { schema: { type: string, pattern: '^\d+\.\d+\.\d+$' }, default: "1.2" }
  Token: { schema: { type: strin }, secret: true }
on: sealers
steps:
  - id: preflight
    on: all
    run: status.sh
    timout: 30s
  - id: upload
    needs: [preflight, preflight]
    copy: { src: bin, mode: 755 }
  - id: roll
    rolling:
      batch: fault
      pause: 30
      steps:
        - id: Stop
          run: stop.sh
        - id: start
          run: start.sh
          sleep: 5s
  - approve: Finalize?
"#;
    assert_eq!(
        summary(&check(SchemaKind::Runbook, text)),
        r#"1:10 runbook: `Rolling-Upgrade` is not a valid runbook name
  hint: runbook names use lowercase letters, digits, `-` and `_`, and start with a letter or digit
3:77 params.version.default: the default of `version` must match the pattern `^\d+\.\d+\.\d+$`, found `1.2`
4:3 params.Token: `Token` is not a valid parameter name
  hint: parameter names use lowercase letters, digits and `_`, and do not start with a digit (templates read them as `params.NAME`)
4:28 params.Token.schema.type: invalid schema for parameter `Token`: `type` must be one of `array`, `boolean`, `integer`, `null`, `number`, `object`, `string`, found `strin`
  hint: did you mean `string`?
10:5 steps[0].timout: unknown field `timout` in step
  hint: did you mean `timeout`?
12:24 steps[1].needs[1]: `needs` lists `preflight` more than once
  hint: remove the repeated item
13:5 steps[1].copy: missing field `dest` in copy action
  hint: `dest`: The destination path on the host.
13:29 steps[1].copy.mode: `mode` must be an octal file mode (a string), found number `755`
  hint: write the mode in octal and quote it, e.g. `mode: "0755"`
16:14 steps[2].rolling.batch: `batch` must be `fault-tolerance`, a number of hosts (at least 1) or a percentage from 1% to 100% such as `25%`, found string `fault`
  hint: did you mean `fault-tolerance`?
17:14 steps[2].rolling.pause: `pause` must be a duration (a string), found number `30`
  hint: write `30s`: durations look like 500ms, 30s, 10m or 2h
19:15 steps[2].rolling.steps[0].id: `Stop` is not a valid step id
  hint: ids use lowercase letters, digits, `-` and `_`, and start with a letter or digit
23:11 steps[2].rolling.steps[1].sleep: step `start` has 2 actions: `run` and `sleep`
  hint: split it into two steps
24:5 steps[3]: missing field `id` in step
  hint: `id`: The step's name, unique in the runbook; `needs` and templates (`steps.ID`) refer to it.
"#
    );
}

#[test]
fn unknown_field_points_at_the_key_and_suggests_the_field() {
    let text = "runbook: r\nsteps:\n  - id: a\n    run: x\n    timout: 30s\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: unknown field `timout` in step
 --> x.yaml:5:5
  |
5 |     timout: 30s
  |     ^^^^^^
  = field: steps[0].timout
  = hint: did you mean `timeout`?

error: 1 problem found
"
    );
}

#[test]
fn unknown_field_without_a_close_name_lists_the_allowed_ones() {
    let text =
        "runbook: r\nsteps:\n  - id: a\n    fetch: { src: /x, dest: ./x, recursive: true }\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: unknown field `recursive` in fetch action
 --> x.yaml:4:34
  |
4 |     fetch: { src: /x, dest: ./x, recursive: true }
  |                                  ^^^^^^^^^
  = field: steps[0].fetch.recursive
  = hint: allowed fields: src, dest

error: 1 problem found
"
    );
}

#[test]
fn known_aliases_are_suggested() {
    let text = "runbook: r\nsteps:\n  - id: a\n    command: x\n    depends_on: [b]\n";
    let diagnostics = check(SchemaKind::Runbook, text);
    let found: Vec<(&str, Option<&str>)> = diagnostics
        .iter()
        .map(|d| (d.message.as_str(), d.hint.as_deref()))
        .collect();
    // No "has no action" as well: the misspelled action already explains it.
    assert_eq!(
        found,
        [
            (
                "unknown field `command` in step",
                Some("did you mean `run`?")
            ),
            (
                "unknown field `depends_on` in step",
                Some("did you mean `needs`?")
            ),
        ]
    );
}

#[test]
fn a_duration_written_as_a_number_gets_its_unit_suggested() {
    let text = "runbook: r\nsteps:\n  - id: a\n    run: x\n    timeout: 30\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: `timeout` must be a duration of at least 1s (a string), found number `30`
 --> x.yaml:5:14
  |
5 |     timeout: 30
  |              ^^
  = field: steps[0].timeout
  = hint: write `30s`: durations look like 500ms, 30s, 10m or 2h

error: 1 problem found
"
    );
    let text = "runbook: r\nsteps:\n  - id: a\n    sleep: 30x\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: `sleep` must be a duration, found `30x`
 --> x.yaml:4:12
  |
4 |     sleep: 30x
  |            ^^^
  = field: steps[0].sleep
  = hint: durations look like 500ms, 30s, 10m or 2h

error: 1 problem found
"
    );
}

#[test]
fn a_step_without_id() {
    let text = "runbook: r\nsteps:\n  - run: x\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: missing field `id` in step
 --> x.yaml:3:5
  |
3 |   - run: x
  |     ^
  = field: steps[0]
  = hint: `id`: The step's name, unique in the runbook; `needs` and templates (`steps.ID`) refer to it.

error: 1 problem found
"
    );
}

#[test]
fn a_step_needs_exactly_one_action() {
    let text = "runbook: r\nsteps:\n  - id: a\n    needs: []\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: step `a` has no action
 --> x.yaml:3:5
  |
3 |   - id: a
  |     ^
  = field: steps[0]
  = hint: add exactly one of run, copy, fetch, wait, approve, sleep, include, rolling

error: 1 problem found
"
    );
    let text = "runbook: r\nsteps:\n  - id: a\n    run: x\n    copy: { src: a, dest: b }\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: step `a` has 2 actions: `run` and `copy`
 --> x.yaml:5:5
  |
5 |     copy: { src: a, dest: b }
  |     ^^^^
  = field: steps[0].copy
  = hint: split it into two steps

error: 1 problem found
"
    );
    let text = "runbook: r\nsteps:\n  - id: a\n    sleep: 1s\n    run: x\n    approve: ok?\n";
    let diagnostics = check(SchemaKind::Runbook, text);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0].message,
        "step `a` has 3 actions: `sleep`, `run` and `approve`"
    );
    assert_eq!(
        diagnostics[0].hint.as_deref(),
        Some("split it into one step per action")
    );
}

#[test]
fn a_step_that_is_not_a_mapping_gets_one_message() {
    let text = "runbook: r\nsteps:\n  - run x\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: `steps[0]` must be a mapping, found string `run x`
 --> x.yaml:3:5
  |
3 |   - run x
  |     ^^^^^
  = field: steps[0]
  = hint: a step is a mapping that starts with `- id: NAME`

error: 1 problem found
"
    );
}

#[test]
fn with_needs_include() {
    let text = "runbook: r\nsteps:\n  - id: a\n    run: x\n    with: { v: 1 }\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: `with` is only allowed with `include`
 --> x.yaml:5:5
  |
5 |     with: { v: 1 }
  |     ^^^^
  = field: steps[0].with
  = hint: add `include`, or remove `with`

error: 1 problem found
"
    );
    let text = "runbook: r\nsteps:\n  - id: a\n    include: other.yaml\n    with: { v: 1 }\n";
    assert!(check(SchemaKind::Runbook, text).is_empty());
}

#[test]
fn alternatives_report_the_one_that_fits_the_type() {
    let text = "runbook: r\nsteps:\n  - id: a\n    run: x\n    retries: -1\n    on: []\n    expect: { exit: [0, 256] }\n";
    assert_eq!(
        messages(SchemaKind::Runbook, text),
        [
            "`retries` must be at least 0, found `-1`",
            "`on` must not be empty",
            "`exit[1]` must be at most 255, found `256`",
        ]
    );
    let text = "runbook: r\non: 3\nsteps:\n  - id: a\n    run: x\n";
    assert_eq!(
        messages(SchemaKind::Runbook, text),
        ["`on` must be a host or group name, `all`, `controller`, or a list of host and group names, found number `3`"]
    );
}

#[test]
fn type_mismatches_hint_at_quotes() {
    let text = "runbook: r\nsteps:\n  - id: a\n    run: x\n    sudo: 'yes'\n    when: 3\n";
    let diagnostics = check(SchemaKind::Runbook, text);
    let found: Vec<(&str, Option<&str>)> = diagnostics
        .iter()
        .map(|d| (d.message.as_str(), d.hint.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "`sudo` must be a boolean, found string `yes`",
                Some("write `true` or `false`, without quotes")
            ),
            (
                "`when` must be a string or a boolean, found number `3`",
                Some("put the value in quotes to make it a string")
            ),
        ]
    );
    let text = "name: c\nhosts:\n  h: { port: \"22\" }\n";
    let diagnostics = check(SchemaKind::Inventory, text);
    assert_eq!(
        diagnostics[0].message,
        "`port` must be an integer, found string `22`"
    );
    assert_eq!(
        diagnostics[0].hint.as_deref(),
        Some("remove the quotes to make it a number")
    );
}

/// The schema's duration floors are the loader's (`MIN_POLL_INTERVAL`, `MIN_TIMEOUT`):
/// every duration around them is accepted exactly when it is at least the floor.
#[test]
fn duration_floors_match_the_model() {
    use crate::model::duration::{MIN_POLL_INTERVAL, MIN_TIMEOUT};
    use crate::model::Duration;
    let written = [
        "0ms", "1ms", "99ms", "099ms", "100ms", "0100ms", "101ms", "999ms", "1000ms", "0s", "1s",
        "00s", "0m", "1m", "0h", "1h",
    ];
    for text in written {
        let span: Duration = text.parse().expect("a duration");
        let every = format!(
            "runbook: r\nsteps:\n  - id: a\n    wait: {{ until: x, every: {text}, timeout: 1m }}\n"
        );
        assert_eq!(
            messages(SchemaKind::Runbook, &every).is_empty(),
            span >= MIN_POLL_INTERVAL,
            "every: {text}"
        );
        let timeout = format!("runbook: r\nsteps:\n  - id: a\n    run: x\n    timeout: {text}\n");
        assert_eq!(
            messages(SchemaKind::Runbook, &timeout).is_empty(),
            span >= MIN_TIMEOUT,
            "timeout: {text}"
        );
    }
}

#[test]
fn retries_and_batches_have_ranges() {
    let step = |field: &str| format!("runbook: r\nsteps:\n  - id: a\n    run: x\n    {field}\n");
    assert!(messages(SchemaKind::Runbook, &step("retries: 1000")).is_empty());
    assert_eq!(
        messages(SchemaKind::Runbook, &step("retries: 1001")),
        ["`retries` must be at most 1000, found `1001`"]
    );
    assert_eq!(
        messages(SchemaKind::Runbook, &step("retries: { count: 4294967296 }")),
        ["`count` must be at most 1000, found `4294967296`"]
    );
    let batch = |rule: &str| {
        format!(
            "runbook: r\nsteps:\n  - id: r\n    rolling:\n      batch: \"{rule}\"\n      steps:\n        - {{ id: a, run: x }}\n"
        )
    };
    for ok in ["1%", "25%", "100%", "050%"] {
        assert!(messages(SchemaKind::Runbook, &batch(ok)).is_empty(), "{ok}");
    }
    for bad in ["0%", "00%", "101%", "150%", "1000%"] {
        assert_eq!(messages(SchemaKind::Runbook, &batch(bad)).len(), 1, "{bad}");
    }
}
