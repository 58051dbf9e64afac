//! A small writer of registry hive files (`regf`), so that tests, benches and the demo image
//! builder can make real COMPONENTS and SOFTWARE hives without Windows.
//!
//! Written from the public format description "Windows NT Registry File (REGF) format
//! specification" (libyal/libregf documentation) and Maxim Suhanov's "Windows registry file
//! format specification"; no implementation's source was read. Its output is checked by an
//! independent reader (`hivexsh`, tests/hivex.rs) and by the reader this crate uses (`regf`).
//!
//! # What is written
//!
//! All integers are little-endian. Offsets of cells are relative to the start of the hive
//! bins data, i.e. file offset 4096.
//!
//! - **Base block** (4096 bytes): `regf` at 0x000; primary sequence number 0x004; secondary
//!   sequence number 0x008 (equal = clean; [`HiveWriter::to_bytes_dirty`] makes them differ,
//!   as a hive whose last write was not completed); last-written FILETIME 0x00C; major version
//!   1 (0x014); minor version 5 (0x018, the first with `lh` lists); file type 0 = primary
//!   (0x01C); file format 1 = direct memory load (0x020); root cell offset (0x024); hive bins
//!   data size (0x028); clustering factor 1 (0x02C); checksum at 0x1FC = XOR of the 127
//!   dwords before it (0 becomes 1, 0xFFFFFFFF becomes 0xFFFFFFFE).
//! - **Hive bins**: header `hbin`, offset of this bin (0x04), its size (0x08, a multiple of
//!   4096), FILETIME at 0x14; cells from 0x20. A cell is an `i32` size (negative = allocated,
//!   a multiple of 8, the size field included) and its content. The unused tail of a bin is
//!   one free cell (positive size). A cell never crosses a bin; a bigger cell gets a bigger bin.
//! - **nk** (key): `nk`, flags (0x0004 hive entry + 0x0008 no delete on the root, 0x0020 name
//!   is ASCII), FILETIME, parent, subkey count, volatile subkey count, subkey list, volatile
//!   list (-1), value count, value list, `sk` offset, class (-1), largest subkey name (bytes of
//!   UTF-16), largest class, largest value name (bytes of UTF-16), largest value data, work
//!   var, name length (u16), class length (u16), name at 0x4C.
//! - **Subkey lists**: `lh` (count, then per subkey its nk offset and the hash: for each
//!   UTF-16 unit of the upper-cased name `h = h * 37 + unit`), entries sorted by upper-cased
//!   name. Above [`MAX_LEAF_ENTRIES`] subkeys: an `ri` index root (count, leaf offsets) over
//!   several `lh` leaves, as Windows does for large keys.
//! - **Value list**: a cell of `u32` vk offsets. **vk**: `vk`, name length (u16), data size
//!   (bit 31 set = up to 4 bytes stored in the data-offset field itself), data offset, type,
//!   flags (0x0001 name is ASCII), spare, name at 0x14. Data over 4 bytes is its own cell;
//!   data over [`MAX_CELL_DATA`] bytes is **big data**: the vk points at a `db` cell (`db`,
//!   segment count u16, offset of the segment list u32), the segment list is a cell of `u32`
//!   segment offsets, and each segment is a cell of [`MAX_CELL_DATA`] bytes (the last one
//!   the rest), as hives of version 1.4 and up store it.
//! - **sk**: one security cell shared by every key (flink = blink = itself, reference count =
//!   number of keys) holding a self-relative descriptor: owner Administrators, group SYSTEM,
//!   DACL allowing KEY_ALL_ACCESS to Everyone.
//!
//! Not written: class names, volatile keys, transaction logs. Values are capped at
//! [`MAX_VALUE_DATA`]. Output is deterministic (fixed timestamps).

use std::collections::HashMap;

/// Largest value data stored in a single cell; more is written as big-data (`db`) segments
/// of this size.
pub const MAX_CELL_DATA: usize = 16_344;
/// Largest value data this writer stores (a test-and-demo writer needs no more).
pub const MAX_VALUE_DATA: usize = 1 << 20;
/// Subkeys per `lh` leaf; keys with more get an `ri` index root.
pub const MAX_LEAF_ENTRIES: usize = 500;

