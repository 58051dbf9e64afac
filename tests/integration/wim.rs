//! WIM/ESD archives audited in place, against wimlib as the independent oracle: the findings
//! on each archive equal the findings on the folder it was captured from; a damaged blob is
//! `wim_blob_corrupt` for exactly the paths that use it; hostile archives are clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use sxsaudit::demo::{Fault, Scale, Spec};

use crate::util::*;

fn capture(tool: &str, dir: &Path, wim: &Path, args: &[&str]) {
    let out = Command::new(tool)
        .arg("capture")
        .arg(dir)
        .arg(wim)
        .arg("img")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn findings(v: &serde_json::Value) -> serde_json::Value {
    v["findings"].clone()
}

/// A faulted, DCM-compressed image, plus a hard link from the store into System32 (a
/// projection, as Windows makes them).
fn image() -> TestImage {
    let img = TestImage::build(&Spec::demo(Scale::Tiny, 40));
    let c = &img.built.components[0];
    let store = img.winsxs().join(&c.keyform).join("classpnp.sys");
    let drivers = img.root().join("Windows/System32/drivers");
    std::fs::create_dir_all(&drivers).unwrap();
    std::fs::hard_link(store, drivers.join("classpnp.sys")).unwrap();
    img
}

#[test]
fn findings_on_each_archive_equal_findings_on_the_folder() {
    let Some(tool) = wimlib() else { return };
    let img = image();
    let (dir_code, dir_json, _) = audit_json(img.root(), &[]);
    assert_eq!(triples(&dir_json), planted(&img.built));
    let out = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 6] = [
        ("none.wim", &["--compress=none"]),
        ("xpress.wim", &["--compress=XPRESS"]),
        ("lzx.wim", &["--compress=LZX"]),
        ("lzx64k.wim", &["--compress=LZX", "--chunk-size=65536"]),
        ("lzms.wim", &["--compress=LZMS"]),
        ("solid.esd", &["--solid"]),
    ];
    for (name, args) in cases {
        let wim = out.path().join(name);
        capture(tool, img.root(), &wim, args);
        let (code, json, stderr) = audit_json(&wim, &[]);
        assert_eq!(code, dir_code, "{name}: {stderr}");
        assert_eq!(findings(&json), findings(&dir_json), "{name}");
        assert_eq!(json["image"]["source"], "wim");
        for k in [
            "manifests",
            "manifests_compressed",
            "components",
            "payload_files",
            "hash_mismatch",
            "missing_payload",
        ] {
            assert_eq!(json["summary"][k], dir_json["summary"][k], "{name} {k}");
        }
    }
}

#[test]
fn several_images_in_one_archive() {
    let Some(tool) = wimlib() else { return };
    let clean = TestImage::build(&Spec::clean(Scale::Tiny, 41));
    let bad = image();
    let out = tempfile::tempdir().unwrap();
    let wim = out.path().join("multi.wim");
    capture(tool, clean.root(), &wim, &["--compress=LZX"]);
    let app = Command::new(tool)
        .arg("append")
        .arg(bad.root())
        .arg(&wim)
        .arg("second")
        .output()
        .unwrap();
    assert!(
        app.status.success(),
        "{}",
        String::from_utf8_lossy(&app.stderr)
    );
    let (c1, j1, _) = audit_json(&wim, &[]);
    assert_eq!(
        (c1, j1["findings"].as_array().unwrap().len()),
        (0, 0),
        "image 1 is the clean one"
    );
    let wim_s = wim.to_str().unwrap();
    let (c2, j2, _) = audit_json(Path::new(&format!("{wim_s}:2")), &[]);
    let (c3, j3, _) = audit_json(&wim, &["--index", "2"]);
    assert_eq!(triples(&j2), planted(&bad.built));
    assert_eq!(j2["findings"], j3["findings"]);
    assert_eq!((c2, c3), (7, 7));
    let no = sxsaudit(&["audit", wim_s, "--index", "3"]);
    assert_eq!(no.status.code(), Some(66));
    assert!(String::from_utf8_lossy(&no.stderr).contains("no image 3"));
    let info = sxsaudit(&["info", wim_s]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("2 image(s)") && text.contains("[2] second"),
        "{text}"
    );
    assert!(
        j2["image"]["wim_image"]
            .as_str()
            .unwrap()
            .starts_with("image 2 of 2: second"),
        "{j2:#}"
    );
}

/// Offset of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_damaged_blob_is_wim_blob_corrupt_for_exactly_its_paths() {
    let Some(tool) = wimlib() else { return };
    let img = TestImage::build(&Spec {
        compress: false,
        ..Spec::clean(Scale::Tiny, 42)
    });
    let c = img
        .built
        .components
        .iter()
        .filter(|c| !c.files.is_empty() && !c.files[0].name.contains('\\'))
        .max_by_key(|c| c.files[0].size)
        .unwrap();
    let name = &c.files[0].name;
    let store = payload_path(img.root(), &c.keyform, name);
    std::fs::create_dir_all(img.root().join("Windows/System32/drivers")).unwrap();
    std::fs::hard_link(
        &store,
        img.root()
            .join("Windows/System32/drivers")
            .join(store.file_name().unwrap()),
    )
    .unwrap();
    let content = std::fs::read(&store).unwrap();
    assert!(content.len() > 64);
    let out = tempfile::tempdir().unwrap();
    let wim = out.path().join("none.wim");
    capture(tool, img.root(), &wim, &["--compress=none"]);
    let mut bytes = std::fs::read(&wim).unwrap();
    let at = find(&bytes, &content[..64]).expect("stored blob") + content.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&wim, &bytes).unwrap();
    let (code, json, _) = audit_json(&wim, &[]);
    assert_eq!(code, 4, "{json:#}");
    assert_eq!(
        triples(&json),
        vec![(
            "wim_blob_corrupt".to_string(),
            c.keyform.clone(),
            Some(name.clone())
        )]
    );
    let verify = Command::new(tool).arg("verify").arg(&wim).output().unwrap();
    assert!(
        !verify.status.success(),
        "wimlib agrees the archive is damaged"
    );
}

