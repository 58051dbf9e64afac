//! Glue between the store's compressed containers (`DCM`, `DCN`, `DCS`, `DCD`, `DCH`, `DCX`)
//! and the decoders, with the context they need (the base manifest for DCM). Decoders never
//! go looking for their dictionary: it is handed to them from here.

use std::cell::RefCell;
use std::sync::Arc;

use crate::format::Container;

/// Compressed payloads are collected whole before decoding; larger than any store file.
pub const MAX_COMPRESSED_PAYLOAD: usize = 1 << 30;
/// The largest output a PA30 delta may declare here: a hostile 30-byte delta must not make us
/// allocate 4 GiB (the PA30 format's own limit).
pub const MAX_DECODED: u64 = 1 << 30;

/// Per-thread decode buffers larger than this are given back after use: a store has a few
/// payloads of tens of MB, and each thread keeping one would hold that memory to the end.
pub const RETAINED_BUFFER: usize = 16 << 20;

thread_local! {
    /// Decoded payload bytes, reused from one compressed payload to the next.
    static DECODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Give back a per-thread buffer's memory when one big file made it large.
pub fn trim(buf: &mut Vec<u8>) {
    trim_above(buf, RETAINED_BUFFER);
}

/// Give back a reused buffer's memory when it grew past `keep` bytes.
pub fn trim_above(buf: &mut Vec<u8>, keep: usize) {
    if buf.capacity() > keep {
        *buf = Vec::new();
    }
}

/// What decoding gave.
pub enum Decoded {
    /// The plain bytes.
    Bytes(Vec<u8>),
    /// It cannot be decoded here (an unsupported form, a missing base): not a corruption.
    Unverifiable(String),
    /// It is damaged.
    Corrupt(String),
}

/// Why a compressed file gave no bytes (the failing cases of [`Decoded`]).
pub enum Failure {
    /// It cannot be decoded here: not a corruption.
    Unverifiable(String),
    /// It is damaged.
    Corrupt(String),
}

impl From<Failure> for Decoded {
    fn from(f: Failure) -> Decoded {
        match f {
            Failure::Unverifiable(why) => Decoded::Unverifiable(why),
            Failure::Corrupt(why) => Decoded::Corrupt(why),
        }
    }
}

/// The base manifest DCM manifests are deltas against, and where it came from.
#[derive(Debug, Clone)]
pub struct Base {
    /// The bytes.
    pub bytes: Arc<Vec<u8>>,
    /// Where it was found, for messages.
    pub origin: String,
}

/// Decoding context for one image.
#[derive(Debug, Clone, Default)]
pub struct Codecs {
    /// The base manifest, when one was found or given.
    pub base: Option<Base>,
}

fn limits() -> sxs_pa30::Limits {
    sxs_pa30::Limits {
        max_target_size: MAX_DECODED,
    }
}

/// Decode a bare PA30 delta; unsupported forms are unverifiable, anything else is damage.
fn pa30(what: &str, delta: &[u8], source: &[u8]) -> Decoded {
    match sxs_pa30::decode(delta, source, &limits()) {
        Ok(out) => Decoded::Bytes(out),
        Err(e) => pa30_failure(what, e).into(),
    }
}

/// Unsupported forms are unverifiable, anything else is damage.
fn pa30_failure(what: &str, e: sxs_pa30::Error) -> Failure {
    match e {
        sxs_pa30::Error::Unsupported(s) => {
            Failure::Unverifiable(format!("{what}: unsupported PA30 delta ({s})"))
        }
        e => Failure::Corrupt(format!("{what} does not decode: {e}")),
    }
}

impl Codecs {
    /// Decode a manifest file.
    pub fn manifest(&self, container: Container, bytes: &[u8]) -> Decoded {
        match container {
            Container::Plain => Decoded::Bytes(bytes.to_vec()),
            Container::Dcm => match &self.base {
                Some(base) => pa30("the DCM manifest", &bytes[4..], &base.bytes),
                None => Decoded::Unverifiable(
                    "DCM-compressed manifest, and no base manifest to decode it: the image has no servicing-stack wcp.dll; give one with --base".into(),
                ),
            },
            other => Decoded::Corrupt(format!("a manifest cannot be stored as {}", other.name())),
        }
    }

    /// Decode a compressed payload.
    pub fn payload(&self, container: Container, bytes: &[u8]) -> Decoded {
        match container {
            Container::Plain => Decoded::Bytes(bytes.to_vec()),
            Container::Dcn => pa30("the DCN-compressed payload", &bytes[4..], &[]),
            Container::Dcs => match crate::format::dcs::decode(bytes, MAX_COMPRESSED_PAYLOAD) {
                Ok(plain) => Decoded::Bytes(plain),
                Err(e) => Decoded::Corrupt(format!("DCS-compressed payload: {e}")),
            },
            Container::Dcm => Decoded::Corrupt("a payload stored as a DCM manifest delta".into()),
            Container::Dcd => Decoded::Unverifiable(
                "DCD-compressed payload: a PA30 delta against a basis file Windows does not name; not verifiable offline".into(),
            ),
            Container::Dch => Decoded::Unverifiable("DCH payload: a header without data".into()),
            Container::Dcx => Decoded::Unverifiable("DCX-compressed payload: an undocumented form".into()),
        }
    }

    /// Decode a compressed payload and hand its plain bytes to `sink`, through a per-thread
    /// buffer (no allocation per DCN file); on failure, why.
    pub fn payload_with(
        &self,
        container: Container,
        bytes: &[u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), Failure> {
        DECODED.with(|out| {
            let mut out = out.borrow_mut();
            let result = self
                .payload_into(container, bytes, &mut out)
                .map(|()| sink(&out));
            trim(&mut out);
            result
        })
    }

    /// Decode a compressed payload into `out`, whose bytes it replaces; on failure, why.
    /// DCN is decoded in `out`'s own memory, so a buffer reused from file to file allocates
    /// nothing: its bytes are not cleared first, as the decoder overwrites what it keeps
    /// (zeroing them for every payload cost a memset of all the decoded bytes).
    ///
    /// DCN's own MD5 is not computed here: the caller hashes the output with the manifest's
    /// SHA-256 or SHA-1, which any damage the MD5 would catch changes as well (a third of the
    /// DCN decoding time was that MD5).
    pub fn payload_into(
        &self,
        container: Container,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Failure> {
        if container == Container::Dcn {
            let delta = bytes.get(4..).unwrap_or_default();
            return sxs_pa30::decode_into(delta, &[], &limits(), sxs_pa30::TargetHash::Skip, out)
                .map_err(|e| pa30_failure("the DCN-compressed payload", e));
        }
        match self.payload(container, bytes) {
            Decoded::Bytes(plain) => {
                *out = plain;
                Ok(())
            }
            Decoded::Unverifiable(why) => Err(Failure::Unverifiable(why)),
            Decoded::Corrupt(why) => Err(Failure::Corrupt(why)),
        }
    }

    /// Decode any store file (manifest or payload), for `expand`.
    pub fn any(&self, bytes: &[u8]) -> Decoded {
        match Container::sniff(bytes) {
            Container::Dcm => self.manifest(Container::Dcm, bytes),
            c => self.payload(c, bytes),
        }
    }
}
