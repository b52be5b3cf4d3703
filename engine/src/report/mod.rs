//! Consumers of execution events: live progress on a terminal, plain lines otherwise,
//! and structured log lines through tracing.

pub mod clock;
mod log;
mod progress;

pub use log::LogObserver;
pub use progress::{Fanout, Progress};
