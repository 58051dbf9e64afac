//! Criterion benches of each audit stage on in-memory inputs (issue 7): they are the record of
//! how fast each stage is, since tests carry no timing assertions. `benches/compare.sh` times
//! the whole tool against its peers and the hardware floors; these say where the time goes.
//!
//! - `manifest_parse/*`: [`sxsaudit::format::manifest::parse`] on every manifest of a builder
//!   image built with plain XML manifests (Tiny and Small scale, read into memory once), and on the real plain manifests of
//!   `../shared/realdata/plain-manifests-and-mums` when present. Throughput in manifests/s
//!   (criterion calls them elements/s); the target is 40,000/s on 2 threads, so one
//!   core must give 20,000/s.
//! - `dcm_manifest/*`: the real DCM manifests of `../shared/realdata/dcm-manifests-26100`
//!   (skipped without realdata) and the DCM manifests of a Small builder image, PA30-decoded
//!   against their base manifest and parsed (manifests/s).
//! - `manifest_stage/*`: the manifest stage on a 2-thread pool, from memory (decode, parse,
//!   keyform) and as a whole quick audit (`Options::quick`: every manifest read from disk,
//!   every payload looked up, none read), for plain and DCM Small images (manifests/s).
//! - `hash/*`: [`sxsaudit::hash::digest`] SHA-256 and SHA-1 of 64 MiB, in bytes/s; the hash floor.
//! - `dcs_decode/*`: [`sxsaudit::format::dcs::decode`] of the genuine Microsoft LZMS samples of
//!   `../shared/realdata/lzms-microsoft`, each wrapped in a one-block DCS file with
//!   [`sxsaudit::format::dcs::assemble`] (there is no LZMS encoder), and the same blocks
//!   through one reused `sxs_lzms::Decompressor` (`lzms_reused_*`): the difference is the
//!   per-file setup DCS pays. Skipped without realdata.
//! - `audit/small`: a whole [`sxsaudit::audit::run`] of a clean Small image (3,000 components,
//!   DCM manifests and some DCN payloads, as the builder makes them) built once into a tempdir;
//!   warm page cache, the rayon pool of the machine.
//!
//! Run: `cargo bench --bench stages` (add `-- manifest_parse` to run one group).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sxs_testdata::realdata;
use sxsaudit::audit;
use sxsaudit::codec::Codecs;
use sxsaudit::demo::{self, Scale, Spec};
use sxsaudit::format::dcs;
use sxsaudit::format::digest::Algorithm;
use sxsaudit::format::manifest;
use sxsaudit::hash;
use sxsaudit::store::Image;

/// Every `*.manifest` file directly under `dir`, read into memory, in name order.
fn read_manifests(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list manifests")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("manifest"))
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read manifest"))
        .collect()
}

fn parse_group(c: &mut Criterion, name: &str, manifests: &[Vec<u8>]) {
    // Only well-formed ones: the point is the parser's speed, not its error path.
    let good: Vec<&Vec<u8>> = manifests
        .iter()
        .filter(|m| manifest::parse(m).is_ok())
        .collect();
    if good.is_empty() {
        eprintln!("skipped: no parsable manifests for {name}");
        return;
    }
    let bytes: usize = good.iter().map(|m| m.len()).sum();
    let mut g = c.benchmark_group("manifest_parse");
    g.throughput(Throughput::Elements(good.len() as u64));
    g.bench_function(
        BenchmarkId::new(
            name,
            format!("{}_manifests_{}_KiB", good.len(), bytes >> 10),
        ),
        |b| {
            b.iter(|| {
                for m in &good {
                    black_box(manifest::parse(black_box(m)).expect("parse"));
                }
            })
        },
    );
    g.finish();
}

