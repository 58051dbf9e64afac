//! Differential tests: our [`crate::reader`] against the `regf` crate (dev-dependency only,
//! an independent implementation) on writer-built hives of several shapes and on their
//! bit-flipped variants. A unit-test module because the reader's API is crate-private.

use crate::reader::{subkeys, values, Hive, MAX_VALUE_BYTES};
use crate::regf_writer::{base_block_checksum, HiveWriter, REG_SZ};
use crate::{Error, HiveFiles};
use sxs_testdata::Rng;

/// Keys visited per walk: our test hives have fewer; a corrupt one that lists a key
/// inside itself would otherwise be walked forever by the recursive walk below.
const WALK_LIMIT: usize = 20_000;

/// (key path, [(value name, type, data)]) in preorder, subkeys in stored order.
type Tree = Vec<(String, Vec<(String, u32, Vec<u8>)>)>;

fn ours(bytes: &[u8]) -> Result<Tree, String> {
    let hive = Hive::open(&HiveFiles::new(bytes)).map_err(|e| e.to_string())?;
    let mut out = Tree::new();
    let mut stack = vec![(String::new(), hive.root().map_err(|e| e.to_string())?)];
    while let Some((parent, k)) = stack.pop() {
        if out.len() >= WALK_LIMIT {
            return Err("walk limit".into());
        }
        let path = format!("{parent}\\{}", k.name());
        let mut skipped = Vec::new();
        let vals = values(&k, &mut skipped).map_err(|e| e.to_string())?;
        if !skipped.is_empty() {
            return Err(format!("skipped {skipped:?}"));
        }
        out.push((
            path.clone(),
            vals.into_iter()
                .map(|v| (v.name.into_owned(), v.ty, v.data.into_owned()))
                .collect(),
        ));
        let subs = subkeys(&k).map_err(|e| e.to_string())?;
        stack.extend(subs.into_iter().rev().map(|s| (path.clone(), s)));
    }
    Ok(out)
}

fn theirs(bytes: &[u8]) -> Result<Tree, String> {
    let hive = regf::RegistryHive::from_bytes(bytes.to_vec()).map_err(|e| e.to_string())?;
    let mut out = Tree::new();
    let mut stack = vec![(String::new(), hive.root_key().map_err(|e| e.to_string())?)];
    while let Some((parent, k)) = stack.pop() {
        if out.len() >= WALK_LIMIT {
            return Err("walk limit".into());
        }
        let path = format!("{parent}\\{}", k.name());
        let mut vals = Vec::new();
        if k.value_count().unwrap_or(0) > 0 {
            for v in k.values().map_err(|e| e.to_string())? {
                let data = v.raw_data().map_err(|e| e.to_string())?;
                vals.push((v.name(), v.raw_data_type(), data));
            }
        }
        out.push((path.clone(), vals));
        if k.subkey_count() > 0 {
            let subs = k.subkeys().map_err(|e| e.to_string())?;
            stack.extend(subs.into_iter().rev().map(|s| (path.clone(), s)));
        }
    }
    Ok(out)
}

/// A hive using every feature our writer has: nested and empty keys, ASCII and UTF-16
/// key and value names, an empty value name, data of 0, 1, 4 (inline), 5 and 16,344 bytes
/// (own cells), strings, and big data (`db`) of 16,345 bytes (2 segments), 40,000 (3) and
/// [`MAX_VALUE_BYTES`] (5).
fn mixed() -> Vec<u8> {
    let mut w = HiveWriter::with_root_name("CMI-CreateHive{D2C1B9F7}");
    w.create_key(r"Empty\Deeper\Deepest");
    w.set_dword(r"A\B", "dword", 0x1234_5678);
    w.set_binary(r"A\B", "", b"default value");
    w.set_binary(r"A\B", "zero", &[]);
    w.set_binary(r"A\B", "one", &[7]);
    w.set_binary(r"A\B", "five", &[1, 2, 3, 4, 5]);
    let big: Vec<u8> = (0..16_344u32).map(|i| (i * 7 % 251) as u8).collect();
    w.set_binary(r"A\B", "largest cell", &big);
    w.set_string(r"A\Ü-key", "Ärger", "héllo wörld");
    w.set_value(r"A\日本", "名前", REG_SZ, &[0x42, 0, 0, 0]);
    w.set_dword(r"A\mixedCASE", "x", 1);
    for n in [16_345, 40_000, MAX_VALUE_BYTES as usize] {
        let data: Vec<u8> = (0..n).map(|i| (i * 13 % 256) as u8).collect();
        w.set_binary(r"A\Big", &format!("big{n}"), &data);
    }
    w.to_bytes()
}

