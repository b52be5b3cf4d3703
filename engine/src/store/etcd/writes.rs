//! The write side of the etcd store. A group commit is one etcd transaction, acknowledged
//! only once a quorum of members has it, guarded by compares: the cluster's controller key
//! must still hold this controller's lease (one that lost it writes nothing) and the run's
//! head must be as this controller last wrote it (no two writers interleave). A new run's
//! plan and task records may be written in earlier transactions; it exists for readers
//! once its run record is written, by the last one.

use std::fmt::Write as _;
use std::time::Instant;

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnResponse};
use serde::{Deserialize, Serialize};

use super::failure::{retrying_until, Failure};
use super::keys::trailing_number;
use super::lease::{self, Claim};
use super::{EtcdStore, Head, Span, PATIENCE};
use crate::store::codec::{decode, encode};
use crate::store::keys::node_number;
use crate::store::location::DEFAULT_LOCK_TTL;
use crate::store::prepare::{bounded, check_new_run};
use crate::store::{Change, Event, RunReader, RunRecord, RunStore, StoreError, TaskRecord};

/// The most bytes of plan text per key, and of values per staged transaction: well under
/// etcd's default request limit (1.5 MiB).
const CHUNK: usize = 512 * 1024;

/// A write that fails this close to the end of the lease is the lease's end: no attempt
/// could land before it.
const LAST_CHANCE: std::time::Duration = std::time::Duration::from_millis(300);

/// The most puts per staged transaction: etcd refuses more than 128 by default.
const STAGE_OPS: usize = 64;

/// A key and its value.
pub(super) type Put = (Vec<u8>, Vec<u8>);

/// A run's head: the number its next event gets, and the token of the last commit, by
/// which a commit whose answer was lost is recognized when it is sent again.
#[derive(Serialize, Deserialize)]
pub(super) struct HeadValue {
    pub next_seq: u64,
    pub token: String,
}

/// The cluster lock key as read, and what this write makes of it.
pub(super) struct LockRead {
    pub holder: Option<String>,
    pub revision: i64,
    pub changed: bool,
}

impl EtcdStore {
    /// Takes `cluster` for this controller, once per cluster: refused, with who holds it,
    /// while another controller's lease does.
    pub(super) fn claim_cluster(&self, cluster: &str) -> Result<(), StoreError> {
        let hold = self.writer()?.clone();
        hold.check().map_err(|why| lost(cluster, why))?;
        if self.claimed_now(cluster) {
            return Ok(());
        }
        let key = self.keys.controller(cluster);
        let client = self.kv();
        let deadline = self.deadline();
        let claim = self
            .bridge
            .call(async move { Ok(lease::claim(&client, key, &hold, deadline).await) })?;
        match claim {
            Ok(Claim::Taken) => {
                self.claimed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(cluster.to_owned());
                Ok(())
            }
            Ok(Claim::HeldBy(holder)) => Err(StoreError::Controlled {
                cluster: cluster.to_owned(),
                holder: holder.describe(),
                ttl_s: DEFAULT_LOCK_TTL.as_secs(),
            }),
            Err(failure) => Err(self.write_failure(cluster, failure)),
        }
    }

    fn claimed_now(&self, cluster: &str) -> bool {
        self.claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(cluster)
    }

