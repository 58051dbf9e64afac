//! Hostile input: truncations, lying sizes and offsets, loops in the directory tree, huge
//! counts and random bit flips, all made by patching a small wimlib-made WIM. Every case must
//! end in a clear error (or, where nothing is checksummed, some output): never a panic, a hang
//! or a big allocation.

mod common;

use common::*;
use sha1::{Digest, Sha1};
use sxs_wim::{Error, Wim};

/// A small uncompressed two-image WIM, as bytes.
fn small_wim(opts: &[&str]) -> Option<Vec<u8>> {
    if !have_wimlib("hostile") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    std::fs::create_dir(&t).unwrap();
    build_tree(&t, false);
    let wim = dir.path().join("s.wim");
    capture(&t, &wim, "One", None, opts);
    Some(std::fs::read(&wim).unwrap())
}

/// Open, list every image, read every blob; return the first error.
fn exercise(data: Vec<u8>) -> Result<(), Error> {
    let wim = Wim::from_reader(data)?;
    let _ = wim.xml_info();
    for i in 1..=wim.image_count() {
        let img = wim.image(i)?;
        for e in &img.entries {
            let _ = img.path_string(0, '\\');
            if let Some(h) = e.hash {
                wim.read_blob(&h, &mut |_| Ok(()))?;
            }
        }
    }
    let groups = wim.blobs_by_resource();
    for g in &groups {
        wim.read_blobs(g, &mut |_, _| Ok(()))?;
    }
    let _ = wim.verify_integrity();
    Ok(())
}

