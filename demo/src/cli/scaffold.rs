//! Writing one node directory: binary copy, scripts, config, genesis, certificates, ledger.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;

use crate::certs::NodeCert;
use crate::chain::genesis::Genesis;
use crate::chain::ledger::Ledger;
use crate::config::NodeConfig;
use crate::layout::NodeDir;
use crate::scripts;

pub struct NodeSpec<'a> {
    pub config: NodeConfig,
    pub genesis: &'a Genesis,
    pub cert: &'a NodeCert,
    pub ca_crt: &'a str,
}

pub fn write_file(path: &Path, content: &str, mode: u32) -> anyhow::Result<()> {
    fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

pub fn write_node(dir: &NodeDir, spec: &NodeSpec<'_>) -> anyhow::Result<()> {
    for sub in [dir.root.clone(), dir.conf(), dir.data(), dir.log_dir()] {
        fs::create_dir_all(&sub).with_context(|| format!("cannot create {}", sub.display()))?;
    }
    let exe = std::env::current_exe().context("cannot locate this demo-node binary")?;
    fs::copy(&exe, dir.binary()).with_context(|| {
        format!(
            "cannot copy {} to {}",
            exe.display(),
            dir.binary().display()
        )
    })?;
    let name = &spec.config.name;
    write_file(&dir.root.join("start.sh"), &scripts::start(name), 0o755)?;
    write_file(&dir.root.join("stop.sh"), &scripts::stop(name), 0o755)?;
    write_file(&dir.root.join("status.sh"), &scripts::status(), 0o755)?;
    write_file(&dir.config(), &spec.config.render(), 0o644)?;
    write_file(&dir.genesis(), &spec.genesis.to_json(), 0o644)?;
    write_file(&dir.conf().join("ca.crt"), spec.ca_crt, 0o644)?;
    write_file(&dir.conf().join("ssl.crt"), &spec.cert.pem.cert, 0o644)?;
    write_file(&dir.conf().join("ssl.key"), &spec.cert.pem.key, 0o600)?;
    write_file(&dir.node_id(), &format!("{}\n", spec.cert.node_id), 0o644)?;
    // Block 0 now, so status and verify work before the first start.
    Ledger::open(&dir.ledger(), spec.genesis)?;
    Ok(())
}
