//! Reading a run while its controller drives it: the controller holds the store (one
//! process at a time), so it answers reads on a Unix socket in the state directory, from
//! the same store handle. Readers that find the store busy ask the socket instead.

mod client;
mod protocol;
mod server;

pub use client::LiveClient;
pub use protocol::PROTOCOL_VERSION;
pub use server::{serve_readers, LiveServer, ServeError};

/// Name of the socket inside the state directory.
pub(crate) const SOCKET_FILE: &str = "live.sock";

/// Removes the socket a killed controller left in `dir`, if any. Only for a caller that
/// holds the store's process lock; a failure is harmless (readers ignore a dead socket).
pub(crate) fn remove_stale_socket(dir: &std::path::Path) {
    let _ = server::remove_stale(&dir.join(SOCKET_FILE));
}

#[cfg(test)]
mod tests;
