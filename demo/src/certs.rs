//! The chain CA and node certificates (rcgen): the CA signs each node's `ssl.crt`.
//!
//! A node id is the node's public key in hex (64 bytes, as FISCO BCOS writes `node.nodeid`).

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

use crate::chain::hash::hex;
use crate::clock;

const CA_NAME: &str = "demo-node chain CA";
const ORGANIZATION: &str = "demo-node";
const CA_DAYS: i64 = 3650;
const NODE_DAYS: i64 = 365;

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
}

pub struct Pem {
    pub cert: String,
    pub key: String,
}

pub struct NodeCert {
    pub pem: Pem,
    pub node_id: String,
}

/// The CA's parameters; rebuilt the same way to issue later certificates from `ca.key`.
fn ca_params() -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, ORGANIZATION);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, CA_DAYS);
    Ok(params)
}

fn set_validity(params: &mut CertificateParams, days: i64) {
    let (y, m, d) = clock::date_from_today(0);
    params.not_before = date_time_ymd(y, m, d);
    let (y, m, d) = clock::date_from_today(days);
    params.not_after = date_time_ymd(y, m, d);
}

pub fn create_ca() -> Result<Pem, CertError> {
    let key = KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A new key and a certificate for node `name`, signed by the CA whose key is `ca_key_pem`.
pub fn issue_node(ca_key_pem: &str, name: &str) -> Result<NodeCert, CertError> {
    let key = KeyPair::generate()?;
    let cert = sign_node(ca_key_pem, &key, name, NODE_DAYS)?;
    Ok(NodeCert {
        pem: Pem {
            cert,
            key: key.serialize_pem(),
        },
        node_id: node_id_of(&key),
    })
}

/// A new certificate for the node's existing key (`node_key_pem`), valid `days` from
/// today, signed by the CA whose key is `ca_key_pem`. The key, and so the node id, stays.
pub fn reissue_node(
    ca_key_pem: &str,
    node_key_pem: &str,
    name: &str,
    days: i64,
) -> Result<String, CertError> {
    sign_node(ca_key_pem, &KeyPair::from_pem(node_key_pem)?, name, days)
}

/// The PEM certificate of node `name` for `key`: its names, usages (server and client:
/// peer links are TLS both ways) and validity.
fn sign_node(ca_key_pem: &str, key: &KeyPair, name: &str, days: i64) -> Result<String, CertError> {
    let ca_key = KeyPair::from_pem(ca_key_pem)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, ORGANIZATION);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, days);
    Ok(params.signed_by(key, &issuer)?.pem())
}

/// The node id a key gives: its uncompressed P-256 point (0x04 then 64 bytes), those 64
/// bytes in hex.
fn node_id_of(key: &KeyPair) -> String {
    node_id_of_point(key.public_key_raw())
}

/// The node id of an uncompressed P-256 point as a certificate carries it.
pub fn node_id_of_point(raw: &[u8]) -> String {
    hex(raw.strip_prefix(&[4u8]).unwrap_or(raw))
}

/// The node id of the private key in `key_pem` (a node's `ssl.key`).
pub fn node_id_of_key(key_pem: &str) -> Result<String, CertError> {
    Ok(node_id_of(&KeyPair::from_pem(key_pem)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_node_certificates_from_the_ca_key() {
        let ca = create_ca().unwrap();
        assert!(ca.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        let a = issue_node(&ca.key, "node0").unwrap();
        let b = issue_node(&ca.key, "node1").unwrap();
        assert_eq!(a.node_id.len(), 128);
        assert_ne!(a.node_id, b.node_id);
        assert!(a.pem.key.contains("PRIVATE KEY"));
        assert_eq!(node_id_of_key(&a.pem.key).unwrap(), a.node_id);
    }
}
