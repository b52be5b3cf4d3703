//! How a value becomes template output: scalars as text (quoted for the shell unless
//! `{{{ }}}`), lists and mappings refused instead of printed as `[object]`.
//!
//! handlebars prints a value without asking anyone, so every `{{path}}` is turned into a
//! call of [`VALUE_HELPER`] when the template is parsed (see `rewrite`), and the helpers
//! write their results through [`write_value`] too.

use std::borrow::Cow;
use std::fmt;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use serde_json::Value;

/// The helper `{{path}}` is rewritten to. Its name contains a space so no template can
/// call it by name.
pub(super) const VALUE_HELPER: &str = "quorate value";

/// What produced a value, for messages.
#[derive(Clone, Copy)]
pub(super) enum Origin<'a> {
    /// A variable, as the template wrote its path.
    Variable(&'a str),
    /// A helper's result; `lists_as_lines` when its list results are lines of text.
    Helper { name: &'a str, lists_as_lines: bool },
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Variable(path) => write!(f, "`{path}`"),
            Origin::Helper { name, .. } => write!(f, "the result of `{name}`"),
        }
    }
}

/// Writes `value` to `out`, through the registry's escape function unless the expression
/// is `{{{ }}}`.
///
/// Text, numbers and booleans are written as their text, null as empty text. A list of
/// lines from `lines` / `common_lines` is written as the lines joined by newlines (one
/// word in a command); any other list or mapping is an error, since no text form of it
/// is what a command wants.
pub(super) fn write_value(
    value: &Value,
    origin: Origin<'_>,
    registry: &Handlebars<'_>,
    rc: &RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text: Cow<'_, str> = match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        Value::Null => Cow::Borrowed(""),
        Value::Array(items)
            if matches!(
                origin,
                Origin::Helper {
                    lists_as_lines: true,
                    ..
                }
            ) && items.iter().all(Value::is_string) =>
        {
            Cow::Owned(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        }
        Value::Array(_) => {
            return Err(other(format!(
                "{origin} is a list; insert it with `json`, `lines` or `#each`"
            )));
        }
        Value::Object(_) => {
            return Err(other(format!(
                "{origin} is a mapping; insert one of its fields, or all of it with `json`"
            )));
        }
    };
    if rc.is_disable_escape() {
        out.write(&text)?;
    } else {
        out.write(&registry.get_escape_fn()(&text))?;
    }
    Ok(())
}

pub(super) fn other(message: String) -> RenderError {
    RenderErrorReason::Other(message).into()
}

/// Writes the value of `{{path}}` (rewritten to `{{"quorate value" path}}`).
pub(super) struct ValueHelper;

impl HelperDef for ValueHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        _: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let Some(param) = h.param(0) else {
            return Err(RenderErrorReason::ParamNotFoundForIndex(VALUE_HELPER, 0).into());
        };
        let path = param.relative_path().map_or("", String::as_str);
        if param.is_value_missing() {
            return Err(RenderError::strict_error(param.relative_path()));
        }
        write_value(param.value(), Origin::Variable(path), r, rc, out)
    }
}
