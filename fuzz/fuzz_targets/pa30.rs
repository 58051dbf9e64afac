#![no_main]
//! Fuzz target pa30 (being written).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = data;
});
