//! The PA30 header parser and the RAW decoder (pa30.md §3–§9).

use md5::{Digest, Md5};

use crate::bits::BitReader;
use crate::huffman::Decoder;
use crate::{
    file_type_name, Error, Header, Limits, ALG_MD5, ALIGNED_SYMBOLS, LENGTH_SYMBOLS, MAIN_SYMBOLS,
    MAX_BLOCKS, MAX_HASH_LEN, TREE_LENGTHS,
};

/// Initial output reservation cap: the declared size may lie, so reserve at most this and
/// let the vector grow as output is really produced.
const MAX_INITIAL_RESERVE: usize = 1 << 20;

/// Longest long-length prefix: z ≤ 23 keeps `2^(z+8) + x + 8` inside 32 bits (§8.8).
const MAX_LONG_LENGTH_ZEROS: u32 = 23;

/// A parsed PA30 file: the header plus where its two data buffers are.
pub(crate) struct Parsed<'a> {
    pub(crate) header: Header,
    pub(crate) preprocess: &'a [u8],
    pub(crate) patch: &'a [u8],
}

/// Reads a buffer (§2.5): integer length, alignment, bytes. Returns the bytes.
fn read_buffer<'a>(br: &mut BitReader<'_>, body: &'a [u8]) -> Result<&'a [u8], Error> {
    let n = br.read_int()?;
    br.align();
    let start = br.pos() / 8;
    let n = usize::try_from(n).map_err(|_| Error::Truncated)?;
    let stop = start.checked_add(n).ok_or(Error::Truncated)?;
    if stop.checked_mul(8).is_none_or(|b| b > br.end()) {
        return Err(Error::Truncated);
    }
    let bytes = body.get(start..stop).ok_or(Error::Truncated)?;
    br.set_pos(stop * 8);
    Ok(bytes)
}

/// Parses the signature, the file time and the outer bitstream (§3).
pub(crate) fn parse(delta: &[u8]) -> Result<Parsed<'_>, Error> {
    let sig = delta.get(..4).ok_or(Error::Truncated)?;
    match sig {
        b"PA30" => {}
        b"PA19" => return Err(Error::Unsupported("PA19 signature".into())),
        b"PA31" => return Err(Error::Unsupported("PA31 signature".into())),
        _ => return Err(Error::Corrupt("no PA30 signature")),
    }
    let time = delta.get(4..12).ok_or(Error::Truncated)?;
    let target_file_time = u64::from_le_bytes(time.try_into().map_err(|_| Error::Truncated)?);
    let body = delta.get(12..).ok_or(Error::Truncated)?;
    if body.is_empty() {
        return Err(Error::Truncated);
    }
    let total_bits = body.len().checked_mul(8).ok_or(Error::Truncated)?;
    let mut br = BitReader::new(body, total_bits);
    let pad = br.read(3) as usize;
    br.set_end(total_bits - pad);
    let file_type_set = br.read_int()?;
    let file_type = br.read_int()?;
    let flags = br.read_int()?;
    let target_size = br.read_int()?;
    let alg = br.read_int()?;
    let hash_alg_id = u32::try_from(alg)
        .map_err(|_| Error::Unsupported(format!("target hash algorithm {alg:#x}")))?;
    let hash = read_buffer(&mut br, body)?;
    if hash.len() > MAX_HASH_LEN {
        return Err(Error::LimitExceeded {
            what: "target hash length",
            value: hash.len() as u64,
            limit: MAX_HASH_LEN as u64,
        });
    }
    let preprocess = read_buffer(&mut br, body)?;
    let patch = read_buffer(&mut br, body)?;
    if br.pos() != total_bits {
        return Err(Error::Corrupt("trailing bytes after the patch buffer"));
    }
    Ok(Parsed {
        header: Header {
            target_file_time,
            file_type_set,
            file_type,
            flags,
            target_size,
            hash_alg_id,
            target_hash: hash.to_vec(),
        },
        preprocess,
        patch,
    })
}

