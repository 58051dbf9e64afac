//! Encoder/decoder round trips (empty, tiny, random, repetitive, with and without a source
//! and an MD5), the MD5 check, and the shape of what the encoder writes.

use proptest::prelude::*;
use sxs_pa30::{decode, encode, parse_header, EncodeOptions, Error, Limits};

mod common;
use common::{assert_md5_mismatch, noise, with_wrong_md5};

fn opts(md5: bool) -> EncodeOptions {
    EncodeOptions {
        md5,
        ..EncodeOptions::dcm()
    }
}

fn roundtrip(target: &[u8], source: &[u8], md5: bool) {
    let delta = encode(target, source, &opts(md5));
    let h = parse_header(&delta).unwrap();
    assert_eq!(h.target_size, target.len() as u64);
    assert_eq!(h.hash_alg_id, if md5 { 0x8003 } else { 0 });
    let out = decode(&delta, source, &Limits::default()).unwrap();
    assert!(out == target, "round trip differs (len {})", target.len());
}

/// Manifest-like text: repeated XML elements with varying attributes.
fn xmlish(n: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<assembly>\r\n",
    );
    let mut i = 0u64;
    while s.len() < n {
        s.push_str(&format!(
            "  <file name=\"f{i}.dll\" destinationPath=\"$(runtime.system32)\\\" importPath=\"$(build.nttree)\\\" sourcePath=\".\\\">\r\n    <asmv2:hash><dsig:DigestValue>{:016x}</dsig:DigestValue></asmv2:hash>\r\n  </file>\r\n",
            i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ));
        i += 1;
    }
    s.truncate(n);
    s.into_bytes()
}

#[test]
fn empty_and_tiny_inputs() {
    for md5 in [false, true] {
        for src in [&b""[..], b"abc", b"<?xml version"] {
            roundtrip(b"", src, md5);
            roundtrip(b"a", src, md5);
            roundtrip(b"ab", src, md5);
            roundtrip(b"abc", src, md5);
            roundtrip(b"<?xml version", src, md5);
        }
    }
}

#[test]
fn one_mib_repetitive() {
    let mib = 1 << 20;
    roundtrip(&vec![0x41; mib], &[], false);
    let pattern: Vec<u8> = b"abcdefgh12".iter().copied().cycle().take(mib).collect();
    roundtrip(&pattern, b"abcdefgh12", true);
}

/// Random data is the encoder's slowest case in debug builds (about 3 s per MiB), so the
/// 1 MiB cases run in optimised builds and `small_random` always runs.
#[test]
#[cfg_attr(debug_assertions, ignore)]
fn one_mib_random() {
    let mib = 1 << 20;
    roundtrip(&noise(1, mib), &[], true);
    roundtrip(&noise(2, mib), &noise(3, 9066), false);
}

#[test]
fn small_random() {
    roundtrip(&noise(1, 96 << 10), &[], true);
    roundtrip(&noise(2, 64 << 10), &noise(3, 9066), false);
}

#[test]
#[cfg_attr(debug_assertions, ignore)]
fn large_input_uses_several_blocks_and_long_distances() {
    // 2.5 MiB with the default 1 MiB blocks: three parameter blocks; the second half
    // repeats the first from 1.25 MiB back, which needs slots above 42 (slot 7 escape).
    let half = noise(7, 1_310_720);
    let mut t = half.clone();
    t.extend_from_slice(&half);
    let delta = encode(&t, &[], &opts(true));
    assert!(
        delta.len() < half.len() + half.len() / 8,
        "no long-distance matches"
    );
    assert!(decode(&delta, &[], &Limits::default()).unwrap() == t);
}

#[test]
fn several_blocks_and_escaped_slots() {
    // A 300 KiB random source and a target that repeats parts of it from more than
    // 0x40000 bytes back: slots 43–50 through the slot 7 escape. 4 KiB blocks give
    // several parameter blocks with different trees.
    let src = noise(11, 300 << 10);
    let mut t = xmlish(20_000);
    t.extend_from_slice(&src[..4000]);
    t.extend_from_slice(&xmlish(9000));
    t.extend_from_slice(&src[100..3000]);
    let o = EncodeOptions {
        block_size: 4096,
        ..opts(true)
    };
    let delta = encode(&t, &src, &o);
    assert!(delta.len() < 6000, "{} bytes", delta.len());
    assert!(decode(&delta, &src, &Limits::default()).unwrap() == t);
    let one_block = encode(&t, &src, &opts(true));
    assert!(one_block.len() != delta.len());
    assert!(decode(&one_block, &src, &Limits::default()).unwrap() == t);
}