    /// Writes stop trying once the lease may have expired (after that they are refused),
    /// and after [`PATIENCE`] in any case. The lease's end moves on as it is renewed.
    fn deadline(&self) -> impl Fn() -> Instant + Clone + Send + 'static {
        let patience = Instant::now() + PATIENCE;
        let hold = self.hold.clone();
        move || hold.as_ref().map_or(patience, |h| h.until().min(patience))
    }

    /// A failed write: the lock is lost if the lease is (or ends before another attempt
    /// could be made), else the store is unreachable.
    pub(super) fn write_failure(&self, cluster: &str, failure: Failure) -> StoreError {
        let Some(hold) = &self.hold else {
            return self.error(failure);
        };
        match hold.check() {
            Err(why) => lost(cluster, why),
            Ok(()) if hold.until() <= Instant::now() + LAST_CHANCE => {
                hold.give_up();
                lost(
                    cluster,
                    format!(
                        "its lease could not be renewed within its {} s TTL: {}",
                        hold.ttl.as_secs(),
                        self.error(failure)
                    ),
                )
            }
            Ok(()) => self.error(failure),
        }
    }

    pub(super) fn send(&self, txn: Txn) -> Result<Result<TxnResponse, Failure>, StoreError> {
        let client = self.kv();
        let deadline = self.deadline();
        self.bridge.call(async move {
            Ok(retrying_until(deadline, || {
                let mut client = client.clone();
                let txn = txn.clone();
                async move { client.txn(txn).await }
            })
            .await)
        })
    }

    /// The compare every write of this controller makes: `cluster` is still ours.
    pub(super) fn still_ours(&self, cluster: &str) -> Result<Compare, StoreError> {
        Ok(Compare::lease(
            self.keys.controller(cluster),
            CompareOp::Equal,
            self.writer()?.id,
        ))
    }

    pub(super) fn read_lock(&self, cluster: &str) -> Result<LockRead, StoreError> {
        let kv = self
            .read(vec![Span::Key(self.keys.lock(cluster))])?
            .pop()
            .and_then(|kvs| kvs.into_iter().next());
        Ok(match kv {
            Some(kv) => LockRead {
                holder: Some(decode(|| format!("lock of cluster {cluster}"), kv.value())?),
                revision: kv.mod_revision(),
                changed: false,
            },
            None => LockRead {
                holder: None,
                revision: 0,
                changed: false,
            },
        })
    }

    /// Gives `cluster` to run `id` unless another unfinished run holds it (as in sled).
    pub(super) fn take_lock(
        &self,
        lock: &mut LockRead,
        cluster: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        if let Some(holder) = lock.holder.as_deref().filter(|h| *h != id) {
            if self
                .run(holder)?
                .is_some_and(|run| !run.status.is_finished())
            {
                return Err(StoreError::Locked {
                    cluster: cluster.to_owned(),
                    run: holder.to_owned(),
                });
            }
        }
        if lock.holder.as_deref() != Some(id) {
            lock.holder = Some(id.to_owned());
            lock.changed = true;
        }
        Ok(())
    }

    /// The compare and the write that make the lock what `lock` says.
    pub(super) fn lock_ops(
        &self,
        cluster: &str,
        lock: &LockRead,
        compares: &mut Vec<Compare>,
        ops: &mut Vec<TxnOp>,
    ) -> Result<(), StoreError> {
        let key = self.keys.lock(cluster);
        compares.push(Compare::mod_revision(
            key.clone(),
            CompareOp::Equal,
            lock.revision,
        ));
        if lock.changed {
            ops.push(match &lock.holder {
                Some(holder) => TxnOp::put(key, encode(holder)?, None),
                None => TxnOp::delete(key, None),
            });
        }
        Ok(())
    }

    /// Writes a new run with its plan, tasks and (for a copied run) events: `create_run`
    /// and `store migrate`.
    pub(super) fn write_new_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
        events: &[Event],
    ) -> Result<(), StoreError> {
        check_new_run(run, plan_json, tasks)?;
        let id = &run.id;
        self.claim_cluster(&run.cluster)?;
        let mut puts = Vec::new();
        for (n, chunk) in (0u64..).zip(chunks(plan_json)) {
            puts.push((self.keys.plan_chunk(id, n), chunk.as_bytes().to_vec()));
        }
        for task in tasks {
            let key = self.keys.task(id, node_number(task.node));
            puts.push((key, encode(&bounded(task.clone()))?));
        }
        puts.extend(self.event_batches(id, events)?);
        let mut compares = vec![
            Compare::create_revision(self.keys.run(id), CompareOp::Equal, 0),
            self.still_ours(&run.cluster)?,
        ];
        let run_bytes = encode(run)?;
        let next_seq = events.last().map_or(1, |e| e.seq + 1);
        let token = new_token();
        let mut ops = vec![
            TxnOp::put(self.keys.run(id), run_bytes.clone(), None),
            TxnOp::put(self.keys.head(id), head_value(next_seq, &token)?, None),
        ];
        if !run.status.is_finished() {
            let mut lock = self.read_lock(&run.cluster)?;
            self.take_lock(&mut lock, &run.cluster, id)?;
            self.lock_ops(&run.cluster, &lock, &mut compares, &mut ops)?;
        }
        let batches = batches(puts);
        let (last, staged) = match batches.split_last() {
            Some((last, staged)) if batches.len() == 1 => (last.clone(), staged.to_vec()),
            _ => (Vec::new(), batches),
        };
        for batch in staged {
            let txn = Txn::new()
                .when([self.still_ours(&run.cluster)?])
                .and_then(puts_of(batch));
            let answer = self
                .send(txn)?
                .map_err(|f| self.write_failure(&run.cluster, f))?;
            if !answer.succeeded() {
                return Err(self.not_ours(&run.cluster));
            }
        }
        ops.extend(puts_of(last));
        let answer = self
            .send(Txn::new().when(compares).and_then(ops))?
            .map_err(|f| self.write_failure(&run.cluster, f))?;
        if !answer.succeeded() {
            let written = self
                .read(vec![Span::Key(self.keys.head(id))])?
                .pop()
                .and_then(|kvs| kvs.into_iter().next());
            let landed = written
                .as_ref()
                .and_then(|kv| serde_json::from_slice::<HeadValue>(kv.value()).ok())
                .is_some_and(|h| h.token == token);
            if !landed {
                return Err(self.refusal(run, &token));
            }
        }
        self.cache_head(Head {
            cluster: run.cluster.clone(),
            revision: revision_of(&answer),
            next_seq,
            nodes: tasks.iter().map(|t| t.node).collect(),
            run: run.clone(),
        });
        Ok(())
    }

    /// Why the last write of a new run was refused.
    fn refusal(&self, run: &RunRecord, _token: &str) -> StoreError {
        match self.run(&run.id) {
            Ok(Some(_)) => StoreError::Invalid(format!("a run with id {} exists already", run.id)),
            _ if !self.lease_holds(&run.cluster) => self.not_ours(&run.cluster),
            _ => StoreError::Db(format!(
                "the lock of cluster {} changed while run {} was recorded; nothing was \
                 recorded, try again",
                run.cluster, run.id
            )),
        }
    }

    pub(super) fn lease_holds(&self, cluster: &str) -> bool {
        let ours = self.hold.as_ref().map(|h| h.id);
        matches!(self.controller_of(cluster), Ok(Some((lease, _))) if Some(lease) == ours)
    }

    /// The error for a write etcd refused because the controller key is not ours.
    pub(super) fn not_ours(&self, cluster: &str) -> StoreError {
        self.claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(cluster);
        let why = match self.controller_of(cluster) {
            Ok(Some((_, holder))) => format!("it is held by {}", holder.describe()),
            _ => "its lease expired".to_owned(),
        };
        lost(cluster, why)
    }

    pub(super) fn cache_head(&self, head: Head) {
        self.heads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(head.run.id.clone(), head);
    }

    pub(super) fn forget_head(&self, id: &str) {
        self.heads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }

    /// What a commit of run `id` needs to know: from the cache, else read once.
    pub(super) fn head(&self, id: &str) -> Result<Head, StoreError> {
        if let Some(head) = self
            .heads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
        {
            return Ok(head.clone());
        }
        let mut answers = self.read(vec![
            Span::Key(self.keys.run(id)),
            Span::Key(self.keys.head(id)),
            Span::Prefix(self.keys.tasks(id)),
        ])?;
        let tasks = answers.pop().unwrap_or_default();
        let head = answers.pop().and_then(|kvs| kvs.into_iter().next());
        let run = answers
            .pop()
            .and_then(|kvs| kvs.into_iter().next())
            .ok_or_else(|| StoreError::NoRun(id.to_owned()))?;
        let run = Self::decode_run(&run)?;
        let (revision, next_seq) = match head {
            Some(kv) => {
                let value: HeadValue = decode(|| format!("head of run {id}"), kv.value())?;
                (kv.mod_revision(), value.next_seq)
            }
            None => (0, 1),
        };
        let nodes = tasks
            .iter()
            .filter_map(|kv| trailing_number(kv.key()))
            .filter_map(|n| usize::try_from(n).ok())
            .collect();
        let head = Head {
            cluster: run.cluster.clone(),
            revision,
            next_seq,
            nodes,
            run,
        };
        self.cache_head(head.clone());
        Ok(head)
    }

    /// The events of one commit as keys of at most [`CHUNK`] bytes each, every key named
    /// by the last event in it.
    pub(super) fn event_batches(&self, id: &str, events: &[Event]) -> Result<Vec<Put>, StoreError> {
        let mut batches = Vec::new();
        let mut batch: Vec<&Event> = Vec::new();
        let mut size = 0;
        for event in events {
            let len = event.message.len() + event.kind.len() + 64;
            if !batch.is_empty() && size + len > CHUNK {
                batches.push(self.event_batch(id, &batch)?);
                batch.clear();
                size = 0;
            }
            batch.push(event);
            size += len;
        }
        if !batch.is_empty() {
            batches.push(self.event_batch(id, &batch)?);
        }
        Ok(batches)
    }

    fn event_batch(&self, id: &str, batch: &[&Event]) -> Result<Put, StoreError> {
        let last = batch.last().map_or(0, |e| e.seq);
        Ok((self.keys.events_batch(id, last), encode(&batch)?))
    }

    /// Copies a run read from another store, keeping its event numbers and times. Returns
    /// false, writing nothing, when the run is here already.
    pub fn import_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
        events: &[Event],
    ) -> Result<bool, StoreError> {
        if self.run(&run.id)?.is_some() {
            return Ok(false);
        }
        self.write_new_run(run, plan_json, tasks, events)?;
        Ok(true)
    }
}

