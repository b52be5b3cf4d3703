//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "quorate",
    version,
    about = "Declarative, resumable, quorum-aware runbooks for replicated clusters"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Where runs are recorded: a directory, or a team store on etcd,
    /// `etcd://HOST:PORT[,HOST:PORT...]/PREFIX` (`etcds://` for TLS).
    #[arg(
        long,
        global = true,
        value_name = "DIR|etcd://...",
        env = "QUORATE_STATE",
        default_value = ".quorate"
    )]
    pub state: PathBuf,
    #[command(flatten)]
    pub etcd: EtcdArgs,
    /// More log output (-v info, -vv debug); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log line format, on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The heading of the etcd options in `--help`: most commands never use them.
const ETCD: &str = "Team store options (--state etcd://...)";

/// How to reach and hold an etcd store (`--state etcd://...`); the password is read from
/// `QUORATE_ETCD_PASSWORD` only, never from the command line.
#[derive(Args, Debug, Clone, Default)]
pub struct EtcdArgs {
    /// How long the cluster lock outlives a controller that stopped renewing it (died, or
    /// cut off from etcd), in seconds; another controller may resume its run after that.
    #[arg(long, global = true, value_name = "SECONDS", env = "QUORATE_LOCK_TTL", help_heading = ETCD,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub lock_ttl: Option<u64>,
    /// The CA certificate (PEM) of the etcd members; connects with TLS.
    #[arg(long, global = true, value_name = "FILE", env = "QUORATE_ETCD_CACERT", help_heading = ETCD)]
    pub etcd_cacert: Option<PathBuf>,
    /// A client certificate (PEM) for etcd, with --etcd-key.
    #[arg(long, global = true, value_name = "FILE", env = "QUORATE_ETCD_CERT", help_heading = ETCD)]
    pub etcd_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, global = true, value_name = "FILE", env = "QUORATE_ETCD_KEY", help_heading = ETCD)]
    pub etcd_key: Option<PathBuf>,
    /// The etcd user; the password comes from `QUORATE_ETCD_PASSWORD`.
    #[arg(long, global = true, value_name = "NAME", env = "QUORATE_ETCD_USER", help_heading = ETCD)]
    pub etcd_user: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check runbooks and inventories: schema, then meaning (ids, needs, cycles, templates).
    Validate(ValidateArgs),
    /// Compile a runbook for an inventory and show the plan.
    Plan(PlanArgs),
    /// Show the task graph (Graphviz dot or Mermaid).
    Graph(GraphArgs),
    /// List built-in and user runbooks.
    List(CatalogArgs),
    /// Show a runbook's description, parameters and steps.
    Describe(DescribeArgs),
    /// Compile a runbook and execute it, recording every step so it can be resumed.
    Run(RunArgs),
    /// Run a saved plan exactly, if today's files and the cluster still give that plan.
    Apply(ApplyArgs),
    /// Show the difference between two saved plans.
    Diff(DiffArgs),
    /// Continue an unfinished run from where it stopped.
    Resume(ResumeArgs),
    /// List recorded runs, newest first.
    Runs(RunsArgs),
    /// Show a run's tasks: host, step, state, attempts, duration.
    Show(ShowArgs),
    /// Show the output of a run's tasks.
    Logs(LogsArgs),
    /// Write a run's report (what happened: timeline per host, failures, approvals) as
    /// HTML or Markdown.
    Report(ReportArgs),
    /// Pass the approval gate a run is waiting at, recording who approved and why.
    Approve(ApproveArgs),
    /// Give up an unfinished run and release its cluster.
    Abandon(RunIdArgs),
    /// Create a demo chain on this machine and run a real rolling upgrade on it (or only set it up).
    Demo(DemoArgs),
    /// Remove, on every host of an inventory, the task journals of runs no longer needed.
    Gc(GcArgs),
    /// Manage run stores: copy runs into a team store on etcd.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per subcommand with --out.
    Man(ManArgs),
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy every run of one store into a team store on etcd (runs already there are
    /// left as they are).
    Migrate(MigrateArgs),
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The store to copy from: a state directory (or an etcd address).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The etcd store to copy into: etcd://HOST:PORT[,HOST:PORT...]/PREFIX.
    #[arg(long, value_name = "etcd://...")]
    pub to: PathBuf,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// The inventory whose hosts are cleaned.
    #[arg(short = 'i', long = "inventory", value_name = "FILE")]
    pub inventory: PathBuf,
    /// List what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write `quorate.1` and one `quorate-COMMAND.1` per subcommand into this directory
    /// (created if missing) instead of printing `quorate.1`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to put the demo chain, its inventory and its run store (recreated).
    #[arg(long, default_value = "quorate-demo")]
    pub dir: PathBuf,
    /// Stop the chain at the end instead of leaving it running to try more commands.
    #[arg(long)]
    pub stop: bool,
    /// Create and start the chain and write its inventory, then stop: no upgrade is run.
    #[arg(long)]
    pub setup_only: bool,
    /// Sealers the chain starts with.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub sealers: u16,
    /// Inventory hosts (group `spare`) ready to become new nodes with `add-node`; nothing runs on them.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=16))]
    pub spares: u16,
    /// The chain's consensus: bft tolerates floor((n-1)/3) sealers down, cft floor((n-1)/2).
    #[arg(long, default_value = "bft", value_parser = ["bft", "cft"])]
    pub consensus: String,
    /// The system to run: `demo` (the demo chain) or `etcd` (a real etcd cluster, needs
    /// the `etcd` and `etcdctl` programs).
    #[arg(long, default_value = "demo", value_parser = ["demo", "etcd"])]
    pub system: String,
    /// etcd members the cluster starts with (`--system etcd`).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    pub members: u16,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Tasks running at once (over all hosts; one per host at a time).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Plain progress lines even on a terminal.
    #[arg(long)]
    pub plain: bool,
    /// How long a rolling batch waits for enough healthy members before the run fails.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub health_timeout: crate::model::Duration,
    /// Start tasks only inside this maintenance window (UTC): `Sat 02:00/4h` weekly,
    /// `02:00/4h` daily, `now+10m/2h` once. Outside it the run pauses (exit 3); a started
    /// rolling batch finishes. Recorded with the run: `resume` keeps it unless given another.
    #[arg(long, value_name = "WINDOW")]
    pub window: Option<String>,
}

