//! Where commands go: a host as the transport sees it, and the SSH settings shared by all.

use std::path::PathBuf;
use std::time::Duration;

/// How a host is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// Over SSH, through one multiplexed master connection per host.
    Ssh,
    /// On the controller itself, through `sh -c`.
    Local,
}

/// One host of the inventory, reduced to what connecting needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    /// The inventory name: errors and the connection pool use it.
    pub name: String,
    /// What `ssh` connects to: an address or a name OpenSSH config may map further.
    pub address: String,
    /// `None`: whatever OpenSSH config says (22 by default).
    pub port: Option<u16>,
    /// `None`: whatever OpenSSH config says.
    pub user: Option<String>,
    pub kind: TransportKind,
}

/// Host key policy. There is deliberately no "accept anything".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostKeys {
    /// The key must already be in `known_hosts` and match (`StrictHostKeyChecking=yes`).
    #[default]
    Strict,
    /// An unknown host's key is recorded on first connect; a changed key is still refused.
    AcceptNew,
}

/// SSH settings for every host of an inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshSettings {
    /// Extra OpenSSH client config from the inventory. It takes precedence over
    /// `~/.ssh/config` and `/etc/ssh/ssh_config`, which still apply after it.
    pub config: Option<PathBuf>,
    pub host_keys: HostKeys,
    /// Limit for the TCP connect and the SSH handshake of a new master connection.
    pub connect_timeout: Duration,
}

impl Default for SshSettings {
    fn default() -> Self {
        Self {
            config: None,
            host_keys: HostKeys::Strict,
            connect_timeout: Duration::from_secs(10),
        }
    }
}
