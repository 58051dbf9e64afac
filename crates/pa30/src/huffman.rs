//! PA30's mirrored canonical Huffman codes (pa30.md §7): construction, table decoding and
//! length-limited code building for the encoder.
//!
//! The code is canonical as in [MS-PATCH], but mirrored: longer code words are numerically
//! smaller. With `count[L]` symbols of length L and maximum length M, `first[M] = 0`,
//! `first[L−1] = (first[L] + count[L]) / 2`, and the k-th symbol of length L (in
//! increasing symbol order) gets `first[L] + k`. A tree is complete when every
//! `first[L] + count[L]` (L ≥ 2) is even and `first[1] + count[1] = 2`; we reject any
//! other non-empty tree (over-subscribed trees fail the same test). An all-zero tree is
//! accepted and fails only when a symbol is read from it.
//!
//! Hand-written rather than taken from a crate: no published Huffman crate implements this
//! mirrored assignment, and the decoder needs a table layout tuned to the LSB-first stream.

use crate::bits::BitReader;
use crate::Error;

/// Longest code word PA30 allows.
pub(crate) const MAX_CODE_LEN: usize = 16;

/// Per-length first code and counts of a validated tree.
struct Canonical {
    count: [u32; MAX_CODE_LEN + 1],
    first: [u32; MAX_CODE_LEN + 1],
    max_len: usize,
}

/// Validates `lengths` and computes the canonical parameters; `Ok(None)` for an all-zero tree.
fn canonical(lengths: &[u8]) -> Result<Option<Canonical>, Error> {
    let mut count = [0u32; MAX_CODE_LEN + 1];
    for &l in lengths {
        let slot = count
            .get_mut(l as usize)
            .ok_or(Error::Corrupt("code length above 16"))?;
        *slot += 1;
    }
    count[0] = 0;
    let Some(max_len) = (1..=MAX_CODE_LEN).rev().find(|&l| count[l] != 0) else {
        return Ok(None);
    };
    let mut first = [0u32; MAX_CODE_LEN + 1];
    for l in (2..=max_len).rev() {
        let n = first[l] + count[l];
        if n % 2 != 0 {
            return Err(Error::Corrupt("incomplete Huffman tree"));
        }
        first[l - 1] = n / 2;
    }
    if first[1] + count[1] != 2 {
        return Err(Error::Corrupt("incomplete or over-subscribed Huffman tree"));
    }
    Ok(Some(Canonical {
        count,
        first,
        max_len,
    }))
}

/// Code words for `lengths` (MSB-first values), for the encoder; fails like the decoder.
pub(crate) fn assign_codes(lengths: &[u8]) -> Result<Vec<u32>, Error> {
    let mut codes = vec![0u32; lengths.len()];
    let Some(c) = canonical(lengths)? else {
        return Ok(codes);
    };
    let mut next = c.first;
    for (code, &l) in codes.iter_mut().zip(lengths) {
        if l != 0 {
            *code = next[l as usize];
            next[l as usize] += 1;
        }
    }
    Ok(codes)
}

/// Reverses the low `len` bits of `code`, turning an MSB-first code word into the order
/// the LSB-first stream holds it.
#[inline]
pub(crate) fn reverse(code: u32, len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        code.reverse_bits() >> (32 - len)
    }
}

/// Longest alphabet a [`Decoder`] holds (the main tree).
const MAX_SYMBOLS: usize = crate::MAIN_SYMBOLS;

/// A table-driven decoder for one tree of at most 600 symbols, with a primary table of
/// `N` entries (`N` a power of two, `log2 N` ≤ 16). Fixed arrays rather than vectors: no
/// allocation per delta, and a masked index that needs no bounds check.
pub(crate) struct Decoder<const N: usize> {
    /// Indexed by the next `log2 N` stream bits: `symbol << 8 | length`, or 0 when the
    /// code word is longer than the table (resolved by the slow path) or the tree is empty.
    table: [u32; N],
    count: [u32; MAX_CODE_LEN + 1],
    first: [u32; MAX_CODE_LEN + 1],
    /// Index into `sorted` of the first symbol of each length.
    offset: [u32; MAX_CODE_LEN + 1],
    sorted: [u16; MAX_SYMBOLS],
    max_len: usize,
}

impl<const N: usize> Decoder<N> {
    const BITS: u32 = N.trailing_zeros();
    const MASK: u64 = N as u64 - 1;

    /// An empty decoder (every symbol read fails until [`build`](Self::build)).
    pub(crate) fn new() -> Self {
        const { assert!(N.is_power_of_two() && N.trailing_zeros() <= MAX_CODE_LEN as u32) };
        Decoder {
            table: [0; N],
            count: [0; MAX_CODE_LEN + 1],
            first: [0; MAX_CODE_LEN + 1],
            offset: [0; MAX_CODE_LEN + 1],
            sorted: [0; MAX_SYMBOLS],
            max_len: 0,
        }
    }

