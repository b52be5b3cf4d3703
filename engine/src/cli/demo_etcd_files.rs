//! The files of `quorate demo --system etcd`: the member scripts (create, start, stop) in
//! the cluster directory, and the inventory with the etcd variables the built-in runbooks
//! read.

use std::fmt::Write as _;
use std::path::Path;

/// The etcd cluster token of every demo cluster (each lives on its own ports).
pub const CLUSTER_TOKEN: &str = "quorate-demo-etcd";

/// `member-init.sh NAME CLIENT_URL PEER_URL [new INITIAL_CLUSTER]`, in the cluster
/// directory: creates member NAME's directory next to it (built aside, then renamed, so a
/// half-made directory never looks like a member). `member.env` is the member's
/// configuration (etcd reads `ETCD_*` as its flags, etcdctl `ETCDCTL_*`); `cluster.env`
/// holds `ETCD_INITIAL_CLUSTER`, given here for a new cluster, or written by `add-node`'s
/// learner step for a member that joins a running one.
pub const MEMBER_INIT: &str = r#"#!/bin/sh
# Creates the directory of etcd member NAME here: member.env (its configuration), start.sh,
# stop.sh. usage: member-init.sh NAME CLIENT_URL PEER_URL [new INITIAL_CLUSTER]
# Without `new`, the member joins a running cluster (--initial-cluster-state existing).
set -eu
cd "$(dirname "$0")"
name=$1 client=$2 peer=$3 state=${4:-existing} initial=${5:-}
case "$name" in ''|*[!A-Za-z0-9_.-]*) echo "bad member name: $name" >&2; exit 1;; esac
[ -n "$client" ] && [ -n "$peer" ] || { echo "$name needs a client and a peer URL" >&2; exit 1; }
# The values go into member.env, which shells source: only URL characters are accepted.
for v in "$client" "$peer" "$initial"; do
    case "$v" in *[!A-Za-z0-9=:/._,-]*) echo "refused: not a URL list: $v" >&2; exit 1;; esac
done
case "$state" in new|existing) ;; *) echo "refused: state must be new or existing: $state" >&2; exit 1;; esac
if [ -e "$name" ]; then echo "$name already exists"; exit 0; fi
tmp=".$name.new"
rm -rf "$tmp"
mkdir "$tmp"
cat >"$tmp/member.env" <<EOF
# etcd member $name. etcd reads the ETCD_* variables as its flags, etcdctl the ETCDCTL_* ones.
export ETCD_NAME=$name
export ETCD_DATA_DIR=data
export ETCD_LISTEN_CLIENT_URLS=$client
export ETCD_ADVERTISE_CLIENT_URLS=$client
export ETCD_LISTEN_PEER_URLS=$peer
export ETCD_INITIAL_ADVERTISE_PEER_URLS=$peer
export ETCD_INITIAL_CLUSTER_TOKEN=__TOKEN__
export ETCD_INITIAL_CLUSTER_STATE=$state
export ETCD_PRE_VOTE=true
export ETCDCTL_API=3
export ETCDCTL_ENDPOINTS=$client
# Every member's client URL, for commands that need the cluster when this member does not run.
export CLUSTER_ENDPOINTS=$(cat endpoints)
if [ -f cluster.env ]; then . ./cluster.env; fi
EOF
if [ -n "$initial" ]; then echo "export ETCD_INITIAL_CLUSTER=$initial" >"$tmp/cluster.env"; fi
cp member-start.sh "$tmp/start.sh"
cp member-stop.sh "$tmp/stop.sh"
mv "$tmp" "$name"
echo "created $name ($state cluster)"
"#;

/// The member's `start.sh`: etcd in the background with `member.env`, its pid in
/// `etcd.pid`; returns once the process is up (a new cluster's members only serve once a
/// quorum of them runs, so it cannot wait for an answer).
pub const MEMBER_START: &str = r#"#!/bin/sh
# Starts this etcd member in the background (configuration: member.env; pid: etcd.pid).
cd "$(dirname "$0")" || exit 1
. ./member.env
running() {
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$state" != Z ]
}
if [ -f etcd.pid ] && running "$(cat etcd.pid)"; then
    echo "$ETCD_NAME is already running (pid $(cat etcd.pid))"
    exit 0
fi
if [ ! -d "$ETCD_DATA_DIR" ] && [ -z "${ETCD_INITIAL_CLUSTER:-}" ]; then
    echo "$ETCD_NAME has no data directory and no initial cluster (cluster.env)" >&2
    exit 1
