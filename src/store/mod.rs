//! The image layer: the only code that touches files. An [`ImageSource`] lists folders and
//! streams files of one image, addressed by path components from the image's own root; it is
//! implemented for a directory tree ([`dir`]) and for an image inside a WIM archive. On top of
//! it, [`Image`] finds the component store (`Windows\WinSxS`) whatever level the user pointed
//! at, and resolves names case-insensitively, as NTFS does.
//!
//! Nothing here ever writes, and nothing follows a symbolic link: a link where a payload should
//! be is reported, not read, so an image cannot lead the audit out of itself.

pub mod base;
pub mod dir;
pub mod servicing;
pub mod wim;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What kind of entry a listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link or reparse point: never followed.
    Symlink,
    /// A device, socket, FIFO...
    Other,
}

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name as stored.
    pub name: String,
    /// Its kind.
    pub kind: EntryKind,
    /// Its size in bytes, for files of sources that know it without asking (a WIM); 0 where
    /// that would cost a call per entry (a directory).
    pub size: u64,
}

/// What looking an entry up by its name tells: its kind and, for a file, its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Its kind.
    pub kind: EntryKind,
    /// Its size in bytes.
    pub size: u64,
}

/// A receiver of file content, chunk by chunk.
pub type Sink<'a> = dyn FnMut(&[u8]) -> io::Result<()> + 'a;

/// What reading a file said about its container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadInfo {
    /// The container's own checksum of this content (a WIM blob's SHA-1): `Some(false)` when
    /// the archive itself is damaged, `None` when the container keeps no checksum.
    pub container_ok: Option<bool>,
}

/// Where a file's content lives, for sources that store content once (WIM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId {
    /// Read together with other content of the same group, in `offset` order (a solid run).
    pub group: u64,
    /// Position inside the group.
    pub offset: u64,
    /// The content's identity (a WIM blob's SHA-1).
    pub id: [u8; 20],
}

/// One image's files, read-only.
pub trait ImageSource: Send + Sync {
    /// List a folder. Paths are components from the source's root; names are as stored.
    fn list(&self, dir: &[&str]) -> io::Result<Vec<DirEntry>>;
    /// Stream a file's bytes into `sink` in order, in chunks of any size. The first chunk is
    /// at least 4 bytes long unless the file is shorter (callers sniff the header there).
    fn read(&self, path: &[&str], sink: &mut Sink<'_>) -> io::Result<ReadInfo>;
    /// How to show a path of this source to a person.
    fn display_path(&self, path: &[&str]) -> String;
    /// The identity of a file's content when the source stores content once, so that it is
    /// read and hashed once for every path that shares it.
    fn content_id(&self, path: &[&str]) -> Option<ContentId> {
        let _ = path;
        None
    }
    /// What kind of source this is (`directory`, `wim`).
    fn kind(&self) -> &'static str;
    /// What the source says about the image, for reports (a WIM's image name and build).
    fn describe(&self) -> Option<String> {
        None
    }
    /// Open the folder `dir` to look up and read files directly inside it by their exact
    /// names, where that costs less than listing it and opening each file by its whole path
    /// (a directory tree on Unix: one descriptor, then `statat` and `openat` per file).
    /// `Ok(None)`: the source has no such shortcut; list the folder instead. Files read
    /// through an open folder are never grouped by [`ImageSource::content_id`], so a source
    /// that stores content once must not offer one.
    fn open_folder(&self, dir: &[&str]) -> io::Result<Option<Box<dyn OpenFolder>>> {
        let _ = dir;
        Ok(None)
    }
}

/// A folder opened by [`ImageSource::open_folder`] or [`OpenFolder::folder`]. Paths are
/// components below it, matched exactly as the file system matches names; a miss says nothing
/// about other spellings, so a caller that must match names case-insensitively lists the
/// folder after a miss. No link is followed, at any level.
pub trait OpenFolder: Send + Sync {
    /// The entry at `path`, with its size; `None` if there is none, or if a folder on the
    /// way is not a folder.
    fn entry(&self, path: &[&str]) -> io::Result<Option<Meta>>;
    /// Read the file at `path`, as [`ImageSource::read`] does, once [`entry`] or a listing
    /// said it is a [`EntryKind::File`]. `size` is the size [`entry`] gave, which saves the
    /// read that would only confirm the end of the file, or `u64::MAX` to read to the end.
    ///
    /// [`entry`]: OpenFolder::entry
    fn read(&self, path: &[&str], size: u64, sink: &mut Sink<'_>) -> io::Result<ReadInfo>;
    /// Open the file at `path` to be read in chunks by the caller, failing as
    /// [`OpenFolder::read`] would; the reader ends after `size` bytes. For callers that read
    /// several files at once ([`fill`] a buffer from each in turn), after [`entry`] of this
    /// folder, or of a folder [`folder`] gave from it, found the file: the folders on the way
    /// were checked then and are not checked again (the last name still is never followed).
    ///
    /// [`entry`]: OpenFolder::entry
    /// [`folder`]: OpenFolder::folder
    fn open(&self, path: &[&str], size: u64) -> io::Result<Box<dyn io::Read + Send>>;
    /// The folder `listed` inside this one, open in the same way, as a listing of this folder
    /// gave it; `None` unless it was listed as a [`EntryKind::Dir`]. The source trusts the
    /// listing rather than checking again (on Unix this costs no system call), so `listed`
    /// must come from a listing, never be made up.
    fn folder(&self, listed: &DirEntry) -> Option<Box<dyn OpenFolder>>;
}

/// Which level the user pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// The image root, which holds `Windows`.
    Root,
    /// The `Windows` folder.
    Windows,
    /// The `WinSxS` folder itself.
    Winsxs,
}

/// An opened image: its source and where the component store is in it.
pub struct Image {
    /// The files.
    pub source: Box<dyn ImageSource>,
    /// What the user gave.
    pub input: PathBuf,
    /// Which level that was.
    pub layout: Layout,
    /// Components of the `WinSxS` folder from the source root, as stored.
    pub winsxs: Vec<String>,
    /// Components of the `Windows` folder, when the input contains it.
    pub windows: Option<Vec<String>>,
    /// The `WinSxS` listing, made once: finding the image, finding its servicing stack and
    /// the audit all need it, and it is 20,000 names and more.
    listing: std::sync::OnceLock<Vec<DirEntry>>,
}

/// `install.wim:3` -> (`install.wim`, Some(3)) when `install.wim` exists and the suffix is a
/// number; otherwise the path unchanged.
fn split_index(path: &Path) -> (PathBuf, Option<u32>) {
    if path.exists() {
        return (path.to_path_buf(), None);
    }
    let s = path.to_string_lossy();
    if let Some((file, n)) = s.rsplit_once(':') {
        if let Ok(n) = n.parse::<u32>() {
            if Path::new(file).is_file() {
                return (PathBuf::from(file), Some(n));
            }
        }
    }
    (path.to_path_buf(), None)
}

/// Read from `reader` until `buf` is full or the reader ends; the bytes read. A short count
/// means the end: whoever sniffs a header finds it in the first buffer, and whoever reads
/// block by block gets whole blocks until the last.
pub fn fill(reader: &mut dyn io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Find `name` in a listing, exactly first, then ignoring ASCII case.
pub fn find<'a>(entries: &'a [DirEntry], name: &str) -> Option<&'a DirEntry> {
    entries
        .iter()
        .find(|e| e.name == name)
        .or_else(|| entries.iter().find(|e| e.name.eq_ignore_ascii_case(name)))
}

