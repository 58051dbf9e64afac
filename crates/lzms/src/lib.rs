//! Clean-room LZMS decompressor, for solid and non-solid WIM/ESD chunks and the blocks of
//! `DCS\x01` component-store payloads.
//!
//! Written from the project's description, `wim-and-codecs.md` §4 (there is no Microsoft
//! specification of LZMS), and checked against genuine Microsoft buffers and against
//! wimlib-imagex output. No crate on crates.io decodes LZMS, hence this one.
//!
//! # Format summary
//!
//! One LZMS *block* (a WIM chunk, a DCS block, a Compression-API "raw" buffer) is decoded on
//! its own, with fresh state, to an uncompressed size `N` the caller must know: `N` sizes the
//! offset codes and ends decoding. The compressed length must be even and at least 4.
//!
//! - A **range decoder** reads 16-bit LE words forward from the start. Its bits are decided by
//!   adaptive probabilities (64-bit histories) chosen per decision class by the last few bits
//!   of that class: main (literal / match), match (LZ / delta), lz (explicit / repeat),
//!   two lz_rep levels, delta, two delta_rep levels.
//! - A **backward bitstream** reads 16-bit LE words from the end toward the start, MSB-first:
//!   codewords of five adaptive Huffman codes (literal 256 symbols, LZ offset slot, length slot
//!   54, delta offset slot, delta power 8), rebuilt from symbol counts every 512 or 1,024
//!   symbols, and the verbatim extra bits of length and offset slots.
//! - Items: literal; LZ match (offset explicit or one of three repeat offsets, then length);
//!   delta match (power and raw offset, or a repeat pair, then length), where
//!   `out[j] = out[j − off] + out[j − span] − out[j − off − span]` with `span = 2^power`,
//!   `off = raw << power`. Repeat queues hold four values and take a new value one item late.
//! - Afterwards an **x86 filter** undoes the encoder's CALL / RIP-relative translation on blocks
//!   of more than 17 bytes.
//!
//! Neither stream carries a checksum or an end marker, and both read as zeros once exhausted,
//! so damaged input may decode to wrong bytes; callers verify digests (WIM SHA-1, manifest
//! SHA-256).
//!
//! # What is rejected
//!
//! - an input length that is odd or below 4 ([`Error::InputLength`]);
//! - a match whose offset reaches before the start of the block or whose length runs past its
//!   end ([`Error::BadOffset`], [`Error::BadLength`]);
//! - an output larger than [`MAX_BLOCK_SIZE`] (and [`MAX_OUTPUT`] where we allocate it);
//! - an offset symbol decoded in a block under 2 bytes (its offset codes are empty).
//!
//! Stored chunks (a WIM or container chunk whose compressed size equals its uncompressed
//! size) are not LZMS; the container reader (and the WIM reader) copy them instead of calling
//! this decoder. The Compression-API container around the public Microsoft samples is in
//! [`container`].
//!
//! # Performance
//!
//! Tables are rebuilt in place (counting sort, two-queue merge, one 1,024-entry lookup table
//! per code); nothing is allocated per block or per symbol when a [`Decompressor`] is reused.
//! Roughly 80 MB/s of output (CPU time) on mixed text / x86 / binary wimlib chunks on the
//! development machine, about what wimlib-imagex itself takes to extract the same WIM.
//!
//! # Use
//!
//! ```
//! // Four zero bytes: the range decoder says "literal" every time, and the backward stream's
//! // zero bits select codeword 0 of the flat initial literal code, i.e. byte 0x00.
//! let out = sxs_lzms::decompress(&[0, 0, 0, 0], 5)?;
//! assert_eq!(out, [0u8; 5]);
//! # Ok::<(), sxs_lzms::Error>(())
//! ```
//!
//! For many blocks, keep one [`Decompressor`] and call [`Decompressor::decompress_into`]; the
//! free functions use a per-thread one.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bits;
pub mod container;
mod huffman;
mod tables;
mod x86;

use std::cell::RefCell;

