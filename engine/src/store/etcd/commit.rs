//! A group commit on etcd: the changes of one call become one transaction, sent once a
//! run's head is known (cached from this controller's last commit), and acknowledged by a
//! quorum before it returns.

use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, Txn, TxnOp};

use super::writes::{head_value, new_token, puts_of, revision_of, HeadValue, LockRead};
use super::{EtcdStore, Head, Span};
use crate::store::keys::node_number;
use crate::store::prepare::{prepare, Prepared};
use crate::store::{now_ms, Change, Event, RunRecord, StoreError};

/// What one commit writes, before it is sent.
struct Staged {
    seqs: Vec<u64>,
    events: Vec<Event>,
    tasks: BTreeMap<Vec<u8>, Vec<u8>>,
    lock: Option<LockRead>,
    run: Option<Vec<u8>>,
    current: RunRecord,
    next_seq: u64,
}

impl EtcdStore {
    /// Applies `prepared` to what `head` says of run `id`, as sled's transaction does:
    /// task records replaced, events numbered, the cluster lock taken or released.
    fn stage(&self, id: &str, head: &Head, prepared: Vec<Prepared>) -> Result<Staged, StoreError> {
        let at_ms = now_ms();
        let mut staged = Staged {
            seqs: Vec::new(),
            events: Vec::new(),
            tasks: BTreeMap::new(),
            lock: None,
            run: None,
            current: head.run.clone(),
            next_seq: head.next_seq,
        };
        for change in prepared {
            match change {
                Prepared::Run(run, bytes) => {
                    if run.cluster != staged.current.cluster {
                        return Err(StoreError::Invalid(format!(
                            "run {id} belongs to cluster {}, not {}",
                            staged.current.cluster, run.cluster
                        )));
                    }
                    let lock = match &mut staged.lock {
                        Some(lock) => lock,
                        None => staged.lock.insert(self.read_lock(&head.cluster)?),
                    };
                    if !run.status.is_finished() {
                        self.take_lock(lock, &head.cluster, id)?;
                    } else if lock.holder.as_deref() == Some(id) {
                        lock.holder = None;
                        lock.changed = true;
                    }
                    staged.run = Some(bytes);
                    staged.current = run;
                }
                Prepared::Task(node, bytes) => {
                    if !head.nodes.contains(&node) {
                        return Err(StoreError::Invalid(format!(
                            "node {node} is not a task of run {id}"
                        )));
                    }
                    staged
                        .tasks
                        .insert(self.keys.task(id, node_number(node)), bytes);
                }
                Prepared::Event {
                    node,
                    kind,
                    message,
                } => {
                    staged.events.push(Event {
                        seq: staged.next_seq,
                        at_ms,
                        node,
                        kind,
                        message,
                    });
                    staged.seqs.push(staged.next_seq);
                    staged.next_seq += 1;
                }
            }
        }
        Ok(staged)
    }

    pub(super) fn commit_changes(
        &self,
        id: &str,
        changes: Vec<Change>,
    ) -> Result<Vec<u64>, StoreError> {
        let prepared = changes
            .into_iter()
            .map(|change| prepare(id, change))
            .collect::<Result<Vec<_>, _>>()?;
        let head = self.head(id)?;
        let cluster = head.cluster.clone();
        self.claim_cluster(&cluster)?;
        let staged = self.stage(id, &head, prepared)?;
        let token = new_token();
        let mut compares = vec![
            self.still_ours(&cluster)?,
            Compare::mod_revision(self.keys.head(id), CompareOp::Equal, head.revision),
        ];
        let mut ops: Vec<TxnOp> = puts_of(staged.tasks.into_iter().collect());
        ops.extend(puts_of(self.event_batches(id, &staged.events)?));
        if let Some(bytes) = staged.run {
            ops.push(TxnOp::put(self.keys.run(id), bytes, None));
        }
        if let Some(lock) = &staged.lock {
            self.lock_ops(&cluster, lock, &mut compares, &mut ops)?;
        }
        ops.push(TxnOp::put(
            self.keys.head(id),
            head_value(staged.next_seq, &token)?,
            None,
        ));
        let answer = match self.send(Txn::new().when(compares).and_then(ops))? {
            Ok(answer) => answer,
            Err(failure) => {
                self.forget_head(id);
                return Err(self.write_failure(&cluster, failure));
            }
        };
        let revision = if answer.succeeded() {
            revision_of(&answer)
        } else {
            self.forget_head(id);
            self.landed(id, &cluster, &token)?
        };
        self.cache_head(Head {
            revision,
            next_seq: staged.next_seq,
            run: staged.current,
            ..head
        });
        Ok(staged.seqs)
    }

    /// After a refused commit: an earlier attempt of this very commit may have landed (its
    /// answer lost with a member), which the head's token tells; its revision then.
    fn landed(&self, id: &str, cluster: &str, token: &str) -> Result<i64, StoreError> {
        let written = self
            .read(vec![Span::Key(self.keys.head(id))])?
            .pop()
            .and_then(|kvs| kvs.into_iter().next());
        match written {
            Some(kv)
                if serde_json::from_slice::<HeadValue>(kv.value())
                    .is_ok_and(|h| h.token == token) =>
            {
                Ok(kv.mod_revision())
            }
            _ if !self.lease_holds(cluster) => Err(self.not_ours(cluster)),
            _ => Err(StoreError::Db(format!(
                "run {id} was changed by another writer meanwhile; this commit was not recorded"
            ))),
        }
    }
}