/// 1,300 subkeys under one key (an `ri` over three `lh` leaves) and a few under another.
fn wide() -> Vec<u8> {
    wide_n(1300)
}

/// `n` components (over 500: an `ri` index) and 7 deployments.
fn wide_n(n: u32) -> Vec<u8> {
    let mut w = HiveWriter::new();
    for i in 0..n {
        let k = format!(r"DerivedData\Components\amd64_c{i:05}_31bf3856ad364e35");
        w.set_dword(&k, &format!("f!file{i}.dll"), i);
        w.set_binary(&k, "S256H", &[i as u8; 32]);
        w.set_binary(&k, &format!("c!dep{}", i % 7), &[]);
    }
    for d in 0..7 {
        w.set_binary(
            &format!(r"CanonicalData\Deployments\dep{d}"),
            &format!("i!P{d}"),
            &[],
        );
    }
    w.to_bytes()
}

/// Allocated cells whose content starts with `sig`: offsets of their content in `b`.
fn cells_with(b: &[u8], sig: &[u8; 2]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut bin = 4096;
    while bin + 32 <= b.len() {
        let size = u32::from_le_bytes(b[bin + 8..bin + 12].try_into().unwrap()) as usize;
        let mut c = bin + 32;
        while c + 6 <= bin + size {
            let s = i32::from_le_bytes(b[c..c + 4].try_into().unwrap());
            if s < 0 && &b[c + 4..c + 6] == sig {
                out.push(c + 4);
            }
            c += s.unsigned_abs() as usize;
        }
        bin += size;
    }
    out
}

/// `wide()` with every `lh` leaf rewritten as `lf` (same layout: the hash field becomes a
/// name hint, which readers need not check) or as `li` (4-byte entries, compacted in place;
/// the cell keeps its size, the rest is padding).
fn wide_as(sig: &[u8; 2]) -> Vec<u8> {
    wide_n_as(1300, sig)
}

fn wide_n_as(n: u32, sig: &[u8; 2]) -> Vec<u8> {
    let mut b = wide_n(n);
    for p in cells_with(&b, b"lh") {
        let n = usize::from(u16::from_le_bytes([b[p + 2], b[p + 3]]));
        b[p..p + 2].copy_from_slice(sig);
        if sig == b"li" {
            for i in 0..n {
                let e = p + 4 + 8 * i;
                let off: [u8; 4] = b[e..e + 4].try_into().unwrap();
                b[p + 4 + 4 * i..p + 8 + 4 * i].copy_from_slice(&off);
            }
        } else {
            // A plausible name hint: the first four name bytes of each subkey.
            for i in 0..n {
                let e = p + 4 + 8 * i;
                let nk = 4096 + u32::from_le_bytes(b[e..e + 4].try_into().unwrap()) as usize + 4;
                let hint: [u8; 4] = b[nk + 0x4C..nk + 0x50].try_into().unwrap();
                b[e + 4..e + 8].copy_from_slice(&hint);
            }
        }
    }
    b
}

/// `ours` with every key and value name cut at its first NUL.
///
/// Names are counted strings (the specification gives their length, not a terminator) and
/// we return them whole; `regf` cuts them at the first NUL (seen when a lie or a flip puts a
/// zero into a name). Windows' own API can create such names, so ours is the faithful
/// reading; bit-flip comparisons accept this one difference.
fn cut_at_nul(t: &Tree) -> Tree {
    let cut = |s: &str| s.split('\0').next().unwrap_or("").to_owned();
    t.iter()
        .map(|(path, vals)| {
            (
                path.split('\\').map(cut).collect::<Vec<_>>().join("\\"),
                vals.iter()
                    .map(|(n, ty, d)| (cut(n), *ty, d.clone()))
                    .collect(),
            )
        })
        .collect()
}

/// Both trees are the same, up to [`cut_at_nul`].
fn assert_agree(o: &Tree, t: &Tree, what: &str) {
    if o != t {
        assert_eq!(&cut_at_nul(o), t, "{what}");
    }
}

