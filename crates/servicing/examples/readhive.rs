//! Peak-memory and wall-time probe for the hive reader, run under `/usr/bin/time -v`:
//! `readhive write <path> [components]` writes the bench's COMPONENTS hive
//! (`benches/shape`; one deployment per ten components); `readhive read <path>` reads
//! it with [`read_components_owned`] (as the audit does) and prints counts and the time taken. Two steps, so that the
//! read's peak is not hidden by the writer's.

use std::time::Instant;
use sxs_servicing::read_components_owned;

#[path = "../benches/shape/mod.rs"]
mod shape;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("write"), Some(path)) => {
            let n: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20_000);
            let w = shape::components_hive(n, n.div_ceil(10));
            let b = w.to_bytes();
            std::fs::write(path, &b).expect("write hive");
            println!("wrote {} bytes", b.len());
        }
        (Some("read"), Some(path)) => {
            let b = std::fs::read(path).expect("read hive");
            let len = b.len();
            let t = Instant::now();
            let h = read_components_owned(b, None, None).expect("parse hive");
            let dt = t.elapsed();
            // Decoded after the clock stops: an audit decodes few components.
            let c = &h.components;
            let files: usize = c
                .keys()
                .filter_map(|k| c.get(k))
                .map(|c| c.files.len())
                .sum();
            println!(
                "{} bytes: {} components, {} files, {} deployments, {} warnings in {:.1} ms",
                len,
                h.components.len(),
                files,
                h.deployments.len(),
                h.warnings.len(),
                dt.as_secs_f64() * 1e3
            );
        }
        _ => eprintln!("usage: readhive write <path> [components] | readhive read <path>"),
    }
}