fn has_dir(source: &dyn ImageSource, dir: &[&str], name: &str) -> Option<String> {
    let entries = source.list(dir).ok()?;
    find(&entries, name)
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| e.name.clone())
}

impl Image {
    /// Open an image: a folder (see [`Image::open_dir`]), or a WIM/ESD archive, given as
    /// `install.wim` (image 1, or `index`), or `install.wim:3`.
    pub fn open(path: &Path, index: Option<u32>) -> Result<Image> {
        let (file, suffix) = split_index(path);
        if file.is_file() && wim::is_wim(&file) {
            let index = match (suffix, index) {
                (Some(a), Some(b)) if a != b => {
                    return Err(Error::Usage(format!(
                        "{} names image {a}, --index says {b}",
                        path.display()
                    )))
                }
                (Some(a), _) | (None, Some(a)) => a,
                (None, None) => 1,
            };
            let source = wim::WimSource::open(&file, index).map_err(|e| Error::NotAnImage {
                path: path.into(),
                reason: e.to_string(),
            })?;
            let label = format!("{}:{index}", file.display());
            return Image::detect(Box::new(source), Path::new(&label));
        }
        if index.is_some() {
            return Err(Error::Usage(format!(
                "--index applies to WIM/ESD archives; {} is not one",
                path.display()
            )));
        }
        Image::open_dir(path)
    }

    /// Open a directory image, detecting the level: the root (holds `Windows\WinSxS`), the
    /// `Windows` folder (holds `WinSxS`) or `WinSxS` (holds `Manifests`).
    pub fn open_dir(path: &Path) -> Result<Image> {
        let meta = std::fs::metadata(path).map_err(|e| Error::NotAnImage {
            path: path.into(),
            reason: format!("cannot open it ({e})"),
        })?;
        if !meta.is_dir() {
            return Err(Error::NotAnImage {
                path: path.into(),
                reason: "it is not a folder".into(),
            });
        }
        let source = dir::DirSource::new(path.to_path_buf());
        Image::detect(Box::new(source), path)
    }

