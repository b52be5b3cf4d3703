//! Which transport reaches a task's host, from the plan's frozen connection settings.

use std::path::PathBuf;
use std::time::Duration;

use super::context::CONTROLLER;
use crate::plan::{Connection, HostAddress, Plan};
use crate::transport::{HostKeys, HostSpec, SshSettings, TransportKind};

/// A task names a host the plan has no connection settings for. It is never run on the
/// controller in its place: the plan is broken (or was edited), and the task fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("host `{0}` is not in the plan's connection table; its task is not run anywhere else")]
pub struct UnknownHost(pub String);

/// The host a task runs on; `None` is the controller itself.
pub fn host_spec(plan: &Plan, host: Option<&str>) -> Result<HostSpec, UnknownHost> {
    let Some(name) = host else {
        return Ok(controller_spec(CONTROLLER));
    };
    plan.connection
        .hosts
        .iter()
        .find(|a| a.name == name)
        .map(address_spec)
        .ok_or_else(|| UnknownHost(name.to_owned()))
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
