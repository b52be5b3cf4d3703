//! The order of a list of sibling steps: `needs` resolved, the sequential default applied,
//! cycles found and named whole, and a stable topological order that keeps declaration
//! order wherever the dependencies allow.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fmt::Write as _;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::model::raw::RawStep;
use crate::model::Document;
use crate::source::{did_you_mean, Diagnostic};

/// How many unknown `needs` of one list get a "did you mean".
const SUGGESTED: usize = 100;

#[derive(Debug)]
pub struct ListOrder {
    /// For each step, the siblings it needs (indices). Empty: it starts from the list's
    /// entry (the first step, or `needs: []`).
    pub deps: Vec<Vec<usize>>,
    /// Indices in an order where every step comes after what it needs.
    pub order: Vec<usize>,
}

/// `elsewhere` maps ids that exist outside this list to where they live, so that a
/// `needs` that reaches into or out of a rolling block gets a precise message.
pub fn order_list(
    steps: &[RawStep],
    list_pointer: &str,
    doc: &Document,
    elsewhere: &HashMap<String, String>,
) -> Result<ListOrder, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let index: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    let mut deps = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let mut mine = Vec::new();
        let mut listed = HashSet::new();
        match &step.needs {
            None if i > 0 => mine.push(i - 1),
            None => {}
            Some(needs) => {
                for (j, need) in needs.iter().enumerate() {
                    let pointer = format!("{list_pointer}/{i}/needs/{j}");
                    if let Some(&k) = index.get(need.as_str()) {
                        if listed.insert(k) {
                            mine.push(k);
                        }
                    } else if let Some(place) = elsewhere.get(need) {
                        errors.push(
                            doc.error_at(&pointer, format!("step `{}` cannot need `{need}`: it is {place}", step.id))
                                .with_hint("`needs` names steps of the same list; need the enclosing block instead"),
                        );
                    } else {
                        let d = doc.error_at(&pointer, format!("unknown step `{need}` in `needs`"));
                        // Each suggestion compares with every id: only the first ones
                        // get one, so thousands of unknown needs stay linear.
                        let near = (errors.len() < SUGGESTED)
                            .then(|| did_you_mean(need, &ids))
                            .flatten();
                        errors.push(match near {
                            Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                            None => d.with_hint(format!("steps here: {}", some_of(&ids))),
                        });
                    }
                }
            }
        }
        deps.push(mine);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    for i in 0..steps.len() {
        graph.add_node(i);
    }
    for (i, mine) in deps.iter().enumerate() {
        for &d in mine {
            graph.add_edge(NodeIndex::new(i), NodeIndex::new(d), ());
        }
    }
    for scc in tarjan_scc(&graph) {
        let cyclic = scc.len() > 1 || deps[scc[0].index()].contains(&scc[0].index());
        if !cyclic {
            continue;
        }
        let mut members: Vec<usize> = scc.iter().map(|n| n.index()).collect();
        members.sort_unstable();
        let cycle = walk_cycle(members[0], &members, &deps);
        let names: Vec<&str> = cycle.iter().map(|&i| steps[i].id.as_str()).collect();
        let (first, next) = (cycle[0], cycle[1]);
        // Point at the `needs` entry that closes the cycle, or at the id when the need
        // is the implicit "the step before".
        let pointer = match steps[first]
            .needs
            .as_ref()
            .and_then(|n| n.iter().position(|x| *x == steps[next].id))
        {
            Some(j) => format!("{list_pointer}/{first}/needs/{j}"),
            None => format!("{list_pointer}/{first}/id"),
        };
        let message = if cycle.len() == 2 && first == next {
            format!("step `{}` needs itself", steps[first].id)
        } else {
            format!("dependency cycle: {}", names.join(" -> "))
        };
        errors.push(
            doc.error_at(&pointer, message)
                .with_note("`a -> b` means step a needs step b (a step without `needs` needs the one before it)")
                .with_hint("remove one of these needs"),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ListOrder {
        order: stable_topo(&deps),
        deps,
    })
}

/// The first few of `ids`, and how many more there are: a list of thousands of steps in
/// every hint would make the messages grow with the square of the steps.
fn some_of(ids: &[&str]) -> String {
    const SHOWN: usize = 10;
    let mut text = ids[..ids.len().min(SHOWN)].join(", ");
    if ids.len() > SHOWN {
        let _ = write!(text, " and {} more", ids.len() - SHOWN);
    }
    text
}

/// Follows `needs` inside the cycle's members (sorted) from `start` until it comes back.
fn walk_cycle(start: usize, members: &[usize], deps: &[Vec<usize>]) -> Vec<usize> {
    let mut path = vec![start];
    let mut on_path = HashMap::from([(start, 0)]);
    let mut at = start;
    loop {
        let next = deps[at]
            .iter()
            .copied()
            .filter(|d| members.binary_search(d).is_ok())
            .min_by_key(|&d| if d == start { 0 } else { d + 1 })
            .unwrap_or(start);
        if let Some(&pos) = on_path.get(&next) {
            path.push(next);
            return path[pos..].to_vec();
        }
        on_path.insert(next, path.len());
        path.push(next);
        at = next;
    }
}

/// Kahn's algorithm, always taking the earliest declared ready step.
fn stable_topo(deps: &[Vec<usize>]) -> Vec<usize> {
    let n = deps.len();
    let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); n];
    for (i, mine) in deps.iter().enumerate() {
        for &d in mine {
            dependents[d].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| remaining[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &j in &dependents[i] {
            remaining[j] -= 1;
            if remaining[j] == 0 {
                ready.push(Reverse(j));
            }
        }
    }
    order
}
