//! XPRESS Huffman ([MS-XCA] §2.2 "LZ77+Huffman") as used by WIM chunks.
//!
//! Format (wim-and-codecs.md §2): a WIM chunk (≤ 64 KiB) is exactly one [MS-XCA] block:
//!
//! - 256 bytes of codeword lengths: byte `i` holds symbol `2i` in its low nibble and `2i+1` in
//!   its high nibble; 512 symbols, lengths 0..15, canonical, and the code must be complete.
//!   Symbols 0..255 are literals; for a symbol `256 + s`, `s & 15` is the length header and
//!   `s >> 4` the number `k` of offset bits.
//! - then a bitstream of 16-bit little-endian words read MSB-first, interleaved with raw bytes
//!   for long match lengths. We follow [MS-XCA]'s model exactly: a 32-bit window starts with two
//!   words; after every consumption that leaves fewer than 16 bits, the next word at the byte
//!   cursor is appended; length bytes are taken at the cursor right after the symbol's top-up.
//! - match length: header `L < 15` → `L + 3`; `L == 15` → a byte `b`; `b < 255` → `b + 18`;
//!   `b == 255` → a u16 `v` → `v + 3` (the u32 continuation of [MS-XCA] for `v == 0` is
//!   never needed in a ≤ 64 KiB chunk and is rejected). Offset = `(1 << k) | k bits`.
//!
//! Decoding stops after the chunk's known size; the end-of-data symbol 256 is not required.
//! Rejected: output sizes above 64 KiB ([`MAX_OUTPUT`]: larger [MS-XCA] streams span several
//! blocks, which no WIM chunk does), input shorter than the table, incomplete or
//! over-subscribed codes, offsets before the chunk start, matches past the chunk end, reading
//! bits or bytes past the end of the input.
//!
//! Why hand-written: the one crates.io XPRESS-Huffman decoder (`xpress-huffman` 0.1, a new
//! single-maintainer crate) offers no reusable state and nothing WIM-specific; this codec is
//! small and shares its Huffman tables with our LZX decoder. Checked against wimlib-imagex
//! (tests/wimlib_oracle.rs).

use crate::huffman::DecodeTable;
use crate::Error;

/// Largest chunk we decode: one [MS-XCA] block. wimlib allows XPRESS chunks of 4..64 KiB.
pub const MAX_OUTPUT: usize = 65536;
const TABLE_SIZE: usize = 256;
const NUM_SYMBOLS: usize = 512;
const MAX_CODE_LEN: u32 = 15;
/// Primary table bits: 2 K entries (8 KiB), rebuilt per chunk.
const TABLE_BITS: u32 = 11;
const MIN_MATCH: usize = 3;

/// Reusable XPRESS state (the decode table), so that decoding many chunks allocates nothing.
#[derive(Debug, Clone)]
pub struct Decompressor {
    table: DecodeTable,
    lens: [u8; NUM_SYMBOLS],
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

/// [MS-XCA]'s 32-bit bit window plus the byte cursor for length bytes.
struct Window<'a> {
    data: &'a [u8],
    cursor: usize,
    bits: u32,
    count: u32,
}

impl Window<'_> {
    #[inline(always)]
    fn word(&self, at: usize) -> u32 {
        match self.data.get(at..at + 2) {
            Some(b) => u32::from(u16::from_le_bytes([b[0], b[1]])),
            None => u32::from(self.data.get(at).copied().unwrap_or(0)),
        }
    }

    /// Consume `n` (≤ 15) bits, then top up to ≥ 16 bits from the cursor.
    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.bits <<= n;
        self.count -= n;
        if self.count < 16 {
            self.bits |= self.word(self.cursor) << (16 - self.count);
            self.count += 16;
            self.cursor += 2;
        }
    }

    #[inline(always)]
    fn byte(&mut self) -> Result<u32, Error> {
        let b = self
            .data
            .get(self.cursor)
            .copied()
            .ok_or(Error::Truncated)?;
        self.cursor += 1;
        Ok(u32::from(b))
    }

    /// Bits consumed, counting length bytes; compared with the input size to detect a stream
    /// that needed bits past its end.
    fn consumed_bits(&self) -> usize {
        self.cursor * 8 - self.count as usize
    }
}

impl Decompressor {
    /// A fresh decompressor.
    pub fn new() -> Self {
        Decompressor {
            table: DecodeTable::new(TABLE_BITS, MAX_CODE_LEN),
            lens: [0; NUM_SYMBOLS],
        }
    }