/// REG_SZ.
pub const REG_SZ: u32 = 1;
/// REG_BINARY.
pub const REG_BINARY: u32 = 3;
/// REG_DWORD.
pub const REG_DWORD: u32 = 4;

const BASE_BLOCK: usize = 4096;
const HBIN_HEADER: usize = 32;
const BIN_UNIT: usize = 4096;
const NONE: u32 = 0xFFFF_FFFF;
/// 2021-04-22 00:00:00 UTC as FILETIME: any fixed time, so output is reproducible.
const FILETIME: u64 = 132_635_520_000_000_000;

#[derive(Default)]
struct Node {
    name: String,
    children: Vec<Node>,
    child_index: HashMap<String, usize>,
    values: Vec<(String, u32, Vec<u8>)>,
    value_index: HashMap<String, usize>,
}

/// Builds a hive in memory; [`HiveWriter::to_bytes`] serialises it.
///
/// Paths are `\`-separated and relative to the root key; keys are created on demand; names
/// are matched case-insensitively, as in the registry.
pub struct HiveWriter {
    root: Node,
}

impl Default for HiveWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl HiveWriter {
    /// An empty hive whose root key is named `ROOT`.
    pub fn new() -> Self {
        Self::with_root_name("ROOT")
    }

    /// An empty hive with the given root key name.
    pub fn with_root_name(name: &str) -> Self {
        Self {
            root: Node {
                name: name.to_owned(),
                ..Node::default()
            },
        }
    }

    /// Create the key at `path` (and its parents) if missing.
    pub fn create_key(&mut self, path: &str) {
        self.key_mut(path);
    }

    /// Set a REG_DWORD value.
    pub fn set_dword(&mut self, path: &str, name: &str, v: u32) {
        self.set_value(path, name, REG_DWORD, &v.to_le_bytes());
    }

    /// Set a REG_BINARY value.
    ///
    /// # Panics
    /// If `bytes` is longer than [`MAX_VALUE_DATA`].
    pub fn set_binary(&mut self, path: &str, name: &str, bytes: &[u8]) {
        self.set_value(path, name, REG_BINARY, bytes);
    }

    /// Set a REG_SZ value (UTF-16LE with a terminating NUL, as Windows stores it).
    ///
    /// # Panics
    /// If the encoded string is longer than [`MAX_VALUE_DATA`].
    pub fn set_string(&mut self, path: &str, name: &str, s: &str) {
        let mut data: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        data.extend_from_slice(&[0, 0]);
        self.set_value(path, name, REG_SZ, &data);
    }

    /// Set a value of any type.
    ///
    /// # Panics
    /// If `data` is longer than [`MAX_VALUE_DATA`].
    pub fn set_value(&mut self, path: &str, name: &str, ty: u32, data: &[u8]) {
        assert!(
            data.len() <= MAX_VALUE_DATA,
            "value {name:?} has {} bytes; this writer stores at most {MAX_VALUE_DATA}",
            data.len()
        );
        let key = self.key_mut(path);
        let folded = fold(name);
        match key.value_index.get(&folded) {
            Some(&i) => {
                if let Some(slot) = key.values.get_mut(i) {
                    *slot = (name.to_owned(), ty, data.to_vec());
                }
            }
            None => {
                key.value_index.insert(folded, key.values.len());
                key.values.push((name.to_owned(), ty, data.to_vec()));
            }
        }
    }

