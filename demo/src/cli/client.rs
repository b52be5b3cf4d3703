//! Talking to a running node: one request, one response, over the node's own port.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use crate::config::NodeConfig;
use crate::layout::NodeDir;
use crate::node::message::{read_line, to_line, Opening, Request, Response};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(6);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens there: the node is not running.
    #[error("the node at {addr} is not running ({reason})")]
    NotRunning { addr: String, reason: String },
    #[error("the node at {addr} answered badly: {reason}")]
    Protocol { addr: String, reason: String },
    #[error("cannot read the node's config.ini: {0}")]
    Config(#[from] crate::config::ConfigError),
}

/// The listen address from a node directory's config.ini.
pub fn node_addr(dir: &Path) -> Result<String, ClientError> {
    Ok(NodeConfig::load(&NodeDir::new(dir).config())?.listen_addr())
}

pub fn request(addr: &str, req: Request) -> Result<Response, ClientError> {
    let not_running = |reason: String| ClientError::NotRunning {
        addr: addr.to_string(),
        reason,
    };
    let protocol = |reason: String| ClientError::Protocol {
        addr: addr.to_string(),
        reason,
    };
    let target: SocketAddr = addr
        .to_socket_addrs()
        .map_err(|e| not_running(e.to_string()))?
        .next()
        .ok_or_else(|| not_running("no address".into()))?;
    let mut stream = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)
        .map_err(|e| not_running(e.to_string()))?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|e| protocol(e.to_string()))?;
    stream
        .write_all(to_line(&Opening::Request(req)).as_bytes())
        .map_err(|e| not_running(e.to_string()))?;
    let mut reader = BufReader::new(stream);
    let line = read_line(&mut reader)
        .map_err(|e| protocol(e.to_string()))?
        .ok_or_else(|| protocol("closed without an answer".into()))?;
    serde_json::from_slice(&line).map_err(|e| protocol(e.to_string()))
}