/// Full decode: header checks, match stream, size and hash verification.
pub(crate) fn decode(delta: &[u8], source: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    let p = parse(delta)?;
    let h = &p.header;
    if h.file_type != 1 {
        return Err(Error::Unsupported(format!(
            "FileType {:#x} ({})",
            h.file_type,
            file_type_name(h.file_type)
        )));
    }
    match h.hash_alg_id {
        0 if h.target_hash.is_empty() => {}
        0 => return Err(Error::Corrupt("target hash present without an algorithm")),
        ALG_MD5 if h.target_hash.len() == 16 => {}
        ALG_MD5 => return Err(Error::Corrupt("MD5 target hash is not 16 bytes")),
        other => {
            return Err(Error::Unsupported(format!(
                "target hash algorithm {other:#06x}"
            )))
        }
    }
    if !p.preprocess.is_empty() {
        return Err(Error::Unsupported(format!(
            "non-empty preprocess buffer ({} bytes)",
            p.preprocess.len()
        )));
    }
    if h.target_size > limits.max_target_size {
        return Err(Error::LimitExceeded {
            what: "target size",
            value: h.target_size,
            limit: limits.max_target_size,
        });
    }
    let too_big = Error::LimitExceeded {
        what: "source plus target size",
        value: h.target_size,
        limit: usize::MAX as u64,
    };
    let t = usize::try_from(h.target_size).map_err(|_| too_big)?;
    let out = decode_patch(p.patch, source, t)?;
    if h.hash_alg_id == ALG_MD5 {
        let actual = Md5::digest(&out);
        if actual.as_slice() != h.target_hash.as_slice() {
            return Err(Error::HashMismatch {
                algorithm: "MD5",
                expected: h.target_hash.clone(),
                actual: actual.to_vec(),
            });
        }
    }
    Ok(out)
}

/// The three decoders of one parameter block.
struct Trees {
    main: Decoder,
    length: Decoder,
    aligned: Decoder,
}

impl Trees {
    fn new() -> Self {
        Trees {
            main: Decoder::new(11),
            length: Decoder::new(9),
            aligned: Decoder::new(7),
        }
    }

    fn build(&mut self, lengths: &[u8]) -> Result<(), Error> {
        let (main, rest) = lengths.split_at(MAIN_SYMBOLS);
        let (length, aligned) = rest.split_at(LENGTH_SYMBOLS);
        debug_assert_eq!(aligned.len(), ALIGNED_SYMBOLS);
        self.main.build(main)?;
        self.length.build(length)?;
        self.aligned.build(aligned)
    }
}

/// The default lengths (§6.1): the nearly uniform complete code for each tree.
pub(crate) fn default_lengths() -> [u8; TREE_LENGTHS] {
    let mut l = [0u8; TREE_LENGTHS];
    for (i, x) in l.iter_mut().enumerate() {
        *x = match i {
            0..424 => 9,
            424..600 => 10,
            600..856 => 8,
            _ => 4,
        };
    }
    l
}

/// Decodes one block's 872 lengths against `prev` with the pre-tree (§6.3).
fn read_block_lengths(
    br: &mut BitReader<'_>,
    pre: &Decoder,
    prev: &[u8],
    cur: &mut [u8],
) -> Result<(), Error> {
    let mut i = 0usize;
    let mut last: Option<u8> = None;
    while i < TREE_LENGTHS {
        br.check()?;
        let sym = pre.decode(br)?;
        let p = prev.get(i).copied().unwrap_or(0) as i32;
        let v = match sym {
            0..=16 => sym as i32,
            17..=19 => p + (sym as i32 - 16),
            20..=22 => p - (sym as i32 - 19),
            23..=38 => {
                let c = (sym - 23) % 8;
                let r = if c < 3 {
                    c as usize + 1
                } else {
                    (1usize << (c - 1)) + br.read(c - 1) as usize
                };
                let stop = i + r;
                let (Some(dst), Some(src)) = (cur.get_mut(i..stop), prev.get(i..stop)) else {
                    return Err(Error::Corrupt("code length run past the 872 lengths"));
                };
                if sym < 31 {
                    let fill = last.ok_or(Error::Corrupt("fill as the first code length"))?;
                    dst.fill(fill);
                } else {
                    dst.copy_from_slice(src);
                    last = src.last().copied();
                }
                i = stop;
                continue;
            }
            _ => return Err(Error::Corrupt("bad pre-tree symbol")),
        };
        if !(0..=16).contains(&v) {
            return Err(Error::Corrupt("code length delta out of range"));
        }
        if let Some(x) = cur.get_mut(i) {
            *x = v as u8;
        }
        last = Some(v as u8);
        i += 1;
    }
    br.check()
}

