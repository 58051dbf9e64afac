//! Our own zero-copy reader of registry hive files (`regf`): it works on the caller's bytes,
//! parses only the cells it is asked for, and bounds every offset, count and unit of work by
//! what the file can hold, so a hostile hive gives an error, never a panic, a hang or a huge
//! allocation.
//!
//! # Why our own reader
//!
//! Until 2026-11-24 this module wrapped the `regf` crate (MIT), chosen over `winreg-core`
//! (aborted the process on a bit-flipped value count: a 64 GiB allocation) and `notatin`
//! (no longer builds). `regf` was correct and robust, but it copies the file and validates
//! the whole key graph up front: on the 15.6 MB bench image it took ~0.37 CPU s and held
//! about 4x the file in memory, while a real serviced COMPONENTS hive is 50-100 MB
//! (250,000 keys, 650,000 values) and the audit's peak memory target is 200 MB. Measured
//! on 2026-11-24 (release, 2 cores shared with other builds, so +-20%), on hives of N
//! components x 4 values written by `regf_writer`:
//!
//! | | `regf` 0.2.0 | this reader |
//! |---|---|---|
//! | bench `read_components_20k` (11.6 MB hive, criterion) | 167 ms (66 MiB/s) | 31 ms (355 MiB/s) |
//! | the reader alone: every Components key and value of that hive | 144-166 ms | 5.2 ms (2.2 GB/s) |
//! | `examples/readhive.rs`, 20,000 components (11.6 MB): peak RSS | 61 MB | 35 MB |
//! | same, 200,000 components (116 MB): time, peak RSS | 4.37 s, 586 MB | 0.36 s, 331 MB |
//!
//! `read_components` no longer builds a typed result for every component (strings,
//! `BTreeMap`s: about 1 KB each): it keeps the hive's bytes and an index, and decodes a
//! component when asked ([`crate::Components`]). `examples/readhive.rs` then gives 16 ms and
//! 17 MB peak for 20,000 components, 0.10 s and 150 MB for 200,000 (116 MB of it the file).
//! The reader itself allocates only the `Vec`s it returns and names that are not ASCII.
//!
//! `regf` stays a dev-dependency: `reader_oracle.rs` checks that both readers agree on
//! every key path, value name, type and data of writer-built hives (`lh`, `lf`, `li` and
//! `ri` lists, UTF-16 names, big data) and of their bit-flipped and lying variants.
//! Transaction logs are still not replayed: a dirty hive is reported with
//! [`crate::ComponentsHive::dirty`].
//!
//! # The format
//!
//! Sources: Maxim Suhanov's "Windows registry file format specification"
//! (github.com/msuhanov/regf), `formats.md` §5.2 and our own [`crate::regf_writer`]. No
//! reader's source was read. All integers are little-endian; a *cell offset* is relative
//! to the start of the hive bins data (file offset 4096).
//!
//! - **Base block** (4096 bytes): `regf` at 0x000, primary / secondary sequence numbers at
//!   0x004 / 0x008 (different = dirty: the last write did not complete), minor version at
//!   0x018 (4 and up may use big data), root cell offset at 0x024, hive bins data size at
//!   0x028, XOR-32 checksum of the first 508 bytes at 0x1FC (0 is stored as 1 and
//!   0xFFFFFFFF as 0xFFFFFFFE).
//! - **Hive bins** fill the hive bins data: header `hbin`, its own offset (0x04), its size
//!   (0x08, a multiple of 4096). Checked once at open: every bin present, in place, sized.
//! - **Cell**: `i32` size (negative = allocated; includes the size field) then content.
//!   Every offset we follow must be 8-aligned, inside the hive bins data, name an allocated
//!   cell, and the cell must hold what we read from it. (We do not check that a cell stays
//!   inside its bin: that would cost a bin lookup per cell, and every read is bounded by
//!   the hive bins data anyway.)
//! - **nk** (key): flags 0x02 (0x0020: name is Latin-1 "compressed", else UTF-16LE),
//!   subkey count 0x14, subkey list 0x1C, value count 0x24, value list 0x28, name length
//!   0x48 (u16), name at 0x4C. A key flagged 0x0040 (`KEY_PREDEF_HANDLE`, "is a predefined
//!   handle" in the specification, which says no more) is read as having no values, as
//!   `regf` does (observed in `reader_oracle.rs`): its value count field does not count
//!   values. Names are counted, not NUL-terminated: we return them whole.
//! - **Subkey lists**: `lf` / `lh` (count u16 at 2, then 8-byte entries: nk offset and a
//!   name hint or hash, which we do not need), `li` (4-byte entries: nk offset), `ri` (4-byte
//!   entries: offsets of `lf`/`lh`/`li` leaves). One `ri` level is what Windows writes and
//!   what the specification allows: an `ri` pointing at an `ri` is rejected. The entries of
//!   all leaves must add up to the key's subkey count.
//! - **Value list**: a cell of `u32` vk offsets, as many as the key's value count.
//! - **vk** (value): name length 0x02 (u16), data size 0x04, data offset 0x08, type 0x0C,
//!   flags 0x10 (0x0001: name is Latin-1, else UTF-16LE), name at 0x14. Data size bit 31 set:
//!   up to 4 bytes of data stored in the data offset field itself (more is rejected). Else
//!   the data is a cell; in hives of minor version 4 and up, data over 16,344 bytes whose
//!   cell starts with `db` is **big data**: segment count (u16 at 2), offset of a list of
//!   segment cell offsets (u32 at 4); each segment holds 16,344 bytes of data, the last one
//!   the rest. Data over [`MAX_VALUE_BYTES`] is not read at all: the value comes back
//!   with empty data and is named in the caller's list of skipped values.
//!
//! # Bounds on work
//!
//! Counts read from the file are capped ([`MAX_SUBKEYS`], [`MAX_VALUES`]) and must fit the
//! cell that holds their entries before anything is allocated. Cycles (a key listing
//! itself, lists shared between keys, an `ri` entry pointing at its own `ri`) cannot loop:
//! nothing here recurses, and every cell read is charged to a budget of
//! [`WORK_FACTOR`] x the hive bins size, enough to read every cell of a hive several times;
//! when it runs out, reads fail with [`Error::Parse`].
//!
//! What opening a hive checks before any key is read: the size cap, the `regf` signature,
//! that the hive bins data size in the base block fits the file (else [`Error::Truncated`]),
//! the base-block checksum (a mismatch is a warning: Windows would recover such a hive from
//! its logs), the sequence numbers (dirty when they differ) and the hive bin headers.

