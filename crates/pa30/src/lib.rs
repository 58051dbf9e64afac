//! Clean-room MSDelta **PA30** decoder and encoder for the RAW subset that WinSxS uses:
//! DCM compressed manifests (`DCM\x01` + PA30 against the 9,066-byte base manifest) and
//! DCN payloads (`DCN\x01` + PA30 against an empty source). The `DCx` wrappers are the
//! caller's business; this crate takes bare PA30.
//!
//! Written only from the project's description `shared/reference/pa30.md` (itself built
//! from the smilingthax/msdelta-pa30-format README and [MS-PATCH]) and checked on real
//! build-26100 samples: seven DCM manifests and one RAW delta made by `msdelta.dll`.
//!
//! # Format
//!
//! | Offset | Size | Field |
//! |---|---|---|
//! | 0 | 4 | `PA30` (`PA19`, `PA31` are other formats and rejected as [`Error::Unsupported`]) |
//! | 4 | 8 | `TargetFileTime`, little-endian FILETIME, informational |
//! | 12 | … | outer bitstream |
//!
//! Bitstreams are read byte by byte, bit 0 first, and start with a 3-bit count of unused
//! high bits in their last byte. An *integer* is a unary nibble count k (k zeros, a one)
//! then `4·(k+1)` bits, least significant first (k ≤ 15). A *buffer* is an integer length,
//! padding to the next byte boundary (even for length 0), then the bytes. Huffman code
//! words are read most significant bit first.
//!
//! Outer stream: FileTypeSet, FileType, Flags, TargetSize, TargetHashAlgId (integers), then
//! the TargetHash, preProcessBuffer and patchBuffer buffers; the file ends with the patch
//! buffer. The patch buffer is its own bitstream: padding count, a 1-bit "rift table
//! non-empty" flag, a 1-bit `isDefault`, then either nothing (one block of default
//! near-uniform code lengths) or a block count, delta-coded absolute block starts (window
//! positions, the first being the source length S), 39 4-bit pre-tree lengths and, per
//! block, 872 code lengths (600 main, 256 length, 16 aligned) coded against the previous
//! block's lengths with pre-tree symbols 0–16 (literal), 17–22 (±1..3), 23–30 (fill last)
//! and 31–38 (copy previous). The canonical code is mirrored: longer code words are
//! numerically smaller.
//!
//! The match stream decodes into a window that starts with the source (W = source ‖
//! output, positions from S to S + TargetSize). Main symbols 0–255 are literals; 256–599
//! are `slot·8 + len3`. Slots 0–2 copy relative to the source position (`pos − S −
//! delta`, 14/16/18 bits), 3 copies from `pos − S`, 4–6 repeat the move-to-front LRU of
//! three distances (updated after every match, deduplicated, initially zeros), 7 escapes
//! to slots 43–70, 8–10 are distances 1–3, 11–70 are LZX-style position classes with
//! verbatim bits and, from slot 17, a 4-bit aligned-tree symbol. `len3` 1–7 means length
//! 2–8; 0 means a length-tree symbol k (k + 8) or, for k = 0, a long length
//! `2^(z+8) + x + 8`.
//!
//! # What we reject
//!
//! - FileType ≠ 1 (RAW): executable types need PE transforms ([`Error::Unsupported`],
//!   naming the type); a non-empty preprocess buffer; a non-empty rift table; hash
//!   algorithms other than 0 and 0x8003 (MD5).
//! - Everything pa30.md calls corrupt: incomplete or over-subscribed Huffman trees (an
//!   all-zero tree is accepted until a symbol is read from it), code-length runs past 872
//!   or lengths outside 0–16, a fill as a block's first code length, distances outside
//!   the window (including a repeat of the initial 0), matches past TargetSize, output
//!   before the first block start, trailing bytes after the patch buffer, reading past
//!   the last valid bit, and — our choice, as every real sample ends exactly — valid bits
//!   left over after the last symbol.
//! - An MD5 target hash that differs from the output ([`Error::HashMismatch`]).
//!
//! Nothing is allocated from a size read from the input beyond named caps: the output
//! grows as it is produced (first working length ≤ 64 KiB, then doubling; [`decode()`]
//! reserves ≤ 1 MiB up front), the block count is capped by [`MAX_BLOCKS`], the target
//! size by [`Limits::max_target_size`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bits;
mod decode;
mod encode;
mod huffman;

/// `TargetHashAlgId` of MD5 (`CALG_MD5`).
pub const ALG_MD5: u32 = 0x8003;

/// Default cap on TargetSize: 4 GiB. PA30 distances and long lengths are 32-bit, so a
/// target beyond 4 GiB is not something msdelta produces for WinSxS; callers that hold
/// the whole output in memory should pass a lower limit.
pub const DEFAULT_MAX_TARGET_SIZE: u64 = 4 << 30;

/// Cap on the parameter block count. Each block's 872 lengths are kept until the match
/// stream starts (872 bytes per block, ≤ 14 MiB); real encoders use about one block per
/// megabyte of output (three for the 3.2 MB wow64 manifest).
pub const MAX_BLOCKS: u64 = 16_384;

/// Cap on the TargetHash buffer: MD5 needs 16 bytes, SHA-256 (PA31) 32.
pub const MAX_HASH_LEN: usize = 64;

