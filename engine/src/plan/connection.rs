//! How the hosts of an inventory are reached, as a plan freezes it and `quorate gc` uses
//! it without a plan.

use super::types::{Connection, HostAddress};
use crate::model::raw::{HostKeyPolicy, Transport};
use crate::model::Inventory;

impl Connection {
    /// Every host's address, port, user and transport, the inventory's SSH config (made
    /// absolute) and its host key policy.
    pub fn of_inventory(inv: &Inventory) -> Self {
        Self {
            hosts: inv
                .hosts
                .values()
                .map(|h| HostAddress {
                    name: h.name.clone(),
                    address: h.address.clone(),
                    port: h.port,
                    user: h.user.clone(),
                    local: h.transport == Transport::Local,
                })
                .collect(),
            ssh_config: inv
                .ssh
                .config
                .as_ref()
                .map(|c| ssh_config_path(&inv.doc.source.name, c)),
            accept_new_host_keys: inv.ssh.host_keys == HostKeyPolicy::AcceptNew,
        }
    }
}

/// The inventory's `ssh.config`, relative to the inventory's directory, made absolute: the
/// frozen plan must find it from wherever `resume` runs.
fn ssh_config_path(inventory_file: &str, config: &str) -> String {
    let base = std::path::Path::new(inventory_file)
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let joined = base.join(config);
    std::path::absolute(&joined)
        .unwrap_or(joined)
        .display()
        .to_string()
}
