//! The run store: runs, task states, attempts and the event log, durable on disk (sled).
