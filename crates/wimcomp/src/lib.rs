//! Clean-room decompressors for the two older WIM chunk codecs: XPRESS Huffman ([`xpress`])
//! and the WIM form of LZX ([`lzx`]). `sxs-wim` calls them once per compressed chunk of a
//! WIM resource (wim-and-codecs.md §1.6: every chunk is an independent stream decoding to a
//! known size; chunks stored raw are handled by the container, never passed here).
//!
//! Written from the project's description (`wim-and-codecs.md` §2 and §3) and [MS-XCA], and
//! checked against wimlib-imagex's encoders as an independent oracle (tests/wimlib_oracle.rs).
//! No other decoder's source was consulted.
//!
//! LZX callers should use [`lzx::decompress_chunk_into`] with the resource's chunk size: the
//! LZX window is the chunk size, which the signature-compatible [`lzx::decompress_into`] can
//! only guess from the output size (wrong for the short last chunk of a resource with chunks
//! above 32 KiB).
//!
//! Crate decision: no existing crate fits WIM. `lzxd` decodes LZXD ([MS-PATCH]), whose stream
//! header, 24-bit block sizes and sliding window differ from WIM LZX (details in [`lzx`]);
//! the only XPRESS-Huffman crate is a new 0.1 release without reusable state (see
//! [`xpress`]). Both codecs share the canonical Huffman table builder here.
//!
//! Safety against hostile input: output sizes are capped ([`xpress::MAX_OUTPUT`],
//! [`lzx::MAX_WINDOW`]); tables have fixed bounded sizes; every loop advances the output or a
//! bounded list, so work is linear in the output size; reading past the input yields zero
//! bits for look-ahead but consuming them is reported as [`Error::Truncated`].

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bits;
mod huffman;
pub mod lzx;
pub mod xpress;

/// Why a chunk could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The requested output size is above what the codec (or this decompressor's window)
    /// allows.
    #[error("output size {len} exceeds the maximum {max}")]
    OutputTooLarge {
        /// Requested size.
        len: usize,
        /// Largest accepted size.
        max: usize,
    },
    /// An LZX chunk size that is not a power of two in 32 KiB..2 MiB.
    #[error("LZX chunk size {size} is not a power of two in 32 KiB..2 MiB")]
    BadChunkSize {
        /// The size given.
        size: usize,
    },
    /// The input ended before the chunk was complete.
    #[error("compressed data ends before the chunk is complete")]
    Truncated,
    /// Codeword lengths that do not form a valid prefix code.
    #[error("{code} Huffman code is {why}")]
    BadCode {
        /// Which code (XPRESS, main, length, aligned, pretree).
        code: &'static str,
        /// oversubscribed, incomplete or empty.
        why: &'static str,
    },
    /// A symbol was needed from a code that has no codewords.
    #[error("symbol needed from the empty {code} code")]
    NoCodeword {
        /// Which code.
        code: &'static str,
    },
    /// LZX block type other than 1, 2, 3.
    #[error("invalid LZX block type {block_type}")]
    BadBlockType {
        /// The 3-bit value read.
        block_type: u32,
    },
    /// LZX block size of 0 or beyond the chunk's remaining output.
    #[error("LZX block size {size} with {remaining} bytes left in the chunk")]
    BadBlockSize {
        /// The size read.
        size: usize,
        /// Output bytes still to produce.
        remaining: usize,
    },
    /// LZX pretree symbol 19 followed by a symbol above 16.
    #[error("LZX pretree symbol {symbol} after a run code")]
    BadPretreeSymbol {
        /// The second symbol.
        symbol: u32,
    },
    /// A repeat offset of 0 in an LZX uncompressed block.
    #[error("zero repeat offset in an LZX uncompressed block")]
    ZeroRepeatOffset,
    /// XPRESS extended length form not valid in a WIM chunk.
    #[error("invalid XPRESS match length field {len}")]
    BadMatchLength {
        /// The length field read.
        len: usize,
    },
    /// A match reaching before the start of the chunk.
    #[error("match offset {offset} at output position {pos}")]
    BadOffset {
        /// Match distance.
        offset: usize,
        /// Bytes produced so far.
        pos: usize,
    },
    /// A match longer than the rest of its block or chunk.
    #[error("match length {length} with only {remaining} bytes left")]
    MatchOverrun {
        /// Match length.
        length: usize,
        /// Bytes left in the block (LZX) or chunk (XPRESS).
        remaining: usize,
    },
}

