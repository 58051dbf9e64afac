#![no_main]
//! Fuzz target wim: open an archive from arbitrary bytes, list image 1, read every blob
//! (one by one and grouped by resource) and check the integrity table. Errors are fine;
//! panics, hangs and huge allocations are not.
//!
//! Solid LZMS chunks can legitimately expand a few bytes to 64 MiB, so only blobs up to
//! `MAX_BLOB` bytes are read, to keep each run short.

const MAX_BLOB: u64 = 4 << 20;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(wim) = sxs_wim::Wim::from_reader(data) else {
        return;
    };
    let _ = wim.xml_info();
    if let Ok(img) = wim.image(1) {
        for (i, e) in img.entries.iter().enumerate() {
            let _ = img.path_string(i, '\\');
            if let Some(h) = e.hash {
                if e.size <= MAX_BLOB {
                    let _ = wim.read_blob(&h, &mut |_| Ok(()));
                }
            }
        }
    }
    let mut scratch = sxs_wim::Scratch::new();
    for b in wim.blobs().iter().filter(|b| b.size <= MAX_BLOB).take(256) {
        let _ = wim.read_blob_with(&mut scratch, &b.hash, &mut |_| Ok(()));
    }
    for g in wim.blobs_by_resource().iter().take(64) {
        let small: Vec<[u8; 20]> = g
            .iter()
            .filter(|h| wim.blob_entry(h).is_some_and(|b| b.size <= MAX_BLOB))
            .take(256)
            .copied()
            .collect();
        let _ = wim.read_blobs(&small, &mut |_, _| Ok(()));
    }
    let _ = wim.verify_integrity();
});
