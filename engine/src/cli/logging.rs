//! Log setup: tracing to stderr, text or JSON, level from `-v` or `RUST_LOG`. The text
//! format escapes every field value (they carry step names, hosts and host output); the
//! JSON format keeps values exact (JSON escapes control characters itself). Colour only
//! when stderr is a terminal and `NO_COLOR` is not set: a log file or pipe gets plain text.

use std::io::IsTerminal as _;

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
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
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

/// Whether log lines may carry ANSI colour: only on a terminal, and never when `NO_COLOR`
/// is set to anything but the empty string (<https://no-color.org>).
fn colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())));
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
        assert!(!colour(false, Some("1".into())));
    }
}
