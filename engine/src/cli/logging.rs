//! Log setup: tracing to stderr, text or JSON, level from `-v` or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

use super::args::LogFormat;

pub fn init(verbose: u8, format: LogFormat) {
    let default = match (verbose, format) {
        (0, LogFormat::Text) => "warn",
        (0 | 1, _) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("quorate={default},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}
