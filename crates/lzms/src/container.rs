//! The Windows Compression-API container around LZMS (wim-and-codecs.md §4.11).
//!
//! `Compress()` without `COMPRESS_RAW` wraps the codec's output in this container. WIM and DCS
//! never use it, but the only public genuine Microsoft LZMS samples come in it, so tests and
//! tools that read them need it.
//!
//! Layout (all little-endian):
//!
//! | Off | Size | Field |
//! |---|---|---|
//! | 0 | u32 | magic `0A 51 E5 C0` (0xC0E5510A) |
//! | 4 | u16 | header size: 24 |
//! | 6 | u8 | CRC byte (algorithm unknown; not checked) |
//! | 7 | u8 | algorithm: 5 = LZMS |
//! | 8 | u64 | total uncompressed size |
//! | 16 | u32 | chunk size (uncompressed bytes per chunk, at most 64 MiB) |
//! | 20 | u32 | flags (0 in every sample; not interpreted) |
//! | 24 | | records: `u32 compressed size`, then that many bytes |
//!
//! Every chunk decodes to `min(chunk size, bytes left)`. A chunk whose compressed size equals
//! that is stored verbatim; any other is one raw LZMS block.
//!
//! Rejected: bad magic, a header size other than 24, an algorithm other than LZMS, a chunk size
//! of 0 or above 64 MiB, a total above the caller's cap, a record or chunk running past the
//! end, and bytes left over after the last chunk.

use crate::{Decompressor, Error};

/// The container magic, as a little-endian u32.
pub const MAGIC: u32 = 0xC0E5_510A;
/// Length of the container header.
pub const HEADER_SIZE: usize = 24;
/// Algorithm byte of LZMS.
pub const ALGORITHM_LZMS: u8 = 5;
/// Largest chunk size accepted: Microsoft's LZMS limit (wim-and-codecs.md §4.10), which is
/// also what a single chunk may make us allocate.
pub const MAX_CHUNK_SIZE: usize = crate::MAX_OUTPUT;

fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    data.get(off..off + 4)?
        .try_into()
        .ok()
        .map(u32::from_le_bytes)
}

/// Decompresses a whole container whose total size is at most `max_out` bytes.
pub fn decompress_container(data: &[u8], max_out: usize) -> Result<Vec<u8>, Error> {
    let header = data
        .get(..HEADER_SIZE)
        .ok_or(Error::Truncated("container header"))?;
    let field = |off: usize, len: usize| -> u64 {
        header[off..off + len]
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    };
    let magic = field(0, 4);
    if magic != u64::from(MAGIC) {
        return Err(Error::BadHeader {
            field: "magic",
            value: magic,
        });
    }
    let header_size = field(4, 2);
    if header_size != HEADER_SIZE as u64 {
        return Err(Error::BadHeader {
            field: "header size",
            value: header_size,
        });
    }
    let algorithm = field(7, 1);
    if algorithm != u64::from(ALGORITHM_LZMS) {
        return Err(Error::BadHeader {
            field: "algorithm",
            value: algorithm,
        });
    }
    let total = field(8, 8);
    if total > max_out as u64 {
        return Err(Error::LimitExceeded {
            what: "container output",
            value: total,
            limit: max_out as u64,
        });
    }
    let total = total as usize;
    let chunk_size = field(16, 4);
    if total > 0 && (chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE as u64) {
        return Err(Error::BadHeader {
            field: "chunk size",
            value: chunk_size,
        });
    }
    let chunk_size = chunk_size as usize;

    // Reserve at most one chunk's worth up front; the rest grows only as chunks are present.
    let mut out = Vec::with_capacity(total.min(MAX_CHUNK_SIZE));
    let mut dec = None::<Decompressor>;
    let mut cursor = HEADER_SIZE;
    while out.len() < total {
        let ulen = chunk_size.min(total - out.len());
        let clen = u32_at(data, cursor).ok_or(Error::Truncated("chunk size record"))? as usize;
        cursor += 4;
        let chunk = cursor
            .checked_add(clen)
            .and_then(|end| data.get(cursor..end))
            .ok_or(Error::Truncated("chunk data"))?;
        cursor += clen;
        let start = out.len();
        if clen == ulen {
            out.extend_from_slice(chunk);
        } else {
            out.resize(start + ulen, 0);
            dec.get_or_insert_with(Decompressor::new)
                .decompress_into(chunk, &mut out[start..])?;
        }
    }
    if cursor != data.len() {
        return Err(Error::Corrupt("bytes after the last container chunk"));
    }
    Ok(out)
}
