//! The audit on built images: each planted fault gives exactly its finding and exit bits; a
//! clean image exits 0; all three entry levels agree; the JSON is byte-stable across threads.

use sxsaudit::demo::{Fault, Scale, Spec};

use crate::util::*;

#[test]
fn clean_image_exits_zero() {
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 1));
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["findings"].as_array().unwrap().len(), 0);
    let s = &json["summary"];
    assert_eq!(s["manifests"], img.built.components.len() as u64);
    let files: usize = img.built.components.iter().map(|c| c.files.len()).sum();
    assert_eq!(s["payload_files"], files as u64);
    assert_eq!(s["bytes_hashed"], img.built.bytes);
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["tool"]["name"], "sxsaudit");
}

#[test]
fn each_planted_fault_is_found_exactly_with_its_exit_code() {
    let cases = [
        (Fault::FlipByte, 1),
        (Fault::Truncate, 1),
        (Fault::DeletePayload, 2),
        (Fault::DeleteFolder, 2),
        (Fault::GarbageManifest, 4),
        (Fault::TruncateManifest, 4),
        (Fault::UnknownAlgorithm, 4),
        (Fault::BadDigestValue, 4),
        (Fault::KeyformMismatch, 0),
        (Fault::EscapingName, 4),
    ];
    for (i, (fault, code)) in cases.into_iter().enumerate() {
        let spec = Spec {
            seed: 100 + i as u64,
            scale: Scale::Tiny,
            faults: vec![Fault::FlipByte, fault],
            compress: true,
        };
        let img = TestImage::build(&spec);
        let (got, json, stderr) = audit_json(img.root(), &["--threads", "2"]);
        assert_eq!(triples(&json), planted(&img.built), "{fault:?}");
        assert_eq!(got, 1 | code, "{fault:?}: {stderr}");
    }
}

#[test]
fn hash_mismatch_reports_both_digests() {
    let img = TestImage::build(&Spec {
        seed: 7,
        scale: Scale::Tiny,
        faults: vec![Fault::FlipByte],
        compress: true,
    });
    let (_, json, _) = audit_json(img.root(), &[]);
    let f = &json["findings"][0];
    assert_eq!(f["kind"], "hash_mismatch");
    assert_eq!(
        f["component"],
        "amd64_microsoft-windows-classpnp_31bf3856ad364e35_10.0.17763.1911_none_62d03c227e118f87"
    );
    assert_eq!(f["path"], "Windows/WinSxS/amd64_microsoft-windows-classpnp_31bf3856ad364e35_10.0.17763.1911_none_62d03c227e118f87/classpnp.sys");
    assert_eq!(f["algorithm"], "sha256");
    let exp = f["expected"].as_str().unwrap();
    let act = f["actual"].as_str().unwrap();
    assert_ne!(exp, act);
    assert_eq!(exp.len(), 44);
    assert_eq!(f["expected_hex"].as_str().unwrap().len(), 64);
    // The text report speaks CBS.log.
    let out = sxsaudit(&["audit", img.root().to_str().unwrap(), "--no-progress"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("(p)\tCSI Payload Corrupt\tamd64_microsoft-windows-classpnp_"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Found: {{l:32 b:{act}}} Expected: {{l:32 b:{exp}}}"
        )),
        "{text}"
    );
    assert!(text.contains("\tCSI Payload Corruption:\t1"), "{text}");
}

#[test]
fn root_windows_and_winsxs_give_the_same_report() {
    // The WinSxS level cannot reach the hives, so no fault that only the servicing state explains.
    let mut spec = Spec::demo(Scale::Tiny, 5);
    spec.faults
        .retain(|f| !matches!(f, Fault::Superseded | Fault::PayloadRemoved));
    let img = TestImage::build(&spec);
    let (c1, j1, _) = audit_json(img.root(), &[]);
    let (c2, j2, _) = audit_json(&img.root().join("Windows"), &[]);
    let (c3, j3, _) = audit_json(&img.winsxs(), &[]);
    assert_eq!((c1, c2), (c2, c3));
    assert_eq!(j1["findings"], j2["findings"]);
    // Same findings; without the hives the details do not name owning packages.
    assert_eq!(triples(&j1), triples(&j3));
    assert_eq!(j1["image"]["layout"], "root");
    assert_eq!(j2["image"]["layout"], "windows");
    assert_eq!(j3["image"]["layout"], "winsxs");
}

