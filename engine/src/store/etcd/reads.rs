//! The read side of the etcd store: every method reads in one transaction, so it sees
//! whole commits only.

use etcd_client::KeyValue;

use super::keys::range_end;
use super::lease::Holder;
use super::{EtcdStore, Span};
use crate::store::codec::decode;
use crate::store::keys::node_number;
use crate::store::{Event, RunReader, RunRecord, StoreError, TaskRecord};

impl EtcdStore {
    /// Reads run `id`'s record together with the keys under `more` (a prefix), at one
    /// revision; `NoRun` if there is no such run.
    fn run_with(&self, id: &str, more: Span) -> Result<(RunRecord, Vec<KeyValue>), StoreError> {
        let mut answers = self.read(vec![Span::Key(self.keys.run(id)), more])?;
        let extra = answers.pop().unwrap_or_default();
        let run = answers
            .pop()
            .and_then(|kvs| kvs.into_iter().next())
            .ok_or_else(|| StoreError::NoRun(id.to_owned()))?;
        Ok((Self::decode_run(&run)?, extra))
    }

    /// The frozen plan of run `id`, put back together from its chunks.
    pub(super) fn read_plan(&self, id: &str) -> Result<Option<String>, StoreError> {
        let chunks = self
            .read(vec![Span::Prefix(self.keys.plan_chunks(id))])?
            .pop()
            .unwrap_or_default();
        if chunks.is_empty() {
            return Ok(None);
        }
        let mut plan = Vec::new();
        for chunk in &chunks {
            plan.extend_from_slice(chunk.value());
        }
        String::from_utf8(plan)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("plan of run {id}: {e}")))
    }

    /// Who holds `cluster`'s controller key, if anyone, and with which lease.
    pub(super) fn controller_of(&self, cluster: &str) -> Result<Option<(i64, Holder)>, StoreError> {
        let kv = self
            .read(vec![Span::Key(self.keys.controller(cluster))])?
            .pop()
            .and_then(|kvs| kvs.into_iter().next());
        Ok(kv.map(|kv| {
            let holder = serde_json::from_slice(kv.value()).unwrap_or(Holder {
                controller: "a controller whose key cannot be read".to_owned(),
                since_ms: 0,
            });
            (kv.lease(), holder)
        }))
    }

    pub(super) fn read_lock_holder(&self, cluster: &str) -> Result<Option<String>, StoreError> {
        self.read(vec![Span::Key(self.keys.lock(cluster))])?
            .pop()
            .and_then(|kvs| kvs.into_iter().next())
            .map(|kv| decode(|| format!("lock of cluster {cluster}"), kv.value()))
            .transpose()
    }
}

impl RunReader for EtcdStore {
    fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let kvs = self
            .read(vec![Span::Prefix(self.keys.runs())])?
            .pop()
            .unwrap_or_default();
        let mut runs = kvs
            .iter()
            .map(Self::decode_run)
            .collect::<Result<Vec<_>, _>>()?;
        runs.sort_by(|a, b| (b.created_ms, &b.id).cmp(&(a.created_ms, &a.id)));
        Ok(runs)
    }

    fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.read(vec![Span::Key(self.keys.run(id))])?
            .pop()
            .and_then(|kvs| kvs.into_iter().next())
            .map(|kv| Self::decode_run(&kv))
            .transpose()
    }

    fn tasks(&self, id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let (_, kvs) = self.run_with(id, Span::Prefix(self.keys.tasks(id)))?;
        kvs.iter()
            .map(|kv| decode(|| format!("a task of run {id}"), kv.value()))
            .collect()
    }

    fn task(&self, id: &str, node: usize) -> Result<Option<TaskRecord>, StoreError> {
        let (_, kvs) = self.run_with(id, Span::Key(self.keys.task(id, node_number(node))))?;
        kvs.into_iter()
            .next()
            .map(|kv| decode(|| format!("task {node} of run {id}"), kv.value()))
            .transpose()
    }

    fn events_after(&self, id: &str, after: u64) -> Result<Vec<Event>, StoreError> {
        // Batches are keyed by their last event: those after `after` end after it.
        let from = self.keys.events_batch(id, after.saturating_add(1));
        let end = range_end(&self.keys.events(id));
        let (_, kvs) = self.run_with(id, Span::Range(from, end))?;
        let mut events = Vec::new();
        for kv in kvs {
            let batch: Vec<Event> = decode(|| format!("events of run {id}"), kv.value())?;
            events.extend(batch.into_iter().filter(|e| e.seq > after));
        }
        Ok(events)
    }

    fn driven_elsewhere(&self, id: &str) -> Result<bool, StoreError> {
        let Some(run) = self.run(id)? else {
            return Err(StoreError::NoRun(id.to_owned()));
        };
        let ours = self.hold.as_ref().map(|h| h.id);
        Ok(self
            .controller_of(&run.cluster)?
            .is_some_and(|(lease, _)| Some(lease) != ours))
    }
}
