//! Proves `decode_into` against `decode`: the same output on Microsoft's real samples (read
//! at run time from the shared realdata folder, never copied) and on round trips, through
//! one reused buffer holding stale bytes of other sizes; `TargetHash::Skip` skips only the
//! MD5 comparison; errors on hostile input (prefixes, bit flips) never panic and leave a
//! buffer that still decodes the next delta exactly.

use std::io::Read;

use sxs_testdata::{read, realdata};

use sxs_pa30::{
    decode, decode_into, encode, parse_header, EncodeOptions, Error, Limits, TargetHash,
};

mod common;
use common::{assert_md5_mismatch, noise, samples, with_wrong_md5};

/// A payload shaped like sxsaudit's demo DCN payloads: runs of 16..528 bytes, each one
/// repeated byte, repeated text, or noise; `MZ` first.
fn payload(seed: u64, n: usize) -> Vec<u8> {
    const TEXT: &[u8] = b"Microsoft Windows Component Based Servicing payload ";
    let r = noise(seed, n / 8 + 64);
    let mut buf = Vec::with_capacity(n);
    let mut i = 0;
    while buf.len() < n {
        let a = r[i % r.len()] as usize;
        let b = r[(i + 1) % r.len()] as usize;
        i += 2;
        let run = (16 + (a << 1 | b & 1)).min(n - buf.len());
        match b % 4 {
            0 => buf.resize(buf.len() + run, a as u8),
            1 => buf.extend(TEXT.iter().cycle().take(run)),
            _ => buf.extend(noise(seed ^ i as u64, run)),
        }
    }
    if n >= 2 {
        buf[..2].copy_from_slice(b"MZ");
    }
    buf
}

/// A buffer full of stale bytes, to prove nothing of an earlier use leaks into the output.
fn stale(n: usize) -> Vec<u8> {
    vec![0xA5; n]
}

#[test]
fn real_samples_decode_into_like_decode_through_one_reused_buffer() {
    let Some(root) = realdata() else { return };
    let samples = samples(&root);
    let limits = Limits::default();
    let expected: Vec<Vec<u8>> = samples
        .iter()
        .map(|(name, d, src)| decode(d, src, &limits).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    // Forwards, then backwards (big after small and small after big), in both modes.
    let order: Vec<usize> = (0..samples.len()).chain((0..samples.len()).rev()).collect();
    for check in [TargetHash::Verify, TargetHash::Skip] {
        let mut out = stale(5 << 20);
        for &i in &order {
            let (name, d, src) = &samples[i];
            decode_into(d, src, &limits, check, &mut out)
                .unwrap_or_else(|e| panic!("{name} {check:?}: {e}"));
            assert_eq!(out.len(), expected[i].len(), "{name} {check:?}");
            assert!(out == expected[i], "{name} {check:?}: output differs");
        }
        // A fresh, empty buffer too.
        for (i, (name, d, src)) in samples.iter().enumerate() {
            let mut fresh = Vec::new();
            decode_into(d, src, &limits, check, &mut fresh).unwrap();
            assert!(
                fresh == expected[i],
                "{name} {check:?}: fresh output differs"
            );
        }
    }
    // The 3.2 MB wow64 manifest is the golden file, so decode_into is proven on it directly.
    let mut wow64 = Vec::new();
    flate2::read::GzDecoder::new(&read(&root.join("dcm-manifests-26100/wow64_golden.xml.gz"))[..])
        .read_to_end(&mut wow64)
        .unwrap();
    assert!(expected.contains(&wow64));
}

#[test]
fn real_samples_with_errors_leave_a_reusable_buffer() {
    let Some(root) = realdata() else { return };
    let limits = Limits {
        max_target_size: 8 << 20,
    };
    let mut out = Vec::new();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for (name, d, src) in samples(&root) {
        let good = decode(&d, &src, &limits).unwrap();
        // A stride of prefixes (dense enough to cut every field of the small ones) and
        // seeded bit flips; each must fail or decode, then the buffer decodes exactly.
        let step = (d.len() / 97).max(1);
        for cut in (0..d.len()).step_by(step) {
            for check in [TargetHash::Verify, TargetHash::Skip] {
                assert!(
                    decode_into(&d[..cut], &src, &limits, check, &mut out).is_err(),
                    "{name}: prefix {cut} decoded"
                );
            }
        }
        for _ in 0..40 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bit = (seed % (d.len() as u64 * 8)) as usize;
            let mut bad = d.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let r = decode_into(&bad, &src, &limits, TargetHash::Skip, &mut out);
            if r.is_ok() {
                let h = parse_header(&bad).unwrap();
                assert_eq!(out.len() as u64, h.target_size, "{name}: flip {bit}");
            }
        }
        decode_into(&d, &src, &limits, TargetHash::Verify, &mut out).unwrap();
        assert!(out == good, "{name}: buffer reused after errors differs");
    }
}

