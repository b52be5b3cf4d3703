//! The connection pool: one SSH master per host, opened on first use, reused by every
//! command to that host, and reopened after it breaks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use openssh::Session;
use tokio::sync::{Mutex as AsyncMutex, OwnedSemaphorePermit, Semaphore};

use super::answer::{Answer, Nonce};
use super::pipes::{Keep, Output};
use super::server::Server;
use super::ssh::RunError;
use super::{control_dir, local, ssh, HostSpec, SshSettings, TransportError, TransportKind};

/// Channels open at once over one master. sshd allows 10 sessions per connection by
/// default (`MaxSessions`); staying under it keeps a burst of commands queueing here
/// instead of failing there.
pub const MAX_CHANNELS_PER_HOST: usize = 8;

/// Every host's connection, for the duration of a run.
pub struct Connections {
    settings: SshSettings,
    control_dir: PathBuf,
    /// The generated client config, when the inventory brings its own.
    client_config: Option<PathBuf>,
    hosts: Mutex<HashMap<String, Arc<Slot>>>,
}

/// One host's master and its channel budget.
struct Slot {
    /// Held while connecting, so concurrent first commands share one new master.
    master: AsyncMutex<Option<Arc<Session>>>,
    channels: Arc<Semaphore>,
    /// The host's journal server, started on its first task.
    server: AsyncMutex<Option<Server>>,
}

