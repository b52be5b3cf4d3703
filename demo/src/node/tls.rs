//! TLS on peer links (rustls): the chain CA (`conf/ca.crt`) is the only root, and both ends
//! present the certificate it issued them (`conf/ssl.crt`, `conf/ssl.key`), so a node whose
//! certificate another CA signed, or that has expired, gets no link. The peer's node id is
//! its certificate's key, so a link's `Hello` cannot claim another node's id.

use std::fs;
use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection, StreamOwned,
};

use crate::certs;
use crate::layout::NodeDir;

/// A peer link this node dialed: it only writes.
pub type OutLink = StreamOwned<ClientConnection, TcpStream>;
/// A peer link that dialed this node: it only reads.
pub type InLink = StreamOwned<ServerConnection, TcpStream>;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the TLS configuration is refused: {0}")]
    Config(String),
}

/// Both sides' configuration, made once at start.
#[derive(Clone)]
pub struct PeerTls {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

fn read_err(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::Read {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn config_err(e: impl std::fmt::Display) -> TlsError {
    TlsError::Config(e.to_string())
}

impl PeerTls {
    /// Reads the node's CA, certificate and key from `conf/`.
    pub fn load(node: &NodeDir) -> Result<Self, TlsError> {
        let conf = node.conf();
        let (ca, crt, key) = (
            conf.join("ca.crt"),
            conf.join("ssl.crt"),
            conf.join("ssl.key"),
        );
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&ca).map_err(|e| read_err(&ca, e))? {
            roots
                .add(cert.map_err(|e| read_err(&ca, e))?)
                .map_err(|e| read_err(&ca, e))?;
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&crt)
            .map_err(|e| read_err(&crt, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| read_err(&crt, e))?;
        let private = PrivateKeyDer::from_pem_file(&key).map_err(|e| read_err(&key, e))?;
        let provider = Arc::new(provider());
        let roots = Arc::new(roots);
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .build()
                .map_err(config_err)?;
        let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(config_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), private.clone_key())
            .map_err(config_err)?;
        // Links are one-way: the dialing side never reads, so it gets no session tickets.
        server.send_tls13_tickets = 0;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(config_err)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, private)
            .map_err(config_err)?;
        Ok(Self {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }

    /// Completes the handshake of a link that dialed in; returns it and the node id its
    /// certificate names.
    pub fn accept(&self, mut tcp: TcpStream) -> io::Result<(InLink, String)> {
        let mut conn = ServerConnection::new(Arc::clone(&self.server)).map_err(io::Error::other)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        let id = peer_node_id(conn.peer_certificates())?;
        Ok((StreamOwned::new(conn, tcp), id))
    }

    /// Completes the handshake of a link to `host` (the address dialed, checked against
    /// the certificate's names).
    pub fn connect(&self, host: &str, mut tcp: TcpStream) -> io::Result<OutLink> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut conn =
            ClientConnection::new(Arc::clone(&self.client), name).map_err(io::Error::other)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)?;
        }
        Ok(StreamOwned::new(conn, tcp))
    }
}

/// ring: the provider rcgen already uses here.
fn provider() -> CryptoProvider {
    ring::default_provider()
}

/// The node id of the first certificate a peer presented (its public key).
fn peer_node_id(certs: Option<&[CertificateDer<'_>]>) -> io::Result<String> {
    let first = certs
        .and_then(<[_]>::first)
        .ok_or_else(|| io::Error::other("the peer presented no certificate"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(first.as_ref())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok(certs::node_id_of_point(
        &cert.public_key().subject_public_key.data,
    ))
}

/// Reads a PEM certificate file's DER (for fingerprints and dates).
pub fn cert_der(path: &Path) -> Result<Vec<u8>, TlsError> {
    let text = fs::read(path).map_err(|e| read_err(path, e))?;
    let der = CertificateDer::from_pem_slice(&text).map_err(|e| read_err(path, e))?;
    Ok(der.as_ref().to_vec())
}
