//! Hostile input: truncated, garbage, bit-flipped and lying hives give an error or some
//! output, never a panic, an abort or a hang.

mod common;

use common::*;
use sxs_servicing::regf_writer::base_block_checksum;
use sxs_servicing::{read_components, read_software, Error, HiveFiles};

use sxs_testdata::Rng;

/// Both readers on `b`; true when the COMPONENTS read succeeded. Every component it lists
/// is then decoded on demand too, and must agree with what the first pass kept.
fn read_both(b: &[u8]) -> bool {
    let _ = read_software(HiveFiles::new(b));
    let Ok(h) = read_components(HiveFiles::new(b)) else {
        return false;
    };
    let c = &h.components;
    for k in c.keys() {
        let got = c
            .get(k)
            .unwrap_or_else(|| panic!("{k} listed but not found"));
        assert_eq!(c.s256h(k), Some(got.s256h), "{k}");
    }
    true
}

fn fix_checksum(b: &mut [u8]) {
    let sum = base_block_checksum(&b[..4096]);
    b[0x1FC..0x200].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn truncated_hive_is_an_error() {
    let full = components_writer().to_bytes();
    assert!(read_both(&full));
    // Every prefix, as cut: the base block announces more bins than are present.
    for n in 0..full.len() {
        match read_components(HiveFiles::new(&full[..n])) {
            Err(Error::Truncated { have, .. }) => assert_eq!(have, n as u64),
            other => panic!("prefix {n}: {other:?}"),
        }
    }
    // Every 8-byte prefix with the base block rewritten to match: the bins themselves are cut.
    for n in (4096..full.len()).step_by(8) {
        let mut b = full[..n].to_vec();
        b[0x28..0x2C].copy_from_slice(&((n - 4096) as u32).to_le_bytes());
        fix_checksum(&mut b);
        let _ = read_both(&b);
    }
}

#[test]
fn garbage_is_an_error() {
    assert!(matches!(
        read_components(HiveFiles::new(b"")),
        Err(Error::Truncated { .. })
    ));
    let e = read_components(HiveFiles::new(&[0x4D; 8192])).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotRegf {
                found: [0x4D, 0x4D, 0x4D, 0x4D]
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("not a registry hive"));
    let mut rng = Rng(0x5EED_0001);
    for i in 0..400 {
        let len = 4096 + rng.below(3 * 4096);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        b[..4].copy_from_slice(b"regf");
        if i % 2 == 0 {
            b[0x28..0x2C].copy_from_slice(&((len - 4096) as u32 & !0xFFF).to_le_bytes());
            b[4096..4100].copy_from_slice(b"hbin");
        }
        assert!(!read_both(&b), "garbage {i} read as a COMPONENTS hive");
    }
}

#[test]
fn bit_flips_never_panic() {
    let base = [components_writer().to_bytes(), software_writer().to_bytes()];
    let mut rng = Rng(0x5EED_0002);
    let mut ok = 0;
    for i in 0..600 {
        let mut b = base[i % 2].clone();
        for _ in 0..1 + rng.below(8) {
            let p = rng.below(b.len());
            b[p] ^= 1 << rng.below(8);
        }
        if i % 3 == 0 {
            fix_checksum(&mut b);
        }
        ok += usize::from(read_both(&b));
    }
    // Most flips land in slack or data bytes: the reader must not reject everything.
    assert!(ok > 0);
}

#[test]
fn lying_counts_and_sizes_never_panic() {
    let base = components_writer().to_bytes();
    // (cell signature, offset in the cell content, width)
    let fields: [(&[u8; 2], usize, usize); 9] = [
        (b"nk", 0x14, 4), // subkey count
        (b"nk", 0x1C, 4), // subkey list offset
        (b"nk", 0x24, 4), // value count
        (b"nk", 0x28, 4), // value list offset
        (b"nk", 0x48, 2), // name length
        (b"vk", 0x02, 2), // name length
        (b"vk", 0x04, 4), // data size
        (b"vk", 0x08, 4), // data offset
        (b"lh", 0x02, 2), // entry count
    ];
    let lies: [u32; 6] = [0, 1, 0x7F, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF];
    let mut sites = Vec::new();
    for p in 4096..base.len() - 0x50 {
        let allocated = i32::from_le_bytes(base[p - 4..p].try_into().unwrap()) < 0;
        for &(sig, off, w) in &fields {
            if allocated && base[p..p + 2] == sig[..] {
                sites.push((p + off, w));
            }
        }
    }
    assert!(sites.len() > 50);
    for &(at, w) in &sites {
        for lie in lies {
            let mut b = base.clone();
            b[at..at + w].copy_from_slice(&lie.to_le_bytes()[..w]);
            let _ = read_both(&b);
        }
    }
    // Lying hbin sizes and root offset.
    for (at, lie) in [
        (4096 + 8, 0u32),
        (4096 + 8, 0xFFFF_F000),
        (0x24, 0xFFFF_FFF0),
        (0x24, 0x20),
        (0x28, 0),
    ] {
        let mut b = base.clone();
        b[at..at + 4].copy_from_slice(&lie.to_le_bytes());
        fix_checksum(&mut b);
        assert!(
            !read_both(&b) || at == 0x28,
            "lie {lie:#x} at {at:#x} accepted"
        );
    }
}

/// Offsets of allocated cells whose content starts with `sig`.
fn cells_with(b: &[u8], sig: &[u8; 2]) -> Vec<usize> {
    (4096 + 32..b.len() - 2)
        .filter(|&p| {
            b[p..p + 2] == sig[..] && i32::from_le_bytes(b[p - 4..p].try_into().unwrap()) < 0
        })
        .collect()
}

#[test]
fn cyclic_lists_do_not_hang_or_overflow() {
    let mut w = sxs_servicing::regf_writer::HiveWriter::new();
    for i in 0..1300 {
        w.set_dword(&format!(r"DerivedData\Components\c{i:04}"), "f!a", i);
    }
    let base = w.to_bytes();
    let ri = cells_with(&base, b"ri");
    assert_eq!(ri.len(), 1);
    let ri_off = (ri[0] - 4 - 4096) as u32;
    // An index root whose entries point at itself, and a leaf entry pointing at a list.
    let mut b = base.clone();
    for e in 0..3 {
        b[ri[0] + 4 + 4 * e..ri[0] + 8 + 4 * e].copy_from_slice(&ri_off.to_le_bytes());
    }
    let _ = read_components(HiveFiles::new(&b));
    let lh = cells_with(&base, b"lh");
    let mut b = base.clone();
    b[lh[0] + 4..lh[0] + 8].copy_from_slice(&ri_off.to_le_bytes());
    let _ = read_components(HiveFiles::new(&b));
    // A key whose subkey list is its own parent's list.
    let nk = cells_with(&base, b"nk");
    let mut b = base;
    let comps_list = b[nk[2] + 0x1C..nk[2] + 0x20].to_vec();
    for &k in &nk[3..] {
        b[k + 0x14..k + 0x18].copy_from_slice(&1300u32.to_le_bytes());
        b[k + 0x1C..k + 0x20].copy_from_slice(&comps_list);
    }
    let _ = read_components(HiveFiles::new(&b));
}
