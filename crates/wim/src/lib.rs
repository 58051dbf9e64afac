//! Read WIM and ESD archives (`install.wim`, `install.esd`, `boot.wim`) in place: list an
//! image's files and stream their bytes, with no extraction and no mount.
//!
//! Written from the project's description `shared/reference/wim-and-codecs.md` §1 (no other
//! implementation's source was consulted). Chunk codecs come from the sibling crates
//! `sxs-wimcomp` (XPRESS, LZX) and `sxs-lzms`.
//!
//! # API
//!
//! ```no_run
//! # fn main() -> Result<(), sxs_wim::Error> {
//! let wim = sxs_wim::Wim::open("install.wim")?;           // header + blob table + XML
//! let xml = wim.xml_info().map_err(|e| sxs_wim::Error::Xml(e.to_string()))?;
//! println!("{} images", wim.image_count());
//! let image = wim.image(1)?;                               // 1-based; parses the tree
//! for (i, e) in image.entries.iter().enumerate() {
//!     if let Some(hash) = e.hash {
//!         let r = wim.read_blob(&hash, &mut |bytes| { let _ = bytes; Ok(()) })?;
//!         if !r.hash_ok { eprintln!("wim_blob_corrupt: {}", image.path_string(i, '\\')); }
//!     }
//! }
//! # let _ = xml; Ok(()) }
//! ```
//!
//! - [`Wim::open`] / [`Wim::from_reader`] over any [`ReadAt`] (`File`, `Vec<u8>`, `&[u8]`,
//!   `Arc<T>`); a `Wim<R>` is `Sync` when `R` is, so threads can read blobs concurrently.
//! - [`Wim::header`], [`Wim::xml_info`], [`Wim::image_count`], [`Wim::image`] →
//!   [`Image`] (flat breadth-first [`Entry`] list with parent/children indices,
//!   [`Image::path`], [`Image::lookup`] case-insensitive).
//! - [`Wim::blob_entry`], [`Wim::blobs`], [`Wim::blobs_by_resource`] (groups of blobs that
//!   share compressed chunks).
//! - [`Wim::read_blob`] streams one blob chunk by chunk (memory flat) and reports whether its
//!   SHA-1 matches; [`Wim::read_blobs`] reads many, decoding every needed chunk of a solid
//!   resource exactly once. A hash mismatch is a result (`hash_ok == false`), not an error.
//! - [`Wim::verify_integrity`] checks the optional integrity table.
//!
//! # Blob table (`wim-and-codecs.md` §1.5)
//!
//! Entries of 50 bytes: reshdr (24), u16 part number, u32 reference count, SHA-1 (20).
//! METADATA entries (reference count ≠ 0) are the images' metadata resources, in table order;
//! their number must equal the header's image count. Other entries are blobs keyed by SHA-1
//! (duplicates, zero hashes and empty blobs ignored). Consecutive SOLID entries form a *run*:
//! entries with original size 0x1_0000_0000 are solid resources, the others are blobs whose
//! offset is in the concatenated uncompressed data of the run's resources, and whose size is
//! the reshdr's size field. The SOLID flag is ignored in version-0x10D00 files, as wimlib
//! does. The table is capped at [`MAX_BLOB_TABLE_SIZE`]; metadata resources at
//! [`MAX_METADATA_SIZE`].
//!
//! # Integrity table (`wim-and-codecs.md` §1.9)
//!
//! u32 size (= 12 + 20n), u32 n, u32 chunk size, n SHA-1s of the chunks of file range
//! `208 .. blob table offset + size`.
#![deny(missing_docs)]

pub mod header;
pub mod metadata;
pub mod readat;
pub mod resource;
pub mod xml;

use std::collections::HashMap;
use std::io;
use std::path::Path;

use sha1::{Digest, Sha1};

pub use header::{Compression, Header, ResHdr};
pub use metadata::{Entry, Image, NamedStream, Reparse};
pub use readat::ReadAt;
pub use resource::{ChunkedResource, Scratch, SolidHeader};
pub use xml::{WindowsVersion, XmlImage, XmlInfo};

