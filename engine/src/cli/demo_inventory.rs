//! The demo chain's inventory: its sealers, and spare hosts ready to become new nodes.

use std::fmt::Write as _;
use std::path::Path;

/// What the inventory describes: the chain directory, its sealers and consensus, and the
/// spare hosts with the ports they get.
pub struct DemoLayout<'a> {
    pub chain: &'a Path,
    pub sealers: usize,
    pub consensus: &'a str,
    /// The first spare's port; the next spares take the following ports.
    pub spare_port: u16,
    pub spares: usize,
}

/// The inventory text. Sealers are `node0..`; spares follow (`nodeN..`), in group `spare`,
/// with what `add-node` needs: a node directory that does not exist yet (in the chain
/// directory, which holds the chain CA and the `demo-node` program) and a port.
pub fn inventory(l: &DemoLayout<'_>) -> String {
    let mut y = format!(
        "# The demo chain: {} sealers on this machine, reached without SSH{}.\nname: quorate-demo\nhosts:\n",
        l.sealers,
        if l.spares > 0 {
            ", and spare hosts for add-node"
        } else {
            ""
        }
    );
    for i in 0..l.sealers {
        let _ = writeln!(
            y,
            "  node{i}: {{ transport: local, vars: {{ node_dir: {} }} }}",
            l.chain.join(format!("node{i}")).display()
        );
    }
    let spare_names: Vec<String> = (l.sealers..l.sealers + l.spares)
        .map(|i| format!("node{i}"))
        .collect();
    for (k, name) in spare_names.iter().enumerate() {
        let port = usize::from(l.spare_port) + k;
        let _ = writeln!(
            y,
            "  {name}: {{ transport: local, vars: {{ node_dir: {}, port: {port} }} }}",
            l.chain.join(name).display(),
        );
    }
    let names: Vec<String> = (0..l.sealers).map(|i| format!("node{i}")).collect();
    let _ = writeln!(y, "groups:\n  sealers: [{}]", names.join(", "));
    if !spare_names.is_empty() {
        let _ = writeln!(y, "  spare: [{}]", spare_names.join(", "));
    }
    let _ = write!(
        y,
        "cluster:\n  consensus: {}\n  members: sealers\n  health: cd {{{{host.vars.node_dir}}}} && ./status.sh --healthy\n  membership: cd {{{{host.vars.node_dir}}}} && ./status.sh --sealers\n",
        l.consensus
    );
    y
}