use bits::{BackBits, Prob, RangeDecoder};
use huffman::{AdaptiveCode, Scratch};
use tables::{
    num_offset_slots, LENGTH_BASE, LENGTH_EXTRA, MAX_OFFSET_SLOTS, NUM_LENGTH_SLOTS, OFFSET_BASE,
    OFFSET_EXTRA,
};
use x86::X86Filter;

/// Largest block [`decompress_into`] accepts: 1 GiB, the format's limit as wimlib implements it
/// (wim-and-codecs.md §4.10). The caller owns the buffer, so this is not an allocation cap.
pub const MAX_BLOCK_SIZE: usize = 1 << 30;

/// Largest output [`decompress`] (and the container reader, per chunk) allocates: 64 MiB.
/// Microsoft's software neither writes nor accepts LZMS chunks above 64 MiB (§4.10), and solid
/// ESD chunks are exactly that; DCS blocks are smaller. Larger wimlib-made chunks can still be
/// decoded with [`decompress_into`] into a caller-provided buffer.
pub const MAX_OUTPUT: usize = 64 << 20;

/// Why a buffer could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The compressed length is odd or below 4 bytes.
    #[error("LZMS input of {0} bytes: the length must be even and at least 4")]
    InputLength(usize),
    /// The data decodes to something impossible.
    #[error("corrupt LZMS data: {0}")]
    Corrupt(&'static str),
    /// A match offset reaches before the first byte of the block.
    #[error("match offset {offset} at output position {position} reaches before the block start")]
    BadOffset {
        /// The offset (for delta matches, offset plus span).
        offset: u64,
        /// Bytes produced so far.
        position: usize,
    },
    /// A match runs past the declared uncompressed size.
    #[error(
        "match of {length} bytes at output position {position} runs past the block end ({size})"
    )]
    BadLength {
        /// The decoded match length.
        length: u32,
        /// Bytes produced so far.
        position: usize,
        /// The uncompressed size of the block.
        size: usize,
    },
    /// A size is above one of this crate's caps.
    #[error("{what} of {value} bytes exceeds the limit of {limit}")]
    LimitExceeded {
        /// What was too large.
        what: &'static str,
        /// The size found.
        value: u64,
        /// The cap.
        limit: u64,
    },
    /// A container ends before a field or chunk it declares.
    #[error("truncated container: {0}")]
    Truncated(&'static str),
    /// A container header field holds a value we do not support.
    #[error("container header {field} is {value}, which is not supported")]
    BadHeader {
        /// Name of the field.
        field: &'static str,
        /// Value found.
        value: u64,
    },
}

/// Reusable decoder state: the five adaptive codes with their tables, and the x86 filter's
/// 256 KiB table. Reusing one avoids an allocation per block.
pub struct Decompressor {
    literal: AdaptiveCode,
    lz_offset: AdaptiveCode,
    length: AdaptiveCode,
    delta_offset: AdaptiveCode,
    delta_power: AdaptiveCode,
    scratch: Scratch,
    x86: X86Filter,
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor").finish_non_exhaustive()
    }
}

/// Number of entries of each decision class (2^state bits, §4.4).
const MAIN_STATES: usize = 16;
const MATCH_STATES: usize = 32;
const LZ_STATES: usize = 64;
const DELTA_STATES: usize = 64;
/// Symbols of the literal and delta power codes.
const NUM_LITERALS: usize = 256;
const NUM_DELTA_POWERS: usize = 8;

/// One class of adaptive binary decisions.
struct Decision<const N: usize> {
    probs: [Prob; N],
    state: usize,
}

impl<const N: usize> Decision<N> {
    fn new() -> Self {
        Decision {
            probs: [Prob::INIT; N],
            state: 0,
        }
    }

    #[inline(always)]
    fn decode(&mut self, rd: &mut RangeDecoder<'_>) -> u32 {
        // N is a power of two; masking here (not only on update) lets the compiler drop the
        // bounds check.
        let bit = rd.bit(&mut self.probs[self.state & (N - 1)]);
        self.state = ((self.state << 1) | bit as usize) & (N - 1);
        bit
    }
}

