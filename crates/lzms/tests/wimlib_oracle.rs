//! The independent oracle: wimlib-imagex (a separate LZMS encoder) captures a generated folder
//! with LZMS, non-solid and solid; a small test-only WIM reader (wim-and-codecs.md §1.2-§1.7)
//! pulls out every chunk, and our decoder must reproduce the original file bytes (matched by
//! the SHA-1 of the blob table) and the SHA-1 of every resource, metadata included.

mod common;

use std::collections::{HashMap, HashSet};

use common::wim::{
    capture, Wim, FLAG_COMPRESSED, FLAG_METADATA, FLAG_SOLID, SOLID_RESOURCE_MARK, WIMLIB,
};
use sha1::{Digest, Sha1};

#[derive(Default, Debug)]
struct Tally {
    compressed_chunks: usize,
    stored_chunks: usize,
    blobs_checked: usize,
    metadata_checked: usize,
}

/// Decodes the chunks of one resource; a chunk is stored when its sizes are equal (§1.6).
fn decode(chunks: &[(&[u8], usize)], t: &mut Tally) -> Vec<u8> {
    let mut out = Vec::new();
    for &(data, ulen) in chunks {
        assert!(
            !data.is_empty() && data.len() <= ulen,
            "chunk {} for {ulen}",
            data.len()
        );
        if data.len() == ulen {
            t.stored_chunks += 1;
            out.extend_from_slice(data);
        } else {
            t.compressed_chunks += 1;
            let got = sxs_lzms::decompress(data, ulen)
                .unwrap_or_else(|e| panic!("chunk of {ulen} bytes: {e}"));
            out.extend(got);
        }
    }
    out
}

fn check_wim(bytes: &[u8], files: &HashMap<[u8; 20], &[u8]>, label: &str) -> Tally {
    let wim = Wim::parse(bytes);
    let mut t = Tally::default();
    let mut seen = HashSet::new();
    let mut verify = |data: &[u8], hash: &[u8; 20], metadata: bool, t: &mut Tally| {
        assert_eq!(
            Sha1::digest(data).as_slice(),
            hash,
            "{label}: SHA-1 of decoded resource"
        );
        if metadata {
            t.metadata_checked += 1;
        } else {
            let original = files
                .get(hash)
                .unwrap_or_else(|| panic!("{label}: unknown blob"));
            assert!(data == *original, "{label}: blob bytes differ");
            seen.insert(*hash);
            t.blobs_checked += 1;
        }
    };

    let entries = &wim.entries;
    let mut i = 0;
    while i < entries.len() {
        let (r, hash) = &entries[i];
        if r.flags & FLAG_SOLID == 0 {
            let data = if r.flags & FLAG_COMPRESSED != 0 {
                decode(&wim.nonsolid_chunks(r), &mut t)
            } else {
                wim.raw(r).to_vec()
            };
            verify(&data, hash, r.flags & FLAG_METADATA != 0, &mut t);
            i += 1;
            continue;
        }
        // A solid run: its resources, in order, form one logical buffer that blobs index.
        let run_end = entries[i..]
            .iter()
            .position(|(r, _)| r.flags & FLAG_SOLID == 0)
            .map_or(entries.len(), |p| i + p);
        let mut logical = Vec::new();
        for (r, _) in &entries[i..run_end] {
            if r.original == SOLID_RESOURCE_MARK {
                logical.extend(decode(&wim.solid_chunks(r), &mut t));
            }
        }
        for (r, hash) in &entries[i..run_end] {
            if r.original != SOLID_RESOURCE_MARK {
                let blob = &logical[r.offset as usize..(r.offset + r.size) as usize];
                verify(blob, hash, false, &mut t);
            }
        }
        i = run_end;
    }
    let nonempty: HashSet<[u8; 20]> = files
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(h, _)| *h)
        .collect();
    assert_eq!(
        seen, nonempty,
        "{label}: not every file was found in the WIM"
    );
    t
}

#[test]
fn wimlib_lzms_captures_decode_to_the_original_files() {
    if !std::path::Path::new(WIMLIB).exists() {
        if std::env::var("SXSAUDIT_REQUIRE_WIMLIB").as_deref() == Ok("1") {
            panic!("wimlib-imagex required but not found at {WIMLIB}");
        }
        eprintln!("skipped: wimlib-imagex not found at {WIMLIB}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let corpus = common::write_corpus(&src);
    let files: HashMap<[u8; 20], &[u8]> = corpus
        .iter()
        .map(|(_, d)| (Sha1::digest(d).as_slice().try_into().unwrap(), d.as_slice()))
        .collect();

    let runs: [(&str, &[&str]); 3] = [
        ("non-solid", &[]),
        ("solid", &["--solid"]),
        ("solid-256k", &["--solid", "--solid-chunk-size=256K"]),
    ];
    for (label, extra) in runs {
        let wim_path = tmp.path().join(format!("{label}.wim"));
        assert!(capture(&src, &wim_path, extra));
        let bytes = std::fs::read(&wim_path).unwrap();
        let t = check_wim(&bytes, &files, label);
        eprintln!("{label}: {t:?}");
        // Non-solid: 128 KiB chunks of ~6 MiB plus metadata; solid: one data chunk plus the
        // (non-solid) metadata; 256 KiB solid chunks: about 25.
        let want = match label {
            "non-solid" => 40,
            "solid" => 2,
            _ => 20,
        };
        assert!(
            t.compressed_chunks >= want,
            "{label}: too few LZMS chunks: {t:?}"
        );
        assert_eq!(t.metadata_checked, 1, "{label}: metadata not checked");
        assert_eq!(
            t.blobs_checked,
            files.len() - 1,
            "{label}: blobs (all but the empty file)"
        );
    }
}