    /// Rebuilds the tables for `lengths` (one entry per symbol, at most 600).
    ///
    /// The table is not cleared first: a complete tree covers every entry with a code of
    /// at most `log2 N` bits except the entries whose bits are a prefix of a longer code.
    /// In the mirrored canonical order those prefixes are exactly the values
    /// `0..first[log2 N]` (longer codes are numerically smaller), so only they are zeroed.
    pub(crate) fn build(&mut self, lengths: &[u8]) -> Result<(), Error> {
        if lengths.len() > MAX_SYMBOLS {
            return Err(Error::Corrupt("too many Huffman symbols"));
        }
        let Some(c) = canonical(lengths)? else {
            self.table.fill(0);
            self.max_len = 0;
            return Ok(());
        };
        self.count = c.count;
        self.first = c.first;
        self.max_len = c.max_len;
        let tb = Self::BITS;
        let long_prefixes = self.first.get(tb as usize).copied().unwrap_or(0);
        for v in 0..long_prefixes {
            if let Some(e) = self.table.get_mut(reverse(v, tb) as usize) {
                *e = 0;
            }
        }
        let mut off = 0u32;
        for l in 1..=MAX_CODE_LEN {
            self.offset[l] = off;
            off += self.count[l];
        }
        let mut next = self.offset;
        let mut code_next = self.first;
        for (sym, &l) in lengths.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let l = usize::from(l);
            if let Some(slot) = self.sorted.get_mut(next[l] as usize) {
                *slot = sym as u16;
            }
            next[l] += 1;
            let code = code_next[l];
            code_next[l] += 1;
            let l = l as u32;
            if l <= tb {
                let entry = (sym as u32) << 8 | l;
                let step = 1usize << l;
                let mut idx = reverse(code, l) as usize;
                while let Some(e) = self.table.get_mut(idx) {
                    *e = entry;
                    idx += step;
                }
            }
        }
        Ok(())
    }

    /// The table entry for the next stream bits (`bits`, the next bit in bit 0):
    /// `symbol << 8 | length`, or 0 when the slow path must resolve it.
    #[inline(always)]
    pub(crate) fn entry(&self, bits: u64) -> u32 {
        self.table[(bits & Self::MASK) as usize]
    }

    /// Decodes one symbol.
    #[inline(always)]
    pub(crate) fn decode(&self, br: &mut BitReader<'_>) -> Result<u32, Error> {
        let bits = br.peek();
        let e = self.entry(bits);
        if e & 0xFF != 0 {
            br.consume(e & 0xFF);
            return Ok(e >> 8);
        }
        self.decode_slow(br, bits)
    }

    /// Bit-by-bit canonical decoding (§7) for code words longer than the table.
    #[cold]
    #[inline(never)]
    fn decode_slow(&self, br: &mut BitReader<'_>, bits: u64) -> Result<u32, Error> {
        let mut code = 0u32;
        for l in 1..=self.max_len {
            code = (code << 1) | ((bits >> (l - 1)) & 1) as u32;
            if self.count[l] > 0 && code >= self.first[l] {
                let k = code - self.first[l];
                if k >= self.count[l] {
                    break;
                }
                let sym = self
                    .sorted
                    .get((self.offset[l] + k) as usize)
                    .copied()
                    .ok_or(Error::Corrupt("bad Huffman code"))?;
                br.consume(l as u32);
                return Ok(sym as u32);
            }
        }
        if self.max_len == 0 {
            Err(Error::Corrupt("symbol read from an empty Huffman tree"))
        } else {
            Err(Error::Corrupt("bad Huffman code"))
        }
    }
}

/// Code lengths of a Huffman code for `freqs`, no longer than `max_len`, for the encoder.
///
/// Symbols with frequency 0 get length 0. At least two symbols always get a code (two
/// dummy symbols are added when fewer are used), so every tree we write is complete:
/// one-symbol trees are unconfirmed in pa30.md §7. When the optimal code is too deep the
/// frequencies are halved (keeping them non-zero) and the code rebuilt, which converges
/// to a balanced tree.
pub(crate) fn build_lengths(freqs: &[u32], max_len: u32) -> Vec<u8> {
    let mut f: Vec<u32> = freqs.to_vec();
    let mut used = f.iter().filter(|&&x| x > 0).count();
    for x in f.iter_mut() {
        if used >= 2 {
            break;
        }
        if *x == 0 {
            *x = 1;
            used += 1;
        }
    }
    loop {
        let lens = depths(&f);
        if lens.iter().all(|&l| u32::from(l) <= max_len) {
            return lens;
        }
        for x in f.iter_mut() {
            if *x > 0 {
                *x = (*x >> 1).max(1);
            }
        }
    }
}

