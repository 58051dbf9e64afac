//! The PA30 header parser and the RAW decoder (pa30.md §3–§9).
//!
//! Speed notes (sxsaudit decodes every DCM manifest and DCN payload of an image):
//! - the window `source ‖ output` is never materialised: matches that start in the source
//!   read it in place, so nothing is copied in front of the output or drained after it;
//! - the output is a reusable working buffer ([`decode_into`]) kept [`SLACK`] bytes longer
//!   than the write position, so literal batches and short matches write fixed-width
//!   chunks; it is zero-filled as it grows rather than written through spare capacity,
//!   because the crate forbids `unsafe`;
//! - literals resolved by the 11-bit main table are decoded up to five per 57-bit peek,
//!   stopping at the block end, and truncation is checked once per batch (bits past the
//!   end read as zero, so the error is the same as checking after every literal);
//! - a match takes its slot escape, raw distance bits and aligned code from the peek
//!   that resolved its main symbol;
//! - Huffman tables are fixed arrays, rebuilt only for trees whose lengths change from
//!   one block to the next, and without clearing (see [`Decoder::build`]);
//! - the tables outlive a call, one set per thread ([`TREES`]): a delta whose first
//!   block has the lengths of the last block decoded on that thread builds nothing. Small
//!   deltas use the default lengths (§6.1; 3 of our 7 real DCM samples, those that decode
//!   to under 2.4 KB), and for a few-KB manifest building the tables cost more than
//!   decoding.

use std::cell::RefCell;

use md5::{Digest, Md5};

use crate::bits::BitReader;
use crate::huffman::Decoder;
use crate::{
    file_type_name, Error, Header, Limits, TargetHash, ALG_MD5, ALIGNED_SYMBOLS, LENGTH_SYMBOLS,
    MAIN_SYMBOLS, MAX_BLOCKS, MAX_HASH_LEN, TREE_LENGTHS,
};

/// Longest long-length prefix: z ≤ 23 keeps `2^(z+8) + x + 8` inside 32 bits (§8.8).
const MAX_LONG_LENGTH_ZEROS: u32 = 23;

/// A parsed PA30 file: the header plus where its two data buffers are.
pub(crate) struct Parsed<'a> {
    /// The header, with `target_hash` left empty (no allocation on the decode path).
    pub(crate) header: Header,
    /// The stored target hash.
    pub(crate) hash: &'a [u8],
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
            target_hash: Vec::new(),
        },
        hash,
        preprocess,
        patch,
    })
}

/// Full decode into `out`: header checks, match stream, size and (with
/// [`TargetHash::Verify`]) hash verification.
pub(crate) fn decode_into(
    delta: &[u8],
    source: &[u8],
    limits: &Limits,
    check: TargetHash,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    decode_parsed(&parse(delta)?, source, limits, check, out)
}

