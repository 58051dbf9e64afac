//! Shared helpers: build images with the crate's own builder, run the real binary, read its
//! JSON, find the real samples.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
pub use sxs_testdata::realdata;
use sxsaudit::demo::{self, Built, Spec};

/// A built image in a temporary folder that lives as long as this value.
pub struct TestImage {
    pub dir: tempfile::TempDir,
    pub built: Built,
}

impl TestImage {
    pub fn build(spec: &Spec) -> TestImage {
        let dir = tempfile::tempdir().unwrap();
        let built = demo::build(dir.path(), spec).unwrap();
        TestImage { dir, built }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn winsxs(&self) -> PathBuf {
        self.root().join("Windows").join("WinSxS")
    }
}

/// Run `sxsaudit` with arguments.
pub fn sxsaudit(args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("sxsaudit")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

/// Run `sxsaudit audit <path> --format json` and parse the report.
pub fn audit_json(path: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["audit", path.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = sxsaudit(&args);
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); exit {code}; stderr: {stderr}"));
    (code, json, stderr)
}

/// The (kind, component, file) triples of a JSON report, sorted.
pub fn triples(report: &Value) -> Vec<(String, String, Option<String>)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["component"].as_str().unwrap().to_string(),
                f["file"].as_str().map(str::to_string),
            )
        })
        .collect();
    v.sort();
    v
}

/// The planted faults as triples.
pub fn planted(built: &Built) -> Vec<(String, String, Option<String>)> {
    let mut v: Vec<_> = built
        .planted
        .iter()
        .map(|p| {
            (
                p.kind.as_str().to_string(),
                p.component.clone(),
                p.file.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

/// `wimlib-imagex`, or None with a note; required when SXSAUDIT_REQUIRE_WIMLIB=1.
pub fn wimlib() -> Option<&'static str> {
    let found = std::process::Command::new("wimlib-imagex")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("wimlib-imagex");
    }
    if std::env::var_os("SXSAUDIT_REQUIRE_WIMLIB").is_some_and(|v| v == "1") {
        panic!("wimlib-imagex required but not found");
    }
    eprintln!("skipped: wimlib-imagex not found");
    None
}

/// The on-disk path of a component's file in a folder image, resolved case-insensitively
/// (the builder writes some names in another case than the manifest).
pub fn payload_path(root: &Path, keyform: &str, name: &str) -> PathBuf {
    let mut p = root.join("Windows/WinSxS").join(keyform);
    for part in name.split('\\') {
        p = std::fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|q| {
                q.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .eq_ignore_ascii_case(part)
            })
            .unwrap_or_else(|| panic!("{part} not found in {}", p.display()));
    }
    p
}
