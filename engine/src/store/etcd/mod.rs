//! The run store on etcd, for teams: the same records as the sled store, kept by a quorum
//! of etcd members, so any machine can read, resume or watch a run, and the cluster lock is
//! a lease held by the running controller.

mod bridge;
mod commit;
mod failure;
mod keys;
mod lease;
mod reads;
mod writes;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use etcd_client::{Certificate, Client, Compare, CompareOp, ConnectOptions, Identity, TlsOptions};
use etcd_client::{Txn, TxnOp, TxnOpResponse};

use self::bridge::Bridge;
use self::failure::{retrying, store_error, Failure};
use self::keys::Keys;
use self::lease::Hold;
use super::codec::decode;
use super::location::{EtcdLocation, EtcdOptions};
use super::{RunRecord, StoreError, STORE_FORMAT};

/// How long a read or write keeps trying other members before the store is unreachable.
const PATIENCE: Duration = Duration::from_secs(10);

/// Decoded answers are bounded by tonic at 4 MiB unless told; a run's task records may be
/// larger (64 KiB of output per stream and task, hundreds of tasks).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// What a store opened by a controller holds of each run it writes: enough to build one
/// transaction per commit without reading first.
#[derive(Clone)]
struct Head {
    cluster: String,
    /// The head key's mod revision: a commit compares it, so two writers never interleave.
    revision: i64,
    next_seq: u64,
    nodes: HashSet<usize>,
    run: RunRecord,
}

/// The run store under one prefix of an etcd cluster.
pub struct EtcdStore {
    at: String,
    keys: Keys,
    client: Client,
    /// This controller's lease; None for a store opened to read.
    hold: Option<Hold>,
    /// Clusters this store has claimed (their controller key holds our lease).
    claimed: Mutex<HashSet<String>>,
    heads: Mutex<HashMap<String, Head>>,
    bridge: Bridge,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// Whether a store is opened to write (it takes a lease) or only to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Write,
    Read,
}

impl EtcdStore {
    /// Connects to the members of `location`. A writer grants its lease (kept alive until
    /// the store is dropped) and records the store's format on first use; a reader finds
    /// no store under an unused prefix (`NoStore`) and creates nothing.
    pub fn open(
        location: &EtcdLocation,
        options: &EtcdOptions,
        access: Access,
    ) -> Result<Self, StoreError> {
        let at = location.to_string();
        let bridge = Bridge::new()?;
        let deadline = Instant::now() + PATIENCE;
        let (urls, connect) = connect_options(location, options)?;
        let client = {
            let at = at.clone();
            bridge.call(async move {
                retrying(deadline, || {
                    Client::connect(urls.clone(), Some(connect.clone()))
                })
                .await
                .map_err(|f| store_error(&at, f))
            })?
        };
        let keys = Keys::new(&location.prefix);
        let format = {
            let (mut client, key, at) = (client.clone(), keys.format(), at.clone());
            bridge.call(async move {
                check_format(&mut client, key, access, deadline)
                    .await
                    .map_err(|f| store_error(&at, f))
            })?
        };
        match format {
            Some(found) if found > STORE_FORMAT => return Err(StoreError::Format { found }),
            Some(_) => {}
            None => {
                return Err(StoreError::NoStore {
                    dir: at.clone().into(),
                    why: format!("nothing is recorded under the prefix {}", location.prefix),
                })
            }
        }
        let hold = match access {
            Access::Read => None,
            Access::Write => {
                let (mut granting, ttl, at) = (client.clone(), options.lock_ttl(), at.clone());
                let hold = bridge.call(async move {
                    Hold::grant(&mut granting, ttl, deadline)
                        .await
                        .map_err(|f| store_error(&at, f))
                })?;
                bridge.spawn(hold.clone().keep_alive(client.clone()));
                Some(hold)
            }
        };
        Ok(Self {
            at,
            keys,
            client,
            hold,
            claimed: Mutex::default(),
            heads: Mutex::default(),
            bridge,
        })
    }

    /// The address this store was opened at, for messages.
    pub fn address(&self) -> &str {
        &self.at
    }

    /// The lease TTL etcd granted this controller (None for a reader).
    pub fn lock_ttl(&self) -> Option<Duration> {
        self.hold.as_ref().map(|h| h.ttl)
    }

    fn kv(&self) -> Client {
        self.client.clone()
    }

    fn error(&self, failure: Failure) -> StoreError {
        store_error(&self.at, failure)
    }

    fn writer(&self) -> Result<&Hold, StoreError> {
        self.hold.as_ref().ok_or_else(|| {
            StoreError::Invalid(format!("the store at {} was opened to read only", self.at))
        })
    }

    /// Reads `spans` in one transaction (so at one revision: whole commits only); answers
    /// in the same order.
    fn read(&self, keys: Vec<Span>) -> Result<Vec<Vec<etcd_client::KeyValue>>, StoreError> {
        let client = self.kv();
        let at = self.at.clone();
        self.bridge.call(async move {
            read_at_once(&client, keys, Instant::now() + PATIENCE)
                .await
                .map_err(|f| store_error(&at, f))
        })
    }