fn manifest_parse(c: &mut Criterion) {
    for (scale, name) in [
        (Scale::Tiny, "builder_tiny"),
        (Scale::Small, "builder_small"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        // Plain XML: the DCM form is timed in `dcm_manifest`.
        let spec = Spec {
            compress: false,
            ..Spec::clean(scale, 17763)
        };
        demo::build(tmp.path(), &spec).expect("build image");
        let manifests =
            read_manifests(&tmp.path().join("Windows").join("WinSxS").join("Manifests"));
        parse_group(c, name, &manifests);
    }
    if let Some(dir) = realdata() {
        let plain = dir.join("plain-manifests-and-mums");
        if plain.is_dir() {
            parse_group(c, "realdata_plain", &read_manifests(&plain));
        }
    }
}

/// Real DCM manifests (`DCM\x01` + a PA30 delta against the 9,066-byte base manifest) of
/// `../shared/realdata/dcm-manifests-26100`: decoded with `sxs_pa30::decode` and parsed, as the
/// audit does. The 3.26 MB wow64 one is timed apart from the six ordinary ones.
fn dcm_manifest(c: &mut Criterion) {
    let Some(dir) = realdata() else { return };
    let dir = dir.join("dcm-manifests-26100");
    let Ok(base) = std::fs::read(dir.join("base_manifest.bin")) else {
        eprintln!("skipped: no base_manifest.bin in {}", dir.display());
        return;
    };
    let limits = sxs_pa30::Limits::default();
    let decode = |m: &[u8]| sxs_pa30::decode(m.get(4..)?, &base, &limits).ok();
    let all = read_manifests(&dir);
    let dcm: Vec<&Vec<u8>> = all
        .iter()
        .filter(|m| m.starts_with(b"DCM\x01"))
        .filter(|m| decode(m).is_some_and(|x| manifest::parse(&x).is_ok()))
        .collect();
    let (big, small): (Vec<&Vec<u8>>, Vec<&Vec<u8>>) =
        dcm.into_iter().partition(|m| m.len() > 64 << 10);
    let mut g = c.benchmark_group("dcm_manifest");
    bench_dcm(&mut g, "realdata_ordinary", &small, &decode);
    bench_dcm(&mut g, "realdata_wow64_large", &big, &decode);
    // The builder's DCM manifests (a Small image, against its stand-in base manifest).
    let tmp = tempfile::tempdir().expect("tempdir");
    let built = demo::build(tmp.path(), &Spec::clean(Scale::Small, 17763)).expect("build image");
    if let Some(base) = built.base.as_deref() {
        let all = read_manifests(&tmp.path().join("Windows").join("WinSxS").join("Manifests"));
        let decode = |m: &[u8]| sxs_pa30::decode(m.get(4..)?, base, &limits).ok();
        let set: Vec<&Vec<u8>> = all
            .iter()
            .filter(|m| m.starts_with(b"DCM\x01"))
            .filter(|m| decode(m).is_some_and(|x| manifest::parse(&x).is_ok()))
            .collect();
        bench_dcm(&mut g, "builder_small", &set, &decode);
    }
    g.finish();
}

/// Decode and parse each of `set` per iteration.
fn bench_dcm(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    set: &[&Vec<u8>],
    decode: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) {
    if set.is_empty() {
        eprintln!("skipped: no decodable DCM manifests for {name}");
        return;
    }
    g.throughput(Throughput::Elements(set.len() as u64));
    g.bench_function(format!("{name}_{}_manifests", set.len()), |b| {
        b.iter(|| {
            for m in set {
                let xml = decode(black_box(m)).expect("decode");
                black_box(manifest::parse(&xml).expect("parse"));
            }
        })
    });
}

/// The manifest stage on a 2-thread pool, the terms (40,000 plain manifests/s on 2
/// threads): `parse_keyform_*` from memory (decode when DCM, parse, compute the keyform, as the
/// audit does per manifest), and `quick_audit_*`, a whole [`audit::run`] with
/// [`audit::Options::quick`] of a clean Small image (read each manifest from disk, decode,
/// parse, check its keyform, list its component folder and find every payload there, load
/// the hives; payloads are not read).
fn manifest_stage(c: &mut Criterion) {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    let mut g = c.benchmark_group("manifest_stage");
    for (compress, name) in [(false, "plain"), (true, "dcm")] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spec = Spec {
            compress,
            ..Spec::clean(Scale::Small, 17763)
        };
        let built = demo::build(tmp.path(), &spec).expect("build image");
        let manifests =
            read_manifests(&tmp.path().join("Windows").join("WinSxS").join("Manifests"));
        let limits = sxs_pa30::Limits::default();
        let base = built.base.clone().unwrap_or_default();
        let one = |m: &Vec<u8>| {
            let xml = if m.starts_with(b"DCM\x01") {
                std::borrow::Cow::Owned(sxs_pa30::decode(&m[4..], &base, &limits).expect("decode"))
            } else {
                std::borrow::Cow::Borrowed(m.as_slice())
            };
            let parsed = manifest::parse(&xml).expect("parse");
            black_box(sxsaudit::format::keyform::keyform(&parsed.identity));
        };
        g.throughput(Throughput::Elements(manifests.len() as u64));
        g.bench_function(
            format!(
                "parse_keyform_{name}_{}_manifests_2_threads",
                manifests.len()
            ),
            |b| b.iter(|| pool.install(|| manifests.par_iter().for_each(one))),
        );
        let image = Image::open_dir(tmp.path()).expect("open image");
        let codecs = Codecs {
            base: sxsaudit::store::base::find(&image).expect("read the base manifest"),
        };
        let opts = audit::Options {
            quick: true,
            ..Default::default()
        };
        let first = pool
            .install(|| audit::run(&image, &codecs, &opts))
            .expect("audit");
        assert!(first.findings.is_empty(), "{:?}", first.findings.first());
        g.sample_size(20);
        g.bench_function(
            format!(
                "quick_audit_{name}_{}_manifests_2_threads",
                first.totals.manifests
            ),
            |b| {
                b.iter(|| {
                    black_box(
                        pool.install(|| audit::run(&image, &codecs, &opts))
                            .expect("audit"),
                    )
                })
            },
        );
    }
    g.finish();
}