fi
nohup etcd >>etcd.log 2>&1 </dev/null &
pid=$!
echo "$pid" >etcd.pid
sleep 0.3
if ! running "$pid"; then
    rm -f etcd.pid
    echo "$ETCD_NAME exited at start:" >&2
    tail -n 5 etcd.log >&2
    exit 1
fi
echo "$ETCD_NAME started (pid $pid)"
"#;

/// The member's `stop.sh`: SIGTERM to the pid in `etcd.pid`, SIGKILL after 10 s;
/// idempotent, and never signals a pid that is not etcd (a stale pid file).
pub const MEMBER_STOP: &str = r#"#!/bin/sh
# Stops this etcd member by the pid in etcd.pid and waits until it is gone; safe to repeat.
cd "$(dirname "$0")" || exit 1
name=$(basename "$(pwd)")
running() {
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$state" != Z ]
}
pid=$(cat etcd.pid 2>/dev/null)
if [ -z "$pid" ] || ! running "$pid"; then
    rm -f etcd.pid
    echo "$name is not running"
    exit 0
fi
if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q etcd; then
    echo "pid $pid is not etcd (stale etcd.pid); removing etcd.pid" >&2
    rm -f etcd.pid
    exit 0
fi
kill "$pid" 2>/dev/null
i=0
while running "$pid"; do
    if [ "$i" -eq 100 ]; then kill -9 "$pid" 2>/dev/null; fi
    if [ "$i" -ge 150 ]; then echo "$name (pid $pid) did not stop" >&2; exit 1; fi
    sleep 0.1
    i=$((i + 1))
done
rm -f etcd.pid
echo "$name stopped"
"#;

/// `stop_all.sh` in the cluster directory: every member directory's `stop.sh`.
pub const STOP_ALL: &str = r#"#!/bin/sh
# Stops every etcd member under this directory (removed ones too).
cd "$(dirname "$0")" || exit 1
for m in */; do
    if [ -x "${m}stop.sh" ]; then "${m}stop.sh"; fi
done
"#;

/// The etcd profile: the inventory variables through which the built-in runbooks drive
/// etcd. Every command runs in the member's directory (`node_dir`) and reads its
/// configuration from `member.env`. docs/runbooks/etcd.md explains each one.
pub const ETCD_VARS: &str = r#"vars:
  # The etcd profile (docs/runbooks/etcd.md): how the built-in runbooks drive an etcd member.
  # Each command runs in the member's directory (node_dir); member.env is its configuration.
  # `etcdctl alarm list` goes through Raft without changing data: the raft index advances.
  alive_cmd: >-
    ps -o stat= -p "$(cat etcd.pid 2>/dev/null)" 2>/dev/null | grep -qv Z
  start_cmd: ./start.sh
  stop_cmd: ./stop.sh
  health_cmd: >-
    . ./member.env && etcdctl endpoint health &&
    { etcdctl endpoint status -w fields | grep -q '^"Leader" : [1-9]' || { echo "$ETCD_NAME knows no leader"; false; }; } &&
    a=$(etcdctl alarm list) && { [ -z "$a" ] || { echo "$ETCD_NAME has an alarm: $a"; false; }; }
  synced_cmd: >-
    . ./member.env && ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl endpoint status --cluster 2>/dev/null |
    awk -F', ' -v me="$ETCDCTL_ENDPOINTS" '$5 == "true" { top = $8 } $1 == me { mine = $9 }
    END { exit !(mine != "" && top != "" && mine + 100 >= top) }'
  height_cmd: >-
    . ./member.env && { etcdctl alarm list >/dev/null 2>&1; etcdctl endpoint status | awk -F', ' '{ print $8 }'; }
  peers_cmd: >-
    . ./member.env && etcdctl endpoint health --cluster 2>&1 | grep -c ' is healthy' | awk '{ print $1 - 1 }'
  version_cmd: >-
    . ./member.env && etcdctl endpoint status | awk -F', ' '{ print $3 }'
  role_cmd: >-
    . ./member.env && l=$(ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl member list) &&
    printf '%s\n' "$l" | awk -F', ' -v url="$ETCD_INITIAL_ADVERTISE_PEER_URLS"
    '$4 == url { print ($6 == "true" ? "observer" : "sealer"); found = 1 } END { if (!found) print "none" }'
  sealers_cmd: >-
    . ./member.env && l=$(ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl member list) &&
    printf '%s\n' "$l" | awk -F', ' '$6 == "false" && $3 != "" { print $3 }' | sort
  live_sealers_cmd: >-
    . ./member.env && l=$(ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl member list) &&
    printf '%s\n' "$l" | awk -F', ' '$6 == "false" && $3 != "" { print $5, $3 }' |
    while read -r url name; do ETCDCTL_ENDPOINTS="$url" etcdctl endpoint health >/dev/null 2>&1 && echo "$name"; done
  create_cmd: ./member-init.sh "$NODE" "$CLIENT_URL" "$PEER_URL"
  learner_cmd: >-
    . ./member.env && export ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" &&
    { etcdctl member list | grep -qF ", $ETCD_INITIAL_ADVERTISE_PEER_URLS," ||
      etcdctl member add "$ETCD_NAME" --learner --peer-urls="$ETCD_INITIAL_ADVERTISE_PEER_URLS"; } &&
    l=$(etcdctl member list) && c=$(printf '%s\n' "$l" | awk -F', ' -v me="$ETCD_NAME" -v url="$ETCD_INITIAL_ADVERTISE_PEER_URLS"
    '{ n = ($4 == url) ? me : $3; printf "%s%s=%s", sep, n, $4; sep = "," }') &&
    echo "export ETCD_INITIAL_CLUSTER=$c" >cluster.env.tmp && mv cluster.env.tmp cluster.env
  add_observer_cmd: >-
    echo "an etcd learner is registered before it starts (step learner)" >&2; false
  add_sealer_cmd: >-
    . ./member.env && l=$(ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl member list) &&
    id=$(printf '%s\n' "$l" | awk -F', ' -v url="$ETCD_INITIAL_ADVERTISE_PEER_URLS" '$4 == url { print $1 }') &&
    ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl member promote "$id"
  remove_cmd: >-
    . ./member.env && l=$(ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl member list) &&
    id=$(printf '%s\n' "$l" | awk -F', ' -v url="$ETCD_INITIAL_ADVERTISE_PEER_URLS" '$4 == url { print $1 }') &&
    [ -n "$id" ] && ETCDCTL_ENDPOINTS="$CLUSTER_ENDPOINTS" etcdctl member remove "$id"
  move_leader_cmd: >-
    . ./member.env && s=$(etcdctl endpoint status) && me=$(printf '%s\n' "$s" | awk -F', ' '{ print $2 }') &&
    if [ "$(printf '%s\n' "$s" | awk -F', ' '{ print $5 }')" = true ]; then
    l=$(etcdctl member list) && to=$(printf '%s\n' "$l" | awk -F', ' -v me="$me" '$1 != me && $2 == "started" && $6 == "false" { print $1; exit }') &&
    etcdctl move-leader "$to"; else echo "$ETCD_NAME is not the leader"; fi
  min_members: 2
  cert_file: none
