//! The LZX bit reader: 16-bit little-endian words taken MSB-first (wim-and-codecs.md §3.2).
//!
//! Bits are buffered 16 at a time into a left-aligned `u64`. Past the end of the input the
//! reader supplies zero bits, as wimlib does, but counts them: [`BitReader::overrun`] tells the
//! decoder whether it consumed bits the input never had, which turns a truncated chunk into an
//! error instead of silently zero-filled output. (Refills may load zero words ahead of need
//! without that counting as overrun.)
//!
//! XPRESS does not use this reader: its long-match length bytes sit at the byte position
//! just after the last word of [MS-XCA]'s 32-bit window, which a deeper buffer would have
//! already consumed, so `xpress` keeps that exact window model instead.

#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Byte offset of the next word to load; may run past `data.len()` (virtual zero words).
    pos: usize,
    /// Valid bits, left-aligned: bit 63 is the next bit of the stream.
    buf: u64,
    nbits: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            buf: 0,
            nbits: 0,
        }
    }

    /// Top up to at least 48 valid bits.
    #[inline(always)]
    pub(crate) fn refill(&mut self) {
        if let Some(b) = self.data.get(self.pos..self.pos + 6) {
            if self.nbits <= 16 {
                // Fast path: three words at once.
                let w0 = u64::from(u16::from_le_bytes([b[0], b[1]]));
                let w1 = u64::from(u16::from_le_bytes([b[2], b[3]]));
                let w2 = u64::from(u16::from_le_bytes([b[4], b[5]]));
                self.buf |= ((w0 << 32) | (w1 << 16) | w2) << (16 - self.nbits);
                self.nbits += 48;
                self.pos += 6;
                return;
            }
        }
        while self.nbits <= 48 {
            let w = match self.data.get(self.pos..self.pos + 2) {
                Some(b) => u16::from_le_bytes([b[0], b[1]]),
                // An odd final byte: its bits still count (low byte of a word).
                None => u16::from(self.data.get(self.pos).copied().unwrap_or(0)),
            };
            self.buf |= u64::from(w) << (48 - self.nbits);
            self.nbits += 16;
            self.pos += 2;
        }
    }

    /// Refill only if fewer than `n` bits are buffered (`n` ≤ 48).
    #[inline(always)]
    pub(crate) fn ensure(&mut self, n: u32) {
        if self.nbits < n {
            self.refill();
        }
    }

    /// Next `n` bits without consuming them; `1 ≤ n ≤ 32` and `n ≤` buffered bits.
    #[inline(always)]
    pub(crate) fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    /// Drop `n` buffered bits (`n ≤` buffered bits).
    #[inline(always)]
    pub(crate) fn consume(&mut self, n: u32) {
        self.buf = self.buf.checked_shl(n).unwrap_or(0);
        self.nbits -= n;
    }

    /// Read `n` bits, `0 ≤ n ≤ 32`, refilling as needed.
    #[inline(always)]
    pub(crate) fn read(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        self.ensure(n);
        let v = self.peek(n);
        self.consume(n);
        v
    }

    /// Bits consumed from the start of the stream.
    #[inline]
    pub(crate) fn bit_position(&self) -> usize {
        self.pos * 8 - self.nbits as usize
    }

    /// True if more bits were consumed than the input holds.
    #[inline]
    pub(crate) fn overrun(&self) -> bool {
        self.bit_position() > self.data.len() * 8
    }

    /// Leave bit mode for raw bytes (LZX uncompressed blocks, §3.5): skip to the next 16-bit
    /// boundary, skipping a whole word when already on one, and return the byte offset there.
    pub(crate) fn align_for_raw(&mut self) -> usize {
        let bit = self.bit_position();
        let pad = 16 - (bit % 16);
        (bit + pad) / 8
    }

    /// Resume bit mode at byte `offset` with an empty buffer.
    pub(crate) fn restart_at(&mut self, offset: usize) {
        self.pos = offset;
        self.buf = 0;
        self.nbits = 0;
    }

    /// The whole input (for raw byte reads in uncompressed blocks).
    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_little_endian_bits_msb_first() {
        // Words 0x1234, 0xABCD stored little-endian.
        let data = [0x34, 0x12, 0xCD, 0xAB];
        let mut r = BitReader::new(&data);
        assert_eq!(r.read(4), 0x1);
        assert_eq!(r.read(8), 0x23);
        assert_eq!(r.read(8), 0x4A);
        assert_eq!(r.read(12), 0xBCD);
        assert_eq!(r.bit_position(), 32);
        assert!(!r.overrun());
        // Past the end: zeros, counted as overrun.
        assert_eq!(r.read(3), 0);
        assert!(r.overrun());
    }

    #[test]
    fn long_reads_across_refills() {
        let data: Vec<u8> = (0..40u8).collect();
        let mut r = BitReader::new(&data);
        let mut expect = BitReader::new(&data);
        let mut total = 0;
        for n in [17u32, 1, 32, 5, 16, 0, 3, 31, 9] {
            let v = r.read(n);
            // Reassemble the same bits one at a time.
            let mut w = 0u32;
            for _ in 0..n {
                w = (w << 1) | expect.read(1);
            }
            assert_eq!(v, w, "read({n})");
            total += n as usize;
            assert_eq!(r.bit_position(), total);
        }
    }

    #[test]
    fn odd_length_input_keeps_last_byte() {
        let data = [0x00, 0x00, 0xFF];
        let mut r = BitReader::new(&data);
        assert_eq!(r.read(16), 0);
        // Final lone byte is the low byte of a word: 0x00FF.
        assert_eq!(r.read(16), 0x00FF);
    }

    #[test]
    fn align_for_raw_always_skips() {
        let data = [0u8; 8];
        let mut r = BitReader::new(&data);
        r.read(4);
        assert_eq!(r.align_for_raw(), 2);
        r.read(12);
        // On a boundary: a whole word is skipped.
        assert_eq!(r.align_for_raw(), 4);
    }
}
