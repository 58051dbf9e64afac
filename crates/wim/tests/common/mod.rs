//! Shared helpers for the integration tests: locating wimlib-imagex, building
//! test trees, capturing them, and walking them back for comparison (real samples: `sxs_testdata`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// Deterministic pseudo-random bytes.
pub use sxs_testdata::Rng;

pub const WIMLIB: &str = "/usr/bin/wimlib-imagex";

/// `true` if wimlib-imagex is usable; prints "skipped" (or panics when required) otherwise.
pub fn have_wimlib(test: &str) -> bool {
    if Path::new(WIMLIB).exists() {
        return true;
    }
    if std::env::var("SXSAUDIT_REQUIRE_WIMLIB").as_deref() == Ok("1") {
        panic!("wimlib-imagex required but not found at {WIMLIB}");
    }
    eprintln!("skipped: {test}: wimlib-imagex not found at {WIMLIB}");
    false
}

fn text(n: usize, seed: u64) -> Vec<u8> {
    let words = [
        "kernel32",
        "manifest",
        "component",
        "servicing",
        "WinSxS",
        "amd64",
        "10.0.26100",
        "\r\n",
        "<file name=\"",
        "/>",
    ];
    let mut r = Rng(seed | 1);
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        v.extend_from_slice(words[(r.next() % words.len() as u64) as usize].as_bytes());
        v.push(b' ');
    }
    v.truncate(n);
    v
}

/// Build the test tree for image 1 in `root` (big = a few MiB of content; small = a few KiB).
pub fn build_tree(root: &Path, big: bool) {
    let mk = |p: &str| std::fs::create_dir_all(root.join(p)).unwrap();
    let put = |p: &str, d: &[u8]| std::fs::write(root.join(p), d).unwrap();
    mk("Windows/System32/drivers");
    mk("Windows/WinSxS/amd64_Microsoft-Windows-Foo_31bf3856ad364e35_10.0.1_none_abc");
    mk("Program Files/App");
    mk("EmptyDir");
    mk("a/b/c/d/e/f");
    put("ReadMe.TXT", b"hello WIM\n");
    put("empty1.txt", b"");
    put("Windows/empty2", b"");
    put("a/b/c/d/e/f/deep.txt", b"deep file");
    put(
        "Windows/System32/MiXeD.dll",
        &text(if big { 300_000 } else { 3000 }, 7),
    );
    let mut r = Rng(42);
    put(
        "Windows/System32/drivers/random.sys",
        &r.bytes(if big { 1_500_000 } else { 1500 }),
    );
    put(
        "Windows/System32/text.log",
        &text(if big { 1_200_000 } else { 1200 }, 9),
    );
    // Identical content under two unrelated names.
    let dup = text(if big { 70_000 } else { 700 }, 11);
    put("Program Files/App/dup1.bin", &dup);
    put("Windows/dup2.BIN", &dup);
    // Hard links.
    let k = root.join("Windows/System32/kernel32.dll");
    std::fs::write(&k, text(if big { 200_000 } else { 2000 }, 13)).unwrap();
    std::fs::hard_link(&k, root.join("Windows/WinSxS/amd64_Microsoft-Windows-Foo_31bf3856ad364e35_10.0.1_none_abc/kernel32.dll")).unwrap();
    std::fs::hard_link(&k, root.join("Windows/kernel32.hardlink")).unwrap();
    // Exact chunk-size multiple and one byte more.
    put("Windows/exact32k.bin", &text(32768, 15));
    put("Windows/exact32k1.bin", &text(32769, 17));
    std::os::unix::fs::symlink("ReadMe.TXT", root.join("link.lnk")).unwrap();
}

/// Changes for image 2.
pub fn change_tree(root: &Path) {
    std::fs::write(root.join("second.txt"), b"only in image 2").unwrap();
    std::fs::write(root.join("ReadMe.TXT"), b"changed in image 2\n").unwrap();
    std::fs::remove_file(root.join("Windows/empty2")).unwrap();
}

pub fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let out = Command::new(WIMLIB)
        .args(args)
        .output()
        .expect("run wimlib-imagex");
    assert!(
        out.status.success(),
        "wimlib-imagex {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Capture `src` as image `name` into `wim` (append if it exists).
pub fn capture(src: &Path, wim: &Path, name: &str, desc: Option<&str>, extra: &[&str]) {
    let verb = if wim.exists() { "append" } else { "capture" };
    let mut args: Vec<&std::ffi::OsStr> = vec![
        verb.as_ref(),
        src.as_os_str(),
        wim.as_os_str(),
        name.as_ref(),
    ];
    if let Some(d) = desc {
        args.push(d.as_ref());
    }
    args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    run(&args);
}

/// One file-system object, for comparison with an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    pub is_dir: bool,
    pub is_symlink: bool,
    pub size: u64,
    pub ino: u64,
    pub nlink: u64,
}

/// Walk `root`: path components -> entry.
pub fn walk(root: &Path) -> BTreeMap<Vec<String>, FsEntry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, comps)) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let md = std::fs::symlink_metadata(e.path()).unwrap();
            let mut c = comps.clone();
            c.push(e.file_name().to_string_lossy().into_owned());
            let ft = md.file_type();
            out.insert(
                c.clone(),
                FsEntry {
                    is_dir: ft.is_dir(),
                    is_symlink: ft.is_symlink(),
                    size: if ft.is_file() { md.len() } else { 0 },
                    ino: md.ino(),
                    nlink: md.nlink(),
                },
            );
            if ft.is_dir() {
                stack.push((e.path(), c));
            }
        }
    }
    out
}
