//! Log setup: tracing to stderr, text or JSON, level from `-v` or `RUST_LOG`. The text
//! format escapes every field value (they carry step names, hosts and host output); the
//! JSON format keeps values exact (JSON escapes control characters itself).

use tracing_subscriber::field::MakeExt as _;
use tracing_subscriber::fmt::format::debug_fn;
use tracing_subscriber::EnvFilter;

use super::args::LogFormat;
use crate::source::escape;

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
        LogFormat::Text => {
            let escaped = debug_fn(|w, field, value| {
                let text = format!("{value:?}");
                let shown = escape::line(&text);
                match field.name() {
                    "message" => w.write_str(&shown),
                    name => write!(w, "{name}={shown}"),
                }
            })
            .delimited(" ");
            builder.with_target(false).fmt_fields(escaped).try_init()
        }
    };
}