/// Decodes the patch buffer (§5–§9) into exactly `t` bytes.
fn decode_patch(patch: &[u8], source: &[u8], t: usize) -> Result<Vec<u8>, Error> {
    if patch.is_empty() {
        return if t == 0 {
            Ok(Vec::new())
        } else {
            Err(Error::Truncated)
        };
    }
    let s = source.len();
    let total = s.checked_add(t).ok_or(Error::LimitExceeded {
        what: "source plus target size",
        value: t as u64,
        limit: (usize::MAX - s) as u64,
    })?;
    let mut br = BitReader::new(patch, patch.len() * 8);
    let pad = br.read(3) as usize;
    br.set_end(patch.len() * 8 - pad);
    if br.bit() != 0 {
        return Err(Error::Unsupported("non-empty rift table".into()));
    }
    let is_default = br.bit() == 1;
    let mut starts: Vec<u64> = Vec::new();
    let mut lengths: Vec<u8> = Vec::new();
    if is_default {
        starts.push(s as u64);
        lengths.extend_from_slice(&default_lengths());
    } else {
        let b = br.read_int()?;
        if b == 0 {
            return Err(Error::Corrupt("zero parameter blocks"));
        }
        if b > MAX_BLOCKS {
            return Err(Error::LimitExceeded {
                what: "block count",
                value: b,
                limit: MAX_BLOCKS,
            });
        }
        let mut acc = 0u64;
        for _ in 0..b {
            acc = acc
                .checked_add(br.read_int()?)
                .ok_or(Error::Corrupt("block start overflows"))?;
            starts.push(acc);
        }
        let mut pre_lens = [0u8; 39];
        for x in pre_lens.iter_mut() {
            *x = br.read(4) as u8;
        }
        br.check()?;
        let mut pre = Decoder::new(7);
        pre.build(&pre_lens)?;
        let mut prev = [0u8; TREE_LENGTHS];
        let mut cur = [0u8; TREE_LENGTHS];
        for _ in 0..b {
            read_block_lengths(&mut br, &pre, &prev, &mut cur)?;
            lengths.extend_from_slice(&cur);
            prev = cur;
        }
    }
    br.check()?;

    let mut w: Vec<u8> = Vec::with_capacity(s + t.min(MAX_INITIAL_RESERVE));
    w.extend_from_slice(source);
    let mut trees = Trees::new();
    let mut block = usize::MAX;
    let mut next_start = 0u64;
    let mut lru = [0usize; 3];

    while w.len() < total {
        let pos = w.len();
        if pos as u64 >= next_start {
            // Switch to the last block whose start is ≤ pos (§8.2), only between symbols.
            let idx = starts.partition_point(|&st| st <= pos as u64);
            if idx == 0 {
                return Err(Error::Corrupt("output position before the first block"));
            }
            if idx - 1 != block {
                block = idx - 1;
                let at = block * TREE_LENGTHS;
                let l = lengths
                    .get(at..at + TREE_LENGTHS)
                    .ok_or(Error::Corrupt("missing block lengths"))?;
                trees.build(l)?;
            }
            next_start = starts.get(block + 1).copied().unwrap_or(u64::MAX);
        }
        let sym = trees.main.decode(&mut br)?;
        if sym < 256 {
            br.check()?;
            w.push(sym as u8);
            continue;
        }
        let m = sym - 256;
        let mut slot = m >> 3;
        let len3 = m & 7;
        if slot == 7 {
            // Slot escape (§8.5).
            slot = if br.bit() == 0 {
                43 + br.read(2) as u32
            } else if br.bit() == 0 {
                47 + br.read(3) as u32
            } else {
                55 + br.read(4) as u32
            };
        }
        let d: usize = match slot {
            0..=2 => {
                let x = br.read(14 + 2 * slot) as i64;
                let delta = match slot {
                    0 => x - 0x2000,
                    1 => {
                        let r = x - 0x8000;
                        if r < 0 {
                            r - 0x2000
                        } else {
                            r + 0x2000
                        }
                    }
                    _ => {
                        let r = x - 0x20000;
                        if r < 0 {
                            r - 0xA000
                        } else {
                            r + 0xA000
                        }
                    }
                };
                let d = s as i64 + delta;
                if d <= 0 {
                    return Err(Error::Corrupt("source-relative distance not positive"));
                }
                d as usize
            }
            3 => s,
            4..=6 => lru[slot as usize - 4],
            8..=10 => slot as usize - 7,
            _ => {
                let v = ((slot - 11) >> 1) + 1;
                let base = (2u64 + u64::from((slot - 11) & 1)) << v;
                let d = if slot <= 16 {
                    base + br.read(v)
                } else {
                    let x = br.read(v - 4);
                    let a = trees.aligned.decode(&mut br)?;
                    base + (x << 4) + u64::from(a)
                };
                usize::try_from(d).map_err(|_| Error::Corrupt("distance too large"))?
            }
        };
        let len: u64 = if len3 != 0 {
            u64::from(len3) + 1
        } else {
            let k = trees.length.decode(&mut br)?;
            if k != 0 {
                u64::from(k) + 8
            } else {
                let z = br.peek().trailing_zeros();
                if z > MAX_LONG_LENGTH_ZEROS {
                    // Zeros past the valid end are truncation, not a bad prefix.
                    br.consume(z);
                    br.check()?;
                    return Err(Error::Corrupt("long match length prefix too long"));
                }
                br.consume(z + 1);
                let x = br.read(z + 8);
                (1u64 << (z + 8)) + x + 8
            }
        };
        // Running out of bits is reported before what the garbage bits would mean.
        br.check()?;
        if d == 0 || d > pos {
            return Err(Error::Corrupt("match distance outside the window"));
        }
        if len > (total - pos) as u64 {
            return Err(Error::Corrupt("match runs past the target size"));
        }
        let len = len as usize;
        // Move-to-front with deduplication, after every match (§8.7).
        if lru[0] != d {
            if lru[1] == d {
                lru.swap(0, 1);
            } else {
                lru = [d, lru[0], lru[1]];
            }
        }
        copy_match(&mut w, pos - d, len);
    }
    br.check()?;
    if br.pos() != br.end() {
        return Err(Error::Corrupt("bits left over after the last symbol"));
    }
    w.drain(..s);
    Ok(w)
}