    fn key_mut(&mut self, path: &str) -> &mut Node {
        let mut node = &mut self.root;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            let folded = fold(part);
            let idx = match node.child_index.get(&folded) {
                Some(&i) => i,
                None => {
                    node.child_index.insert(folded, node.children.len());
                    node.children.push(Node {
                        name: part.to_owned(),
                        ..Node::default()
                    });
                    node.children.len() - 1
                }
            };
            node = &mut node.children[idx];
        }
        node
    }

    /// A clean hive file (sequence numbers equal).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.serialise(false)
    }

    /// The same hive marked dirty: primary sequence number one above the secondary, as left
    /// by an interrupted write whose changes would be in the `.LOG1`/`.LOG2` files.
    pub fn to_bytes_dirty(&self) -> Vec<u8> {
        self.serialise(true)
    }

    fn serialise(&self, dirty: bool) -> Vec<u8> {
        // Pass 1: flatten and give every cell its offset; sizes never depend on offsets.
        let mut keys = Vec::new();
        flatten(&self.root, None, &mut keys);
        let mut bins = Bins::default();
        let sd = security_descriptor();
        let sk_off = bins.alloc(20 + sd.len());
        for k in keys.iter_mut() {
            k.nk_off = bins.alloc(0x4C + k.name.0.len());
            for v in k.values.iter_mut() {
                v.vk_off = bins.alloc(0x14 + v.name.0.len());
                if v.data.len() > MAX_CELL_DATA {
                    v.data_off = bins.alloc(8);
                    let segs = v.data.len().div_ceil(MAX_CELL_DATA);
                    v.seg_list_off = bins.alloc(4 * segs);
                    for seg in v.data.chunks(MAX_CELL_DATA) {
                        v.seg_offs.push(bins.alloc(seg.len()));
                    }
                } else if v.data.len() > 4 {
                    v.data_off = bins.alloc(v.data.len());
                }
            }
            if !k.values.is_empty() {
                k.vlist_off = bins.alloc(4 * k.values.len());
            }
            let n = k.children.len();
            if n > 0 {
                for chunk in k.children.chunks(MAX_LEAF_ENTRIES) {
                    let off = bins.alloc(4 + 8 * chunk.len());
                    k.leaf_offs.push(off);
                }
                k.list_off = if k.leaf_offs.len() == 1 {
                    k.leaf_offs[0]
                } else {
                    bins.alloc(4 + 4 * k.leaf_offs.len())
                };
            }
        }
        let data_size = bins.finish();

        // Pass 2: write.
        let mut out = vec![0u8; BASE_BLOCK + data_size];
        {
            let hb = &mut out[BASE_BLOCK..];
            for &(start, size) in &bins.bins {
                let h = &mut hb[start..start + size];
                h[0..4].copy_from_slice(b"hbin");
                put32(h, 4, start as u32);
                put32(h, 8, size as u32);
                put64(h, 0x14, FILETIME);
            }
            for &(off, size) in &bins.free {
                put32(hb, off, size as u32);
            }
            let mut sk = Vec::with_capacity(20 + sd.len());
            sk.extend_from_slice(b"sk\0\0");
            sk.extend_from_slice(&sk_off.to_le_bytes());
            sk.extend_from_slice(&sk_off.to_le_bytes());
            sk.extend_from_slice(&(keys.len() as u32).to_le_bytes());
            sk.extend_from_slice(&(sd.len() as u32).to_le_bytes());
            sk.extend_from_slice(&sd);
            put_cell(hb, sk_off, &sk);

            for (i, k) in keys.iter().enumerate() {
                let mut nk = vec![0u8; 0x4C];
                nk[0..2].copy_from_slice(b"nk");
                let mut flags = if k.name.1 { 0x0020u16 } else { 0 };
                if i == 0 {
                    flags |= 0x0004 | 0x0008;
                }
                nk[2..4].copy_from_slice(&flags.to_le_bytes());
                put64(&mut nk, 0x04, FILETIME);
                put32(&mut nk, 0x10, k.parent.map_or(NONE, |p| keys[p].nk_off));
                put32(&mut nk, 0x14, k.children.len() as u32);
                put32(
                    &mut nk,
                    0x1C,
                    if k.children.is_empty() {
                        NONE
                    } else {
                        k.list_off
                    },
                );
                put32(&mut nk, 0x20, NONE);
                put32(&mut nk, 0x24, k.values.len() as u32);
                put32(
                    &mut nk,
                    0x28,
                    if k.values.is_empty() {
                        NONE
                    } else {
                        k.vlist_off
                    },
                );
                put32(&mut nk, 0x2C, sk_off);
                put32(&mut nk, 0x30, NONE);
                let max_sub = k.children.iter().map(|&c| keys[c].utf16_len * 2).max();
                put32(&mut nk, 0x34, max_sub.unwrap_or(0) as u32);
                let max_vname = k.values.iter().map(|v| v.utf16_len * 2).max();
                put32(&mut nk, 0x3C, max_vname.unwrap_or(0) as u32);
                let max_data = k.values.iter().map(|v| v.data.len()).max();
                put32(&mut nk, 0x40, max_data.unwrap_or(0) as u32);
                nk[0x48..0x4A].copy_from_slice(&(k.name.0.len() as u16).to_le_bytes());
                nk.extend_from_slice(&k.name.0);
                put_cell(hb, k.nk_off, &nk);

                for v in &k.values {
                    let mut vk = vec![0u8; 0x14];
                    vk[0..2].copy_from_slice(b"vk");
                    vk[2..4].copy_from_slice(&(v.name.0.len() as u16).to_le_bytes());
                    let len = v.data.len() as u32;
                    if v.data.len() <= 4 {
                        put32(&mut vk, 4, len | 0x8000_0000);
                        vk[8..8 + v.data.len()].copy_from_slice(v.data);
                    } else {
                        put32(&mut vk, 4, len);
                        put32(&mut vk, 8, v.data_off);
                        if v.seg_offs.is_empty() {
                            put_cell(hb, v.data_off, v.data);
                        } else {
                            let mut db = Vec::with_capacity(8);
                            db.extend_from_slice(b"db");
                            db.extend_from_slice(&(v.seg_offs.len() as u16).to_le_bytes());
                            db.extend_from_slice(&v.seg_list_off.to_le_bytes());
                            put_cell(hb, v.data_off, &db);
                            let list: Vec<u8> =
                                v.seg_offs.iter().flat_map(|o| o.to_le_bytes()).collect();
                            put_cell(hb, v.seg_list_off, &list);
                            for (seg, &off) in v.data.chunks(MAX_CELL_DATA).zip(&v.seg_offs) {
                                put_cell(hb, off, seg);
                            }
                        }
                    }
                    put32(&mut vk, 0x0C, v.ty);
                    let vflags: u16 = if v.name.1 { 1 } else { 0 };
                    vk[0x10..0x12].copy_from_slice(&vflags.to_le_bytes());
                    vk.extend_from_slice(&v.name.0);
                    put_cell(hb, v.vk_off, &vk);
                }
                if !k.values.is_empty() {
                    let list: Vec<u8> = k
                        .values
                        .iter()
                        .flat_map(|v| v.vk_off.to_le_bytes())
                        .collect();
                    put_cell(hb, k.vlist_off, &list);
                }
                for (chunk, &leaf_off) in k.children.chunks(MAX_LEAF_ENTRIES).zip(&k.leaf_offs) {
                    let mut lh = Vec::with_capacity(4 + 8 * chunk.len());
                    lh.extend_from_slice(b"lh");
                    lh.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
                    for &c in chunk {
                        lh.extend_from_slice(&keys[c].nk_off.to_le_bytes());
                        lh.extend_from_slice(&keys[c].hash.to_le_bytes());
                    }
                    put_cell(hb, leaf_off, &lh);
                }
                if k.leaf_offs.len() > 1 {
                    let mut ri = Vec::with_capacity(4 + 4 * k.leaf_offs.len());
                    ri.extend_from_slice(b"ri");
                    ri.extend_from_slice(&(k.leaf_offs.len() as u16).to_le_bytes());
                    for off in &k.leaf_offs {
                        ri.extend_from_slice(&off.to_le_bytes());
                    }
                    put_cell(hb, k.list_off, &ri);
                }
            }
        }

        let base = &mut out[..BASE_BLOCK];
        base[0..4].copy_from_slice(b"regf");
        put32(base, 0x04, if dirty { 2 } else { 1 });
        put32(base, 0x08, 1);
        put64(base, 0x0C, FILETIME);
        put32(base, 0x14, 1);
        put32(base, 0x18, 5);
        put32(base, 0x1C, 0);
        put32(base, 0x20, 1);
        put32(base, 0x24, keys[0].nk_off);
        put32(base, 0x28, data_size as u32);
        put32(base, 0x2C, 1);
        let sum = base_block_checksum(base);
        put32(base, 0x1FC, sum);
        out
    }
}

