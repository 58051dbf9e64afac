//! Streaming digests of payloads: SHA-256 for component manifests, SHA-1 for legacy Win32
//! assemblies. `sha2`/`sha1` 0.11 detect SHA-NI at run time and match OpenSSL's speed for one
//! stream; SHA-256 goes through [`sxs_sha256x`], which hashes one stream with `sha2`'s block
//! function and lets the audit interleave several payloads' streams on one core
//! ([`Hashers::sha256_stream`]).

use sha1::Digest as _;

use crate::format::digest::Algorithm;

/// A finished digest kept inline (SHA-256's 32 bytes at most): hashing a payload allocates
/// nothing, which counts at 80,000 payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    len: u8,
    bytes: [u8; 32],
}

impl Digest {
    fn new(value: &[u8]) -> Digest {
        let mut bytes = [0; 32];
        bytes[..value.len()].copy_from_slice(value);
        Digest {
            len: value.len() as u8,
            bytes,
        }
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// One content hashed with each of the algorithms asked for, at once.
pub struct Hashers {
    sha256: Option<sxs_sha256x::Sha256>,
    sha1: Option<sha1::Sha1>,
}

/// What [`Hashers`] gave: a digest for each algorithm asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Values {
    sha256: Option<Digest>,
    sha1: Option<Digest>,
}

impl Hashers {
    /// Fresh digests of `algorithms` (each counted once, whatever its repeats).
    pub fn new(algorithms: &[Algorithm]) -> Hashers {
        Hashers {
            sha256: algorithms
                .contains(&Algorithm::Sha256)
                .then(sxs_sha256x::Sha256::new),
            sha1: algorithms.contains(&Algorithm::Sha1).then(sha1::Sha1::new),
        }
    }

    /// Feed bytes to each.
    pub fn update(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        self.update_others(data);
    }

    /// The SHA-256 stream, for a caller that feeds it together with other payloads' streams
    /// ([`sxs_sha256x::update_together`]) and gives every other digest the same bytes with
    /// [`Hashers::update_others`].
    pub fn sha256_stream(&mut self) -> Option<&mut sxs_sha256x::Sha256> {
        self.sha256.as_mut()
    }

    /// Feed bytes to each digest but SHA-256 ([`Hashers::sha256_stream`]).
    pub fn update_others(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
    }

    /// The digests.
    pub fn finish(self) -> Values {
        Values {
            sha256: self.sha256.map(|h| Digest::new(&h.finalize())),
            sha1: self.sha1.map(|h| Digest::new(&h.finalize())),
        }
    }
}

impl Values {
    /// The digest with `algorithm`, when it was asked for.
    pub fn get(&self, algorithm: Algorithm) -> Option<&[u8]> {
        match algorithm {
            Algorithm::Sha256 => self.sha256.as_ref(),
            Algorithm::Sha1 => self.sha1.as_ref(),
        }
        .map(Digest::as_bytes)
    }
}

/// The digest of a buffer.
pub fn digest(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    let mut h = Hashers::new(&[algorithm]);
    h.update(data);
    h.finish().get(algorithm).unwrap_or_default().to_vec()
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
    }

    #[test]
    fn hashers_give_each_algorithm_asked_for() {
        let mut h = Hashers::new(&[Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha1]);
        h.update(b"a");
        h.update(b"bc");
        let v = h.finish();
        assert_eq!(
            v.get(Algorithm::Sha256),
            Some(&digest(Algorithm::Sha256, b"abc")[..])
        );
        assert_eq!(
            v.get(Algorithm::Sha1),
            Some(&digest(Algorithm::Sha1, b"abc")[..])
        );
        let mut h = Hashers::new(&[Algorithm::Sha1]);
        h.update(b"abc");
        let v = h.finish();
        assert_eq!(
            v.get(Algorithm::Sha1),
            Some(&digest(Algorithm::Sha1, b"abc")[..])
        );
        assert_eq!(v.get(Algorithm::Sha256), None);
    }
}