/// `--limit`, for `run` and `plan`.
#[derive(Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Run only the tasks of these hosts, or of the hosts of these groups (comma
    /// separated, repeatable). Controller tasks still run; batch sizes and health gates
    /// still count every member.
    #[arg(long, value_name = "HOST,GROUP,...", value_delimiter = ',')]
    pub limit: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub compile: CompileArgs,
    #[command(flatten)]
    pub limit: LimitArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// The run to continue: its id, a unique prefix of it, or `latest`.
    pub run: String,
    /// Run again guard-less tasks that were interrupted and whose outcome is unknown.
    #[arg(long)]
    pub rerun_interrupted: bool,
    /// Declare an interrupted task done after checking it by hand: STEP@HOST (repeatable).
    #[arg(long, value_name = "STEP@HOST")]
    pub mark_done: Vec<String>,
    /// A YAML file of parameter values, for secrets (or use `QUORATE_PARAM_NAME`).
    #[arg(long = "params", value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// The run: its id, a unique prefix of it, or `latest`.
    pub run: String,
    /// Why it is approved (a change ticket, what was checked); recorded with the approval.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Args, Debug)]
pub struct RunIdArgs {
    /// The run: its id, a unique prefix of it, or `latest`.
    pub run: String,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TableFormat {
    #[default]
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct RunsArgs {
    /// Output format; `json` is described by schemas/runs.schema.json.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The run: its id, a unique prefix of it, or `latest`.
    pub run: String,
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The run: its id, a unique prefix of it, or `latest`.
    pub run: String,
    /// Keep printing task output and state changes as the run goes on, until it ends,
    /// pauses or fails; the exit code then says how it ended.
    #[arg(short, long)]
    pub follow: bool,
    /// Output format; `json` prints one JSON object per line, described by
    /// schemas/logs.schema.json.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
    /// Only this host's tasks.
    #[arg(long)]
    pub host: Option<String>,
    /// Only this step's tasks.
    #[arg(long)]
    pub step: Option<String>,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Runbook or inventory files (the kind is told by the top-level keys).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

#[derive(Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CatalogArgs {
    /// A directory of user runbooks; they add to the built-ins and override them by name.
    #[arg(long = "runbooks", value_name = "DIR", env = "QUORATE_RUNBOOKS")]
    pub runbooks: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CompileArgs {
    /// A built-in runbook name, a user runbook name, or a path to a YAML file.
    pub runbook: String,
    /// The inventory file.
    #[arg(short = 'i', long = "inventory", value_name = "FILE")]
    pub inventory: PathBuf,
    /// A parameter value, `name=value` (repeatable). Secrets go in the environment
    /// (`QUORATE_PARAM_NAME`) or a --params file instead.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A YAML file of parameter values (`name: value` lines).
    #[arg(long = "params", value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// Let a rolling batch take more members down than the consensus tolerates.
    #[arg(long)]
    pub allow_quorum_loss: bool,
    /// Let `include:` name files outside the runbook's directory and the --runbooks
    /// directories.
    #[arg(long)]
    #[serde(default)]
    pub allow_include_outside: bool,
    /// The most tasks (steps times hosts) the plan may have.
    #[arg(long, value_name = "N", default_value_t = crate::plan::DEFAULT_MAX_TASKS)]
    #[serde(default = "default_max_tasks")]
    pub max_tasks: usize,
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

fn default_max_tasks() -> usize {
    crate::plan::DEFAULT_MAX_TASKS
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PlanFormat {
    #[default]
    Text,
    Json,
    Markdown,
    Html,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReportFormat {
    #[default]
    Html,
    Markdown,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The run: its id, a unique prefix of it, or `latest`.
    pub run: String,
    /// Output format: one self-contained HTML page, or Markdown.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub compile: CompileArgs,
    #[command(flatten)]
    pub limit: LimitArgs,
    /// Output format; `markdown` and `html` are review artifacts, with an estimated
    /// duration from past runs in the store.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also save the plan to this file, for review and `quorate apply`: versioned JSON
    /// with a digest, the hashes of the files it came from and the cluster fingerprint.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Connect to the hosts read-only and tell, per task, whether it would run, would be
    /// skipped, or cannot be known before a real run (and why).
    #[arg(long)]
    pub probe: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The saved plan (`quorate plan ... --out FILE`).
    pub file: PathBuf,
    /// Run the saved plan although today's files compile to a different plan or the
    /// cluster changed since it was saved; the run records that it was forced and why.
    #[arg(long)]
    pub force: bool,
    /// A parameter value, `name=value`, in place of the one the plan was saved with (a
    /// different value is a different plan, refused without --force). Secrets go in the
    /// environment (`QUORATE_PARAM_NAME`) or a --params file.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A YAML file of parameter values, secrets included, in place of the params file
    /// the plan was saved with.
    #[arg(long = "params", value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The saved plan reviewed before (`quorate plan ... --out FILE`).
    pub old: PathBuf,
    /// The saved plan to compare with it.
    pub new: PathBuf,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// A runbook name or path.
    pub runbook: String,
    #[command(flatten)]
    pub catalog: CatalogArgs,
}
