//! The SSH transport: opening a multiplexed master to a host, and running one command over
//! it as `sh -c SCRIPT`.

use std::io;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};

use super::error::chain;
use super::pipes::{exchange, Keep, Output};
use super::{HostKeys, HostSpec, SshSettings, TransportError};
use crate::shell;

/// A master exits after this long without a channel, so one a killed controller leaves
/// behind does not linger. The executor reconnects transparently after an idle pause.
const CONTROL_PERSIST_SECS: usize = 60;

/// Keepalives every 15 s (3 missed ones end the master): a host that vanished from the
/// network turns a waiting command into `Lost` in under a minute instead of never.
const SERVER_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// ssh's `ConnectTimeout` covers the TCP connect and the banner; this bounds the rest of
/// the handshake (key exchange, authentication) too.
const HANDSHAKE_ALLOWANCE: Duration = Duration::from_secs(10);

/// Opens the master connection to `host`.
pub(crate) async fn connect(
    host: &HostSpec,
    settings: &SshSettings,
    control_dir: &Path,
    config: Option<&Path>,
) -> Result<Session, TransportError> {
    // ssh takes an argument starting with `-` for an option; the openssh crate passes the
    // destination without `--`.
    if host.address.is_empty() || host.address.starts_with('-') {
        return Err(TransportError::Setup(format!(
            "host {} has an invalid address `{}`",
            host.name, host.address
        )));
    }
    let mut builder = SessionBuilder::default();
    builder
        .known_hosts_check(match settings.host_keys {
            HostKeys::Strict => KnownHosts::Strict,
            HostKeys::AcceptNew => KnownHosts::Add,
        })
        .control_directory(control_dir)
        .control_persist(ControlPersist::IdleFor(
            NonZeroUsize::new(CONTROL_PERSIST_SECS).expect("non-zero"),
        ))
        .server_alive_interval(SERVER_ALIVE_INTERVAL)
        // ssh counts whole seconds, and 0 would mean "the system default".
        .connect_timeout(settings.connect_timeout.max(Duration::from_secs(1)));
    if let Some(config) = config {
        builder.config_file(config);
    }
    if let Some(user) = &host.user {
        builder.user(user.clone());
    }
    if let Some(port) = host.port {
        builder.port(port);
    }
    let started = Instant::now();
    let limit = settings.connect_timeout + HANDSHAKE_ALLOWANCE;
    let connected = tokio::time::timeout(limit, builder.connect_mux(&host.address)).await;
    let fail = |message: String| TransportError::Connect {
        host: host.name.clone(),
        message,
    };
    match connected {
        Ok(Ok(session)) => {
            tracing::debug!(host = %host.name, elapsed = ?started.elapsed(), "SSH master connected");
            Ok(session)
        }
        Ok(Err(openssh::Error::Connect(e))) => Err(fail(explain(&e.to_string(), host))),
        Ok(Err(openssh::Error::Master(e))) => Err(TransportError::Setup(format!(
            "cannot create a control socket directory in {}: {e}",
            control_dir.display()
        ))),
        Ok(Err(e)) => Err(fail(chain(&e))),
        Err(_) => Err(fail(format!(
            "no SSH session after {}s (the host accepts TCP but the handshake stalls)",
            limit.as_secs()
        ))),
    }
}

/// Turns ssh's log into one line that says what the operator should look at.
fn explain(log: &str, host: &HostSpec) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('@'))
        .collect();
    let find = |needle: &str| lines.iter().find(|l| l.contains(needle)).copied();
    if log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        let offending = find("Offending").map_or(String::new(), |l| format!(" ({l})"));
        return format!(
            "the host key does not match the one in known_hosts{offending}: the host was \
             reinstalled or someone is in the middle; check the new key, then replace the \
             old entry (ssh-keygen -R)"
        );
    }
    if log.contains("host key is known for") || log.contains("have requested strict checking") {
        return format!(
            "the host key of {} is not in known_hosts and host keys are checked strictly: \
             add the key to known_hosts, or set `ssh: {{ host_keys: accept-new }}` to record \
             it on first connect",
            host.address
        );
    }
    if let Some(l) = find("Permission denied") {
        return format!("authentication failed: {l}");
    }
    let text = lines
        .iter()
        .filter(|l| !l.starts_with("Warning: Permanently added"))
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if text.is_empty() {
        "ssh failed without saying why".to_owned()
    } else {
        text.strip_prefix("ssh: ").unwrap_or(&text).to_owned()
    }
}

/// Why running a command over a master failed.
pub(crate) enum RunError {
    /// The channel or the master broke: the command may have run.
    Lost(String),
    Io(io::Error),
}

/// Runs `sh -c SCRIPT` over `session`, feeding `stdin`.
///
/// The script travels as a single quoted word because the remote login shell re-parses
/// the command line; `sh -c` then parses it once more, exactly as written.
pub(crate) async fn run(
    session: &Arc<Session>,
    script: &str,
    stdin: &[u8],
    keep: Keep<'_>,
) -> Result<Output, RunError> {
    if script.contains('\0') {
        return Err(RunError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a shell script cannot hold a NUL byte",
        )));
    }
    let line = format!("sh -c {}", shell::quote(script));
    let mut child = Session::to_raw_command(Arc::clone(session), line)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .await
        .map_err(|e| RunError::Lost(format!("could not open a channel: {}", chain(&e))))?;
    let (stdout, stderr) = exchange(
        child.stdin().take(),
        stdin,
        child.stdout().take(),
        child.stderr().take(),
        keep,
    )
    .await
    .map_err(|e| {
        if e.kind() == io::ErrorKind::InvalidData {
            // Too much output: the host answered, with more than is taken.
            RunError::Io(e)
        } else {
            RunError::Lost(format!("reading the command's output failed: {e}"))
        }
    })?;
    let code = match child.wait().await {
        Ok(status) => status.code(),
        // The master sends no exit status for a command killed by a signal, and none
        // either when the connection drops: both reach us as "terminated". Only a master
        // that still answers tells the first from the second (a master whose connection
        // dropped has exited by the time its clients see the end of their streams).
        Err(openssh::Error::RemoteProcessTerminated) => {
            if session.check().await.is_err() {
                return Err(RunError::Lost(
                    "the connection closed before the command's exit status arrived".into(),
                ));
            }
            None
        }
        // ... and turns exit code 127 into an error; for `sh -c` it is still an exit code.
        Err(openssh::Error::Remote(e)) if e.kind() == io::ErrorKind::NotFound => Some(127),
        Err(e) => return Err(RunError::Lost(chain(&e))),
    };
    Ok(Output {
        code,
        stdout,
        stderr,
    })
}
