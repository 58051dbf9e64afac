//! The metadata resource of one image: security data, then the directory tree
//! (`wim-and-codecs.md` §1.8).
//!
//! **Security data** (offset 0): u32 total length (0 means 8; rounded up to 8), u32 count `N`,
//! `N` u64 descriptor lengths, then the descriptors. We validate the lengths (each ≤ u32::MAX,
//! sum within the block) and keep only the count. The root dentry starts at the rounded length.
//!
//! **Dentry** (fixed part 0x66 bytes): u64 length (rounded up to 8; excludes stream entries),
//! u32 attributes @0x08, u32 security id @0x0C (0xFFFFFFFF none), u64 subdir offset @0x10
//! (0 = no children; an offset from the start of the resource to a list of sibling dentries
//! ended by a u64 ≤ 8 after rounding), FILETIMEs @0x28 creation, @0x30 access, @0x38 write,
//! 20-byte main hash @0x40, @0x58 reparse tag (u32, when attributes have REPARSE_POINT 0x400)
//! or u64 hard-link group id, u16 extra stream count @0x60, u16 short-name bytes @0x62, u16
//! long-name bytes @0x64, long name UTF-16LE + NUL @0x66, short name + NUL, padding / tagged
//! items up to the length. **Stream entry**: u64 length (rounded to 8), u64 reserved, SHA-1
//! @0x10, u16 name bytes @0x24, name + NUL @0x26.
//!
//! Streams (wimlib's rules, also DISM's): the main hash (if nonzero) and the unnamed extra
//! entries, in order, are the unnamed streams; for a REPARSE_POINT file the first is the
//! reparse data and the next the unnamed data stream; a zero main hash is ignored when unnamed
//! extra entries exist; named entries are named data streams; an all-zero hash is an empty
//! stream.
//!
//! Output: the tree flattened breadth-first, so that the children of one directory are
//! contiguous ([`Entry::children`]) and sorted case-insensitively ([`cmp_ignore_case`]);
//! entry 0 is the root. Parents are indices rather than
//! full path vectors to keep a 500,000-entry image to tens of MB.
//!
//! Rejected (error): offsets outside the resource, dentry or stream lengths shorter than their
//! fixed part or running past the resource, odd name lengths, a subdir list reached twice
//! (loop or shared list), directories nested deeper than [`MAX_DEPTH`], more dentries than the
//! resource can hold ([`Image`] has at most `len / 102` entries: overlapping lists would
//! otherwise multiply). Skipped (counted in [`Image::skipped_names`]), like wimlib does:
//! names that are empty, `.`, `..`, or contain NUL, `/` or `\`, and the second of two identical
//! names in one directory, with their subtrees. Invalid UTF-16 is decoded lossily.

use std::cmp::Ordering;
use std::collections::{HashSet, VecDeque};
use std::ops::Range;

use crate::header::{u16_at, u32_at, u64_at};
use crate::Error;

/// Deepest directory nesting accepted. A Windows path holds at most 32,767 UTF-16 units, so a
/// legitimate tree is far shallower than this; the cap only bounds path building.
pub const MAX_DEPTH: u32 = 4096;
/// `FILE_ATTRIBUTE_DIRECTORY`.
pub const ATTR_DIRECTORY: u32 = 0x10;
/// `FILE_ATTRIBUTE_REPARSE_POINT`.
pub const ATTR_REPARSE_POINT: u32 = 0x400;
const DENTRY_FIXED: u64 = 0x66;
const STREAM_FIXED: u64 = 0x26;

/// One named data stream of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedStream {
    /// Stream name.
    pub name: String,
    /// SHA-1 of its content; `None` for an empty stream.
    pub hash: Option<[u8; 20]>,
    /// Size from the blob table (0 if empty or if the blob is missing).
    pub size: u64,
}

/// Reparse point data of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reparse {
    /// Reparse tag (e.g. 0xA000000C symlink, 0xA0000003 junction).
    pub tag: u32,
    /// SHA-1 of the reparse buffer without its 8-byte header; `None` if empty.
    pub hash: Option<[u8; 20]>,
}

