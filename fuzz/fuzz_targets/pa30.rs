#![no_main]
//! Fuzz target for the PA30 decoder: arbitrary deltas against either an empty source (DCN)
//! or a small fixed XML source (DCM-like), with a small target cap so runs stay fast.

const SOURCE: &[u8] =
    b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" manifestVersion=\"1.0\">\r\n</assembly>";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, delta)) = data.split_first() else {
        return;
    };
    let source: &[u8] = if first & 1 == 0 { &[] } else { SOURCE };
    let limits = sxs_pa30::Limits {
        max_target_size: 1 << 20,
    };
    let _ = sxs_pa30::parse_header(delta);
    let _ = sxs_pa30::decode(delta, source, &limits);
});
