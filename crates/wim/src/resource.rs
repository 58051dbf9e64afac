//! Reading resources: stored, chunked non-solid, and solid (`wim-and-codecs.md` §1.4–§1.7).
//!
//! **Non-solid compressed** (reshdr flag COMPRESSED; codec and chunk size `C` from the header):
//! for an original size `U`, `n = ceil(U / C)` chunks; the resource starts with a table of
//! `n − 1` entries (u32, or u64 when `U > 0xFFFF_FFFF`), entry `k−1` being the start of chunk
//! `k` measured from the end of the table (chunk 0 starts at 0 and has no entry). The last
//! chunk runs to the end of the resource.
//!
//! **Solid** (reshdr flag SOLID, version 0xE00): a 16-byte header `u64 U, u32 C, u32 format`
//! (0 none, 1 XPRESS, 2 LZX, 3 LZMS), then `n` u32 **compressed sizes** (chunk 0 included),
//! then the chunks back to back.
//!
//! Both: every chunk decodes to `C` bytes except the last (`U − (n−1)·C`); a chunk whose
//! compressed size equals its uncompressed size is stored raw; a compressed size of 0, larger
//! than the uncompressed size, or chunks running past the resource are rejected. No codec state
//! crosses chunks.
//!
//! Memory stays flat whatever the resource size: the chunk table is read through a window of
//! [`TABLE_WINDOW`] entries, compressed data in batches of about [`READ_BATCH`] bytes, and one
//! chunk is decoded at a time into a reused buffer ([`Scratch`]).

use crate::header::{Compression, ResHdr, MAX_CHUNK_SIZE};
use crate::readat::ReadAt;
use crate::Error;
use sxs_iobuf::AlignedBuf;

/// Receives uncompressed pieces of a resource with their offset in it.
pub type PieceSink<'a> = dyn FnMut(u64, &[u8]) -> Result<(), Error> + 'a;

/// Chunk-table entries read at once (64 KiB of u64 entries at most).
pub const TABLE_WINDOW: usize = 8192;
/// Target size of one read of compressed (or stored) data.
pub const READ_BATCH: usize = 1 << 20;

/// Reusable buffers for reading resources; keep one per thread to avoid reallocations.
///
/// It also remembers the last chunk it decoded, so that reading the blobs of a solid resource
/// one by one in offset order (with one `Scratch`) decodes each shared chunk once.
#[derive(Default)]
pub struct Scratch {
    /// Compressed or stored bytes as read; aligned to their file offset, because the kernel's
    /// copy into a misaligned buffer is several times slower ([`sxs_iobuf`]).
    comp: AlignedBuf,
    out: Vec<u8>,
    table: Vec<u8>,
    /// (archive id, chunk data offset, chunk index) of the chunk held in `out`.
    cached: Option<(u64, u64, u64)>,
    archive: u64,
}

impl Scratch {
    /// Empty buffers (they grow to one batch and one chunk).
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Tie the chunk cache to one archive (ids from [`next_archive_id`]); 0 = standalone use.
    pub(crate) fn bind(&mut self, archive: u64) {
        if self.archive != archive {
            self.archive = archive;
            self.cached = None;
        }
    }
}

/// A process-unique id for an open archive (keys the chunk cache of [`Scratch`]).
pub(crate) fn next_archive_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// How the chunk table of a resource is laid out.
#[derive(Debug, Clone, Copy)]
enum TableKind {
    /// `n − 1` start offsets of `width` bytes.
    Starts { width: usize },
    /// `n` u32 compressed sizes.
    Sizes,
}

/// Geometry of one chunked resource.
#[derive(Debug, Clone, Copy)]
pub struct ChunkedResource {
    /// File offset of the chunk table.
    table_offset: u64,
    table_kind: TableKind,
    /// File offset of chunk 0.
    data_offset: u64,
    /// Bytes of chunk data (after the table).
    data_size: u64,
    /// Uncompressed size.
    pub uncompressed_size: u64,
    /// Uncompressed chunk size.
    pub chunk_size: u64,
    /// Number of chunks.
    pub chunk_count: u64,
    /// Codec of compressed chunks.
    pub compression: Compression,
}

/// Header of a solid resource (first 16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolidHeader {
    /// Uncompressed size of the whole resource.
    pub uncompressed_size: u64,
    /// Chunk size.
    pub chunk_size: u32,
    /// Codec.
    pub compression: Compression,
}

