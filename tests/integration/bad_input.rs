//! Hostile and broken input: not an image, empty stores, garbage, unreadable files, symbolic
//! links that loop or lead out of the image, names that climb out of their folder.

use std::fs;

use sxsaudit::demo::{Fault, Scale, Spec};

use crate::util::*;

#[test]
fn not_an_image_exits_66_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("Users")).unwrap();
    for path in [
        dir.path().to_path_buf(),
        dir.path().join("missing"),
        dir.path().join("Users"),
    ] {
        let out = sxsaudit(&["audit", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(66));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a Windows image"), "{err}");
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
    let file = dir.path().join("file.txt");
    fs::write(&file, "x").unwrap();
    let out = sxsaudit(&["audit", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(66));
}

#[test]
fn empty_manifests_folder_verifies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("Windows/WinSxS/Manifests")).unwrap();
    let out = sxsaudit(&["audit", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(66));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no .manifest files"));
}

/// The Manifests folder replaced by a link to a copy outside the image: nothing is read
/// through it, and the run says why.
#[cfg(unix)]
#[test]
fn a_linked_manifests_folder_is_never_listed() {
    use std::os::unix::fs::symlink;
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 8));
    let manifests = img.winsxs().join("Manifests");
    let outside = tempfile::tempdir().unwrap();
    let copy = outside.path().join("Manifests");
    fs::rename(&manifests, &copy).unwrap();
    symlink(&copy, &manifests).unwrap();
    let out = sxsaudit(&["audit", img.root().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(66));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is a symbolic link, which is never followed"),
        "{err}"
    );
    // The same image with the folder put back is clean.
    fs::remove_file(&manifests).unwrap();
    fs::rename(&copy, &manifests).unwrap();
    assert_eq!(audit_json(img.root(), &[]).0, 0);
}

#[test]
fn usage_errors_exit_64() {
    assert_eq!(sxsaudit(&["audit"]).status.code(), Some(64));
    assert_eq!(
        sxsaudit(&["audit", ".", "--format", "yaml"]).status.code(),
        Some(64)
    );
    assert_eq!(
        sxsaudit(&["audit", ".", "--threads", "many"]).status.code(),
        Some(64)
    );
    assert_eq!(sxsaudit(&["frobnicate"]).status.code(), Some(64));
    let help = sxsaudit(&["audit", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("66  the input is not a Windows image"));
}

#[test]
fn binary_garbage_manifest_is_corrupt_and_the_rest_is_checked() {
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 21));
    let victim = &img.built.components[3].keyform;
    fs::write(
        img.winsxs()
            .join("Manifests")
            .join(format!("{victim}.manifest")),
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 4);
    assert_eq!(
        triples(&json),
        vec![("manifest_corrupt".into(), victim.clone(), None)]
    );
    assert!(json["summary"]["bytes_hashed"].as_u64().unwrap() > 0);
}

#[test]
fn names_that_climb_out_are_corrupt_and_never_read() {
    let img = TestImage::build(&Spec {
        seed: 4,
        scale: Scale::Tiny,
        faults: vec![Fault::EscapingName],
        compress: true,
    });
    // The file the name points at exists: it must still not be read.
    fs::write(img.root().join("Windows/System32/evil.dll"), b"x").unwrap();
    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 4);
    assert_eq!(triples(&json), planted(&img.built));
    assert!(json["findings"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("does not stay inside the component folder"));
}

#[cfg(unix)]
#[test]
fn symlinks_are_never_followed() {
    use std::os::unix::fs::symlink;
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 8));
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.dll"), b"outside the image").unwrap();
    let withfiles: Vec<_> = img
        .built
        .components
        .iter()
        .filter(|c| !c.files.is_empty() && !c.files[0].name.contains('\\'))
        .collect();
    // 1. A payload replaced by a link out of the image.
    let a = withfiles[0];
    let target = payload_path(img.root(), &a.keyform, &a.files[0].name);
    fs::remove_file(&target).unwrap();
    symlink(outside.path().join("secret.dll"), &target).unwrap();
    // 2. A whole component folder replaced by a link out of the image.
    let b = withfiles[1];
    fs::remove_dir_all(img.winsxs().join(&b.keyform)).unwrap();
    symlink(outside.path(), img.winsxs().join(&b.keyform)).unwrap();
    // 3. A link loop inside the store, and a payload that is a link to itself.
    symlink(img.winsxs(), img.winsxs().join("loop")).unwrap();
    let c = withfiles[2];
    let self_link = payload_path(img.root(), &c.keyform, &c.files[0].name);
    fs::remove_file(&self_link).unwrap();
    symlink(&self_link, &self_link).unwrap();

    let (code, json, _) = audit_json(img.root(), &[]);
    assert_eq!(code, 4, "{json:#}");
    let findings = json["findings"].as_array().unwrap();
    let unreadable: Vec<_> = findings
        .iter()
        .filter(|f| f["kind"] == "unreadable")
        .collect();
    assert_eq!(unreadable.len(), 1 + b.files.len() + 1, "{json:#}");
    assert!(unreadable
        .iter()
        .all(|f| f["detail"].as_str().unwrap().contains("symbolic link")));
    assert_eq!(findings.len(), unreadable.len());
}

