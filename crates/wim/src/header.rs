//! The 208-byte WIM header and the 24-byte resource header ("reshdr").
//!
//! Layout (little-endian; `wim-and-codecs.md` §1.2, §1.3):
//!
//! | Off  | Size | Field |
//! |------|------|-------|
//! | 0x00 | 8    | magic `MSWIM\0\0\0` (`WLPWM\0\0\0` = wimlib's pipable variant, rejected) |
//! | 0x08 | u32  | header size, must be 208 |
//! | 0x0C | u32  | version: 0x10D00 (ordinary) or 0xE00 (may hold solid resources / LZMS) |
//! | 0x10 | u32  | flags (COMPRESSION 0x2, SPANNED 0x8, codec bits 0x2_0000 XPRESS, 0x4_0000 LZX, 0x8_0000 LZMS, 0x20_0000 XPRESS_2) |
//! | 0x14 | u32  | chunk size of non-solid compressed resources |
//! | 0x18 | 16   | GUID |
//! | 0x28 | u16  | part number (1-based) |
//! | 0x2A | u16  | total parts |
//! | 0x2C | u32  | image count |
//! | 0x30 | 24   | blob table reshdr |
//! | 0x48 | 24   | XML data reshdr |
//! | 0x60 | 24   | boot metadata reshdr |
//! | 0x78 | u32  | boot index (0 = none) |
//! | 0x7C | 24   | integrity table reshdr (no padding before it) |
//! | 0x94 | 60   | unused |
//!
//! A reshdr is a u64 whose low 56 bits are the stored size and whose top byte holds flags
//! (METADATA 0x02, COMPRESSED 0x04, SOLID 0x10), then u64 offset, u64 original size.
//!
//! Rejected: other magics, a header size other than 208, versions other than the two above,
//! split WIMs (total parts > 1 or part number ≠ 1), a COMPRESSION flag without exactly one
//! codec bit (or a codec bit without the flag), a chunk size that is not a power of two within
//! the codec's range, LZMS in a version-0x10D00 file, and more images than
//! [`MAX_IMAGES`].

use crate::Error;

/// Size of the header in bytes.
pub const HEADER_SIZE: usize = 208;
/// Version of an ordinary WIM.
pub const VERSION_DEFAULT: u32 = 0x10D00;
/// Version of a WIM that may hold solid resources (ESD).
pub const VERSION_SOLID: u32 = 0xE00;
/// Largest image count we accept. Real install.wim files hold tens of images; each image needs
/// a 50-byte blob-table entry anyway, this only keeps per-image tables small.
pub const MAX_IMAGES: u32 = 65_535;
/// Largest chunk size we accept (64 MiB). wimlib can write LZMS chunks up to 1 GiB, but
/// Microsoft software cannot read chunks above 64 MiB, and a chunk is buffered whole.
pub const MAX_CHUNK_SIZE: u32 = 64 << 20;

/// Header flag: resources may be compressed.
pub const FLAG_COMPRESSION: u32 = 0x0000_0002;
/// Header flag: part of a split WIM.
pub const FLAG_SPANNED: u32 = 0x0000_0008;
const FLAG_COMPRESS_XPRESS: u32 = 0x0002_0000;
const FLAG_COMPRESS_LZX: u32 = 0x0004_0000;
const FLAG_COMPRESS_LZMS: u32 = 0x0008_0000;
const FLAG_COMPRESS_XPRESS_2: u32 = 0x0020_0000;
const CODEC_BITS: u32 =
    FLAG_COMPRESS_XPRESS | FLAG_COMPRESS_LZX | FLAG_COMPRESS_LZMS | FLAG_COMPRESS_XPRESS_2;

/// Reshdr flag: metadata resource.
pub const RESHDR_METADATA: u8 = 0x02;
/// Reshdr flag: non-solid chunked resource.
pub const RESHDR_COMPRESSED: u8 = 0x04;
/// Reshdr flag: solid resource or blob inside one.
pub const RESHDR_SOLID: u8 = 0x10;

/// Codec of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Stored.
    None,
    /// XPRESS Huffman.
    Xpress,
    /// LZX (WIM form).
    Lzx,
    /// LZMS.
    Lzms,
}

impl Compression {
    /// Allowed chunk sizes (inclusive) for this codec, capped by [`MAX_CHUNK_SIZE`].
    pub fn chunk_size_range(self) -> (u32, u32) {
        match self {
            Compression::None => (1, MAX_CHUNK_SIZE),
            Compression::Xpress => (4 << 10, 64 << 10),
            Compression::Lzx => (32 << 10, 2 << 20),
            Compression::Lzms => (32 << 10, MAX_CHUNK_SIZE),
        }
    }
}

/// A 24-byte resource header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResHdr {
    /// Bytes occupied in the file (including any chunk table).
    pub size_in_wim: u64,
    /// `RESHDR_*` flags.
    pub flags: u8,
    /// File offset.
    pub offset: u64,
    /// Uncompressed size.
    pub original_size: u64,
}

