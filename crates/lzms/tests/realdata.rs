//! Decoding genuine Microsoft LZMS data (Compression-API buffers and solid ESD resources from
//! build 26100) to their expected bytes. The samples are read at run time from the shared
//! realdata folder and never copied into the repository.

mod common;

use common::{parse_solid, sample, SAMPLES};
use sxs_testdata::realdata;

#[test]
fn compression_api_samples_decode_byte_exact() {
    let Some(dir) = realdata() else { return };
    for name in SAMPLES {
        let packed = sample(&dir, &format!("{name}.lzms"));
        let expected = sample(&dir, &format!("{name}.raw"));
        let got = sxs_lzms::container::decompress_container(&packed, 1 << 20)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.len(), expected.len(), "{name}: length");
        assert!(got == expected, "{name}: decoded bytes differ");
    }
}

#[test]
fn samples_also_decode_through_the_raw_api() {
    let Some(dir) = realdata() else { return };
    let mut dec = sxs_lzms::Decompressor::new();
    for name in SAMPLES {
        let packed = sample(&dir, &format!("{name}.lzms"));
        let expected = sample(&dir, &format!("{name}.raw"));
        // Single-chunk containers: the raw block follows the 24-byte header and its size.
        let clen = u32::from_le_bytes(packed[24..28].try_into().unwrap()) as usize;
        assert_eq!(28 + clen, packed.len(), "{name}: one chunk");
        if clen == expected.len() {
            continue; // stored (random)
        }
        let mut out = vec![0xAA; expected.len()];
        dec.decompress_into(&packed[28..], &mut out)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out == expected, "{name}: decoded bytes differ");
        let free = sxs_lzms::decompress(&packed[28..], expected.len()).unwrap();
        assert!(free == expected, "{name}: free function differs");
    }
}

#[test]
fn solid_esd_resource_decodes_to_the_text() {
    let Some(dir) = realdata() else { return };
    let res = sample(&dir, "wim_solid_lzms_ms.resource");
    let expected = sample(&dir, "wim_solid_lzms_ms.expected");
    let (u, c, chunks) = parse_solid(&res);
    assert_eq!(u, 180_000);
    assert_eq!(c, 64 << 20);
    let mut out = Vec::new();
    for (chunk, ulen) in chunks {
        assert_ne!(chunk.len(), ulen, "this chunk is compressed");
        out.extend(sxs_lzms::decompress(chunk, ulen).unwrap());
    }
    assert!(out == expected, "solid resource decoded bytes differ");
}

/// Three 64 MiB chunks of zeros, streamed one chunk at a time. Debug builds decode only the
/// first chunk (the other two are identical bytes); release builds decode all three.
#[test]
fn solid_esd_three_chunks_of_zeros() {
    let Some(dir) = realdata() else { return };
    let res = sample(&dir, "wim_solid_lzms_ms_3chunk.resource");
    let (u, c, chunks) = parse_solid(&res);
    assert_eq!(u, 146_800_640);
    assert_eq!(chunks.len(), 3);
    let mut dec = sxs_lzms::Decompressor::new();
    let mut buf = vec![0xFFu8; c];
    let mut total = 0u64;
    let take = if cfg!(debug_assertions) { 1 } else { 3 };
    for (k, &(chunk, ulen)) in chunks.iter().enumerate().take(take) {
        let out = &mut buf[..ulen];
        out.fill(0xFF);
        dec.decompress_into(chunk, out)
            .unwrap_or_else(|e| panic!("chunk {k}: {e}"));
        assert!(out.iter().all(|&b| b == 0), "chunk {k}: nonzero byte");
        total += ulen as u64;
    }
    if take == 3 {
        assert_eq!(total, u);
    } else {
        assert_eq!(
            chunks[1].0, chunks[0].0,
            "chunks 1 and 0 differ: decode them too"
        );
        assert_eq!(chunks[2].1 as u64 + total * 2, u);
    }
}
