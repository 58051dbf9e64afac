//! Throughput of the PA30 decoder on the seven real DCM manifests (MB/s of output) and of
//! encode + decode on a synthetic manifest-sized input. Real samples are read at run time;
//! the real-data group is skipped when they are absent.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sxs_pa30::{decode, encode, EncodeOptions, Limits};

fn realdata() -> Option<PathBuf> {
    let dir = std::env::var_os("SXSAUDIT_REALDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/realdata"
            ))
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: realdata not found at {}", dir.display());
        None
    }
}

/// Manifest-like XML of about `n` bytes.
fn xmlish(n: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<assembly>\r\n",
    );
    let mut i = 0u64;
    while s.len() < n {
        s.push_str(&format!(
            "  <file name=\"f{i}.dll\" destinationPath=\"$(runtime.system32)\\\">\r\n    <asmv2:hash><dsig:DigestValue>{:016x}</dsig:DigestValue></asmv2:hash>\r\n  </file>\r\n",
            i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ));
        i += 1;
    }
    s.truncate(n);
    s.into_bytes()
}

fn real_manifests(c: &mut Criterion) {
    let Some(root) = realdata() else { return };
    let dir = root.join("dcm-manifests-26100");
    let Ok(base) = std::fs::read(dir.join("base_manifest.bin")) else {
        eprintln!("skipped: no base_manifest.bin");
        return;
    };
    let mut deltas = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "manifest") {
            if let Ok(b) = std::fs::read(&p) {
                deltas.push(b[4..].to_vec());
            }
        }
    }
    let total: usize = deltas
        .iter()
        .map(|d| decode(d, &base, &Limits::default()).map_or(0, |o| o.len()))
        .sum();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("7 real DCM manifests", |b| {
        b.iter(|| {
            for d in &deltas {
                black_box(decode(black_box(d), &base, &Limits::default()).ok());
            }
        })
    });
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let source = xmlish(9066);
    let target = xmlish(40_000);
    let opts = EncodeOptions::dcm();
    let delta = encode(&target, &source, &opts);
    let mut g = c.benchmark_group("synthetic 40 KB manifest");
    g.throughput(Throughput::Bytes(target.len() as u64));
    g.bench_function("encode", |b| {
        b.iter(|| black_box(encode(black_box(&target), &source, &opts)))
    });
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode(black_box(&delta), &source, &Limits::default()).ok()))
    });
    g.bench_function("encode+decode", |b| {
        b.iter(|| {
            let d = encode(black_box(&target), &source, &opts);
            black_box(decode(&d, &source, &Limits::default()).ok())
        })
    });
    g.finish();
}

criterion_group!(benches, real_manifests, synthetic);
criterion_main!(benches);
