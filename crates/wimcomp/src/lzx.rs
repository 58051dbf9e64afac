//! LZX in its WIM form: one chunk = one complete, independent stream.
//!
//! Format (wim-and-codecs.md §3; the LZX structure itself is the one of [MS-PATCH] without its
//! LZXD extensions):
//!
//! - Bitstream: 16-bit little-endian words, MSB-first; zero bits past the end (§3.2).
//! - No stream header. Blocks follow each other until the chunk's size is produced (§3.3):
//!   3-bit type (1 verbatim, 2 aligned offset, 3 uncompressed); 1 flag bit meaning size 32768,
//!   else a 16-bit size (followed by 8 more bits, `size = (v16 << 8) | v8`, when the window is
//!   at least 64 KiB).
//! - Aligned blocks: 8 × 3-bit aligned-code lengths. Verbatim and aligned blocks: the main-code
//!   lengths for symbols 0..256, then 256..num_main, then the 249 length-code lengths, each
//!   list with its own 20-symbol pretree and coded as deltas mod 17 against the previous block
//!   of the same chunk (§3.4). num_main = 256 + 8 × position slots; the slots follow the window
//!   size (30 for 32 KiB, up to 50 for 2 MiB).
//! - Items (§3.6): literal, or match with length header `h = m & 7` (7 → plus a length-code
//!   symbol; length = 2 + …) and position slot `p = m >> 3`. Slots 0..2 swap repeat offset
//!   `R[p]` with `R0`; higher slots read extra bits (in aligned blocks the low 3 bits of an
//!   offset with ≥ 3 extra bits come from the aligned code), offset = base + extra − 2, and the
//!   R0..R2 queue shifts.
//! - Uncompressed blocks (§3.5): realign to 16 bits (a whole word if already aligned), R0..R2
//!   as three u32, raw bytes, a pad byte after an odd size, then bits resume.
//! - After all blocks, the E8 translation (§3.7) runs over the whole chunk with the fixed file
//!   size 12,000,000 and positions counted from the chunk start.
//!
//! Everything resets per chunk: previous lengths all 0, R0 = R1 = R2 = 1.
//!
//! The window is the chunk size. WIMGAPI writes only 32 KiB chunks; wimlib allows powers of
//! two up to 2 MiB. The window (and with it the number of position slots and the block-size
//! coding) must be the resource's **chunk size**, not the size of a shorter last chunk
//! (checked with wimlib: with 64 KiB and 2 MiB chunks, most short last chunks fail to decode
//! with a window sized to the chunk itself). [`decompress_chunk_into`] and
//! [`Decompressor::with_chunk_size`] take the chunk size; [`decompress_into`] and
//! [`decompress`] guess it from `out.len()` rounded up to a power of two (at least 32 KiB),
//! which is right for every full chunk and for every chunk of a 32 KiB-chunk resource.
//!
//! Rejected: windows outside 32 KiB..2 MiB, output larger than the window, bad block types,
//! block sizes of 0 or past the chunk end, over-subscribed or incomplete codes (all-zero codes
//! are allowed and fail only if used), pretree symbol 19 followed by a symbol above 16, zero
//! repeat offsets in uncompressed blocks, offsets before the chunk start, matches past the end
//! of their block (as wimlib), input exhausted.
//!
//! Why hand-written: the `lzxd` crate (MIT/Apache-2.0) implements LZXD as in [MS-PATCH], with
//! its stream-level E8 header, 24-bit block sizes and state carried across 32 KiB frames of a
//! sliding window. WIM chunks have no E8 header, use the 1-bit/16-bit block size, always
//! translate E8 with a fixed size, and use the chunk itself as the window, so `lzxd` would
//! misread them. Checked against wimlib-imagex (tests/wimlib_oracle.rs).

use crate::bits::BitReader;
use crate::huffman::DecodeTable;
use crate::Error;

/// Smallest window (and WIMGAPI's only chunk size).
pub const MIN_WINDOW: usize = 1 << MIN_ORDER;
/// Largest window: wimlib's maximum LZX chunk size.
pub const MAX_WINDOW: usize = 1 << MAX_ORDER;
const MIN_ORDER: u32 = 15;
const MAX_ORDER: u32 = 21;

