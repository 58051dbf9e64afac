//! Repair sources and `compare`: three images from the builder. A has planted faults; B is a
//! copy of the same build where some of A's bad payloads are good, some are corrupt the same
//! way (the same bad golden image) and some components are absent; C is a partial source.

use std::fs;
use std::path::{Path, PathBuf};

use sxsaudit::demo::{Fault, Scale, Spec};

use crate::util::*;

const SEED: u64 = 60;

fn a_spec() -> Spec {
    use Fault::*;
    Spec {
        seed: SEED,
        scale: Scale::Tiny,
        faults: vec![
            FlipByte,
            FlipByte,
            FlipByte,
            FlipByte,
            DeletePayload,
            DeleteFolder,
        ],
        compress: true,
    }
}

struct Fixture {
    a: TestImage,
    b: TestImage,
    c: TestImage,
    /// (component, file) -> the verdict name planted.
    expected: Vec<((String, String), &'static str)>,
}

fn fixture() -> Fixture {
    let a = TestImage::build(&a_spec());
    let b = TestImage::build(&Spec {
        faults: vec![],
        ..a_spec()
    });
    let c = TestImage::build(&Spec {
        faults: vec![],
        ..a_spec()
    });
    let bad: Vec<(String, String)> = a
        .built
        .planted
        .iter()
        .map(|p| (p.component.clone(), p.file.clone().unwrap()))
        .collect();
    assert!(bad.len() >= 6);
    let mut expected = Vec::new();
    for (i, (comp, file)) in bad.iter().enumerate() {
        let verdict = match i {
            // B has the same bad copy as A: the motivating case.
            0 => {
                let bad_copy = fs::read(payload_path(a.root(), comp, file)).unwrap();
                fs::write(payload_path(b.root(), comp, file), bad_copy).unwrap();
                "source_corrupt"
            }
            // B lacks the component; C has a good copy.
            2 => {
                fs::remove_dir_all(b.root().join("Windows/WinSxS").join(comp)).unwrap();
                "repairable_c"
            }
            // B lacks the component and so does C.
            3 => {
                fs::remove_dir_all(b.root().join("Windows/WinSxS").join(comp)).unwrap();
                fs::remove_dir_all(c.root().join("Windows/WinSxS").join(comp)).unwrap();
                "no_source"
            }
            _ => "repairable_b",
        };
        expected.push(((comp.clone(), file.clone()), verdict));
    }
    // C is partial: only the components the test needs from it.
    for comp in c.built.components.iter().map(|c| c.keyform.clone()) {
        if !expected
            .iter()
            .any(|((k, _), v)| k == &comp && *v == "repairable_c")
        {
            let _ = fs::remove_dir_all(c.root().join("Windows/WinSxS").join(&comp));
        }
    }
    Fixture { a, b, c, expected }
}

#[test]
fn every_bad_payload_gets_the_planted_verdict() {
    let f = fixture();
    let (bs, cs) = (
        f.b.root().to_str().unwrap().to_string(),
        f.c.root().to_str().unwrap().to_string(),
    );
    let (code, json, stderr) = audit_json(f.a.root(), &["--source", &bs, "--source", &cs]);
    assert_eq!(code, 1 | 2 | 8, "{stderr}");
    let mut counts = (0, 0, 0);
    for ((comp, file), want) in &f.expected {
        let finding = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["component"] == comp.as_str() && x["file"] == file.as_str())
            .unwrap();
        let r = &finding["repair"];
        match *want {
            "source_corrupt" => {
                assert_eq!(r["verdict"], "source_corrupt", "{finding:#}");
                counts.1 += 1;
            }
            "no_source" => {
                assert_eq!(r["verdict"], "no_source", "{finding:#}");
                counts.2 += 1;
            }
            src => {
                assert_eq!(r["verdict"], "repairable", "{finding:#}");
                assert_eq!(
                    r["source"],
                    if src == "repairable_b" {
                        bs.as_str()
                    } else {
                        cs.as_str()
                    }
                );
                counts.0 += 1;
            }
        }
    }
    let s = &json["repairs"];
    assert_eq!(
        (
            s["repairable"].as_u64().unwrap(),
            s["source_corrupt"].as_u64().unwrap(),
            s["no_source"].as_u64().unwrap()
        ),
        (counts.0, counts.1, counts.2)
    );
    let text = String::from_utf8(
        sxsaudit(&[
            "audit",
            f.a.root().to_str().unwrap(),
            "--source",
            &bs,
            "--source",
            &cs,
            "--no-progress",
        ])
        .stdout,
    )
    .unwrap();
    assert!(
        text.contains(&format!(
            "{} bad payloads: {} can be repaired",
            f.expected.len(),
            counts.0
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} are corrupt in the sources as well, {} are in no source",
            counts.1, counts.2
        )),
        "{text}"
    );
    assert!(text.contains("Repair failed: Missing replacement payload."));
    // With B repairing everything it can, but no no_source left, bit 8 stays as long as any is unrepairable.
    let (code, _, _) = audit_json(f.b.root(), &["--source", f.a.root().to_str().unwrap()]);
    assert_eq!(code & 8, 8);
}

