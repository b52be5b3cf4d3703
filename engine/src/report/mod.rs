//! Consumers of execution events: live progress on a terminal, plain lines otherwise,
//! and structured log lines through tracing; and the review artifacts: a plan and a run
//! report as Markdown or self-contained HTML.

pub mod clock;
mod escape;
mod estimate;
mod log;
mod page;
mod plan_review;
mod progress;
mod run_report;
mod svg;

pub use estimate::{estimate, Estimate};
pub use log::LogObserver;
pub use plan_review::{html_plan, markdown_plan};
pub use progress::{Fanout, Progress};
pub use run_report::{html_report, markdown_report, RunFacts, EVENTS_SHOWN, OUTPUT_SHOWN};
pub use svg::MAX_DRAWN_NODES;
