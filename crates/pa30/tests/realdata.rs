//! Proves the decoder on Microsoft's real PA30 samples (read at run time from the shared
//! realdata folder, never copied into the repository) and checks that hostile variants of
//! them (prefixes, bit flips, lying lengths) end in an error or some output, never a panic.

use std::io::Read;

use sxs_testdata::{read, realdata, Rng};

use sxs_pa30::{decode, parse_header, Error, Limits};

mod common;
use common::{base, manifests, samples};

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn dcm_manifests_decode_against_the_base_manifest() {
    let Some(root) = realdata() else { return };
    let base = base(&root);
    let dir = root.join("dcm-manifests-26100");
    let mut wow64 = Vec::new();
    flate2::read::GzDecoder::new(&read(&dir.join("wow64_golden.xml.gz"))[..])
        .read_to_end(&mut wow64)
        .unwrap();
    let core =
        read(&dir.join("amd64_microsoft-windows-core_10.0.26100.1.decoded.reconstructed-CRLF.xml"));
    let mut seen_wow64 = false;
    let mut seen_core = false;
    for (name, delta) in manifests(&root) {
        let h = parse_header(&delta).unwrap();
        assert_eq!(
            (h.file_type_set, h.file_type, h.flags),
            (1, 1, 0x20000),
            "{name}"
        );
        assert_eq!(h.hash_alg_id, 0, "{name}");
        assert_eq!(h.target_file_time, 0x019D_B1DE_D5D7_1680, "{name}");
        let out =
            decode(&delta, &base, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.len() as u64, h.target_size, "{name}");
        assert!(out.starts_with(b"<?xml"), "{name}");
        assert!(contains(&out, b"<assembly"), "{name}");
        if name.starts_with("wow64_") {
            assert!(out == wow64, "{name}: differs from wow64_golden.xml");
            seen_wow64 = true;
        }
        if name.starts_with("amd64_microsoft-windows-core_") {
            assert!(
                out == core,
                "{name}: differs from the reconstructed core XML"
            );
            seen_core = true;
        }
    }
    assert!(seen_wow64 && seen_core);
}

#[test]
fn dcm_without_the_base_does_not_decode() {
    let Some(root) = realdata() else { return };
    for (name, delta) in manifests(&root) {
        let r = decode(&delta, &[], &Limits::default());
        assert!(r.is_err(), "{name} decoded with an empty source");
    }
}

#[test]
fn msdelta_raw_delta_reproduces_target() {
    let Some(root) = realdata() else { return };
    let dir = root.join("pa30-raw-msdelta-26100");
    let delta = read(&dir.join("delta.pa30"));
    let source = read(&dir.join("source.bin"));
    let target = read(&dir.join("target.bin"));
    let h = parse_header(&delta).unwrap();
    assert_eq!((h.file_type, h.flags, h.target_size), (1, 0, 65_536));
    let out = decode(&delta, &source, &Limits::default()).unwrap();
    assert!(out == target, "output differs from target.bin");
}

#[test]
fn target_size_limit_is_enforced() {
    let Some(root) = realdata() else { return };
    let dir = root.join("pa30-raw-msdelta-26100");
    let delta = read(&dir.join("delta.pa30"));
    let source = read(&dir.join("source.bin"));
    let r = decode(
        &delta,
        &source,
        &Limits {
            max_target_size: 65_535,
        },
    );
    assert!(
        matches!(
            r,
            Err(Error::LimitExceeded {
                what: "target size",
                value: 65_536,
                limit: 65_535
            })
        ),
        "{r:?}"
    );
}

#[test]
fn pe_deltas_are_unsupported_naming_the_file_type() {
    let Some(root) = realdata() else { return };
    let dir = root.join("pa30-pe-deltas-26100");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let d = e.unwrap().path();
        let delta = read(&d.join("delta.pa30"));
        let base = read(&d.join("base.bin"));
        let h = parse_header(&delta).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        assert_ne!(h.file_type, 1);
        match decode(&delta, &base, &Limits::default()) {
            Err(Error::Unsupported(m)) => {
                assert!(m.starts_with("FileType "), "{m}");
                assert!(m.contains(&format!("{:#x}", h.file_type)), "{m}");
            }
            other => panic!("{}: {other:?}", d.display()),
        }
        n += 1;
    }
    assert!(n >= 4);
}

#[test]
fn pa19_patches_are_unsupported() {
    let Some(root) = realdata() else { return };
    let dir = root.join("pa19-reactos-mspatcha-tests");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pa19") {
            let r = decode(&read(&p), &[], &Limits::default());
            assert!(
                matches!(&r, Err(Error::Unsupported(m)) if m.starts_with("PA19")),
                "{r:?}"
            );
            n += 1;
        }
    }
    assert_eq!(n, 3);
}

