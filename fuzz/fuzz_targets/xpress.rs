#![no_main]
//! Fuzz target for the XPRESS Huffman chunk decoder: the first two bytes give the output
//! size (1..=64 KiB, the largest WIM XPRESS chunk), the rest is the compressed chunk. Any
//! input must give an error or exactly that many bytes, never a panic or hang.
use sxs_wimcomp::xpress;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((size, input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let out_len = usize::from(u16::from_le_bytes(*size)) + 1;
    if let Ok(out) = xpress::decompress(input, out_len) {
        assert_eq!(out.len(), out_len);
    }
});
