//! `demo-node cert`: a node's TLS certificate. `issue` makes a new one for the node's
//! existing key from the chain CA (the key is the node id, so it stays), refusing a CA that
//! has expired or expires before the new certificate would; `fingerprint` prints a
//! certificate's SHA-256 fingerprint.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use sha2::{Digest as _, Sha256};

use crate::certs;
use crate::chain::hash::hex;
use crate::clock;
use crate::config::NodeConfig;
use crate::layout::NodeDir;
use crate::node::tls::cert_der;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Issue a new certificate for the node's key (conf/ssl.key) from the chain CA.
    Issue {
        /// The node directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The CA directory (ca.crt, ca.key); a node's chain CA is ../ca.
        #[arg(long)]
        ca: PathBuf,
        /// Days the new certificate is valid from today.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=36500))]
        days: i64,
        /// Where to write it (through a temporary file and a rename).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the SHA-256 fingerprint of a PEM certificate (lower-case hex of its DER).
    Fingerprint { file: PathBuf },
}

pub fn main(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        Command::Issue { dir, ca, days, out } => issue(dir, ca, *days, out),
        Command::Fingerprint { file } => {
            println!("{}", fingerprint(file)?);
            Ok(())
        }
    }
}

fn fingerprint(file: &Path) -> anyhow::Result<String> {
    Ok(hex(&Sha256::digest(cert_der(file)?)))
}

fn issue(dir: &Path, ca: &Path, days: i64, out: &Path) -> anyhow::Result<()> {
    let node = NodeDir::new(dir);
    let name = NodeConfig::load(&node.config())?.name;
    let read =
        |p: PathBuf| fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()));
    let ca_key = read(ca.join("ca.key"))?;
    let node_key = read(node.conf().join("ssl.key"))?;
    let ca_end = not_after(&ca.join("ca.crt"))?;
    let (y, m, d) = clock::date_from_today(days);
    let new_end = rcgen::date_time_ymd(y, m, d).unix_timestamp();
    let now = i64::try_from(clock::now_ms() / 1000).unwrap_or(i64::MAX);
    let date = |t: i64| clock::format_utc(u64::try_from(t).unwrap_or(0) * 1000)[..10].to_owned();
    if ca_end <= now {
        bail!(
            "refused: the chain CA expired on {}; renew the CA first",
            date(ca_end)
        );
    }
    if ca_end < new_end {
        bail!(
            "refused: the chain CA expires on {}, before the new certificate would ({}); renew the CA or ask for fewer days",
            date(ca_end),
            date(new_end)
        );
    }
    let pem = certs::reissue_node(&ca_key, &node_key, &name, days)?;
    let tmp = out.with_file_name(format!(
        ".{}.partial",
        out.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    fs::write(&tmp, pem).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}", fingerprint(out)?);
    Ok(())
}

/// The end of a certificate's validity, in seconds since the epoch.
fn not_after(path: &Path) -> anyhow::Result<i64> {
    let der = cert_der(path)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(cert.validity().not_after.timestamp())
}
