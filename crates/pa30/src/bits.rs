//! LSB-first bit reader and writer shared by the PA30 decoder and encoder.
//!
//! PA30 consumes bytes in increasing order and, within a byte, bit 0 first (pa30.md §2.1).
//! Raw n-bit fields take their least significant bit first (§2.3); Huffman code words are
//! stored most significant bit first inside that LSB-first stream (§2.6), so the Huffman
//! tables index by the bit-reversed code word.
//!
//! The reader never fails while reading: bits past the end of the slice read as zero, and
//! callers compare [`BitReader::pos`] with [`BitReader::end`] at points where progress is
//! bounded (once per symbol in the match loop). That keeps the hot path free of branches
//! while still never looping without consuming input.

use crate::Error;

/// Reads an LSB-first bitstream from a byte slice.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next bit to read, counted from bit 0 of `data[0]`.
    pos: usize,
    /// First bit that is not valid data (the padding count applied).
    end: usize,
}

impl<'a> BitReader<'a> {
    /// A reader over `data` whose valid bits are `0..end`.
    pub(crate) fn new(data: &'a [u8], end: usize) -> Self {
        BitReader { data, pos: 0, end }
    }

    /// Current bit position.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// End of the valid bits.
    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    /// Restricts the valid bits to `0..end` (after reading a stream's padding count).
    pub(crate) fn set_end(&mut self, end: usize) {
        self.end = end;
    }

    /// Moves to `pos` (to skip a buffer's bytes, or after a [`peek_at`](Self::peek_at) loop).
    #[inline(always)]
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Fails once the reader has consumed bits past the valid end.
    #[inline]
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.pos > self.end {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// At least 57 upcoming bits, the next bit in bit 0; zeros past the slice.
    #[inline(always)]
    pub(crate) fn peek(&self) -> u64 {
        self.peek_at(self.pos)
    }

    /// [`peek`](Self::peek) at bit position `pos`, for loops that keep the position in a
    /// local and store it back with [`set_pos`](Self::set_pos).
    #[inline(always)]
    pub(crate) fn peek_at(&self, pos: usize) -> u64 {
        self.word_at(pos >> 3) >> (pos & 7)
    }

    /// The 64 stream bits starting at byte `byte`, the first in bit 0; zeros past the slice.
    #[inline(always)]
    pub(crate) fn word_at(&self, byte: usize) -> u64 {
        match self.data.get(byte..).and_then(|s| s.first_chunk::<8>()) {
            Some(chunk) => u64::from_le_bytes(*chunk),
            None => self.peek_tail(byte),
        }
    }

    /// The last (fewer than 8) bytes, zero-extended.
    #[cold]
    #[inline(never)]
    fn peek_tail(&self, byte: usize) -> u64 {
        let mut tmp = [0u8; 8];
        if let Some(rest) = self.data.get(byte..) {
            let n = rest.len().min(8);
            tmp[..n].copy_from_slice(&rest[..n]);
        }
        u64::from_le_bytes(tmp)
    }

    /// Consumes `n` bits (after a [`peek`](Self::peek)).
    #[inline]
    pub(crate) fn consume(&mut self, n: u32) {
        self.pos = self.pos.saturating_add(n as usize);
    }

    /// Reads an `n`-bit raw field, `n <= 56`.
    #[inline]
    pub(crate) fn read(&mut self, n: u32) -> u64 {
        debug_assert!(n <= 56);
        let v = self.peek() & ((1u64 << n) - 1);
        self.consume(n);
        v
    }

    /// Reads one bit.
    #[inline]
    pub(crate) fn bit(&mut self) -> u64 {
        self.read(1)
    }

    /// Reads a PA30 integer (§2.4): a unary nibble count k (k zeros, then a one), then
    /// `4·(k+1)` value bits. k > 15 cannot be a 64-bit value and is corrupt.
    pub(crate) fn read_int(&mut self) -> Result<u64, Error> {
        let peek = self.peek();
        let k = peek.trailing_zeros();
        if k > 15 {
            // Zeros read past the valid end mean truncation, not a bad integer.
            if self.pos.saturating_add(16) > self.end {
                return Err(Error::Truncated);
            }
            return Err(Error::Corrupt("integer with more than 16 nibbles"));
        }
        self.consume(k + 1);
        let nbits = 4 * (k + 1);
        let value = if nbits <= 32 {
            self.read(nbits)
        } else {
            let lo = self.read(32);
            lo | (self.read(nbits - 32) << 32)
        };
        self.check()?;
        Ok(value)
    }

    /// Skips to the next byte boundary.
    pub(crate) fn align(&mut self) {
        self.pos = self.pos.saturating_add(7) & !7;
    }
}

/// Writes an LSB-first bitstream.
pub(crate) struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    nacc: u32,
}

