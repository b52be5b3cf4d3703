//! End-to-end checks of validation: documents in, rendered diagnostics out. The rendered
//! text is part of the contract with operators, so whole messages are asserted.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::*;
use crate::model::load;
use crate::source::{display_pointer, render_all, Diagnostic, SourceFile};

/// The inventory example of the runbook format's design, verbatim.
const CONTRACT_INVENTORY: &str = r#"# yaml-language-server: $schema=../schemas/inventory.schema.json
name: prod-chain            # the cluster's identity: runs lock on it
hosts:
  node0:
    address: 10.0.0.10      # default: the host's key
    port: 22                # default: what OpenSSH config says
    user: ops
    transport: ssh          # ssh (default) | local (run on the controller itself)
    vars: { node_dir: /data/fisco/node0, zone: a }
  node1: { address: 10.0.0.11, vars: { node_dir: /data/fisco/node1, zone: b } }
groups:
  sealers: [node0, node1, node2, node3]
  observers: [node4]
vars: { chain_id: "1" }     # global; a host's vars override them
cluster:
  consensus: bft            # bft: n = 3f+1 | cft: n = 2f+1 (raft-like)
  members: sealers          # who votes
  health: "{{host.vars.node_dir}}/status.sh --healthy"   # exit 0 = healthy member
  membership: "{{host.vars.node_dir}}/admin.sh sealers"   # optional: prints the live voting
                            # members, one host name a line; run on a healthy member
ssh:
  config: ./ssh_config      # optional extra OpenSSH config; ~/.ssh/config applies as usual
  host_keys: strict         # strict (default) | accept-new ; never silently off
"#;

/// The runbook example of the runbook format's design, with one fix: the design writes
/// `description: new binary, on the controller` inside a flow mapping, where the comma ends
/// the value and makes `on the controller` a key (see
/// `a_comma_in_a_flow_mapping_starts_a_new_key`). Quoted here.
const CONTRACT_RUNBOOK: &str = r#"# yaml-language-server: $schema=../schemas/runbook.schema.json
runbook: rolling-upgrade
description: Replace the node binary on every member, never more than f down at once.
params:
  binary:  { schema: { type: string }, description: "new binary, on the controller" }
  version: { schema: { type: string, pattern: '^\d+\.\d+\.\d+$' } }
  token:   { schema: { type: string }, secret: true }     # never printed, never stored
on: sealers                 # default target of steps: group, host, list, all, controller
steps:
  - id: preflight
    on: all
    run: "{{host.vars.node_dir}}/status.sh"
    capture: true           # stdout kept for later steps
  - id: upload
    needs: [preflight]
    copy: { src: "{{params.binary}}", dest: "{{host.vars.node_dir}}/../bin.new", mode: "0755" }
  - id: roll
    needs: [upload]
    rolling:
      batch: fault-tolerance      # f, minus members already unhealthy | N | "25%"
      by: "{{host.vars.zone}}"    # optional: a batch never spans two zones
      pause: 30s                  # between batches
      steps:
        - id: stop
          run: "{{host.vars.node_dir}}/stop.sh"
          unless: "! pgrep -f {{host.vars.node_dir}}"   # guard: skip when already stopped
        - id: swap
          needs: [stop]
          run: cp -p bin bin.bak && mv bin.new bin
          creates: "{{host.vars.node_dir}}/../bin.bak"
        - id: start
          needs: [swap]
          run: "{{host.vars.node_dir}}/start.sh"
        - id: synced
          needs: [start]
          wait: { until: "{{host.vars.node_dir}}/status.sh --synced", every: 5s, timeout: 10m }
      on_failure:                  # runs on the failed batch's hosts, then the run stops
        - id: rollback
          run: mv bin.bak bin && "{{host.vars.node_dir}}/start.sh"
  - id: approve-finalize
    needs: [roll]
    approve: "All members run {{params.version}}. Finalize?"
"#;