use std::borrow::Cow;
use std::cell::Cell;

use crate::{Error, HiveFiles};

/// Largest hive accepted: real COMPONENTS hives of much-serviced servers reach a few hundred
/// MiB. The reader borrows the caller's bytes, so this bounds only the input.
pub const MAX_HIVE_BYTES: usize = 1 << 30;
/// Most subkeys accepted under one key: a real COMPONENTS hive has about 250,000 keys in all.
pub const MAX_SUBKEYS: u32 = 4_000_000;
/// Most values accepted in one key: real components have one `f!` value per file, at most a
/// few thousand.
pub const MAX_VALUES: u32 = 1_000_000;
/// Largest value data read: every value this crate interprets is small (a DWORD, a 32-byte
/// hash, an identity string, `CF`).
pub const MAX_VALUE_BYTES: u32 = 64 * 1024;
/// Bytes of cells one opened hive may read, as a multiple of its hive bins size: a full
/// walk reads each cell about once and our lookups re-read a few lists, so 8 leaves room
/// while a hostile hive whose keys share one huge list (quadratic work) is stopped.
pub const WORK_FACTOR: u64 = 8;
/// Added to the budget so that tiny hives are not starved by the per-cell charge.
const WORK_SLACK: u64 = 1 << 16;

const BASE_BLOCK: usize = 4096;
const HBIN_HEADER: usize = 32;
/// Hive bins are multiples of this.
const BIN_UNIT: usize = 4096;
/// Fixed part of an `nk` cell's content, before the name.
const NK_FIXED: usize = 0x4C;
/// Fixed part of a `vk` cell's content, before the name.
const VK_FIXED: usize = 0x14;
/// Smallest cell an `nk` can occupy (size field + fixed part, 8-aligned): caps how many
/// keys a hive of a given size can hold, hence how much we preallocate.
const MIN_NK_CELL: usize = 80;
/// Data bytes per big-data segment.
const BIG_DATA_SEGMENT: usize = 16_344;
/// First minor version whose values may use big data.
const BIG_DATA_MINOR: u32 = 4;

const KEY_COMP_NAME: u16 = 0x0020;
/// "Is a predefined handle": such a key has no values (see the module doc).
const KEY_PREDEF_HANDLE: u16 = 0x0040;
const VALUE_COMP_NAME: u16 = 0x0001;

