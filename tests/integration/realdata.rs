//! Real Microsoft samples from `../shared/realdata` (never copied into the repository): the
//! VC90 Win32 side-by-side assemblies laid out as a real WinSxS must audit clean; one flipped
//! byte and one removed DLL must give exactly one finding each.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

/// Lay out the VC90 assemblies as `Windows/WinSxS/<keyform>` with `Manifests/<keyform>.manifest`,
/// the keyform computed from each manifest's identity, as Windows names them.
fn vc90_image(realdata: &Path, dest: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let winsxs = dest.join("Windows/WinSxS");
    fs::create_dir_all(winsxs.join("Manifests")).unwrap();
    let mut laid = Vec::new();
    for arch in ["x64", "x86"] {
        let arch_dir = realdata.join("win32-sxs-vc90-9.0.30729.6161").join(arch);
        let mut dirs: Vec<_> = fs::read_dir(&arch_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let mut files: Vec<_> = fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let Some(manifest) = files
                .iter()
                .find(|p| p.extension().is_some_and(|e| e == "manifest"))
            else {
                continue;
            };
            let bytes = fs::read(manifest).unwrap();
            let parsed = sxsaudit::format::manifest::parse(&bytes).unwrap();
            let keyform = sxsaudit::format::keyform::keyform(&parsed.identity);
            fs::write(
                winsxs.join("Manifests").join(format!("{keyform}.manifest")),
                &bytes,
            )
            .unwrap();
            fs::create_dir_all(winsxs.join(&keyform)).unwrap();
            let mut payloads = Vec::new();
            for f in files
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("dll")))
            {
                let to = winsxs.join(&keyform).join(f.file_name().unwrap());
                fs::copy(f, &to).unwrap();
                payloads.push(to);
            }
            laid.push((keyform, payloads));
        }
    }
    laid
}

#[test]
fn vc90_assemblies_audit_clean_then_exactly_one_finding_per_fault() {
    let Some(real) = realdata() else { return };
    let dir = tempfile::tempdir().unwrap();
    let laid = vc90_image(&real, dir.path());
    let files: usize = laid.iter().map(|(_, p)| p.len()).sum();
    assert_eq!(files, 19, "the collection has 19 payloads");
    let (code, json, stderr) = audit_json(dir.path(), &[]);
    assert_eq!(code, 0, "{json:#} {stderr}");
    assert_eq!(json["summary"]["payload_files"], 19);
    assert_eq!(json["findings"].as_array().unwrap().len(), 0, "{json:#}");

    // One flipped byte in msvcr90.dll (x64).
    let (crt, payloads) = laid
        .iter()
        .find(|(k, _)| k.starts_with("amd64_microsoft.vc90.crt_"))
        .unwrap();
    let msvcr = payloads
        .iter()
        .find(|p| p.file_name().unwrap() == "msvcr90.dll")
        .unwrap();
    let mut bytes = fs::read(msvcr).unwrap();
    bytes[4096] ^= 1;
    fs::write(msvcr, &bytes).unwrap();
    let (code, json, _) = audit_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        triples(&json),
        vec![(
            "hash_mismatch".into(),
            crt.clone(),
            Some("msvcr90.dll".into())
        )]
    );
    assert_eq!(json["findings"][0]["algorithm"], "sha1");
    bytes[4096] ^= 1;
    fs::write(msvcr, &bytes).unwrap();

    // One removed DLL (the manifest says ATL90.dll, the disk atl90.dll).
    let (atl, payloads) = laid
        .iter()
        .find(|(k, _)| k.starts_with("amd64_microsoft.vc90.atl_"))
        .unwrap();
    fs::remove_file(&payloads[0]).unwrap();
    let (code, json, _) = audit_json(dir.path(), &[]);
    assert_eq!(code, 2);
    assert_eq!(
        triples(&json),
        vec![(
            "missing_payload".into(),
            atl.clone(),
            Some("ATL90.dll".into())
        )]
    );
}
