//! Adaptive Huffman codes of LZMS (wim-and-codecs.md §4.5).
//!
//! Each code starts with every frequency at 1, counts the symbols it decodes, and is rebuilt
//! from the counts every 512 or 1,024 symbols (then the counts are halved). The codeword lengths
//! must be exactly those of Microsoft's encoder, so construction follows §4.5 step by step:
//! sort by (frequency, symbol); two-queue Huffman merge with ties going to leaves; count leaves
//! per depth; hand the longest lengths to the sorted-first symbols; canonical codewords by
//! (length, symbol).
//!
//! Decoding uses a 2^[`TABLE_BITS`]-entry lookup table rebuilt with the code (so a rebuild costs
//! at most one table write per decoded symbol); the rare longer codewords fall back to a
//! canonical first-code walk.

use crate::Error;

/// Bits resolved by one table lookup.
pub(crate) const TABLE_BITS: u32 = 10;
/// Longest codeword we decode. The description says 15 is never exceeded; with frequencies
/// bounded by the rebuild/halving rule (sum below ~4,000) a Fibonacci-shaped tree cannot pass 18,
/// so 24 leaves a margin and still fits the 49 bits a refilled bit buffer guarantees.
pub(crate) const MAX_CODEWORD_LEN: u32 = 24;
/// Table entries: symbol in the low 10 bits, codeword length above it. This length value marks
/// "longer than TABLE_BITS, take the slow path".
const SLOW: u16 = 31 << 10;
const SYM_MASK: u16 = 0x3FF;
/// Largest frequency sorted by counting; above it (never for valid streams, see `build`) a
/// comparison sort is used.
const COUNTING_SORT_LIMIT: usize = 4096;

/// Scratch space for building any code, shared by the five codes of a decompressor.
pub(crate) struct Scratch {
    keys: Vec<u32>,
    hist: Vec<u32>,
    node_freq: Vec<u32>,
    parent: Vec<u32>,
    depth: Vec<u32>,
}

impl Scratch {
    pub(crate) fn new(max_syms: usize) -> Self {
        Scratch {
            keys: Vec::with_capacity(max_syms),
            hist: vec![0; COUNTING_SORT_LIMIT + 1],
            node_freq: vec![0; max_syms],
            parent: vec![0; 2 * max_syms],
            depth: vec![0; max_syms],
        }
    }
}

/// One adaptive code with its decode table.
pub(crate) struct AdaptiveCode {
    num_syms: usize,
    rebuild_every: u32,
    counter: u32,
    freqs: Vec<u32>,
    lens: Vec<u8>,
    table: Vec<u16>,
    /// Symbols in canonical order (length, symbol), for the slow path.
    sorted: Vec<u16>,
    first_code: [u32; MAX_CODEWORD_LEN as usize + 1],
    first_index: [u32; MAX_CODEWORD_LEN as usize + 1],
    count: [u32; MAX_CODEWORD_LEN as usize + 1],
    max_len: u32,
}

impl AdaptiveCode {
    pub(crate) fn new(max_syms: usize, rebuild_every: u32) -> Self {
        AdaptiveCode {
            num_syms: 0,
            rebuild_every,
            counter: 0,
            freqs: vec![1; max_syms],
            lens: vec![0; max_syms],
            table: vec![SLOW; 1 << TABLE_BITS],
            sorted: vec![0; max_syms],
            first_code: [0; MAX_CODEWORD_LEN as usize + 1],
            first_index: [0; MAX_CODEWORD_LEN as usize + 1],
            count: [0; MAX_CODEWORD_LEN as usize + 1],
            max_len: 0,
        }
    }

    /// Starts a block with `num_syms` symbols (at most the capacity given to `new`).
    pub(crate) fn reset(&mut self, num_syms: usize, scratch: &mut Scratch) -> Result<(), Error> {
        debug_assert!(num_syms <= self.freqs.len());
        self.num_syms = num_syms.min(self.freqs.len());
        self.counter = 0;
        self.freqs.fill(1);
        self.build(scratch)
    }

    /// Decodes one symbol from `bits` (refilled by the caller) and counts it, rebuilding the
    /// code when its interval is reached.
    #[inline(always)]
    pub(crate) fn decode(
        &mut self,
        bits: &mut crate::bits::BackBits<'_>,
        scratch: &mut Scratch,
    ) -> Result<usize, Error> {
        let entry = self
            .table
            .get(bits.peek(TABLE_BITS) as usize)
            .copied()
            .unwrap_or(SLOW);
        let sym = if entry & !SYM_MASK != SLOW {
            bits.consume(u32::from(entry >> 10));
            usize::from(entry & SYM_MASK)
        } else {
            self.decode_slow(bits)?
        };
        if let Some(f) = self.freqs.get_mut(sym) {
            *f += 1;
        }
        self.counter += 1;
        if self.counter >= self.rebuild_every {
            self.build(scratch)?;
            for f in &mut self.freqs[..self.num_syms] {
                *f = (*f >> 1) + 1;
            }
            self.counter = 0;
        }
        Ok(sym)
    }

