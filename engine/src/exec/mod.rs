//! Executing a plan: the dispatcher, one task attempt, retries, batch gates, settling
//! interrupted tasks on resume, and the events they emit; reading a cluster read-only
//! (the fingerprint of a saved plan, `plan --probe`).

mod approval;
mod attempt;
mod cleanup;
mod context;
mod dispatcher;
mod events;
mod fingerprint;
mod gate;
mod hosts;
mod join;
mod mask;
mod probe;
mod retry;
mod rollback;
mod run;
mod scrub;
mod settle;
mod window;

pub use approval::{approvals, approve, started_by, Approval, ApproveError};
pub use attempt::{check_expect, journal_key, Outcome};
pub use cleanup::{
    collect_garbage, inventory_hosts, list_journals, plan_hosts, remove_run_journals, HostGc,
    Unreached,
};
pub use context::{fill_secrets, render_env, Results};
pub use dispatcher::{final_status, state_name, status_name, Dispatcher, ExecOptions, RunOutcome};
pub use events::{EventKind, ExecEvent, Observer, Silent};
pub use fingerprint::{compare_fingerprints, take_fingerprint, FingerprintCheck};
pub use hosts::{connection_ssh_settings, host_spec, ssh_settings, UnknownHost};
pub use mask::{SecretMask, MASK, MIN_MASKED_LEN};
pub use probe::{probe, GateProbe, Probe, TaskProbe, Verdict, PROBE_RUN_ID};
pub use rollback::{is_rollback, rollback_records, ROLLED_BACK};
pub use run::{create_run, drive_run, frozen_plan, plan_digest, read_plan, Drive, DriveError};
pub use scrub::{scrub_after_commit, secret_bearing, Scrub};
pub use settle::{settle, InDoubt, SettleOptions, Settled};
pub use window::{Window, WindowError};