impl Decompressor {
    /// A decompressor with its tables allocated (about 300 KiB).
    pub fn new() -> Self {
        Decompressor {
            literal: AdaptiveCode::new(NUM_LITERALS, 1024),
            lz_offset: AdaptiveCode::new(MAX_OFFSET_SLOTS, 1024),
            length: AdaptiveCode::new(NUM_LENGTH_SLOTS, 512),
            delta_offset: AdaptiveCode::new(MAX_OFFSET_SLOTS, 1024),
            delta_power: AdaptiveCode::new(NUM_DELTA_POWERS, 512),
            scratch: Scratch::new(MAX_OFFSET_SLOTS),
            x86: X86Filter::new(),
        }
    }

    /// Decompresses one raw LZMS block into `out`, whose length is the exact uncompressed size
    /// (at most [`MAX_BLOCK_SIZE`]). On error `out` holds partial data.
    pub fn decompress_into(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        if out.len() > MAX_BLOCK_SIZE {
            return Err(Error::LimitExceeded {
                what: "LZMS block",
                value: out.len() as u64,
                limit: MAX_BLOCK_SIZE as u64,
            });
        }
        if input.len() < 4 || input.len() % 2 != 0 {
            return Err(Error::InputLength(input.len()));
        }
        if out.is_empty() {
            return Ok(());
        }
        self.decode_items(input, out)?;
        self.x86.apply(out);
        Ok(())
    }