    #[cold]
    fn decode_slow(&self, bits: &mut crate::bits::BackBits<'_>) -> Result<usize, Error> {
        let window = bits.peek(MAX_CODEWORD_LEN);
        for len in TABLE_BITS + 1..=self.max_len {
            let l = len as usize;
            let code = window >> (MAX_CODEWORD_LEN - len);
            let off = code.wrapping_sub(self.first_code[l]);
            if off < self.count[l] {
                bits.consume(len);
                let idx = (self.first_index[l] + off) as usize;
                return self
                    .sorted
                    .get(idx)
                    .map(|&s| usize::from(s))
                    .ok_or(Error::Corrupt("Huffman table inconsistent"));
            }
        }
        // Only an empty code (a block under 2 bytes has no offset slots) gets here.
        Err(Error::Corrupt("symbol decoded from an empty Huffman code"))
    }

    /// Rebuilds lengths, canonical codes and the decode table from the current frequencies.
    fn build(&mut self, s: &mut Scratch) -> Result<(), Error> {
        let n = self.num_syms;
        self.count = [0; MAX_CODEWORD_LEN as usize + 1];
        self.max_len = 0;
        if n <= 1 {
            // Zero symbols: every lookup fails. One symbol: it is decoded from zero bits
            // [inferred; no real stream with a one-symbol code has been seen].
            let entry = if n == 1 { 0 } else { SLOW };
            self.table.fill(entry);
            if n == 1 {
                self.lens[0] = 0;
            }
            return Ok(());
        }

        // 1. Sort by (frequency, symbol), as keys `freq << 10 | symbol`. Frequencies stay at
        // most 2 × 1024 + 2 (halving after every rebuild), so a counting sort over them is
        // cheaper than a comparison sort; it is stable, and symbols go in ascending.
        let freqs = &self.freqs[..n];
        let max_f = freqs.iter().copied().max().unwrap_or(0).min(0x3F_FFFF);
        s.keys.clear();
        s.keys.resize(n, 0);
        if (max_f as usize) < COUNTING_SORT_LIMIT {
            let hist = &mut s.hist[..max_f as usize + 2];
            hist.fill(0);
            for &f in freqs {
                hist[f as usize + 1] += 1;
            }
            for k in 1..hist.len() {
                hist[k] += hist[k - 1];
            }
            for (sym, &f) in freqs.iter().enumerate() {
                let slot = &mut hist[f as usize];
                s.keys[*slot as usize] = (f << 10) | sym as u32;
                *slot += 1;
            }
        } else {
            for (k, (sym, &f)) in s.keys.iter_mut().zip(freqs.iter().enumerate()) {
                *k = (f.min(0x3F_FFFF) << 10) | sym as u32;
            }
            s.keys.sort_unstable();
        }

        // 2. Two-queue merge: leaves 0..n (sorted order), internal nodes n..2n-1.
        let (mut leaf, mut front, mut back) = (0usize, 0usize, 0usize);
        for _ in 0..n - 1 {
            let mut sum = 0;
            for _ in 0..2 {
                let leaf_f = s.keys.get(leaf).map(|k| k >> 10);
                let take_leaf = match leaf_f {
                    Some(lf) => front == back || lf <= s.node_freq[front],
                    None => false,
                };
                let id = if take_leaf {
                    sum += leaf_f.unwrap_or(0);
                    leaf += 1;
                    leaf - 1
                } else {
                    sum += s.node_freq[front];
                    front += 1;
                    n + front - 1
                };
                s.parent[id] = (n + back) as u32;
            }
            s.node_freq[back] = sum;
            back += 1;
        }

        // 3. Depths: the root is the last internal node; parents come after their children.
        let root = n - 2;
        s.depth[root] = 0;
        for j in (0..root).rev() {
            let p = s.parent[n + j] as usize - n;
            s.depth[j] = s.depth[p] + 1;
        }
        for i in 0..n {
            let d = s.depth[s.parent[i] as usize - n] + 1;
            if d > MAX_CODEWORD_LEN {
                return Err(Error::Corrupt("Huffman code deeper than 24 bits"));
            }
            self.count[d as usize] += 1;
            self.max_len = self.max_len.max(d);
        }

        // 4. Longest lengths to the sorted-first symbols.
        let mut i = 0;
        for len in (1..=self.max_len).rev() {
            for _ in 0..self.count[len as usize] {
                let sym = (s.keys[i] & 0x3FF) as usize;
                self.lens[sym] = len as u8;
                i += 1;
            }
        }

        // 5. Canonical codewords by (length, symbol).
        let mut code = 0u32;
        let mut index = 0u32;
        for len in 1..=self.max_len as usize {
            code = (code + self.count[len - 1]) << 1;
            self.first_code[len] = code;
            self.first_index[len] = index;
            index += self.count[len];
        }
        let mut next = self.first_index;
        for sym in 0..n {
            let l = self.lens[sym] as usize;
            self.sorted[next[l] as usize] = sym as u16;
            next[l] += 1;
        }

        // Table: canonical order makes the short codes' ranges contiguous from index 0; what is
        // left belongs to prefixes of longer codewords.
        let mut pos = 0usize;
        for len in 1..=self.max_len.min(TABLE_BITS) {
            let span = 1usize << (TABLE_BITS - len);
            let first = self.first_index[len as usize] as usize;
            for &sym in &self.sorted[first..first + self.count[len as usize] as usize] {
                let entry = ((len as u16) << 10) | sym;
                self.table[pos..pos + span].fill(entry);
                pos += span;
            }
        }
        self.table[pos..].fill(SLOW);
        Ok(())
    }