/// One file or directory of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name as stored (empty for the root).
    pub name: String,
    /// Index of the parent directory (`None` for the root).
    pub parent: Option<usize>,
    /// Indices of the children (empty range for files and empty directories).
    pub children: Range<usize>,
    /// `FILE_ATTRIBUTE_*` bits.
    pub attributes: u32,
    /// Whether the DIRECTORY attribute is set.
    pub is_dir: bool,
    /// SHA-1 of the unnamed data stream; `None` for an empty stream or a directory.
    pub hash: Option<[u8; 20]>,
    /// Size of the unnamed data stream, from the blob table (0 if empty or missing).
    pub size: u64,
    /// Hard-link group id; 0 = not hard-linked. Entries with equal nonzero ids are one file.
    pub link_group: u64,
    /// Index into the security descriptors, if any.
    pub security_id: Option<u32>,
    /// FILETIME of creation.
    pub creation_time: u64,
    /// FILETIME of last write.
    pub last_write_time: u64,
    /// Reparse data, for REPARSE_POINT files.
    pub reparse: Option<Reparse>,
    /// Named data streams.
    pub named_streams: Vec<NamedStream>,
}

/// The directory tree of one image.
#[derive(Debug, Clone, Default)]
pub struct Image {
    /// Entries, breadth-first; entry 0 is the root.
    pub entries: Vec<Entry>,
    /// Number of security descriptors.
    pub security_descriptors: u32,
    /// Entries dropped for invalid or duplicate names (with their subtrees).
    pub skipped_names: u64,
}

impl Image {
    /// Path components of entry `i` from the root (empty for the root).
    pub fn path(&self, i: usize) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = Some(i);
        // Parents always have smaller indices (breadth-first), so this terminates.
        while let Some(c) = cur {
            let Some(e) = self.entries.get(c) else { break };
            if e.parent.is_none() {
                break;
            }
            out.push(e.name.as_str());
            cur = e.parent.filter(|&p| p < c);
        }
        out.reverse();
        out
    }

    /// Path of entry `i` joined with `sep` (no leading separator).
    pub fn path_string(&self, i: usize, sep: char) -> String {
        let mut s = String::new();
        for (k, c) in self.path(i).iter().enumerate() {
            if k > 0 {
                s.push(sep);
            }
            s.push_str(c);
        }
        s
    }

    /// Children of entry `i`.
    pub fn children(&self, i: usize) -> &[Entry] {
        self.entries
            .get(i)
            .and_then(|e| self.entries.get(e.children.clone()))
            .unwrap_or(&[])
    }

    /// Find an entry by path components, comparing names case-insensitively (Unicode simple
    /// uppercase, as Windows does; an exact match wins when a directory holds names differing
    /// only in case). Binary search in each directory. An empty path is the root.
    pub fn lookup<S: AsRef<str>>(&self, path: &[S]) -> Option<usize> {
        let mut cur = 0usize;
        self.entries.first()?;
        for comp in path {
            let comp = comp.as_ref();
            let e = self.entries.get(cur)?;
            let kids = self.entries.get(e.children.clone())?;
            let first = kids.partition_point(|k| cmp_ignore_case(&k.name, comp) == Ordering::Less);
            let same = kids
                .get(first..)?
                .iter()
                .take_while(|k| cmp_ignore_case(&k.name, comp) == Ordering::Equal);
            let mut found = None;
            for (n, k) in same.enumerate() {
                if k.name == comp {
                    found = Some(n);
                    break;
                }
                found.get_or_insert(n);
            }
            cur = e.children.start + first + found?;
        }
        Some(cur)
    }
}

/// Order of names compared case-insensitively (simple uppercase mapping); the order of
/// [`Entry::children`].
pub fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        let x = a.bytes().map(|c| c.to_ascii_uppercase());
        return x.cmp(b.bytes().map(|c| c.to_ascii_uppercase()));
    }
    a.chars().map(upper).cmp(b.chars().map(upper))
}

/// Case-insensitive equality by simple (one-to-one) uppercase mapping.
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    cmp_ignore_case(a, b) == Ordering::Equal
}