    fn detect(source: Box<dyn ImageSource>, input: &Path) -> Result<Image> {
        let root = has_dir(&*source, &[], "Windows")
            .and_then(|w| has_dir(&*source, &[&w], "WinSxS").map(|s| (w, s)));
        let (layout, windows, winsxs) = if let Some((w, s)) = root {
            (Layout::Root, Some(vec![w.clone()]), vec![w, s])
        } else if let Some(s) = has_dir(&*source, &[], "WinSxS") {
            (Layout::Windows, Some(vec![]), vec![s])
        } else if has_dir(&*source, &[], "Manifests").is_some() {
            (Layout::Winsxs, None, vec![])
        } else {
            return Err(Error::NotAnImage {
                path: input.into(),
                reason: "found neither Windows\\WinSxS, WinSxS nor Manifests in it (give the image root, its Windows folder or its WinSxS folder)".into(),
            });
        };
        let image = Image {
            source,
            input: input.into(),
            layout,
            winsxs,
            windows,
            listing: std::sync::OnceLock::new(),
        };
        let ws = image.winsxs();
        let manifests = image
            .winsxs_listing()
            .ok()
            .and_then(|l| find(l, "Manifests"))
            .map(|e| (e.kind, e.name.clone()));
        let reason = match manifests {
            Some((EntryKind::Dir, _)) => return Ok(image),
            // Listing it would follow the link, perhaps out of the image.
            Some((EntryKind::Symlink, name)) => {
                let mut at = ws.clone();
                at.push(&name);
                format!(
                    "{} is a symbolic link, which is never followed",
                    image.source.display_path(&at)
                )
            }
            _ => format!("{} has no Manifests folder", image.source.display_path(&ws)),
        };
        Err(Error::NotAnImage {
            path: input.into(),
            reason,
        })
    }

    /// The `WinSxS` path components.
    pub fn winsxs(&self) -> Vec<&str> {
        self.winsxs.iter().map(String::as_str).collect()
    }

    /// The entries of the `WinSxS` folder, listed on the first call (a failure is not kept:
    /// the next call lists again and reports its own error).
    pub fn winsxs_listing(&self) -> io::Result<&[DirEntry]> {
        if let Some(l) = self.listing.get() {
            return Ok(l);
        }
        let listed = self.source.list(&self.winsxs())?;
        Ok(self.listing.get_or_init(|| listed))
    }

    /// The entries of the `WinSxS` folder by lower-case name: component folders are found by
    /// keyform whatever the case on disk.
    pub fn winsxs_by_name(&self) -> io::Result<HashMap<String, DirEntry>> {
        Ok(self
            .winsxs_listing()?
            .iter()
            .map(|e| (e.name.to_ascii_lowercase(), e.clone()))
            .collect())
    }
}

/// Resolves `\`-separated names inside one component folder case-insensitively, listing each
/// folder once.
pub struct FolderResolver<'a> {
    source: &'a dyn ImageSource,
    base: Vec<&'a str>,
    listings: HashMap<Vec<String>, Option<Vec<DirEntry>>>,
}

/// What a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Found: the components as stored and the entry.
    Found(Vec<String>, DirEntry),
    /// No such entry (or a parent folder is missing).
    Missing,
    /// A parent folder could not be listed.
    Error(String),
}

impl<'a> FolderResolver<'a> {
    /// A resolver for the folder `base` (components from the source root).
    pub fn new(source: &'a dyn ImageSource, base: Vec<&'a str>) -> Self {
        FolderResolver {
            source,
            base,
            listings: HashMap::new(),
        }
    }

    fn listing(&mut self, rel: &[String]) -> Result<Option<&Vec<DirEntry>>, String> {
        if !self.listings.contains_key(rel) {
            let mut path = self.base.clone();
            path.extend(rel.iter().map(String::as_str));
            let listed = match self.source.list(&path) {
                Ok(l) => Some(l),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(format!(
                        "cannot list {}: {e}",
                        self.source.display_path(&path)
                    ))
                }
            };
            self.listings.insert(rel.to_vec(), listed);
        }
        Ok(self.listings.get(rel).and_then(Option::as_ref))
    }

    /// Resolve the components of a manifest file name.
    pub fn resolve(&mut self, parts: &[&str]) -> Resolved {
        let mut stored: Vec<String> = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let entries = match self.listing(&stored) {
                Ok(Some(e)) => e,
                Ok(None) => return Resolved::Missing,
                Err(e) => return Resolved::Error(e),
            };
            let Some(entry) = find(entries, part).cloned() else {
                return Resolved::Missing;
            };
            stored.push(entry.name.clone());
            if i + 1 == parts.len() {
                return Resolved::Found(stored, entry);
            }
            if entry.kind != EntryKind::Dir {
                return Resolved::Missing;
            }
        }
        Resolved::Missing
    }
}
