//! Values are JSON: readable with any tool, and tolerant of added optional fields.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::ConflictableTransactionError;

use super::StoreError;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))
}

/// Decodes a stored value; `what` names it in the error ("task 3 of run X").
pub(crate) fn decode<T: DeserializeOwned>(
    what: impl FnOnce() -> String,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))
}

/// What a transaction closure returns: a store error aborts the transaction.
pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Inside a transaction closure a store error aborts the transaction.
pub(crate) fn aborting<T>(result: Result<T, StoreError>) -> TxResult<T> {
    result.map_err(ConflictableTransactionError::Abort)
}