/// Simple uppercase: characters whose uppercase is several characters (ß) stay as they are,
/// as in the one-to-one table NTFS uses.
fn upper(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn align8(v: u64) -> Option<u64> {
    v.checked_add(7).map(|x| x & !7)
}

fn hash_at(b: &[u8], off: usize) -> Option<[u8; 20]> {
    let mut h = [0u8; 20];
    h.copy_from_slice(b.get(off..off + 20)?);
    Some(h)
}

fn nonzero(h: [u8; 20]) -> Option<[u8; 20]> {
    if h == [0u8; 20] {
        None
    } else {
        Some(h)
    }
}

fn utf16_name(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

struct Dentry {
    entry: Entry,
    subdir: u64,
    next: u64,
}

fn bad(offset: u64, reason: &'static str) -> Error {
    Error::BadDentry { offset, reason }
}

/// Parse one dentry and its stream entries at `p`.
fn parse_dentry(buf: &[u8], p: u64) -> Result<Dentry, Error> {
    let total = buf.len() as u64;
    let pu = usize::try_from(p).map_err(|_| bad(p, "offset past the resource"))?;
    if p.checked_add(DENTRY_FIXED).is_none_or(|e| e > total) {
        return Err(bad(p, "dentry runs past the resource"));
    }
    let len = u64_at(buf, pu);
    if len < DENTRY_FIXED || p.checked_add(len).is_none_or(|e| e > total) {
        return Err(bad(
            p,
            "dentry length shorter than its fixed part or past the resource",
        ));
    }
    let attributes = u32_at(buf, pu + 0x08);
    let security = u32_at(buf, pu + 0x0C);
    let subdir = u64_at(buf, pu + 0x10);
    let creation_time = u64_at(buf, pu + 0x28);
    let last_write_time = u64_at(buf, pu + 0x38);
    let main_hash = hash_at(buf, pu + 0x40).unwrap_or_default();
    let is_reparse = attributes & ATTR_REPARSE_POINT != 0;
    let reparse_tag = u32_at(buf, pu + 0x58);
    let link_group = if is_reparse {
        0
    } else {
        u64_at(buf, pu + 0x58)
    };
    let num_streams = u16_at(buf, pu + 0x60);
    let short_len = u64::from(u16_at(buf, pu + 0x62));
    let long_len = u64::from(u16_at(buf, pu + 0x64));
    if long_len % 2 != 0 || short_len % 2 != 0 {
        return Err(bad(p, "odd name length"));
    }
    let names_end = DENTRY_FIXED
        + if long_len > 0 { long_len + 2 } else { 0 }
        + if short_len > 0 { short_len + 2 } else { 0 };
    if names_end > len {
        return Err(bad(p, "names run past the dentry length"));
    }
    let name_start = pu + DENTRY_FIXED as usize;
    let name = utf16_name(
        buf.get(name_start..name_start + long_len as usize)
            .unwrap_or(&[]),
    );

    // Stream entries follow the 8-aligned dentry.
    let mut q = align8(len)
        .and_then(|a| p.checked_add(a))
        .ok_or(bad(p, "dentry length overflows"))?;
    let mut unnamed: Vec<Option<[u8; 20]>> = Vec::new();
    let mut named_streams = Vec::new();
    for _ in 0..num_streams {
        let qu = usize::try_from(q).map_err(|_| bad(q, "stream entry past the resource"))?;
        if q.checked_add(STREAM_FIXED).is_none_or(|e| e > total) {
            return Err(bad(q, "stream entry runs past the resource"));
        }
        let slen = u64_at(buf, qu);
        let nlen = u64::from(u16_at(buf, qu + 0x24));
        if nlen % 2 != 0 {
            return Err(bad(q, "odd stream name length"));
        }
        let need = STREAM_FIXED + if nlen > 0 { nlen + 2 } else { 0 };
        if slen < need || q.checked_add(slen).is_none_or(|e| e > total) {
            return Err(bad(
                q,
                "stream entry length shorter than its content or past the resource",
            ));
        }
        let h = nonzero(hash_at(buf, qu + 0x10).unwrap_or_default());
        if nlen == 0 {
            unnamed.push(h);
        } else {
            let s = qu + STREAM_FIXED as usize;
            named_streams.push(NamedStream {
                name: utf16_name(buf.get(s..s + nlen as usize).unwrap_or(&[])),
                hash: h,
                size: 0,
            });
        }
        q = align8(slen)
            .and_then(|a| q.checked_add(a))
            .ok_or(bad(q, "stream length overflows"))?;
    }
    let mut streams: Vec<Option<[u8; 20]>> = Vec::with_capacity(unnamed.len() + 1);
    if main_hash != [0u8; 20] || unnamed.is_empty() {
        streams.push(nonzero(main_hash));
    }
    streams.extend(unnamed);
    let mut it = streams.into_iter();
    let reparse = if is_reparse {
        Some(Reparse {
            tag: reparse_tag,
            hash: it.next().flatten(),
        })
    } else {
        None
    };
    let hash = it.next().flatten();
    let is_dir = attributes & ATTR_DIRECTORY != 0;
    Ok(Dentry {
        entry: Entry {
            name,
            parent: None,
            children: 0..0,
            attributes,
            is_dir,
            hash,
            size: 0,
            link_group,
            security_id: if security == u32::MAX {
                None
            } else {
                Some(security)
            },
            creation_time,
            last_write_time,
            reparse,
            named_streams,
        },
        subdir,
        next: q,
    })
}

fn is_end_marker(buf: &[u8], p: u64) -> Result<bool, Error> {
    let pu = usize::try_from(p).map_err(|_| bad(p, "offset past the resource"))?;
    let b = buf
        .get(pu..pu.saturating_add(8))
        .ok_or(bad(p, "dentry list runs past the resource"))?;
    let len = u64_at(b, 0);
    Ok(len <= 8)
}

fn name_valid(n: &str) -> bool {
    !(n.is_empty() || n == "." || n == ".." || n.contains(['\0', '/', '\\']))
}

/// Parse a whole (uncompressed) metadata resource.
pub fn parse(buf: &[u8]) -> Result<Image, Error> {
    if buf.len() < 8 {
        return Err(Error::BadSecurityData("shorter than 8 bytes"));
    }
    let raw_len = u32_at(buf, 0);
    let sec_len = if raw_len == 0 {
        8
    } else {
        align8(u64::from(raw_len)).unwrap_or(u64::MAX)
    };
    let count = u32_at(buf, 4);
    if sec_len > buf.len() as u64 {
        return Err(Error::BadSecurityData("length past the metadata resource"));
    }
    let lens_end = 8 + 8 * u64::from(count);
    if lens_end > sec_len {
        return Err(Error::BadSecurityData(
            "descriptor count does not fit in the block",
        ));
    }
    let mut sum = lens_end;
    for i in 0..count as usize {
        let l = u64_at(buf, 8 + 8 * i);
        if l > u64::from(u32::MAX) {
            return Err(Error::BadSecurityData("descriptor longer than 4 GiB"));
        }
        sum += l;
        if sum > sec_len {
            return Err(Error::BadSecurityData("descriptors run past the block"));
        }
    }

    let root_off = sec_len;
    if is_end_marker(buf, root_off)? {
        return Err(bad(root_off, "no root dentry"));
    }
    let root = parse_dentry(buf, root_off)?;
    let max_entries = buf.len() / DENTRY_FIXED as usize + 1;
    let mut entries = vec![root.entry];
    let mut visited: HashSet<u64> = HashSet::new();
    visited.insert(root_off);
    let mut queue: VecDeque<(usize, u64, u32)> = VecDeque::new();
    if entries[0].is_dir && root.subdir != 0 {
        queue.push_back((0, root.subdir, 1));
    }
    let mut skipped = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    let mut kids: Vec<(Entry, u64)> = Vec::new();
    while let Some((idx, off, depth)) = queue.pop_front() {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep { max: MAX_DEPTH });
        }
        if !visited.insert(off) {
            return Err(Error::DentryLoop { offset: off });
        }
        let start = entries.len();
        seen.clear();
        kids.clear();
        let mut p = off;
        while !is_end_marker(buf, p)? {
            let d = parse_dentry(buf, p)?;
            if entries.len() + kids.len() >= max_entries {
                return Err(Error::TooMany {
                    what: "dentries",
                    count: (entries.len() + kids.len()) as u64 + 1,
                    max: max_entries as u64,
                });
            }
            p = d.next;
            let mut e = d.entry;
            if !name_valid(&e.name) || !seen.insert(e.name.clone()) {
                skipped += 1;
                continue;
            }
            e.parent = Some(idx);
            kids.push((e, d.subdir));
        }
        // Sorted case-insensitively so that lookups can binary-search a directory.
        kids.sort_by(|a, b| {
            cmp_ignore_case(&a.0.name, &b.0.name).then_with(|| a.0.name.cmp(&b.0.name))
        });
        for (e, subdir) in kids.drain(..) {
            if e.is_dir && subdir != 0 {
                queue.push_back((entries.len(), subdir, depth + 1));
            }
            entries.push(e);
        }
        let end = entries.len();
        if let Some(e) = entries.get_mut(idx) {
            e.children = start..end;
        }
    }
    Ok(Image {
        entries,
        security_descriptors: count,
        skipped_names: skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dentry (with optional extra stream entries) in the on-disk layout.
    fn dentry(
        name: &str,
        attrs: u32,
        subdir: u64,
        main: [u8; 20],
        x58: u64,
        streams: &[(&str, [u8; 20])],
    ) -> Vec<u8> {
        let n: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let len = 0x66 + if n.is_empty() { 0 } else { n.len() + 2 };
        let mut d = vec![0u8; (len + 7) & !7];
        d[0..8].copy_from_slice(&(len as u64).to_le_bytes());
        d[8..12].copy_from_slice(&attrs.to_le_bytes());
        d[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        d[0x10..0x18].copy_from_slice(&subdir.to_le_bytes());
        d[0x40..0x54].copy_from_slice(&main);
        d[0x58..0x60].copy_from_slice(&x58.to_le_bytes());
        d[0x60..0x62].copy_from_slice(&(streams.len() as u16).to_le_bytes());
        d[0x64..0x66].copy_from_slice(&(n.len() as u16).to_le_bytes());
        d[0x66..0x66 + n.len()].copy_from_slice(&n);
        for (sname, h) in streams {
            let sn: Vec<u8> = sname.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let slen = 0x26 + if sn.is_empty() { 0 } else { sn.len() + 2 };
            let mut s = vec![0u8; (slen + 7) & !7];
            s[0..8].copy_from_slice(&(slen as u64).to_le_bytes());
            s[0x10..0x24].copy_from_slice(h);
            s[0x24..0x26].copy_from_slice(&(sn.len() as u16).to_le_bytes());
            s[0x26..0x26 + sn.len()].copy_from_slice(&sn);
            d.extend(s);
        }
        d
    }

    const END: [u8; 8] = [0; 8];
    const DIR: u32 = ATTR_DIRECTORY;

    /// Security block + root (subdir right after it and its end marker) + `children`
    /// built by `f(children_offset)`.
    fn resource(f: impl FnOnce(u64) -> Vec<u8>) -> Vec<u8> {
        let mut m = vec![8, 0, 0, 0, 0, 0, 0, 0];
        let root_len = dentry("", DIR, 0, [0; 20], 0, &[]).len() as u64;
        let children = 8 + root_len + 8;
        m.extend(dentry("", DIR, children, [0; 20], 0, &[]));
        m.extend(END);
        m.extend(f(children));
        m
    }

    #[test]
    fn streams_reparse_and_links() {
        let (h1, h2, h3) = ([1u8; 20], [2u8; 20], [3u8; 20]);
        let m = resource(|_| {
            let mut v = dentry("plain.txt", 0x20, 0, h1, 0, &[]);
            v.extend(dentry(
                "ads.txt",
                0x20,
                0,
                [0; 20],
                0,
                &[("", h2), ("Zone.Identifier", h3)],
            ));
            v.extend(dentry(
                "link",
                0x400,
                0,
                [0; 20],
                0xA000_000C,
                &[("", h3), ("", [0; 20])],
            ));
            v.extend(dentry("hard1", 0x20, 0, h1, 7, &[]));
            v.extend(dentry("hard2", 0x20, 0, h1, 7, &[]));
            v.extend(dentry("empty", 0x20, 0, [0; 20], 0, &[]));
            v.extend(END);
            v
        });
        let img = parse(&m).unwrap();
        assert_eq!(img.entries.len(), 7);
        assert_eq!(img.entries[0].children, 1..7);
        let e = |n: &str| &img.entries[img.lookup(&[n]).unwrap()];
        assert_eq!(e("plain.txt").hash, Some(h1));
        assert_eq!(e("ads.txt").hash, Some(h2));
        assert_eq!(
            e("ads.txt").named_streams,
            vec![NamedStream {
                name: "Zone.Identifier".into(),
                hash: Some(h3),
                size: 0
            }]
        );
        assert_eq!(
            e("link").reparse,
            Some(Reparse {
                tag: 0xA000_000C,
                hash: Some(h3)
            })
        );
        assert_eq!(e("link").hash, None);
        assert_eq!(e("link").link_group, 0);
        assert_eq!(e("HARD1").link_group, 7);
        assert_eq!(e("hard2").link_group, 7);
        assert_eq!(e("empty").hash, None);
        assert_eq!(
            img.path_string(img.lookup(&["Plain.TXT"]).unwrap(), '\\'),
            "plain.txt"
        );
    }

    #[test]
    fn invalid_and_duplicate_names_are_skipped() {
        let m = resource(|_| {
            let mut v = dentry("x", 0x20, 0, [1; 20], 0, &[]);
            v.extend(dentry("x", 0x20, 0, [2; 20], 0, &[]));
            v.extend(dentry(".", 0x20, 0, [2; 20], 0, &[]));
            v.extend(dentry("a/b", 0x20, 0, [2; 20], 0, &[]));
            v.extend(dentry("X", 0x20, 0, [3; 20], 0, &[]));
            v.extend(END);
            v
        });
        let img = parse(&m).unwrap();
        assert_eq!(img.skipped_names, 3);
        let names: Vec<&str> = img
            .entries
            .iter()
            .skip(1)
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["X", "x"]);
        // Exact match wins over a case-insensitive one.
        assert_eq!(img.entries[img.lookup(&["X"]).unwrap()].hash, Some([3; 20]));
    }

    /// A chain of `depth` nested directories.
    fn chain(depth: usize) -> Vec<u8> {
        resource(|start| {
            let mut v = Vec::new();
            let per = dentry("d", DIR, 0, [0; 20], 0, &[]).len() as u64 + 8;
            for i in 0..depth as u64 {
                let sub = if i + 1 == depth as u64 {
                    0
                } else {
                    start + (i + 1) * per
                };
                v.extend(dentry("d", DIR, sub, [0; 20], 0, &[]));
                v.extend(END);
            }
            v
        })
    }

    #[test]
    fn depth_bomb_is_rejected_and_deep_trees_work() {
        let img = parse(&chain(200)).unwrap();
        assert_eq!(img.entries.len(), 201);
        assert_eq!(img.path(200).len(), 200);
        assert!(matches!(
            parse(&chain(MAX_DEPTH as usize + 10)),
            Err(Error::TooDeep { .. })
        ));
    }

    #[test]
    fn overlapping_lists_cannot_multiply_entries() {
        // Many directories whose subdir offsets point into one long list at successive
        // dentries: each list is new, so only the entry cap stops the quadratic blow-up.
        let m = resource(|start| {
            let per = dentry("d00000", DIR, 0, [0; 20], 0, &[]).len() as u64;
            let n = 2000u64;
            let mut v = Vec::new();
            for i in 0..n {
                v.extend(dentry(
                    &format!("d{i:05}"),
                    DIR,
                    start + ((i + 1) % n) * per,
                    [0; 20],
                    0,
                    &[],
                ));
            }
            v.extend(END);
            v
        });
        let r = parse(&m);
        assert!(matches!(r, Err(Error::TooMany { .. })), "{r:?}");
    }

    #[test]
    fn children_are_sorted_and_lookup_binary_searches() {
        let names = [
            "zeta", "Alpha", "beta", "ÉTÉ", "été2", "Gamma", "straße", "B",
        ];
        let m = resource(|_| {
            let mut v = Vec::new();
            for (i, n) in names.iter().enumerate() {
                v.extend(dentry(n, 0x20, 0, [i as u8 + 1; 20], 0, &[]));
            }
            v.extend(END);
            v
        });
        let img = parse(&m).unwrap();
        let got: Vec<&str> = img.children(0).iter().map(|e| e.name.as_str()).collect();
        // By uppercase code point, so non-ASCII letters sort after Z.
        assert_eq!(
            got,
            ["Alpha", "B", "beta", "Gamma", "straße", "zeta", "ÉTÉ", "été2"]
        );
        for (i, n) in names.iter().enumerate() {
            let e = img.lookup(&[n.to_lowercase()]).map(|k| &img.entries[k]);
            assert_eq!(e.map(|e| e.hash), Some(Some([i as u8 + 1; 20])), "{n}");
        }
        assert_eq!(
            img.lookup(&["été"]).map(|k| img.entries[k].name.as_str()),
            Some("ÉTÉ")
        );
        assert_eq!(img.lookup(&["STRASSE"]), None);
        assert_eq!(img.lookup(&["nope"]), None);
        assert_eq!(img.lookup(&["alpha", "x"]), None);
        assert_eq!(img.lookup::<&str>(&[]), Some(0));
    }

    #[test]
    fn truncations_never_panic() {
        let m = chain(5);
        for n in 0..m.len() {
            let _ = parse(&m[..n]);
        }
        assert!(parse(&m[..m.len() - 1]).is_err());
    }
}