impl BitWriter {
    /// An empty writer.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        BitWriter {
            out: Vec::with_capacity(cap),
            acc: 0,
            nacc: 0,
        }
    }

    /// Appends the low `n` bits of `v` (`n <= 32`), bit 0 first.
    #[inline]
    pub(crate) fn write(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 32);
        debug_assert!(n == 64 || v >> n == 0);
        self.acc |= v << self.nacc;
        self.nacc += n;
        if self.nacc >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.nacc -= 32;
        }
    }

    /// Appends up to 64 bits.
    pub(crate) fn write_wide(&mut self, v: u64, n: u32) {
        if n > 32 {
            self.write(v & 0xFFFF_FFFF, 32);
            self.write(v >> 32, n - 32);
        } else {
            self.write(v, n);
        }
    }

    /// Appends a PA30 integer with the smallest nibble count (§2.4).
    pub(crate) fn write_int(&mut self, v: u64) {
        let bits = 64 - v.leading_zeros();
        let k = bits.saturating_sub(1) / 4;
        self.write(1 << k, k + 1);
        self.write_wide(v, 4 * (k + 1));
    }

    /// Pads with zero bits to a byte boundary.
    pub(crate) fn align(&mut self) {
        let pad = (8 - self.nacc % 8) % 8;
        self.write(0, pad);
    }

    /// Appends whole bytes; the writer must be byte-aligned.
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) {
        debug_assert!(self.nacc % 8 == 0);
        while self.nacc > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.nacc -= 8;
        }
        self.out.extend_from_slice(bytes);
    }

    /// Bits written so far.
    pub(crate) fn bit_len(&self) -> usize {
        self.out.len() * 8 + self.nacc as usize
    }

    /// The bytes, the last one zero-padded.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        while self.nacc > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.nacc = self.nacc.saturating_sub(8);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits of `bytes` in stream order, as '0'/'1'.
    fn stream(bytes: &[u8], n: usize) -> String {
        (0..n)
            .map(|i| {
                if bytes[i / 8] >> (i % 8) & 1 == 1 {
                    '1'
                } else {
                    '0'
                }
            })
            .collect()
    }

    #[test]
    fn integers_use_the_examples_of_the_spec() {
        let mut w = BitWriter::with_capacity(8);
        w.write_int(1);
        w.write_int(0x20000);
        w.write_int(0);
        let bytes = w.finish();
        // 1 = `1 1000`; 0x20000 = `00001` + 20 bits; 0 = `1 0000`.
        let s = stream(&bytes, 5 + 25 + 5);
        assert_eq!(&s[..5], "11000");
        assert_eq!(&s[5..10], "00001");
        assert_eq!(&s[10..30], "00000000000000000100");
        assert_eq!(&s[30..35], "10000");
    }

    #[test]
    fn integers_round_trip_including_64_bit() {
        let values = [0, 1, 15, 16, 255, 256, 0xFFFF_FFFF, 1 << 40, u64::MAX];
        let mut w = BitWriter::with_capacity(64);
        for &v in &values {
            w.write_int(v);
            w.write(1, 1);
        }
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes, bytes.len() * 8);
        for &v in &values {
            assert_eq!(r.read_int().unwrap(), v);
            assert_eq!(r.bit(), 1);
        }
    }

    #[test]
    fn overlong_nibble_count_and_overrun_are_errors() {
        let zeros = [0u8; 4];
        let mut r = BitReader::new(&zeros, 32);
        assert!(matches!(r.read_int(), Err(Error::Corrupt(_))));
        let one = [0b1u8];
        let mut r = BitReader::new(&one, 8);
        assert!(matches!(r.read_int(), Ok(0)));
        assert!(matches!(r.read_int(), Err(Error::Truncated)));
    }
}