#[test]
fn export_round_trip_repairs_the_repairable() {
    let f = fixture();
    let (bs, cs) = (
        f.b.root().to_str().unwrap().to_string(),
        f.c.root().to_str().unwrap().to_string(),
    );
    let out = tempfile::tempdir().unwrap();
    let export = out.path().join("repair-source");
    let o = sxsaudit(&[
        "audit",
        f.a.root().to_str().unwrap(),
        "--source",
        &bs,
        "--source",
        &cs,
        "--export-source",
        export.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(11),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Copy A, put the exported payloads in place, audit again.
    let copy = tempfile::tempdir().unwrap();
    copy_tree(f.a.root(), copy.path());
    let mut repaired = 0;
    for ((comp, file), want) in &f.expected {
        if want.starts_with("repairable") {
            let mut from = export.join("Windows/WinSxS").join(comp);
            from.extend(file.split('\\'));
            let mut to = copy.path().join("Windows/WinSxS").join(comp);
            to.extend(file.split('\\'));
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            let _ = fs::remove_file(disk_or(&to));
            fs::copy(&from, &to).unwrap();
            assert!(export
                .join("Windows/WinSxS/Manifests")
                .join(format!("{comp}.manifest"))
                .is_file());
            repaired += 1;
        }
    }
    assert!(repaired >= 2);
    let (_, json, _) = audit_json(copy.path(), &[]);
    let left: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["component"].as_str().unwrap().to_string(),
                x["file"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for ((comp, file), want) in &f.expected {
        assert_eq!(
            left.contains(&(comp.clone(), file.clone())),
            !want.starts_with("repairable"),
            "{comp}\\{file}"
        );
    }
    // The audited image and the sources were not written to.
    assert!(!f.a.root().join("repair-source").exists());
}

/// The real file behind a path, whatever the case of its name on disk.
fn disk_or(p: &Path) -> PathBuf {
    let parent = p.parent().unwrap();
    fs::read_dir(parent)
        .ok()
        .and_then(|mut r| {
            r.find_map(|e| {
                e.ok().map(|e| e.path()).filter(|q| {
                    q.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .eq_ignore_ascii_case(&p.file_name().unwrap().to_string_lossy())
                })
            })
        })
        .unwrap_or(p.to_path_buf())
}

fn copy_tree(from: &Path, to: &Path) {
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            fs::create_dir_all(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn bad_sources_and_export_folders_are_clear_errors() {
    let f = fixture();
    let a = f.a.root().to_str().unwrap();
    let nowhere = tempfile::tempdir().unwrap();
    let o = sxsaudit(&["audit", a, "--source", nowhere.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(66));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--source"));
    let o = sxsaudit(&["audit", a, "--source", a]);
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("audited image itself"));
    let o = sxsaudit(&["audit", &format!("{a}/Windows"), "--source", a]);
    assert_eq!(
        o.status.code(),
        Some(64),
        "the same image named at another level"
    );
    let full = tempfile::tempdir().unwrap();
    fs::write(full.path().join("x"), b"x").unwrap();
    let o = sxsaudit(&[
        "audit",
        a,
        "--source",
        f.b.root().to_str().unwrap(),
        "--export-source",
        full.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    let inside = f.a.root().join("export");
    let o = sxsaudit(&[
        "audit",
        a,
        "--source",
        f.b.root().to_str().unwrap(),
        "--export-source",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(64));
    assert!(!inside.exists());
}

#[test]
fn compare_reports_what_differs() {
    let f = fixture();
    let run = |x: &Path, y: &Path| {
        let o = sxsaudit(&[
            "compare",
            x.to_str().unwrap(),
            y.to_str().unwrap(),
            "--json",
        ]);
        (
            o.status.code().unwrap(),
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(),
        )
    };
    let (code, j) = run(f.a.root(), f.b.root());
    assert_eq!(code, 1);
    let s = &j["summary"];
    // B lacks the payload folders of two components (their manifests are still there), and A
    // lacks a deleted payload and a deleted folder that B has.
    assert_eq!(s["components_only_in_a"], 0);
    assert_eq!(s["components_only_in_b"], 0);
    assert!(s["payloads_only_in_a"].as_u64().unwrap() >= 2, "{s:#}");
    assert!(s["payloads_only_in_b"].as_u64().unwrap() >= 2, "{s:#}");
    // A's payloads that B has good (differ) vs. the same bad copies (equal).
    let differ: Vec<_> = j["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "different")
        .collect();
    assert!(!differ.is_empty());
    for p in &differ {
        assert_eq!(p["a_matches_manifest"], false, "{p:#}");
        assert_eq!(p["b_matches_manifest"], true, "{p:#}");
    }
    let (code, j) = run(f.b.root(), f.b.root());
    assert_eq!(code, 0);
    assert_eq!(j["summary"]["payloads_different"], 0);
    // Byte-stable.
    let once = sxsaudit(&[
        "compare",
        f.a.root().to_str().unwrap(),
        f.c.root().to_str().unwrap(),
        "--json",
    ])
    .stdout;
    assert_eq!(
        once,
        sxsaudit(&[
            "compare",
            f.a.root().to_str().unwrap(),
            f.c.root().to_str().unwrap(),
            "--json",
            "--threads",
            "1"
        ])
        .stdout
    );
}

#[test]
fn compare_on_wims_equals_compare_on_folders() {
    let Some(tool) = wimlib() else { return };
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    let mut wims = Vec::new();
    for (name, img, args) in [
        ("a.wim", f.a.root(), "--compress=LZX"),
        ("b.esd", f.b.root(), "--solid"),
    ] {
        let w = out.path().join(name);
        let o = std::process::Command::new(tool)
            .arg("capture")
            .arg(img)
            .arg(&w)
            .arg("x")
            .arg(args)
            .output()
            .unwrap();
        assert!(o.status.success());
        wims.push(w);
    }
    let cmp = |x: &Path, y: &Path| {
        let o = sxsaudit(&[
            "compare",
            x.to_str().unwrap(),
            y.to_str().unwrap(),
            "--json",
        ]);
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["a"] = serde_json::Value::Null;
        v["b"] = serde_json::Value::Null;
        (o.status.code(), v)
    };
    assert_eq!(cmp(&wims[0], &wims[1]), cmp(f.a.root(), f.b.root()));
}

#[test]
fn an_unreadable_copy_in_a_source_is_not_a_repair() {
    let f = fixture();
    let ((comp, file), _) = f
        .expected
        .iter()
        .find(|(_, v)| *v == "repairable_b")
        .unwrap()
        .clone();
    // B's copy becomes a folder of the same name: present, but unreadable as a payload.
    let p = payload_path(f.b.root(), &comp, &file);
    fs::remove_file(&p).unwrap();
    fs::create_dir(&p).unwrap();
    let (_, json, _) = audit_json(f.a.root(), &["--source", f.b.root().to_str().unwrap()]);
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["component"] == comp.as_str() && x["file"] == file.as_str())
        .unwrap();
    assert_eq!(
        finding["repair"]["verdict"], "source_corrupt",
        "{finding:#}"
    );
    assert!(
        finding["repair"]["sources"][0][1]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{finding:#}"
    );
}

#[test]
fn repair_verdicts_reach_sarif_and_junit() {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    let (sarif, junit) = (out.path().join("r.sarif"), out.path().join("r.xml"));
    let o = sxsaudit(&[
        "audit",
        f.a.root().to_str().unwrap(),
        "--source",
        f.b.root().to_str().unwrap(),
        "--report",
        &format!("sarif={}", sarif.display()),
        "--report",
        &format!("junit={}", junit.display()),
        "-q",
    ]);
    assert_eq!(o.status.code().unwrap() & 8, 8);
    let s: serde_json::Value = serde_json::from_slice(&fs::read(&sarif).unwrap()).unwrap();
    let verdicts: Vec<String> = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            r["properties"]["repair"]["verdict"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(
        verdicts.contains(&"repairable".to_string())
            && verdicts.contains(&"source_corrupt".to_string()),
        "{verdicts:?}"
    );
    let x = fs::read_to_string(&junit).unwrap();
    assert!(
        x.contains("repair: a good copy is in") && x.contains("as well"),
        "{x}"
    );
}