#[test]
fn round_trips_decode_into_like_decode() {
    let limits = Limits::default();
    let source = noise(7, 3000);
    let mut cases: Vec<(Vec<u8>, &[u8])> = Vec::new();
    for n in [0, 1, 2, 5, 6, 63, 64, 65, 200, 4096, 70_000, 300_000] {
        cases.push((payload(n as u64, n), &[]));
        cases.push((noise(n as u64 + 1, n), &source));
    }
    // The window's source tail then output head, repeated: a match that starts in the
    // source and runs on into the output.
    let head = noise(99, 60);
    let mut crossing = head.clone();
    crossing.extend_from_slice(&source[2960..]);
    crossing.extend_from_slice(&head);
    crossing.extend(std::iter::repeat_n(b'z', 100));
    cases.push((crossing, &source));
    let mut out = stale(1 << 20);
    for md5 in [false, true] {
        let opts = EncodeOptions {
            md5,
            ..Default::default()
        };
        for (target, src) in cases.iter().chain(cases.iter().rev()) {
            let delta = encode(target, src, &opts);
            let via_decode = decode(&delta, src, &limits).unwrap();
            assert!(via_decode == *target);
            for check in [TargetHash::Verify, TargetHash::Skip] {
                decode_into(&delta, src, &limits, check, &mut out).unwrap();
                assert!(out == *target, "len {} {check:?} md5 {md5}", target.len());
            }
        }
    }
}

/// Many small parameter blocks, some with the same trees as the block before (kept, not
/// rebuilt) and some with different ones.
#[test]
fn blocks_with_repeated_and_changed_trees() {
    let a = noise(11, 600);
    let b = payload(12, 600);
    let mut target = Vec::new();
    for k in 0..40 {
        target.extend_from_slice(if k % 7 < 4 { &a } else { &b });
    }
    let mut out = stale(100);
    for block_size in [300, 600, 1000] {
        let opts = EncodeOptions {
            md5: true,
            block_size,
            ..Default::default()
        };
        let delta = encode(&target, &[], &opts);
        decode_into(
            &delta,
            &[],
            &Limits::default(),
            TargetHash::Verify,
            &mut out,
        )
        .unwrap();
        assert!(out == target, "block size {block_size}");
    }
}

#[test]
fn skip_ignores_a_wrong_stored_md5_that_verify_rejects() {
    let target = payload(3, 50_000);
    let delta = encode(
        &target,
        &[],
        &EncodeOptions {
            md5: true,
            ..Default::default()
        },
    );
    let (bad, stored) = with_wrong_md5(&delta, 0, 0x01);
    let limits = Limits::default();
    let mut out = stale(10);
    decode_into(&bad, &[], &limits, TargetHash::Skip, &mut out).unwrap();
    assert!(out == target);
    assert_md5_mismatch(
        decode_into(&bad, &[], &limits, TargetHash::Verify, &mut out),
        &stored,
    );
    assert!(matches!(
        decode(&bad, &[], &limits),
        Err(Error::HashMismatch { .. })
    ));
    // The good delta verifies.
    decode_into(&delta, &[], &limits, TargetHash::Verify, &mut out).unwrap();
    assert!(out == target);
}

#[test]
fn skip_still_enforces_the_header_and_the_limits() {
    let target = payload(4, 10_000);
    let delta = encode(&target, &[], &EncodeOptions::default());
    let mut out = Vec::new();
    let small = Limits {
        max_target_size: 9_999,
    };
    for check in [TargetHash::Verify, TargetHash::Skip] {
        assert!(matches!(
            decode_into(&delta, &[], &small, check, &mut out),
            Err(Error::LimitExceeded { .. })
        ));
        let mut pa31 = delta.clone();
        pa31[3] = b'1';
        assert!(matches!(
            decode_into(&pa31, &[], &Limits::default(), check, &mut out),
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            decode_into(
                &delta[..delta.len() - 1],
                &[],
                &Limits::default(),
                check,
                &mut out
            ),
            Err(Error::Truncated | Error::Corrupt(_))
        ));
    }
}