impl ChunkedResource {
    /// Geometry of a non-solid COMPRESSED resource, validated against the file length.
    pub fn non_solid(
        res: &ResHdr,
        compression: Compression,
        chunk_size: u32,
        file_len: u64,
    ) -> Result<ChunkedResource, Error> {
        res.check_in_file("resource", file_len)?;
        if compression == Compression::None || chunk_size == 0 {
            return Err(Error::CompressedWithoutCodec { offset: res.offset });
        }
        let u = res.original_size;
        let c = u64::from(chunk_size);
        let n = u.div_ceil(c);
        let width: u64 = if u > u64::from(u32::MAX) { 8 } else { 4 };
        let table_size = n
            .saturating_sub(1)
            .checked_mul(width)
            .filter(|&t| t <= res.size_in_wim)
            .ok_or(Error::BadChunkTable {
                offset: res.offset,
                reason: "chunk table larger than the resource",
            })?;
        Ok(ChunkedResource {
            table_offset: res.offset,
            table_kind: TableKind::Starts {
                width: width as usize,
            },
            data_offset: res.offset + table_size,
            data_size: res.size_in_wim - table_size,
            uncompressed_size: u,
            chunk_size: c,
            chunk_count: n,
            compression,
        })
    }

    /// Geometry of a solid resource (reads its 16-byte header), validated against the file
    /// length.
    pub fn solid<R: ReadAt + ?Sized>(
        r: &R,
        res: &ResHdr,
        file_len: u64,
    ) -> Result<(ChunkedResource, SolidHeader), Error> {
        res.check_in_file("solid resource", file_len)?;
        if res.size_in_wim < 16 {
            return Err(Error::BadSolidHeader {
                offset: res.offset,
                reason: "shorter than its 16-byte header",
            });
        }
        let mut h = [0u8; 16];
        r.read_at(res.offset, &mut h)
            .map_err(|e| Error::io("solid resource header", e))?;
        let u = crate::header::u64_at(&h, 0);
        let chunk_size = crate::header::u32_at(&h, 8);
        let compression = match crate::header::u32_at(&h, 12) {
            0 => Compression::None,
            1 => Compression::Xpress,
            2 => Compression::Lzx,
            3 => Compression::Lzms,
            _ => {
                return Err(Error::BadSolidHeader {
                    offset: res.offset,
                    reason: "unknown compression format",
                })
            }
        };
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(Error::BadSolidHeader {
                offset: res.offset,
                reason: "chunk size is 0 or above 64 MiB",
            });
        }
        let c = u64::from(chunk_size);
        let n = u.div_ceil(c);
        let table_size = n
            .checked_mul(4)
            .and_then(|t| t.checked_add(16))
            .filter(|&t| t <= res.size_in_wim)
            .ok_or(Error::BadChunkTable {
                offset: res.offset,
                reason: "chunk table larger than the resource",
            })?;
        let geo = ChunkedResource {
            table_offset: res.offset + 16,
            table_kind: TableKind::Sizes,
            data_offset: res.offset + table_size,
            data_size: res.size_in_wim - table_size,
            uncompressed_size: u,
            chunk_size: c,
            chunk_count: n,
            compression,
        };
        Ok((
            geo,
            SolidHeader {
                uncompressed_size: u,
                chunk_size,
                compression,
            },
        ))
    }

    fn chunk_ulen(&self, k: u64) -> u64 {
        if k + 1 == self.chunk_count {
            self.uncompressed_size - k * self.chunk_size
        } else {
            self.chunk_size
        }
    }

    /// Every chunk's stored bytes and uncompressed length, in order: the raw codec streams,
    /// for tools and tests (a chunk whose stored length equals its length is stored raw).
    /// Refuses resources with more than `max_total` stored bytes.
    pub fn raw_chunks<R: ReadAt + ?Sized>(
        &self,
        r: &R,
        max_total: u64,
    ) -> Result<Vec<(Vec<u8>, u64)>, Error> {
        if self.data_size > max_total {
            return Err(Error::TooLarge {
                what: "resource",
                size: self.data_size,
                max: max_total,
            });
        }
        let mut table_buf = Vec::new();
        let mut table = TableReader::new(r, self, &mut table_buf);
        let mut out = Vec::new();
        let mut cstart = 0u64;
        for k in 0..self.chunk_count {
            let cend = self.chunk_end(&mut table, k, cstart)?;
            if cend < cstart || cend > self.data_size {
                return Err(self.bad_table("chunk runs past the resource"));
            }
            let mut buf = vec![0u8; (cend - cstart) as usize];
            r.read_at(self.data_offset + cstart, &mut buf)
                .map_err(|e| Error::io("chunk data", e))?;
            out.push((buf, self.chunk_ulen(k)));
            cstart = cend;
        }
        Ok(out)
    }

    /// Stream the uncompressed bytes `start..end` of this resource to `sink`, as pieces tagged
    /// with their offset in the resource, in increasing order. Chunks outside the range are
    /// neither read nor decoded.
    pub fn stream<R: ReadAt + ?Sized>(
        &self,
        r: &R,
        start: u64,
        end: u64,
        scratch: &mut Scratch,
        sink: &mut PieceSink<'_>,
    ) -> Result<(), Error> {
        if start >= end {
            return Ok(());
        }
        if end > self.uncompressed_size {
            return Err(Error::BadChunkTable {
                offset: self.table_offset,
                reason: "range past the resource's uncompressed size",
            });
        }
        let first = start / self.chunk_size;
        let last = (end - 1) / self.chunk_size;
        let mut table = TableReader::new(r, self, &mut scratch.table);
        // Compressed start of `first`.
        let mut cstart = match self.table_kind {
            TableKind::Starts { .. } => {
                if first == 0 {
                    0
                } else {
                    table.get(first - 1)?
                }
            }
            TableKind::Sizes => {
                let mut s = 0u64;
                for k in 0..first {
                    s = s
                        .checked_add(table.get(k)?)
                        .ok_or(self.bad_table("chunk sizes overflow"))?;
                }
                s
            }
        };
        let mut k = first;
        while k <= last {
            if scratch.archive != 0
                && scratch.cached == Some((scratch.archive, self.data_offset, k))
            {
                // Decoded by the previous call: no need to read or decode it again.
                let cend = self.chunk_end(&mut table, k, cstart)?;
                let ulen = self.chunk_ulen(k);
                let chunk_ustart = k * self.chunk_size;
                let lo = (start.max(chunk_ustart) - chunk_ustart) as usize;
                let hi = (end.min(chunk_ustart + ulen) - chunk_ustart) as usize;
                let piece = scratch
                    .out
                    .get(lo..hi)
                    .ok_or(self.bad_table("cached chunk too short"))?;
                sink(chunk_ustart + lo as u64, piece)?;
                cstart = cend;
                k += 1;
                continue;
            }
            // Gather a batch of consecutive chunks totalling about READ_BATCH bytes.
            let batch_start = cstart;
            let mut ends: [(u64, u64); 64] = [(0, 0); 64];
            let mut nb = 0usize;
            let mut kk = k;
            let mut cur = cstart;
            while kk <= last && nb < ends.len() {
                let cend = self.chunk_end(&mut table, kk, cur)?;
                if cend < cur || cend > self.data_size {
                    return Err(self.bad_table("chunk runs past the resource"));
                }
                if nb > 0 && cend - batch_start > READ_BATCH as u64 {
                    break;
                }
                ends[nb] = (kk, cend);
                nb += 1;
                cur = cend;
                kk += 1;
            }
            let batch_len = usize::try_from(cur - batch_start)
                .map_err(|_| self.bad_table("chunk too large"))?;
            if batch_len as u64 > u64::from(MAX_CHUNK_SIZE).max(READ_BATCH as u64) {
                return Err(self.bad_table("compressed chunk larger than the chunk size"));
            }
            let at = self.data_offset + batch_start;
            let comp = scratch.comp.window(batch_len, at);
            r.read_at(at, comp)
                .map_err(|e| Error::io("chunk data", e))?;
            let mut pos = batch_start;
            for &(ck, cend) in &ends[..nb] {
                let ulen = self.chunk_ulen(ck);
                let clen = cend - pos;
                let rel = (pos - batch_start) as usize;
                let input = comp
                    .get(rel..rel + clen as usize)
                    .ok_or(self.bad_table("chunk outside its batch"))?;
                let chunk_ustart = ck * self.chunk_size;
                // Part of this chunk inside the wanted range.
                let lo = start.max(chunk_ustart) - chunk_ustart;
                let hi = end.min(chunk_ustart + ulen) - chunk_ustart;
                if clen == 0 || clen > ulen {
                    return Err(Error::BadChunk {
                        offset: self.data_offset + pos,
                        reason: "compressed size is 0 or larger than the chunk",
                    });
                }
                if clen == ulen {
                    let piece = input
                        .get(lo as usize..hi as usize)
                        .ok_or(self.bad_table("stored chunk too short"))?;
                    sink(chunk_ustart + lo, piece)?;
                } else {
                    scratch.cached = None;
                    scratch.out.resize(ulen as usize, 0);
                    decompress(
                        self.compression,
                        input,
                        &mut scratch.out,
                        self.chunk_size,
                        self.data_offset + pos,
                    )?;
                    scratch.cached = Some((scratch.archive, self.data_offset, ck));
                    let piece = scratch
                        .out
                        .get(lo as usize..hi as usize)
                        .ok_or(self.bad_table("chunk too short"))?;
                    sink(chunk_ustart + lo, piece)?;
                }
                pos = cend;
            }
            k += nb as u64;
            cstart = cur;
        }
        Ok(())
    }

    fn chunk_end<R: ReadAt + ?Sized>(
        &self,
        table: &mut TableReader<'_, R>,
        k: u64,
        cstart: u64,
    ) -> Result<u64, Error> {
        match self.table_kind {
            TableKind::Starts { .. } => {
                if k + 1 == self.chunk_count {
                    Ok(self.data_size)
                } else {
                    table.get(k)
                }
            }
            TableKind::Sizes => cstart
                .checked_add(table.get(k)?)
                .ok_or(self.bad_table("chunk sizes overflow")),
        }
    }

    fn bad_table(&self, reason: &'static str) -> Error {
        Error::BadChunkTable {
            offset: self.table_offset,
            reason,
        }
    }
}

