//! The `quorate` command line: a thin layer that reads files and the environment, calls
//! the library, prints, and picks the exit code.

/// `println!` that does not panic when the reader has gone (`quorate show RUN | head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that does not panic when the reader has gone.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// The value of a store call, or (for a command returning `Result<u8, _>`) the store
/// error reported with its state directory and the command ended with its exit code.
macro_rules! or_store_failure {
    ($state:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(error) => {
                return Ok($crate::cli::store_failure::report_store_failure(
                    &$state, &error,
                ))
            }
        }
    };
}

mod apply;
mod args;
mod completions;
mod demo;
mod demo_etcd;
mod demo_etcd_files;
mod demo_inventory;
mod diff;
mod execute;
mod exit;
mod follow;
mod gc;
mod history;
mod inputs;
mod list;
mod log_output;
mod logging;
mod plan;
mod probe;
mod prompt;
mod review;
mod run_ref;
mod saved;
mod sources;
mod store_failure;
mod store_migrate;
mod validate;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

pub use args::{Cli, Command};
pub use exit::{BAD_INPUT, DONE, FAILED, LOCKED, PAUSED, UNUSABLE_STATE};

use crate::source::{render_all, Diagnostic};

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(run(&cli))
}

pub fn run(cli: &Cli) -> u8 {
    logging::init(cli.verbose, cli.log_format);
    let result = match &cli.command {
        Command::Demo(a) => demo::run(cli, a),
        Command::Run(a) => execute::run(cli, a),
        Command::Apply(a) => apply::run(cli, a),
        Command::Diff(a) => diff::run(a),
        Command::Resume(a) => execute::resume(cli, a),
        Command::Approve(a) => execute::approve(cli, a),
        Command::Abandon(a) => execute::abandon(cli, a),
        Command::Runs(a) => history::runs(cli, a),
        Command::Show(a) => history::show(cli, a),
        Command::Logs(a) => history::logs(cli, a),
        Command::Report(a) => history::report(cli, a),
        Command::Validate(a) => validate::run(a),
        Command::Plan(a) => plan::run_plan(a, cli),
        Command::Graph(a) => plan::run_graph(a),
        Command::List(a) => list::run_list(a),
        Command::Describe(a) => list::run_describe(a),
        Command::Gc(a) => gc::run(cli, a),
        Command::Store(args::StoreCommand::Migrate(a)) => store_migrate::run(cli, a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    };
    match result {
        Ok(code) => code,
        Err(diagnostics) => {
            report(&diagnostics);
            BAD_INPUT
        }
    }
}

impl Cli {
    /// The etcd options of the command line, with the password from the environment.
    pub(crate) fn etcd_options(&self) -> crate::store::EtcdOptions {
        crate::store::EtcdOptions {
            ca_cert: self.etcd.etcd_cacert.clone(),
            cert: self.etcd.etcd_cert.clone(),
            key: self.etcd.etcd_key.clone(),
            user: self.etcd.etcd_user.clone(),
            password: std::env::var("QUORATE_ETCD_PASSWORD").ok(),
            lock_ttl: self.etcd.lock_ttl.map(std::time::Duration::from_secs),
        }
    }
}

/// Prints diagnostics to stderr.
pub(crate) fn report(diagnostics: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(render_all(diagnostics).as_bytes());
}

/// Prints warnings (diagnostics that do not stop the command) to stderr.
pub(crate) fn warn(diagnostics: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in diagnostics {
        let _ = err.write_all(d.render().as_bytes());
    }
}