/// An opened hive: the caller's bytes and what the base block said.
pub(crate) struct Hive<'a> {
    /// The hive bins data (file offset 4096 to 4096 + hive bins data size).
    bins: &'a [u8],
    root: u32,
    minor: u32,
    /// Bytes of cells still allowed to be read.
    budget: Cell<u64>,
    pub dirty: bool,
    pub warnings: Vec<String>,
}

/// A value as read: name, type, data (borrowed from the hive unless it had to be decoded
/// or reassembled).
pub(crate) struct Value<'h> {
    pub name: Cow<'h, str>,
    pub ty: u32,
    pub data: Cow<'h, [u8]>,
}

/// A key: its `nk` cell content.
#[derive(Clone, Copy)]
pub(crate) struct Key<'h> {
    hive: &'h Hive<'h>,
    nk: &'h [u8],
    /// Where the `nk` cell is: enough to find the key again later ([`Hive::key_at`]).
    off: u32,
}

fn corrupt(msg: String) -> Error {
    Error::Parse(msg)
}

impl<'a> Hive<'a> {
    pub fn open(h: &HiveFiles<'a>) -> Result<Self, Error> {
        let b = h.base;
        if b.len() > MAX_HIVE_BYTES {
            return Err(Error::TooLarge {
                len: b.len() as u64,
                cap: MAX_HIVE_BYTES as u64,
            });
        }
        let base = b.get(..BASE_BLOCK).ok_or(Error::Truncated {
            have: b.len() as u64,
            need: BASE_BLOCK as u64,
        })?;
        if base.get(..4) != Some(b"regf") {
            return Err(Error::NotRegf {
                found: [base[0], base[1], base[2], base[3]],
            });
        }
        let data_size = u64::from(le32(base, 0x28));
        let need = BASE_BLOCK as u64 + data_size;
        if need > b.len() as u64 {
            return Err(Error::Truncated {
                have: b.len() as u64,
                need,
            });
        }
        let mut warnings = Vec::new();
        let dirty = le32(base, 0x04) != le32(base, 0x08);
        if dirty {
            let logs = usize::from(h.log1.is_some()) + usize::from(h.log2.is_some());
            warnings.push(format!(
                "hive is dirty (sequence numbers {} and {}); {logs} transaction log(s) given, \
                 not applied: recent changes may be missing",
                le32(base, 0x04),
                le32(base, 0x08)
            ));
        }
        let stored = le32(base, 0x1FC);
        let computed = crate::regf_writer::base_block_checksum(base);
        if stored != computed {
            warnings.push(format!(
                "base block checksum {stored:#010x}, computed {computed:#010x}"
            ));
        }
        let hive = Self::reopen(b);
        check_bins(hive.bins)?;
        Ok(Self {
            dirty,
            warnings,
            ..hive
        })
    }

    /// The hive file `b`, which [`Hive::open`] has accepted before: its base block is read
    /// again, nothing is checked again, and the work budget starts afresh.
    pub fn reopen(b: &'a [u8]) -> Self {
        let base = b.get(..BASE_BLOCK).unwrap_or(&[]);
        let data_size = le32(base, 0x28);
        let end = BASE_BLOCK.saturating_add(data_size as usize);
        Self {
            bins: b.get(BASE_BLOCK..end).unwrap_or(&[]),
            root: le32(base, 0x24),
            minor: le32(base, 0x18),
            budget: Cell::new(WORK_FACTOR * u64::from(data_size) + WORK_SLACK),
            dirty: false,
            warnings: Vec::new(),
        }
    }

    pub fn root(&self) -> Result<Key<'_>, Error> {
        Key::at(self, self.root).map_err(|e| corrupt(format!("root key: {}", detail(&e))))
    }

    /// The key whose `nk` cell is at `off` (from [`Key::offset`]).
    pub fn key_at(&self, off: u32) -> Result<Key<'_>, Error> {
        Key::at(self, off)
    }

    /// Content of the allocated cell at `off`, charged to the work budget.
    fn cell(&self, off: u32) -> Result<&'a [u8], Error> {
        let start = off as usize;
        if !off.is_multiple_of(8) {
            return Err(corrupt(format!("cell offset {off:#x} is not 8-aligned")));
        }
        let size = self
            .bins
            .get(start..)
            .and_then(|s| s.get(..4))
            .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .ok_or_else(|| {
                corrupt(format!(
                    "cell offset {off:#x} is outside the {}-byte hive bins data",
                    self.bins.len()
                ))
            })?;
        if size >= 0 {
            return Err(corrupt(format!(
                "cell at {off:#x} is not allocated (size {size})"
            )));
        }
        let len = size.unsigned_abs() as usize;
        let content = start
            .checked_add(len)
            .and_then(|end| self.bins.get(start + 4..end))
            .ok_or_else(|| {
                corrupt(format!(
                    "cell at {off:#x} of {len} bytes runs past the hive bins data"
                ))
            })?;
        let left = self.budget.get();
        // The size field counts too, so that tiny cells are not free.
        let cost = len.max(8) as u64;
        if cost > left {
            return Err(corrupt(format!(
                "more than {WORK_FACTOR}x the hive bins size read: cyclic or shared lists"
            )));
        }
        self.budget.set(left - cost);
        Ok(content)
    }
}