const NUM_CHARS: usize = 256;
const MAX_SLOTS: usize = 50;
const MAX_MAIN_SYMBOLS: usize = NUM_CHARS + 8 * MAX_SLOTS;
const NUM_LEN_SYMBOLS: usize = 249;
const NUM_ALIGNED: usize = 8;
const NUM_PRETREE: usize = 20;
const MIN_MATCH: usize = 2;
const DEFAULT_BLOCK_SIZE: usize = 32768;
/// "File size" of WIM's E8 translation (§3.7).
const E8_FILE_SIZE: i32 = 12_000_000;

const MAIN_TABLE_BITS: u32 = 11;
const LEN_TABLE_BITS: u32 = 9;

/// Position slots per window order 15..=21 (§3.3 table).
const SLOTS_BY_ORDER: [usize; 7] = [30, 32, 34, 36, 38, 42, 50];

/// Extra-bit counts of the position slots: 0,0,0,0,1,1,2,2,… capped at 17 (§3.6 table).
const EXTRA_BITS: [u8; MAX_SLOTS] = {
    let mut t = [0u8; MAX_SLOTS];
    let mut p = 4;
    while p < MAX_SLOTS {
        let e = p / 2 - 1;
        t[p] = if e > 17 { 17 } else { e as u8 };
        p += 1;
    }
    t
};

/// Position bases: each slot starts where the previous one's extra bits end.
const BASES: [u32; MAX_SLOTS] = {
    let mut t = [0u32; MAX_SLOTS];
    let mut p = 1;
    while p < MAX_SLOTS {
        t[p] = t[p - 1] + (1 << EXTRA_BITS[p - 1]);
        p += 1;
    }
    t
};

