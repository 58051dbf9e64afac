#![no_main]
//! Fuzz target servicing: read arbitrary bytes as a COMPONENTS and as a SOFTWARE hive, then
//! query owners and expectations. Errors are fine; panics, hangs and huge allocations are not.
//!
//! Random bytes rarely get past the `regf` signature and the size checks, so when the first
//! byte is odd the input instead patches a valid hive written by `regf_writer`: each group
//! of three bytes is (offset u16, xor mask), at most `MAX_PATCHES` of them.

use std::sync::OnceLock;
use sxs_servicing::regf_writer::HiveWriter;
use sxs_servicing::{read_components, read_software, HiveFiles, ServicingState};

const MAX_PATCHES: usize = 64;

fn seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let mut w = HiveWriter::new();
        for i in 0..40u32 {
            let k = format!(r"DerivedData\Components\amd64_c{i:02}");
            w.set_dword(&k, &format!("f!f{i}.dll"), i);
            w.set_binary(&k, "S256H", &[i as u8; 32]);
            w.set_binary(&k, &format!("c!d{}", i % 4), &[]);
            w.set_dword(
                &format!(r"CanonicalData\Deployments\d{}", i % 4),
                &format!("i!P{i}"),
                0,
            );
            w.set_dword(
                &format!(
                    r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages\P{i}"
                ),
                "CurrentState",
                [0, 64, 80, 112][i as usize % 4],
            );
        }
        // Big data (`db` segments), within the reader's cap, so that flips reach it too.
        w.set_binary(
            r"DerivedData\Components\amd64_c00",
            "identity",
            &[0x41; 20_000],
        );
        w.to_bytes()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let patched;
    let hive: &[u8] = match data.split_first() {
        Some((&mode, rest)) if mode & 1 == 1 => {
            let mut b = seed().to_vec();
            for p in rest.chunks_exact(3).take(MAX_PATCHES) {
                let at = usize::from(u16::from_le_bytes([p[0], p[1]])) % b.len();
                b[at] ^= p[2];
            }
            patched = b;
            &patched
        }
        Some((_, rest)) => rest,
        None => return,
    };
    let software = read_software(HiveFiles::new(hive)).ok();
    if let Ok(components) = read_components(HiveFiles::new(hive)) {
        let keys: Vec<String> = components
            .components
            .keys()
            .take(64)
            .map(str::to_owned)
            .collect();
        let state = ServicingState {
            components,
            software,
        };
        let c = &state.components.components;
        for k in &keys {
            // Decoded on demand, a listed component is there, with the hash the index kept.
            assert_eq!(c.s256h(k), c.get(k).map(|c| c.s256h));
            let _ = state.owners(k);
            let _ = state.expectation(k, "f1.dll");
        }
    }
});
