//! The smallest program that does the audit's unavoidable work: read every file of a list and
//! SHA-256 it, on a rayon pool, each worker reading into its own reused, page-aligned 256 KiB
//! buffer (the loop issue 7 quotes as ~2.1 s for 5.1 GB on 2 cores; aligned as the audit's,
//! see `crates/iobuf`). `benches/compare.sh` times it on the
//! same payload list as the audit: the distance between the two is what manifests, decoding,
//! bookkeeping and reports cost.
//!
//! Usage: `hashloop LIST [THREADS] [--read-only]`, LIST holding NUL-separated paths
//! (`find -print0`), relative to the current folder. Prints the number of files, bytes, and an
//! XOR of all digests (so the work cannot be optimised away). `--read-only` skips the hashing
//! and XORs the last byte of each read instead: the read floor, measured by the same loop
//! (`cat` maps a fresh, misaligned buffer per file, so `xargs cat` also times page faults and
//! the slow misaligned copy). `MISALIGN=1` in the environment puts the buffer 16 bytes off a
//! page, where `vec![0; 256 * 1024]` lands, to show what alignment is worth.

use std::cell::RefCell;
use std::io::Read;

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use sxs_iobuf::AlignedBuf;

const BUFFER: usize = 256 * 1024;

thread_local! {
    static BUF: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::with_capacity(BUFFER + 16));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let list = args
        .next()
        .expect("usage: hashloop LIST [THREADS] [--read-only]");
    let threads: usize = args.next().map_or(0, |t| t.parse().expect("THREADS"));
    let phase = if std::env::var_os("MISALIGN").is_some() {
        16
    } else {
        0
    };
    let hash = match args.next().as_deref() {
        None => true,
        Some("--read-only") => false,
        Some(other) => panic!("unknown argument {other}"),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("thread pool");
    let list = std::fs::read(&list).expect("read LIST");
    let paths: Vec<&[u8]> = list.split(|&b| b == 0).filter(|p| !p.is_empty()).collect();
    let (bytes, xor) = paths
        .par_iter()
        .map(|p| {
            let path = std::path::Path::new(std::str::from_utf8(p).expect("UTF-8 path"));
            let mut file = std::fs::File::open(path).expect("open");
            let mut h = Sha256::new();
            let mut n = 0u64;
            let mut touched = 0u8;
            BUF.with(|b| {
                let mut b = b.borrow_mut();
                let b = b.window(BUFFER, phase);
                loop {
                    let k = file.read(b).expect("read");
                    if k == 0 {
                        break;
                    }
                    if hash {
                        h.update(&b[..k]);
                    } else {
                        touched ^= b[k - 1];
                    }
                    n += k as u64;
                }
            });
            let d = h.finalize();
            let d = u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
            (n, d ^ u64::from(touched))
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 ^ b.1));
    println!(
        "{} files, {bytes} bytes, digest xor {xor:016x}",
        paths.len()
    );
}
