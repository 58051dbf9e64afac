//! Round trips through wimlib-imagex (an independent writer): capture a known folder in every
//! compression mode, then check the tree, the bytes and the XML read through our API against
//! the folder and against `wimlib-imagex info`.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use sxs_wim::{Image, Wim};

/// Capture two images of the test tree with `opts`; returns (wim path, tree of image 1,
/// tree of image 2, tempdir guard).
fn make_wim(
    opts: &[&str],
) -> (
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let t1 = dir.path().join("t1");
    let t2 = dir.path().join("t2");
    std::fs::create_dir(&t1).unwrap();
    std::fs::create_dir(&t2).unwrap();
    build_tree(&t1, true);
    build_tree(&t2, true);
    change_tree(&t2);
    let wim = dir.path().join("test.wim");
    capture(&t1, &wim, "First", Some("first image"), opts);
    capture(&t2, &wim, "Second", None, opts);
    (wim, t1, t2, dir)
}

/// Compare image `index` with the folder `tree`, and every file's bytes.
fn check_image(wim: &Wim<std::fs::File>, index: u32, tree: &Path) {
    let img: Image = wim.image(index).unwrap();
    let fs = walk(tree);
    let mut seen = BTreeSet::new();
    // path -> link group (nonzero) to compare partitions.
    let mut groups: BTreeMap<u64, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut files = Vec::new();
    for (i, e) in img.entries.iter().enumerate().skip(1) {
        let path: Vec<String> = img.path(i).iter().map(|s| s.to_string()).collect();
        let f = fs
            .get(&path)
            .unwrap_or_else(|| panic!("image {index}: {path:?} not in the folder"));
        assert!(seen.insert(path.clone()), "{path:?} listed twice");
        assert_eq!(e.is_dir, f.is_dir, "{path:?} is_dir");
        if f.is_symlink {
            let rp = e
                .reparse
                .as_ref()
                .unwrap_or_else(|| panic!("{path:?}: symlink without reparse data"));
            assert_eq!(rp.tag, 0xA000_000C, "{path:?} reparse tag");
            assert!(rp.hash.is_some());
            continue;
        }
        assert!(e.reparse.is_none(), "{path:?}");
        if e.link_group != 0 {
            groups.entry(e.link_group).or_default().insert(path.clone());
        }
        if f.is_dir {
            continue;
        }
        assert_eq!(e.size, f.size, "{path:?} size");
        let want = std::fs::read(tree.join(path.join("/"))).unwrap();
        if e.hash.is_none() {
            assert!(
                want.is_empty(),
                "{path:?}: no hash but {} bytes",
                want.len()
            );
        }
        files.push((path.clone(), e.hash, want));
        // Case-insensitive lookup finds it.
        let upper: Vec<String> = path.iter().map(|c| c.to_uppercase()).collect();
        assert_eq!(img.lookup(&upper), Some(i), "lookup {upper:?}");
    }
    check_bytes(wim, &files);
    let want_paths: BTreeSet<Vec<String>> = fs.keys().cloned().collect();
    assert_eq!(seen, want_paths, "image {index}: path sets differ");
    // Hard links: the image's groups are exactly the folder's inodes with several names.
    let mut fs_groups: BTreeMap<u64, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (p, f) in &fs {
        if f.nlink > 1 && !f.is_dir {
            fs_groups.entry(f.ino).or_default().insert(p.clone());
        }
    }
    let a: BTreeSet<_> = groups.into_values().filter(|g| g.len() > 1).collect();
    let b: BTreeSet<_> = fs_groups.into_values().collect();
    assert_eq!(a, b, "hard-link groups");
    assert!(!b.is_empty());
    // Children ranges agree with parents.
    for (i, e) in img.entries.iter().enumerate() {
        for c in e.children.clone() {
            assert_eq!(img.entries[c].parent, Some(i));
        }
    }
}

/// (path, unnamed-stream hash, expected bytes).
type FileCase = (Vec<String>, Option<[u8; 20]>, Vec<u8>);