#[test]
fn manifest_like_text_against_a_source_compresses() {
    let src = xmlish(9066);
    let t = xmlish(50_000);
    let delta = encode(&t, &src, &opts(false));
    assert!(
        delta.len() < t.len() / 4,
        "{} bytes for {}",
        delta.len(),
        t.len()
    );
    assert!(decode(&delta, &src, &Limits::default()).unwrap() == t);
    // The source really is used: without it the same target must not decode.
    assert!(decode(&delta, &[], &Limits::default()).map_or(true, |o| o != t));
}

#[test]
fn tiny_inputs_use_the_default_tables() {
    // Coded trees cost at least the 156-bit pre-tree plus the 872 lengths; a 30-byte
    // delta for this text is only possible with isDefault = 1.
    let src = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    let t = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>";
    let d = encode(t, src, &opts(false));
    assert!(d.len() < 40, "{} bytes", d.len());
    assert_eq!(decode(&d, src, &Limits::default()).unwrap(), t);
}

#[test]
fn md5_mismatch_is_reported() {
    let t = xmlish(5000);
    let delta = encode(&t, &[], &opts(true));
    let (bad, stored) = with_wrong_md5(&delta, 3, 0x10);
    assert_md5_mismatch(decode(&bad, &[], &Limits::default()), &stored);
}

#[test]
fn header_fields_are_written() {
    let o = EncodeOptions {
        md5: false,
        flags: 0x0A06_0000,
        target_file_time: 0x0123_4567_89AB_CDEF,
        block_size: 0,
    };
    let d = encode(b"hello", &[], &o);
    let h = parse_header(&d).unwrap();
    assert_eq!(h.flags, 0x0A06_0000);
    assert_eq!(h.target_file_time, 0x0123_4567_89AB_CDEF);
    assert_eq!((h.file_type_set, h.file_type), (1, 1));
    assert!(h.target_hash.is_empty());
}

#[test]
fn unknown_hash_algorithm_and_signatures_are_unsupported() {
    let d = encode(b"hello world", &[], &opts(false));
    let mut pa31 = d.clone();
    pa31[3] = b'1';
    assert!(
        matches!(decode(&pa31, &[], &Limits::default()), Err(Error::Unsupported(m)) if m == "PA31 signature")
    );
    assert!(matches!(
        decode(b"XYZW", &[], &Limits::default()),
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(
        decode(b"PA3", &[], &Limits::default()),
        Err(Error::Truncated)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_small_inputs_round_trip(
        target in proptest::collection::vec(any::<u8>(), 0..3000),
        source in proptest::collection::vec(any::<u8>(), 0..600),
        md5 in any::<bool>(),
    ) {
        let delta = encode(&target, &source, &opts(md5));
        prop_assert_eq!(decode(&delta, &source, &Limits::default()).unwrap(), target);
    }

    #[test]
    fn repetitive_inputs_round_trip(
        unit in proptest::collection::vec(0u8..4, 1..40),
        reps in 1usize..400,
        use_source in any::<bool>(),
    ) {
        let target: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * reps).collect();
        let source: Vec<u8> = if use_source { unit.iter().rev().copied().collect() } else { Vec::new() };
        let delta = encode(&target, &source, &opts(false));
        prop_assert_eq!(decode(&delta, &source, &Limits::default()).unwrap(), target);
    }

    #[test]
    fn truncated_or_flipped_encodings_never_panic(
        target in proptest::collection::vec(0u8..8, 0..2000),
        flip in any::<u64>(),
        cut in any::<u16>(),
    ) {
        let delta = encode(&target, b"0123456789", &opts(true));
        let mut d = delta.clone();
        let bit = (flip % (d.len() as u64 * 8)) as usize;
        d[bit / 8] ^= 1 << (bit % 8);
        let r = decode(&d, b"0123456789", &Limits { max_target_size: 1 << 20 });
        // With the MD5 present a flipped delta never decodes to a wrong target.
        if let Ok(out) = r { prop_assert_eq!(out, target.clone()); }
        let n = cut as usize % delta.len();
        prop_assert!(decode(&delta[..n], b"0123456789", &Limits::default()).is_err());
    }
}
