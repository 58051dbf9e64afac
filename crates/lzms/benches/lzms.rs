//! Decoding speed in MB/s of output: the genuine Microsoft buffers (english and sequential
//! Compression-API samples, the 180,000-byte solid ESD chunk) and, when wimlib-imagex is
//! installed, the chunks of a generated corpus captured with LZMS non-solid (128 KiB chunks)
//! and solid (one ~6 MiB chunk).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sxs_lzms::Decompressor;

/// Decodes every (block, size) pair once per iteration.
fn bench_blocks(c: &mut Criterion, name: &str, blocks: Vec<(Vec<u8>, usize)>) {
    let total: usize = blocks.iter().map(|b| b.1).sum();
    let mut group = c.benchmark_group("lzms");
    group.throughput(Throughput::Bytes(total as u64));
    let mut dec = Decompressor::new();
    let mut out = vec![0u8; blocks.iter().map(|b| b.1).max().unwrap_or(0)];
    group.bench_function(name, |b| {
        b.iter(|| {
            for (block, ulen) in &blocks {
                dec.decompress_into(block, &mut out[..*ulen])
                    .expect("decode");
            }
        })
    });
    group.finish();
}

fn realdata(c: &mut Criterion) {
    let Some(dir) = sxs_testdata::realdata() else {
        return;
    };
    for name in ["english", "sequential"] {
        let packed = common::sample(&dir, &format!("{name}.lzms"));
        let ulen = u64::from_le_bytes(packed[8..16].try_into().unwrap()) as usize;
        bench_blocks(
            c,
            &format!("ms_{name}"),
            vec![(packed[28..].to_vec(), ulen)],
        );
    }
    let res = common::sample(&dir, "wim_solid_lzms_ms.resource");
    let (_, _, chunks) = common::parse_solid(&res);
    let blocks = chunks.iter().map(|(d, u)| (d.to_vec(), *u)).collect();
    bench_blocks(c, "ms_solid_text_180k", blocks);
}

fn wimlib(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).expect("mkdir");
    common::write_corpus(&src);
    for (name, extra) in [
        ("wimlib_nonsolid_128k", &[][..]),
        ("wimlib_solid", &["--solid"][..]),
    ] {
        let path = tmp.path().join(format!("{name}.wim"));
        if !common::wim::capture(&src, &path, extra) {
            eprintln!("skipped: wimlib-imagex not installed");
            return;
        }
        let bytes = std::fs::read(&path).expect("read wim");
        let wim = common::wim::Wim::parse(&bytes);
        let blocks = wim
            .all_chunks()
            .into_iter()
            .filter(|(d, u)| d.len() != *u)
            .map(|(d, u)| (d.to_vec(), u))
            .collect();
        bench_blocks(c, name, blocks);
    }
}

criterion_group!(benches, realdata, wimlib);
criterion_main!(benches);
