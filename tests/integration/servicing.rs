//! The audit with the image's servicing state (issue 8): the builder's hives read back by an
//! independent reader (hivexsh), missing payloads judged by package state, manifests against
//! `S256H`, hive entries without manifests and manifests without hive entries, pending
//! operations, dirty, truncated and garbage hives, and images without hives.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use sxs_servicing::regf_writer::{base_block_checksum, HiveWriter};
use sxsaudit::demo::{Fault, Scale, Spec};

use crate::util::*;

fn config(img: &TestImage) -> PathBuf {
    img.root().join("Windows").join("System32").join("config")
}

fn notes(json: &serde_json::Value) -> Vec<String> {
    json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

fn findings_of<'a>(json: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// `hivexsh` is there, or None (and a note) when it is not and not required.
fn hivexsh() -> Option<&'static str> {
    if Command::new("hivexsh").arg("--help").output().is_ok() {
        return Some("hivexsh");
    }
    if std::env::var_os("SXSAUDIT_REQUIRE_HIVEX").is_some_and(|v| v == "1") {
        panic!("hivexsh required (SXSAUDIT_REQUIRE_HIVEX=1) but not found: install libhivex-bin");
    }
    eprintln!("skipped: hivexsh not found (Debian libhivex-bin)");
    None
}

fn hivex(bin: &str, hive: &Path, script: &str) -> String {
    let mut child = Command::new(bin)
        .arg(hive)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "hivexsh failed on {}", hive.display());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn hivexsh_reads_the_builders_hives() {
    let Some(bin) = hivexsh() else { return };
    // Plain manifests, so that S256H can be checked against the file's own bytes.
    let img = TestImage::build(&Spec {
        compress: false,
        ..Spec::clean(Scale::Tiny, 81)
    });
    let with_files = img
        .built
        .components
        .iter()
        .filter(|c| !c.files.is_empty())
        .take(5);
    for c in with_files {
        let listing = hivex(
            bin,
            &config(&img).join("COMPONENTS"),
            &format!("cd DerivedData\\Components\\{}\nlsval\n", c.keyform),
        );
        let manifest = fs::read(
            img.winsxs()
                .join("Manifests")
                .join(format!("{}.manifest", c.keyform)),
        )
        .unwrap();
        let hex: Vec<String> = Sha256::digest(&manifest)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            listing.contains(&format!("\"S256H\"=hex(3):{}", hex.join(","))),
            "{}: {listing}",
            c.keyform
        );
        for f in &c.files {
            // hivexsh escapes a backslash in a value name.
            let shown = f.name.replace('\\', "\\\\");
            assert!(
                listing.contains(&format!("\"f!{shown}\"=dword:00000001")),
                "{}: {listing}",
                f.name
            );
        }
        let name = c.identity.name.as_deref().unwrap();
        let ident: Vec<String> = name.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            listing.contains(&format!("\"identity\"=hex(3):{}", ident.join(","))),
            "{listing}"
        );
        let dep = listing
            .lines()
            .find_map(|l| l.strip_prefix("\"c!"))
            .and_then(|l| l.split('"').next())
            .unwrap()
            .to_string();
        let links = hivex(
            bin,
            &config(&img).join("COMPONENTS"),
            &format!("cd CanonicalData\\Deployments\\{dep}\nlsval\n"),
        );
        let pkg = links
            .lines()
            .find_map(|l| l.strip_prefix("\"i!"))
            .and_then(|l| l.split('"').next())
            .unwrap()
            .to_string();
        let state = hivex(bin, &config(&img).join("SOFTWARE"), &format!("cd Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\{pkg}\nlsval\n"));
        assert!(
            state.contains("\"CurrentState\"=dword:00000070"),
            "{pkg}: {state}"
        );
    }
}

#[test]
fn missing_payload_expected_superseded_or_removed() {
    let spec = Spec {
        seed: 82,
        scale: Scale::Tiny,
        faults: vec![
            Fault::FlipByte,
            Fault::Superseded,
            Fault::PayloadRemoved,
            Fault::DeletePayload,
        ],
        compress: true,
    };
    let img = TestImage::build(&spec);
    let (code, json, stderr) = audit_json(img.root(), &[]);
    assert_eq!(triples(&json), planted(&img.built));
    // The by-design payloads do not fail the run: hash mismatch and the installed one only.
    assert_eq!(code, 1 | 2, "{stderr}");
    let by_design = findings_of(&json, "payload_absent_by_design");
    assert!(by_design.iter().all(|f| f["severity"] == "info"));
    assert!(
        by_design
            .iter()
            .any(|f| f["detail"].as_str().unwrap().contains("is Superseded (80)")),
        "{by_design:#?}"
    );
    assert!(
        by_design
            .iter()
            .any(|f| f["detail"].as_str().unwrap().contains("no f!")
                && f["detail"].as_str().unwrap().contains("is Absent (0)")),
        "{by_design:#?}"
    );
    let missing = findings_of(&json, "missing_payload");
    assert_eq!(missing.len(), 1);
    let d = missing[0]["detail"].as_str().unwrap();
    assert!(
        d.contains("staged") && d.contains("is Installed (112)"),
        "{d}"
    );
    // Every payload finding names its owners.
    let corrupt = findings_of(&json, "hash_mismatch");
    assert!(
        corrupt[0]["detail"]
            .as_str()
            .unwrap()
            .contains("owning packages:"),
        "{corrupt:#?}"
    );
    assert_eq!(json["summary"]["payload_absent_by_design"], by_design.len());
    // The same image without its hives: every absent payload is corruption.
    fs::remove_file(config(&img).join("COMPONENTS")).unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 1 | 2);
    assert!(findings_of(&json, "payload_absent_by_design").is_empty());
    assert_eq!(
        findings_of(&json, "missing_payload").len(),
        1 + by_design.len()
    );
}