fn u64_le(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

/// (offset of the blob table, number of entries).
fn blob_table(d: &[u8]) -> (usize, usize) {
    let off = u64_le(d, 0x38) as usize;
    let size = u64_le(d, 0x40) as usize;
    (off, size / 50)
}

/// Offset in the file of the first metadata blob-table entry.
fn metadata_entry(d: &[u8]) -> usize {
    let (off, n) = blob_table(d);
    (0..n)
        .map(|i| off + 50 * i)
        .find(|&e| d[e + 7] & 0x02 != 0)
        .unwrap()
}

/// Apply `patch` to the (uncompressed) metadata resource of image 1, then fix its SHA-1 in the
/// blob table so that only the tree itself is hostile.
fn patch_metadata(d: &mut [u8], patch: impl FnOnce(&mut [u8])) {
    let e = metadata_entry(d);
    assert_eq!(
        d[e + 7] & 0x04,
        0,
        "test needs an uncompressed metadata resource"
    );
    let off = u64_le(d, e + 8) as usize;
    let len = u64_le(d, e + 16) as usize;
    patch(&mut d[off..off + len]);
    let h: [u8; 20] = Sha1::digest(&d[off..off + len]).into();
    d[e + 30..e + 50].copy_from_slice(&h);
}

fn md_u64(m: &[u8], at: usize) -> u64 {
    u64_le(m, at)
}

/// (root offset, root's subdir offset) of a metadata resource.
fn root_of(m: &[u8]) -> (usize, usize) {
    let sec = u32::from_le_bytes(m[0..4].try_into().unwrap()) as usize;
    let root = (sec.max(8) + 7) & !7;
    (root, md_u64(m, root + 0x10) as usize)
}

/// Offsets of the dentries in the list at `p` (top level only).
fn list_at(m: &[u8], mut p: usize) -> Vec<usize> {
    let mut v = Vec::new();
    loop {
        let len = md_u64(m, p);
        if len <= 8 {
            return v;
        }
        v.push(p);
        let nstreams = u16::from_le_bytes(m[p + 0x60..p + 0x62].try_into().unwrap());
        p += (len as usize + 7) & !7;
        for _ in 0..nstreams {
            p += (md_u64(m, p) as usize + 7) & !7;
        }
    }
}

fn first_subdir_dentry(m: &[u8]) -> usize {
    let (_, sub) = root_of(m);
    list_at(m, sub)
        .into_iter()
        .find(|&p| md_u64(m, p + 0x10) != 0)
        .expect("a directory with children")
}

#[test]
fn every_prefix_is_a_clear_error() {
    let Some(d) = small_wim(&["--compress=none"]) else {
        return;
    };
    // The file is tens of KiB: every prefix, stride 1 (quadratic but small).
    let step = if d.len() > 64 << 10 { 7 } else { 1 };
    for n in (0..d.len()).step_by(step) {
        let prefix = d[..n].to_vec();
        match Wim::from_reader(prefix) {
            Err(_) => {}
            // Only the XML (written last) may be cut: then it is the XML that fails.
            Ok(w) => assert!(
                w.xml_info().is_err(),
                "prefix {n} of {} opened with intact XML",
                d.len()
            ),
        }
    }
    exercise(d).unwrap();
}

#[test]
fn random_bit_flips_never_panic() {
    let Some(d) = small_wim(&["--compress=none"]) else {
        return;
    };
    let mut rng = Rng(0x5EED_1234_5678_9ABC);
    for _ in 0..250 {
        let mut x = d.clone();
        for _ in 0..(1 + rng.next() % 4) {
            let at = (rng.next() % x.len() as u64) as usize;
            x[at] ^= 1 << (rng.next() % 8);
        }
        let _ = exercise(x);
    }
    // Flips confined to the metadata resource (with its hash fixed) reach the tree parser.
    for _ in 0..250 {
        let mut x = d.clone();
        let seed = rng.next();
        patch_metadata(&mut x, |m| {
            let mut r = Rng(seed | 1);
            for _ in 0..(1 + r.next() % 3) {
                let at = (r.next() % m.len() as u64) as usize;
                m[at] ^= 1 << (r.next() % 8);
            }
        });
        let _ = exercise(x);
    }
}

#[test]
fn blob_offsets_and_sizes_past_the_end() {
    let Some(d) = small_wim(&["--compress=none"]) else {
        return;
    };
    let wim = Wim::from_reader(d.clone()).unwrap();
    let (bt, n) = blob_table(&d);
    let file_len = d.len() as u64;
    let e = (0..n)
        .map(|i| bt + 50 * i)
        .find(|&e| d[e + 7] & 0x02 == 0 && u64_le(&d, e + 16) > 0)
        .unwrap();
    let mut hash = [0u8; 20];
    hash.copy_from_slice(&d[e + 30..e + 50]);
    assert!(wim.blob_entry(&hash).is_some());

    // Offset past the end.
    let mut x = d.clone();
    x[e + 8..e + 16].copy_from_slice(&file_len.to_le_bytes());
    let w = Wim::from_reader(x).unwrap();
    assert!(matches!(
        w.read_blob(&hash, &mut |_| Ok(())),
        Err(Error::OutOfBounds { .. })
    ));

    // Offset near u64::MAX (overflow).
    let mut x = d.clone();
    x[e + 8..e + 16].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
    let w = Wim::from_reader(x).unwrap();
    assert!(matches!(
        w.read_blob(&hash, &mut |_| Ok(())),
        Err(Error::OutOfBounds { .. })
    ));

    // Huge sizes (56-bit size and original size).
    let mut x = d.clone();
    x[e..e + 7].copy_from_slice(&[0xFF; 7]);
    x[e + 16..e + 24].copy_from_slice(&u64::MAX.to_le_bytes());
    let w = Wim::from_reader(x).unwrap();
    assert!(w.read_blob(&hash, &mut |_| Ok(())).is_err());

    // Stored resource whose sizes disagree.
    let mut x = d.clone();
    x[e + 16..e + 24].copy_from_slice(&(u64_le(&d, e + 16) + 1).to_le_bytes());
    let w = Wim::from_reader(x).unwrap();
    assert!(matches!(
        w.read_blob(&hash, &mut |_| Ok(())),
        Err(Error::StoredSizeMismatch { .. })
    ));

    // COMPRESSED flag in an uncompressed archive.
    let mut x = d.clone();
    x[e + 7] |= 0x04;
    let w = Wim::from_reader(x).unwrap();
    assert!(matches!(
        w.read_blob(&hash, &mut |_| Ok(())),
        Err(Error::CompressedWithoutCodec { .. })
    ));

    // Blob table itself past the end, or not a multiple of 50.
    let mut x = d.clone();
    x[0x38..0x40].copy_from_slice(&file_len.to_le_bytes());
    assert!(matches!(
        Wim::from_reader(x),
        Err(Error::OutOfBounds { .. })
    ));
    let mut x = d.clone();
    x[0x40..0x48].copy_from_slice(&(u64_le(&d, 0x40) + 1).to_le_bytes());
    assert!(matches!(Wim::from_reader(x), Err(Error::BadBlobTable(_))));
    let mut x = d.clone();
    x[0x40..0x48].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(
        Wim::from_reader(x),
        Err(Error::TooLarge { .. } | Error::BadBlobTable(_))
    ));

    // Metadata resource past the end.
    let mut x = d.clone();
    let m = metadata_entry(&d);
    x[m + 8..m + 16].copy_from_slice(&(file_len - 4).to_le_bytes());
    let w = Wim::from_reader(x).unwrap();
    assert!(matches!(w.image(1), Err(Error::OutOfBounds { .. })));

    // Missing blob.
    assert!(matches!(
        wim.read_blob(&[7u8; 20], &mut |_| Ok(())),
        Err(Error::BlobNotFound(_))
    ));
}