/// Unlimited Huffman code lengths (two-queue construction over sorted leaves).
fn depths(f: &[u32]) -> Vec<u8> {
    let mut leaves: Vec<(u32, usize)> = f
        .iter()
        .enumerate()
        .filter(|(_, &x)| x > 0)
        .map(|(i, &x)| (x, i))
        .collect();
    leaves.sort_unstable();
    let n = leaves.len();
    let mut lens = vec![0u8; f.len()];
    if n < 2 {
        if let Some(&(_, s)) = leaves.first() {
            lens[s] = 1;
        }
        return lens;
    }
    // Nodes 0..n are leaves, n.. are internal; parent links give depths.
    let mut weight: Vec<u64> = leaves.iter().map(|&(w, _)| u64::from(w)).collect();
    let mut parent = vec![0usize; 2 * n - 1];
    weight.reserve(n - 1);
    let (mut li, mut ii) = (0usize, n);
    for _ in 0..n - 1 {
        let mut pick = |weight: &Vec<u64>| {
            let take_leaf = li < n && (ii >= weight.len() || weight[li] <= weight[ii]);
            if take_leaf {
                li += 1;
                li - 1
            } else {
                ii += 1;
                ii - 1
            }
        };
        let a = pick(&weight);
        let b = pick(&weight);
        let node = weight.len();
        weight.push(weight[a] + weight[b]);
        parent[a] = node;
        parent[b] = node;
    }
    let root = 2 * n - 2;
    let mut depth = vec![0u32; 2 * n - 1];
    for node in (0..root).rev() {
        depth[node] = depth[parent[node]] + 1;
    }
    for (k, &(_, s)) in leaves.iter().enumerate() {
        lens[s] = depth[k].min(255) as u8;
    }
    lens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_main_tree_codes_match_the_worked_example() {
        let mut lens = vec![9u8; 424];
        lens.resize(600, 10);
        let codes = assign_codes(&lens).unwrap();
        assert_eq!(codes[280], 0b101110000);
        assert_eq!(codes[424], 0);
        assert_eq!(codes[599], 175);
        assert_eq!(codes[0], 88);
    }

    #[test]
    fn incomplete_and_oversubscribed_trees_are_rejected() {
        assert!(canonical(&[1, 0, 0]).is_err());
        assert!(canonical(&[1, 1, 1]).is_err());
        assert!(canonical(&[1, 2, 0]).is_err());
        assert!(canonical(&[1, 2, 2]).unwrap().is_some());
        assert!(canonical(&[0, 0]).unwrap().is_none());
    }

    /// Rebuilding over a table of another tree (no full clear) gives the table a fresh
    /// decoder gets, and every symbol decodes from its code word.
    #[test]
    fn rebuilt_tables_equal_fresh_tables_and_decode_every_code() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut reused = Decoder::<2048>::new();
        let mut deep = 0;
        for round in 0..200 {
            let mut f = vec![0u32; 600];
            for v in f.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Skewed frequencies give code lengths up to 16, flat ones short codes;
                // some symbols unused.
                *v = if x % 5 == 0 {
                    0
                } else if round % 2 == 0 {
                    1 + (x >> 62) as u32
                } else {
                    (1u32 << (x >> 59)) >> (round % 7)
                };
            }
            let lens = build_lengths(&f, 16);
            if lens.iter().any(|&l| l > 11) {
                deep += 1;
            }
            reused.build(&lens).unwrap();
            let mut fresh = Decoder::<2048>::new();
            fresh.build(&lens).unwrap();
            assert!(reused.table == fresh.table, "round {round}");
            let codes = assign_codes(&lens).unwrap();
            for (sym, (&l, &c)) in lens.iter().zip(&codes).enumerate() {
                if l == 0 {
                    continue;
                }
                let bytes = u64::from(reverse(c, u32::from(l))).to_le_bytes();
                let mut br = BitReader::new(&bytes, 64);
                assert_eq!(reused.decode(&mut br).unwrap(), sym as u32, "round {round}");
                assert_eq!(br.pos(), usize::from(l));
            }
        }
        // Both shapes occur: codes longer than the table, and trees that fit it.
        assert!(
            (20..180).contains(&deep),
            "{deep} of 200 trees deeper than the table"
        );
        reused.build(&[0; 600]).unwrap();
        let mut br = BitReader::new(&[0xFF; 8], 64);
        assert!(reused.decode(&mut br).is_err());
    }

    #[test]
    fn built_lengths_are_limited_and_complete() {
        let mut f = vec![0u32; 600];
        for (i, x) in f.iter_mut().enumerate() {
            *x = 1 << (i % 31);
        }
        let lens = build_lengths(&f, 16);
        assert!(lens.iter().all(|&l| (1..=16).contains(&l)));
        assert!(canonical(&lens).unwrap().is_some());
        let one = build_lengths(&[0, 0, 5, 0], 16);
        assert!(canonical(&one).unwrap().is_some());
        assert_eq!(one.iter().filter(|&&l| l > 0).count(), 2);
    }
}
