#![no_main]
//! Fuzz target for the LZMS decoder: the first 3 bytes give the output size (capped at 1 MiB),
//! the rest is a raw LZMS block; the same bytes are also tried as a Compression-API container.
//! Any result is fine except a panic, a hang or an allocation beyond the caps.

/// Largest output size tried, so one run stays fast.
const MAX_FUZZ_OUT: usize = 1 << 20;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((head, input)) = data.split_first_chunk::<3>() else {
        return;
    };
    let out_len = (usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16)
        % (MAX_FUZZ_OUT + 1);
    if let Ok(out) = sxs_lzms::decompress(input, out_len) {
        assert_eq!(out.len(), out_len);
    }
    let _ = sxs_lzms::container::decompress_container(data, MAX_FUZZ_OUT);
});
