//! The cluster fingerprint: each member's `cluster.fingerprint` answer and the live
//! membership, read with read-only commands when a plan is saved and again when it is
//! applied; and what changed between the two readings.

use super::gate::{answer, live_membership};
use super::join::join_all;
use crate::plan::saved::{
    Fingerprint, LiveAnswer, NodeAnswer, NodeFingerprint, FINGERPRINT_ANSWER_LIMIT,
};
use crate::plan::Plan;
use crate::source::escape;
use crate::transport::Connections;

/// Reads the fingerprint of the plan's cluster; `None` when the inventory has no
/// `cluster.fingerprint`. A member that cannot be asked is recorded as unreachable, with
/// why: the fingerprint is taken where hosts are reachable, and never fails the plan.
pub async fn take_fingerprint(plan: &Plan, conns: &Connections) -> Option<Fingerprint> {
    let commands = &plan.fingerprint;
    if commands.version.is_empty() {
        return None;
    }
    let asks = commands.version.iter().map(|(host, cmd)| async move {
        let answer = match answer(plan, conns, host, cmd).await {
            Ok(out) => NodeAnswer::Version(clipped(out.trim())),
            Err(why) => NodeAnswer::Unreachable(why),
        };
        NodeFingerprint {
            host: host.clone(),
            answer,
        }
    });
    let nodes = join_all(asks.collect()).await;
    let mut membership = None;
    if let Some(quorum) = plan.quorum {
        let known: Vec<String> = commands.membership.iter().map(|(h, _)| h.clone()).collect();
        // A member that did not answer its fingerprint is not asked again (each ask of an
        // unreachable host costs a connect timeout).
        let answered = |h: &String| {
            nodes
                .iter()
                .any(|n| &n.host == h && matches!(n.answer, NodeAnswer::Version(_)))
        };
        for (host, cmd) in commands.membership.iter().filter(|(h, _)| answered(h)) {
            if let Ok(out) = answer(plan, conns, host, cmd).await {
                let live = live_membership(quorum.consensus, &out, &known);
                if !live.members.is_empty() {
                    membership = Some(LiveAnswer {
                        from: host.clone(),
                        members: live.members,
                    });
                    break;
                }
            }
        }
    }
    Some(Fingerprint { membership, nodes })
}

fn clipped(text: &str) -> String {
    text.chars().take(FINGERPRINT_ANSWER_LIMIT).collect()
}

/// What a later reading of the cluster tells about a saved plan.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FingerprintCheck {
    /// How the cluster changed since the plan was saved: the plan is stale.
    pub changes: Vec<String>,
    /// What could not be compared (a member unreachable when the plan was saved).
    pub notes: Vec<String>,
}

/// Compares the fingerprint taken when the plan was saved with one taken now. Answers are
/// host output: shown escaped.
pub fn compare_fingerprints(then: &Fingerprint, now: &Fingerprint) -> FingerprintCheck {
    let mut check = FingerprintCheck::default();
    let shown = |s: &str| escape::line(s).into_owned();
    for old in &then.nodes {
        let host = shown(&old.host);
        let new = now.nodes.iter().find(|n| n.host == old.host);
        match (&old.answer, new.map(|n| &n.answer)) {
            (NodeAnswer::Unreachable(_), _) => check.notes.push(format!(
                "{host} was not reachable when the plan was saved: not compared"
            )),
            (NodeAnswer::Version(a), Some(NodeAnswer::Version(b))) if a != b => {
                check.changes.push(format!(
                    "{host}: fingerprint `{}` when the plan was saved, `{}` now",
                    shown(a),
                    shown(b)
                ));
            }
            (NodeAnswer::Version(a), Some(NodeAnswer::Unreachable(why))) => {
                check.changes.push(format!(
                    "{host}: answered `{}` when the plan was saved, no answer now ({})",
                    shown(a),
                    shown(why)
                ));
            }
            (NodeAnswer::Version(_), None) => check
                .changes
                .push(format!("{host} is no longer a member of the inventory")),
            (NodeAnswer::Version(_), Some(NodeAnswer::Version(_))) => {}
        }
    }
    match (&then.membership, &now.membership) {
        (Some(a), Some(b)) if sorted(&a.members) != sorted(&b.members) => {
            check.changes.push(format!(
                "live membership: {} when the plan was saved, {} now (left: {}; joined: {})",
                shown(&a.members.join(", ")),
                shown(&b.members.join(", ")),
                shown(&missing_from(&a.members, &b.members)),
                shown(&missing_from(&b.members, &a.members)),
            ));
        }
        (Some(a), None) => check.changes.push(format!(
            "live membership: {} when the plan was saved; no member answers cluster.membership now",
            shown(&a.members.join(", "))
        )),
        _ => {}
    }
    check
}

/// The names of `list` that `other` lacks, or `none`.
fn missing_from(list: &[String], other: &[String]) -> String {
    let names: Vec<&str> = list
        .iter()
        .filter(|m| !other.contains(m))
        .map(String::as_str)
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn sorted(list: &[String]) -> Vec<&String> {
    let mut v: Vec<&String> = list.iter().collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, answer: NodeAnswer) -> NodeFingerprint {
        NodeFingerprint {
            host: host.to_owned(),
            answer,
        }
    }

    fn print(members: &[&str], nodes: Vec<NodeFingerprint>) -> Fingerprint {
        Fingerprint {
            membership: Some(LiveAnswer {
                from: "node0".to_owned(),
                members: members.iter().map(|m| (*m).to_owned()).collect(),
            }),
            nodes,
        }
    }

    #[test]
    fn a_changed_version_and_membership_are_named() {
        let v = |s: &str| NodeAnswer::Version(s.to_owned());
        let then = print(
            &["node0", "node1"],
            vec![
                node("node0", v("1.0")),
                node("node1", v("1.0")),
                node("node2", NodeAnswer::Unreachable("refused".to_owned())),
            ],
        );
        let now = print(
            &["node1", "node0", "node2"],
            vec![
                node("node0", v("1.0")),
                node("node1", v("1.1")),
                node("node2", v("1.0")),
            ],
        );
        let check = compare_fingerprints(&then, &now);
        assert_eq!(
            check.changes,
            [
                "node1: fingerprint `1.0` when the plan was saved, `1.1` now",
                "live membership: node0, node1 when the plan was saved, node1, node0, node2 now (left: none; joined: node2)",
            ]
        );
        assert_eq!(
            check.notes,
            ["node2 was not reachable when the plan was saved: not compared"]
        );
        assert_eq!(
            compare_fingerprints(&then, &then).changes,
            Vec::<String>::new()
        );
    }
}
