//! sha256 as lowercase hex: the one implementation every layer uses (the transport's
//! content checks, the run store's plan digest, saved plans). It depends on nothing, so
//! all may use it.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// The lowercase hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// A finished digest (e.g. of a stream hashed as it passed) as lowercase hex.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_is_lower_hex() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