impl RunStore for EtcdStore {
    fn create_run(
        &self,
        run: &RunRecord,
        plan_json: &str,
        tasks: &[TaskRecord],
    ) -> Result<(), StoreError> {
        self.write_new_run(run, plan_json, tasks, &[])
    }

    fn plan_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.read_plan(id)
    }

    fn commit(&self, id: &str, changes: Vec<Change>) -> Result<Vec<u64>, StoreError> {
        self.commit_changes(id, changes)
    }

    fn lock_holder(&self, cluster: &str) -> Result<Option<String>, StoreError> {
        self.read_lock_holder(cluster)
    }

    fn claim(&self, cluster: &str) -> Result<(), StoreError> {
        self.claim_cluster(cluster)
    }
}

pub(super) fn lost(cluster: &str, why: String) -> StoreError {
    StoreError::LockLost {
        cluster: cluster.to_owned(),
        why,
    }
}

pub(super) fn head_value(next_seq: u64, token: &str) -> Result<Vec<u8>, StoreError> {
    encode(&HeadValue {
        next_seq,
        token: token.to_owned(),
    })
}

pub(super) fn revision_of(answer: &TxnResponse) -> i64 {
    answer
        .header()
        .map_or(0, etcd_client::ResponseHeader::revision)
}

/// A random token that tells one commit from every other.
pub(super) fn new_token() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the clock and pid still separate this process's commits from
    // another's.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (nanos ^ u128::from(std::process::id())).to_be_bytes();
    }
    bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// `text` cut on char boundaries into pieces of at most [`CHUNK`] bytes.
