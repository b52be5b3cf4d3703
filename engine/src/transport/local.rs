//! The local transport: `sh -c` on the controller itself, with the same contract as SSH.

use std::process::Stdio;

use tokio::process::Command;

use super::pipes::{exchange, Keep, Output};
use super::TransportError;

/// Runs `sh -c SCRIPT` here with `stdin` piped in.
///
/// The child gets its own process group, so a Ctrl-C at the terminal (which the executor
/// handles by letting running tasks finish) does not kill it. It is not killed when the
/// returned future is dropped either: like a remote task, it runs to its end and its
/// journal says how it ended.
pub(crate) async fn run(
    script: &str,
    stdin: &[u8],
    keep: Keep<'_>,
) -> Result<Output, TransportError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let (stdout, stderr) = exchange(
        child.stdin.take(),
        stdin,
        child.stdout.take(),
        child.stderr.take(),
        keep,
    )
    .await?;
    let status = child.wait().await?;
    Ok(Output {
        code: status.code(),
        stdout,
        stderr,
    })
}