/// The base-block checksum: XOR of the dwords at 0x000..0x1FC, with 0 and 0xFFFFFFFF
/// (reserved) replaced by 1 and 0xFFFFFFFE.
pub fn base_block_checksum(base: &[u8]) -> u32 {
    let x = base
        .get(..0x1FC)
        .unwrap_or(&[])
        .chunks_exact(4)
        .fold(0u32, |acc, c| {
            acc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]])
        });
    match x {
        0 => 1,
        0xFFFF_FFFF => 0xFFFF_FFFE,
        x => x,
    }
}

struct FlatKey<'a> {
    /// Stored name bytes and whether they are ASCII ("compressed") rather than UTF-16LE.
    name: (Vec<u8>, bool),
    utf16_len: usize,
    hash: u32,
    parent: Option<usize>,
    children: Vec<usize>,
    values: Vec<FlatValue<'a>>,
    nk_off: u32,
    list_off: u32,
    leaf_offs: Vec<u32>,
    vlist_off: u32,
}

struct FlatValue<'a> {
    name: (Vec<u8>, bool),
    utf16_len: usize,
    ty: u32,
    data: &'a [u8],
    vk_off: u32,
    data_off: u32,
    /// Big data only: the segment list and the segments.
    seg_list_off: u32,
    seg_offs: Vec<u32>,
}