    fn decode_run(kv: &etcd_client::KeyValue) -> Result<RunRecord, StoreError> {
        decode(
            || format!("run {}", String::from_utf8_lossy(kv.key())),
            kv.value(),
        )
    }
}

impl Drop for EtcdStore {
    /// Revokes the lease, so the clusters this controller held are free at once rather
    /// than after the TTL.
    fn drop(&mut self) {
        if let Some(hold) = &self.hold {
            let (mut client, id) = (self.kv(), hold.id);
            let _ = self.bridge.call(async move {
                let _ = tokio::time::timeout(Duration::from_secs(2), client.lease_revoke(id)).await;
                Ok(())
            });
        }
    }
}

/// What one read covers.
pub(super) enum Span {
    Key(Vec<u8>),
    /// Every key that starts with it.
    Prefix(Vec<u8>),
    /// From the first key up to (not including) the second.
    Range(Vec<u8>, Vec<u8>),
}

/// Reads spans in one transaction.
async fn read_at_once(
    client: &Client,
    spans: Vec<Span>,
    deadline: Instant,
) -> Result<Vec<Vec<etcd_client::KeyValue>>, Failure> {
    let ops: Vec<TxnOp> = spans
        .into_iter()
        .map(|span| match span {
            Span::Key(key) => TxnOp::get(key, None),
            Span::Prefix(key) => {
                TxnOp::get(key, Some(etcd_client::GetOptions::new().with_prefix()))
            }
            Span::Range(from, end) => {
                TxnOp::get(from, Some(etcd_client::GetOptions::new().with_range(end)))
            }
        })
        .collect();
    let txn = Txn::new().and_then(ops);
    let answer = retrying(deadline, || {
        let mut kv = client.kv_client().max_decoding_message_size(MAX_ANSWER);
        let txn = txn.clone();
        async move { kv.txn(txn).await }
    })
    .await?;
    Ok(answer
        .op_responses()
        .into_iter()
        .map(|op| match op {
            TxnOpResponse::Get(get) => get.kvs().to_vec(),
            _ => Vec::new(),
        })
        .collect())
}

/// The store's format under the prefix: written first by a writer, read by a reader.
async fn check_format(
    client: &mut Client,
    key: Vec<u8>,
    access: Access,
    deadline: Instant,
) -> Result<Option<u64>, Failure> {
    // The client wants compares, then the success ops, then the failure ops.
    let txn = if access == Access::Write {
        Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key.clone(), STORE_FORMAT.to_string(), None)])
            .or_else([TxnOp::get(key, None)])
    } else {
        Txn::new().and_then([TxnOp::get(key, None)])
    };
    let answer = retrying(deadline, || {
        let mut client = client.clone();
        let txn = txn.clone();
        async move { client.txn(txn).await }
    })
    .await?;
    if access == Access::Write && answer.succeeded() {
        return Ok(Some(STORE_FORMAT));
    }
    let value = answer.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.value().to_vec()),
        _ => None,
    });
    // A format that is not a number is newer than any this quorate knows.
    Ok(value.map(|v| {
        std::str::from_utf8(&v)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(u64::MAX)
    }))
}

/// The members' URLs and the client's options: TLS files, credentials, timeouts.
fn connect_options(
    location: &EtcdLocation,
    options: &EtcdOptions,
) -> Result<(Vec<String>, ConnectOptions), StoreError> {
    let tls = location.tls || options.ca_cert.is_some() || options.cert.is_some();
    let scheme = if tls { "https" } else { "http" };
    let urls = location
        .endpoints
        .iter()
        .map(|e| format!("{scheme}://{e}"))
        .collect();
    let mut connect = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(2))
        .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2))
        // A member cut off from the others answers "no leader" at once instead of
        // waiting: the request goes to another member, or the store is unreachable.
        .with_require_leader(true);
    if tls {
        let mut config = TlsOptions::new();
        if let Some(path) = &options.ca_cert {
            config =
                config.ca_certificate(Certificate::from_pem(read_pem(path, "CA certificate")?));
        }
        match (&options.cert, &options.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(Identity::from_pem(
                    read_pem(cert, "client certificate")?,
                    read_pem(key, "client key")?,
                ));
            }
            (None, None) => {}
            _ => {
                return Err(StoreError::Invalid(
                    "--etcd-cert and --etcd-key go together".to_owned(),
                ))
            }
        }
        connect = connect.with_tls(config);
    }
    if let Some(user) = &options.user {
        connect = connect.with_user(user, options.password.clone().unwrap_or_default());
    }
    Ok((urls, connect))
}

fn read_pem(path: &std::path::Path, what: &str) -> Result<Vec<u8>, StoreError> {
    std::fs::read(path).map_err(|e| {
        StoreError::Invalid(format!(
            "cannot read the etcd {what} {}: {e}",
            path.display()
        ))
    })
}