/// Walk the hive bin headers: each in place (its offset field), sized in 4096-byte units,
/// and together filling the hive bins data exactly.
fn check_bins(bins: &[u8]) -> Result<(), Error> {
    let mut pos = 0usize;
    while pos < bins.len() {
        let h = bins
            .get(pos..)
            .and_then(|s| s.get(..HBIN_HEADER))
            .ok_or_else(|| corrupt(format!("hive bin header at {pos:#x} is cut off")))?;
        if h.get(..4) != Some(b"hbin") {
            return Err(corrupt(format!(
                "hive bin at {pos:#x}: signature {:02x?}, expected \"hbin\"",
                h.get(..4).unwrap_or(&[])
            )));
        }
        let at = le32(h, 4) as usize;
        let size = le32(h, 8) as usize;
        if at != pos {
            return Err(corrupt(format!(
                "hive bin at {pos:#x} says it is at {at:#x}"
            )));
        }
        if size == 0 || !size.is_multiple_of(BIN_UNIT) || size > bins.len() - pos {
            return Err(corrupt(format!(
                "hive bin at {pos:#x}: size {size:#x} (must be a non-zero multiple of 4096 \
                 within the {:#x}-byte hive bins data)",
                bins.len()
            )));
        }
        pos += size;
    }
    Ok(())
}

impl<'h> Key<'h> {
    fn at(hive: &'h Hive<'h>, off: u32) -> Result<Self, Error> {
        let nk = hive.cell(off)?;
        if nk.get(..2) != Some(b"nk") {
            return Err(corrupt(format!(
                "cell at {off:#x}: signature {:02x?}, expected \"nk\"",
                nk.get(..2).unwrap_or(&[])
            )));
        }
        let name_len = usize::from(le16(nk, 0x48));
        if nk.len() < NK_FIXED + name_len {
            return Err(corrupt(format!(
                "key at {off:#x}: {name_len}-byte name in a {}-byte cell",
                nk.len()
            )));
        }
        Ok(Self { hive, nk, off })
    }

    /// Where the key's `nk` cell is in the hive bins data.
    pub fn offset(&self) -> u32 {
        self.off
    }

    fn raw_name(&self) -> &'h [u8] {
        let len = usize::from(le16(self.nk, 0x48));
        self.nk.get(NK_FIXED..NK_FIXED + len).unwrap_or(&[])
    }

    fn compressed(&self) -> bool {
        le16(self.nk, 0x02) & KEY_COMP_NAME != 0
    }

    /// The key's name (borrowed from the hive when it is ASCII).
    pub fn name(&self) -> Cow<'h, str> {
        decode_name(self.raw_name(), self.compressed())
    }

    /// Whether the name equals `other`, ignoring ASCII case, without allocating.
    fn name_eq_ignore_ascii_case(&self, other: &str) -> bool {
        let raw = self.raw_name();
        if self.compressed() {
            raw.len() == other.chars().count()
                && raw
                    .iter()
                    .zip(other.chars())
                    .all(|(&b, c)| char::from(b).eq_ignore_ascii_case(&c))
        } else {
            let mut mine = char::decode_utf16(
                raw.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]])),
            )
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER));
            let mut theirs = other.chars();
            loop {
                match (mine.next(), theirs.next()) {
                    (None, None) => return true,
                    (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => {}
                    _ => return false,
                }
            }
        }
    }

    fn subkey_count(&self) -> u32 {
        le32(self.nk, 0x14)
    }

    fn value_count(&self) -> u32 {
        if le16(self.nk, 0x02) & KEY_PREDEF_HANDLE != 0 {
            0
        } else {
            le32(self.nk, 0x24)
        }
    }
}