impl ResHdr {
    /// Parse 24 bytes.
    pub fn parse(b: &[u8; 24]) -> ResHdr {
        let first = u64_at(b, 0);
        ResHdr {
            size_in_wim: first & 0x00FF_FFFF_FFFF_FFFF,
            flags: (first >> 56) as u8,
            offset: u64_at(b, 8),
            original_size: u64_at(b, 16),
        }
    }
    /// All fields zero (an absent resource).
    pub fn is_zero(&self) -> bool {
        *self == ResHdr::default()
    }
    /// Whether the COMPRESSED flag is set.
    pub fn is_compressed(&self) -> bool {
        self.flags & RESHDR_COMPRESSED != 0
    }
    /// Whether the SOLID flag is set.
    pub fn is_solid(&self) -> bool {
        self.flags & RESHDR_SOLID != 0
    }
    /// Whether the METADATA flag is set.
    pub fn is_metadata(&self) -> bool {
        self.flags & RESHDR_METADATA != 0
    }
    /// Offset one past the last byte, or an error naming `what` if it overflows or lies past
    /// `file_len`.
    pub(crate) fn check_in_file(&self, what: &'static str, file_len: u64) -> Result<(), Error> {
        match self.offset.checked_add(self.size_in_wim) {
            Some(end) if end <= file_len => Ok(()),
            _ => Err(Error::OutOfBounds {
                what,
                offset: self.offset,
                size: self.size_in_wim,
                file_len,
            }),
        }
    }
}

/// The parsed and validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 0x10D00 or 0xE00.
    pub version: u32,
    /// Raw flags.
    pub flags: u32,
    /// Codec of non-solid compressed resources.
    pub compression: Compression,
    /// Chunk size of non-solid compressed resources (0 if uncompressed).
    pub chunk_size: u32,
    /// Archive GUID.
    pub guid: [u8; 16],
    /// Part number (always 1: split WIMs are rejected).
    pub part_number: u16,
    /// Total parts (always 1).
    pub total_parts: u16,
    /// Number of images.
    pub image_count: u32,
    /// Blob table.
    pub blob_table: ResHdr,
    /// XML data.
    pub xml: ResHdr,
    /// Boot metadata (zero if none).
    pub boot_metadata: ResHdr,
    /// Bootable image index (0 = none).
    pub boot_index: u32,
    /// Integrity table (zero if absent).
    pub integrity: ResHdr,
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(off..off + 2) {
        a.copy_from_slice(s);
    }
    u16::from_le_bytes(a)
}
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}
pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(off..off + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}
pub(crate) fn reshdr_at(b: &[u8], off: usize) -> ResHdr {
    let mut a = [0u8; 24];
    if let Some(s) = b.get(off..off + 24) {
        a.copy_from_slice(s);
    }
    ResHdr::parse(&a)
}

impl Header {
    /// Parse and validate the 208 header bytes.
    pub fn parse(b: &[u8; HEADER_SIZE]) -> Result<Header, Error> {
        let magic = &b[0..8];
        if magic == b"WLPWM\0\0\0" {
            return Err(Error::Pipable);
        }
        if magic != b"MSWIM\0\0\0" {
            let mut m = [0u8; 8];
            m.copy_from_slice(magic);
            return Err(Error::BadMagic(m));
        }
        let hdr_size = u32_at(b, 0x08);
        if hdr_size as usize != HEADER_SIZE {
            return Err(Error::BadHeaderSize(hdr_size));
        }
        let version = u32_at(b, 0x0C);
        if version != VERSION_DEFAULT && version != VERSION_SOLID {
            return Err(Error::UnknownVersion(version));
        }
        let flags = u32_at(b, 0x10);
        let part_number = u16_at(b, 0x28);
        let total_parts = u16_at(b, 0x2A);
        if total_parts != 1 || flags & FLAG_SPANNED != 0 {
            return Err(Error::SplitWim {
                part_number,
                total_parts,
            });
        }
        if part_number != 1 {
            return Err(Error::BadPartNumber(part_number));
        }
        let codec_bits = flags & CODEC_BITS;
        let compression = if flags & FLAG_COMPRESSION == 0 {
            if codec_bits != 0 {
                return Err(Error::BadCompressionFlags(flags));
            }
            Compression::None
        } else {
            match codec_bits {
                FLAG_COMPRESS_XPRESS | FLAG_COMPRESS_XPRESS_2 => Compression::Xpress,
                FLAG_COMPRESS_LZX => Compression::Lzx,
                FLAG_COMPRESS_LZMS if version == VERSION_SOLID => Compression::Lzms,
                _ => return Err(Error::BadCompressionFlags(flags)),
            }
        };
        let chunk_size = u32_at(b, 0x14);
        if compression != Compression::None {
            let (lo, hi) = compression.chunk_size_range();
            if !chunk_size.is_power_of_two() || chunk_size < lo || chunk_size > hi {
                return Err(Error::BadChunkSize {
                    chunk_size,
                    compression,
                });
            }
        }
        let image_count = u32_at(b, 0x2C);
        if image_count > MAX_IMAGES {
            return Err(Error::TooMany {
                what: "images",
                count: image_count as u64,
                max: MAX_IMAGES as u64,
            });
        }
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&b[0x18..0x28]);
        Ok(Header {
            version,
            flags,
            compression,
            chunk_size,
            guid,
            part_number,
            total_parts,
            image_count,
            blob_table: reshdr_at(b, 0x30),
            xml: reshdr_at(b, 0x48),
            boot_metadata: reshdr_at(b, 0x60),
            boot_index: u32_at(b, 0x78),
            integrity: reshdr_at(b, 0x7C),
        })
    }
}
