//! End-to-end checks of validation, documents in and diagnostics out: the schemas
//! themselves, the contract's examples, whole documents; and the helpers the other
//! `tests_*` files share. The rendered text is part of the contract with operators, so
//! whole messages are asserted.

use std::fmt::Write as _;

use serde_json::Value;

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

pub(super) fn check(kind: SchemaKind, text: &str) -> Vec<Diagnostic> {
    let doc = load(SourceFile::new("x.yaml", text)).expect("test documents are valid YAML");
    validate(kind, &doc)
}

pub(super) fn rendered(kind: SchemaKind, text: &str) -> String {
    render_all(&check(kind, text))
}

/// One line per diagnostic, `LINE:COL FIELD: MESSAGE`, and its hint indented below.
pub(super) fn summary(diagnostics: &[Diagnostic]) -> String {
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

pub(super) fn messages(kind: SchemaKind, text: &str) -> Vec<String> {
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
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(100);
    let text = format!("runbook: r\nsteps:\n  - id: a\n    run: x\n    timeout: {long}\n");
    assert_eq!(
        messages(SchemaKind::Runbook, &text),
        [format!(
            "`timeout` must be a duration of at least 1s, found `{}…`",
            "x".repeat(39)
        )]
    );
}

#[test]
fn an_empty_file_gets_a_hint_to_start_from() {
    assert_eq!(
        check(SchemaKind::Runbook, "")[0].hint.as_deref(),
        Some("a runbook is a mapping with `runbook: NAME` and a list of `steps`")
    );
}