/// Windowed reader of chunk-table entries.
struct TableReader<'a, R: ?Sized> {
    r: &'a R,
    offset: u64,
    width: usize,
    count: u64,
    buf: &'a mut Vec<u8>,
    first: u64,
    len: u64,
}

impl<'a, R: ReadAt + ?Sized> TableReader<'a, R> {
    fn new(r: &'a R, geo: &ChunkedResource, buf: &'a mut Vec<u8>) -> Self {
        let (width, count) = match geo.table_kind {
            TableKind::Starts { width } => (width, geo.chunk_count.saturating_sub(1)),
            TableKind::Sizes => (4, geo.chunk_count),
        };
        TableReader {
            r,
            offset: geo.table_offset,
            width,
            count,
            buf,
            first: 0,
            len: 0,
        }
    }

    fn get(&mut self, i: u64) -> Result<u64, Error> {
        if i >= self.count {
            return Err(Error::BadChunkTable {
                offset: self.offset,
                reason: "chunk index past the table",
            });
        }
        if i < self.first || i >= self.first + self.len {
            let len = (self.count - i).min(TABLE_WINDOW as u64);
            self.buf.resize(len as usize * self.width, 0);
            self.r
                .read_at(self.offset + i * self.width as u64, self.buf)
                .map_err(|e| Error::io("chunk table", e))?;
            self.first = i;
            self.len = len;
        }
        let at = (i - self.first) as usize * self.width;
        Ok(if self.width == 8 {
            crate::header::u64_at(self.buf, at)
        } else {
            u64::from(crate::header::u32_at(self.buf, at))
        })
    }
}