fn check(kind: SchemaKind, text: &str) -> Vec<Diagnostic> {
    let doc = load(SourceFile::new("x.yaml", text)).expect("test documents are valid YAML");
    validate(kind, &doc)
}

fn rendered(kind: SchemaKind, text: &str) -> String {
    render_all(&check(kind, text))
}

/// One line per diagnostic, `LINE:COL FIELD: MESSAGE`, and its hint indented below.
fn summary(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let pos = d.pos.expect("every violation has a position");
        let field = display_pointer(d.pointer.as_deref().expect("every violation has a field"));
        let _ = writeln!(out, "{pos} {field}: {}", d.message);
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "  hint: {hint}");
        }
    }
    out
}

fn messages(kind: SchemaKind, text: &str) -> Vec<String> {
    check(kind, text).into_iter().map(|d| d.message).collect()
}

/// Every `properties` entry anywhere in `schema`, as (pointer, property schema).
fn all_properties<'a>(schema: &'a Value, at: &str, out: &mut Vec<(String, &'a Value)>) {
    match schema {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{key}");
                if key == "properties" {
                    for (name, property) in child.as_object().into_iter().flatten() {
                        out.push((format!("{here}/{name}"), property));
                    }
                }
                all_properties(child, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                all_properties(item, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn both_schemas_are_valid_2020_12_schemas_with_ids_and_descriptions() {
    for kind in [SchemaKind::Runbook, SchemaKind::Inventory] {
        let schema = schema_json(kind);
        jsonschema::draft202012::meta::validate(schema).expect("schema follows the meta-schema");
        embedded::compile(schema).expect("schema compiles");
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(
            schema["$id"],
            format!("https://quorate.dev/schemas/{}.schema.json", kind.noun())
        );
        let mut properties = Vec::new();
        all_properties(schema, "", &mut properties);
        for (pointer, property) in properties {
            // Editors show the description; a bare `$ref` would show the shared one's.
            assert!(
                property.get("description").is_some(),
                "{pointer} has no description"
            );
        }
    }
}

#[test]
fn the_contract_examples_are_valid() {
    assert_eq!(rendered(SchemaKind::Inventory, CONTRACT_INVENTORY), "");
    assert_eq!(rendered(SchemaKind::Runbook, CONTRACT_RUNBOOK), "");
}

#[test]
fn a_small_valid_runbook_and_inventory_pass() {
    let runbook = "runbook: noop\nsteps:\n  - id: a\n    run: 'true'\n";
    assert!(check(SchemaKind::Runbook, runbook).is_empty());
    let inventory = "name: c\nhosts:\n  h: {}\n";
    assert!(check(SchemaKind::Inventory, inventory).is_empty());
}

#[test]
fn a_comma_in_a_flow_mapping_starts_a_new_key() {
    let text = "runbook: r\nparams:\n  binary:  { schema: { type: string }, description: new binary, on the controller }\nsteps:\n  - id: a\n    run: x\n";
    assert_eq!(
        rendered(SchemaKind::Runbook, text),
        "\
error: unknown field `on the controller` in parameter
 --> x.yaml:3:65
  |
3 |   binary:  { schema: { type: string }, description: new binary, on the controller }
  |                                                                 ^^^^^^^^^^^^^^^^^
  = field: params.binary.on the controller
  = hint: a comma inside `{ }` ends a value: if this belongs to the value before it, quote that value

error: 1 problem found
"
    );
}

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
16:14 steps[2].rolling.batch: `batch` must be `fault-tolerance`, a number of hosts or a percentage such as `25%`, found string `fault`
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
error: `timeout` must be a duration (a string), found number `30`
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

#[test]
fn empty_or_misshapen_documents() {
    assert_eq!(
        messages(SchemaKind::Runbook, ""),
        ["the runbook must be a mapping, found an empty value"]
    );
    assert_eq!(
        messages(SchemaKind::Inventory, "- a\n"),
        ["the inventory must be a mapping, found a list"]
    );
    assert_eq!(
        messages(SchemaKind::Runbook, "runbook: r\nsteps:\n"),
        ["`steps` must be a list, found an empty value"]
    );
    assert_eq!(
        messages(SchemaKind::Runbook, "description: x\n"),
        [
            "missing field `runbook` in runbook",
            "missing field `steps` in runbook"
        ]
    );
}

#[test]
fn a_bad_enum_value_names_the_allowed_ones() {
    let text = "name: c\nhosts:\n  h: {}\ncluster:\n  consensus: raft\n  members: [h]\n";
    assert_eq!(
        rendered(SchemaKind::Inventory, text),
        "\
error: `consensus` must be one of `bft`, `cft`, found `raft`
 --> x.yaml:5:14
  |
5 |   consensus: raft
  |              ^^^^
  = field: cluster.consensus
  = hint: raft-like protocols (crash faults) are `cft`; PBFT-like protocols (byzantine faults) are `bft`

error: 1 problem found
"
    );
    let text = "name: c\nhosts:\n  h: { transport: sh }\nssh: { host_keys: accept_new }\n";
    let diagnostics = check(SchemaKind::Inventory, text);
    let hints: Vec<Option<&str>> = diagnostics.iter().map(|d| d.hint.as_deref()).collect();
    assert_eq!(
        hints,
        [
            Some("did you mean `ssh`?"),
            Some("did you mean `accept-new`?")
        ]
    );
}

#[test]
fn reserved_names_cannot_name_hosts_or_groups() {
    let text = "name: c\nhosts:\n  all: { address: 10.0.0.1 }\ngroups:\n  controller: [all]\n";
    assert_eq!(
        rendered(SchemaKind::Inventory, text),
        "\
error: `all` cannot be used as a host name
 --> x.yaml:3:3
  |
3 |   all: { address: 10.0.0.1 }
  |   ^^^
  = field: hosts.all
  = hint: `all` and `controller` are reserved target names (every host, and this machine): rename the host

error: `controller` cannot be used as a group name
 --> x.yaml:5:3
  |
5 |   controller: [all]
  |   ^^^^^^^^^^
  = field: groups.controller
  = hint: `all` and `controller` are reserved target names (every host, and this machine): rename the group

error: 2 problems found
"
    );
}

#[test]
fn inventory_violations() {
    let text = "\
name: prod chain
hosts:
  node0: { address: 10.0.0.10, port: 70000, transprt: ssh }
  node1:
  bad name: {}
groups:
  sealers: node0
  observers: [node1, node1]
vars: { 1x: 2 }
cluster:
  members: sealers
";
    assert_eq!(
        messages(SchemaKind::Inventory, text),
        [
            "`prod chain` is not a valid cluster name",
            "`port` must be at most 65535, found `70000`",
            "unknown field `transprt` in host",
            "`node1` must be a mapping, found an empty value",
            "`bad name` is not a valid host name",
            "`sealers` must be a list of host names, found string `node0`",
            "`observers` lists `node1` more than once",
            "`1x` is not a valid variable name",
            "missing field `consensus` in cluster",
        ]
    );
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(100);
    let text = format!("runbook: r\nsteps:\n  - id: a\n    run: x\n    timeout: {long}\n");
    assert_eq!(
        messages(SchemaKind::Runbook, &text),
        [format!(
            "`timeout` must be a duration, found `{}…`",
            "x".repeat(39)
        )]
    );
}

#[test]
fn values_are_checked_against_parameter_schemas() {
    let schema = json!({ "type": "string", "pattern": r"^\d+\.\d+\.\d+$" });
    assert_eq!(validate_value(&schema, &json!("1.2.3")), Ok(Vec::new()));
    assert_eq!(
        validate_value(&schema, &json!("1.2")),
        Ok(vec![SchemaViolation {
            pointer: String::new(),
            message: r"the value must match the pattern `^\d+\.\d+\.\d+$`, found `1.2`".to_owned(),
            hint: None,
            at_key: false,
        }])
    );
    let schema = json!({
        "type": "object",
        "properties": { "replicas": { "type": "integer" } },
        "required": ["zone"],
        "additionalProperties": false
    });
    let violations = validate_value(&schema, &json!({ "replicas": "3", "zones": 2 })).unwrap();
    let found: Vec<(&str, &str, bool)> = violations
        .iter()
        .map(|v| (v.pointer.as_str(), v.message.as_str(), v.at_key))
        .collect();
    assert_eq!(
        found,
        [
            (
                "/replicas",
                "`replicas` must be an integer, found string `3`",
                false
            ),
            ("/zones", "unknown field `zones` in the value", true),
            ("", "missing field `zone` in the value", true),
        ]
    );
}

#[test]
fn an_invalid_parameter_schema_is_an_error_with_a_reason() {
    assert_eq!(
        validate_value(&json!({ "type": "strin" }), &json!(1)),
        Err(
            "invalid schema at `type`: `type` must be one of `array`, `boolean`, `integer`, \
             `null`, `number`, `object`, `string`, found `strin`; did you mean `string`?"
                .to_owned()
        )
    );
    assert_eq!(
        validate_value(&json!({ "pattern": "(" }), &json!("x")),
        Err("invalid schema at `pattern`: `pattern` must be a valid regex, found `(`".to_owned())
    );
    assert_eq!(
        validate_value(&json!({ "$ref": "https://example.com/s.json" }), &json!(1)),
        Err(
            "invalid schema: `$ref` to `https://example.com/s.json` cannot be resolved; a \
             schema can only refer inside itself, e.g. `$ref: \"#/$defs/NAME\"`"
                .to_owned()
        )
    );
}

#[test]
fn secrets_stay_out_of_messages() {
    let schema =
        json!({ "type": "string", "minLength": 20, "enum": ["s3cret-that-is-long-enough"] });
    let violations = validate_secret(&schema, &json!("hunter2")).unwrap();
    for violation in &violations {
        assert!(!violation.message.contains("hunter2"), "{violation:?}");
        assert!(!violation
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("hunter2"));
    }
    assert_eq!(
        violations
            .iter()
            .map(|v| v.message.as_str())
            .collect::<Vec<_>>(),
        [
            "the value must be `s3cret-that-is-long-enough`, found `***`",
            "the value must be at least 20 characters long",
        ]
    );
    let text = "runbook: r\nparams:\n  token: { schema: { type: string, pattern: '^tk-' }, secret: true, default: hunter2 }\nsteps:\n  - id: a\n    run: x\n";
    assert_eq!(
        messages(SchemaKind::Runbook, text),
        ["the default of `token` must match the pattern `^tk-`, found `***`"]
    );
}

/// Checks that each (schema, value) pair gives exactly the message with it.
fn assert_messages(cases: &[(Value, Value, &str)]) {
    for (schema, value, message) in cases {
        let violations = validate_value(schema, value).expect("schema is valid");
        let messages: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(messages, [*message], "{schema}");
    }
}

#[test]
fn sizes_and_bounds_have_a_sentence_each() {
    assert_messages(&[
        (
            json!({ "maxLength": 3 }),
            json!("abcd"),
            "the value must be at most 3 characters long, found 4",
        ),
        (
            json!({ "minLength": 3 }),
            json!("ab"),
            "the value must be at least 3 characters long, found 2",
        ),
        (
            json!({ "maxItems": 1 }),
            json!([1, 2]),
            "the value must have at most 1 item, found 2",
        ),
        (
            json!({ "minItems": 2 }),
            json!([1]),
            "the value must have at least 2 items, found 1",
        ),
        (
            json!({ "minProperties": 2 }),
            json!({ "a": 1 }),
            "the value must have at least 2 entries, found 1",
        ),
        (
            json!({ "maxProperties": 0 }),
            json!({ "a": 1 }),
            "the value must have at most 0 entries, found 1",
        ),
        (
            json!({ "minimum": 1 }),
            json!(0),
            "the value must be at least 1, found `0`",
        ),
        (
            json!({ "exclusiveMinimum": 0 }),
            json!(0),
            "the value must be greater than 0, found `0`",
        ),
        (
            json!({ "exclusiveMaximum": 10 }),
            json!(10),
            "the value must be less than 10, found `10`",
        ),
        (
            json!({ "multipleOf": 2 }),
            json!(3),
            "the value must be a multiple of 2, found `3`",
        ),
    ]);
}

#[test]
fn other_keywords_have_a_sentence_each() {
    assert_messages(&[
        (
            json!({ "const": "on" }),
            json!("off"),
            "the value must be `on`, found `off`",
        ),
        (
            json!({ "enum": ["a"] }),
            json!("b"),
            "the value must be `a`, found `b`",
        ),
        (
            json!({ "not": { "const": 0 } }),
            json!(0),
            "the value cannot be `0`",
        ),
        (
            json!({ "items": { "type": "integer" } }),
            json!([1, "x"]),
            "the value's item [1] must be an integer, found string `x`",
        ),
        (
            json!({ "uniqueItems": true }),
            json!([{ "a": 1 }, { "a": 1 }]),
            "the value has two equal items, [0] and [1]",
        ),
        (
            json!({ "contains": { "const": 1 } }),
            json!([2]),
            "the value has no item of the required kind",
        ),
        (
            json!({ "anyOf": [{ "type": "string" }, { "type": "array" }] }),
            json!(1),
            "the value must be a string or a list, found number `1`",
        ),
        (
            json!({ "oneOf": [{ "minimum": 0 }, { "maximum": 10 }] }),
            json!(5),
            "the value matches more than one of the allowed forms",
        ),
        (
            json!({ "dependentRequired": { "a": ["b"] } }),
            json!({ "a": 1 }),
            "`a` is only allowed with `b`",
        ),
        (json!(false), json!(1), "the value is not allowed here"),
    ]);
}

#[test]
fn cluster_members_are_a_group_or_hosts() {
    let inventory = |members: &str| {
        format!("name: c\nhosts:\n  h: {{}}\ncluster:\n  consensus: bft\n  members: {members}\n")
    };
    assert!(check(SchemaKind::Inventory, &inventory("sealers")).is_empty());
    assert!(check(SchemaKind::Inventory, &inventory("[h]")).is_empty());
    assert_eq!(
        messages(SchemaKind::Inventory, &inventory("[]")),
        ["`members` must not be empty"]
    );
    assert_eq!(
        messages(SchemaKind::Inventory, &inventory("[h, h]")),
        ["`members` lists `h` more than once"]
    );
    assert_eq!(
        messages(SchemaKind::Inventory, &inventory("3")),
        ["`members` must be a group name or a list of host names, found number `3`"]
    );
}

#[test]
fn names_with_slashes_and_tildes_point_at_their_keys() {
    let text = "name: c\nhosts:\n  a/b~c: {}\n  ok: { vars: { \"x/y\": 1 }, \"we~ird/\": 2 }\n";
    assert_eq!(
        summary(&check(SchemaKind::Inventory, text)),
        "\
3:3 hosts.a/b~c: `a/b~c` is not a valid host name
  hint: host names use letters, digits, `-` and `_`, and start with a letter or digit
4:17 hosts.ok.vars.x/y: `x/y` is not a valid variable name
  hint: variable names use letters, digits and `_`, and do not start with a digit (templates read them as `host.vars.NAME`)
4:29 hosts.ok.we~ird/: unknown field `we~ird/` in host
  hint: allowed fields: address, port, user, transport, vars
"
    );
}

#[test]
fn an_empty_file_gets_a_hint_to_start_from() {
    assert_eq!(
        check(SchemaKind::Runbook, "")[0].hint.as_deref(),
        Some("a runbook is a mapping with `runbook: NAME` and a list of `steps`")
    );
}