/// Appends `len` bytes copied byte by byte from `src` onward (the copy may overlap its
/// own output). Works in chunks that are multiples of the distance, so overlapping copies
/// still move whole slices.
#[inline]
fn copy_match(w: &mut Vec<u8>, src: usize, len: usize) {
    let d = w.len() - src;
    if len <= d {
        w.extend_from_within(src..src + len);
        return;
    }
    if d == 1 {
        let b = w[src];
        w.resize(w.len() + len, b);
        return;
    }
    let mut done = 0;
    while done < len {
        // `done` stays a multiple of d, so the pattern restarts at `src`.
        let n = (len - done).min(w.len() - src);
        w.extend_from_within(src..src + n);
        done += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::BitWriter;
    use crate::huffman::{assign_codes, reverse};

    /// A PA30 file with the given header fields and buffers.
    fn file(file_type: u64, alg: u64, hash: &[u8], pre: &[u8], t: u64, patch: &[u8]) -> Vec<u8> {
        let mut w = BitWriter::with_capacity(64);
        w.write(0, 3);
        for v in [1, file_type, 0x20000, t, alg] {
            w.write_int(v);
        }
        for b in [hash, pre, patch] {
            w.write_int(b.len() as u64);
            w.align();
            w.write_bytes(b);
        }
        let mut f = b"PA30\0\0\0\0\0\0\0\0".to_vec();
        f.extend_from_slice(&w.finish());
        f
    }

    /// A default-table patch stream: the given main symbols (each followed by raw
    /// `(value, bits)` fields), then `extra_bits` zero bits.
    fn default_patch(rift: bool, syms: &[(u32, u64, u32)], extra_bits: u32) -> Vec<u8> {
        let lens = default_lengths();
        let codes = assign_codes(&lens[..MAIN_SYMBOLS]).unwrap();
        let mut w = BitWriter::with_capacity(64);
        w.write(0, 3);
        w.write(u64::from(rift), 1);
        w.write(1, 1);
        for &(s, v, n) in syms {
            let l = u32::from(lens[s as usize]);
            w.write(u64::from(reverse(codes[s as usize], l)), l);
            w.write(v, n);
        }
        w.write(0, extra_bits);
        let pad = (8 - w.bit_len() % 8) % 8;
        let mut p = w.finish();
        p[0] |= pad as u8;
        p
    }

    fn run(f: &[u8], src: &[u8]) -> Result<Vec<u8>, Error> {
        decode(f, src, &Limits::default())
    }

    fn unsupported(r: Result<Vec<u8>, Error>) -> String {
        match r {
            Err(Error::Unsupported(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn default_tables_literals_and_matches() {
        // Slot 3 len 2 at pos = S copies W[0..2] (the source), then "ab", then slot 8
        // (d = 1) with len3 2: three more 'b'.
        let p = default_patch(
            false,
            &[
                (256 + 24 + 1, 0, 0),
                (97, 0, 0),
                (98, 0, 0),
                (256 + 64 + 2, 0, 0),
            ],
            0,
        );
        assert_eq!(
            run(&file(1, 0, &[], &[], 7, &p), b"XY").unwrap(),
            b"XYabbbb"
        );
        // One valid bit too many after the last symbol.
        let p = default_patch(false, &[(97, 0, 0)], 1);
        assert!(matches!(
            run(&file(1, 0, &[], &[], 1, &p), &[]),
            Err(Error::Corrupt(_))
        ));
        // Missing bits.
        let p = default_patch(false, &[(97, 0, 0)], 0);
        let r = run(&file(1, 0, &[], &[], 2, &p), &[]);
        assert!(matches!(r, Err(Error::Truncated)), "{r:?}");
    }

    #[test]
    fn empty_target_with_empty_patch_buffer() {
        assert_eq!(run(&file(1, 0, &[], &[], 0, &[]), &[]).unwrap(), b"");
        assert!(matches!(
            run(&file(1, 0, &[], &[], 1, &[]), &[]),
            Err(Error::Truncated)
        ));
    }

    #[test]
    fn rejects_outside_the_raw_subset() {
        let p = default_patch(false, &[(97, 0, 0)], 0);
        assert_eq!(
            unsupported(run(&file(0x20, 0, &[], &[], 1, &p), &[])),
            "FileType 0x20 (CLI4_AMD64)"
        );
        assert_eq!(
            unsupported(run(&file(1, 0x800C, &[1; 32], &[], 1, &p), &[])),
            "target hash algorithm 0x800c"
        );
        assert_eq!(
            unsupported(run(&file(1, 0, &[], &[1, 2, 3], 1, &p), &[])),
            "non-empty preprocess buffer (3 bytes)"
        );
        let rift = default_patch(true, &[(97, 0, 0)], 0);
        assert_eq!(
            unsupported(run(&file(1, 0, &[], &[], 1, &rift), &[])),
            "non-empty rift table"
        );
        let mut trailing = file(1, 0, &[], &[], 1, &p);
        trailing.push(0);
        assert!(matches!(run(&trailing, &[]), Err(Error::Corrupt(_))));
        assert!(matches!(
            run(&file(1, 0x8003, &[0; 15], &[], 1, &p), &[]),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn bad_distances_are_corrupt() {
        // Repeat slot 4 before any match: the LRU holds 0.
        let p = default_patch(false, &[(97, 0, 0), (256 + 32 + 1, 0, 0)], 0);
        assert!(matches!(
            run(&file(1, 0, &[], &[], 3, &p), &[]),
            Err(Error::Corrupt(_))
        ));
        // Slot 3 with an empty source: distance 0.
        let p = default_patch(false, &[(97, 0, 0), (256 + 24 + 1, 0, 0)], 0);
        assert!(matches!(
            run(&file(1, 0, &[], &[], 3, &p), &[]),
            Err(Error::Corrupt(_))
        ));
        // Slot 0 with delta −1 and S = 1: distance 0.
        let p = default_patch(false, &[(97, 0, 0), (256 + 1, 0x2000 - 1, 14)], 0);
        assert!(matches!(
            run(&file(1, 0, &[], &[], 3, &p), b"x"),
            Err(Error::Corrupt(_))
        ));
        // Slot 0 with delta +1, S = 1, at pos 2 reads from pos − S − 1 = 0 (d = 2).
        let p = default_patch(false, &[(97, 0, 0), (256 + 1, 0x2001, 14)], 0);
        assert_eq!(run(&file(1, 0, &[], &[], 3, &p), b"x").unwrap(), b"axa");
        // A match past TargetSize.
        let p = default_patch(false, &[(97, 0, 0), (256 + 64 + 7, 0, 0)], 0);
        assert!(matches!(
            run(&file(1, 0, &[], &[], 3, &p), &[]),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn fill_as_first_code_length_is_corrupt() {
        // isDefault = 0, one block at 0, a pre-tree where symbols 23 and 31 have 1-bit codes.
        let mut w = BitWriter::with_capacity(64);
        w.write(0, 3);
        w.write(0, 2);
        w.write_int(1);
        w.write_int(0);
        for s in 0..39 {
            w.write(if s == 23 || s == 31 { 1 } else { 0 }, 4);
        }
        // Equal lengths get increasing codes in symbol order: 23 is `0`, 31 is `1`.
        w.write(0, 1);
        w.write(0, 8);
        let p = w.finish();
        let r = run(&file(1, 0, &[], &[], 1, &p), &[]);
        assert!(
            matches!(r, Err(Error::Corrupt("fill as the first code length"))),
            "{r:?}"
        );
    }
}
