#![no_main]
//! Fuzz target for the PA30 decoder: arbitrary deltas against either an empty source (DCN)
//! or a small fixed XML source (DCM-like), with a small target cap so runs stay fast.
//! `decode_into` runs through a buffer of stale bytes and must agree with `decode`.

use sxs_pa30::{Error, TargetHash};

const SOURCE: &[u8] =
    b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" manifestVersion=\"1.0\">\r\n</assembly>";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, delta)) = data.split_first() else {
        return;
    };
    let source: &[u8] = if first & 1 == 0 { &[] } else { SOURCE };
    let check = if first & 2 == 0 {
        TargetHash::Verify
    } else {
        TargetHash::Skip
    };
    let limits = sxs_pa30::Limits {
        max_target_size: 1 << 20,
    };
    let _ = sxs_pa30::parse_header(delta);
    let plain = sxs_pa30::decode(delta, source, &limits);
    // Stale content of a size from the first byte (≤ 4 KiB), as a reused buffer has.
    let mut out = vec![0xA5; usize::from(first >> 2) * 64];
    let into = sxs_pa30::decode_into(delta, source, &limits, check, &mut out);
    match (plain, into) {
        (Ok(v), Ok(())) => assert_eq!(v, out),
        (Err(Error::HashMismatch { .. }), Ok(())) => assert_eq!(check, TargetHash::Skip),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("decode {a:?}, decode_into {b:?}"),
    }
});
