//! `on:` selectors: a host, a group, `all`, `controller`, or a list of hosts and groups.

use indexmap::IndexSet;

use crate::model::raw::RawTarget;
use crate::model::{Document, Inventory, CONTROLLER};
use crate::source::{did_you_mean, Diagnostic};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    Controller,
    /// Host names in inventory order of first mention.
    Hosts(Vec<String>),
}

/// How `on` was written, for plans.
pub fn describe(target: &RawTarget) -> String {
    match target {
        RawTarget::One(s) => s.clone(),
        RawTarget::Many(v) => format!("[{}]", v.join(", ")),
    }
}

pub fn resolve(
    target: &RawTarget,
    inv: &Inventory,
    doc: &Document,
    pointer: &str,
) -> Result<Targets, Diagnostic> {
    if let RawTarget::One(name) = target {
        if name == CONTROLLER {
            return Ok(Targets::Controller);
        }
    }
    let mut hosts = IndexSet::new();
    for (i, name) in target.names().into_iter().enumerate() {
        let item_pointer = match target {
            RawTarget::One(_) => pointer.to_owned(),
            RawTarget::Many(_) => format!("{pointer}/{i}"),
        };
        if name == "all" {
            hosts.extend(inv.hosts.keys().cloned());
        } else if name == CONTROLLER {
            return Err(doc
                .error_at(
                    &item_pointer,
                    "`controller` cannot be combined with hosts or groups",
                )
                .with_hint("use `on: controller` alone, or split the step in two"));
        } else if let Some(members) = inv.groups.get(name) {
            hosts.extend(members.iter().cloned());
        } else if inv.hosts.contains_key(name) {
            hosts.insert(name.to_owned());
        } else {
            let mut known: Vec<&str> = inv.hosts.keys().map(String::as_str).collect();
            known.extend(inv.groups.keys().map(String::as_str));
            known.extend(["all", CONTROLLER]);
            let d = doc.error_at(&item_pointer, format!("unknown host or group `{name}`"));
            return Err(match did_you_mean(name, &known) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d.with_hint(format!(
                    "inventory `{}` defines no host or group of that name",
                    inv.name
                )),
            });
        }
    }
    Ok(Targets::Hosts(hosts.into_iter().collect()))
}
