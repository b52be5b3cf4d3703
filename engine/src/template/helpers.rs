//! The helpers a template may call: which exist, their argument rules, and registering
//! them on a handlebars registry.

use std::cmp::Ordering;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    ScopedJson,
};
use serde_json::Value;

use super::output::{other, write_value, Origin, ValueHelper, VALUE_HELPER};
use super::{lines, natural, values};

/// handlebars' block helpers; they only make sense as `{{#name ...}}`.
const BLOCK_HELPERS: &[&str] = &["if", "unless", "each", "with", "raw"];

/// handlebars' built-in value helpers that stay: comparisons and logic read values and
/// write nothing anywhere. (`log` is removed: it would copy values, secrets
/// included, into logs.)
const KEPT_BUILTINS: &[&str] = &["ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len"];

/// The helpers for fleet decisions.
const FLEET: &[Spec] = &[
    Spec {
        name: "lines",
        arity: Arity::Exactly(1),
        lists_as_lines: true,
        run: |a| Ok(lines::lines(a.get(0)?).map_err(other)?.into()),
    },
    Spec {
        name: "common_lines",
        arity: Arity::Exactly(1),
        lists_as_lines: true,
        run: |a| Ok(lines::common_lines(a.get(0)?).map_err(other)?.into()),
    },
    Spec {
        name: "max",
        arity: Arity::AtLeast(1),
        lists_as_lines: false,
        run: |a| natural::extreme("max", &a.all()?, Ordering::Greater).map_err(other),
    },
    Spec {
        name: "min",
        arity: Arity::AtLeast(1),
        lists_as_lines: false,
        run: |a| natural::extreme("min", &a.all()?, Ordering::Less).map_err(other),
    },
    Spec {
        name: "eq",
        arity: Arity::Exactly(2),
        lists_as_lines: false,
        run: |a| Ok(values::loose_eq(a.get(0)?, a.get(1)?).into()),
    },
    Spec {
        name: "contains",
        arity: Arity::Exactly(2),
        lists_as_lines: false,
        run: |a| Ok(values::contains(a.get(0)?, a.get(1)?).into()),
    },
    Spec {
        // The first argument may be missing: `default` is how a template reads an
        // optional value under strict mode.
        name: "default",
        arity: Arity::Exactly(2),
        lists_as_lines: false,
        run: |a| Ok(values::or_default(a.get_optional(0), a.get(1)?)),
    },
    Spec {
        name: "json",
        arity: Arity::Exactly(1),
        lists_as_lines: false,
        run: |a| Ok(values::json_text(a.get(0)?)),
    },
    Spec {
        // Replaces the built-in, which prints a mapping as `[object]` and reports a
        // missing key without naming it.
        name: "lookup",
        arity: Arity::Exactly(2),
        lists_as_lines: false,
        run: |a| values::lookup(a.get(0)?, a.get(1)?).map_err(other),
    },
];

/// Whether `name` is a helper a template may call.
pub(super) fn is_helper(name: &str) -> bool {
    BLOCK_HELPERS.contains(&name)
        || KEPT_BUILTINS.contains(&name)
        || FLEET.iter().any(|s| s.name == name)
        || name == VALUE_HELPER
}

/// Whether `name` is a helper that takes a block (`{{#name}}...{{/name}}`).
pub(super) fn is_block_helper(name: &str) -> bool {
    BLOCK_HELPERS.contains(&name)
}

/// Every helper a template may name, for "did you mean" hints.
pub(super) fn helper_names() -> impl Iterator<Item = &'static str> {
    BLOCK_HELPERS
        .iter()
        .chain(KEPT_BUILTINS)
        .copied()
        .chain(FLEET.iter().map(|s| s.name))
}

/// Why `given` positional arguments are wrong for helper `name`, if they are.
pub(super) fn arity_error(name: &str, given: usize) -> Option<String> {
    let arity = match name {
        "raw" => Arity::Exactly(0),
        "if" | "unless" | "each" | "with" => Arity::Exactly(1),
        _ => FLEET.iter().find(|s| s.name == name)?.arity,
    };
    let (expected, n) = match arity {
        Arity::Exactly(n) if given != n => (format!("{n}"), n),
        Arity::AtLeast(n) if given < n => (format!("at least {n}"), n),
        _ => return None,
    };
    let plural = if n == 1 { "" } else { "s" };
    Some(format!(
        "`{name}` takes {expected} argument{plural}, got {given}"
    ))
}

/// Removes `log` and registers the fleet helpers and the `{{path}}` value writer.
pub(super) fn register(registry: &mut Handlebars<'static>) {
    registry.unregister_helper("log");
    for spec in FLEET {
        registry.register_helper(spec.name, Box::new(FleetHelper(spec)));
    }
    registry.register_helper(VALUE_HELPER, Box::new(ValueHelper));
}

/// How many positional arguments a helper takes.
#[derive(Clone, Copy)]
enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

struct Spec {
    name: &'static str,
    arity: Arity,
    lists_as_lines: bool,
    run: fn(&Args<'_, '_>) -> Result<Value, RenderError>,
}

/// A helper's evaluated arguments.
struct Args<'a, 'rc> {
    name: &'static str,
    helper: &'a Helper<'rc>,
}

impl Args<'_, '_> {
    /// Argument `i`; a variable that does not exist is an error.
    fn get(&self, i: usize) -> Result<&Value, RenderError> {
        let param = self
            .helper
            .param(i)
            .ok_or_else(|| other(format!("`{}` needs argument {}", self.name, i + 1)))?;
        if param.is_value_missing() {
            return Err(RenderError::strict_error(param.relative_path()));
        }
        Ok(param.value())
    }

    /// Argument `i`, or `None` when it names a variable that does not exist.
    fn get_optional(&self, i: usize) -> Option<&Value> {
        self.helper
            .param(i)
            .filter(|p| !p.is_value_missing())
            .map(handlebars::PathAndJson::value)
    }

    fn all(&self) -> Result<Vec<&Value>, RenderError> {
        (0..self.helper.params().len())
            .map(|i| self.get(i))
            .collect()
    }
}

struct FleetHelper(&'static Spec);

impl FleetHelper {
    fn compute(&self, h: &Helper<'_>) -> Result<Value, RenderError> {
        let spec = self.0;
        if !h.hash().is_empty() {
            return Err(other(format!("`{}` takes no named arguments", spec.name)));
        }
        if let Some(message) = arity_error(spec.name, h.params().len()) {
            return Err(other(message));
        }
        (spec.run)(&Args {
            name: spec.name,
            helper: h,
        })
    }
}

impl HelperDef for FleetHelper {
    /// The value, for subexpressions: `{{#each (lines steps.x)}}`, `(max (common_lines ..))`.
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        self.compute(h).map(ScopedJson::Derived)
    }

    /// The text, for `{{max ...}}`: written like any value, so quoted for the shell.
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let value = self.compute(h)?;
        let origin = Origin::Helper {
            name: self.0.name,
            lists_as_lines: self.0.lists_as_lines,
        };
        write_value(&value, origin, r, rc, out)
    }
}
