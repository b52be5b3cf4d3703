//! Messages about inventories: host and group names, enums, cluster members.

use super::tests::{check, messages, rendered, summary};
use super::SchemaKind;

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
fn host_names_may_be_fqdns_and_ip_addresses() {
    let inventory =
        |host: &str| format!("name: c\nhosts:\n  \"{host}\": {{}}\ngroups:\n  g: [\"{host}\"]\n");
    for good in [
        "node0",
        "node-1.dc1.example.internal",
        "10.0.0.12",
        "fd00::12",
        "::1",
        "::ffff:10.0.0.1",
    ] {
        assert!(
            check(SchemaKind::Inventory, &inventory(good)).is_empty(),
            "{good} is refused"
        );
    }
    for bad in [
        "-node", ".node", "node 1", "node/1", "[node]", "fd00::", ":x", "a$b",
    ] {
        assert_eq!(
            messages(SchemaKind::Inventory, &inventory(bad)),
            [
                format!("`{bad}` is not a valid host name"),
                format!("`{bad}` is not a valid host name")
            ],
            "{bad}"
        );
    }
}

#[test]
fn names_with_slashes_and_tildes_point_at_their_keys() {
    let text = "name: c\nhosts:\n  a/b~c: {}\n  ok: { vars: { \"x/y\": 1 }, \"we~ird/\": 2 }\n";
    assert_eq!(
        summary(&check(SchemaKind::Inventory, text)),
        "\
3:3 hosts.a/b~c: `a/b~c` is not a valid host name
  hint: host names are names such as `node0` or `node-1.dc1.example.internal` (letters, digits, `.`, `-` and `_`, starting with a letter or digit), or IP addresses such as `10.0.0.12` and `fd00::12`
4:17 hosts.ok.vars.x/y: `x/y` is not a valid variable name
  hint: variable names use letters, digits and `_`, and do not start with a digit (templates read them as `host.vars.NAME`)
4:29 hosts.ok.we~ird/: unknown field `we~ird/` in host
  hint: allowed fields: address, port, user, transport, vars
"
    );
}