/// Largest blob table accepted (512 MiB, about 10.7 million entries; a multi-edition
/// install.wim has under a million).
pub const MAX_BLOB_TABLE_SIZE: u64 = 512 << 20;
/// Largest uncompressed metadata resource accepted (1 GiB; a full Windows image's is a few
/// hundred MiB at most). Memory grows with the bytes actually decoded, not with this value.
pub const MAX_METADATA_SIZE: u64 = 1 << 30;
/// Largest integrity-table chunk size accepted (the file is hashed in pieces anyway).
pub const MAX_INTEGRITY_CHUNK: u32 = 1 << 30;
/// Original-size value that marks a solid resource entry in the blob table.
pub const SOLID_RESOURCE_MARK: u64 = 0x1_0000_0000;
const BLOB_ENTRY_SIZE: u64 = 50;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Why an archive or one of its parts could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the underlying file failed (or it is shorter than a part said).
    #[error("reading {what}: {source}")]
    Io {
        /// What was being read.
        what: &'static str,
        /// The I/O error.
        source: io::Error,
    },
    /// Not a WIM.
    #[error("not a WIM: magic {}", hex(.0))]
    BadMagic([u8; 8]),
    /// wimlib's pipable format.
    #[error("pipable WIM (WLPWM) is not supported")]
    Pipable,
    /// Header size field not 208.
    #[error("header size {0}, expected 208")]
    BadHeaderSize(u32),
    /// Version neither 0x10D00 nor 0xE00.
    #[error("unknown WIM version {0:#x}")]
    UnknownVersion(u32),
    /// Part of a split WIM.
    #[error("split WIM (part {part_number} of {total_parts}) is not supported")]
    SplitWim {
        /// Part number.
        part_number: u16,
        /// Total parts.
        total_parts: u16,
    },
    /// Part number not 1 in a one-part WIM.
    #[error("part number {0} in a one-part WIM")]
    BadPartNumber(u16),
    /// Inconsistent compression flags.
    #[error("invalid compression flags {0:#x}")]
    BadCompressionFlags(u32),
    /// Chunk size not allowed for the codec.
    #[error("chunk size {chunk_size} not valid for {compression:?}")]
    BadChunkSize {
        /// Chunk size found.
        chunk_size: u32,
        /// Codec.
        compression: Compression,
    },
    /// A count above its cap.
    #[error("too many {what}: {count} (max {max})")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// Count found.
        count: u64,
        /// Cap.
        max: u64,
    },
    /// A size above its cap.
    #[error("{what} too large: {size} bytes (max {max})")]
    TooLarge {
        /// What.
        what: &'static str,
        /// Size found.
        size: u64,
        /// Cap.
        max: u64,
    },
    /// A range past the end of the file (or of its container).
    #[error("{what} at {offset} size {size} runs past the end ({file_len})")]
    OutOfBounds {
        /// What.
        what: &'static str,
        /// Offset.
        offset: u64,
        /// Size.
        size: u64,
        /// Length of the container.
        file_len: u64,
    },
    /// COMPRESSED resource in an archive with no codec.
    #[error("compressed resource at {offset} but the header names no codec")]
    CompressedWithoutCodec {
        /// Resource offset.
        offset: u64,
    },
    /// Bad chunk table.
    #[error("bad chunk table at {offset}: {reason}")]
    BadChunkTable {
        /// Table offset.
        offset: u64,
        /// Why.
        reason: &'static str,
    },
    /// Bad chunk.
    #[error("bad chunk at {offset}: {reason}")]
    BadChunk {
        /// Chunk offset.
        offset: u64,
        /// Why.
        reason: &'static str,
    },
    /// Bad solid resource header.
    #[error("bad solid resource header at {offset}: {reason}")]
    BadSolidHeader {
        /// Resource offset.
        offset: u64,
        /// Why.
        reason: &'static str,
    },
    /// Stored resource whose two sizes differ.
    #[error(
        "stored resource at {offset}: size in WIM {size_in_wim} != original size {original_size}"
    )]
    StoredSizeMismatch {
        /// Offset.
        offset: u64,
        /// Stored size.
        size_in_wim: u64,
        /// Original size.
        original_size: u64,
    },
    /// The codec rejected a chunk.
    #[error("{compression:?} chunk at {offset}: {reason}")]
    Decompress {
        /// Codec.
        compression: Compression,
        /// Chunk offset.
        offset: u64,
        /// Codec's message.
        reason: String,
    },
    /// A resource that must not be solid (blob table, XML, integrity table) is.
    #[error("{what} is marked solid")]
    UnexpectedSolid {
        /// Which resource.
        what: &'static str,
    },
    /// Malformed blob table.
    #[error("bad blob table: {0}")]
    BadBlobTable(&'static str),
    /// Header image count differs from the number of metadata resources.
    #[error("header says {header} images but the blob table has {metadata} metadata resources")]
    ImageCountMismatch {
        /// From the header.
        header: u32,
        /// From the blob table.
        metadata: u32,
    },
    /// Image index out of range.
    #[error("no image {index} (the archive has {count})")]
    NoSuchImage {
        /// Requested.
        index: u32,
        /// Available.
        count: u32,
    },
    /// Metadata resource SHA-1 mismatch.
    #[error("metadata resource of image {index} is corrupt (SHA-1 mismatch)")]
    MetadataHashMismatch {
        /// Image index.
        index: u32,
    },
    /// Metadata stored in a solid resource.
    #[error("metadata resource of image {index} is solid (unsupported)")]
    SolidMetadata {
        /// Image index.
        index: u32,
    },
    /// Bad security data block.
    #[error("bad security data: {0}")]
    BadSecurityData(&'static str),
    /// Bad dentry.
    #[error("bad dentry at {offset}: {reason}")]
    BadDentry {
        /// Offset in the metadata resource.
        offset: u64,
        /// Why.
        reason: &'static str,
    },
    /// Subdirectory list reached twice.
    #[error("directory loop: subdir list at {offset} reached twice")]
    DentryLoop {
        /// Offset of the list.
        offset: u64,
    },
    /// Directory nesting above the cap.
    #[error("directories nested deeper than {max}")]
    TooDeep {
        /// Cap.
        max: u32,
    },
    /// Malformed XML data.
    #[error("bad XML data: {0}")]
    Xml(String),
    /// Archive has no XML data.
    #[error("archive has no XML data")]
    NoXml,
    /// Blob not in the blob table.
    #[error("blob {} not in the blob table", hex(.0))]
    BlobNotFound([u8; 20]),
    /// A solid blob outside its run.
    #[error("solid blob {} at {offset} size {size} lies outside its run ({run_size} bytes)", hex(.hash))]
    BlobOutOfRun {
        /// Blob hash.
        hash: [u8; 20],
        /// Offset in the run.
        offset: u64,
        /// Size.
        size: u64,
        /// Run's uncompressed size.
        run_size: u64,
    },
    /// The caller's sink failed.
    #[error("sink: {0}")]
    Sink(io::Error),
    /// Malformed integrity table.
    #[error("bad integrity table: {0}")]
    BadIntegrityTable(&'static str),
}

impl Error {
    pub(crate) fn io(what: &'static str, source: io::Error) -> Error {
        Error::Io { what, source }
    }
}

/// Where a blob's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Stored raw at `reshdr.offset`.
    Stored,
    /// Non-solid chunked resource (header's codec).
    Chunked,
    /// Inside solid run `run`, at `offset` in its concatenated uncompressed data.
    Solid {
        /// Run index.
        run: usize,
        /// Offset in the run.
        offset: u64,
    },
}

/// One blob-table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// SHA-1 of the uncompressed bytes.
    pub hash: [u8; 20],
    /// Uncompressed size.
    pub size: u64,
    /// The raw reshdr.
    pub reshdr: ResHdr,
    /// Reference count (informational).
    pub refcount: u32,
    /// Where the bytes are.
    pub location: Location,
}

