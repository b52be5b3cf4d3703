//! Which steps a step needs, directly or not, kept as the graph of `needs` itself and
//! walked only when a template asks (`steps.ID.*`). A set of ancestors per step would grow
//! with the square of the step count: 8,000 sequential steps are 32 million entries.

/// Every "needs" point of a compile, in creation order (a point only refers to earlier
/// points, so the graph has no cycles).
#[derive(Debug, Default)]
pub struct Ancestry {
    points: Vec<Point>,
}

#[derive(Debug)]
struct Point {
    /// Step ids this point adds.
    ids: Vec<String>,
    /// Earlier points whose steps are included too.
    parents: Vec<usize>,
}

/// One set of steps: a point of an [`Ancestry`], or the empty set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark(Option<usize>);

impl Mark {
    /// The empty set.
    pub const NONE: Self = Self(None);
}

impl Ancestry {
    /// The set `ids` ∪ every set of `parents`.
    pub fn add(&mut self, ids: Vec<String>, parents: &[Mark]) -> Mark {
        let parents: Vec<usize> = parents.iter().filter_map(|m| m.0).collect();
        if ids.is_empty() && parents.len() <= 1 {
            return Mark(parents.first().copied());
        }
        self.points.push(Point { ids, parents });
        Mark(Some(self.points.len() - 1))
    }

    /// The set a mark stands for, to ask about.
    pub fn at(&self, mark: Mark) -> Ancestors<'_> {
        Ancestors {
            graph: Some(self),
            mark,
        }
    }
}

/// A set of step ids to test membership of (see [`Ancestry`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ancestors<'a> {
    graph: Option<&'a Ancestry>,
    mark: Mark,
}

impl Ancestors<'_> {
    /// The empty set.
    pub const NONE: Self = Self {
        graph: None,
        mark: Mark::NONE,
    };

    /// Whether `id` is in the set: a walk over the points it reaches, each once.
    pub fn contains(&self, id: &str) -> bool {
        let (Some(graph), Some(start)) = (self.graph, self.mark.0) else {
            return false;
        };
        let mut seen = vec![false; start + 1];
        let mut todo = vec![start];
        seen[start] = true;
        while let Some(at) = todo.pop() {
            let point = &graph.points[at];
            if point.ids.iter().any(|i| i == id) {
                return true;
            }
            for &p in &point.parents {
                if !seen[p] {
                    seen[p] = true;
                    todo.push(p);
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_include_their_parents_transitively() {
        let mut graph = Ancestry::default();
        let first = graph.add(vec!["a".into()], &[]);
        let second = graph.add(vec!["b".into()], &[first]);
        let other = graph.add(vec!["c".into()], &[Mark::NONE]);
        let both = graph.add(Vec::new(), &[second, other]);
        for id in ["a", "b", "c"] {
            assert!(graph.at(both).contains(id), "{id}");
        }
        assert!(graph.at(second).contains("a") && !graph.at(second).contains("c"));
        assert!(!graph.at(Mark::NONE).contains("a"));
        assert!(!Ancestors::NONE.contains("a"));
    }
}
