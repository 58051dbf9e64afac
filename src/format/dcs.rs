//! `DCS\x01` component-store payloads: the file in blocks of raw LZMS.
//!
//! Layout (wim-and-codecs.md §5, from the public SXSEXP `DCS_HEADER`/`DCS_BLOCK` description):
//!
//! | offset | size | field |
//! |---|---|---|
//! | +0x00 | 4 | magic `DCS\x01` |
//! | +0x04 | u32 LE | number of blocks (at least 1) |
//! | +0x08 | u32 LE | uncompressed file size (at least 1) |
//! | +0x0C | | the first block |
//!
//! Each block: `Size` (u32 LE, counts the next field and the data), the block's decompressed
//! size (u32 LE), then `Size - 4` bytes of raw LZMS; the next block starts at
//! `block start + 4 + Size`. Blocks decode independently (fresh LZMS state each) and their
//! outputs, concatenated, must be exactly the declared size.
//!
//! We reject: a bad magic, zero blocks or size, a block that leaves the file, a block
//! larger than LZMS allows, output beyond the declared size, a total that falls short, more
//! blocks than the header says, and trailing bytes. Not confirmed on a real DCS file (none has
//! been available): Windows' block size, and whether a block may be stored verbatim; when
//! LZMS fails on a block whose two sizes are equal, we take it as stored and say so.

/// Why a DCS file did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcsError {
    /// Not `DCS\x01`.
    #[error("not a DCS file")]
    Magic,
    /// A field is impossible.
    #[error("corrupt DCS header or block table: {0}")]
    Corrupt(String),
    /// A block did not decode.
    #[error("DCS block {block} does not decode as LZMS: {reason}")]
    Block {
        /// Block index.
        block: u32,
        /// The decoder's message.
        reason: String,
    },
}

/// A DCS file's blocks must each fit one LZMS block (64 MiB, §4.10).
pub const MAX_BLOCK: usize = sxs_lzms::MAX_OUTPUT;

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at.checked_add(4)?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decode a whole DCS file (magic included). The declared size bounds the output, and is
/// itself capped at `max_out`.
pub fn decode(data: &[u8], max_out: usize) -> Result<Vec<u8>, DcsError> {
    if !data.starts_with(b"DCS\x01") {
        return Err(DcsError::Magic);
    }
    let corrupt = |s: &str| DcsError::Corrupt(s.to_string());
    let blocks = u32_at(data, 4).ok_or_else(|| corrupt("truncated header"))?;
    let size = u32_at(data, 8).ok_or_else(|| corrupt("truncated header"))? as usize;
    if blocks == 0 || size == 0 {
        return Err(corrupt("zero blocks or zero size"));
    }
    if size > max_out {
        return Err(DcsError::Corrupt(format!(
            "declared size {size} is over the {max_out}-byte limit"
        )));
    }
    // The declared size is capped above, and each block is checked against what remains.
    let mut out = vec![0u8; size];
    let mut filled = 0usize;
    let mut at = 12usize;
    let mut decoder = sxs_lzms::Decompressor::new();
    for block in 0..blocks {
        let bsize =
            u32_at(data, at).ok_or_else(|| corrupt("a block header leaves the file"))? as usize;
        let dsize =
            u32_at(data, at + 4).ok_or_else(|| corrupt("a block header leaves the file"))? as usize;
        if bsize < 4 {
            return Err(corrupt("a block is smaller than its own header"));
        }
        let end = at
            .checked_add(4 + bsize)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| corrupt("a block leaves the file"))?;
        let lz = &data[at + 8..end];
        if dsize == 0 || dsize > MAX_BLOCK || dsize > size - filled {
            return Err(DcsError::Corrupt(format!(
                "block {block} declares {dsize} bytes, {} remain",
                size - filled
            )));
        }
        let dest = &mut out[filled..filled + dsize];
        if let Err(e) = decoder.decompress_into(lz, dest) {
            if lz.len() == dsize {
                dest.copy_from_slice(lz);
            } else {
                return Err(DcsError::Block {
                    block,
                    reason: e.to_string(),
                });
            }
        }
        filled += dsize;
        at = end;
    }
    if filled != size {
        return Err(DcsError::Corrupt(format!(
            "blocks give {filled} bytes, the header declares {size}"
        )));
    }
    if at != data.len() {
        return Err(DcsError::Corrupt(format!(
            "{} bytes after the last block",
            data.len() - at
        )));
    }
    Ok(out)
}

/// Assemble a DCS file from LZMS blocks and their decompressed sizes (tests and the builder).
pub fn assemble(blocks: &[(&[u8], u32)]) -> Vec<u8> {
    let total: u32 = blocks.iter().map(|b| b.1).sum();
    let mut out = b"DCS\x01".to_vec();
    out.extend((blocks.len() as u32).to_le_bytes());
    out.extend(total.to_le_bytes());
    for (lz, size) in blocks {
        out.extend((lz.len() as u32 + 4).to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend_from_slice(lz);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert_eq!(decode(b"DCN\x01", 100), Err(DcsError::Magic));
        assert!(matches!(
            decode(b"DCS\x01\x01\x00", 100),
            Err(DcsError::Corrupt(_))
        ));
        assert!(matches!(
            decode(&assemble(&[]), 100),
            Err(DcsError::Corrupt(_))
        ));
        let big = assemble(&[(&[0u8; 8], 1000)]);
        assert!(matches!(decode(&big, 100), Err(DcsError::Corrupt(m)) if m.contains("limit")));
    }

    #[test]
    fn stored_block_fallback_and_trailing_bytes() {
        // An "LZMS" block as long as its output that LZMS cannot decode is taken as stored.
        let data = b"\xff\xff\xff\xff\xff\xff\xff\xff";
        let dcs = assemble(&[(data, 8)]);
        if let Ok(out) = decode(&dcs, 100) {
            assert_eq!(out.len(), 8);
        }
        let mut trailing = dcs.clone();
        trailing.push(0);
        assert!(decode(&trailing, 100).is_err());
    }

    #[test]
    fn every_prefix_is_an_error() {
        let dcs = assemble(&[(&[0u8; 12], 30), (&[0u8; 12], 30)]);
        for n in 0..dcs.len() {
            assert!(decode(&dcs[..n], 1000).is_err(), "prefix {n}");
        }
    }
}
