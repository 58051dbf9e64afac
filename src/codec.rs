//! Glue between the store's compressed containers (`DCM`, `DCN`, `DCS`, `DCD`, `DCH`, `DCX`)
//! and the decoders, with the context they need (the base manifest for DCM). Decoders never
//! go looking for their dictionary: it is handed to them from here.

use crate::format::Container;

/// Compressed payloads are collected whole before decoding; larger than any store file.
pub const MAX_COMPRESSED_PAYLOAD: usize = 1 << 30;

/// What decoding gave.
pub enum Decoded {
    /// The plain bytes.
    Bytes(Vec<u8>),
    /// It cannot be decoded here (an unsupported form, a missing base): not a corruption.
    Unverifiable(String),
    /// It is damaged.
    Corrupt(String),
}

/// Decoding context for one image.
#[derive(Debug, Clone, Default)]
pub struct Codecs {}

impl Codecs {
    /// Decode a manifest file.
    pub fn manifest(&self, container: Container, bytes: &[u8]) -> Decoded {
        match container {
            Container::Plain => Decoded::Bytes(bytes.to_vec()),
            Container::Dcm => Decoded::Unverifiable("DCM-compressed manifest: this build cannot decode PA30 yet".into()),
            other => Decoded::Corrupt(format!("a manifest cannot be stored as {}", other.name())),
        }
    }

    /// Decode a compressed payload.
    pub fn payload(&self, container: Container, bytes: &[u8]) -> Decoded {
        match container {
            Container::Plain => Decoded::Bytes(bytes.to_vec()),
            Container::Dcs => match crate::format::dcs::decode(bytes, MAX_COMPRESSED_PAYLOAD) {
                Ok(plain) => Decoded::Bytes(plain),
                Err(e) => Decoded::Corrupt(format!("DCS-compressed payload: {e}")),
            },
            Container::Dcm => Decoded::Corrupt("a payload stored as a DCM manifest delta".into()),
            Container::Dcn => Decoded::Unverifiable("DCN-compressed payload: this build cannot decode PA30 yet".into()),
            Container::Dcd => Decoded::Unverifiable(
                "DCD-compressed payload: a PA30 delta against a basis file Windows does not name; not verifiable offline".into(),
            ),
            Container::Dch => Decoded::Unverifiable("DCH payload: a header without data".into()),
            Container::Dcx => Decoded::Unverifiable("DCX-compressed payload: an undocumented form".into()),
        }
    }
}
