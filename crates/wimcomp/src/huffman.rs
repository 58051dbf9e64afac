//! Canonical Huffman decode tables shared by XPRESS and LZX.
//!
//! Both codecs transmit only codeword lengths; codewords are assigned canonically, in order of
//! (length, symbol value), shorter first, counting upward, and are read MSB-first
//! (wim-and-codecs.md §2.2, §3.4). Decoding looks up the next `max_len` bits in a two-level
//! table: a primary table indexed by the first `table_bits` bits, whose entries either give the
//! symbol directly or point to a subtable of `2^(max_len - table_bits)` entries for the longer
//! codewords. Fixed-size subtables keep the builder simple; the total size is bounded by
//! `2^table_bits + 2^max_len` entries whatever the input says.

/// Entry layout: bits 0..20 symbol (or subtable start), bits 20..25 codeword length,
/// bit 31 subtable pointer. A zero entry (length 0) marks "no codeword": only an empty code
/// produces it, and decoding it is an error.
const SUBTABLE_FLAG: u32 = 1 << 31;
const LEN_SHIFT: u32 = 20;
const SYM_MASK: u32 = (1 << LEN_SHIFT) - 1;

/// Longest codeword any WIM codec uses (LZX main and length codes).
pub(crate) const MAX_CODE_LEN: u32 = 16;
/// Largest alphabet: LZX main code with a 2 MiB window (256 + 50 × 8).
const MAX_SYMBOLS: usize = 656;

/// Why a set of codeword lengths does not describe a usable prefix code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeError {
    /// More codewords than the lengths allow (Kraft sum above 1).
    Oversubscribed,
    /// Some bit patterns decode to nothing (Kraft sum below 1).
    Incomplete,
    /// All lengths are zero where the codec requires at least one symbol.
    Empty,
}

impl CodeError {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CodeError::Oversubscribed => "oversubscribed",
            CodeError::Incomplete => "incomplete",
            CodeError::Empty => "empty",
        }
    }
}

/// A decode table for one canonical code, rebuilt in place for every block.
#[derive(Debug, Clone)]
pub(crate) struct DecodeTable {
    entries: Vec<u32>,
    table_bits: u32,
    max_len: u32,
    sorted: Vec<u16>,
}

impl DecodeTable {
    /// `table_bits` ≤ `max_len` ≤ [`MAX_CODE_LEN`]; both are compile-time choices of the codecs.
    pub(crate) fn new(table_bits: u32, max_len: u32) -> Self {
        debug_assert!(table_bits >= 1 && table_bits <= max_len && max_len <= MAX_CODE_LEN);
        DecodeTable {
            entries: vec![0; 1 << table_bits],
            table_bits,
            max_len,
            sorted: Vec::with_capacity(MAX_SYMBOLS),
        }
    }

    /// Build from codeword lengths (`lens[sym]`, 0 = unused; every value ≤ `max_len`, which
    /// the callers guarantee by construction). The code must be complete, except that an
    /// all-zero set is accepted when `allow_empty` (every lookup then fails).
    pub(crate) fn build(&mut self, lens: &[u8], allow_empty: bool) -> Result<(), CodeError> {
        let max_len = self.max_len;
        let mut count = [0u32; MAX_CODE_LEN as usize + 1];
        for &l in lens {
            // Lengths above max_len cannot come from the codecs' readers; treat one as an
            // over-full code rather than trusting it.
            let slot = count
                .get_mut(usize::from(l))
                .ok_or(CodeError::Oversubscribed)?;
            *slot += 1;
        }
        if u32::from(*lens.iter().max().unwrap_or(&0)) > max_len {
            return Err(CodeError::Oversubscribed);
        }
        self.entries.clear();
        self.entries.resize(1 << self.table_bits, 0);
        let used: u32 = count.iter().skip(1).sum();
        if used == 0 {
            return if allow_empty {
                Ok(())
            } else {
                Err(CodeError::Empty)
            };
        }
        // Kraft check in units of 2^-max_len.
        let mut left: i64 = 1;
        for &c in count.iter().take(max_len as usize + 1).skip(1) {
            left = 2 * left - i64::from(c);
            if left < 0 {
                return Err(CodeError::Oversubscribed);
            }
        }
        if left != 0 {
            return Err(CodeError::Incomplete);
        }

        // Symbols sorted by (length, value): a counting sort.
        let mut offs = [0u32; MAX_CODE_LEN as usize + 2];
        for l in 1..=max_len as usize {
            offs[l + 1] = offs[l] + count[l];
        }
        self.sorted.clear();
        self.sorted.resize(used as usize, 0);
        for (sym, &l) in lens.iter().enumerate() {
            if l != 0 {
                let o = &mut offs[usize::from(l)];
                if let Some(s) = self.sorted.get_mut(*o as usize) {
                    *s = sym as u16;
                }
                *o += 1;
            }
        }

        let tb = self.table_bits;
        let sub_bits = max_len - tb;
        let mut code: u32 = 0;
        let mut cur_len: u32 = 1;
        for i in 0..self.sorted.len() {
            let sym = u32::from(self.sorted[i]);
            let len = u32::from(lens.get(sym as usize).copied().unwrap_or(0));
            while cur_len < len {
                code <<= 1;
                cur_len += 1;
            }
            let entry = sym | (len << LEN_SHIFT);
            if len <= tb {
                let start = (code << (tb - len)) as usize;
                let n = 1usize << (tb - len);
                if let Some(s) = self.entries.get_mut(start..start + n) {
                    s.fill(entry);
                }
            } else {
                let prefix = (code >> (len - tb)) as usize;
                let cur = self.entries.get(prefix).copied().unwrap_or(0);
                let base = if cur & SUBTABLE_FLAG != 0 {
                    (cur & SYM_MASK) as usize
                } else {
                    let base = self.entries.len();
                    self.entries.resize(base + (1 << sub_bits), 0);
                    if let Some(e) = self.entries.get_mut(prefix) {
                        *e = SUBTABLE_FLAG | base as u32;
                    }
                    base
                };
                let within = (code & ((1 << (len - tb)) - 1)) as usize;
                let start = base + (within << (max_len - len));
                let n = 1usize << (max_len - len);
                if let Some(s) = self.entries.get_mut(start..start + n) {
                    s.fill(entry);
                }
            }
            code += 1;
        }
        Ok(())
    }

