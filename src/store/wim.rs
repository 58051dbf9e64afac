//! An image inside a WIM or ESD archive, read in place: no extraction, no mount, any OS.
//!
//! Paths resolve through the image's dentry tree (case-insensitively, as the WIM crate sorts
//! it); content streams blob by blob through the `sxs-wim` reader, which checks each blob
//! against the archive's own SHA-1 on the way, so a damaged archive is told apart from a
//! damaged store. A blob shared by many paths has one [`ContentId`]: the audit reads and
//! hashes it once. Blobs of a solid resource share a group and are read in offset order with
//! one per-thread scratch, so each solid chunk is decompressed once.

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::path::Path;

use sxs_wim::{Image as WimImage, Location, Scratch, Wim};

use super::{ContentId, DirEntry, EntryKind, ImageSource, ReadInfo, Sink};

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

/// One image of an opened archive.
pub struct WimSource {
    wim: Wim<File>,
    image: WimImage,
    index: u32,
    label: String,
}

/// What an archive holds, for `info` and the reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WimImageInfo {
    /// 1-based index.
    pub index: u32,
    /// NAME.
    pub name: Option<String>,
    /// DESCRIPTION.
    pub description: Option<String>,
    /// EDITIONID or FLAGS.
    pub edition: Option<String>,
    /// `major.minor.build.spbuild` when the XML says.
    pub version: Option<String>,
    /// FILECOUNT.
    pub files: Option<u64>,
    /// TOTALBYTES.
    pub bytes: Option<u64>,
}

fn wim_err(path: &Path, e: sxs_wim::Error) -> io::Error {
    io::Error::other(format!("{}: {e}", path.display()))
}

/// The images an archive holds, from its XML data.
pub fn images(wim: &Wim<File>) -> Vec<WimImageInfo> {
    let Ok(xml) = wim.xml_info() else {
        return Vec::new();
    };
    xml.images
        .iter()
        .map(|i| WimImageInfo {
            index: i.index,
            name: i.name.clone(),
            description: i.description.clone(),
            edition: i.edition_id.clone().or_else(|| i.flags.clone()),
            version: version_string(&i.version),
            files: i.file_count,
            bytes: i.total_bytes,
        })
        .collect()
}

fn version_string(v: &sxs_wim::xml::WindowsVersion) -> Option<String> {
    let major = v.major?;
    Some(format!(
        "{major}.{}.{}.{}",
        v.minor.unwrap_or(0),
        v.build.unwrap_or(0),
        v.spbuild.unwrap_or(0)
    ))
}

/// Whether a file is a WIM/ESD archive (by its magic).
pub fn is_wim(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"MSWIM\0\0\0"
}

/// Open an archive only (for `info`).
pub fn open_archive(path: &Path) -> io::Result<Wim<File>> {
    Wim::open(path).map_err(|e| wim_err(path, e))
}

impl WimSource {
    /// Open image `index` (1-based) of the archive at `path`.
    pub fn open(path: &Path, index: u32) -> io::Result<WimSource> {
        let wim = open_archive(path)?;
        let count = wim.image_count();
        if index == 0 || index > count {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} holds {count} image(s); there is no image {index}",
                    path.display()
                ),
            ));
        }
        let image = wim.image(index).map_err(|e| wim_err(path, e))?;
        Ok(WimSource {
            wim,
            image,
            index,
            label: format!("{}:{index}", path.display()),
        })
    }

    /// The chosen image's 1-based index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// What the archive says about its images.
    pub fn images(&self) -> Vec<WimImageInfo> {
        images(&self.wim)
    }

    fn entry(&self, path: &[&str]) -> io::Result<&sxs_wim::metadata::Entry> {
        self.image
            .lookup(path)
            .and_then(|i| self.image.entries.get(i))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} not found in the image", self.display_path(path)),
                )
            })
    }
}

impl ImageSource for WimSource {
    fn list(&self, dir: &[&str]) -> io::Result<Vec<DirEntry>> {
        let i = self.image.lookup(dir).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no such folder in the image")
        })?;
        if !self.image.entries.get(i).is_some_and(|e| e.is_dir) {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"));
        }
        Ok(self
            .image
            .children(i)
            .iter()
            .map(|e| {
                let kind = if e.reparse.is_some() {
                    EntryKind::Symlink
                } else if e.is_dir {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                };
                DirEntry {
                    name: e.name.clone(),
                    kind,
                    size: e.size,
                }
            })
            .collect())
    }

    fn read(&self, path: &[&str], sink: &mut Sink<'_>) -> io::Result<ReadInfo> {
        let entry = self.entry(path)?;
        let hash = entry.hash.unwrap_or([0; 20]);
        let read = SCRATCH.with(|s| self.wim.read_blob_with(&mut s.borrow_mut(), &hash, sink));
        match read {
            Ok(r) => Ok(ReadInfo {
                container_ok: Some(r.hash_ok),
            }),
            Err(sxs_wim::Error::Io { source, .. }) => Err(source),
            Err(e) => Err(io::Error::other(format!(
                "the archive cannot give this file: {e}"
            ))),
        }
    }

    fn display_path(&self, path: &[&str]) -> String {
        format!("{}\\{}", self.label, path.join("\\"))
    }

    fn content_id(&self, path: &[&str]) -> Option<ContentId> {
        let hash = self.entry(path).ok()?.hash?;
        let blob = self.wim.blob_entry(&hash)?;
        let (group, offset) = match blob.location {
            Location::Solid { run, offset, .. } => (run as u64, offset),
            _ => (u64::MAX - blob.reshdr.offset, 0),
        };
        Some(ContentId {
            group,
            offset,
            id: hash,
        })
    }

    fn kind(&self) -> &'static str {
        "wim"
    }

    fn describe(&self) -> Option<String> {
        let images = self.images();
        let me = images.iter().find(|i| i.index == self.index)?;
        Some(format!(
            "image {} of {}: {}{}{}",
            self.index,
            images.len(),
            me.name.as_deref().unwrap_or("(no name)"),
            me.edition
                .as_deref()
                .map(|e| format!(", edition {e}"))
                .unwrap_or_default(),
            me.version
                .as_deref()
                .map(|v| format!(", build {v}"))
                .unwrap_or_default()
        ))
    }
}