/// Result of reading one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobRead {
    /// Bytes delivered.
    pub size: u64,
    /// SHA-1 of the delivered bytes.
    pub sha1: [u8; 20],
    /// Whether `sha1` equals the blob table's hash.
    pub hash_ok: bool,
}

/// Result of [`Wim::verify_integrity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// The archive has no integrity table.
    Absent,
    /// Checked; `bad_chunks` lists the chunks whose SHA-1 differs (empty = intact).
    Checked {
        /// Number of chunks.
        chunks: u64,
        /// Chunk size.
        chunk_size: u32,
        /// Indices of mismatching chunks.
        bad_chunks: Vec<u64>,
    },
}

#[derive(Debug, Clone)]
struct SolidRun {
    /// Resources with the run offset of their first byte.
    resources: Vec<(ChunkedResource, u64)>,
    /// Total uncompressed size.
    size: u64,
}

/// An open WIM archive.
#[derive(Debug)]
pub struct Wim<R> {
    r: R,
    id: u64,
    file_len: u64,
    header: Header,
    blobs: Vec<BlobEntry>,
    by_hash: HashMap<[u8; 20], usize>,
    metadata: Vec<BlobEntry>,
    runs: Vec<SolidRun>,
    xml: Result<XmlInfo, Error>,
}

