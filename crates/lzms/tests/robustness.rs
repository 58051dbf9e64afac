//! Hostile input: truncations, bit flips and lying sizes applied to the real samples must give
//! an error or some output (LZMS has no checksum), never a panic or a hang.

mod common;

use common::{parse_solid, sample, Rng, SAMPLES};
use sxs_lzms::{container::decompress_container, decompress, Decompressor, Error};
use sxs_testdata::realdata;

/// The raw LZMS blocks of the samples with their true sizes (stored `random` excluded).
fn raw_blocks(dir: &std::path::Path) -> Vec<(String, Vec<u8>, usize)> {
    let mut v = Vec::new();
    for name in SAMPLES {
        let packed = sample(dir, &format!("{name}.lzms"));
        let ulen = u64::from_le_bytes(packed[8..16].try_into().unwrap()) as usize;
        let block = packed[28..].to_vec();
        if block.len() != ulen {
            v.push((name.to_string(), block, ulen));
        }
    }
    let res = sample(dir, "wim_solid_lzms_ms.resource");
    let (_, _, chunks) = parse_solid(&res);
    v.push(("solid".into(), chunks[0].0.to_vec(), chunks[0].1));
    v
}

#[test]
fn every_prefix_of_every_block_is_an_error_or_output() {
    let Some(dir) = realdata() else { return };
    let mut dec = Decompressor::new();
    for (name, block, ulen) in raw_blocks(&dir) {
        let mut out = vec![0; ulen];
        // All prefixes: the blocks are at most a few hundred bytes, so this is cheap.
        for cut in 0..block.len() {
            match dec.decompress_into(&block[..cut], &mut out) {
                Ok(()) => {}
                Err(Error::InputLength(l)) => assert!(l < 4 || l % 2 == 1, "{name} {cut}"),
                Err(_) => {}
            }
        }
    }
}

#[test]
fn every_prefix_of_every_container_is_rejected() {
    let Some(dir) = realdata() else { return };
    for name in SAMPLES {
        let packed = sample(&dir, &format!("{name}.lzms"));
        for cut in 0..packed.len() {
            let r = decompress_container(&packed[..cut], 1 << 20);
            assert!(r.is_err(), "{name}: prefix of {cut} bytes accepted");
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert!(
            decompress_container(&longer, 1 << 20).is_err(),
            "{name}: trailing byte"
        );
    }
}

#[test]
fn seeded_bit_flips_give_an_error_or_output() {
    let Some(dir) = realdata() else { return };
    let mut rng = Rng(0xB17F_11B5_0000_0001);
    let mut dec = Decompressor::new();
    let (mut ok, mut err) = (0, 0);
    for (_name, block, ulen) in raw_blocks(&dir) {
        let mut out = vec![0; ulen];
        for _ in 0..300 {
            let mut bad = block.clone();
            for _ in 0..1 + rng.below(3) {
                let bit = rng.below(bad.len() as u64 * 8) as usize;
                bad[bit / 8] ^= 1 << (bit % 8);
            }
            match dec.decompress_into(&bad, &mut out) {
                Ok(()) => ok += 1,
                Err(_) => err += 1,
            }
        }
    }
    // Both outcomes occur: damage is sometimes caught (bad offsets), sometimes not.
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

#[test]
fn seeded_bit_flips_in_containers_give_an_error_or_output() {
    let Some(dir) = realdata() else { return };
    let mut rng = Rng(0xC0E5_510A_0000_0002);
    for name in SAMPLES {
        let packed = sample(&dir, &format!("{name}.lzms"));
        for _ in 0..100 {
            let mut bad = packed.clone();
            let bit = rng.below(bad.len() as u64 * 8) as usize;
            bad[bit / 8] ^= 1 << (bit % 8);
            if let Ok(v) = decompress_container(&bad, 1 << 20) {
                assert!(v.len() <= 1 << 20);
            }
        }
    }
}

#[test]
fn lying_output_sizes_give_an_error_or_that_many_bytes() {
    let Some(dir) = realdata() else { return };
    for (name, block, ulen) in raw_blocks(&dir) {
        for len in [
            0,
            1,
            2,
            3,
            17,
            18,
            19,
            ulen / 2,
            ulen - 1,
            ulen + 1,
            2 * ulen,
            1 << 20,
        ] {
            match decompress(&block, len) {
                Ok(v) => assert_eq!(v.len(), len, "{name}"),
                Err(e) => assert!(!matches!(e, Error::InputLength(_)), "{name} {len}: {e}"),
            }
        }
        let r = decompress(&block, sxs_lzms::MAX_OUTPUT + 1);
        assert!(
            matches!(r, Err(Error::LimitExceeded { .. })),
            "{name}: {r:?}"
        );
    }
    // The 64 MiB zero chunk, asked for a little less: the final match overruns.
    let res = sample(&dir, "wim_solid_lzms_ms_3chunk.resource");
    let (_, _, chunks) = parse_solid(&res);
    let r = decompress(chunks[0].0, 1000);
    assert!(matches!(r, Err(Error::BadLength { .. })), "{r:?}");
}

#[test]
fn lying_container_sizes_are_capped() {
    let Some(dir) = realdata() else { return };
    let packed = sample(&dir, "english.lzms");
    // Total size above the caller's cap: refused before allocating.
    let r = decompress_container(&packed, 1000);
    assert!(matches!(r, Err(Error::LimitExceeded { .. })), "{r:?}");
    for total in [0u64, 1, 1599, 1601, u64::MAX] {
        let mut bad = packed.clone();
        bad[8..16].copy_from_slice(&total.to_le_bytes());
        // A smaller total still decodes a prefix of the block (no checksum to catch it).
        if let Ok(v) = decompress_container(&bad, 1 << 20) {
            assert!(
                total > 0 && total < 1600 && v.len() as u64 == total,
                "{total}"
            );
        }
    }
    for chunk in [0u32, 1, 100, (64 << 20) + 1, u32::MAX] {
        let mut bad = packed.clone();
        bad[16..20].copy_from_slice(&chunk.to_le_bytes());
        assert!(
            decompress_container(&bad, 1 << 20).is_err(),
            "chunk size {chunk}"
        );
    }
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let mut dec = Decompressor::new();
    for round in 0..400 {
        let len = 4 + 2 * rng.below(300) as usize;
        let input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let mut out = vec![0; rng.below(70_000) as usize];
        let _ = dec.decompress_into(&input, &mut out);
        if round % 50 == 0 {
            let _ = decompress_container(&input, 1 << 16);
        }
    }
}