"#;

/// What the inventory describes: the cluster directory, the members and the spare hosts,
/// each with its client and peer URL.
pub struct EtcdLayout<'a> {
    pub cluster: &'a Path,
    /// (name, client URL, peer URL) of the members, then of the spares.
    pub hosts: Vec<(String, String, String)>,
    pub members: usize,
}

/// The inventory text: members `etcd0..` (group `members`, the voters), spares in group
/// `spare`, the etcd profile as global `vars`, and the cluster facts (`cft`, health and
/// membership from etcdctl).
pub fn inventory(l: &EtcdLayout<'_>) -> String {
    let spares = l.hosts.len() - l.members;
    let mut y = format!(
        "# A real etcd cluster: {} members on this machine, reached without SSH{}.\nname: quorate-demo-etcd\nhosts:\n",
        l.members,
        if spares > 0 {
            ", and spare hosts for add-node"
        } else {
            ""
        }
    );
    for (name, client, peer) in &l.hosts {
        let _ = writeln!(
            y,
            "  {name}: {{ transport: local, vars: {{ node_dir: {}, client_url: \"{client}\", peer_url: \"{peer}\" }} }}",
            l.cluster.join(name).display()
        );
    }
    let names = |r: std::ops::Range<usize>| -> String {
        l.hosts[r]
            .iter()
            .map(|h| h.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(y, "groups:\n  members: [{}]", names(0..l.members));
    if spares > 0 {
        let _ = writeln!(y, "  spare: [{}]", names(l.members..l.hosts.len()));
    }
    y.push_str(ETCD_VARS);
    y.push_str(
        "cluster:\n  consensus: cft\n  members: members\n  health: cd {{host.vars.node_dir}} && . ./member.env && etcdctl endpoint health\n  membership: >-\n    cd {{host.vars.node_dir}} && . ./member.env && etcdctl member list |\n    awk -F', ' '$6 == \"false\" && $3 != \"\" { print $3 }' | sort\n",
    );
    y
}
