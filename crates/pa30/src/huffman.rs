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

/// A table-driven decoder for one tree; reusable across blocks to avoid reallocation.
pub(crate) struct Decoder {
    /// Indexed by the next `table_bits` stream bits: `symbol << 8 | length`, or 0 when the
    /// code word is longer than `table_bits` (resolved by the slow path).
    table: Vec<u32>,
    table_bits: u32,
    count: [u32; MAX_CODE_LEN + 1],
    first: [u32; MAX_CODE_LEN + 1],
    /// Index into `sorted` of the first symbol of each length.
    offset: [u32; MAX_CODE_LEN + 1],
    sorted: Vec<u16>,
    max_len: usize,
}

impl Decoder {
    /// A decoder whose primary table resolves codes of up to `table_bits` bits.
    pub(crate) fn new(table_bits: u32) -> Self {
        Decoder {
            table: vec![0; 1 << table_bits],
            table_bits,
            count: [0; MAX_CODE_LEN + 1],
            first: [0; MAX_CODE_LEN + 1],
            offset: [0; MAX_CODE_LEN + 1],
            sorted: Vec::new(),
            max_len: 0,
        }
    }

    /// Rebuilds the tables for `lengths` (one entry per symbol).
    pub(crate) fn build(&mut self, lengths: &[u8]) -> Result<(), Error> {
        self.table.fill(0);
        self.sorted.clear();
        let Some(c) = canonical(lengths)? else {
            self.max_len = 0;
            return Ok(());
        };
        self.count = c.count;
        self.first = c.first;
        self.max_len = c.max_len;
        let mut off = 0u32;
        for l in 1..=MAX_CODE_LEN {
            self.offset[l] = off;
            off += self.count[l];
        }
        self.sorted.resize(off as usize, 0);
        let mut next = self.offset;
        let mut code_next = self.first;
        let tb = self.table_bits;
        let size = self.table.len();
        for (sym, &l) in lengths.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let l = l as usize;
            if let Some(slot) = self.sorted.get_mut(next[l] as usize) {
                *slot = sym as u16;
            }
            next[l] += 1;
            let code = code_next[l];
            code_next[l] += 1;
            let l = l as u32;
            if l <= tb {
                let entry = (sym as u32) << 8 | l;
                let mut idx = reverse(code, l) as usize;
                let step = 1usize << l;
                while idx < size {
                    self.table[idx] = entry;
                    idx += step;
                }
            }
        }
        Ok(())
    }

    /// Decodes one symbol.
    #[inline]
    pub(crate) fn decode(&self, br: &mut BitReader<'_>) -> Result<u32, Error> {
        let bits = br.peek();
        let e = self.table[(bits as usize) & (self.table.len() - 1)];
        if e & 0xFF != 0 {
            br.consume(e & 0xFF);
            return Ok(e >> 8);
        }
        self.decode_slow(br, bits)
    }

    /// Bit-by-bit canonical decoding (§7) for code words longer than the table.
    #[cold]
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