/// A payload and a manifest that are FIFOs are never opened (opening a FIFO waits for a
/// writer): each is looked at first, and the audit finishes and names them. The timeout turns
/// a regression into a failure instead of a hang.
#[cfg(unix)]
#[test]
fn fifos_are_never_opened() {
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 8));
    let mut withfiles = img
        .built
        .components
        .iter()
        .filter(|c| !c.files.is_empty() && !c.files[0].name.contains('\\'));
    let a = withfiles.next().unwrap();
    let b = withfiles.next().unwrap();
    let payload = payload_path(img.root(), &a.keyform, &a.files[0].name);
    let manifest = img
        .winsxs()
        .join("Manifests")
        .join(format!("{}.manifest", b.keyform));
    for path in [&payload, &manifest] {
        fs::remove_file(path).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(made.success());
    }
    let out = assert_cmd::Command::cargo_bin("sxsaudit")
        .unwrap()
        .args(["audit", img.root().to_str().unwrap(), "--format", "json"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): the audit hung or failed: {out:?}"));
    let findings = json["findings"].as_array().unwrap();
    let not_regular: Vec<_> = findings
        .iter()
        .filter(|f| {
            f["kind"] == "unreadable"
                && f["detail"].as_str().unwrap().contains("not a regular file")
        })
        .collect();
    assert_eq!(not_regular.len(), 2, "{json:#}");
    assert!(not_regular
        .iter()
        .any(|f| f["component"] == a.keyform.as_str() && f["file"] == a.files[0].name.as_str()));
    assert!(not_regular
        .iter()
        .any(|f| f["component"] == b.keyform.as_str() && f["file"].is_null()));
}

/// A folder on the way to a payload (`Amd64\\X.DPB`) replaced by a link to a copy outside the
/// image holding the very same file: the payload must not be read through the link, whichever
/// way the store is searched (exact name or listing).
#[cfg(unix)]
#[test]
fn a_linked_subfolder_is_never_entered() {
    use std::os::unix::fs::symlink;
    let img = TestImage::build(&Spec::clean(Scale::Small, 21));
    let c = img
        .built
        .components
        .iter()
        .find(|c| c.files.iter().any(|f| f.name.contains('\\')))
        .expect("a component with a file in a subfolder");
    let f = c.files.iter().find(|f| f.name.contains('\\')).unwrap();
    let file = payload_path(img.root(), &c.keyform, &f.name);
    let sub = file.parent().unwrap().to_path_buf();
    let outside = tempfile::tempdir().unwrap();
    let copy = outside.path().join("sub");
    fs::create_dir(&copy).unwrap();
    for e in fs::read_dir(&sub).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    fs::remove_dir_all(&sub).unwrap();
    symlink(&copy, &sub).unwrap();
    let in_sub: Vec<_> = c
        .files
        .iter()
        .filter(|g| {
            g.name.to_ascii_lowercase().starts_with(&format!(
                "{}\\",
                sub.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_ascii_lowercase()
            ))
        })
        .map(|g| g.name.clone())
        .collect();
    assert!(!in_sub.is_empty());

    let (code, json, _) = audit_json(img.root(), &[]);
    assert_ne!(code, 0, "{json:#}");
    let mut flagged: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["component"] == c.keyform.as_str())
        .map(|x| x["file"].as_str().unwrap().to_string())
        .collect();
    flagged.sort();
    let mut want = in_sub.clone();
    want.sort();
    // Every file behind the link is reported, none was hashed clean through it.
    assert_eq!(flagged, want, "{json:#}");
}

#[cfg(unix)]
#[test]
fn unreadable_payloads_are_reported_with_the_os_message() {
    use std::os::unix::fs::PermissionsExt;
    let img = TestImage::build(&Spec::clean(Scale::Tiny, 9));
    let plain: Vec<_> = img
        .built
        .components
        .iter()
        .filter(|c| !c.files.is_empty() && !c.files[0].name.contains('\\'))
        .collect();
    let path_of =
        |c: &sxsaudit::demo::Component| payload_path(img.root(), &c.keyform, &c.files[0].name);
    // A socket where a payload should be: open() fails with a real OS error, even for root.
    let sock = path_of(plain[0]);
    fs::remove_file(&sock).unwrap();
    // Socket paths are limited to 108 bytes: bind in a short folder, then move it into place.
    let short = tempfile::Builder::new()
        .prefix("s")
        .tempdir_in("/tmp")
        .unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(short.path().join("s")).unwrap();
    fs::rename(short.path().join("s"), &sock).unwrap();
    // Permission removed: unreadable unless we run as root, which reads anyway.
    let locked = path_of(plain[1]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let root_reads_anyway = fs::read(&locked).is_ok();
    let (code, json, _) = audit_json(img.root(), &[]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(code, 4);
    let unreadable: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unreadable")
        .cloned()
        .collect();
    assert_eq!(
        unreadable[0]["component"].as_str(),
        Some(plain[0].keyform.as_str()),
        "{json:#}"
    );
    assert!(unreadable[0]["detail"]
        .as_str()
        .unwrap()
        .contains("not a regular file"));
    if root_reads_anyway {
        eprintln!("skipped: permission check (running as root, which reads mode-000 files)");
        assert_eq!(unreadable.len(), 1, "{json:#}");
    } else {
        assert_eq!(unreadable.len(), 2, "{json:#}");
        assert!(
            unreadable
                .iter()
                .any(|f| f["detail"].as_str().unwrap().contains("ermission denied")),
            "{json:#}"
        );
    }
}