/// LZ77 copy of `length` bytes from `offset` back, overlapping allowed (a short offset
/// repeats). Callers have checked `1 ≤ offset ≤ pos` and `pos + length ≤ out.len()`; the guard
/// only keeps this function panic-free on its own.
#[inline(always)]
pub(crate) fn copy_match(out: &mut [u8], pos: usize, offset: usize, length: usize) {
    if offset == 0 || offset > pos || length > out.len().saturating_sub(pos) {
        return;
    }
    let src = pos - offset;
    // Short matches dominate: copy a fixed 16 bytes when source and destination cannot overlap
    // and the output has room. Bytes past `length` are overwritten by later output (decoding
    // fills the chunk strictly in order), so the over-copy is harmless.
    if length <= 16 && offset >= 16 && out.len() - pos >= 16 {
        let (done, rest) = out.split_at_mut(pos);
        if let (Some(s), Some(d)) = (done.get(src..src + 16), rest.get_mut(..16)) {
            d.copy_from_slice(s);
        }
        return;
    }
    if offset >= length {
        out.copy_within(src..src + length, pos);
    } else if offset == 1 {
        let b = out[src];
        out[pos..pos + length].fill(b);
    } else if offset >= 8 {
        // Each piece of at most `offset` bytes is a non-overlapping copy.
        let mut done = 0;
        while done < length {
            let n = offset.min(length - done);
            out.copy_within(src + done..src + done + n, pos + done);
            done += n;
        }
    } else {
        for i in 0..length {
            out[pos + i] = out[src + i];
        }
    }
}

/// Allocate `out_len` bytes (refusing more than `max`, a size that may come from the input)
/// and decompress into them with `decode`: the one body of both codecs' `decompress`.
fn decompress_to_vec(
    out_len: usize,
    max: usize,
    decode: impl FnOnce(&mut [u8]) -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    if out_len > max {
        return Err(Error::OutputTooLarge { len: out_len, max });
    }
    let mut out = vec![0; out_len];
    decode(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::copy_match;

    #[test]
    fn copy_match_overlaps_repeat() {
        let mut b = *b"abc.........................";
        copy_match(&mut b, 3, 3, 10);
        assert_eq!(&b[..13], b"abcabcabcabca");
        let mut b = *b"0123456789abcdef................................";
        copy_match(&mut b, 16, 10, 25);
        assert_eq!(&b[16..41], b"6789abcdef6789abcdef6789a");
        let mut b = *b"x.....";
        copy_match(&mut b, 1, 1, 5);
        assert_eq!(&b, b"xxxxxx");
        // Short match far back: the 16-byte over-copy path; only `length` bytes matter.
        let mut b: Vec<u8> = (0..64).collect();
        copy_match(&mut b, 40, 30, 5);
        assert_eq!(&b[40..45], &[10, 11, 12, 13, 14]);
        // Near the end of the output there is no room for the over-copy.
        let mut b: Vec<u8> = (0..50).collect();
        copy_match(&mut b, 45, 20, 5);
        assert_eq!(&b[45..50], &[25, 26, 27, 28, 29]);
        let mut b = *b"xxxxxx";
        // Guarded: out of range requests do nothing.
        copy_match(&mut b, 1, 2, 5);
        copy_match(&mut b, 1, 1, 6);
        assert_eq!(&b, b"xxxxxx");
    }
}