fn flatten<'a>(node: &'a Node, parent: Option<usize>, out: &mut Vec<FlatKey<'a>>) -> usize {
    let me = out.len();
    out.push(FlatKey {
        name: encode_name(&node.name),
        utf16_len: node.name.encode_utf16().count(),
        hash: name_hash(&node.name),
        parent,
        children: Vec::new(),
        values: node
            .values
            .iter()
            .map(|(n, ty, d)| FlatValue {
                name: encode_name(n),
                utf16_len: n.encode_utf16().count(),
                ty: *ty,
                data: d,
                vk_off: 0,
                data_off: 0,
                seg_list_off: 0,
                seg_offs: Vec::new(),
            })
            .collect(),
        nk_off: 0,
        list_off: 0,
        leaf_offs: Vec::new(),
        vlist_off: 0,
    });
    // Windows keeps subkey lists sorted by upper-cased name (binary search on lookup).
    let mut order: Vec<&Node> = node.children.iter().collect();
    order.sort_by_cached_key(|c| upcase_utf16(&c.name));
    let children: Vec<usize> = order
        .into_iter()
        .map(|c| flatten(c, Some(me), out))
        .collect();
    out[me].children = children;
    me
}

fn encode_name(name: &str) -> (Vec<u8>, bool) {
    if name.is_ascii() {
        (name.as_bytes().to_vec(), true)
    } else {
        (
            name.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            false,
        )
    }
}

fn upcase_utf16(name: &str) -> Vec<u16> {
    let mut out = Vec::with_capacity(name.len());
    for c in name.chars() {
        let mut up = c.to_uppercase();
        // Windows upcases one UTF-16 unit to one unit; keep c when Unicode maps it to several.
        let u = match (up.next(), up.next()) {
            (Some(u), None) => u,
            _ => c,
        };
        let mut buf = [0u16; 2];
        out.extend_from_slice(u.encode_utf16(&mut buf));
    }
    out
}

/// The `lh` hash of a key name.
pub fn name_hash(name: &str) -> u32 {
    upcase_utf16(name)
        .into_iter()
        .fold(0u32, |h, u| h.wrapping_mul(37).wrapping_add(u32::from(u)))
}

fn fold(name: &str) -> String {
    name.to_uppercase()
}

#[derive(Default)]
struct Bins {
    /// (start, size) of each hbin, relative to the hive bins data.
    bins: Vec<(usize, usize)>,
    /// (offset, size) of the free cell that fills each bin's tail.
    free: Vec<(usize, usize)>,
    cur_start: usize,
    cur_size: usize,
    cur_used: usize,
}

impl Bins {
    fn alloc(&mut self, content_len: usize) -> u32 {
        let size = (content_len + 4).next_multiple_of(8);
        if self.cur_size == 0 || self.cur_used + size > self.cur_size {
            self.close();
            self.cur_start += self.cur_size;
            self.cur_size = (size + HBIN_HEADER).next_multiple_of(BIN_UNIT);
            self.cur_used = HBIN_HEADER;
        }
        let off = self.cur_start + self.cur_used;
        self.cur_used += size;
        off as u32
    }