#[test]
fn manifest_bytes_differ_from_s256h() {
    let spec = Spec {
        seed: 83,
        scale: Scale::Tiny,
        faults: vec![Fault::ManifestHashMismatch],
        compress: true,
    };
    let img = TestImage::build(&spec);
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(triples(&json), planted(&img.built));
    assert_eq!(code, 4);
    let f = &findings_of(&json, "manifest_hash_mismatch")[0];
    assert_eq!(f["algorithm"], "sha256");
    assert_ne!(f["expected_hex"], f["actual_hex"]);
    let text = sxsaudit(&["audit", img.root().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CSI Manifest Corruption:\t1"), "{text}");
}

#[test]
fn hive_entry_without_manifest_and_manifest_without_hive_entry() {
    let spec = Spec {
        seed: 84,
        scale: Scale::Tiny,
        faults: vec![Fault::HiveOnly, Fault::NotInHive],
        compress: true,
    };
    let img = TestImage::build(&spec);
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(triples(&json), planted(&img.built));
    assert_eq!(
        code, 4,
        "manifest_missing fails, orphan_manifest is a warning"
    );
    assert_eq!(
        findings_of(&json, "orphan_manifest")[0]["severity"],
        "warning"
    );
    let missing = &findings_of(&json, "manifest_missing")[0];
    assert!(missing["path"]
        .as_str()
        .unwrap()
        .starts_with("Windows/WinSxS/Manifests/"));
    assert!(missing["detail"]
        .as_str()
        .unwrap()
        .contains("is Installed (112)"));
}

#[test]
fn pending_operations_head_every_report() {
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 85));
    fs::write(
        img.winsxs().join("pending.xml"),
        "<PendingTransaction Version=\"3.1\"><Transactions/></PendingTransaction>",
    )
    .unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 0);
    let n = notes(&json);
    assert!(
        n.iter()
            .any(|n| n.contains("mid-transaction") && n.contains("pending.xml")),
        "{n:?}"
    );
    let text = sxsaudit(&["audit", img.root().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    let first_finding_or_summary = text.find("Checking System Update Readiness").unwrap();
    let note = text.find("mid-transaction").unwrap();
    assert!(note < first_finding_or_summary, "{text}");
    // Pending packages in SOFTWARE say the same, without pending.xml.
    fs::remove_file(img.winsxs().join("pending.xml")).unwrap();
    let mut s = HiveWriter::new();
    let cbs = "Microsoft\\Windows\\CurrentVersion\\Component Based Servicing";
    s.set_dword(
        &format!("{cbs}\\Packages\\Foo~31bf3856ad364e35~amd64~~1.0"),
        "CurrentState",
        96,
    );
    s.create_key(&format!(
        "{cbs}\\PackagesPending\\Foo~31bf3856ad364e35~amd64~~1.0"
    ));
    fs::write(config(&img).join("SOFTWARE"), s.to_bytes()).unwrap();
    let (_, json, _) = audit_json(img.root(), &[]);
    let n = notes(&json);
    assert!(
        n.iter()
            .any(|n| n.contains("mid-transaction") && n.contains("PackagesPending")),
        "{n:?}"
    );
}

#[test]
fn dirty_hive_says_results_may_lag() {
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 86));
    let path = config(&img).join("COMPONENTS");
    let mut hive = fs::read(&path).unwrap();
    // Primary sequence number one above the secondary, checksum fixed: an interrupted write.
    let seq = u32::from_le_bytes(hive[4..8].try_into().unwrap()) + 1;
    hive[4..8].copy_from_slice(&seq.to_le_bytes());
    let sum = base_block_checksum(&hive);
    hive[508..512].copy_from_slice(&sum.to_le_bytes());
    fs::write(&path, &hive).unwrap();
    fs::write(config(&img).join("COMPONENTS.LOG1"), vec![0u8; 512]).unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 0, "the state is still used: {json:#}");
    let n = notes(&json);
    assert!(
        n.iter()
            .any(|n| n.contains("COMPONENTS hive is dirty") && n.contains("may lag")),
        "{n:?}"
    );
    assert!(!n.iter().any(|n| n.contains("not available")), "{n:?}");
}

