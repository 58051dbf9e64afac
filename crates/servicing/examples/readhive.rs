//! Peak-memory and wall-time probe for the hive reader, run under `/usr/bin/time -v`:
//! `readhive write <path> [components]` writes a COMPONENTS hive shaped like the bench's
//! (components x 4 values, one deployment per ten components); `readhive read <path>` reads
//! it with [`read_components`] and prints counts and the time taken. Two steps, so that the
//! read's peak is not hidden by the writer's.

use std::time::Instant;
use sxs_servicing::regf_writer::HiveWriter;
use sxs_servicing::{read_components, HiveFiles};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("write"), Some(path)) => {
            let n: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20_000);
            let mut w = HiveWriter::new();
            for i in 0..n {
                let k = format!(
                    r"DerivedData\Components\amd64_microsoft-windows-c{i:06}_31bf3856ad364e35_10.0.17763.1911_none_{i:016x}"
                );
                w.set_dword(&k, &format!("f!file{i}.dll"), 1);
                w.set_binary(&k, "S256H", &[i as u8; 32]);
                let id = format!("Microsoft-Windows-C{i:06}, Culture=neutral, Version=10.0.17763.1911, PublicKeyToken=31bf3856ad364e35, ProcessorArchitecture=amd64, versionScope=NonSxS");
                w.set_binary(&k, "identity", id.as_bytes());
                w.set_binary(&k, &format!("c!deployment{:06}", i / 10), &[]);
            }
            for d in 0..n.div_ceil(10) {
                let k = format!(r"CanonicalData\Deployments\deployment{d:06}");
                w.set_binary(
                    &k,
                    &format!("i!Package_{d}~31bf3856ad364e35~amd64~~10.0"),
                    &[],
                );
            }
            let b = w.to_bytes();
            std::fs::write(path, &b).expect("write hive");
            println!("wrote {} bytes", b.len());
        }
        (Some("read"), Some(path)) => {
            let b = std::fs::read(path).expect("read hive");
            let t = Instant::now();
            let h = read_components(HiveFiles::new(&b)).expect("parse hive");
            let dt = t.elapsed();
            let files: usize = h.components.values().map(|c| c.files.len()).sum();
            println!(
                "{} bytes: {} components, {} files, {} deployments, {} warnings in {:.1} ms",
                b.len(),
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