    fn decode_items(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let size = out.len();
        let slots = num_offset_slots(size);
        let s = &mut self.scratch;
        self.literal.reset(NUM_LITERALS, s)?;
        self.lz_offset.reset(slots, s)?;
        self.length.reset(NUM_LENGTH_SLOTS, s)?;
        self.delta_offset.reset(slots, s)?;
        self.delta_power.reset(NUM_DELTA_POWERS, s)?;

        let mut rd = RangeDecoder::new(input);
        let mut bits = BackBits::new(input);
        let mut main = Decision::<MAIN_STATES>::new();
        let mut is_delta = Decision::<MATCH_STATES>::new();
        let mut lz_rep = Decision::<LZ_STATES>::new();
        let mut lz_rep0 = Decision::<LZ_STATES>::new();
        let mut lz_rep1 = Decision::<LZ_STATES>::new();
        let mut delta_rep = Decision::<DELTA_STATES>::new();
        let mut delta_rep0 = Decision::<DELTA_STATES>::new();
        let mut delta_rep1 = Decision::<DELTA_STATES>::new();

        // Repeat queues (§4.8), with the pending value kept physically at the front: when
        // `*_pending`, slot 0 is the value of the previous item and slots 1..5 the queue;
        // otherwise slots 0..4 are the queue. Taking repeat index k then reads slot
        // k + pending and moves it to the front; an explicit value shifts everything back.
        let mut lz_q: [u32; 5] = [1, 2, 3, 4, 0];
        let mut lz_pending = false;
        // Delta pairs packed as (raw offset << 3) | power.
        let mut delta_q: [u64; 5] = [1 << 3, 2 << 3, 3 << 3, 4 << 3, 0];
        let mut delta_pending = false;

        let mut pos = 0usize;
        while pos < size {
            if main.decode(&mut rd) == 0 {
                bits.refill();
                let lit = self.literal.decode(&mut bits, &mut self.scratch)?;
                if let Some(b) = out.get_mut(pos) {
                    *b = lit as u8;
                }
                pos += 1;
                lz_pending = false;
                delta_pending = false;
                continue;
            }

            if is_delta.decode(&mut rd) == 0 {
                // LZ match.
                let offset = if lz_rep.decode(&mut rd) == 0 {
                    bits.refill();
                    let slot = self.lz_offset.decode(&mut bits, &mut self.scratch)?;
                    let off = read_slot(&mut bits, slot, &OFFSET_BASE, &OFFSET_EXTRA)?;
                    lz_q.copy_within(0..4, 1);
                    lz_q[0] = off;
                    off
                } else {
                    let k = if lz_rep0.decode(&mut rd) == 0 {
                        0
                    } else {
                        1 + lz_rep1.decode(&mut rd) as usize
                    };
                    let idx = k + usize::from(lz_pending);
                    let off = lz_q[idx];
                    lz_q[..=idx].rotate_right(1);
                    off
                };
                lz_pending = true;
                delta_pending = false;

                bits.refill();
                let len_slot = self.length.decode(&mut bits, &mut self.scratch)?;
                let length = read_slot(&mut bits, len_slot, &LENGTH_BASE, &LENGTH_EXTRA)?;
                let (offset, len) = (offset as usize, length as usize);
                if offset > pos {
                    return Err(Error::BadOffset {
                        offset: offset as u64,
                        position: pos,
                    });
                }
                if len > size - pos {
                    return Err(Error::BadLength {
                        length,
                        position: pos,
                        size,
                    });
                }
                copy_match(out, pos, offset, len);
                pos += len;
            } else {
                // Delta match.
                let pair = if delta_rep.decode(&mut rd) == 0 {
                    bits.refill();
                    let power = self.delta_power.decode(&mut bits, &mut self.scratch)?;
                    bits.refill();
                    let slot = self.delta_offset.decode(&mut bits, &mut self.scratch)?;
                    let raw = read_slot(&mut bits, slot, &OFFSET_BASE, &OFFSET_EXTRA)?;
                    let pair = (u64::from(raw) << 3) | power as u64;
                    delta_q.copy_within(0..4, 1);
                    delta_q[0] = pair;
                    pair
                } else {
                    let k = if delta_rep0.decode(&mut rd) == 0 {
                        0
                    } else {
                        1 + delta_rep1.decode(&mut rd) as usize
                    };
                    let idx = k + usize::from(delta_pending);
                    let pair = delta_q[idx];
                    delta_q[..=idx].rotate_right(1);
                    pair
                };
                delta_pending = true;
                lz_pending = false;

                bits.refill();
                let len_slot = self.length.decode(&mut bits, &mut self.scratch)?;
                let length = read_slot(&mut bits, len_slot, &LENGTH_BASE, &LENGTH_EXTRA)?;
                let power = (pair & 7) as u32;
                let span = 1u64 << power;
                let offset = (pair >> 3) << power;
                let reach = offset + span;
                if reach > pos as u64 {
                    return Err(Error::BadOffset {
                        offset: reach,
                        position: pos,
                    });
                }
                let len = length as usize;
                if len > size - pos {
                    return Err(Error::BadLength {
                        length,
                        position: pos,
                        size,
                    });
                }
                delta_match(out, pos, offset as usize, span as usize, len);
                pos += len;
            }
        }
        Ok(())
    }
}

/// `base[slot]` plus `extra[slot]` verbatim bits.
#[inline(always)]
fn read_slot(
    bits: &mut BackBits<'_>,
    slot: usize,
    base: &[u32],
    extra: &[u8],
) -> Result<u32, Error> {
    match (base.get(slot), extra.get(slot)) {
        (Some(&b), Some(&e)) => Ok(b + bits.bits(u32::from(e))),
        _ => Err(Error::Corrupt("slot symbol out of range")),
    }
}

