//! `quorate completions SHELL` and `quorate man`: the shell completion script and the
//! manual pages, both generated from the argument definitions so they never drift.

use std::io::Write as _;

use clap::CommandFactory as _;

use super::args::{Cli, CompletionsArgs, ManArgs};
use super::exit::{DONE, FAILED};
use super::warn;
use crate::source::Diagnostic;

#[expect(
    clippy::unnecessary_wraps,
    reason = "every subcommand has the same signature"
)]
pub fn completions(args: &CompletionsArgs) -> Result<u8, Vec<Diagnostic>> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "quorate", &mut out);
    // A reader that has gone (`quorate completions bash | head`) is not an error.
    let _ = std::io::stdout().write_all(&out);
    Ok(DONE)
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "every subcommand has the same signature"
)]
pub fn man(args: &ManArgs) -> Result<u8, Vec<Diagnostic>> {
    let command = Cli::command();
    let written = if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| format!("cannot write the manual pages to {}: {e}", dir.display()))
    } else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| format!("cannot render the manual page: {e}"))
            .map(|()| {
                let _ = std::io::stdout().write_all(&page);
            })
    };
    match written {
        Ok(()) => Ok(DONE),
        Err(message) => {
            warn(&[Diagnostic::error(message)]);
            Ok(FAILED)
        }
    }
}