fn hashing(c: &mut Criterion) {
    const SIZE: usize = 64 << 20;
    // Not all zeros, in case a hasher ever special-cased them.
    let data: Vec<u8> = (0..SIZE)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for (alg, name) in [
        (Algorithm::Sha256, "sha256_64MiB"),
        (Algorithm::Sha1, "sha1_64MiB"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(hash::digest(alg, black_box(&data))))
        });
    }
    // The same 64 MiB as 1 to 4 streams hashed side by side, fed 128 KiB of each at a time
    // as the audit's lanes feed them (crates/sha256x): the throughput is of all streams.
    for streams in 1..=sxs_sha256x::LANES {
        g.bench_function(format!("sha256x_{streams}_streams_64MiB"), |b| {
            b.iter(|| {
                let part = SIZE / streams;
                let mut hashers = vec![sxs_sha256x::Sha256::new(); streams];
                for at in (0..part).step_by(128 * 1024) {
                    let end = (at + 128 * 1024).min(part);
                    let mut data: Vec<&[u8]> = (0..streams)
                        .map(|s| &data[s * part + at..s * part + end])
                        .collect();
                    let mut refs: Vec<&mut sxs_sha256x::Sha256> = hashers.iter_mut().collect();
                    while data.iter().any(|d| !d.is_empty()) {
                        sxs_sha256x::update_together(&mut refs, &mut data);
                    }
                }
                black_box(
                    hashers
                        .into_iter()
                        .map(|h| h.finalize())
                        .collect::<Vec<_>>(),
                )
            })
        });
    }
    g.finish();
}

/// Little-endian u64 at `at`.
fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