/// Every file's bytes, read one by one (in blob order, sharing one `Scratch` so that solid
/// chunks are decoded once) and all at once with `read_blobs` (in listing order).
fn check_bytes(wim: &Wim<std::fs::File>, files: &[FileCase]) {
    let key = |h: &Option<[u8; 20]>| match h.and_then(|h| wim.blob_entry(&h).map(|b| b.location)) {
        Some(sxs_wim::Location::Solid { run, offset }) => (run, offset),
        _ => (0, 0),
    };
    let mut order: Vec<&FileCase> = files.iter().collect();
    order.sort_by_key(|f| key(&f.1));
    let mut scratch = sxs_wim::Scratch::new();
    for (path, hash, want) in order {
        let h = hash.unwrap_or([0u8; 20]);
        let mut got = Vec::new();
        let r = wim
            .read_blob_with(&mut scratch, &h, &mut |b| {
                got.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        assert!(r.hash_ok, "{path:?}: SHA-1 mismatch");
        assert_eq!(r.size, want.len() as u64);
        assert!(got == *want, "{path:?}: bytes differ");
    }
    let hashes: Vec<[u8; 20]> = files.iter().map(|f| f.1.unwrap_or([0u8; 20])).collect();
    let mut got = vec![Vec::new(); files.len()];
    let r = wim
        .read_blobs(&hashes, &mut |i, b| {
            got[i].extend_from_slice(b);
            Ok(())
        })
        .unwrap();
    for (k, (path, _, want)) in files.iter().enumerate() {
        assert!(r[k].hash_ok, "{path:?}: SHA-1 mismatch (read_blobs)");
        assert!(got[k] == *want, "{path:?}: bytes differ (read_blobs)");
    }
}

fn check_all_blobs_grouped(wim: &Wim<std::fs::File>) {
    let groups = wim.blobs_by_resource();
    let n: usize = groups.iter().map(Vec::len).sum();
    assert_eq!(n, wim.blobs().len());
    for g in &groups {
        let mut sizes = vec![0u64; g.len()];
        let r = wim
            .read_blobs(g, &mut |i, b| {
                sizes[i] += b.len() as u64;
                Ok(())
            })
            .unwrap();
        for (k, h) in g.iter().enumerate() {
            assert!(r[k].hash_ok, "blob {k} of group");
            assert_eq!(sizes[k], wim.blob_entry(h).unwrap().size);
            assert_eq!(r[k].size, sizes[k]);
        }
    }
}

fn wimlib_info(wim: &Path) -> String {
    String::from_utf8_lossy(&run(&["info".as_ref(), wim.as_os_str()]).stdout).into_owned()
}

fn roundtrip(opts: &[&str], expect_solid: bool) {
    let (path, t1, t2, _g) = make_wim(opts);
    let wim = Wim::open(&path).unwrap();
    assert_eq!(wim.image_count(), 2);
    let xml = wim.xml_info().unwrap();
    assert_eq!(xml.images.len(), 2);
    assert_eq!(xml.image(1).unwrap().name.as_deref(), Some("First"));
    assert_eq!(
        xml.image(1).unwrap().description.as_deref(),
        Some("first image")
    );
    assert_eq!(xml.image(2).unwrap().name.as_deref(), Some("Second"));
    // wimlib-imagex info as a second oracle.
    let info = wimlib_info(&path);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Image Count:") && l.trim_end().ends_with(" 2")),
        "{info}"
    );
    assert!(
        info.lines()
            .any(|l| l.starts_with("Name:") && l.trim_end().ends_with("First")),
        "{info}"
    );
    let solid = wim
        .blobs()
        .iter()
        .any(|b| matches!(b.location, sxs_wim::Location::Solid { .. }));
    assert_eq!(solid, expect_solid);
    check_image(&wim, 1, &t1);
    check_image(&wim, 2, &t2);
    check_all_blobs_grouped(&wim);
    assert!(matches!(
        wim.image(3),
        Err(sxs_wim::Error::NoSuchImage { index: 3, count: 2 })
    ));
    assert!(matches!(
        wim.image(0),
        Err(sxs_wim::Error::NoSuchImage { .. })
    ));
}

#[test]
fn roundtrip_uncompressed() {
    if have_wimlib("roundtrip_uncompressed") {
        roundtrip(&["--compress=none"], false);
    }
}

#[test]
fn roundtrip_xpress() {
    if have_wimlib("roundtrip_xpress") {
        roundtrip(&["--compress=XPRESS"], false);
    }
}

#[test]
fn roundtrip_lzx() {
    if have_wimlib("roundtrip_lzx") {
        roundtrip(&["--compress=LZX"], false);
    }
}

#[test]
fn roundtrip_lzms() {
    if have_wimlib("roundtrip_lzms") {
        roundtrip(&["--compress=LZMS"], false);
    }
}

#[test]
fn roundtrip_solid_esd() {
    if have_wimlib("roundtrip_solid_esd") {
        // Small solid chunks so that blobs straddle chunk boundaries.
        roundtrip(&["--solid", "--solid-chunk-size=64K"], true);
    }
}

#[test]
fn roundtrip_solid_default_chunks() {
    if have_wimlib("roundtrip_solid_default_chunks") {
        roundtrip(&["--solid"], true);
    }
}

#[test]
fn integrity_table_checks() {
    if !have_wimlib("integrity_table_checks") {
        return;
    }
    let (path, _t1, _t2, _g) = make_wim(&["--compress=none", "--check"]);
    let wim = Wim::open(&path).unwrap();
    match wim.verify_integrity().unwrap() {
        sxs_wim::Integrity::Checked {
            chunks, bad_chunks, ..
        } => {
            assert!(chunks >= 1);
            assert!(bad_chunks.is_empty());
        }
        other => panic!("expected an integrity table, got {other:?}"),
    }
    // Damage one byte of file data: the integrity check names chunk 0.
    let mut data = std::fs::read(&path).unwrap();
    let b = wim.blobs().iter().max_by_key(|b| b.size).unwrap().clone();
    data[(b.reshdr.offset + b.size / 2) as usize] ^= 0x55;
    let bad = Wim::from_reader(data).unwrap();
    match bad.verify_integrity().unwrap() {
        sxs_wim::Integrity::Checked { bad_chunks, .. } => assert_eq!(bad_chunks.len(), 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupt_blob_is_reported_not_an_error() {
    if !have_wimlib("corrupt_blob_is_reported_not_an_error") {
        return;
    }
    let (path, _t1, _t2, g) = make_wim(&["--compress=none"]);
    let wim = Wim::open(&path).unwrap();
    let target = wim
        .blobs()
        .iter()
        .find(|b| b.size > 100_000)
        .unwrap()
        .clone();
    let mut data = std::fs::read(&path).unwrap();
    data[(target.reshdr.offset + target.size / 2) as usize] ^= 0x01;
    let bad_path = g.path().join("bad.wim");
    std::fs::write(&bad_path, &data).unwrap();
    let bad = Wim::open(&bad_path).unwrap();
    let mut mismatches = Vec::new();
    for b in bad.blobs() {
        let r = bad.read_blob(&b.hash, &mut |_| Ok(())).unwrap();
        assert_eq!(r.size, b.size);
        if !r.hash_ok {
            mismatches.push(b.hash);
        }
    }
    assert_eq!(mismatches, vec![target.hash]);
    // The image still lists (metadata intact).
    assert!(bad.image(1).is_ok());
    // wimlib agrees that the file is damaged.
    let out = std::process::Command::new(WIMLIB)
        .arg("verify")
        .arg(&bad_path)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "wimlib-imagex verify accepted the damaged file"
    );
    let out = std::process::Command::new(WIMLIB)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "wimlib-imagex verify rejected the intact file"
    );
}

#[test]
fn concurrent_reads_from_threads() {
    if !have_wimlib("concurrent_reads_from_threads") {
        return;
    }
    let (path, _t1, _t2, _g) = make_wim(&["--compress=none"]);
    let wim = Wim::open(&path).unwrap();
    let blobs = wim.blobs().to_vec();
    std::thread::scope(|s| {
        for t in 0..2 {
            let wim = &wim;
            let blobs = &blobs;
            s.spawn(move || {
                let mut scratch = sxs_wim::Scratch::new();
                for b in blobs.iter().skip(t) {
                    let r = wim
                        .read_blob_with(&mut scratch, &b.hash, &mut |_| Ok(()))
                        .unwrap();
                    assert!(r.hash_ok);
                }
            });
        }
    });
}