/// Decode one chunk with `codec` into `out` (its exact size). LZX needs the resource's chunk
/// size too: its window is the chunk size even for the shorter last chunk.
fn decompress(
    codec: Compression,
    input: &[u8],
    out: &mut [u8],
    chunk_size: u64,
    offset: u64,
) -> Result<(), Error> {
    let res = match codec {
        Compression::None => Err("stored resource has a chunk smaller than its size".to_string()),
        Compression::Xpress => {
            sxs_wimcomp::xpress::decompress_into(input, out).map_err(|e| e.to_string())
        }
        Compression::Lzx => {
            let chunk_size = usize::try_from(chunk_size).unwrap_or(usize::MAX);
            sxs_wimcomp::lzx::decompress_chunk_into(input, out, chunk_size)
                .map_err(|e| e.to_string())
        }
        Compression::Lzms => sxs_lzms::decompress_into(input, out).map_err(|e| e.to_string()),
    };
    res.map_err(|reason| Error::Decompress {
        compression: codec,
        offset,
        reason,
    })
}

/// Stream a stored (neither COMPRESSED nor SOLID) resource's `start..end` to `sink`.
pub(crate) fn stream_stored<R: ReadAt + ?Sized>(
    r: &R,
    res: &ResHdr,
    file_len: u64,
    start: u64,
    end: u64,
    scratch: &mut Scratch,
    sink: &mut PieceSink<'_>,
) -> Result<(), Error> {
    res.check_in_file("resource", file_len)?;
    if res.size_in_wim != res.original_size {
        return Err(Error::StoredSizeMismatch {
            offset: res.offset,
            size_in_wim: res.size_in_wim,
            original_size: res.original_size,
        });
    }
    if end > res.original_size {
        return Err(Error::OutOfBounds {
            what: "range in resource",
            offset: start,
            size: end - start,
            file_len: res.original_size,
        });
    }
    let mut pos = start;
    while pos < end {
        let len = (end - pos).min(READ_BATCH as u64) as usize;
        let at = res.offset + pos;
        let buf = scratch.comp.window(len, at);
        r.read_at(at, buf)
            .map_err(|e| Error::io("resource data", e))?;
        sink(pos, buf)?;
        pos += len as u64;
    }
    Ok(())
}
