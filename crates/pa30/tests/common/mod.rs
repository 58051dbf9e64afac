//! What the PA30 test binaries share: Microsoft's real samples as the tests use them (read at
//! run time, never copied), deterministic noise, and a delta whose stored MD5 is wrong.
#![allow(dead_code)]

use std::path::Path;

use sxs_pa30::{parse_header, Error};
use sxs_testdata::{read, Rng};

/// The seven DCM manifests as (file name, bare PA30 bytes).
pub fn manifests(root: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = root.join("dcm-manifests-26100");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "manifest"))
        .map(|p| {
            let bytes = read(&p);
            assert_eq!(&bytes[..4], b"DCM\x01", "{}", p.display());
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                bytes[4..].to_vec(),
            )
        })
        .collect();
    v.sort();
    assert_eq!(v.len(), 7, "expected 7 DCM manifests in {}", dir.display());
    v
}

pub fn base(root: &Path) -> Vec<u8> {
    let b = read(&root.join("dcm-manifests-26100/base_manifest.bin"));
    assert_eq!(b.len(), 9066);
    b
}

/// Every real RAW sample as (name, bare PA30, source): the seven DCM manifests against the
/// base manifest and the msdelta RAW delta against its source.
pub fn samples(root: &Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let base = base(root);
    let mut v: Vec<_> = manifests(root)
        .into_iter()
        .map(|(n, d)| (n, d, base.clone()))
        .collect();
    let dir = root.join("pa30-raw-msdelta-26100");
    v.push((
        "msdelta".into(),
        read(&dir.join("delta.pa30")),
        read(&dir.join("source.bin")),
    ));
    v
}

/// Deterministic pseudo-random bytes.
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    Rng(seed | 1).bytes(n)
}

/// `delta` with bits `mask` of byte `byte` of its stored MD5 flipped, and the MD5 it stored.
pub fn with_wrong_md5(delta: &[u8], byte: usize, mask: u8) -> (Vec<u8>, Vec<u8>) {
    let stored = parse_header(delta).unwrap().target_hash;
    assert_eq!(stored.len(), 16);
    let at = delta
        .windows(16)
        .position(|w| w == stored.as_slice())
        .expect("hash bytes in the delta");
    let mut bad = delta.to_vec();
    bad[at + byte] ^= mask;
    (bad, stored)
}

/// `r` must be the MD5 mismatch of a delta whose output hashes to `stored` but which says
/// otherwise.
pub fn assert_md5_mismatch<T: std::fmt::Debug>(r: Result<T, Error>, stored: &[u8]) {
    match r {
        Err(Error::HashMismatch {
            algorithm,
            expected,
            actual,
        }) => {
            assert_eq!(algorithm, "MD5");
            assert_eq!(actual, stored);
            assert_ne!(expected, stored);
        }
        other => panic!("{other:?}"),
    }
}