    #[cfg(test)]
    fn lens(&self) -> &[u8] {
        &self.lens[..self.num_syms]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_with(freqs: &[u32]) -> AdaptiveCode {
        let mut c = AdaptiveCode::new(freqs.len(), 1024);
        let mut s = Scratch::new(freqs.len());
        c.num_syms = freqs.len();
        c.freqs.copy_from_slice(freqs);
        c.build(&mut s).unwrap();
        c
    }

    #[test]
    fn equal_frequencies_give_a_flat_code() {
        let c = code_with(&[1; 256]);
        assert!(c.lens().iter().all(|&l| l == 8));
    }

    #[test]
    fn ties_go_to_leaves_and_long_codes_to_first_symbols() {
        // Sorted: s0(1) s1(1) s2(2) s3(4). Merge: (s0,s1)=2; then leaf s2 (2 <= 2) with node 2
        // = 4; then leaf s3 (4 <= 4) with node 4 = 8. Depths 3,3,2,1.
        let c = code_with(&[1, 1, 2, 4]);
        assert_eq!(c.lens(), &[3, 3, 2, 1]);
        // Five equal weights: (0,1)=A, then leaves 2,3 (1 <= 2) = B, then leaf 4 with A = C,
        // then B+C. Depths: leaves 0,1 at 3; leaves 2,3,4 at 2.
        let c = code_with(&[1, 1, 1, 1, 1]);
        assert_eq!(c.lens(), &[3, 3, 2, 2, 2]);
        // Same weights, but the longest lengths go to the lowest-frequency symbols.
        // Sorted s1 s2 s3 s4 (1) s0 (2): (s1,s2)=A, (s3,s4)=B, s0 (2 <= 2) with A = C, B+C.
        let c = code_with(&[2, 1, 1, 1, 1]);
        assert_eq!(c.lens(), &[2, 3, 3, 2, 2]);
    }

    #[test]
    fn long_codes_decode_through_the_slow_path() {
        // Fibonacci weights give a 14-deep code: lengths beyond TABLE_BITS.
        let mut f = vec![1u32, 1];
        while f.len() < 16 {
            let k = f.len();
            f.push(f[k - 1] + f[k - 2]);
        }
        let c = code_with(&f);
        assert_eq!(*c.lens().iter().max().unwrap(), 15);
        // Encode every symbol with its canonical codeword, concatenated MSB-first into
        // backward-stream words, and decode it back.
        let mut codes = vec![0u32; f.len()];
        let mut next = c.first_code;
        for (sym, &l) in c.lens().iter().enumerate() {
            codes[sym] = next[l as usize];
            next[l as usize] += 1;
        }
        let mut bitsv: Vec<u8> = Vec::new();
        for (sym, &l) in c.lens().iter().enumerate() {
            for k in (0..l).rev() {
                bitsv.push(((codes[sym] >> k) & 1) as u8);
            }
        }
        while bitsv.len() % 16 != 0 {
            bitsv.push(0);
        }
        let words: Vec<u16> = bitsv
            .chunks(16)
            .map(|c| c.iter().fold(0u16, |a, &b| (a << 1) | u16::from(b)))
            .collect();
        let mut data = Vec::new();
        for w in words.iter().rev() {
            data.extend_from_slice(&w.to_le_bytes());
        }
        let mut bits = crate::bits::BackBits::new(&data);
        let mut c = c;
        let mut s = Scratch::new(f.len());
        for sym in 0..f.len() {
            bits.refill();
            assert_eq!(c.decode(&mut bits, &mut s).unwrap(), sym);
        }
    }
}