/// Tests run in debug builds; keep hostile targets small so each decode is quick.
fn small_limits() -> Limits {
    Limits {
        max_target_size: 8 << 20,
    }
}

#[test]
fn every_prefix_of_every_sample_is_an_error() {
    let Some(root) = realdata() else { return };
    for (name, delta, source) in samples(&root) {
        // Cheap: the patch buffer's declared length fails first, so this is linear work.
        for n in 0..delta.len() {
            let r = decode(&delta[..n], &source, &small_limits());
            assert!(r.is_err(), "{name}: prefix of {n} bytes decoded");
        }
    }
}

/// Test-local LSB-first reader, to locate the patch-buffer length field.
struct Bits<'a>(&'a [u8], usize);
impl Bits<'_> {
    fn bit(&mut self) -> usize {
        let b = (self.0[12 + self.1 / 8] >> (self.1 % 8)) & 1;
        self.1 += 1;
        b as usize
    }
    fn int(&mut self) -> (usize, u32, usize) {
        let start = self.1;
        let mut k = 0;
        while self.bit() == 0 {
            k += 1;
        }
        let mut v = 0;
        for i in 0..4 * (k + 1) {
            v |= self.bit() << i;
        }
        (start, k as u32, v)
    }
    fn skip_buffer(&mut self) {
        let (_, _, n) = self.int();
        self.1 = self.1.div_ceil(8) * 8 + n * 8;
    }
}

/// Rewrites a delta's patch-buffer length to `cut` bytes (same integer width) and drops
/// the rest, so the decoder runs out of bits inside the patch stream instead of failing
/// at the buffer check.
fn with_short_patch(delta: &[u8], cut: usize) -> Vec<u8> {
    let mut r = Bits(delta, 3);
    for _ in 0..5 {
        r.int();
    }
    r.skip_buffer();
    r.skip_buffer();
    let (start, k, len) = r.int();
    let cut = cut.min(len);
    let data_start = 12 + r.1.div_ceil(8);
    assert_eq!(data_start + len, delta.len());
    let mut d = delta[..data_start + cut].to_vec();
    for i in 0..4 * (k as usize + 1) {
        let pos = 12 * 8 + start + k as usize + 1 + i;
        let bit = ((cut >> i) & 1) as u8;
        d[pos / 8] = (d[pos / 8] & !(1 << (pos % 8))) | (bit << (pos % 8));
    }
    d
}

#[test]
fn truncated_patch_streams_are_errors() {
    let Some(root) = realdata() else { return };
    for (name, delta, source) in samples(&root) {
        let full = with_short_patch(&delta, usize::MAX);
        assert_eq!(
            full, delta,
            "{name}: rewriting with the full length changed the file"
        );
        let total = delta.len();
        // A stride of 1/300 for the small samples (dense for the smallest); 25 cuts for the
        // 175 KB one, whose decodes are up to 3 MB of output each (every cut is quadratic).
        let step = if total > 100_000 {
            total / 25
        } else {
            (total / 300).max(1)
        };
        let mut cut = 0;
        while cut < total {
            let d = with_short_patch(&delta, cut);
            if d.len() < delta.len() {
                let r = decode(&d, &source, &small_limits());
                assert!(r.is_err(), "{name}: patch cut to {cut} bytes decoded");
            }
            cut += step;
        }
    }
}

/// Small seeded xorshift generator (no extra dependency).

#[test]
fn bit_flips_never_panic() {
    let Some(root) = realdata() else { return };
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut errors = 0;
    let mut total = 0;
    for (name, delta, source) in samples(&root) {
        // The 3.2 MB wow64 output is slow in debug builds: fewer trials there.
        let trials = if delta.len() > 100_000 { 12 } else { 150 };
        for _ in 0..trials {
            let mut d = delta.clone();
            for _ in 0..1 + rng.next() % 3 {
                let bit = (rng.next() % (d.len() as u64 * 8)) as usize;
                d[bit / 8] ^= 1 << (bit % 8);
            }
            let r = decode(&d, &source, &small_limits());
            total += 1;
            if r.is_err() {
                errors += 1;
            } else {
                assert_ne!(d, delta, "{name}");
            }
        }
    }
    eprintln!("bit flips: {errors}/{total} rejected");
    assert!(errors > 0);
}

#[test]
fn lying_header_lengths_never_panic() {
    let Some(root) = realdata() else { return };
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    for (name, delta, source) in samples(&root) {
        // Overwrite bytes of the outer stream (sizes, buffer lengths) with random values.
        let trials = if delta.len() > 100_000 { 15 } else { 200 };
        for _ in 0..trials {
            let mut d = delta.clone();
            let i = 12 + (rng.next() % 12) as usize;
            d[i] = rng.next() as u8;
            let _ = decode(&d, &source, &small_limits());
            let _ = parse_header(&d);
        }
        let _ = name;
    }
}