impl Wim<std::fs::File> {
    /// Open an archive file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let f = std::fs::File::open(path).map_err(|e| Error::io("archive", e))?;
        Wim::from_reader(f)
    }
}

/// Sink for many blobs: (index in the request, bytes).
pub type MultiSink<'a> = dyn FnMut(usize, &[u8]) -> io::Result<()> + 'a;

impl<R: ReadAt> Wim<R> {
    /// Read the header, blob table and XML data.
    pub fn from_reader(r: R) -> Result<Self, Error> {
        let file_len = r.len().map_err(|e| Error::io("archive length", e))?;
        let mut hb = [0u8; header::HEADER_SIZE];
        r.read_at(0, &mut hb).map_err(|e| Error::io("header", e))?;
        let header = Header::parse(&hb)?;
        let mut wim = Wim {
            r,
            id: resource::next_archive_id(),
            file_len,
            header,
            blobs: Vec::new(),
            by_hash: HashMap::new(),
            metadata: Vec::new(),
            runs: Vec::new(),
            xml: Err(Error::NoXml),
        };
        wim.load_blob_table()?;
        if !wim.header.xml.is_zero() {
            wim.xml = wim
                .read_resource_vec(&wim.header.xml, xml::MAX_XML_SIZE, "XML data")
                .and_then(|b| xml::parse_utf16(&b));
        }
        Ok(wim)
    }

    fn load_blob_table(&mut self) -> Result<(), Error> {
        let bt = self.header.blob_table;
        if bt.original_size % BLOB_ENTRY_SIZE != 0 {
            return Err(Error::BadBlobTable("size is not a multiple of 50"));
        }
        let table = self.read_resource_vec(&bt, MAX_BLOB_TABLE_SIZE, "blob table")?;
        let solid_ok = self.header.version == header::VERSION_SOLID;
        let mut run_open = false;
        for raw in table.chunks_exact(BLOB_ENTRY_SIZE as usize) {
            let mut reshdr = header::reshdr_at(raw, 0);
            if !solid_ok {
                reshdr.flags &= !header::RESHDR_SOLID;
            }
            let refcount = header::u32_at(raw, 26);
            let mut hash = [0u8; 20];
            hash.copy_from_slice(&raw[30..50]);
            if !reshdr.is_solid() {
                run_open = false;
            }
            if reshdr.is_solid() {
                if !run_open {
                    self.runs.push(SolidRun {
                        resources: Vec::new(),
                        size: 0,
                    });
                    run_open = true;
                }
                let run_idx = self.runs.len() - 1;
                if reshdr.original_size == SOLID_RESOURCE_MARK {
                    let (geo, _) = ChunkedResource::solid(&self.r, &reshdr, self.file_len)?;
                    let run = &mut self.runs[run_idx];
                    if run.resources.len() >= 1 << 20 {
                        return Err(Error::TooMany {
                            what: "solid resources in a run",
                            count: run.resources.len() as u64,
                            max: 1 << 20,
                        });
                    }
                    let base = run.size;
                    run.size = base
                        .checked_add(geo.uncompressed_size)
                        .ok_or(Error::BadBlobTable("solid run size overflows"))?;
                    run.resources.push((geo, base));
                    continue;
                }
                if reshdr.is_metadata() {
                    if refcount != 0 {
                        self.metadata.push(BlobEntry {
                            hash,
                            size: reshdr.size_in_wim,
                            reshdr,
                            refcount,
                            location: Location::Solid {
                                run: run_idx,
                                offset: reshdr.offset,
                            },
                        });
                    }
                    continue;
                }
                let size = reshdr.size_in_wim;
                self.add_blob(BlobEntry {
                    hash,
                    size,
                    reshdr,
                    refcount,
                    location: Location::Solid {
                        run: run_idx,
                        offset: reshdr.offset,
                    },
                });
                continue;
            }
            let location = if reshdr.is_compressed() {
                Location::Chunked
            } else {
                Location::Stored
            };
            let entry = BlobEntry {
                hash,
                size: reshdr.original_size,
                reshdr,
                refcount,
                location,
            };
            if reshdr.is_metadata() {
                if refcount != 0 {
                    self.metadata.push(entry);
                }
            } else {
                self.add_blob(entry);
            }
        }
        if self.metadata.len() as u64 != u64::from(self.header.image_count) {
            return Err(Error::ImageCountMismatch {
                header: self.header.image_count,
                metadata: self.metadata.len().min(u32::MAX as usize) as u32,
            });
        }
        Ok(())
    }

