//! What can go wrong talking to etcd, which of it is worth another attempt, and how each is
//! told to the operator.

use std::future::Future;
use std::time::{Duration, Instant};

use etcd_client::Error;
use tonic::Code;

use crate::store::StoreError;

/// How long one request may take before it is tried again (on another member).
const ATTEMPT: Duration = Duration::from_secs(2);

/// The pause between two attempts: a member that died is dropped by the client meanwhile,
/// and an election takes about a second.
const BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(super) enum Failure {
    Etcd(Error),
    /// No member answered before the deadline.
    TimedOut,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Etcd(error)
    }
}

/// Whether the request may not have reached a quorum: no leader, a member that went away,
/// a connection that broke. Another attempt may succeed.
pub(super) fn transient(error: &Error) -> bool {
    match error {
        Error::GRpcStatus(status) => matches!(
            status.code(),
            Code::Unavailable | Code::DeadlineExceeded | Code::Unknown | Code::Aborted
        ),
        Error::TransportError(_) | Error::IoError(_) | Error::LeaseKeepAliveError(_) => true,
        _ => false,
    }
}

/// `op` until it succeeds, fails for good, or the deadline passes. Each attempt has at most
/// [`ATTEMPT`]. The caller makes `op` safe to repeat (its writes compare revisions).
pub(super) async fn retrying<T, F, Fut>(deadline: Instant, op: F) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    retrying_until(|| deadline, op).await
}

/// [`retrying`] with a deadline that may move on while it tries (a lease renewed meanwhile).
pub(super) async fn retrying_until<T, F, Fut>(
    deadline: impl Fn() -> Instant,
    mut op: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    loop {
        let deadline = deadline();
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::TimedOut);
        }
        match tokio::time::timeout(ATTEMPT.min(left), op()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) if !transient(&error) => return Err(Failure::Etcd(error)),
            Ok(Err(error)) if Instant::now() + BACKOFF >= deadline => {
                return Err(Failure::Etcd(error))
            }
            Ok(Err(_)) | Err(_) => tokio::time::sleep(BACKOFF).await,
        }
    }
}

/// The store error for a failure at `at` (the store's address).
pub(super) fn store_error(at: &str, failure: Failure) -> StoreError {
    let error = match failure {
        Failure::TimedOut => {
            return StoreError::Unreachable {
                at: at.to_owned(),
                why: "no member answered in time (is a quorum of members up?)".to_owned(),
            }
        }
        Failure::Etcd(error) => error,
    };
    let said = match &error {
        Error::GRpcStatus(status) => status.message().to_owned(),
        other => other.to_string(),
    };
    if said.contains("too many operations in txn request") {
        return StoreError::Invalid(format!(
            "etcd at {at} refused a commit of more operations than its --max-txn-ops allows \
             ({said}): start its members with a larger --max-txn-ops"
        ));
    }
    if said.contains("request is too large") {
        return StoreError::Invalid(format!(
            "etcd at {at} refused a commit larger than its --max-request-bytes allows \
             ({said}): start its members with a larger --max-request-bytes"
        ));
    }
    match &error {
        Error::GRpcStatus(status)
            if matches!(
                status.code(),
                Code::Unauthenticated | Code::PermissionDenied
            ) =>
        {
            StoreError::Db(format!(
                "etcd at {at} refused the request ({said}): check --etcd-user, \
                 QUORATE_ETCD_PASSWORD and the user's role"
            ))
        }
        e if transient(e) => StoreError::Unreachable {
            at: at.to_owned(),
            why: said,
        },
        _ => StoreError::Db(format!("etcd at {at}: {said}")),
    }
}