#[test]
fn truncated_or_garbage_hive_is_a_note_and_the_audit_goes_on() {
    let spec = Spec {
        seed: 87,
        scale: Scale::Tiny,
        faults: vec![Fault::DeletePayload],
        compress: true,
    };
    let img = TestImage::build(&spec);
    let path = config(&img).join("COMPONENTS");
    let good = fs::read(&path).unwrap();
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (bytes, expect) in [
        (good[..good.len() / 3].to_vec(), "COMPONENTS"),
        (good[..100].to_vec(), "truncated"),
        (garbage, "not a registry hive"),
    ] {
        fs::write(&path, &bytes).unwrap();
        let (code, json, stderr) = audit_json(img.root(), &[]);
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(triples(&json), planted(&img.built));
        let n: Vec<String> = notes(&json)
            .into_iter()
            .filter(|n| n.starts_with("servicing state not available"))
            .collect();
        assert_eq!(n.len(), 1, "{:?}", notes(&json));
        assert!(
            n[0].contains("Windows/System32/config/COMPONENTS") && n[0].contains(expect),
            "{n:?}"
        );
    }
}

#[test]
fn without_hives_the_audit_says_so_once() {
    let spec = Spec {
        seed: 88,
        scale: Scale::Tiny,
        faults: vec![Fault::FlipByte],
        compress: true,
    };
    let img = TestImage::build(&spec);
    // The WinSxS folder alone: no way to reach the hives.
    let (code, json, _) = audit_json(&img.winsxs(), &[]);
    assert_eq!(code, 1);
    let n: Vec<String> = notes(&json)
        .into_iter()
        .filter(|n| n.contains("servicing state not available"))
        .collect();
    assert_eq!(n.len(), 1, "{:?}", notes(&json));
    assert!(n[0].contains("WinSxS folder alone"), "{n:?}");
    // The image root without hive files.
    fs::remove_file(config(&img).join("COMPONENTS")).unwrap();
    fs::remove_file(config(&img).join("SOFTWARE")).unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 1);
    assert_eq!(triples(&json), planted(&img.built));
    let n: Vec<String> = notes(&json)
        .into_iter()
        .filter(|n| n.contains("servicing state not available"))
        .collect();
    assert_eq!(n.len(), 1, "{:?}", notes(&json));
}

#[test]
fn info_shows_the_servicing_state() {
    let spec = Spec {
        seed: 89,
        scale: Scale::Tiny,
        faults: vec![Fault::Superseded],
        compress: true,
    };
    let img = TestImage::build(&spec);
    let out = sxsaudit(&["info", img.root().to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &doc["store"];
    assert_eq!(s["servicing_stack"], "10.0.17763.1911");
    assert_eq!(s["build"], "17763.1911");
    assert_eq!(s["servicing"]["components"], img.built.components.len());
    assert_eq!(s["servicing"]["packages"]["Installed (112)"], 3);
    assert_eq!(s["servicing"]["packages"]["Superseded (80)"], 1);
    assert_eq!(s["pending"].as_array().unwrap().len(), 0);
    let text = sxsaudit(&["info", img.root().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("packages: 3 Installed (112), 1 Superseded (80)"),
        "{text}"
    );
    assert!(text.contains("pending operations: none"), "{text}");
}

#[test]
fn hives_inside_a_wim_are_read_like_a_folders() {
    let Some(tool) = (Command::new("wimlib-imagex")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success()))
    .then_some("wimlib-imagex")
    .or_else(|| {
        if std::env::var_os("SXSAUDIT_REQUIRE_WIMLIB").is_some_and(|v| v == "1") {
            panic!("wimlib-imagex required but not found");
        }
        eprintln!("skipped: wimlib-imagex not found");
        None
    }) else {
        return;
    };
    let spec = Spec {
        seed: 90,
        scale: Scale::Tiny,
        faults: vec![Fault::Superseded, Fault::ManifestHashMismatch],
        compress: true,
    };
    let img = TestImage::build(&spec);
    // Upper-case names on the way: the config folder and hives are found whatever their case.
    fs::rename(config(&img), img.root().join("Windows/System32/CONFIG")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let wim = out.path().join("install.wim");
    let o = Command::new(tool)
        .arg("capture")
        .arg(img.root())
        .arg(&wim)
        .arg("img")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code_dir, dir_json, _) = audit_json(img.root(), &[]);
    let (code_wim, wim_json, _) = audit_json(&wim, &[]);
    assert_eq!(triples(&wim_json), planted(&img.built));
    assert_eq!(dir_json["findings"], wim_json["findings"]);
    assert_eq!((code_dir, code_wim), (4, 4));
}
