//! Clean-room XPRESS Huffman and WIM LZX decompressors (placeholder: being written). The
//! signatures below are the contract other crates build against.

/// Why a chunk could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not implemented yet.
    #[error("not implemented yet")]
    Unimplemented,
}

/// XPRESS Huffman ([MS-XCA] LZ77+Huffman) as used by WIM chunks.
pub mod xpress {
    use super::Error;
    /// Decompress one chunk into `out` (its exact uncompressed size).
    pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let _ = (input, out);
        Err(Error::Unimplemented)
    }
    /// Decompress one chunk to `out_len` bytes.
    pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, Error> {
        let mut out = vec![0; out_len];
        decompress_into(input, &mut out)?;
        Ok(out)
    }
}

/// LZX in its WIM form (one chunk = one independent stream).
pub mod lzx {
    use super::Error;
    /// Decompress one chunk into `out` (its exact uncompressed size).
    pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<(), Error> {
        let _ = (input, out);
        Err(Error::Unimplemented)
    }
    /// Decompress one chunk to `out_len` bytes.
    pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, Error> {
        let mut out = vec![0; out_len];
        decompress_into(input, &mut out)?;
        Ok(out)
    }
}