    /// Decompress one chunk into `out`, whose length is the chunk's exact uncompressed size.
    pub fn decompress_into(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let out_len = out.len();
        if out_len > MAX_OUTPUT {
            return Err(Error::OutputTooLarge {
                len: out_len,
                max: MAX_OUTPUT,
            });
        }
        if out_len == 0 {
            return Ok(());
        }
        let table = input.get(..TABLE_SIZE).ok_or(Error::Truncated)?;
        for (i, &b) in table.iter().enumerate() {
            self.lens[2 * i] = b & 0x0F;
            self.lens[2 * i + 1] = b >> 4;
        }
        self.table
            .build(&self.lens, false)
            .map_err(|e| Error::BadCode {
                code: "XPRESS",
                why: e.as_str(),
            })?;

        let mut w = Window {
            data: input,
            cursor: TABLE_SIZE + 4,
            bits: 0,
            count: 32,
        };
        w.bits = (w.word(TABLE_SIZE) << 16) | w.word(TABLE_SIZE + 2);

        let mut pos = 0usize;
        while pos < out_len {
            let (sym, len) = self.table.lookup(w.bits >> (32 - MAX_CODE_LEN));
            // A complete code always matches, so `len` ≥ 1 here.
            w.consume(len);
            if sym < 256 {
                if let Some(o) = out.get_mut(pos) {
                    *o = sym as u8;
                }
                pos += 1;
                continue;
            }
            let s = sym - 256;
            let k = s >> 4;
            let mut length = (s & 15) as usize;
            if length == 15 {
                let b = w.byte()?;
                if b < 255 {
                    length = b as usize + 15;
                } else {
                    let v = w.byte()? | (w.byte()? << 8);
                    if v == 0 {
                        // v == 0 announces a u32 length ([MS-XCA]): never needed in a chunk
                        // of at most 64 KiB, where every match length fits the u16.
                        return Err(Error::BadMatchLength { len: 0 });
                    }
                    length = v as usize;
                }
            }
            length += MIN_MATCH;
            let offset = if k == 0 {
                1
            } else {
                let extra = w.bits >> (32 - k);
                w.consume(k);
                ((1u32 << k) | extra) as usize
            };
            if offset > pos {
                return Err(Error::BadOffset { offset, pos });
            }
            let remaining = out_len - pos;
            if length > remaining {
                return Err(Error::MatchOverrun { length, remaining });
            }
            crate::copy_match(out, pos, offset, length);
            pos += length;
        }
        // The last symbol may be followed by zero-filled window bits, but the symbols
        // themselves must have come from the input.
        if w.consumed_bits() > input.len() * 8 {
            return Err(Error::Truncated);
        }
        Ok(())
    }
}

thread_local! {
    static CACHED: std::cell::RefCell<Decompressor> = std::cell::RefCell::new(Decompressor::new());
}

/// Decompress one chunk into `out` (its exact uncompressed size, at most [`MAX_OUTPUT`]).
/// Uses a per-thread [`Decompressor`].
pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<(), Error> {
    CACHED.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => d.decompress_into(input, out),
        Err(_) => Decompressor::new().decompress_into(input, out),
    })
}

/// Decompress one chunk to `out_len` bytes (at most [`MAX_OUTPUT`]).
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, Error> {
    crate::decompress_to_vec(out_len, MAX_OUTPUT, |out| decompress_into(input, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table with symbols 'a' (0x61) and 256 (match, L=0, k=0) each of length 1.
    fn two_symbol_table() -> Vec<u8> {
        let mut t = vec![0u8; 256];
        t[0x61 / 2] = 0x10; // 0x61 is odd: high nibble
        t[256 / 2] = 0x01; // 256 is even: low nibble
        t
    }

    #[test]
    fn literal_then_overlapping_match() {
        // Codes: 'a' = 0, sym 256 = 1. Bits: 0 (a), 1 (match len 3 offset 1), then zeros.
        let mut input = two_symbol_table();
        input.extend_from_slice(&[0x00, 0x40, 0, 0]); // word 0x4000 = 0100...
        let out = decompress(&input, 4).unwrap();
        assert_eq!(out, b"aaaa");
    }

    #[test]
    fn offset_before_start_is_rejected() {
        let mut input = two_symbol_table();
        input.extend_from_slice(&[0x00, 0x80, 0, 0]); // match first
        assert!(matches!(
            decompress(&input, 4),
            Err(Error::BadOffset { offset: 1, pos: 0 })
        ));
    }

    #[test]
    fn incomplete_table_is_rejected() {
        let mut t = vec![0u8; 260];
        t[0] = 0x01;
        assert!(matches!(decompress(&t, 1), Err(Error::BadCode { .. })));
        assert!(matches!(
            decompress(&[0u8; 300], 1),
            Err(Error::BadCode { .. })
        ));
    }

    #[test]
    fn caps_and_trivial_sizes() {
        assert!(matches!(
            decompress(&[], MAX_OUTPUT + 1),
            Err(Error::OutputTooLarge { .. })
        ));
        assert_eq!(decompress(&[], 0).unwrap(), Vec::<u8>::new());
        assert!(matches!(decompress(&[0; 10], 5), Err(Error::Truncated)));
    }

    #[test]
    fn running_past_input_is_truncated() {
        // Literal 'a' needs 1 bit per byte; 1000 bytes need 1000 bits but only 32 exist.
        let mut input = two_symbol_table();
        input.extend_from_slice(&[0, 0, 0, 0]);
        assert!(matches!(decompress(&input, 1000), Err(Error::Truncated)));
        assert_eq!(decompress(&input, 32).unwrap(), vec![b'a'; 32]);
    }
}