fn check_same(what: &str, b: &[u8]) -> Tree {
    let o = ours(b).unwrap_or_else(|e| panic!("{what}: ours failed: {e}"));
    let t = theirs(b).unwrap_or_else(|e| panic!("{what}: regf failed: {e}"));
    assert_eq!(o, t, "{what}");
    o
}

#[test]
fn agrees_with_regf_on_writer_hives() {
    let t = check_same("mixed", &mixed());
    assert_eq!(t.len(), 10);
    let b = t.iter().find(|(p, _)| p.ends_with(r"\A\B")).unwrap();
    assert_eq!(b.1.len(), 6);
    assert!(b
        .1
        .iter()
        .any(|v| v.0.is_empty() && v.2 == b"default value"));
    assert!(b
        .1
        .iter()
        .any(|v| v.0 == "largest cell" && v.2.len() == 16_344));
    assert!(t
        .iter()
        .any(|(p, v)| p.ends_with(r"\A\日本") && v[0].0 == "名前"));
    let big = &t.iter().find(|(p, _)| p.ends_with(r"\A\Big")).unwrap().1;
    let sizes: Vec<usize> = big.iter().map(|v| v.2.len()).collect();
    assert_eq!(sizes, [16_345, 40_000, 65_536]);
    assert!(big[1]
        .2
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i * 13 % 256) as u8));

    let t = check_same("wide (ri + lh)", &wide());
    assert_eq!(t.len(), 1 + 2 + 1300 + 2 + 7);
    let t_lf = check_same("wide (ri + lf)", &wide_as(b"lf"));
    let t_li = check_same("wide (ri + li)", &wide_as(b"li"));
    assert_eq!(t, t_lf);
    assert_eq!(t, t_li);
}

/// Seeded bit flips (1 to 4 per variant, checksum refreshed on every other one): where both
/// readers succeed they must return the same tree.
///
/// They may legitimately disagree on *whether* to accept: we check hive bin headers, cell
/// alignment and that list entries add up to the subkey count, `regf` checks other things
/// (the counts are printed), and a flip that makes a value longer than [`MAX_VALUE_BYTES`]
/// makes `ours` fail here (the reader skips such data by design). Where both accept, a
/// flipped name, type or data byte is read the same by both. Release builds try 6,000
/// variants; a one-off run of 30,000 gave 17,532 identical, 3,833 read by us only, 1 by
/// `regf` only (the over-cap case), 8,634 by neither.
#[test]
fn agrees_with_regf_on_bit_flips() {
    let bases = [mixed(), wide(), wide_as(b"li")];
    let mut rng = Rng(0x0AC1_E5EE);
    let (mut both, mut ours_only, mut theirs_only, mut neither) = (0, 0, 0, 0);
    let mut theirs_only_examples = Vec::new();
    let variants = if cfg!(debug_assertions) { 600 } else { 6000 };
    for i in 0..variants {
        let mut b = bases[i % bases.len()].clone();
        for _ in 0..1 + rng.below(4) {
            // Mostly in the hive bins, where the structures are.
            let p = if rng.below(8) == 0 {
                rng.below(4096)
            } else {
                4096 + rng.below(b.len() - 4096)
            };
            b[p] ^= 1 << rng.below(8);
        }
        if i % 2 == 0 {
            let sum = base_block_checksum(&b[..4096]);
            b[0x1FC..0x200].copy_from_slice(&sum.to_le_bytes());
        }
        match (ours(&b), theirs(&b)) {
            (Ok(o), Ok(t)) => {
                assert_agree(&o, &t, &format!("variant {i}"));
                both += 1;
            }
            (Ok(_), Err(_)) => ours_only += 1,
            (Err(e), Ok(_)) => {
                theirs_only += 1;
                if theirs_only_examples.len() < 8 {
                    theirs_only_examples.push(e);
                }
            }
            (Err(_), Err(_)) => neither += 1,
        }
    }
    eprintln!(
        "{variants} variants: both read {both} (identical), only ours {ours_only}, only regf \
         {theirs_only}, neither {neither}; ours rejected: {theirs_only_examples:#?}"
    );
    assert!(both > variants / 4, "both read only {both} of {variants}");
}

