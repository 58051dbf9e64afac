//! Reading a COMPONENTS hive of realistic shape: 20,000 components x 4 values (`f!`, `S256H`,
//! `identity`, `c!`) and 2,000 deployments, written with `regf_writer`. A real serviced
//! hive is about 250,000 keys / 650,000 values, i.e. roughly 8x this one.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use sxs_servicing::regf_writer::HiveWriter;
use sxs_servicing::{read_components, HiveFiles};

mod shape;

const COMPONENTS: u32 = 20_000;
const DEPLOYMENTS: u32 = 2_000;

fn hive() -> HiveWriter {
    shape::components_hive(COMPONENTS, DEPLOYMENTS)
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
