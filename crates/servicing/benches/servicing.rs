//! Reading a COMPONENTS hive of realistic shape: 20,000 components x 4 values (`f!`, `S256H`,
//! `identity`, `c!`) and 2,000 deployments, written with `regf_writer`. A real serviced
//! hive is about 250,000 keys / 650,000 values, i.e. roughly 8x this one.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use sxs_servicing::regf_writer::HiveWriter;
use sxs_servicing::{read_components, HiveFiles};

const COMPONENTS: u32 = 20_000;
const DEPLOYMENTS: u32 = 2_000;

fn hive() -> HiveWriter {
    let mut w = HiveWriter::new();
    for i in 0..COMPONENTS {
        let k = format!(
            r"DerivedData\Components\amd64_microsoft-windows-c{i:05}_31bf3856ad364e35_10.0.17763.1911_none_{i:016x}"
        );
        w.set_dword(&k, &format!("f!file{i}.dll"), 1);
        w.set_binary(&k, "S256H", &[i as u8; 32]);
        let id = format!("Microsoft-Windows-C{i:05}, Culture=neutral, Version=10.0.17763.1911, PublicKeyToken=31bf3856ad364e35, ProcessorArchitecture=amd64, versionScope=NonSxS");
        w.set_binary(&k, "identity", id.as_bytes());
        w.set_binary(&k, &format!("c!deployment{:05}", i % DEPLOYMENTS), &[]);
    }
    for d in 0..DEPLOYMENTS {
        let k = format!(r"CanonicalData\Deployments\deployment{d:05}");
        w.set_binary(
            &k,
            &format!("i!Package_{d}~31bf3856ad364e35~amd64~~10.0.17763.1911"),
            &[],
        );
    }
    w
}

fn bench(c: &mut Criterion) {
    let w = hive();
    let bytes = w.to_bytes();
    let mut g = c.benchmark_group("servicing");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("read_components_20k", |b| {
        b.iter(|| {
            let h = read_components(HiveFiles::new(black_box(&bytes))).unwrap();
            assert_eq!(h.components.len(), COMPONENTS as usize);
            h
        })
    });
    g.bench_function("write_components_20k", |b| {
        b.iter(|| black_box(&w).to_bytes())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