#[test]
fn work_budget_stops_shared_lists() {
    // Every component key gets the value list of the first one, and every key's subkey
    // list becomes the Components list: a walk would be quadratic, then cyclic.
    let mut b = wide();
    let nks = cells_with(&b, b"nk");
    let comps = nks
        .iter()
        .copied()
        .find(|&p| &b[p + 0x4C..p + 0x4C + 10] == b"Components")
        .unwrap();
    let list: [u8; 4] = b[comps + 0x1C..comps + 0x20].try_into().unwrap();
    for &p in &nks {
        if p != comps && b[p + 0x14..p + 0x18] == [0; 4] {
            b[p + 0x14..p + 0x18].copy_from_slice(&1300u32.to_le_bytes());
            b[p + 0x1C..p + 0x20].copy_from_slice(&list);
        }
    }
    let e = ours(&b).unwrap_err();
    assert!(
        e.contains("walk limit") || e.contains("cyclic or shared"),
        "{e}"
    );
    // Directly: reading the Components list over and over runs out of budget.
    let hive = Hive::open(&HiveFiles::new(&b)).unwrap();
    let root = hive.root().unwrap();
    let comps_key = crate::reader::descend(root, &["DerivedData", "Components"])
        .unwrap()
        .unwrap();
    let mut err = None;
    for _ in 0..100 {
        match subkeys(&comps_key) {
            Ok(v) => assert_eq!(v.len(), 1300),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert!(
        matches!(&err, Some(Error::Parse(m)) if m.contains("cyclic or shared")),
        "{err:?}"
    );
}

#[test]
fn data_over_the_cap_is_skipped_not_misread() {
    let mut w = HiveWriter::new();
    let data = vec![0x5A; MAX_VALUE_BYTES as usize + 1];
    w.set_binary("K", "huge", &data);
    w.set_dword("K", "small", 3);
    let b = w.to_bytes();
    // regf reads the whole value: the writer's big data is well formed.
    let t = theirs(&b).unwrap();
    assert_eq!(t[1].1[0].2, data);
    let hive = Hive::open(&HiveFiles::new(&b)).unwrap();
    let k = crate::reader::child(&hive.root().unwrap(), "k")
        .unwrap()
        .unwrap();
    let mut skipped = Vec::new();
    let v = values(&k, &mut skipped).unwrap();
    assert_eq!(skipped, ["K\\huge: 65537 bytes of data, not read"]);
    assert!(v[0].data.is_empty());
    assert_eq!(v[1].data.as_ref(), 3u32.to_le_bytes());
}

#[test]
fn big_data_needs_version_1_4() {
    // In a version 1.3 hive, data over 16,344 bytes is one plain cell: a `db` cell there is
    // just 12 bytes of data too few, never segments.
    let mut b = mixed();
    b[0x18..0x1C].copy_from_slice(&3u32.to_le_bytes());
    let e = ours(&b).unwrap_err();
    assert!(e.contains("bytes of data in a 12-byte cell"), "{e}");
}

/// The fields of the first cells of each kind (including `ri`, `li` and `db`, which
/// tests/robustness.rs does not reach) set to lies: an error or a tree, never a panic, and
/// where `regf` also reads the result, the same tree. For `nk` the fields we read (flags,
/// counts, offsets, name and class lengths); for the others every u16/u32 in the header.
#[test]
fn lying_fields_in_every_structure() {
    let lies: [u32; 7] = [0, 1, 4, 0x7F, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF];
    let mut tried = 0;
    // 501 components: an `ri` over two `li` leaves, small enough for debug builds.
    for base in [mixed(), wide_n_as(501, b"li")] {
        for sig in [b"nk", b"vk", b"lh", b"li", b"ri", b"db"] {
            for p in cells_with(&base, sig).into_iter().take(6) {
                let fields: &[usize] = if sig == b"nk" {
                    &[0x02, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x48, 0x4A]
                } else {
                    &[2, 4, 6]
                };
                for &at in fields {
                    for lie in lies {
                        for w in [2, 4] {
                            let mut b = base.clone();
                            b[p + at..p + at + w].copy_from_slice(&lie.to_le_bytes()[..w]);
                            tried += 1;
                            // regf is slow in debug builds: asked only when ours reads.
                            let Ok(o) = ours(&b) else { continue };
                            if let Ok(t) = theirs(&b) {
                                let what =
                                    format!("{sig:?} cell at {p:#x}, field {at:#x} = {lie:#x}");
                                assert_agree(&o, &t, &what);
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(tried > 2000, "{tried}");
}