#[test]
fn truncated_and_lying_archives_are_clear_errors() {
    let Some(tool) = wimlib() else { return };
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 43));
    let out = tempfile::tempdir().unwrap();
    let wim = out.path().join("x.wim");
    capture(tool, img.root(), &wim, &["--compress=LZX"]);
    let bytes = std::fs::read(&wim).unwrap();
    let cut = out.path().join("cut.wim");
    // (Cutting only the XML at the end is harmless: the audit does not need it.)
    for len in [8, 100, 208, bytes.len() / 3, bytes.len() * 2 / 3] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let o = sxsaudit(&["audit", cut.to_str().unwrap()]);
        let code = o.status.code().unwrap();
        assert!(code == 66 || code & 4 == 4, "len {len}: exit {code}");
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    }
    // A blob table offset past the end (header field at 0x38).
    let mut lying = bytes.clone();
    lying[0x38..0x40].copy_from_slice(&(bytes.len() as u64 * 4).to_le_bytes());
    std::fs::write(&cut, &lying).unwrap();
    let o = sxsaudit(&["audit", cut.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(66),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// DCS payloads made of LZMS chunks that wimlib wrote: decode to the original bytes, audit
/// clean; a corrupted one is a finding, never a panic.
#[test]
fn dcs_payloads_from_wimlib_lzms_chunks() {
    let Some(tool) = wimlib() else { return };
    let img = TestImage::build(&Spec {
        compress: false,
        ..Spec::clean(Scale::Tiny, 44)
    });
    let out = tempfile::tempdir().unwrap();
    let wim = out.path().join("lzms.wim");
    capture(
        tool,
        img.root(),
        &wim,
        &["--compress=LZMS", "--chunk-size=32768"],
    );
    let archive = sxs_wim::Wim::open(&wim).unwrap();
    let image = archive.image(1).unwrap();
    let mut rewrapped: Vec<PathBuf> = Vec::new();
    for c in img
        .built
        .components
        .iter()
        .filter(|c| !c.files.is_empty() && !c.legacy)
    {
        let f = &c.files[0];
        let original = sxsaudit::demo::content(f);
        if original.len() < 4096 || f.name.contains('\\') {
            continue;
        }
        let parts = ["Windows", "WinSxS", &c.keyform, &f.name];
        let entry = &image.entries[image.lookup(&parts).expect("in the archive")];
        let chunks = archive
            .raw_chunks(entry.hash.as_ref().unwrap(), 1 << 30)
            .unwrap();
        let blocks: Vec<(&[u8], u32)> = chunks
            .iter()
            .map(|(b, n)| (b.as_slice(), *n as u32))
            .collect();
        let dcs = sxsaudit::format::dcs::assemble(&blocks);
        assert_eq!(
            sxsaudit::format::dcs::decode(&dcs, 1 << 30).unwrap(),
            original,
            "{}",
            f.name
        );
        let on_disk = payload_path(img.root(), &c.keyform, &f.name);
        std::fs::write(&on_disk, &dcs).unwrap();
        rewrapped.push(on_disk);
        if rewrapped.len() == 6 {
            break;
        }
    }
    assert!(rewrapped.len() >= 3, "enough payloads to rewrap");
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 0, "{json:#}");
    // Corrupt one DCS payload's LZMS data: a finding, not a panic.
    let mut bad = std::fs::read(&rewrapped[0]).unwrap();
    let n = bad.len();
    for b in &mut bad[n / 2..n / 2 + 8] {
        *b ^= 0xA5;
    }
    std::fs::write(&rewrapped[0], &bad).unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    let kinds: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.len(), 1, "{json:#}");
    assert!(
        kinds[0] == "hash_mismatch" || kinds[0] == "unverifiable",
        "{kinds:?}"
    );
    assert!(code == 1 || code == 4);
}

#[test]
fn corrupt_payload_faults_are_found_in_lzx_archives_with_dcn_payloads() {
    let Some(tool) = wimlib() else { return };
    let img = TestImage::build(&Spec {
        seed: 45,
        scale: Scale::Tiny,
        faults: vec![Fault::FlipByte, Fault::DeleteFolder],
        compress: true,
    });
    let out = tempfile::tempdir().unwrap();
    let wim = out.path().join("lzx.wim");
    capture(tool, img.root(), &wim, &["--compress=LZX"]);
    let (_, json, _) = audit_json(&wim, &[]);
    assert_eq!(triples(&json), planted(&img.built));
}
