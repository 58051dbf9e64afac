//! The COMPONENTS hive that the criterion bench (`benches/servicing.rs`) and the memory probe
//! (`examples/readhive.rs`) read, built in one place so both measure the same shape: per
//! component a keyform like a 17763 one with 4 values (`f!`, `S256H`, `identity`, `c!`), and
//! deployments each holding one package link.

use sxs_servicing::regf_writer::HiveWriter;

/// `components` components linked in turn to `deployments` deployments (at least one).
pub fn components_hive(components: u32, deployments: u32) -> HiveWriter {
    let deployments = deployments.max(1);
    let mut w = HiveWriter::new();
    for i in 0..components {
        let k = format!(
            r"DerivedData\Components\amd64_microsoft-windows-c{i:06}_31bf3856ad364e35_10.0.17763.1911_none_{i:016x}"
        );
        w.set_dword(&k, &format!("f!file{i}.dll"), 1);
        w.set_binary(&k, "S256H", &[i as u8; 32]);
        let id = format!("Microsoft-Windows-C{i:06}, Culture=neutral, Version=10.0.17763.1911, PublicKeyToken=31bf3856ad364e35, ProcessorArchitecture=amd64, versionScope=NonSxS");
        w.set_binary(&k, "identity", id.as_bytes());
        w.set_binary(&k, &format!("c!deployment{:06}", i % deployments), &[]);
    }
    for d in 0..deployments {
        let k = format!(r"CanonicalData\Deployments\deployment{d:06}");
        w.set_binary(
            &k,
            &format!("i!Package_{d}~31bf3856ad364e35~amd64~~10.0.17763.1911"),
            &[],
        );
    }
    w
}
