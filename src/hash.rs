//! Streaming digests of payloads: SHA-256 for component manifests, SHA-1 for legacy Win32
//! assemblies. `sha2`/`sha1` 0.11 detect SHA-NI at run time and match OpenSSL's speed.

use sha1::Digest as _;

use crate::format::digest::Algorithm;

/// A running digest of one of the algorithms manifests use.
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-1.
    Sha1(sha1::Sha1),
}

impl Hasher {
    /// A fresh digest.
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
        }
    }

    /// Feed bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
        }
    }
}

/// The digest of a buffer.
pub fn digest(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(algorithm);
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::digest::to_hex;

    #[test]
    fn known_vectors() {
        assert_eq!(
            to_hex(&digest(Algorithm::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            to_hex(&digest(Algorithm::Sha1, b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), digest(Algorithm::Sha256, b"abc"));
    }
}