/// Reusable LZX state: code lengths and decode tables (about 25 KiB), so that decoding many
/// chunks allocates nothing.
#[derive(Debug, Clone)]
pub struct Decompressor {
    /// Window order fixed by [`Decompressor::with_chunk_size`]; `None` = from each output size.
    fixed_order: Option<u32>,
    main_lens: [u8; MAX_MAIN_SYMBOLS],
    len_lens: [u8; NUM_LEN_SYMBOLS],
    aligned_lens: [u8; NUM_ALIGNED],
    pre_lens: [u8; NUM_PRETREE],
    main: DecodeTable,
    length: DecodeTable,
    aligned: DecodeTable,
    pretree: DecodeTable,
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Decompressor {
    /// A decompressor that takes the window from each output size (rounded up to a power of
    /// two, at least 32 KiB). Correct for all chunks of 32 KiB-chunk resources and for every
    /// full-size chunk; see the module doc.
    pub fn new() -> Self {
        Decompressor {
            fixed_order: None,
            main_lens: [0; MAX_MAIN_SYMBOLS],
            len_lens: [0; NUM_LEN_SYMBOLS],
            aligned_lens: [0; NUM_ALIGNED],
            pre_lens: [0; NUM_PRETREE],
            main: DecodeTable::new(MAIN_TABLE_BITS, 16),
            length: DecodeTable::new(LEN_TABLE_BITS, 16),
            aligned: DecodeTable::new(7, 7),
            pretree: DecodeTable::new(8, 15),
        }
    }

    /// A decompressor for a resource with this chunk size (a power of two, 32 KiB..2 MiB),
    /// which is the LZX window of each of its chunks, including a shorter last one.
    pub fn with_chunk_size(chunk_size: usize) -> Result<Self, Error> {
        if !chunk_size.is_power_of_two() || !(MIN_WINDOW..=MAX_WINDOW).contains(&chunk_size) {
            return Err(Error::BadChunkSize { size: chunk_size });
        }
        let mut d = Self::new();
        d.fixed_order = Some(chunk_size.trailing_zeros());
        Ok(d)
    }

    /// Decompress one chunk into `out`, whose length is the chunk's exact uncompressed size.
    pub fn decompress_into(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let out_len = out.len();
        let order = match self.fixed_order {
            Some(o) => o,
            None => {
                if out_len > MAX_WINDOW {
                    return Err(Error::OutputTooLarge {
                        len: out_len,
                        max: MAX_WINDOW,
                    });
                }
                out_len.next_power_of_two().trailing_zeros().max(MIN_ORDER)
            }
        };
        self.decode(input, out, order)
    }

    /// Decompress one chunk of a resource whose chunk size is `chunk_size` (the LZX window,
    /// also for a shorter last chunk), ignoring any size given to
    /// [`Decompressor::with_chunk_size`].
    pub fn decompress_chunk_into(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        chunk_size: usize,
    ) -> Result<(), Error> {
        if !chunk_size.is_power_of_two() || !(MIN_WINDOW..=MAX_WINDOW).contains(&chunk_size) {
            return Err(Error::BadChunkSize { size: chunk_size });
        }
        self.decode(input, out, chunk_size.trailing_zeros())
    }

    fn decode(&mut self, input: &[u8], out: &mut [u8], order: u32) -> Result<(), Error> {
        let out_len = out.len();
        if out_len > 1usize << order {
            return Err(Error::OutputTooLarge {
                len: out_len,
                max: 1 << order,
            });
        }
        if out_len == 0 {
            return Ok(());
        }
        let num_slots = SLOTS_BY_ORDER
            .get((order - MIN_ORDER) as usize)
            .copied()
            .unwrap_or(MAX_SLOTS);
        let num_main = NUM_CHARS + 8 * num_slots;

        self.main_lens.fill(0);
        self.len_lens.fill(0);
        let mut r = [1u32; 3];
        let mut br = BitReader::new(input);
        let mut pos = 0usize;

        while pos < out_len {
            br.refill();
            let block_type = br.read(3);
            if !(1..=3).contains(&block_type) {
                return Err(Error::BadBlockType { block_type });
            }
            let block_size = if br.read(1) == 1 {
                DEFAULT_BLOCK_SIZE
            } else {
                let mut s = br.read(16) as usize;
                if order >= 16 {
                    s = (s << 8) | br.read(8) as usize;
                }
                s
            };
            let remaining = out_len - pos;
            if block_size == 0 || block_size > remaining {
                return Err(Error::BadBlockSize {
                    size: block_size,
                    remaining,
                });
            }
            let aligned = match block_type {
                1 => false,
                2 => {
                    for l in self.aligned_lens.iter_mut() {
                        *l = br.read(3) as u8;
                    }
                    self.aligned
                        .build(&self.aligned_lens, true)
                        .map_err(|e| bad_code("aligned", e))?;
                    true
                }
                3 => {
                    let start = br.align_for_raw();
                    let data = br.data();
                    let hdr = data.get(start..start + 12).ok_or(Error::Truncated)?;
                    for (i, rv) in r.iter_mut().enumerate() {
                        let v = u32::from_le_bytes([
                            hdr[4 * i],
                            hdr[4 * i + 1],
                            hdr[4 * i + 2],
                            hdr[4 * i + 3],
                        ]);
                        if v == 0 {
                            return Err(Error::ZeroRepeatOffset);
                        }
                        *rv = v;
                    }
                    let src = data
                        .get(start + 12..start + 12 + block_size)
                        .ok_or(Error::Truncated)?;
                    if let Some(dst) = out.get_mut(pos..pos + block_size) {
                        dst.copy_from_slice(src);
                    }
                    pos += block_size;
                    br.restart_at(start + 12 + block_size + (block_size & 1));
                    continue;
                }
                t => return Err(Error::BadBlockType { block_type: t }),
            };

            // Three length lists, each with its own pretree (§3.4).
            let (chars, slots) = self.main_lens.split_at_mut(NUM_CHARS);
            read_lens(&mut br, &mut self.pre_lens, &mut self.pretree, chars)?;
            let slots = slots.get_mut(..num_main - NUM_CHARS).unwrap_or_default();
            read_lens(&mut br, &mut self.pre_lens, &mut self.pretree, slots)?;
            read_lens(
                &mut br,
                &mut self.pre_lens,
                &mut self.pretree,
                &mut self.len_lens,
            )?;
            let main_lens = self.main_lens.get(..num_main).unwrap_or_default();
            self.main
                .build(main_lens, true)
                .map_err(|e| bad_code("main", e))?;
            self.length
                .build(&self.len_lens, true)
                .map_err(|e| bad_code("length", e))?;

            pos = self.decode_block(&mut br, out, pos, pos + block_size, aligned, &mut r)?;
            if br.overrun() {
                return Err(Error::Truncated);
            }
        }
        e8_untranslate(out);
        Ok(())
    }

    /// Decode items of a verbatim or aligned block from `pos` up to `end`; returns `end`.
    #[inline(always)]
    fn decode_block(
        &self,
        br: &mut BitReader<'_>,
        out: &mut [u8],
        pos: usize,
        end: usize,
        aligned: bool,
        r: &mut [u32; 3],
    ) -> Result<usize, Error> {
        // Work on local copies so that the bit buffer and repeat offsets live in registers.
        let mut b = br.clone();
        let mut rl = *r;
        let res = self.decode_items(&mut b, out, pos, end, aligned, &mut rl);
        *br = b;
        *r = rl;
        res
    }

    #[inline(always)]
    fn decode_items(
        &self,
        br: &mut BitReader<'_>,
        out: &mut [u8],
        mut pos: usize,
        end: usize,
        aligned: bool,
        r: &mut [u32; 3],
    ) -> Result<usize, Error> {
        while pos < end {
            br.ensure(32);
            let (sym, l) = self.main.lookup(br.peek(16));
            if l == 0 {
                return Err(Error::NoCodeword { code: "main" });
            }
            br.consume(l);
            if sym < NUM_CHARS as u32 {
                if let Some(o) = out.get_mut(pos) {
                    *o = sym as u8;
                }
                pos += 1;
                continue;
            }
            let m = sym - NUM_CHARS as u32;
            let header = (m & 7) as usize;
            let slot = (m >> 3) as usize;
            let mut length = header + MIN_MATCH;
            if header == 7 {
                let (ls, ll) = self.length.lookup(br.peek(16));
                if ll == 0 {
                    return Err(Error::NoCodeword { code: "length" });
                }
                br.consume(ll);
                length += ls as usize;
            }
            let offset = if slot < 3 {
                // A swap with R0, not an LRU shift (§3.6).
                r.swap(0, slot);
                r[0]
            } else {
                let e = u32::from(EXTRA_BITS.get(slot).copied().unwrap_or(0));
                let extra = if aligned && e >= 3 {
                    let high = br.read(e - 3) << 3;
                    br.ensure(16);
                    let (a, al) = self.aligned.lookup(br.peek(7));
                    if al == 0 {
                        return Err(Error::NoCodeword { code: "aligned" });
                    }
                    br.consume(al);
                    high | a
                } else {
                    br.read(e)
                };
                let o = BASES.get(slot).copied().unwrap_or(0) + extra - 2;
                r[2] = r[1];
                r[1] = r[0];
                r[0] = o;
                o
            };
            let offset = offset as usize;
            if offset > pos {
                return Err(Error::BadOffset { offset, pos });
            }
            let remaining = end - pos;
            if length > remaining {
                return Err(Error::MatchOverrun { length, remaining });
            }
            crate::copy_match(out, pos, offset, length);
            pos += length;
        }
        Ok(pos)
    }
}

fn bad_code(code: &'static str, e: crate::huffman::CodeError) -> Error {
    Error::BadCode {
        code,
        why: e.as_str(),
    }
}

/// Read one pretree and the delta-coded lengths it describes into `lens` (§3.4). Runs that
/// would pass the end of the list are cut there, as wimlib's decoder effectively does.
fn read_lens(
    br: &mut BitReader<'_>,
    pre_lens: &mut [u8; NUM_PRETREE],
    pretree: &mut DecodeTable,
    lens: &mut [u8],
) -> Result<(), Error> {
    for l in pre_lens.iter_mut() {
        *l = br.read(4) as u8;
    }
    pretree
        .build(pre_lens, true)
        .map_err(|e| bad_code("pretree", e))?;
    let n = lens.len();
    let mut i = 0;
    let next = |br: &mut BitReader<'_>, pretree: &DecodeTable| -> Result<u32, Error> {
        br.ensure(32);
        let (z, l) = pretree.lookup(br.peek(15));
        if l == 0 {
            return Err(Error::NoCodeword { code: "pretree" });
        }
        br.consume(l);
        Ok(z)
    };
    while i < n {
        let z = next(br, pretree)?;
        let (run, value) = match z {
            0..=16 => {
                let prev = lens.get(i).copied().unwrap_or(0);
                (1, (prev + 17 - z as u8) % 17)
            }
            17 => (4 + br.read(4) as usize, 0),
            18 => (20 + br.read(5) as usize, 0),
            _ => {
                let run = 4 + br.read(1) as usize;
                let z2 = next(br, pretree)?;
                if z2 > 16 {
                    return Err(Error::BadPretreeSymbol { symbol: z2 });
                }
                let prev = lens.get(i).copied().unwrap_or(0);
                (run, (prev + 17 - z2 as u8) % 17)
            }
        };
        let stop = (i + run).min(n);
        if let Some(s) = lens.get_mut(i..stop) {
            s.fill(value);
        }
        i = stop;
    }
    Ok(())
}

