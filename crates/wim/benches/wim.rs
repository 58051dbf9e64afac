//! Throughput of reading every blob of a wimlib-made archive (needs /usr/bin/wimlib-imagex;
//! prints "skipped" without it).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use std::process::Command;

fn make(dir: &Path, compress: &str, solid: bool) -> Option<std::path::PathBuf> {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).ok()?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..16 {
        let mut data = Vec::with_capacity(1 << 20);
        for j in 0..(1 << 20) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Half text-like, half noise: codecs have work to do.
            data.push(if (j / 4096) % 2 == 0 {
                b"abcdefgh"[(x % 8) as usize]
            } else {
                x as u8
            });
        }
        std::fs::write(src.join(format!("f{i}.bin")), data).ok()?;
    }
    let out = dir.join(format!("b-{compress}-{solid}.wim"));
    let mut c = Command::new("/usr/bin/wimlib-imagex");
    c.arg("capture")
        .arg(&src)
        .arg(&out)
        .arg("bench")
        .arg(format!("--compress={compress}"));
    if solid {
        c.arg("--solid");
    }
    c.output().ok().filter(|o| o.status.success())?;
    Some(out)
}

fn bench(c: &mut Criterion) {
    if !Path::new("/usr/bin/wimlib-imagex").exists() {
        eprintln!("skipped: wimlib-imagex not found");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("read_all_blobs");
    g.sample_size(10);
    for (comp, solid) in [
        ("none", false),
        ("XPRESS", false),
        ("LZX", false),
        ("LZMS", false),
        ("LZMS", true),
    ] {
        let Some(path) = make(dir.path(), comp, solid) else {
            continue;
        };
        let data = std::fs::read(&path).expect("read wim");
        let wim = sxs_wim::Wim::from_reader(data).expect("open");
        let groups = wim.blobs_by_resource();
        // Skip codecs that are not available yet.
        let first = groups.first().cloned().unwrap_or_default();
        if wim.read_blobs(&first, &mut |_, _| Ok(())).is_err() {
            eprintln!("skipped {comp} solid={solid}: codec not available");
            continue;
        }
        let total: u64 = wim.blobs().iter().map(|b| b.size).sum();
        g.throughput(Throughput::Bytes(total));
        g.bench_function(
            format!("{comp}{}", if solid { "-solid" } else { "" }),
            |b| {
                b.iter(|| {
                    for grp in &groups {
                        let r = wim.read_blobs(grp, &mut |_, _| Ok(())).expect("read");
                        assert!(r.iter().all(|x| x.hash_ok));
                    }
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