pub(crate) const MAIN_SYMBOLS: usize = 600;
pub(crate) const LENGTH_SYMBOLS: usize = 256;
pub(crate) const ALIGNED_SYMBOLS: usize = 16;
pub(crate) const TREE_LENGTHS: usize = MAIN_SYMBOLS + LENGTH_SYMBOLS + ALIGNED_SYMBOLS;

/// Why a delta could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input ends (or a buffer or bitstream ends) before a field it declares.
    #[error("PA30 delta is truncated")]
    Truncated,
    /// The input breaks a rule of the format.
    #[error("corrupt PA30 delta: {0}")]
    Corrupt(&'static str),
    /// A valid delta outside the RAW subset; names what was found.
    #[error("unsupported delta: {0}")]
    Unsupported(String),
    /// The decoded output does not match the stored target hash.
    #[error("target {algorithm} mismatch: expected {}, got {}", hex(.expected), hex(.actual))]
    HashMismatch {
        /// Hash algorithm name.
        algorithm: &'static str,
        /// Hash stored in the delta.
        expected: Vec<u8>,
        /// Hash of the decoded output.
        actual: Vec<u8>,
    },
    /// A declared size or count is above the caller's or the crate's cap.
    #[error("{what} {value} exceeds the limit {limit}")]
    LimitExceeded {
        /// What was too large.
        what: &'static str,
        /// The declared value.
        value: u64,
        /// The cap.
        limit: u64,
    },
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Name of a PA30 FileType value (formats.md §2.4).
pub fn file_type_name(file_type: u64) -> &'static str {
    match file_type {
        1 => "RAW",
        2 => "I386",
        4 => "IA64",
        8 => "AMD64",
        0x10 => "CLI4_I386",
        0x20 => "CLI4_AMD64",
        0x40 => "CLI4_ARM",
        0x80 => "CLI4_ARM64",
        _ => "unknown",
    }
}

/// The PA30 header fields (what `GetDeltaInfo` reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Informational FILETIME of the target.
    pub target_file_time: u64,
    /// FileTypeSet.
    pub file_type_set: u64,
    /// FileType: 1 = RAW; see [`file_type_name`].
    pub file_type: u64,
    /// Flags (no effect on RAW decoding; 0x20000 in DCM).
    pub flags: u64,
    /// Exact length of the decoded target.
    pub target_size: u64,
    /// 0 (none) or [`ALG_MD5`].
    pub hash_alg_id: u32,
    /// The stored target hash (empty when `hash_alg_id` is 0).
    pub target_hash: Vec<u8>,
}

/// Parses the header of a delta that starts with `PA30`, whatever its FileType.
pub fn parse_header(delta: &[u8]) -> Result<Header, Error> {
    let p = decode::parse(delta)?;
    Ok(Header {
        target_hash: p.hash.to_vec(),
        ..p.header
    })
}

/// Resource caps for [`decode()`] and [`decode_into`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest TargetSize accepted (the output is held in memory).
    pub max_target_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_target_size: DEFAULT_MAX_TARGET_SIZE,
        }
    }
}

/// Decodes a RAW PA30 delta against `source` (the base manifest for DCM, empty for DCN).
/// The result is exactly TargetSize bytes, verified against the MD5 when one is stored.
pub fn decode(delta: &[u8], source: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    decode::decode(delta, source, limits)
}

/// Whether [`decode_into`] checks the MD5 stored in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHash {
    /// Compute the MD5 of the output and fail with [`Error::HashMismatch`] when it differs
    /// from the stored one (what [`decode()`] does).
    Verify,
    /// Do not compute the MD5; the header's hash fields are still validated.
    Skip,
}

/// Decodes into `out` (cleared first; its capacity is reused across calls), leaving exactly
/// TargetSize bytes there on success. With [`TargetHash::Skip`] the stored MD5 is not
/// computed: for callers that hash the output themselves with a stronger digest.
///
/// On error the content of `out` is unspecified (it may hold partial output).
pub fn decode_into(
    delta: &[u8],
    source: &[u8],
    limits: &Limits,
    check: TargetHash,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    decode::decode_into(delta, source, limits, check, out)
}

/// Options for [`encode()`].
#[derive(Debug, Clone, Default)]
pub struct EncodeOptions {
    /// Store TargetHashAlgId 0x8003 and the MD5 of the target (as DCN payloads do).
    pub md5: bool,
    /// The Flags field (0x20000 in DCM manifests); it does not change the encoding.
    pub flags: u64,
    /// The TargetFileTime field.
    pub target_file_time: u64,
    /// Output bytes per parameter block (each block gets its own Huffman trees);
    /// 0 means the default of 1 MiB.
    pub block_size: usize,
}

impl EncodeOptions {
    /// The header values of real DCM manifests: Flags 0x20000, the constant file time
    /// 0x019DB1DED5D71680, no hash.
    pub fn dcm() -> Self {
        EncodeOptions {
            md5: false,
            flags: 0x20000,
            target_file_time: 0x019D_B1DE_D5D7_1680,
            block_size: 0,
        }
    }
}

/// Encodes `target` as a raw PA30 delta (no DCM/DCN wrapper) against `source`.
/// See the `encode` module notes for which parts of the format it uses.
pub fn encode(target: &[u8], source: &[u8], opts: &EncodeOptions) -> Vec<u8> {
    encode::encode(target, source, opts)
}
