//! The only module that touches the hive-reader crate (`regf`), so that it can be swapped.
//!
//! # Why `regf` (MIT), compared on 2026-11-24
//!
//! | | `notatin` 1.0.1 | `winreg-core` 0.2.1 | `regf` 0.2.0 |
//! |---|---|---|---|
//! | licence | Apache-2.0 | Apache-2.0 | MIT |
//! | builds on stable 1.95 | **no**: its `nom = ">= 6"` now resolves to nom 8 and 11 errors follow | yes | yes |
//! | from bytes | path or bytes | `Hive::from_bytes(Vec<u8>)`, `from_path` (mmap) | `RegistryHive::from_bytes(Vec<u8>)` |
//! | log replay | yes | yes (`txlog::replay_transaction_logs`) | parses `.LOG1/.LOG2`, no documented way to apply them |
//! | hostile input | not tried | **aborts the process**: a flipped bit in a value count made `Key::values` allocate 64 GiB (4 random bit flips of a 20 KiB hive, first thousand tries) | 20,000 seeded 4-bit-flip variants, every 7th prefix and 5 lying-count patterns: errors, no panic, no abort |
//! | 20,000 keys x 4 values (release) | - | 39 ms | 197 ms |
//! | 100,000 keys x 4 values (release) | - | 0.24 s | 2.6 s |
//! | dependencies (normal) | 17 direct, loose `>=` bounds, crossterm | binrw, jiff, memmap2, miette, winreg-format | bitflags, byteorder, chrono, encoding_rs, tempfile, thiserror |
//! | Linux + Windows | - | memmap2 is portable | std only (+ chrono, tempfile) |
//!
//! (GPL crates `nt-hive` and `nt_hive2` were not considered.) `winreg-core` is faster and
//! replays logs, but an abort on a corrupt hive cannot be caught and breaks our rule that
//! hostile input never panics or allocates by an unchecked size; `notatin` does not build.
//! `regf` is correct and robust on everything we tried; its costs are speed and no log
//! replay, so a dirty hive is reported with [`crate::ComponentsHive::dirty`] and the logs are
//! not applied. Through [`crate::read_components`] (release build, on 2 cores shared with
//! other builds, load average about 10): 20,000 components x 4 values (9 MiB) 0.6 s,
//! 100,000 (49 MiB) 4.2 s, 200,000 (99 MiB) 5.2 s; so a real 250,000-key hive should take
//! a few seconds. A zero-copy reader of our own would be about ten times faster (the
//! `winreg-core` figure) if that ever matters.
//! The timings in the table were taken on the same busy machine, one run each.
//!
//! What this module checks itself before handing bytes to `regf`: the size cap, the `regf`
//! signature, that the hive bins data size in the base block fits the file (else
//! [`Error::Truncated`]), the base-block checksum (a mismatch is a warning: Windows would
//! recover such a hive from its logs) and the sequence numbers (dirty when they differ).

use crate::{Error, HiveFiles};

/// Largest hive accepted: real COMPONENTS hives of much-serviced servers reach a few hundred
/// MiB; `regf` keeps a copy, so this bounds memory to about twice the cap.
pub const MAX_HIVE_BYTES: usize = 1 << 30;
/// Most subkeys accepted under one key: a real COMPONENTS hive has about 250,000 keys in all.
pub const MAX_SUBKEYS: u32 = 4_000_000;
/// Most values accepted in one key: real components have one `f!` value per file, at most a
/// few thousand.
pub const MAX_VALUES: u32 = 1_000_000;
/// Largest value data read: every value this crate interprets is small (a DWORD, a 32-byte
/// hash, an identity string, `CF`).
pub const MAX_VALUE_BYTES: u32 = 64 * 1024;

const BASE_BLOCK: usize = 4096;

/// An opened hive.
pub(crate) struct Hive {
    inner: regf::RegistryHive,
    pub dirty: bool,
    pub warnings: Vec<String>,
}

/// A value as read: name, type, data.
pub(crate) struct Value {
    pub name: String,
    pub ty: u32,
    pub data: Vec<u8>,
}

pub(crate) type Key<'a> = regf::hive::RegistryKey<'a>;

impl Hive {
    pub fn open(h: &HiveFiles<'_>) -> Result<Self, Error> {
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
        if &base[..4] != b"regf" {
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
        let inner =
            regf::RegistryHive::from_bytes(b.to_vec()).map_err(|e| Error::Parse(e.to_string()))?;
        Ok(Self {
            inner,
            dirty,
            warnings,
        })
    }

    pub fn root(&self) -> Result<Key<'_>, Error> {
        self.inner
            .root_key()
            .map_err(|e| Error::Parse(e.to_string()))
    }
}

/// Subkey `name` of `k`, matched ASCII-case-insensitively.
pub(crate) fn child<'a>(k: &Key<'a>, name: &str) -> Result<Option<Key<'a>>, Error> {
    Ok(subkeys(k)?
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name)))
}

/// Follow `path` from `k`.
pub(crate) fn descend<'a>(k: Key<'a>, path: &[&str]) -> Result<Option<Key<'a>>, Error> {
    let mut cur = k;
    for part in path {
        match child(&cur, part)? {
            Some(c) => cur = c,
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

pub(crate) fn subkeys<'a>(k: &Key<'a>) -> Result<Vec<Key<'a>>, Error> {
    let n = k.subkey_count();
    if n > MAX_SUBKEYS {
        return Err(Error::TooMany {
            what: "subkeys",
            key: k.name(),
            count: u64::from(n),
            cap: u64::from(MAX_SUBKEYS),
        });
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    k.subkeys()
        .map_err(|e| Error::Parse(format!("{}: {e}", k.name())))
}

/// The values of `k`. Values whose data is over [`MAX_VALUE_BYTES`] come back with empty
/// data and are named in `skipped`.
pub(crate) fn values(k: &Key<'_>, skipped: &mut Vec<String>) -> Result<Vec<Value>, Error> {
    let n = k.value_count().unwrap_or(0);
    if n > MAX_VALUES {
        return Err(Error::TooMany {
            what: "values",
            key: k.name(),
            count: u64::from(n),
            cap: u64::from(MAX_VALUES),
        });
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let entries = k
        .values()
        .map_err(|e| Error::Parse(format!("{}: {e}", k.name())))?;
    let mut out = Vec::with_capacity(entries.len());
    for v in entries {
        let name = v.name();
        let size = v.data_size() & 0x7FFF_FFFF;
        let data = if size > MAX_VALUE_BYTES {
            skipped.push(format!(
                "{}\\{name}: {size} bytes of data, not read",
                k.name()
            ));
            Vec::new()
        } else {
            v.raw_data()
                .map_err(|e| Error::Parse(format!("{}\\{name}: {e}", k.name())))?
        };
        out.push(Value {
            name,
            ty: v.raw_data_type(),
            data,
        });
    }
    Ok(out)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
