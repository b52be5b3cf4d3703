//! The chain: blocks and transactions, the state they build, and the ledger file that holds them.

pub mod block;
pub mod checkpoint;
pub mod genesis;
pub mod hash;
pub mod ledger;
pub mod state;
pub mod tx;
