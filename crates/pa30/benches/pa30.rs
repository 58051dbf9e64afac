//! Throughput of the PA30 decoder on the seven real DCM manifests (MB/s of output), on the
//! real msdelta.dll delta of `pa30-raw-msdelta-26100` (a 64 KiB target made from a 340 KB
//! executable source: mostly matches, short literal runs), on a DCN-like 4 MiB payload (a delta against an empty source, as sxsaudit's demo payloads
//! are made), and of encode + decode on a synthetic manifest-sized input. Real samples are
//! read at run time; the real-data group is skipped when they are absent.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sxs_pa30::{decode, decode_into, encode, EncodeOptions, Limits, TargetHash};
use sxs_testdata::realdata;

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
    let mut out = Vec::new();
    // Every delta through one reused buffer, as the audit decodes them.
    let mut decode_all = |deltas: &[&Vec<u8>]| {
        for d in deltas {
            let r = decode_into(
                black_box(d),
                &base,
                &Limits::default(),
                TargetHash::Verify,
                &mut out,
            );
            black_box((r.is_ok(), out.len()));
        }
    };
    let all: Vec<&Vec<u8>> = deltas.iter().collect();
    g.bench_function("7 real DCM manifests, decode_into", |b| {
        b.iter(|| decode_all(&all))
    });
    // The small ones alone (4 B to 40 KB of output): per-file costs dominate there.
    let small: Vec<&Vec<u8>> = deltas.iter().filter(|d| d.len() < 20_000).collect();
    let small_total: usize = small
        .iter()
        .map(|d| decode(d, &base, &Limits::default()).map_or(0, |o| o.len()))
        .sum();
    g.throughput(Throughput::Bytes(small_total as u64));
    g.bench_function(format!("{} small real DCM manifests", small.len()), |b| {
        b.iter(|| decode_all(&small))
    });
    g.finish();
}

fn real_msdelta(c: &mut Criterion) {
    let Some(root) = realdata() else { return };
    let dir = root.join("pa30-raw-msdelta-26100");
    let read = |n: &str| std::fs::read(dir.join(n));
    let (Ok(delta), Ok(source), Ok(target)) =
        (read("delta.pa30"), read("source.bin"), read("target.bin"))
    else {
        eprintln!("skipped: no delta, source and target in {}", dir.display());
        return;
    };
    let limits = Limits::default();
    let mut out = Vec::new();
    decode_into(&delta, &source, &limits, TargetHash::Skip, &mut out).unwrap();
    assert!(out == target);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(target.len() as u64));
    g.bench_function("real msdelta delta against its source, decode_into", |b| {
        b.iter(|| {
            decode_into(
                black_box(&delta),
                &source,
                &limits,
                TargetHash::Skip,
                &mut out,
            )
            .ok();
            black_box(out.len())
        })
    });
    g.finish();
}

/// A 4 MiB payload shaped like sxsaudit's demo payloads: runs of 16..528 bytes, each one
/// repeated byte, the CBS text repeated, or pseudo-random bytes (2 cases of 4); `MZ` first.
fn dcn_payload() -> Vec<u8> {
    const TEXT: &[u8] = b"Microsoft Windows Component Based Servicing payload ";
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let n = 4 << 20;
    let mut buf = Vec::with_capacity(n);
    while buf.len() < n {
        let run = ((next() % 512) as usize + 16).min(n - buf.len());
        match next() % 4 {
            0 => {
                let b = next() as u8;
                buf.resize(buf.len() + run, b);
            }
            1 => buf.extend(TEXT.iter().cycle().take(run)),
            _ => {
                for _ in 0..run {
                    buf.push((next() >> 32) as u8);
                }
            }
        }
    }
    buf[..2].copy_from_slice(b"MZ");
    buf
}

fn dcn_like(c: &mut Criterion) {
    let target = dcn_payload();
    // What sxsaudit's DCN writer uses: an MD5 of the target, default blocks.
    let opts = EncodeOptions {
        md5: true,
        ..Default::default()
    };
    let delta = encode(&target, &[], &opts);
    let limits = Limits::default();
    let mut out = Vec::new();
    decode_into(&delta, &[], &limits, TargetHash::Verify, &mut out).unwrap();
    assert!(out == target);
    eprintln!(
        "DCN-like: {} bytes -> {} bytes of delta ({:.2}:1)",
        target.len(),
        delta.len(),
        target.len() as f64 / delta.len() as f64
    );
    let mut g = c.benchmark_group("DCN-like 4 MiB payload");
    g.throughput(Throughput::Bytes(target.len() as u64));
    g.bench_function("decode (Vec per call)", |b| {
        b.iter(|| black_box(decode(black_box(&delta), &[], &limits).ok()))
    });
    g.bench_function("decode_into Verify", |b| {
        b.iter(|| {
            decode_into(
                black_box(&delta),
                &[],
                &limits,
                TargetHash::Verify,
                &mut out,
            )
            .ok();
            black_box(out.len())
        })
    });
    g.bench_function("decode_into Skip", |b| {
        b.iter(|| {
            decode_into(black_box(&delta), &[], &limits, TargetHash::Skip, &mut out).ok();
            black_box(out.len())
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

criterion_group!(benches, real_manifests, real_msdelta, dcn_like, synthetic);
criterion_main!(benches);