/// Undo the encoder's E8 call-target translation (§3.7), in place over the whole chunk.
fn e8_untranslate(out: &mut [u8]) {
    let s = out.len();
    if s <= 10 {
        return;
    }
    let limit = s - 10;
    let mut i = 0usize;
    while i < limit {
        match out.get(i..limit).and_then(|t| memchr::memchr(0xE8, t)) {
            Some(k) => i += k,
            None => break,
        }
        if let Some(op) = out.get_mut(i + 1..i + 5) {
            let a = i32::from_le_bytes([op[0], op[1], op[2], op[3]]);
            // i < 2 MiB, so it fits an i32.
            let ii = i as i32;
            let v = if (0..E8_FILE_SIZE).contains(&a) {
                Some(a - ii)
            } else if a < 0 && a >= -ii {
                Some(a + E8_FILE_SIZE)
            } else {
                None
            };
            if let Some(v) = v {
                op.copy_from_slice(&v.to_le_bytes());
            }
        }
        i += 5;
    }
}

thread_local! {
    static CACHED: std::cell::RefCell<Decompressor> = std::cell::RefCell::new(Decompressor::new());
}

/// Decompress one chunk into `out` (its exact uncompressed size, at most [`MAX_WINDOW`]),
/// taking the window from `out.len()` (see the module doc). Uses a per-thread
/// [`Decompressor`].
pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<(), Error> {
    CACHED.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => d.decompress_into(input, out),
        Err(_) => Decompressor::new().decompress_into(input, out),
    })
}