    fn add_blob(&mut self, e: BlobEntry) {
        if e.hash == [0u8; 20] || e.size == 0 || self.by_hash.contains_key(&e.hash) {
            return;
        }
        self.by_hash.insert(e.hash, self.blobs.len());
        self.blobs.push(e);
    }

    /// Read a whole non-solid resource (stored or chunked) into memory, at most `cap` bytes.
    fn read_resource_vec(
        &self,
        res: &ResHdr,
        cap: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, Error> {
        if res.original_size > cap {
            return Err(Error::TooLarge {
                what,
                size: res.original_size,
                max: cap,
            });
        }
        if res.is_solid() {
            return Err(Error::UnexpectedSolid { what });
        }
        res.check_in_file(what, self.file_len)?;
        // Grow with the data actually decoded rather than trusting the size field.
        let mut out = Vec::with_capacity(res.original_size.min(16 << 20) as usize);
        let mut scratch = Scratch::new();
        scratch.bind(self.id);
        self.stream_nonsolid(res, 0, res.original_size, &mut scratch, &mut |_, b| {
            out.extend_from_slice(b);
            Ok(())
        })?;
        Ok(out)
    }

    fn stream_nonsolid(
        &self,
        res: &ResHdr,
        start: u64,
        end: u64,
        scratch: &mut Scratch,
        sink: &mut resource::PieceSink<'_>,
    ) -> Result<(), Error> {
        if res.is_compressed() {
            let geo = ChunkedResource::non_solid(
                res,
                self.header.compression,
                self.header.chunk_size,
                self.file_len,
            )?;
            geo.stream(&self.r, start, end, scratch, sink)
        } else {
            resource::stream_stored(&self.r, res, self.file_len, start, end, scratch, sink)
        }
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of images.
    pub fn image_count(&self) -> u32 {
        self.header.image_count
    }

    /// The XML data, or why it could not be read (it is not needed to read images).
    pub fn xml_info(&self) -> Result<&XmlInfo, &Error> {
        self.xml.as_ref()
    }

    /// Blob-table entry of a blob.
    pub fn blob_entry(&self, hash: &[u8; 20]) -> Option<&BlobEntry> {
        self.by_hash.get(hash).and_then(|&i| self.blobs.get(i))
    }

    /// All file-data blobs, in table order.
    pub fn blobs(&self) -> &[BlobEntry] {
        &self.blobs
    }

    /// Metadata resources, one per image in order.
    pub fn metadata_entries(&self) -> &[BlobEntry] {
        &self.metadata
    }

    /// Blobs grouped by the compressed data they share: one group per solid run (sorted by
    /// offset in the run), one single-blob group per non-solid blob. Passing a group to
    /// [`Wim::read_blobs`] decodes each of its chunks once.
    pub fn blobs_by_resource(&self) -> Vec<Vec<[u8; 20]>> {
        let mut groups: Vec<Vec<[u8; 20]>> = Vec::new();
        let mut run_group: Vec<Option<usize>> = vec![None; self.runs.len()];
        for b in &self.blobs {
            match b.location {
                Location::Solid { run, .. } => {
                    let g = match run_group.get(run).copied().flatten() {
                        Some(g) => g,
                        None => {
                            groups.push(Vec::new());
                            if let Some(slot) = run_group.get_mut(run) {
                                *slot = Some(groups.len() - 1);
                            }
                            groups.len() - 1
                        }
                    };
                    groups[g].push(b.hash);
                }
                _ => groups.push(vec![b.hash]),
            }
        }
        for g in &mut groups {
            g.sort_by_key(|h| match self.blob_entry(h).map(|b| b.location) {
                Some(Location::Solid { offset, .. }) => offset,
                _ => 0,
            });
        }
        groups
    }

    /// Read the raw (uncompressed) metadata resource of image `index` (1-based), checking its
    /// SHA-1.
    pub fn metadata_bytes(&self, index: u32) -> Result<Vec<u8>, Error> {
        let count = self.image_count();
        let m = index
            .checked_sub(1)
            .and_then(|i| self.metadata.get(i as usize))
            .ok_or(Error::NoSuchImage { index, count })?;
        if m.reshdr.is_solid() {
            return Err(Error::SolidMetadata { index });
        }
        let buf = self.read_resource_vec(&m.reshdr, MAX_METADATA_SIZE, "metadata resource")?;
        let digest: [u8; 20] = Sha1::digest(&buf).into();
        if digest != m.hash {
            return Err(Error::MetadataHashMismatch { index });
        }
        Ok(buf)
    }

    /// Parse the directory tree of image `index` (1-based). Entry sizes come from the blob
    /// table (0 for empty streams and for blobs missing from the table).
    pub fn image(&self, index: u32) -> Result<Image, Error> {
        let buf = self.metadata_bytes(index)?;
        let mut img = metadata::parse(&buf)?;
        for e in &mut img.entries {
            if let Some(h) = &e.hash {
                e.size = self.blob_entry(h).map_or(0, |b| b.size);
            }
            for s in &mut e.named_streams {
                if let Some(h) = &s.hash {
                    s.size = self.blob_entry(h).map_or(0, |b| b.size);
                }
            }
        }
        Ok(img)
    }

    /// Stream one blob to `sink` chunk by chunk and check its SHA-1. The all-zero hash is the
    /// empty blob. A SHA-1 mismatch is reported in [`BlobRead::hash_ok`], not as an error.
    pub fn read_blob(
        &self,
        hash: &[u8; 20],
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<BlobRead, Error> {
        let mut scratch = Scratch::new();
        self.read_blob_with(&mut scratch, hash, sink)
    }

    /// [`Wim::read_blob`] with caller-owned buffers (reuse one [`Scratch`] per thread).
    pub fn read_blob_with(
        &self,
        scratch: &mut Scratch,
        hash: &[u8; 20],
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<BlobRead, Error> {
        let r = self.read_blobs_with(scratch, std::slice::from_ref(hash), &mut |_, b| sink(b))?;
        r.into_iter().next().ok_or(Error::BlobNotFound(*hash))
    }

    /// The stored chunks of a blob in a non-solid compressed resource, with their
    /// uncompressed lengths (the raw codec streams; see [`ChunkedResource::raw_chunks`]).
    pub fn raw_chunks(&self, hash: &[u8; 20], max: u64) -> Result<Vec<(Vec<u8>, u64)>, Error> {
        let blob = self.blob_entry(hash).ok_or(Error::BlobNotFound(*hash))?;
        if !blob.reshdr.is_compressed() || !matches!(blob.location, Location::Chunked) {
            return Err(Error::Xml(
                "raw_chunks needs a blob of a non-solid compressed resource".into(),
            ));
        }
        let geo = ChunkedResource::non_solid(
            &blob.reshdr,
            self.header.compression,
            self.header.chunk_size,
            self.file_len,
        )?;
        geo.raw_chunks(&self.r, max)
    }

    /// Read a whole blob into memory if it is at most `max` bytes.
    pub fn read_blob_vec(&self, hash: &[u8; 20], max: u64) -> Result<(Vec<u8>, BlobRead), Error> {
        let size = if *hash == [0u8; 20] {
            0
        } else {
            self.blob_entry(hash)
                .ok_or(Error::BlobNotFound(*hash))?
                .size
        };
        if size > max {
            return Err(Error::TooLarge {
                what: "blob",
                size,
                max,
            });
        }
        let mut v = Vec::with_capacity(size as usize);
        let r = self.read_blob(hash, &mut |b| {
            v.extend_from_slice(b);
            Ok(())
        })?;
        Ok((v, r))
    }

    /// Read many blobs. `sink(i, bytes)` receives the bytes of `hashes[i]` in order; pieces of
    /// different blobs may interleave. Blobs of one solid run are read together so that every
    /// needed chunk is decoded once (chunks no requested blob touches are skipped). Returns one
    /// [`BlobRead`] per hash. Any error (missing blob, bad chunk, sink error) ends the call.
    pub fn read_blobs(
        &self,
        hashes: &[[u8; 20]],
        sink: &mut MultiSink<'_>,
    ) -> Result<Vec<BlobRead>, Error> {
        let mut scratch = Scratch::new();
        self.read_blobs_with(&mut scratch, hashes, sink)
    }

    /// [`Wim::read_blobs`] with caller-owned buffers.
    pub fn read_blobs_with(
        &self,
        scratch: &mut Scratch,
        hashes: &[[u8; 20]],
        sink: &mut MultiSink<'_>,
    ) -> Result<Vec<BlobRead>, Error> {
        scratch.bind(self.id);
        let mut hashers: Vec<(Sha1, u64)> = vec![(Sha1::new(), 0); hashes.len()];
        // run -> (start, end, request index)
        let mut by_run: HashMap<usize, Vec<(u64, u64, usize)>> = HashMap::new();
        for (i, h) in hashes.iter().enumerate() {
            if *h == [0u8; 20] {
                continue;
            }
            let e = self.blob_entry(h).ok_or(Error::BlobNotFound(*h))?;
            match e.location {
                Location::Solid { run, offset } => {
                    let run_size = self.runs.get(run).map_or(0, |r| r.size);
                    let end = offset
                        .checked_add(e.size)
                        .filter(|&x| x <= run_size)
                        .ok_or(Error::BlobOutOfRun {
                            hash: *h,
                            offset,
                            size: e.size,
                            run_size,
                        })?;
                    by_run.entry(run).or_default().push((offset, end, i));
                }
                _ => {
                    let (hs, n) = &mut hashers[i];
                    self.stream_nonsolid(
                        &e.reshdr,
                        0,
                        e.reshdr.original_size,
                        scratch,
                        &mut |_, b| {
                            hs.update(b);
                            *n += b.len() as u64;
                            sink(i, b).map_err(Error::Sink)
                        },
                    )?;
                }
            }
        }
        let mut runs: Vec<_> = by_run.into_iter().collect();
        runs.sort_by_key(|(r, _)| *r);
        for (run, mut items) in runs {
            items.sort_unstable();
            self.read_run(run, &items, scratch, &mut hashers, sink)?;
        }
        Ok(hashers
            .into_iter()
            .zip(hashes)
            .map(|((h, n), want)| {
                let sha1: [u8; 20] = if *want == [0u8; 20] {
                    [0u8; 20]
                } else {
                    h.finalize().into()
                };
                BlobRead {
                    size: n,
                    sha1,
                    hash_ok: sha1 == *want,
                }
            })
            .collect())
    }

    /// Stream the parts of run `run` covering `items` (sorted `(start, end, index)`).
    fn read_run(
        &self,
        run: usize,
        items: &[(u64, u64, usize)],
        scratch: &mut Scratch,
        hashers: &mut [(Sha1, u64)],
        sink: &mut MultiSink<'_>,
    ) -> Result<(), Error> {
        let Some(run) = self.runs.get(run) else {
            return Ok(());
        };
        let mut next = 0usize;
        let mut active: Vec<usize> = Vec::new();
        for (geo, base) in &run.resources {
            let rend = base + geo.uncompressed_size;
            // Chunk-aligned, merged intervals of this resource that some blob needs.
            let mut iv: Vec<(u64, u64)> = Vec::new();
            for &(s, e, _) in items {
                if e <= *base || s >= rend {
                    continue;
                }
                let lo = (s.max(*base) - base) / geo.chunk_size * geo.chunk_size;
                let hi = (e.min(rend) - base)
                    .div_ceil(geo.chunk_size)
                    .saturating_mul(geo.chunk_size)
                    .min(geo.uncompressed_size);
                match iv.last_mut() {
                    Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                    _ => iv.push((lo, hi)),
                }
            }
            for (lo, hi) in iv {
                geo.stream(&self.r, lo, hi, scratch, &mut |off, piece| {
                    let ps = base + off;
                    let pe = ps + piece.len() as u64;
                    while let Some(&(s, _, _)) = items.get(next) {
                        if s >= pe {
                            break;
                        }
                        active.push(next);
                        next += 1;
                    }
                    for &a in &active {
                        let (s, e, idx) = items[a];
                        let from = s.max(ps);
                        let to = e.min(pe);
                        if from >= to {
                            continue;
                        }
                        let part = &piece[(from - ps) as usize..(to - ps) as usize];
                        if let Some((h, n)) = hashers.get_mut(idx) {
                            h.update(part);
                            *n += part.len() as u64;
                        }
                        sink(idx, part).map_err(Error::Sink)?;
                    }
                    active.retain(|&a| items[a].1 > pe);
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Check the integrity table, if the archive has one.
    pub fn verify_integrity(&self) -> Result<Integrity, Error> {
        let it = self.header.integrity;
        if it.is_zero() {
            return Ok(Integrity::Absent);
        }
        if it.original_size < 12 {
            return Err(Error::BadIntegrityTable("shorter than 12 bytes"));
        }
        let range_end = self
            .header
            .blob_table
            .offset
            .checked_add(self.header.blob_table.size_in_wim)
            .filter(|&e| e >= header::HEADER_SIZE as u64 && e <= self.file_len)
            .ok_or(Error::BadIntegrityTable("checked range outside the file"))?;
        let mut head = [0u8; 12];
        it.check_in_file("integrity table", self.file_len)?;
        self.r
            .read_at(it.offset, &mut head)
            .map_err(|e| Error::io("integrity table", e))?;
        let size = u64::from(header::u32_at(&head, 0));
        let n = u64::from(header::u32_at(&head, 4));
        let chunk = header::u32_at(&head, 8);
        if size != it.original_size || size != 12 + 20 * n {
            return Err(Error::BadIntegrityTable(
                "size field disagrees with the entry count",
            ));
        }
        if chunk == 0 || chunk > MAX_INTEGRITY_CHUNK {
            return Err(Error::BadIntegrityTable("chunk size 0 or above 1 GiB"));
        }
        let range = range_end - header::HEADER_SIZE as u64;
        if n != range.div_ceil(u64::from(chunk)) {
            return Err(Error::BadIntegrityTable(
                "entry count does not cover the checked range",
            ));
        }
        let table = self.read_resource_vec(&it, it.original_size, "integrity table")?;
        let mut bad = Vec::new();
        let mut buf = sxs_iobuf::AlignedBuf::with_capacity(resource::READ_BATCH);
        for k in 0..n {
            let start = header::HEADER_SIZE as u64 + k * u64::from(chunk);
            let end = (start + u64::from(chunk)).min(range_end);
            let mut h = Sha1::new();
            let mut pos = start;
            while pos < end {
                let len = (end - pos).min(resource::READ_BATCH as u64) as usize;
                let buf = buf.window(len, pos);
                self.r
                    .read_at(pos, buf)
                    .map_err(|e| Error::io("integrity range", e))?;
                h.update(buf);
                pos += len as u64;
            }
            let d: [u8; 20] = h.finalize().into();
            let at = 12 + 20 * k as usize;
            if table.get(at..at + 20) != Some(&d[..]) {
                bad.push(k);
            }
        }
        Ok(Integrity::Checked {
            chunks: n,
            chunk_size: chunk,
            bad_chunks: bad,
        })
    }

    /// The underlying reader.
    pub fn reader(&self) -> &R {
        &self.r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_sync<T: Sync + Send>() {}

    #[test]
    fn wim_over_file_is_sync() {
        assert_sync::<Wim<std::fs::File>>();
        assert_sync::<Wim<Vec<u8>>>();
    }
}
