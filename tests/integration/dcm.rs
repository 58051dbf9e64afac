//! Compressed manifests: DCM manifests decode against the base in the image's servicing-stack
//! wcp.dll (or `--base`), DCN payloads against nothing; the real build-26100 DCM manifests
//! decode with the real base; without a base, DCM manifests are unverifiable with one clear note.

use std::fs;

use sxsaudit::demo::{Scale, Spec};

use crate::util::*;

#[test]
fn dcm_image_gives_the_same_findings_as_plain() {
    let faults = Spec::demo(Scale::Tiny, 50).faults;
    let plain = TestImage::build(&Spec {
        seed: 50,
        scale: Scale::Tiny,
        faults: faults.clone(),
        compress: false,
    });
    let dcm = TestImage::build(&Spec {
        seed: 50,
        scale: Scale::Tiny,
        faults,
        compress: true,
    });
    let (c1, j1, _) = audit_json(plain.root(), &[]);
    let (c2, j2, _) = audit_json(dcm.root(), &[]);
    assert_eq!(c1, c2);
    // Same findings; only the details of a damaged DCN payload differ ("does not decode").
    assert_eq!(triples(&j1), triples(&j2));
    assert_eq!(j1["summary"]["manifests_compressed"], 0);
    assert!(j2["summary"]["manifests_compressed"].as_u64().unwrap() > 20);
    assert_eq!(triples(&j2), planted(&dcm.built));
    assert!(
        dcm.built
            .components
            .iter()
            .any(|c| c.files.iter().any(|f| f.dcn)),
        "some DCN payloads too"
    );
}

#[test]
fn without_a_base_dcm_manifests_are_unverifiable_and_base_restores_them() {
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 51));
    let stack = img
        .built
        .components
        .iter()
        .find(|c| c.keyform.contains("servicingstack"))
        .unwrap();
    let wcp = img.winsxs().join(&stack.keyform).join("wcp.dll");
    let saved = tempfile::tempdir().unwrap();
    let kept = saved.path().join("wcp.dll");
    fs::copy(&wcp, &kept).unwrap();
    fs::remove_dir_all(img.winsxs().join(&stack.keyform)).unwrap();
    fs::remove_file(
        img.winsxs()
            .join("Manifests")
            .join(format!("{}.manifest", stack.keyform)),
    )
    .unwrap();
    // Without its hives too, or the COMPONENTS hive would report the stack's manifest missing.
    fs::remove_file(img.root().join("Windows/System32/config/COMPONENTS")).unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 4);
    let n = json["summary"]["manifests_compressed"].as_u64().unwrap();
    assert_eq!(json["summary"]["unverifiable"].as_u64().unwrap(), n);
    let notes: Vec<&serde_json::Value> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            !n.as_str()
                .unwrap()
                .starts_with("servicing state not available")
        })
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].as_str().unwrap().contains("--base"));
    // --base with the wcp.dll, or with the raw base manifest.
    let (code, json, _) = audit_json(img.root(), &["--base", kept.to_str().unwrap()]);
    assert_eq!(code, 0, "{json:#}");
    let raw = saved.path().join("base.xml");
    fs::write(&raw, img.built.base.as_ref().unwrap()).unwrap();
    let (code, _, _) = audit_json(img.root(), &["--base", raw.to_str().unwrap()]);
    assert_eq!(code, 0);
}

#[test]
fn expand_decodes_dcm_and_dcn_files() {
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 52));
    let c = img
        .built
        .components
        .iter()
        .find(|c| c.dcm && !c.files.is_empty())
        .unwrap();
    let m = img
        .winsxs()
        .join("Manifests")
        .join(format!("{}.manifest", c.keyform));
    assert!(fs::read(&m).unwrap().starts_with(b"DCM\x01"));
    let out = sxsaudit(&[
        "expand",
        m.to_str().unwrap(),
        "--image",
        img.root().to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = sxsaudit::format::manifest::parse(&out.stdout).unwrap();
    assert_eq!(
        sxsaudit::format::keyform::keyform(&parsed.identity),
        c.keyform
    );
    // A DCN payload expands to its content; a plain file passes through.
    let (dc, f) = img
        .built
        .components
        .iter()
        .flat_map(|c| c.files.iter().map(move |f| (c, f)))
        .find(|(_, f)| f.dcn && !f.name.contains('\\'))
        .expect("a DCN payload");
    let p = payload_path(img.root(), &dc.keyform, &f.name);
    let dir = tempfile::tempdir().unwrap();
    let out = sxsaudit(&[
        "expand",
        p.to_str().unwrap(),
        m.to_str().unwrap(),
        "--image",
        img.root().to_str().unwrap(),
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(dir.path().join(p.file_name().unwrap())).unwrap(),
        sxsaudit::demo::content(f)
    );
    // Without a base, a DCM manifest cannot be expanded: a clear message, exit 4.
    let out = sxsaudit(&["expand", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--base"));
}

/// The seven real build-26100 DCM manifests, in an image with the real base given by --base:
/// every one decodes to a manifest whose identity gives back its own file name.
#[test]
fn real_dcm_manifests_decode_and_match_their_keyforms() {
    let Some(real) = realdata() else { return };
    let dir = real.join("dcm-manifests-26100");
    let img = tempfile::tempdir().unwrap();
    let manifests = img.path().join("Windows/WinSxS/Manifests");
    fs::create_dir_all(&manifests).unwrap();
    let mut n = 0;
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "manifest") {
            fs::copy(&p, manifests.join(p.file_name().unwrap())).unwrap();
            n += 1;
        }
    }
    assert_eq!(n, 7);
    let base = dir.join("base_manifest.bin");
    let (code, json, stderr) = audit_json(img.path(), &["--base", base.to_str().unwrap()]);
    assert_eq!(json["summary"]["manifests"], 7);
    assert_eq!(json["summary"]["manifests_compressed"], 7);
    // No payloads were copied: every finding is a missing payload, none is about a manifest.
    for f in json["findings"].as_array().unwrap() {
        assert_eq!(f["kind"], "missing_payload", "{f:#} {stderr}");
    }
    assert_eq!(code, 2);
    // The only note is that this bare image has no hives (no servicing state).
    let notes = json["notes"].as_array().unwrap();
    assert!(
        notes.iter().all(|n| n
            .as_str()
            .unwrap()
            .starts_with("servicing state not available")),
        "the real base is the known one: {json:#}"
    );
    // And `expand` gives the reconstructed core manifest byte for byte.
    let core = dir.join(
        "amd64_microsoft-windows-core_31bf3856ad364e35_10.0.26100.1_none_a943f5e781a44c5c.manifest",
    );
    let out = sxsaudit(&[
        "expand",
        core.to_str().unwrap(),
        "--base",
        base.to_str().unwrap(),
    ]);
    assert_eq!(
        out.stdout,
        fs::read(
            dir.join("amd64_microsoft-windows-core_10.0.26100.1.decoded.reconstructed-CRLF.xml")
        )
        .unwrap()
    );
}
