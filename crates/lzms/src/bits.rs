//! The two bitstreams that share one LZMS buffer (wim-and-codecs.md §4.2-§4.4): the forward
//! stream feeding the range decoder and the backward stream carrying Huffman codewords and
//! verbatim bits. Both supply zeros once exhausted, as the format requires (nothing marks where
//! they meet), so neither can fail; garbage input only yields garbage symbols, which the item
//! decoder bounds-checks.

/// One adaptive probability entry (§4.4): the last 64 bits decoded with it and how many of
/// them were zeros.
#[derive(Clone, Copy)]
pub(crate) struct Prob {
    history: u64,
    zeros: u32,
}

impl Prob {
    /// Initial entry: history `0x0000000055555555`, 48 zeros among its 64 bits.
    pub(crate) const INIT: Prob = Prob {
        history: 0x0000_0000_5555_5555,
        zeros: 48,
    };
}

/// The range decoder over the forward stream of 16-bit little-endian words.
pub(crate) struct RangeDecoder<'a> {
    data: &'a [u8],
    next: usize,
    range: u32,
    code: u32,
}

impl<'a> RangeDecoder<'a> {
    /// Starts with `code` = the first two words (callers guarantee `data.len() >= 4`).
    pub(crate) fn new(data: &'a [u8]) -> Self {
        let mut d = RangeDecoder {
            data,
            next: 0,
            range: u32::MAX,
            code: 0,
        };
        let hi = u32::from(d.next_word());
        let lo = u32::from(d.next_word());
        d.code = (hi << 16) | lo;
        d
    }

    #[inline(always)]
    fn next_word(&mut self) -> u16 {
        match self.data.get(self.next..self.next + 2) {
            Some(&[a, b]) => {
                self.next += 2;
                u16::from_le_bytes([a, b])
            }
            _ => 0,
        }
    }

    /// Decodes one bit with `prob`, then adapts `prob`.
    #[inline(always)]
    pub(crate) fn bit(&mut self, prob: &mut Prob) -> u32 {
        // Normalize before computing the bound (§4.12 item 4); `range` is never 0 here because
        // `bound < range` always holds, so one 16-bit step restores `range >= 0x10000`.
        if self.range < 0x1_0000 {
            self.range <<= 16;
            self.code = (self.code << 16) | u32::from(self.next_word());
        }
        let p = prob.zeros.clamp(1, 63);
        let bound = (self.range >> 6) * p;
        let bit = if self.code < bound {
            self.range = bound;
            0
        } else {
            self.range -= bound;
            self.code -= bound;
            1
        };
        let oldest = (prob.history >> 63) as u32;
        prob.zeros = (prob.zeros + oldest).wrapping_sub(bit);
        prob.history = (prob.history << 1) | u64::from(bit);
        bit
    }
}

/// The backward stream: 16-bit LE words from the last toward the first, each read MSB-first.
/// Bits sit left-aligned in `buf`; after [`BackBits::refill`] at least 49 are available, enough
/// for a 24-bit codeword peek or a 30-bit verbatim field.
pub(crate) struct BackBits<'a> {
    data: &'a [u8],
    /// End (exclusive) of the next word to read.
    end: usize,
    buf: u64,
    avail: u32,
}

impl<'a> BackBits<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BackBits {
            data,
            end: data.len() & !1,
            buf: 0,
            avail: 0,
        }
    }

    /// Tops the buffer up to more than 48 bits, with zeros past the start of the input.
    #[inline(always)]
    pub(crate) fn refill(&mut self) {
        if self.avail > 48 {
            return;
        }
        // Fast path: three words at once while the input lasts.
        if self.avail <= 16 && self.end >= 6 {
            if let Some(&[a, b, c, d, e, f]) = self.data.get(self.end - 6..self.end) {
                self.end -= 6;
                let w = (u64::from(u16::from_le_bytes([e, f])) << 32)
                    | (u64::from(u16::from_le_bytes([c, d])) << 16)
                    | u64::from(u16::from_le_bytes([a, b]));
                self.buf |= w << (16 - self.avail);
                self.avail += 48;
                return;
            }
        }
        while self.avail <= 48 {
            let w = match self
                .end
                .checked_sub(2)
                .and_then(|s| self.data.get(s..s + 2))
            {
                Some(&[a, b]) => {
                    self.end -= 2;
                    u16::from_le_bytes([a, b])
                }
                _ => 0,
            };
            self.buf |= u64::from(w) << (48 - self.avail);
            self.avail += 16;
        }
    }

    /// The next `n` bits (1..=32) without consuming them; needs a prior refill.
    #[inline(always)]
    pub(crate) fn peek(&self, n: u32) -> u32 {
        debug_assert!((1..=32).contains(&n) && n <= self.avail);
        (self.buf >> (64 - n)) as u32
    }

    /// Drops `n` bits (0..=avail).
    #[inline(always)]
    pub(crate) fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.avail);
        self.buf <<= n;
        self.avail -= n;
    }

    /// Reads `n` verbatim bits (0..=30), refilling first.
    #[inline(always)]
    pub(crate) fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        self.refill();
        let v = self.peek(n);
        self.consume(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_words_are_read_last_first_msb_first() {
        // Words (LE): 0x1234, 0xABCD. The backward stream starts with 0xABCD.
        let data = [0x34, 0x12, 0xCD, 0xAB];
        let mut b = BackBits::new(&data);
        assert_eq!(b.bits(4), 0xA);
        assert_eq!(b.bits(12), 0xBCD);
        assert_eq!(b.bits(16), 0x1234);
        assert_eq!(b.bits(30), 0, "zeros once exhausted");
    }

    #[test]
    fn backward_fast_and_slow_refill_agree() {
        let data: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) ^ 0x5A).collect();
        let mut fast = BackBits::new(&data);
        let mut slow_bits = Vec::new();
        for w in data.chunks(2).rev() {
            let w = u16::from_le_bytes([w[0], w[1]]);
            for k in (0..16).rev() {
                slow_bits.push((w >> k) & 1);
            }
        }
        for (i, &expect) in slow_bits.iter().enumerate() {
            assert_eq!(fast.bits(1), u32::from(expect), "bit {i}");
        }
    }

    #[test]
    fn range_decoder_adapts_probability() {
        let data = [0u8; 8];
        let mut r = RangeDecoder::new(&data);
        let mut p = Prob::INIT;
        // code = 0 is always below the bound: every bit is 0, and zeros grows to 63+.
        for _ in 0..200 {
            assert_eq!(r.bit(&mut p), 0);
        }
        assert_eq!(p.zeros, 64);
        assert_eq!(p.history, 0);
    }
}
