//! Decompression speed (MB/s of output) on chunks made by wimlib-imagex from the test corpus
//! (text, x86-like code, runs, zeros, structured data; stored-raw chunks excluded). Skips
//! cleanly when wimlib-imagex is missing.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{capture, corpus, have_wimlib, parse, Chunk};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use sxs_wimcomp::{lzx, xpress};

fn chunks(args: &[&str]) -> (usize, Vec<Chunk>) {
    let files = corpus(false);
    let dir = tempfile::tempdir().unwrap();
    let wim = parse(&capture(dir.path(), &files, args));
    let v = wim
        .resources
        .into_iter()
        .flat_map(|r| r.chunks)
        .filter(|c| !c.raw)
        .collect();
    (wim.chunk_size, v)
}

fn bench(c: &mut Criterion) {
    if !have_wimlib("wimcomp bench") {
        return;
    }
    let mut g = c.benchmark_group("wimcomp");
    g.sample_size(10);

    let (_, xp) = chunks(&["--compress=XPRESS"]);
    let total: usize = xp.iter().map(|c| c.out_len).sum();
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("xpress_32k", |b| {
        let mut d = xpress::Decompressor::new();
        let mut out = vec![0u8; xpress::MAX_OUTPUT];
        b.iter(|| {
            for c in &xp {
                d.decompress_into(black_box(&c.data), &mut out[..c.out_len])
                    .unwrap();
            }
        })
    });

    for (name, args) in [
        ("lzx_32k", &["--compress=LZX"][..]),
        ("lzx_32k_level100", &["--compress=LZX:100"][..]),
        ("lzx_2m", &["--compress=LZX", "--chunk-size=2097152"][..]),
    ] {
        let (cs, lz) = chunks(args);
        let total: usize = lz.iter().map(|c| c.out_len).sum();
        g.throughput(Throughput::Bytes(total as u64));
        g.bench_function(name, |b| {
            let mut d = lzx::Decompressor::with_chunk_size(cs).unwrap();
            let mut out = vec![0u8; cs];
            b.iter(|| {
                for c in &lz {
                    d.decompress_into(black_box(&c.data), &mut out[..c.out_len])
                        .unwrap();
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