#[test]
fn header_fields_are_validated() {
    let Some(d) = small_wim(&["--compress=none"]) else {
        return;
    };
    type Case = (usize, Vec<u8>, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        (0, b"XXWIM\0\0\0".to_vec(), |e| {
            matches!(e, Error::BadMagic(_))
        }),
        (0, b"WLPWM\0\0\0".to_vec(), |e| matches!(e, Error::Pipable)),
        (0x08, 212u32.to_le_bytes().to_vec(), |e| {
            matches!(e, Error::BadHeaderSize(212))
        }),
        (0x0C, 0x10C00u32.to_le_bytes().to_vec(), |e| {
            matches!(e, Error::UnknownVersion(0x10C00))
        }),
        (0x2A, 3u16.to_le_bytes().to_vec(), |e| {
            matches!(e, Error::SplitWim { total_parts: 3, .. })
        }),
        (0x28, 2u16.to_le_bytes().to_vec(), |e| {
            matches!(e, Error::BadPartNumber(2))
        }),
        (0x10, 0x0004_0000u32.to_le_bytes().to_vec(), |e| {
            matches!(e, Error::BadCompressionFlags(_))
        }),
        (0x10, 0x0006_0002u32.to_le_bytes().to_vec(), |e| {
            matches!(e, Error::BadCompressionFlags(_))
        }),
        (0x2C, u32::MAX.to_le_bytes().to_vec(), |e| {
            matches!(e, Error::TooMany { .. })
        }),
        (0x2C, 2u32.to_le_bytes().to_vec(), |e| {
            matches!(
                e,
                Error::ImageCountMismatch {
                    header: 2,
                    metadata: 1
                }
            )
        }),
    ];
    for (at, bytes, ok) in cases {
        let mut x = d.clone();
        x[at..at + bytes.len()].copy_from_slice(&bytes);
        match Wim::from_reader(x) {
            Err(e) => assert!(ok(&e), "patch at {at:#x}: unexpected error {e}"),
            Ok(_) => panic!("patch at {at:#x} accepted"),
        }
    }
    // LZX with a bad chunk size.
    let mut x = d.clone();
    x[0x10..0x14].copy_from_slice(&0x0004_0002u32.to_le_bytes());
    x[0x14..0x18].copy_from_slice(&12345u32.to_le_bytes());
    assert!(matches!(
        Wim::from_reader(x),
        Err(Error::BadChunkSize {
            chunk_size: 12345,
            ..
        })
    ));
}

