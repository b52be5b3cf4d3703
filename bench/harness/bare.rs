//! The floor: a bare tokio loop over the openssh crate's native multiplexed master, one
//! new channel per command, hosts in parallel, no plan, no store, no journal. Run as a
//! child process of the harness (the harness's own binary, `bare-loop ...`), so it is
//! measured like every other tool.

use std::path::PathBuf;
use std::sync::Arc;

use openssh::{KnownHosts, Session, SessionBuilder};
use tokio::task::JoinSet;

use crate::workload::Target;

/// What the child is told on its command line.
pub struct BareArgs {
    pub config: PathBuf,
    pub control: PathBuf,
    pub dir: PathBuf,
    pub steps: usize,
    pub hosts: Vec<Target>,
}

impl BareArgs {
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec![
            "bare-loop".to_owned(),
            self.config.display().to_string(),
            self.control.display().to_string(),
            self.dir.display().to_string(),
            self.steps.to_string(),
        ];
        a.extend(
            self.hosts
                .iter()
                .map(|h| format!("{}@{}:{}", h.name, h.address, h.port)),
        );
        a
    }

    /// The arguments after `bare-loop`.
    pub fn parse(args: &[String]) -> Self {
        let host = |s: &String| {
            let (name, rest) = s.split_once('@').expect("NAME@ADDRESS:PORT");
            let (address, port) = rest.rsplit_once(':').expect("NAME@ADDRESS:PORT");
            Target {
                name: name.to_owned(),
                address: address.to_owned(),
                port: port.parse().expect("a port"),
            }
        };
        Self {
            config: args[0].clone().into(),
            control: args[1].clone().into(),
            dir: args[2].clone().into(),
            steps: args[3].parse().expect("steps"),
            hosts: args[4..].iter().map(host).collect(),
        }
    }
}

async fn one_host(args: Arc<BareArgs>, host: Target) -> Result<(), String> {
    let session = SessionBuilder::default()
        .known_hosts_check(KnownHosts::Strict)
        .config_file(&args.config)
        .control_directory(&args.control)
        .user("root".to_owned())
        .port(host.port)
        .connect_mux(&host.address)
        .await
        .map_err(|e| format!("{}: connect: {e}", host.name))?;
    let dir = args.dir.display();
    let mut commands = vec![format!("mkdir -p {dir}/{}", host.name)];
    commands.extend((1..=args.steps).map(|k| format!("echo step-{k} >> {dir}/{}/log", host.name)));
    for c in commands {
        let out = Session::raw_command(&session, c)
            .output()
            .await
            .map_err(|e| format!("{}: {e}", host.name))?;
        if !out.status.success() {
            return Err(format!("{}: exit {:?}", host.name, out.status.code()));
        }
    }
    session
        .close()
        .await
        .map_err(|e| format!("{}: close: {e}", host.name))
}

/// Runs the loop; the process exits non-zero on any failure.
pub fn main(args: BareArgs) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let args = Arc::new(args);
    let failures = rt.block_on(async {
        let mut set = JoinSet::new();
        for h in &args.hosts {
            set.spawn(one_host(Arc::clone(&args), h.clone()));
        }
        let mut failures = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Err(e) = r.expect("join") {
                failures.push(e);
            }
        }
        failures
    });
    if !failures.is_empty() {
        eprintln!("bare loop: {} hosts failed: {:?}", failures.len(), failures);
        std::process::exit(1);
    }
}