#[test]
fn json_is_byte_identical_across_runs_and_thread_counts() {
    let img = TestImage::build(&Spec::demo(Scale::Small, 17763));
    let dir = img.root().to_str().unwrap();
    let run =
        |threads: &str| sxsaudit(&["audit", dir, "--format", "json", "--threads", threads]).stdout;
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("2"));
    assert_eq!(one, run("0"));
}

#[test]
fn output_file_and_quiet() {
    let img = TestImage::build(&Spec {
        seed: 3,
        scale: Scale::Tiny,
        faults: vec![Fault::DeletePayload],
        compress: true,
    });
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("r.json");
    let out = sxsaudit(&[
        "audit",
        img.root().to_str().unwrap(),
        "--format",
        "json",
        "-o",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["summary"]["missing_payload"], 1);
    // Nothing was written into the image.
    assert!(!img.root().join("r.json").exists());
}

#[test]
fn differential_folders_are_never_compared() {
    // The builder writes f/ and r/ files that differ from the payloads, so a clean audit
    // proves they were not compared.
    let img = TestImage::build(&Spec::clean(Scale::Small, 11));
    let with_diffs = img.built.components.iter().filter(|c| c.diffs).count();
    assert!(with_diffs > 100);
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 0, "{json:#}");
}

#[test]
fn demo_command_checks_itself() {
    let out = sxsaudit(&[
        "demo",
        "--scale",
        "tiny",
        "--format",
        "json",
        "--no-progress",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["summary"]["hash_mismatch"].as_u64().unwrap() >= 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("found exactly the"));
}

#[test]
fn quick_finds_everything_but_content_faults_and_reads_no_payload() {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 17763));
    let (full_code, full, _) = audit_json(img.root(), &[]);
    // A payload that cannot be opened: the full audit reports it, a quick audit never opens it.
    let victim = img
        .built
        .components
        .iter()
        .find(|c| {
            !c.files.is_empty() && !img.built.planted.iter().any(|p| p.component == c.keyform)
        })
        .unwrap();
    let path = payload_path(img.root(), &victim.keyform, &victim.files[0].name);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let (code, quick, stderr) = audit_json(img.root(), &["--quick"]);
    std::fs::remove_dir(&path).unwrap();
    std::fs::write(&path, bytes).unwrap();
    // Content kinds are not looked for; every other planted finding is found, plus the
    // folder where a file should be (seen in the listing, not by opening it).
    let content = ["hash_mismatch"];
    let mut expected: Vec<_> = triples(&full)
        .into_iter()
        .filter(|t| !content.contains(&t.0.as_str()))
        .collect();
    expected.push((
        "unreadable".into(),
        victim.keyform.clone(),
        Some(victim.files[0].name.clone()),
    ));
    expected.sort();
    assert_eq!(triples(&quick), expected, "{stderr}");
    assert!(triples(&full).iter().any(|t| t.0 == "hash_mismatch"));
    assert_eq!(code, full_code & !1);
    assert_eq!(quick["summary"]["bytes_hashed"], 0);
    let notes = quick["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("--quick")),
        "{notes:?}"
    );
}

#[test]
fn demo_plain_stores_nothing_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("img");
    let out = sxsaudit(&[
        "demo",
        root.to_str().unwrap(),
        "--scale",
        "tiny",
        "--plain",
        "--quiet",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifests = root.join("Windows/WinSxS/Manifests");
    let mut n = 0;
    for e in std::fs::read_dir(&manifests).unwrap() {
        let head = std::fs::read(e.unwrap().path()).unwrap();
        assert!(!head.starts_with(b"DCM"));
        n += 1;
    }
    assert!(n > 10);
    let (_, json, _) = audit_json(&root, &[]);
    assert_eq!(json["summary"]["manifests_compressed"], 0);
}
