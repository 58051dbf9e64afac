//! Clean-room LZMS decompressor (placeholder: being written). The signatures below are the
//! contract other crates build against.

/// Why a buffer could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not implemented yet.
    #[error("LZMS decoding is not implemented yet")]
    Unimplemented,
}

/// Decompress one raw LZMS buffer (a WIM chunk or a DCS block) into `out`, whose length is the
/// exact uncompressed size.
pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<(), Error> {
    let _ = (input, out);
    Err(Error::Unimplemented)
}

/// Decompress one raw LZMS buffer to `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0; out_len];
    decompress_into(input, &mut out)?;
    Ok(out)
}