/// A key or value name: Latin-1 when `compressed`, else UTF-16LE (lossy). Borrowed when it
/// is ASCII.
fn decode_name(raw: &[u8], compressed: bool) -> Cow<'_, str> {
    if compressed {
        // ASCII is valid UTF-8; other Latin-1 bytes must be re-encoded.
        match raw.is_ascii().then(|| std::str::from_utf8(raw)) {
            Some(Ok(s)) => Cow::Borrowed(s),
            _ => Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()),
        }
    } else {
        let units = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        Cow::Owned(
            char::decode_utf16(units)
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
        )
    }
}

/// The message inside a parse error, for prefixing with where it happened.
fn detail(e: &Error) -> String {
    match e {
        Error::Parse(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Subkey `name` of `k`, matched ASCII-case-insensitively.
pub(crate) fn child<'h>(k: &Key<'h>, name: &str) -> Result<Option<Key<'h>>, Error> {
    Ok(subkeys(k)?
        .into_iter()
        .find(|c| c.name_eq_ignore_ascii_case(name)))
}

/// Follow `path` from `k`.
pub(crate) fn descend<'h>(k: Key<'h>, path: &[&str]) -> Result<Option<Key<'h>>, Error> {
    let mut cur = k;
    for part in path {
        match child(&cur, part)? {
            Some(c) => cur = c,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

/// The subkeys of `k`, in stored order.
pub(crate) fn subkeys<'h>(k: &Key<'h>) -> Result<Vec<Key<'h>>, Error> {
    let n = k.subkey_count();
    if n > MAX_SUBKEYS {
        return Err(Error::TooMany {
            what: "subkeys",
            key: k.name().into_owned(),
            count: u64::from(n),
            cap: u64::from(MAX_SUBKEYS),
        });
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let in_key = |e: Error| corrupt(format!("{}: {}", k.name(), detail(&e)));
    let hive = k.hive;
    // n is capped above; also by how many nk cells the file can hold.
    let mut out = Vec::with_capacity((n as usize).min(hive.bins.len() / MIN_NK_CELL));
    let list = hive.cell(le32(k.nk, 0x1C)).map_err(in_key)?;
    match list.get(..2) {
        Some(b"ri") => {
            for leaf_off in entries(list, 4).map_err(in_key)? {
                let leaf = hive.cell(le32(leaf_off, 0)).map_err(in_key)?;
                read_leaf(hive, leaf, n, &mut out).map_err(in_key)?;
            }
        }
        _ => read_leaf(hive, list, n, &mut out).map_err(in_key)?,
    }
    if out.len() != n as usize {
        return Err(in_key(corrupt(format!(
            "subkey count {n}, lists hold {}",
            out.len()
        ))));
    }
    Ok(out)
}

/// The `stride`-byte entries of a list cell (count u16 at 2, entries from 4), checked to
/// fit the cell.
fn entries(list: &[u8], stride: usize) -> Result<std::slice::ChunksExact<'_, u8>, Error> {
    let count = usize::from(le16(list, 2));
    list.get(4..4 + count * stride)
        .map(|b| b.chunks_exact(stride))
        .ok_or_else(|| {
            corrupt(format!(
                "list of {count} entries in a {}-byte cell",
                list.len()
            ))
        })
}

/// Append the keys of one leaf (`lf`, `lh`, `li`) to `out`, which must not exceed `n`.
fn read_leaf<'h>(
    hive: &'h Hive<'h>,
    leaf: &'h [u8],
    n: u32,
    out: &mut Vec<Key<'h>>,
) -> Result<(), Error> {
    let stride = match leaf.get(..2) {
        Some(b"lf" | b"lh") => 8,
        Some(b"li") => 4,
        other => {
            return Err(corrupt(format!(
                "subkey list signature {:02x?}, expected lf, lh, li or ri (one level)",
                other.unwrap_or(&[])
            )))
        }
    };
    for e in entries(leaf, stride)? {
        if out.len() >= n as usize {
            return Err(corrupt(format!(
                "lists hold more than the subkey count {n}"
            )));
        }
        out.push(Key::at(hive, le32(e, 0))?);
    }
    Ok(())
}

