//! The cluster lock on etcd: this controller's lease, kept alive while it runs, and the key
//! `P/controllers/CLUSTER` attached to it that says who drives the cluster.
//!
//! etcd deletes the key when the lease expires: a controller that dies (SIGKILL, a lost
//! laptop) frees its clusters after the TTL. One that cannot renew its lease in time (cut
//! off from a quorum) takes the lock for lost: it writes nothing more, and every write it
//! sends compares the key's lease with its own, so etcd refuses it too.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};
use serde::{Deserialize, Serialize};

use super::failure::{retrying, retrying_until, Failure};
use crate::store::clock::UtcTime;
use crate::store::{controller, now_ms};

/// This controller's lease and whether it still holds.
#[derive(Clone)]
pub(super) struct Hold {
    pub id: i64,
    pub ttl: Duration,
    state: Arc<Mutex<HoldState>>,
}

struct HoldState {
    /// Until when the lease is known to live: the send time of the last renewal that etcd
    /// acknowledged, plus the TTL (etcd counts from when it received it, later).
    until: Instant,
    lost: Option<String>,
}

/// Who drives a cluster, as its controller key says.
#[derive(Serialize, Deserialize)]
pub(super) struct Holder {
    pub controller: String,
    pub since_ms: u64,
}

impl Holder {
    pub fn describe(&self) -> String {
        format!(
            "{} (since {})",
            crate::source::escape::line(&self.controller),
            UtcTime::from_ms(self.since_ms)
        )
    }
}

impl Hold {
    /// Grants a lease of `ttl` (etcd may raise a TTL below its minimum).
    pub async fn grant(
        client: &mut Client,
        ttl: Duration,
        deadline: Instant,
    ) -> Result<Self, Failure> {
        let seconds = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        let sent = Instant::now();
        let granted = retrying(deadline, || {
            let mut client = client.clone();
            async move { client.lease_grant(seconds, None).await }
        })
        .await?;
        let ttl = Duration::from_secs(granted.ttl().unsigned_abs());
        Ok(Self {
            id: granted.id(),
            ttl,
            state: Arc::new(Mutex::new(HoldState {
                until: sent + ttl,
                lost: None,
            })),
        })
    }

    /// Ok while the lease is known to live; otherwise why it is not.
    pub fn check(&self) -> Result<(), String> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(why) = &state.lost {
            return Err(why.clone());
        }
        if Instant::now() >= state.until {
            return Err(format!(
                "its lease could not be renewed within its {} s TTL",
                self.ttl.as_secs()
            ));
        }
        Ok(())
    }

    /// Until when the lease is known to live.
    pub fn until(&self) -> Instant {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .until
    }

    fn renewed(&self, until: Instant) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.lost.is_none() && until > state.until {
            state.until = until;
        }
    }

    /// Takes the lease for lost: this controller writes nothing more.
    pub fn give_up(&self) {
        self.lose("its lease could not be renewed in time".to_owned());
    }

    fn lose(&self, why: String) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.lost.get_or_insert(why);
    }

    /// Renews the lease every quarter of its TTL until it is lost or the runtime stops. A
    /// broken keep-alive stream (its member died) is opened again, on another member.
    pub async fn keep_alive(self, client: Client) {
        let interval = self.ttl / 4;
        loop {
            if let Err(why) = self.check() {
                self.lose(why);
                return;
            }
            let mut leases = client.lease_client();
            let Ok(Ok((mut keeper, mut stream))) =
                tokio::time::timeout(interval, leases.keep_alive(self.id)).await
            else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            loop {
                let sent = Instant::now();
                if keeper.keep_alive().await.is_err() {
                    break;
                }
                match tokio::time::timeout(interval, stream.message()).await {
                    Ok(Ok(Some(answer))) if answer.ttl() > 0 => {
                        self.renewed(sent + Duration::from_secs(answer.ttl().unsigned_abs()));
                    }
                    Ok(Ok(Some(_))) => {
                        self.lose("its lease expired".to_owned());
                        return;
                    }
                    _ => break,
                }
                if let Err(why) = self.check() {
                    self.lose(why);
                    return;
                }
                tokio::time::sleep(interval.saturating_sub(sent.elapsed())).await;
            }
        }
    }
}

/// What a claim found.
pub(super) enum Claim {
    Taken,
    HeldBy(Holder),
}

/// Takes `key` (a cluster's controller key) for `hold`, unless another lease has it.
pub(super) async fn claim<D>(
    client: &Client,
    key: Vec<u8>,
    hold: &Hold,
    deadline: D,
) -> Result<Claim, Failure>
where
    D: Fn() -> Instant + Clone,
{
    let holder = Holder {
        controller: controller(),
        since_ms: now_ms(),
    };
    let value = serde_json::to_vec(&holder).unwrap_or_default();
    let again = key.clone();
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(
            key.clone(),
            value,
            Some(PutOptions::new().with_lease(hold.id)),
        )])
        .or_else([TxnOp::get(key, None)]);
    let answer = retrying_until(deadline.clone(), || {
        let mut client = client.clone();
        let txn = txn.clone();
        async move { client.txn(txn).await }
    })
    .await?;
    if answer.succeeded() {
        return Ok(Claim::Taken);
    }
    let existing = answer.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => get.kvs().first().cloned(),
        _ => None,
    });
    match existing {
        // Ours: an earlier attempt of this claim, or of this process, took it.
        Some(kv) if kv.lease() == hold.id => Ok(Claim::Taken),
        Some(kv) => Ok(Claim::HeldBy(serde_json::from_slice(kv.value()).unwrap_or(
            Holder {
                controller: "a controller whose key cannot be read".to_owned(),
                since_ms: 0,
            },
        ))),
        // Released between the compare and the read: try again.
        None => Box::pin(claim(client, again, hold, deadline)).await,
    }
}
