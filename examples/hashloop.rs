//! The smallest program that does the audit's unavoidable work: read every file of a list and
//! SHA-256 it, on a rayon pool, each worker reading into its own reused, page-aligned 256 KiB
//! buffer (the loop issue 7 quotes as ~2.1 s for 5.1 GB on 2 cores; aligned as the audit's,
//! see `crates/iobuf`). `benches/compare.sh` times it on the
//! same payload list as the audit: the distance between the two is what manifests, decoding,
//! bookkeeping and reports cost.
//!
//! `--lanes` keeps [`sxs_sha256x::LANES`] files open per worker, reading 128 KiB of each in
//! turn and hashing them with `sxs_sha256x::update_together`, as the audit does: the floor
//! for a hasher that interleaves streams (the plain loop is the floor issue 7 names).
//!
//! Usage: `hashloop LIST [THREADS] [--read-only | --lanes]`, LIST holding NUL-separated paths
//! (`find -print0`), relative to the current folder. Prints the number of files, bytes, and an
//! XOR of all digests (so the work cannot be optimised away). `--read-only` skips the hashing
//! and XORs the last byte of each read instead: the read floor, measured by the same loop
//! (`cat` maps a fresh, misaligned buffer per file, so `xargs cat` also times page faults and
//! the slow misaligned copy). `MISALIGN=1` in the environment puts the buffer 16 bytes off a
//! page, where `vec![0; 256 * 1024]` lands, to show what alignment is worth.

use std::cell::RefCell;
use std::io::Read;

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use sxs_iobuf::AlignedBuf;

const BUFFER: usize = 256 * 1024;

/// Each lane's read size in `--lanes`, as the audit's.
const LANE_CHUNK: usize = 128 * 1024;

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
    let (hash, lanes) = match args.next().as_deref() {
        None => (true, false),
        Some("--read-only") => (false, false),
        Some("--lanes") => (true, true),
        Some(other) => panic!("unknown argument {other}"),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("thread pool");
    let list = std::fs::read(&list).expect("read LIST");
    let paths: Vec<&[u8]> = list.split(|&b| b == 0).filter(|p| !p.is_empty()).collect();
    if lanes {
        let next = AtomicUsize::new(0);
        let (bytes, xor) = (0..rayon::current_num_threads())
            .into_par_iter()
            .map(|_| interleaved(&paths, &next))
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 ^ b.1));
        println!(
            "{} files, {bytes} bytes, digest xor {xor:016x}",
            paths.len()
        );
        return;
    }
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

/// One worker of `--lanes`: up to LANES files open, a chunk of each hashed side by side.
fn interleaved(paths: &[&[u8]], next: &AtomicUsize) -> (u64, u64) {
    struct Lane {
        file: Option<std::fs::File>,
        hash: sxs_sha256x::Sha256,
        buf: AlignedBuf,
        at: usize,
        len: usize,
        ended: bool,
    }
    let mut lanes: Vec<Lane> = (0..sxs_sha256x::LANES)
        .map(|_| Lane {
            file: None,
            hash: sxs_sha256x::Sha256::new(),
            buf: AlignedBuf::with_capacity(LANE_CHUNK),
            at: 0,
            len: 0,
            ended: false,
        })
        .collect();
    let (mut bytes, mut xor) = (0u64, 0u64);
    loop {
        for l in lanes.iter_mut() {
            while l.at == l.len {
                if let Some(file) = l.file.as_mut() {
                    if !l.ended {
                        let b = l.buf.window(LANE_CHUNK, 0);
                        let mut n = 0;
                        while n < b.len() {
                            let k = file.read(&mut b[n..]).expect("read");
                            if k == 0 {
                                break;
                            }
                            n += k;
                        }
                        (l.at, l.len, l.ended) = (0, n, n < LANE_CHUNK);
                        continue;
                    }
                    let h = std::mem::take(&mut l.hash);
                    bytes += h.len();
                    let d = h.finalize();
                    xor ^= u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
                    l.file = None;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = paths.get(i) else {
                    break;
                };
                let path = std::path::Path::new(std::str::from_utf8(p).expect("UTF-8 path"));
                l.file = Some(std::fs::File::open(path).expect("open"));
                (l.at, l.len, l.ended) = (0, 0, false);
            }
        }
        let mut streams = Vec::with_capacity(lanes.len());
        let mut data = Vec::with_capacity(lanes.len());
        let mut ats = Vec::with_capacity(lanes.len());
        for l in lanes.iter_mut().filter(|l| l.at < l.len) {
            streams.push(&mut l.hash);
            data.push(&l.buf.window(LANE_CHUNK, 0)[l.at..l.len]);
            ats.push((&mut l.at, l.len));
        }
        if streams.is_empty() {
            return (bytes, xor);
        }
        sxs_sha256x::update_together(&mut streams, &mut data);
        for ((at, len), left) in ats.into_iter().zip(&data) {
            *at = len - left.len();
        }
    }
}