/// The values of `k`. Values whose data is over [`MAX_VALUE_BYTES`] come back with empty
/// data and are named in `skipped`.
pub(crate) fn values<'h>(k: &Key<'h>, skipped: &mut Vec<String>) -> Result<Vec<Value<'h>>, Error> {
    let n = k.value_count();
    if n > MAX_VALUES {
        return Err(Error::TooMany {
            what: "values",
            key: k.name().into_owned(),
            count: u64::from(n),
            cap: u64::from(MAX_VALUES),
        });
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let in_key = |e: Error| corrupt(format!("{}: {}", k.name(), detail(&e)));
    let hive = k.hive;
    let list = hive.cell(le32(k.nk, 0x28)).map_err(in_key)?;
    let offs = list.get(..4 * n as usize).ok_or_else(|| {
        in_key(corrupt(format!(
            "{n} values listed in a {}-byte cell",
            list.len()
        )))
    })?;
    // n now fits the list cell: the allocation is bounded by the file.
    let mut out = Vec::with_capacity(n as usize);
    for off in offs.chunks_exact(4) {
        let vk = hive.cell(le32(off, 0)).map_err(in_key)?;
        out.push(value(hive, vk, k, skipped).map_err(in_key)?);
    }
    Ok(out)
}

/// One value from its `vk` cell content; `key` names the key in the `skipped` entry.
fn value<'h>(
    hive: &'h Hive<'h>,
    vk: &'h [u8],
    key: &Key<'h>,
    skipped: &mut Vec<String>,
) -> Result<Value<'h>, Error> {
    if vk.get(..2) != Some(b"vk") {
        return Err(corrupt(format!(
            "value cell signature {:02x?}, expected \"vk\"",
            vk.get(..2).unwrap_or(&[])
        )));
    }
    let name_len = usize::from(le16(vk, 0x02));
    let raw_name = vk.get(VK_FIXED..VK_FIXED + name_len).ok_or_else(|| {
        corrupt(format!(
            "value with a {name_len}-byte name in a {}-byte cell",
            vk.len()
        ))
    })?;
    let name = decode_name(raw_name, le16(vk, 0x10) & VALUE_COMP_NAME != 0);
    let raw_size = le32(vk, 0x04);
    let size = raw_size & 0x7FFF_FFFF;
    let ty = le32(vk, 0x0C);
    let data = if raw_size & 0x8000_0000 != 0 {
        // The data offset field is the data; it has four bytes, present since vk is
        // longer than VK_FIXED.
        match vk.get(8..8 + size as usize) {
            Some(d) if size <= 4 => Cow::Borrowed(d),
            _ => {
                return Err(corrupt(format!(
                    "value {name}: {size} bytes of inline data (at most 4)"
                )))
            }
        }
    } else if size == 0 {
        Cow::Borrowed(&[][..])
    } else if size > MAX_VALUE_BYTES {
        skipped.push(format!(
            "{}\\{name}: {size} bytes of data, not read",
            key.name()
        ));
        Cow::Borrowed(&[][..])
    } else {
        value_data(hive, le32(vk, 0x08), size as usize)
            .map_err(|e| corrupt(format!("value {name}: {}", detail(&e))))?
    };
    Ok(Value { name, ty, data })
}

/// `size` bytes of data from the cell at `off`, or from its big-data segments.
fn value_data<'h>(hive: &'h Hive<'h>, off: u32, size: usize) -> Result<Cow<'h, [u8]>, Error> {
    let cell = hive.cell(off)?;
    if size > BIG_DATA_SEGMENT && hive.minor >= BIG_DATA_MINOR && cell.get(..2) == Some(b"db") {
        let count = usize::from(le16(cell, 2));
        let list = hive.cell(le32(cell, 4))?;
        let offs = list.get(..4 * count).ok_or_else(|| {
            corrupt(format!(
                "{count} big-data segments listed in a {}-byte cell",
                list.len()
            ))
        })?;
        // size is at most MAX_VALUE_BYTES.
        let mut data = Vec::with_capacity(size);
        for seg_off in offs.chunks_exact(4) {
            let want = (size - data.len()).min(BIG_DATA_SEGMENT);
            if want == 0 {
                break;
            }
            let seg = hive.cell(le32(seg_off, 0))?;
            data.extend_from_slice(seg.get(..want).ok_or_else(|| {
                corrupt(format!(
                    "big-data segment of {} bytes, expected {want}",
                    seg.len()
                ))
            })?);
        }
        if data.len() != size {
            return Err(corrupt(format!(
                "{count} big-data segments hold {} of {size} bytes",
                data.len()
            )));
        }
        return Ok(Cow::Owned(data));
    }
    cell.get(..size).map(Cow::Borrowed).ok_or_else(|| {
        corrupt(format!(
            "{size} bytes of data in a {}-byte cell",
            cell.len()
        ))
    })
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
