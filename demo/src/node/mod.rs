//! A running node: consensus, sync, the wire protocol and the loop that ties them together.

pub mod engine;
pub mod links;
pub mod listener;
pub mod mempool;
pub mod message;
pub mod peers;
pub mod rpc;
pub mod runner;
pub mod status;
pub mod tls;
pub mod votes;