#[test]
fn dentry_loops_are_rejected() {
    let Some(d) = small_wim(&["--compress=none"]) else {
        return;
    };
    assert!(Wim::from_reader(d.clone()).unwrap().image(1).is_ok());
    // A subdirectory whose subdir offset points back at the root's children.
    let mut x = d.clone();
    patch_metadata(&mut x, |m| {
        let (_, sub) = root_of(m);
        let p = first_subdir_dentry(m);
        m[p + 0x10..p + 0x18].copy_from_slice(&(sub as u64).to_le_bytes());
    });
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::DentryLoop { .. })
    ));
    // ... at the root dentry itself.
    let mut x = d.clone();
    patch_metadata(&mut x, |m| {
        let (root, _) = root_of(m);
        let p = first_subdir_dentry(m);
        m[p + 0x10..p + 0x18].copy_from_slice(&(root as u64).to_le_bytes());
    });
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::DentryLoop { .. })
    ));
    // ... at its own list (a directory containing itself).
    let mut x = d.clone();
    patch_metadata(&mut x, |m| {
        let p = first_subdir_dentry(m);
        let own = md_u64(m, p + 0x10) as usize;
        let q = list_at(m, own)
            .into_iter()
            .find(|&q| md_u64(m, q + 0x10) != 0);
        let target = q.unwrap_or(p);
        m[target + 0x10..target + 0x18].copy_from_slice(&(own as u64).to_le_bytes());
    });
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::DentryLoop { .. })
    ));
    // Subdir offsets past the end, misaligned into garbage, and at u64::MAX.
    for bad in [u64::MAX, 1 << 40, 3] {
        let mut x = d.clone();
        patch_metadata(&mut x, |m| {
            let p = first_subdir_dentry(m);
            m[p + 0x10..p + 0x18].copy_from_slice(&bad.to_le_bytes());
        });
        assert!(
            Wim::from_reader(x).unwrap().image(1).is_err(),
            "subdir {bad}"
        );
    }
}

#[test]
fn huge_counts_and_lengths_in_metadata() {
    let Some(d) = small_wim(&["--compress=none"]) else {
        return;
    };
    // Security descriptor count.
    let mut x = d.clone();
    patch_metadata(&mut x, |m| m[4..8].copy_from_slice(&u32::MAX.to_le_bytes()));
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::BadSecurityData(_))
    ));
    // Security block length.
    let mut x = d.clone();
    patch_metadata(&mut x, |m| m[0..4].copy_from_slice(&u32::MAX.to_le_bytes()));
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::BadSecurityData(_))
    ));
    // Dentry length huge.
    let mut x = d.clone();
    patch_metadata(&mut x, |m| {
        let p = first_subdir_dentry(m);
        m[p..p + 8].copy_from_slice(&(u64::MAX - 2).to_le_bytes());
    });
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::BadDentry { .. })
    ));
    // Stream count 65535.
    let mut x = d.clone();
    patch_metadata(&mut x, |m| {
        let p = first_subdir_dentry(m);
        m[p + 0x60..p + 0x62].copy_from_slice(&u16::MAX.to_le_bytes());
    });
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::BadDentry { .. })
    ));
    // Name length 65534.
    let mut x = d.clone();
    patch_metadata(&mut x, |m| {
        let p = first_subdir_dentry(m);
        m[p + 0x64..p + 0x66].copy_from_slice(&0xFFFEu16.to_le_bytes());
    });
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::BadDentry { .. })
    ));
    // Unpatched metadata with a wrong hash.
    let mut x = d.clone();
    let e = metadata_entry(&x);
    x[e + 30] ^= 1;
    assert!(matches!(
        Wim::from_reader(x).unwrap().image(1),
        Err(Error::MetadataHashMismatch { index: 1 })
    ));
}

#[test]
fn compressed_and_solid_archives_survive_flips() {
    // Chunk tables and solid headers are parsed before any codec runs, so this exercises them
    // even while a codec is missing.
    for opts in [
        &["--compress=XPRESS"][..],
        &["--solid", "--solid-chunk-size=32K"][..],
    ] {
        let Some(d) = small_wim(opts) else { return };
        let mut rng = Rng(0xC0FF_EE00_1234_5678);
        for _ in 0..150 {
            let mut x = d.clone();
            let at = (rng.next() % x.len() as u64) as usize;
            x[at] ^= 1 << (rng.next() % 8);
            let _ = exercise(x);
        }
        for n in (0..d.len()).step_by(97) {
            let _ = exercise(d[..n].to_vec());
        }
    }
}
