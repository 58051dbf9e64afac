//! The smallest program that does the audit's unavoidable work: read every file of a list and
//! SHA-256 it, on a rayon pool, each worker reading into its own reused 256 KiB buffer (the
//! loop issue 7 quotes as ~2.1 s for 5.1 GB on 2 cores). `benches/compare.sh` times it on the
//! same payload list as the audit: the distance between the two is what manifests, decoding,
//! bookkeeping and reports cost.
//!
//! Usage: `hashloop LIST [THREADS]`, LIST holding NUL-separated paths (`find -print0`),
//! relative to the current folder. Prints the number of files, bytes, and an XOR of all
//! digests (so the work cannot be optimised away).

use std::cell::RefCell;
use std::io::Read;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; 256 * 1024]);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let list = args.next().expect("usage: hashloop LIST [THREADS]");
    let threads: usize = args.next().map_or(0, |t| t.parse().expect("THREADS"));
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
            BUF.with(|b| {
                let mut b = b.borrow_mut();
                loop {
                    let k = file.read(&mut b).expect("read");
                    if k == 0 {
                        break;
                    }
                    h.update(&b[..k]);
                    n += k as u64;
                }
            });
            let d = h.finalize();
            (n, u64::from_le_bytes(d[..8].try_into().expect("8 bytes")))
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 ^ b.1));
    println!(
        "{} files, {bytes} bytes, digest xor {xor:016x}",
        paths.len()
    );
}
