//! Rolling batches: the batch size from the rule (`fault-tolerance`, N, `25%`), hosts
//! grouped by their `by` value so that no batch spans two zones, and the quorum check.

use crate::model::inventory::Quorum;
use crate::model::raw::RawBatch;

use super::types::Batch;

/// Why a batch rule cannot be applied; the compiler places it at the `batch` field.
#[derive(Debug, PartialEq, Eq)]
pub struct RuleError {
    pub message: String,
    pub hint: String,
}

/// The batch size and a description of how it was chosen.
pub fn batch_size(
    rule: Option<&RawBatch>,
    targets: usize,
    quorum: Option<&Quorum>,
    allow_quorum_loss: bool,
) -> Result<(usize, String), RuleError> {
    match rule {
        None => fault_tolerance(quorum, allow_quorum_loss),
        Some(RawBatch::Text(t)) if t == "fault-tolerance" => {
            fault_tolerance(quorum, allow_quorum_loss)
        }
        Some(RawBatch::Count(n)) => {
            let n = usize::try_from(*n).unwrap_or(usize::MAX).max(1);
            Ok((n, n.to_string()))
        }
        Some(RawBatch::Text(t)) => {
            let pct: usize = t
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .filter(|p| (1..=100).contains(p))
                .ok_or_else(|| RuleError {
                    message: format!("`{t}` is not a batch rule"),
                    hint: "use fault-tolerance, a number of hosts, or a percentage from 1% to 100%"
                        .to_owned(),
                })?;
            let size = (pct * targets).div_ceil(100).max(1);
            Ok((size, format!("{t} of {targets} = {size}")))
        }
    }
}

fn fault_tolerance(
    quorum: Option<&Quorum>,
    allow_quorum_loss: bool,
) -> Result<(usize, String), RuleError> {
    let Some(q) = quorum else {
        return Err(RuleError {
            message: "`batch: fault-tolerance` needs the inventory's `cluster`".to_owned(),
            hint: "describe the cluster (consensus and members) in the inventory, or give a batch size".to_owned(),
        });
    };
    if q.f == 0 {
        if allow_quorum_loss {
            return Ok((
                1,
                "fault-tolerance: f = 0, forced to 1 by --allow-quorum-loss".to_owned(),
            ));
        }
        return Err(RuleError {
            message: format!(
                "a {} cluster of {} members tolerates no member down (f = 0)",
                q.consensus_name(),
                q.n
            ),
            hint: "add members first, or pass --allow-quorum-loss if the outage is intended"
                .to_owned(),
        });
    }
    Ok((q.f, format!("fault-tolerance, f = {}", q.f)))
}

/// Splits hosts into batches of at most `size`, never mixing two zones. Zones keep the
/// order in which they first appear; hosts keep inventory order within a zone.
pub fn make_batches(
    hosts: &[(String, Option<String>)],
    size: usize,
    members: &[String],
) -> Vec<Batch> {
    let mut zones: Vec<(Option<&String>, Vec<&String>)> = Vec::new();
    for (host, zone) in hosts {
        match zones.iter_mut().find(|(z, _)| *z == zone.as_ref()) {
            Some((_, list)) => list.push(host),
            None => zones.push((zone.as_ref(), vec![host])),
        }
    }
    let mut batches = Vec::new();
    for (zone, list) in zones {
        for chunk in list.chunks(size.max(1)) {
            batches.push(Batch {
                hosts: chunk.iter().map(|h| (*h).clone()).collect(),
                zone: zone.cloned(),
                members: chunk.iter().filter(|h| members.contains(h)).count(),
            });
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::raw::Consensus;

    fn hosts(names: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        names
            .iter()
            .map(|(h, z)| ((*h).to_owned(), z.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn fault_tolerance_is_f() {
        let q = Quorum::new(Consensus::Bft, 7);
        assert_eq!(batch_size(None, 7, Some(&q), false).unwrap().0, 2);
        let q = Quorum::new(Consensus::Cft, 5);
        assert_eq!(
            batch_size(
                Some(&RawBatch::Text("fault-tolerance".into())),
                5,
                Some(&q),
                false
            )
            .unwrap()
            .0,
            2
        );
    }

    #[test]
    fn zero_tolerance_is_refused_unless_allowed() {
        let q = Quorum::new(Consensus::Bft, 3);
        assert!(batch_size(None, 3, Some(&q), false).is_err());
        assert_eq!(batch_size(None, 3, Some(&q), true).unwrap().0, 1);
    }

    #[test]
    fn percentages_round_up() {
        assert_eq!(
            batch_size(Some(&RawBatch::Text("25%".into())), 10, None, false)
                .unwrap()
                .0,
            3
        );
        assert_eq!(
            batch_size(Some(&RawBatch::Text("1%".into())), 10, None, false)
                .unwrap()
                .0,
            1
        );
        assert!(batch_size(Some(&RawBatch::Text("0%".into())), 10, None, false).is_err());
    }

    #[test]
    fn batches_never_span_zones() {
        let hs = hosts(&[
            ("a", Some("x")),
            ("b", Some("y")),
            ("c", Some("x")),
            ("d", Some("y")),
            ("e", Some("x")),
        ]);
        let members: Vec<String> = ["a", "b", "c", "d"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let b = make_batches(&hs, 2, &members);
        let got: Vec<(Vec<String>, Option<String>, usize)> = b
            .into_iter()
            .map(|b| (b.hosts, b.zone, b.members))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec!["a".into(), "c".into()], Some("x".into()), 2),
                (vec!["e".into()], Some("x".into()), 0),
                (vec!["b".into(), "d".into()], Some("y".into()), 2),
            ]
        );
    }
}