fn dcs_decode(c: &mut Criterion) {
    let Some(dir) = realdata() else { return };
    let lzms = dir.join("lzms-microsoft");
    let mut g = c.benchmark_group("dcs_decode");
    for name in [
        "english",
        "pattern",
        "sequential",
        "single_byte",
        "zeros",
        "random",
    ] {
        let (Ok(packed), Ok(raw)) = (
            std::fs::read(lzms.join(format!("{name}.lzms"))),
            std::fs::read(lzms.join(format!("{name}.raw"))),
        ) else {
            eprintln!("skipped: {name}.lzms/.raw not found in {}", lzms.display());
            continue;
        };
        // The 24-byte Compression-API container (wim-and-codecs.md §4.11): the total size as a
        // u64 at +8, then `[u32 compressed size][chunk]`; these samples are one chunk each.
        let ulen = u64_at(&packed, 8).unwrap_or(0) as usize;
        let csize = packed
            .get(24..28)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .unwrap_or(0);
        let Some(body) = packed.get(28..28 + csize).filter(|_| ulen == raw.len()) else {
            eprintln!(
                "skipped: {name}.lzms is not one chunk of {} bytes",
                raw.len()
            );
            continue;
        };
        // A stored chunk (random) goes through DCS's stored-block fallback.
        if dcs::decode(&dcs::assemble(&[(body, ulen as u32)]), 1 << 30)
            .ok()
            .as_deref()
            != Some(&raw[..])
        {
            eprintln!("skipped: {name}.lzms does not decode to {name}.raw through DCS");
            continue;
        }
        let file = dcs::assemble(&[(body, ulen as u32)]);
        // Decode many times per iteration: one sample is a few microseconds.
        const REPS: usize = 64;
        g.throughput(Throughput::Bytes((ulen * REPS) as u64));
        g.bench_function(format!("ms_{name}_{ulen}B_x{REPS}"), |b| {
            b.iter(|| {
                for _ in 0..REPS {
                    black_box(dcs::decode(black_box(&file), 1 << 30).expect("decode"));
                }
            })
        });
        // The same block through one reused LZMS decoder, into one reused buffer: the gap to
        // the line above is what DCS pays per file to set up a decoder and its output.
        let mut dec = sxs_lzms::Decompressor::new();
        let mut out = vec![0u8; ulen];
        if dec.decompress_into(body, &mut out).is_ok() {
            g.bench_function(format!("lzms_reused_{name}_{ulen}B_x{REPS}"), |b| {
                b.iter(|| {
                    for _ in 0..REPS {
                        black_box(dec.decompress_into(black_box(body), &mut out).is_ok());
                    }
                })
            });
        }
    }
    g.finish();
}

fn audit_small(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let built = demo::build(tmp.path(), &Spec::clean(Scale::Small, 17763)).expect("build image");
    let image = Image::open_dir(tmp.path()).expect("open image");
    // As the CLI does: the base manifest of DCM manifests comes from the image's wcp.dll.
    let base = sxsaudit::store::base::find(&image).expect("read the base manifest");
    let codecs = Codecs { base };
    let opts = audit::Options::default();
    // Warm the page cache, and check the image is what we think before timing it.
    let first = audit::run(&image, &codecs, &opts).expect("audit");
    assert!(
        first.findings.is_empty(),
        "a clean image gave findings: {:?}",
        first.findings.first()
    );
    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Bytes(built.bytes));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function(
        format!(
            "small_{}_manifests_{}_MB",
            first.totals.manifests,
            built.bytes / 1_000_000
        ),
        |b| b.iter(|| black_box(audit::run(&image, &codecs, &opts).expect("audit"))),
    );
    g.finish();
}

criterion_group!(
    benches,
    manifest_parse,
    manifest_stage,
    dcm_manifest,
    hashing,
    dcs_decode,
    audit_small
);
criterion_main!(benches);