/// Decompress one chunk of a resource whose chunk size is `chunk_size` into `out` (its exact
/// uncompressed size, at most `chunk_size`). This is the call a WIM reader should make: the
/// window must be the resource's chunk size, which [`decompress_into`] can only guess, and
/// guesses wrong for the short last chunk when the chunk size is above 32 KiB. Uses a
/// per-thread [`Decompressor`].
pub fn decompress_chunk_into(input: &[u8], out: &mut [u8], chunk_size: usize) -> Result<(), Error> {
    CACHED.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => d.decompress_chunk_into(input, out, chunk_size),
        Err(_) => Decompressor::new().decompress_chunk_into(input, out, chunk_size),
    })
}

/// Decompress one chunk to `out_len` bytes (at most [`MAX_WINDOW`]).
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, Error> {
    crate::decompress_to_vec(out_len, MAX_WINDOW, |out| decompress_into(input, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_tables_match_the_reference() {
        // Spot values from wim-and-codecs.md §3.6.
        assert_eq!(&BASES[..8], &[0, 1, 2, 3, 4, 6, 8, 12]);
        assert_eq!(BASES[17], 384);
        assert_eq!(EXTRA_BITS[17], 7);
        assert_eq!(BASES[29], 24576);
        assert_eq!(EXTRA_BITS[29], 13);
        assert_eq!(BASES[35], 196608);
        assert_eq!(EXTRA_BITS[35], 16);
        assert_eq!(BASES[36], 262144);
        assert_eq!(EXTRA_BITS[36], 17);
        assert_eq!(BASES[49], 1966080);
        assert_eq!(EXTRA_BITS[49], 17);
        // Slot counts cover offsets up to window − 3 (the rule of §3.3).
        for (k, &n) in SLOTS_BY_ORDER.iter().enumerate() {
            let window = 1u32 << (15 + k);
            let last = n - 1;
            assert!(BASES[last] + (1 << EXTRA_BITS[last]) - 1 - 2 >= window - 3);
            assert!(BASES[last - 1] + (1 << EXTRA_BITS[last - 1]) - 1 - 2 < window - 3);
        }
    }

    #[test]
    fn e8_translation_both_branches() {
        let mut out = vec![0u8; 32];
        // At i = 2: absolute 100 → relative 98.
        out[2] = 0xE8;
        out[3..7].copy_from_slice(&100i32.to_le_bytes());
        // At i = 7 (right after the first operand): -3 (≥ -7) → -3 + 12,000,000.
        out[7] = 0xE8;
        out[8..12].copy_from_slice(&(-3i32).to_le_bytes());
        // At i = 12: -13 < -12 → unchanged.
        out[12] = 0xE8;
        out[13..17].copy_from_slice(&(-13i32).to_le_bytes());
        // At i = 22 ≥ 32 − 10: not examined.
        out[22] = 0xE8;
        out[23..27].copy_from_slice(&50i32.to_le_bytes());
        e8_untranslate(&mut out);
        assert_eq!(&out[3..7], &98i32.to_le_bytes());
        assert_eq!(&out[8..12], &(12_000_000i32 - 3).to_le_bytes());
        assert_eq!(&out[13..17], &(-13i32).to_le_bytes());
        assert_eq!(&out[23..27], &50i32.to_le_bytes());
    }

    #[test]
    fn e8_inside_operand_is_skipped() {
        let mut out = vec![0u8; 20];
        out[0] = 0xE8;
        out[1..5].copy_from_slice(&[0xE8, 0, 0, 0]); // a = 232 → 232
        e8_untranslate(&mut out);
        assert_eq!(&out[1..5], &232i32.to_le_bytes());
    }

    /// Bit writer for hand-made streams (16-bit LE words, MSB-first).
    struct W {
        words: Vec<u16>,
        cur: u32,
        n: u32,
    }
    impl W {
        fn new() -> Self {
            W {
                words: vec![],
                cur: 0,
                n: 0,
            }
        }
        fn put(&mut self, v: u32, bits: u32) {
            for k in (0..bits).rev() {
                self.cur = (self.cur << 1) | ((v >> k) & 1);
                self.n += 1;
                if self.n == 16 {
                    self.words.push(self.cur as u16);
                    self.cur = 0;
                    self.n = 0;
                }
            }
        }
        fn bytes(mut self) -> Vec<u8> {
            if self.n > 0 {
                let pad = 16 - self.n;
                self.put(0, pad);
            }
            self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
        }
    }

    #[test]
    fn uncompressed_block_by_hand() {
        // Block type 3, explicit size 5, then on bit 20: pad to 32, R0..R2, 5 raw bytes, pad,
        // then a second uncompressed block of 3 bytes starting on a word boundary.
        let mut w = W::new();
        w.put(3, 3);
        w.put(0, 1);
        w.put(5, 16);
        let mut data = w.bytes(); // 20 bits → 2 words
        data.extend_from_slice(&1u32.to_le_bytes());
        data.extend_from_slice(&2u32.to_le_bytes());
        data.extend_from_slice(&3u32.to_le_bytes());
        data.extend_from_slice(b"hello\0");
        let mut w = W::new();
        w.put(3, 3);
        w.put(0, 1);
        w.put(3, 16);
        data.extend(w.bytes());
        data.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        data.extend_from_slice(b"abc");
        assert_eq!(decompress(&data, 8).unwrap(), b"helloabc");
        // Zero repeat offsets are invalid.
        let mut bad = data.clone();
        bad[4] = 0;
        assert!(matches!(decompress(&bad, 8), Err(Error::ZeroRepeatOffset)));
        // Missing raw bytes.
        assert!(matches!(
            decompress(&data[..data.len() - 1], 8),
            Err(Error::Truncated)
        ));
    }

    #[test]
    fn bad_block_type_and_size() {
        let mut w = W::new();
        w.put(5, 3);
        w.put(1, 1);
        assert!(matches!(
            decompress(&w.bytes(), 100),
            Err(Error::BadBlockType { block_type: 5 })
        ));
        let mut w = W::new();
        w.put(1, 3);
        w.put(1, 1); // 32768 > 100
        assert!(matches!(
            decompress(&w.bytes(), 100),
            Err(Error::BadBlockSize { size: 32768, .. })
        ));
        let mut w = W::new();
        w.put(1, 3);
        w.put(0, 1);
        w.put(0, 16);
        assert!(matches!(
            decompress(&w.bytes(), 100),
            Err(Error::BadBlockSize { size: 0, .. })
        ));
    }

    #[test]
    fn chunk_size_validation() {
        assert!(Decompressor::with_chunk_size(32768).is_ok());
        assert!(Decompressor::with_chunk_size(1 << 21).is_ok());
        assert!(Decompressor::with_chunk_size(1 << 22).is_err());
        assert!(Decompressor::with_chunk_size(16384).is_err());
        assert!(Decompressor::with_chunk_size(40000).is_err());
        let mut d = Decompressor::with_chunk_size(32768).unwrap();
        let mut out = vec![0; 32769];
        assert!(matches!(
            d.decompress_into(&[], &mut out),
            Err(Error::OutputTooLarge { .. })
        ));
        assert!(matches!(
            decompress(&[], MAX_WINDOW + 1),
            Err(Error::OutputTooLarge { .. })
        ));
    }
}