/// LZ copy of `len` bytes from `offset` back; the caller checked `offset <= pos` and
/// `len <= out.len() - pos`, and `offset >= 1` holds for every decodable offset.
#[inline(always)]
fn copy_match(out: &mut [u8], pos: usize, offset: usize, len: usize) {
    let src = pos - offset;
    if offset >= 16 {
        // Short matches (most of them): whole 16-byte moves. Each reads only bytes that are
        // final (offset >= 16), and the overshoot past `len` is rewritten by later items.
        if len <= 64 && pos + ((len + 15) & !15) <= out.len() {
            let mut k = 0;
            while k < len {
                let mut chunk = [0u8; 16];
                chunk.copy_from_slice(&out[src + k..src + k + 16]);
                out[pos + k..pos + k + 16].copy_from_slice(&chunk);
                k += 16;
            }
            return;
        }
        if len <= offset {
            out.copy_within(src..src + len, pos);
            return;
        }
    } else if offset == 1 {
        let b = out[src];
        out[pos..pos + len].fill(b);
        return;
    } else if len <= 16 {
        for i in 0..len {
            out[pos + i] = out[src + i];
        }
        return;
    }
    // Overlapping: the bytes from `src` repeat with period `offset`, so copy from `src` in
    // doubling runs, each entirely before its destination.
    let mut done = 0;
    while done < len {
        let n = (offset + done).min(len - done);
        out.copy_within(src..src + n, pos + done);
        done += n;
    }
}

/// Delta copy (§4.7); the caller checked `offset + span <= pos` and the length.
#[inline(always)]
fn delta_match(out: &mut [u8], pos: usize, offset: usize, span: usize, len: usize) {
    for j in pos..pos + len {
        out[j] = out[j - offset]
            .wrapping_add(out[j - span])
            .wrapping_sub(out[j - offset - span]);
    }
}

thread_local! {
    static THREAD_DECOMPRESSOR: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
}

/// Decompress one raw LZMS buffer (a WIM chunk or a DCS block) into `out`, whose length is the
/// exact uncompressed size. Uses a per-thread [`Decompressor`].
pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<(), Error> {
    THREAD_DECOMPRESSOR.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => slot
            .get_or_insert_with(Decompressor::new)
            .decompress_into(input, out),
        // Only reachable by re-entrance, which this crate never does; stay correct anyway.
        Err(_) => Decompressor::new().decompress_into(input, out),
    })
}

/// Decompress one raw LZMS buffer to `out_len` bytes (at most [`MAX_OUTPUT`]).
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, Error> {
    if out_len > MAX_OUTPUT {
        return Err(Error::LimitExceeded {
            what: "LZMS output",
            value: out_len as u64,
            limit: MAX_OUTPUT as u64,
        });
    }
    let mut out = vec![0; out_len];
    decompress_into(input, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }

    #[test]
    fn overlapping_copies_repeat_the_period() {
        for offset in 1..9 {
            for len in 1..40 {
                let mut buf: Vec<u8> = (0..offset as u8).map(|b| b + 1).collect();
                buf.resize(offset + len, 0);
                copy_match(&mut buf, offset, offset, len);
                for (i, &b) in buf.iter().enumerate() {
                    assert_eq!(
                        b,
                        (i % offset) as u8 + 1,
                        "offset {offset} len {len} at {i}"
                    );
                }
            }
        }
        // Offsets of 16 and more, with and without room for the 16-byte overshoot.
        for offset in [16, 17, 31, 64, 100] {
            for len in [1, 15, 16, 17, 33, 64, 65, 200] {
                for slack in [0, 40] {
                    let mut buf: Vec<u8> = (0..offset).map(|b| (b * 7 + 1) as u8).collect();
                    buf.resize(offset + len + slack, 0xEE);
                    copy_match(&mut buf, offset, offset, len);
                    for (i, &b) in buf[..offset + len].iter().enumerate() {
                        let want = ((i % offset) * 7 + 1) as u8;
                        assert_eq!(b, want, "offset {offset} len {len} at {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn odd_or_short_inputs_are_rejected() {
        for len in [0, 1, 2, 3, 5, 7] {
            let r = decompress(&vec![0; len], 10);
            assert!(
                matches!(r, Err(Error::InputLength(l)) if l == len),
                "{len}: {r:?}"
            );
        }
    }

    #[test]
    fn empty_output_is_empty() {
        assert_eq!(decompress(&[1, 2, 3, 4], 0).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn oversized_outputs_are_refused_before_allocating() {
        let r = decompress(&[0; 4], MAX_OUTPUT + 1);
        assert!(matches!(r, Err(Error::LimitExceeded { .. })), "{r:?}");
    }
}