fn chunks(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Puts grouped into transactions of at most [`STAGE_OPS`] puts and about [`CHUNK`] bytes.
fn batches(puts: Vec<Put>) -> Vec<Vec<Put>> {
    let mut batches: Vec<Vec<Put>> = Vec::new();
    let mut size = 0;
    for put in puts {
        let len = put.0.len() + put.1.len();
        match batches.last_mut() {
            Some(batch) if batch.len() < STAGE_OPS && size + len <= CHUNK => {
                size += len;
                batch.push(put);
            }
            _ => {
                size = len;
                batches.push(vec![put]);
            }
        }
    }
    batches
}

pub(super) fn puts_of(puts: Vec<Put>) -> Vec<TxnOp> {
    puts.into_iter()
        .map(|(key, value)| TxnOp::put(key, value, None::<PutOptions>))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_chunks_join_back_and_cut_on_char_boundaries() {
        let text = "é".repeat(CHUNK);
        let pieces = chunks(&text);
        assert!(pieces.len() >= 2);
        assert!(pieces.iter().all(|p| p.len() <= CHUNK));
        assert_eq!(pieces.concat(), text);
        assert!(chunks("").is_empty());
    }

    #[test]
    fn batches_respect_the_operation_and_size_bounds() {
        let puts: Vec<_> = (0..200u32)
            .map(|i| (i.to_be_bytes().to_vec(), vec![0u8; 10_000]))
            .collect();
        let grouped = batches(puts);
        assert!(grouped.iter().all(|b| b.len() <= STAGE_OPS));
        assert!(grouped
            .iter()
            .all(|b| b.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= CHUNK));
        assert_eq!(grouped.iter().map(Vec::len).sum::<usize>(), 200);
    }
}
