//! Turns every `{{path}}` into a call of the value writer, so a list or mapping is an
//! error instead of `[object]`, and every value goes through one quoting path.

use handlebars::template::{Parameter, Template, TemplateElement};

use super::helpers::is_helper;
use super::output::VALUE_HELPER;

/// Rewrites `{{path}}` and `{{{path}}}` (a path that names no helper) into
/// `{{"quorate value" path}}`, in `template` and every block inside it.
pub(super) fn route_values(template: &mut Template) {
    for element in &mut template.elements {
        match element {
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                let name_only = h.params.is_empty() && h.hash.is_empty();
                if name_only && matches!(&h.name, Parameter::Path(_)) {
                    let is_variable = h.name.as_name().is_some_and(|name| !is_helper(name));
                    if is_variable {
                        let path = std::mem::replace(
                            &mut h.name,
                            Parameter::Name(VALUE_HELPER.to_owned()),
                        );
                        h.params.push(path);
                    }
                }
            }
            TemplateElement::HelperBlock(h) => {
                if let Some(body) = &mut h.template {
                    route_values(body);
                }
                if let Some(inverse) = &mut h.inverse {
                    route_values(inverse);
                }
            }
            _ => {}
        }
    }
}
