//! `config.ini` of a node: its name, listen address, the peers it dials and the consensus type.

use std::collections::HashMap;
use std::fmt::Write;
use std::fs;
use std::path::Path;

use crate::chain::genesis::ConsensusKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub name: String,
    pub listen_ip: String,
    pub listen_port: u16,
    /// `host:port` of the nodes this one dials; others are learned when they dial in.
    pub peers: Vec<String>,
    /// Informational: genesis.json decides, and a node refuses to start if they differ.
    pub consensus: ConsensusKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `[section]` or `key=value`, found `{text}`")]
    Syntax {
        path: String,
        line: usize,
        text: String,
    },
    #[error("{path}: missing `{key}`")]
    Missing { path: String, key: String },
    #[error("{path}: `{key}={value}`: {reason}")]
    Invalid {
        path: String,
        key: String,
        value: String,
        reason: String,
    },
}

impl NodeConfig {
    pub fn listen_addr(&self) -> String {
        format!("{}:{}", self.listen_ip, self.listen_port)
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "; demo-node configuration, laid out like a FISCO BCOS Air node's config.ini"
        );
        let _ = writeln!(s, "[node]\n    name={}\n", self.name);
        let _ = writeln!(
            s,
            "[p2p]\n    listen_ip={}\n    listen_port={}",
            self.listen_ip, self.listen_port
        );
        let _ = writeln!(s, "    ; the nodes this one dials (host:port, comma-separated); nodes that dial in are learned");
        let _ = writeln!(s, "    nodes={}\n", self.peers.join(","));
        let _ = writeln!(
            s,
            "[consensus]\n    ; bft or cft; genesis.json decides and must agree"
        );
        let _ = writeln!(s, "    type={}", self.consensus);
        s
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let mut values = HashMap::new();
        let mut section = String::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_string();
            } else if let Some((key, value)) = line.split_once('=') {
                values.insert(
                    format!("{section}.{}", key.trim()),
                    value.trim().to_string(),
                );
            } else {
                return Err(ConfigError::Syntax {
                    path: path.to_string(),
                    line: index + 1,
                    text: raw.to_string(),
                });
            }
        }
        let get = |key: &str| {
            values
                .get(key)
                .cloned()
                .ok_or_else(|| ConfigError::Missing {
                    path: path.to_string(),
                    key: key.to_string(),
                })
        };
        let invalid = |key: &str, value: &str, reason: String| ConfigError::Invalid {
            path: path.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            reason,
        };
        let port_text = get("p2p.listen_port")?;
        let listen_port = port_text
            .parse()
            .map_err(|e| invalid("p2p.listen_port", &port_text, format!("{e}")))?;
        let kind_text = get("consensus.type")?;
        let consensus = kind_text
            .parse()
            .map_err(|e| invalid("consensus.type", &kind_text, e))?;
        let peers = values
            .get("p2p.nodes")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            name: get("node.name")?,
            listen_ip: get("p2p.listen_ip")?,
            listen_port,
            peers,
            consensus,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_back() {
        let config = NodeConfig {
            name: "node2".into(),
            listen_ip: "127.0.0.1".into(),
            listen_port: 30302,
            peers: vec!["127.0.0.1:30300".into(), "127.0.0.1:30301".into()],
            consensus: ConsensusKind::Cft,
        };
        assert_eq!(NodeConfig::parse(&config.render(), "c").unwrap(), config);
        let err = NodeConfig::parse("[p2p]\nlisten_port\n", "c").unwrap_err();
        assert_eq!(
            err.to_string(),
            "c:2: expected `[section]` or `key=value`, found `listen_port`"
        );
    }
}