    /// Decode from the next `max_len` bits (`peek`, MSB = next bit). Returns (symbol, length);
    /// length 0 means the bits match no codeword (only possible for an empty code).
    #[inline(always)]
    pub(crate) fn lookup(&self, peek: u32) -> (u32, u32) {
        let sub_bits = self.max_len - self.table_bits;
        let mut e = self
            .entries
            .get((peek >> sub_bits) as usize)
            .copied()
            .unwrap_or(0);
        if e & SUBTABLE_FLAG != 0 {
            let idx = (e & SYM_MASK) as usize + (peek & ((1 << sub_bits) - 1)) as usize;
            e = self.entries.get(idx).copied().unwrap_or(0);
        }
        (e & SYM_MASK, (e >> LEN_SHIFT) & 0x1F)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encode `sym` with the canonical code of `lens` (test-side reference, by brute force).
    fn canonical_codes(lens: &[u8]) -> Vec<(u32, u32)> {
        let mut order: Vec<usize> = (0..lens.len()).filter(|&s| lens[s] != 0).collect();
        order.sort_by_key(|&s| (lens[s], s));
        let mut codes = vec![(0, 0); lens.len()];
        let mut code = 0u32;
        let mut cur = 1u8;
        for s in order {
            while cur < lens[s] {
                code <<= 1;
                cur += 1;
            }
            codes[s] = (code, u32::from(lens[s]));
            code += 1;
        }
        codes
    }

    fn check_roundtrip(lens: &[u8], tb: u32, max: u32) {
        let mut t = DecodeTable::new(tb, max);
        t.build(lens, false).unwrap();
        for (sym, (code, len)) in canonical_codes(lens).into_iter().enumerate() {
            if len == 0 {
                continue;
            }
            // Every possible continuation after the codeword must decode the same symbol.
            for tail in [
                0u32,
                (1 << (max - len)) - 1,
                0x5555 & ((1 << (max - len)) - 1),
            ] {
                let peek = (code << (max - len)) | tail;
                assert_eq!(t.lookup(peek), (sym as u32, len), "sym {sym}");
            }
        }
    }

    #[test]
    fn rfc1951_example_code() {
        // Lengths (3,3,3,3,3,2,4,4) give codes 010..110, 00, 1110, 1111.
        let lens = [3, 3, 3, 3, 3, 2, 4, 4];
        let codes = canonical_codes(&lens);
        assert_eq!(codes[5], (0b00, 2));
        assert_eq!(codes[0], (0b010, 3));
        assert_eq!(codes[7], (0b1111, 4));
        check_roundtrip(&lens, 2, 4);
        check_roundtrip(&lens, 4, 4);
    }

    #[test]
    fn long_codes_use_subtables() {
        // A skewed complete code with lengths 1..16 (two of length 16).
        let mut lens: Vec<u8> = (1..=16).collect();
        lens.push(16);
        check_roundtrip(&lens, 11, 16);
        check_roundtrip(&lens, 6, 16);
        check_roundtrip(&lens, 16, 16);
    }

    #[test]
    fn flat_code_of_512_symbols() {
        let lens = vec![9u8; 512];
        check_roundtrip(&lens, 11, 15);
    }

    #[test]
    fn rejects_oversubscribed_incomplete_empty() {
        let mut t = DecodeTable::new(4, 8);
        assert_eq!(t.build(&[1, 1, 1], false), Err(CodeError::Oversubscribed));
        assert_eq!(t.build(&[1, 2], false), Err(CodeError::Incomplete));
        // A single symbol is an incomplete code (half the patterns decode to nothing).
        assert_eq!(t.build(&[0, 1, 0], false), Err(CodeError::Incomplete));
        assert_eq!(t.build(&[0, 0, 0], false), Err(CodeError::Empty));
        assert_eq!(t.build(&[9, 1], false), Err(CodeError::Oversubscribed));
        assert_eq!(t.build(&[1, 1], false), Ok(()));
    }

    #[test]
    fn empty_code_when_allowed_decodes_nothing() {
        let mut t = DecodeTable::new(4, 8);
        t.build(&[0; 10], true).unwrap();
        for peek in [0u32, 0xFF, 0x80] {
            assert_eq!(t.lookup(peek).1, 0);
        }
    }

    #[test]
    fn rebuild_reuses_table() {
        let mut t = DecodeTable::new(3, 10);
        let mut lens: Vec<u8> = (1..=10).collect();
        lens.push(10);
        t.build(&lens, false).unwrap();
        t.build(&[1, 1], false).unwrap();
        assert_eq!(t.lookup(0), (0, 1));
        assert_eq!(t.lookup(1 << 9), (1, 1));
    }
}