    fn close(&mut self) {
        if self.cur_size == 0 {
            return;
        }
        self.bins.push((self.cur_start, self.cur_size));
        if self.cur_used < self.cur_size {
            self.free.push((
                self.cur_start + self.cur_used,
                self.cur_size - self.cur_used,
            ));
        }
    }

    fn finish(&mut self) -> usize {
        self.close();
        self.cur_start + self.cur_size
    }
}

fn put_cell(hb: &mut [u8], off: u32, content: &[u8]) {
    let off = off as usize;
    let size = (content.len() + 4).next_multiple_of(8);
    put32(hb, off, (size as i32).wrapping_neg() as u32);
    hb[off + 4..off + 4 + content.len()].copy_from_slice(content);
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn security_descriptor() -> Vec<u8> {
    const EVERYONE: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    const SYSTEM: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
    const ADMINS: [u8; 16] = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];
    let ace_len = 8 + EVERYONE.len();
    let acl_len = 8 + ace_len;
    let dacl_off = 20;
    let owner_off = dacl_off + acl_len;
    let group_off = owner_off + ADMINS.len();
    let mut sd = Vec::with_capacity(group_off + SYSTEM.len());
    sd.extend_from_slice(&[1, 0]);
    // SE_SELF_RELATIVE | SE_DACL_PRESENT
    sd.extend_from_slice(&0x8004u16.to_le_bytes());
    sd.extend_from_slice(&(owner_off as u32).to_le_bytes());
    sd.extend_from_slice(&(group_off as u32).to_le_bytes());
    sd.extend_from_slice(&0u32.to_le_bytes());
    sd.extend_from_slice(&(dacl_off as u32).to_le_bytes());
    sd.extend_from_slice(&[2, 0]);
    sd.extend_from_slice(&(acl_len as u16).to_le_bytes());
    sd.extend_from_slice(&1u16.to_le_bytes());
    sd.extend_from_slice(&0u16.to_le_bytes());
    // ACCESS_ALLOWED_ACE, CONTAINER_INHERIT_ACE, KEY_ALL_ACCESS
    sd.extend_from_slice(&[0, 0x02]);
    sd.extend_from_slice(&(ace_len as u16).to_le_bytes());
    sd.extend_from_slice(&0x000F_003Fu32.to_le_bytes());
    sd.extend_from_slice(&EVERYONE);
    sd.extend_from_slice(&ADMINS);
    sd.extend_from_slice(&SYSTEM);
    sd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_well_formed() {
        let mut w = HiveWriter::new();
        w.set_dword("A\\B", "x", 7);
        w.set_binary("a\\b", "Y", &[1u8; 5000]);
        w.set_string("A\\C", "s", "héllo");
        let b = w.to_bytes();
        assert_eq!(&b[..4], b"regf");
        assert_eq!(b.len() % 4096, 0);
        let size = u32::from_le_bytes(b[0x28..0x2C].try_into().unwrap()) as usize;
        assert_eq!(size + 4096, b.len());
        assert_eq!(
            u32::from_le_bytes(b[0x1FC..0x200].try_into().unwrap()),
            base_block_checksum(&b[..4096])
        );
        // Walk every bin and every cell: the cells must tile each bin exactly.
        let mut pos = 4096;
        let mut cells = 0;
        while pos < b.len() {
            assert_eq!(&b[pos..pos + 4], b"hbin");
            let bsize = u32::from_le_bytes(b[pos + 8..pos + 12].try_into().unwrap()) as usize;
            let mut c = pos + 32;
            while c < pos + bsize {
                let s = i32::from_le_bytes(b[c..c + 4].try_into().unwrap());
                assert!(s != 0 && s.unsigned_abs() % 8 == 0);
                c += s.unsigned_abs() as usize;
                cells += 1;
            }
            assert_eq!(c, pos + bsize);
            pos += bsize;
        }
        assert!(cells >= 10);
        let d = w.to_bytes_dirty();
        assert_ne!(d[4..8], d[8..12]);
    }

    #[test]
    fn hash_matches_the_documented_rule() {
        // h = h * 37 + upcase(unit), over "ab" -> 'A' * 37 + 'B'.
        assert_eq!(name_hash("ab"), 65 * 37 + 66);
    }
}