impl Connections {
    /// Prepares the control directory (short path, 0700, stale sockets removed) and the
    /// client config. Connects to nothing yet.
    pub fn new(settings: SshSettings, control_dir: PathBuf) -> Result<Self, TransportError> {
        let control_dir = control_dir::prepare(control_dir)?;
        let client_config = match &settings.config {
            Some(inventory) => Some(control_dir::write_client_config(&control_dir, inventory)?),
            None => None,
        };
        Ok(Self {
            settings,
            control_dir,
            client_config,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    pub fn control_dir(&self) -> &Path {
        &self.control_dir
    }

    /// Runs `sh -c SCRIPT` on `host` with `stdin` piped in, and returns what it printed
    /// (the head and tail of each stream, within [`super::KEPT_OUTPUT`]: a host cannot
    /// fill the controller's memory) and its exit code. There is no timeout here: callers
    /// bound the wait, and tasks bound themselves on the host (see the journal).
    pub async fn run(
        &self,
        host: &HostSpec,
        script: &str,
        stdin: &[u8],
    ) -> Result<Output, TransportError> {
        self.run_keeping(host, script, stdin, Keep::HeadAndTail)
            .await
    }

    pub(crate) async fn run_keeping(
        &self,
        host: &HostSpec,
        script: &str,
        stdin: &[u8],
        keep: Keep<'_>,
    ) -> Result<Output, TransportError> {
        match host.kind {
            TransportKind::Local => local::run(script, stdin, keep).await,
            TransportKind::Ssh => self.run_ssh(host, script, stdin, keep).await,
        }
    }

    async fn run_ssh(
        &self,
        host: &HostSpec,
        script: &str,
        stdin: &[u8],
        keep: Keep<'_>,
    ) -> Result<Output, TransportError> {
        let (slot, _channel, session) = self.channel(host).await?;
        match ssh::run(&session, script, stdin, keep).await {
            Ok(output) => Ok(output),
            Err(RunError::Lost(message)) => {
                // The next command gets a fresh master instead of this broken one.
                Self::forget(&slot, &session).await;
                Err(TransportError::Lost {
                    host: host.name.clone(),
                    message,
                })
            }
            Err(RunError::Io(e)) => Err(e.into()),
        }
    }

    /// Sends a request to the host's journal server (started on first use, restarted
    /// after it broke) and returns its answer. Requests to one host come one at a time,
    /// each after the previous answer arrived whole (the framing relies on it).
    pub(crate) async fn serve(
        &self,
        host: &HostSpec,
        wrapper: &str,
        request: &[u8],
        nonce: &Nonce,
    ) -> Result<Answer, TransportError> {
        let slot = self.slot(host);
        let mut server = slot.server.lock().await;
        if server.as_ref().is_some_and(|s| s.in_flight) {
            // An earlier request was abandoned half-way: its stream is out of step.
            *server = None;
        }
        if server.is_none() {
            let started = match host.kind {
                TransportKind::Local => Server::spawn_local(wrapper),
                TransportKind::Ssh => {
                    let session = self.master(host, &slot).await?;
                    Server::spawn_ssh(&session, wrapper).await
                }
            };
            *server = Some(started.map_err(|e| TransportError::Connect {
                host: host.name.clone(),
                message: format!("cannot start the task journal: {e}"),
            })?);
        }
        let running = server.as_mut().expect("started above");
        match running.request(request, nonce).await {
            Ok(out) => Ok(out),
            Err(e) => {
                *server = None;
                Err(TransportError::Lost {
                    host: host.name.clone(),
                    message: format!("the task journal's connection broke: {e}"),
                })
            }
        }
    }

    /// Runs `sh -c SCRIPT` (the journal wrapper run once, for a request without input) on
    /// `host` and reads its answer as the journal server's are read: streamed, each part
    /// bounded, so a host that prints without end cannot exhaust the controller.
    pub(crate) async fn run_once(
        &self,
        host: &HostSpec,
        script: &str,
        nonce: &Nonce,
    ) -> Result<Answer, TransportError> {
        let lost = |message: String| TransportError::Lost {
            host: host.name.clone(),
            message,
        };
        let (answer, session) = match host.kind {
            TransportKind::Local => (Server::local(script)?.answer(nonce).await, None),
            TransportKind::Ssh => {
                let (slot, _channel, session) = self.channel(host).await?;
                let mut once = match Server::ssh(&session, script).await {
                    Ok(once) => once,
                    Err(e) => {
                        Self::forget(&slot, &session).await;
                        return Err(lost(format!("could not open a channel: {e}")));
                    }
                };
                (once.answer(nonce).await, Some((slot, session)))
            }
        };
        match answer {
            Ok(answer) => Ok(answer),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(TransportError::Remote {
                host: host.name.clone(),
                message: format!("no answer from the task journal wrapper: {e}"),
            }),
            Err(e) => {
                if let Some((slot, session)) = session {
                    if session.check().await.is_err() {
                        Self::forget(&slot, &session).await;
                    }
                }
                Err(lost(format!(
                    "the journal's answer arrived incomplete: {e}"
                )))
            }
        }
    }

    /// One channel of the host's budget (held until the permit drops) and its live master.
    async fn channel(
        &self,
        host: &HostSpec,
    ) -> Result<(Arc<Slot>, OwnedSemaphorePermit, Arc<Session>), TransportError> {
        let slot = self.slot(host);
        let permit = Arc::clone(&slot.channels)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let session = self.master(host, &slot).await?;
        Ok((slot, permit, session))
    }

    fn slot(&self, host: &HostSpec) -> Arc<Slot> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(hosts.entry(host.name.clone()).or_insert_with(|| {
            Arc::new(Slot {
                master: AsyncMutex::new(None),
                channels: Arc::new(Semaphore::new(MAX_CHANNELS_PER_HOST)),
                server: AsyncMutex::new(None),
            })
        }))
    }

    /// The host's master, checked alive, or a new one. A master can be gone without us
    /// having seen an error: idle past `ControlPersist`, or its connection dropped between
    /// commands. The check costs one round trip on the local socket and runs nothing on
    /// the host, so reconnecting after a failed check is always safe.
    async fn master(&self, host: &HostSpec, slot: &Slot) -> Result<Arc<Session>, TransportError> {
        let mut master = slot.master.lock().await;
        if let Some(session) = master.as_ref() {
            if session.check().await.is_ok() {
                return Ok(Arc::clone(session));
            }
            tracing::debug!(host = %host.name, "SSH master gone; reconnecting");
            *master = None;
        }
        let session = Arc::new(
            ssh::connect(
                host,
                &self.settings,
                &self.control_dir,
                self.client_config.as_deref(),
            )
            .await?,
        );
        *master = Some(Arc::clone(&session));
        Ok(session)
    }

    async fn forget(slot: &Slot, broken: &Arc<Session>) {
        let mut master = slot.master.lock().await;
        if master.as_ref().is_some_and(|s| Arc::ptr_eq(s, broken)) {
            *master = None;
        }
    }

    /// Closes every master. Commands still running keep theirs until they finish (the
    /// master stops accepting new channels and exits after the last one).
    pub async fn close(&self) {
        let slots: Vec<Arc<Slot>> = self
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, slot)| slot)
            .collect();
        for slot in slots {
            let Some(session) = slot.master.lock().await.take() else {
                continue;
            };
            // Shared means a command is still running: its session handle closes the
            // master when that command is done (the crate's Drop asks it to stop).
            if let Ok(session) = Arc::try_unwrap(session) {
                if let Err(e) = session.close().await {
                    tracing::debug!(error = %e, "closing an SSH master");
                }
            }
        }
    }
}

/// The executor shares one pool between its tasks.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Connections>();
};

impl Drop for Connections {
    fn drop(&mut self) {
        if let Some(config) = &self.client_config {
            let _ = std::fs::remove_file(config);
        }
    }
}
