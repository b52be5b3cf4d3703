//! Which transport reaches a task's host, from the plan's frozen connection settings.

use std::path::PathBuf;
use std::time::Duration;

use crate::plan::{Connection, HostAddress, Plan};
use crate::transport::{HostKeys, HostSpec, SshSettings, TransportKind};

/// The host a task runs on; `None` is the controller itself.
pub fn host_spec(plan: &Plan, host: Option<&str>) -> HostSpec {
    let found = host.and_then(|h| plan.connection.hosts.iter().find(|a| a.name == h));
    match found {
        Some(a) => address_spec(a),
        None => controller_spec(host.unwrap_or(super::context::CONTROLLER)),
    }
}

/// An inventory host as the transport reaches it.
pub fn address_spec(a: &HostAddress) -> HostSpec {
    HostSpec {
        name: a.name.clone(),
        address: a.address.clone(),
        port: a.port,
        user: a.user.clone(),
        kind: if a.local {
            TransportKind::Local
        } else {
            TransportKind::Ssh
        },
    }
}

/// The controller itself, under `name`.
pub fn controller_spec(name: &str) -> HostSpec {
    HostSpec {
        name: name.to_owned(),
        address: "localhost".to_owned(),
        port: None,
        user: None,
        kind: TransportKind::Local,
    }
}

pub fn ssh_settings(plan: &Plan) -> SshSettings {
    connection_ssh_settings(&plan.connection)
}

/// The SSH settings of an inventory's connection (the plan's, or one made for `gc`).
pub fn connection_ssh_settings(connection: &Connection) -> SshSettings {
    SshSettings {
        config: connection.ssh_config.as_ref().map(PathBuf::from),
        host_keys: if connection.accept_new_host_keys {
            HostKeys::AcceptNew
        } else {
            HostKeys::Strict
        },
        connect_timeout: Duration::from_secs(10),
    }
}