/// [`decode_into`] after parsing.
fn decode_parsed(
    p: &Parsed<'_>,
    source: &[u8],
    limits: &Limits,
    check: TargetHash,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let h = &p.header;
    if h.file_type != 1 {
        return Err(Error::Unsupported(format!(
            "FileType {:#x} ({})",
            h.file_type,
            file_type_name(h.file_type)
        )));
    }
    match h.hash_alg_id {
        0 if p.hash.is_empty() => {}
        0 => return Err(Error::Corrupt("target hash present without an algorithm")),
        ALG_MD5 if p.hash.len() == 16 => {}
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
    decode_patch(p.patch, source, t, out)?;
    if check == TargetHash::Verify && h.hash_alg_id == ALG_MD5 {
        let actual = Md5::digest(out.as_slice());
        if actual.as_slice() != p.hash {
            return Err(Error::HashMismatch {
                algorithm: "MD5",
                expected: p.hash.to_vec(),
                actual: actual.to_vec(),
            });
        }
    }
    Ok(())
}

/// Full decode into a new vector, hash verified.
pub(crate) fn decode(delta: &[u8], source: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    // Capacity only (nothing is touched until output is produced), capped because the
    // declared size may lie.
    let p = parse(delta)?;
    let t = usize::try_from(p.header.target_size).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(t.saturating_add(SLACK).min(MAX_INITIAL_RESERVE));
    decode_parsed(&p, source, limits, TargetHash::Verify, &mut out)?;
    Ok(out)
}

/// Primary table sizes: 11 bits for the main tree (every default code fits, and five
/// codes fit one 57-bit peek), 9 for lengths, 7 for the aligned tree and the pre-tree.
type MainDecoder = Decoder<2048>;
type LengthDecoder = Decoder<512>;
type SmallDecoder = Decoder<128>;

/// Literals decoded per peek on the fast path: five 11-bit table codes use at most 55 of
/// the 57 bits a peek guarantees.
const LITERALS_PER_PEEK: usize = 5;

/// The three decoders of one parameter block.
struct Trees {
    main: MainDecoder,
    length: LengthDecoder,
    aligned: SmallDecoder,
}

/// A thread's trees and the lengths they were last built from, kept between calls.
struct CachedTrees {
    trees: Trees,
    /// Valid only when `built`: a build that failed part-way leaves tables that match
    /// no lengths.
    lengths: [u8; TREE_LENGTHS],
    built: bool,
}

thread_local! {
    /// Taken out for a call and put back after it, so a call never shares it.
    static TREES: RefCell<Option<Box<CachedTrees>>> = const { RefCell::new(None) };
}

impl CachedTrees {
    fn take() -> Box<CachedTrees> {
        TREES.with(|t| t.borrow_mut().take()).unwrap_or_else(|| {
            Box::new(CachedTrees {
                trees: Trees::new(),
                lengths: [0; TREE_LENGTHS],
                built: false,
            })
        })
    }

    fn give_back(self: Box<Self>) {
        TREES.with(|t| *t.borrow_mut() = Some(self));
    }

    /// Builds the trees of `lengths`, skipping each tree whose lengths equal those the
    /// tables hold.
    fn build(&mut self, lengths: &[u8]) -> Result<(), Error> {
        let old = self.built.then_some(&self.lengths[..]);
        self.built = false;
        self.trees.build(lengths, old)?;
        self.lengths.copy_from_slice(lengths);
        self.built = true;
        Ok(())
    }
}

impl Trees {
    fn new() -> Self {
        Trees {
            main: Decoder::new(),
            length: Decoder::new(),
            aligned: Decoder::new(),
        }
    }

    /// Builds the trees of a block's 872 `lengths`; a tree whose lengths equal those of
    /// the block built before (`old`, already validated) is kept as it is.
    fn build(&mut self, lengths: &[u8], old: Option<&[u8]>) -> Result<(), Error> {
        let (main, rest) = lengths.split_at(MAIN_SYMBOLS);
        let (length, aligned) = rest.split_at(LENGTH_SYMBOLS);
        debug_assert_eq!(aligned.len(), ALIGNED_SYMBOLS);
        let old = old.map(|o| {
            let (m, r) = o.split_at(MAIN_SYMBOLS);
            let (l, a) = r.split_at(LENGTH_SYMBOLS);
            (m, l, a)
        });
        if old.is_none_or(|o| o.0 != main) {
            self.main.build(main)?;
        }
        if old.is_none_or(|o| o.1 != length) {
            self.length.build(length)?;
        }
        if old.is_none_or(|o| o.2 != aligned) {
            self.aligned.build(aligned)?;
        }
        Ok(())
    }
}

/// The default lengths (§6.1): the nearly uniform complete code for each tree.
pub(crate) const DEFAULT_LENGTHS: [u8; TREE_LENGTHS] = {
    let mut l = [0u8; TREE_LENGTHS];
    let mut i = 0;
    while i < TREE_LENGTHS {
        l[i] = match i {
            0..424 => 9,
            424..600 => 10,
            600..856 => 8,
            _ => 4,
        };
        i += 1;
    }
    l
};

/// Decodes one block's 872 lengths against `prev` with the pre-tree (§6.3).
fn read_block_lengths(
    br: &mut BitReader<'_>,
    pre: &SmallDecoder,
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

/// Raw fields taken from one [`BitReader::peek`]; `used` is consumed afterwards.
struct Peeked {
    bits: u64,
    used: u32,
}

impl Peeked {
    /// The next `n` (≤ 26) raw bits, least significant first.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u64 {
        let v = self.bits & ((1u64 << n) - 1);
        self.bits >>= n;
        self.used += n;
        v
    }
}

/// Whether a main-table entry is a literal resolved by the table: non-zero (a code of at
/// most 11 bits) with a symbol below 256.
#[inline(always)]
fn is_literal(e: u32) -> bool {
    e.wrapping_sub(1) < 0xFFFF
}

/// Working bytes kept past the write position, so literal batches and short match copies
/// can write a fixed width without per-byte bounds logic. Cut off at the end.
const SLACK: usize = 64;

/// Cap on the capacity [`decode`] reserves from the declared TargetSize before any output
/// exists: the size may lie, so the vector otherwise grows with the output produced.
const MAX_INITIAL_RESERVE: usize = 1 << 20;

/// Working length a buffer first grows to; it then doubles as output is really
/// produced, so a lying TargetSize costs at most this much zeroing.
const INITIAL_CHUNK: usize = 64 << 10;

/// Grows the working buffer to at least `need` (≤ `end`) bytes, doubling.
#[cold]
#[inline(never)]
fn grow(out: &mut Vec<u8>, need: usize, end: usize) {
    let want = out
        .len()
        .saturating_mul(2)
        .max(INITIAL_CHUNK)
        .min(end)
        .max(need);
    out.resize(want, 0);
}

/// Decodes the patch buffer (§5–§9) into exactly `t` bytes in `out`.
///
/// The window (§8.1) is `source ‖ output`; the source is read in place rather than copied
/// in front of the output. `out` is a working buffer: its existing bytes are overwritten
/// (no need to zero them), it grows geometrically with the output produced (never by a
/// size read from the input alone), keeps [`SLACK`] bytes past the write position, and is
/// cut to `t` at the end.
fn decode_patch(patch: &[u8], source: &[u8], t: usize, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut cache = CachedTrees::take();
    let result = decode_patch_with(patch, source, t, out, &mut cache);
    cache.give_back();
    result
}

/// [`decode_patch`] with this thread's trees.
fn decode_patch_with(
    patch: &[u8],
    source: &[u8],
    t: usize,
    out: &mut Vec<u8>,
    cache: &mut CachedTrees,
) -> Result<(), Error> {
    if patch.is_empty() {
        out.clear();
        return if t == 0 {
            Ok(())
        } else {
            Err(Error::Truncated)
        };
    }
    let s = source.len();
    s.checked_add(t).ok_or(Error::LimitExceeded {
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
    let first_start = [s as u64];
    let mut many_starts: Vec<u64> = Vec::new();
    let mut many_lengths: Vec<u8> = Vec::new();
    let (starts, lengths): (&[u64], &[u8]) = if is_default {
        (&first_start, &DEFAULT_LENGTHS)
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
        // b ≤ MAX_BLOCKS, so these reservations are capped.
        many_starts.reserve(b as usize);
        let mut acc = 0u64;
        for _ in 0..b {
            acc = acc
                .checked_add(br.read_int()?)
                .ok_or(Error::Corrupt("block start overflows"))?;
            many_starts.push(acc);
        }
        let mut pre_lens = [0u8; 39];
        for x in pre_lens.iter_mut() {
            *x = br.read(4) as u8;
        }
        br.check()?;
        let mut pre = SmallDecoder::new();
        pre.build(&pre_lens)?;
        let mut prev = [0u8; TREE_LENGTHS];
        let mut cur = [0u8; TREE_LENGTHS];
        for _ in 0..b {
            read_block_lengths(&mut br, &pre, &prev, &mut cur)?;
            many_lengths.extend_from_slice(&cur);
            prev = cur;
        }
        (&many_starts, &many_lengths)
    };
    br.check()?;

    let end = t.saturating_add(SLACK);
    if out.len() < end.min(INITIAL_CHUNK) {
        out.resize(end.min(INITIAL_CHUNK), 0);
    }
    let mut block = usize::MAX;
    let mut next_start = 0u64;
    // Output position where the current block ends (or t): literal batches stop there.
    let mut limit = 0usize;
    let mut lru = [0usize; 3];
    // Output bytes produced; the window position is s + pos (≤ s + t, checked above).
    let mut pos = 0usize;

    while pos < t {
        let pw = s + pos;
        if pw as u64 >= next_start {
            // Switch to the last block whose start is ≤ pos (§8.2), only between symbols.
            let idx = starts.partition_point(|&st| st <= pw as u64);
            if idx == 0 {
                return Err(Error::Corrupt("output position before the first block"));
            }
            if idx - 1 != block {
                block = idx - 1;
                let at = block * TREE_LENGTHS;
                let l = lengths
                    .get(at..at + TREE_LENGTHS)
                    .ok_or(Error::Corrupt("missing block lengths"))?;
                cache.build(l)?;
            }
            next_start = starts.get(block + 1).copied().unwrap_or(u64::MAX);
            limit = next_start.saturating_sub(s as u64).min(t as u64) as usize;
        }
        if out.len() < pos.saturating_add(SLACK) {
            grow(out, pos.saturating_add(SLACK), end);
        }

        // Literal fast path: up to five table-resolved literals per peek, none past the
        // block end, t, or the working buffer. Running out of bits is still reported
        // right after the literals that ran out (bits past the end read as zero, so no
        // other error can come first), and a run of literals read from those zeros stops
        // there, after at most five.
        let bits = br.peek();
        let e = cache.trees.main.entry(bits);
        if is_literal(e) {
            // pos + SLACK ≤ out.len() and pos < limit, so lit_end > pos.
            let lit_end = limit.min(out.len() - LITERALS_PER_PEEK);
            let (p, bp) = literals(&cache.trees.main, &br, e, bits, out, pos, lit_end)?;
            pos = p;
            br.set_pos(bp);
            continue;
        }

        // Anything else: a match, or a code longer than the table. A table code leaves at
        // least 57 − 11 = 46 peeked bits: enough for the slot escape and the distance's
        // raw bits (at most 6 + 26) and an aligned-table code (7), without a new peek.
        let (sym, rest) = if e & 0xFF != 0 {
            br.consume(e & 0xFF);
            (e >> 8, bits >> (e & 0xFF))
        } else {
            let sym = cache.trees.main.decode(&mut br)?;
            (sym, br.peek())
        };
        if sym < 256 {
            // A literal with a code longer than the table.
            br.check()?;
            out[pos] = sym as u8;
            pos += 1;
            continue;
        }
        let m = sym - 256;
        let mut slot = m >> 3;
        let len3 = m & 7;
        let mut raw = Peeked {
            bits: rest,
            used: 0,
        };
        if slot == 7 {
            // Slot escape (§8.5).
            slot = if raw.take(1) == 0 {
                43 + raw.take(2) as u32
            } else if raw.take(1) == 0 {
                47 + raw.take(3) as u32
            } else {
                55 + raw.take(4) as u32
            };
        }
        let d: usize = match slot {
            0..=2 => {
                let x = raw.take(14 + 2 * slot) as i64;
                br.consume(raw.used);
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
                    let x = raw.take(v);
                    br.consume(raw.used);
                    base + x
                } else {
                    let x = raw.take(v - 4);
                    let ae = cache.trees.aligned.entry(raw.bits);
                    let a = if ae & 0xFF != 0 {
                        br.consume(raw.used + (ae & 0xFF));
                        ae >> 8
                    } else {
                        br.consume(raw.used);
                        cache.trees.aligned.decode(&mut br)?
                    };
                    base + (x << 4) + u64::from(a)
                };
                usize::try_from(d).map_err(|_| Error::Corrupt("distance too large"))?
            }
        };
        let len: u64 = if len3 != 0 {
            u64::from(len3) + 1
        } else {
            let k = cache.trees.length.decode(&mut br)?;
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
        if d == 0 || d > pw {
            return Err(Error::Corrupt("match distance outside the window"));
        }
        if len > (t - pos) as u64 {
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
        // pos + len ≤ t, so this stays within `end`.
        let need = pos + len + SLACK;
        if out.len() < need {
            grow(out, need, end);
        }
        let ws = pw - d;
        if let Some(from_source) = s.checked_sub(ws).filter(|&n| n > 0) {
            copy_from_source(out, source, ws, from_source, pos, len);
        } else {
            copy_within(out, ws - s, pos, len);
        }
        pos += len;
    }
    br.check()?;
    if br.pos() != br.end() {
        return Err(Error::Corrupt("bits left over after the last symbol"));
    }
    out.truncate(t);
    Ok(())
}

/// The literal fast path: table-resolved literals from `pos` (`e`, a literal, is the entry
/// for `bits`, the stream peeked at the reader's position), up to five per top-up of the
/// bit buffer, until a symbol that is not such a literal, or `lit_end` (> `pos`; `out`
/// holds [`LITERALS_PER_PEEK`] bytes past it). Returns the output and bit positions after
/// them. Running out of bits is reported right after the batch that ran out (bits past the
/// end read as zero, so no other error can come first), after at most five literals.
///
/// A function of its own so that its handful of variables stay in registers: inlined into
/// the decoder's loop, the bit position was kept on the stack, and each literal's
/// update of it waited on the last one's store.
#[inline(never)]
fn literals(
    main: &MainDecoder,
    br: &BitReader<'_>,
    mut e: u32,
    mut bits: u64,
    out: &mut [u8],
    mut pos: usize,
    lit_end: usize,
) -> Result<(usize, usize), Error> {
    let bit_end = br.end();
    let bp = br.pos();
    // `bits` holds the stream up to byte `next`, its last `valid` bits: a top-up loads from
    // `next`, an address known a batch ahead, instead of peeking afresh at the position the
    // batch's code lengths give, which put a load and two shifts on the chain of look-ups.
    let mut next = (bp >> 3) + 8;
    let mut valid = 64 - (bp & 7) as u32;
    loop {
        let n_max = (lit_end - pos).min(LITERALS_PER_PEEK);
        let Some(dst) = out.get_mut(pos..pos + LITERALS_PER_PEEK) else {
            return Err(Error::Corrupt("internal: working buffer too short"));
        };
        let mut n = 0usize;
        loop {
            let l = e & 0xFF;
            dst[n] = (e >> 8) as u8;
            bits >>= l;
            // At least 56 − 4·11 bits were left for this code.
            valid -= l;
            n += 1;
            if n == n_max {
                break;
            }
            e = main.entry(bits);
            if !is_literal(e) {
                break;
            }
        }
        pos += n;
        let bp = next * 8 - valid as usize;
        if bp > bit_end {
            return Err(Error::Truncated);
        }
        if pos >= lit_end || !is_literal(e) {
            return Ok((pos, bp));
        }
        // 1 ≤ valid ≤ 63: a batch takes at least one code, and at most 55 of the 56 or more
        // bits a top-up leaves (57 or more at the start). Adding the whole bytes that fit
        // leaves 56 to 63 bits: valid + 8·⌊(63 − valid)/8⌋ = 56 + valid mod 8 = valid | 56.
        bits |= br.word_at(next) << (valid & 63);
        next += ((63 - valid) >> 3) as usize;
        valid |= 56;
        e = main.entry(bits);
        if !is_literal(e) {
            return Ok((pos, next * 8 - valid as usize));
        }
    }
}

/// A match that starts in the source (window position `ws` < S, `avail` = S − ws source
/// bytes left): the source part, then the rest from the start of the output.
#[cold]
#[inline(never)]
fn copy_from_source(
    out: &mut [u8],
    source: &[u8],
    ws: usize,
    avail: usize,
    pos: usize,
    len: usize,
) {
    let n = avail.min(len);
    out[pos..pos + n].copy_from_slice(&source[ws..ws + n]);
    if len > n {
        // Output position 0 is window position S, right after the source part.
        copy_within(out, 0, pos + n, len - n);
    }
}

/// Copies `len` bytes from `src` to `pos` (> src) inside the output with byte-by-byte
/// semantics: an overlapping copy repeats the `pos − src` bytes before it. The caller
/// guarantees `out.len() ≥ pos + len + SLACK`, so short copies move whole 16- or 8-byte
/// chunks (up to 15 bytes past `len`, overwritten later) instead of calling memmove.
#[inline(always)]
fn copy_within(out: &mut [u8], src: usize, pos: usize, len: usize) {
    let d = pos - src;
    if len <= SHORT_COPY && d >= 16 {
        // Each chunk reads bytes before `pos + done`, all final already.
        let mut done = 0;
        while done < len {
            copy_chunk::<16>(out, src + done, pos + done);
            done += 16;
        }
    } else if len <= d {
        out.copy_within(src..src + len, pos);
    } else if d == 1 {
        let b = out[src];
        out[pos..pos + len].fill(b);
    } else if len <= SHORT_COPY && d >= 8 {
        let mut done = 0;
        while done < len {
            copy_chunk::<8>(out, src + done, pos + done);
            done += 8;
        }
    } else {
        // [src, pos + done) repeats with period d and `done` stays a multiple of d, so
        // each step copies a non-overlapping, doubling chunk.
        let mut done = 0;
        while done < len {
            let n = (len - done).min(d + done);
            out.copy_within(src..src + n, pos + done);
            done += n;
        }
    }
}

/// Longest match copied in fixed chunks rather than by memmove.
const SHORT_COPY: usize = 48;

/// Copies `N` bytes from `src` to `dst` (`dst ≥ src + N` or disjoint) as one fixed-size
/// move the compiler inlines.
#[inline(always)]
fn copy_chunk<const N: usize>(out: &mut [u8], src: usize, dst: usize) {
    let mut tmp = [0u8; N];
    tmp.copy_from_slice(&out[src..src + N]);
    out[dst..dst + N].copy_from_slice(&tmp);
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
        let lens = DEFAULT_LENGTHS;
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
        let r = decode(f, src, &Limits::default());
        // decode_into through a buffer of stale bytes agrees, in both modes.
        for check in [TargetHash::Verify, TargetHash::Skip] {
            let mut out = vec![0xEE; 100];
            let r2 = decode_into(f, src, &Limits::default(), check, &mut out);
            match (&r, r2) {
                (Ok(v), Ok(())) => assert_eq!(*v, out),
                (Err(Error::HashMismatch { .. }), Ok(())) => assert_eq!(check, TargetHash::Skip),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("decode {a:?} but decode_into {b:?}"),
            }
        }
        r
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
    fn tables_kept_between_calls_never_outlive_a_failed_build() {
        let p = default_patch(false, &[(97, 0, 0), (98, 0, 0), (256 + 64 + 2, 0, 0)], 0);
        let f = file(1, 0, &[], &[], 5, &p);
        assert_eq!(run(&f, &[]).unwrap(), b"abbbb");
        // This thread's tables now hold the default lengths. A build for other lengths
        // whose main tree is valid (two symbols) but whose length tree is not: the main
        // table is rebuilt, then the build fails.
        let mut other = DEFAULT_LENGTHS;
        other[..MAIN_SYMBOLS].fill(0);
        other[0] = 1;
        other[1] = 1;
        other[MAIN_SYMBOLS..MAIN_SYMBOLS + LENGTH_SYMBOLS].fill(1);
        let mut cache = CachedTrees::take();
        assert!(cache.build(&DEFAULT_LENGTHS).is_ok());
        assert!(cache.build(&other).is_err());
        cache.give_back();
        // The next default-table delta must not decode with that main table.
        assert_eq!(run(&f, &[]).unwrap(), b"abbbb");
        // And the same from a valid build of other lengths.
        let mut two = other;
        two[MAIN_SYMBOLS..].copy_from_slice(&DEFAULT_LENGTHS[MAIN_SYMBOLS..]);
        let mut cache = CachedTrees::take();
        assert!(cache.build(&two).is_ok());
        cache.give_back();
        assert_eq!(run(&f, &[]).unwrap(), b"abbbb");
    }

    #[test]
    fn matches_that_start_in_the_source_run_on_into_the_output() {
        // 'a' at W[2], then slot 9 (d = 2) with length 4 at pos 3: W[1] = 'Y' from the
        // source, then 'a', 'Y', 'a' from the output as it is written.
        let p = default_patch(false, &[(97, 0, 0), (256 + 72 + 3, 0, 0)], 0);
        assert_eq!(run(&file(1, 0, &[], &[], 5, &p), b"XY").unwrap(), b"aYaYa");
        // Slot 3 (d = S) with length 4 at pos = S: the whole source, then itself again.
        let p = default_patch(false, &[(256 + 24 + 3, 0, 0)], 0);
        assert_eq!(run(&file(1, 0, &[], &[], 4, &p), b"XY").unwrap(), b"XYXY");
    }

    #[test]
    fn skip_still_checks_the_hash_fields() {
        let p = default_patch(false, &[(97, 0, 0)], 0);
        let mut out = Vec::new();
        let mut go = |f: &[u8]| decode_into(f, &[], &Limits::default(), TargetHash::Skip, &mut out);
        assert!(matches!(
            go(&file(1, 0x8003, &[0; 15], &[], 1, &p)),
            Err(Error::Corrupt("MD5 target hash is not 16 bytes"))
        ));
        assert!(matches!(
            go(&file(1, 0, &[0; 16], &[], 1, &p)),
            Err(Error::Corrupt("target hash present without an algorithm"))
        ));
        assert!(matches!(
            go(&file(1, 0x800C, &[0; 32], &[], 1, &p)),
            Err(Error::Unsupported(_))
        ));
        // A wrong MD5 passes with Skip only.
        assert!(go(&file(1, 0x8003, &[0; 16], &[], 1, &p)).is_ok());
        assert!(matches!(
            run(&file(1, 0x8003, &[0; 16], &[], 1, &p), &[]),
            Err(Error::HashMismatch { .. })
        ));
    }

    #[test]
    fn copy_within_repeats_like_a_byte_by_byte_copy() {
        for d in 1..70usize {
            for len in 1..140usize {
                let pos = 100;
                let mut fast: Vec<u8> = (0..pos as u8)
                    .chain(std::iter::repeat_n(0xEE, len + SLACK))
                    .collect();
                let mut slow = fast.clone();
                copy_within(&mut fast, pos - d, pos, len);
                for i in pos..pos + len {
                    slow[i] = slow[i - d];
                }
                assert_eq!(fast[..pos + len], slow[..pos + len], "d {d} len {len}");
            }
        }
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
