#![no_main]
//! Fuzz target for the WIM LZX chunk decoder: byte 0 picks the window (chunk size 2^15..2^21,
//! or "from the output size" for the free function), the next three bytes give the output
//! size (capped at the window, at most 2 MiB), the rest is the compressed chunk. Any input
//! must give an error or exactly that many bytes, never a panic or hang.
use sxs_wimcomp::lzx;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((head, input)) = data.split_first_chunk::<4>() else {
        return;
    };
    let raw = usize::from(head[1]) | usize::from(head[2]) << 8 | usize::from(head[3]) << 16;
    let order = head[0] % 8;
    if order == 7 {
        let out_len = raw % lzx::MAX_WINDOW + 1;
        if let Ok(out) = lzx::decompress(input, out_len) {
            assert_eq!(out.len(), out_len);
        }
    } else {
        let window = lzx::MIN_WINDOW << order;
        let out_len = raw % window + 1;
        let mut d = lzx::Decompressor::with_chunk_size(window).expect("valid window");
        let mut out = vec![0u8; out_len];
        let _ = d.decompress_into(input, &mut out);
    }
});
