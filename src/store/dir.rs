//! An image stored as a directory tree: a mounted WIM, an applied image, a copied folder.
//!
//! Reads go through one reusable 256 KiB buffer per thread: measured on our machines, `read()`
//! into a reused buffer beat `mmap` 2:1 for hashing a WinSxS-shaped tree, and it keeps memory
//! flat whatever the file sizes. The buffer is page-aligned ([`sxs_iobuf`]): the kernel's copy
//! into a misaligned one ran at a quarter of the speed.

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::path::PathBuf;

use sxs_iobuf::AlignedBuf;

use super::{DirEntry, EntryKind, ImageSource, ReadInfo, Sink};

/// The read size: large enough to amortise syscalls, small enough to stay in L2.
pub const READ_BUFFER: usize = 256 * 1024;

thread_local! {
    static BUFFER: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::with_capacity(READ_BUFFER));
}

/// A directory tree, read-only.
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// Read the tree under `root`.
    pub fn new(root: PathBuf) -> Self {
        DirSource { root }
    }

    fn path(&self, parts: &[&str]) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(parts);
        p
    }
}

impl ImageSource for DirSource {
    fn list(&self, dir: &[&str]) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.path(dir))? {
            let entry = entry?;
            // file_type() does not follow links.
            let ft = entry.file_type()?;
            let kind = if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            // Names that are not valid Unicode cannot match a manifest name; keep them visible.
            let name = entry
                .file_name()
                .into_string()
                .unwrap_or_else(|raw| raw.to_string_lossy().into_owned());
            // No size: it would cost a stat per entry (20,000 in a serial listing of Manifests), and
            // the audit learns sizes by reading.
            out.push(DirEntry {
                name,
                kind,
                size: 0,
            });
        }
        Ok(out)
    }

    fn kind(&self) -> &'static str {
        "directory"
    }

    fn read(&self, path: &[&str], sink: &mut Sink<'_>) -> io::Result<ReadInfo> {
        read_file(File::open(self.path(path))?, u64::MAX, sink)
    }

    #[cfg(unix)]
    fn open_folder(&self, dir: &[&str]) -> io::Result<Option<Box<dyn super::OpenFolder>>> {
        Ok(Some(Box::new(unix::Folder::open(&self.path(dir))?)))
    }

    fn display_path(&self, path: &[&str]) -> String {
        self.path(path).display().to_string()
    }
}

/// Stream `file` through this thread's buffer into `sink`, stopping at its end or after `size`
/// bytes, whichever comes first.
fn read_file(mut file: File, size: u64, sink: &mut Sink<'_>) -> io::Result<ReadInfo> {
    BUFFER.with(|buf| {
        let mut buf = buf.borrow_mut();
        // Every read starts at a file offset that is a multiple of the buffer size.
        let buf = buf.window(READ_BUFFER, 0);
        let mut left = size;
        loop {
            // Fill the buffer fully (or to EOF) so that the first chunk carries the header.
            let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
            let filled = super::fill(&mut file, &mut buf[..want])?;
            if filled == 0 {
                return Ok(ReadInfo::default());
            }
            sink(&buf[..filled])?;
            left -= filled as u64;
            if filled < buf.len() {
                return Ok(ReadInfo::default());
            }
        }
    })
}

/// Component folders looked up through one descriptor. The store's `WinSxS` folder is opened
/// once; a component folder inside it is then only a name prefix (`comp/`), so a payload costs
/// one `statat` of `comp/name` and one `openat` to read it. Opening each component folder
/// (and closing it) cost two more system calls per component, and listing it (an ext4
/// hashed-directory walk of every name) or opening each file by its whole path from the root
/// cost more still: about 8% of a full audit's CPU.
///
/// The `statat` (16% of a quick audit's CPU) is kept although an `fstat` of the opened file
/// would tell the same for less: a name is never opened to find out what it is, because opening
/// a FIFO blocks and opening a device node acts on the device (a watchdog starts its timer),
/// and an image is untrusted input.
///
/// No link is followed: the last name is looked up with `AT_SYMLINK_NOFOLLOW` / `O_NOFOLLOW`,
/// each subfolder on the way is checked with its own `statat` first, and a component folder
/// is entered only when the listing of its parent said it is a folder ([`OpenFolder::folder`]).
#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::io::{self, Read};
    use std::os::fd::OwnedFd;
    use std::path::Path;
    use std::sync::Arc;

    use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags, Stat, CWD};
    use rustix::io::Errno;

    use super::{read_file, DirEntry, EntryKind, ReadInfo, Sink};
    use crate::store::{Meta, OpenFolder};

    pub(super) struct Folder {
        /// The descriptor names are looked up through: this folder's, or an ancestor's.
        base: Arc<OwnedFd>,
        /// This folder's path below `base`, each name followed by `/` (empty when `base` is
        /// this folder).
        prefix: String,
    }

    impl Folder {
        /// Open `path`, which must be a folder and not a link to one.
        pub(super) fn open(path: &Path) -> io::Result<Self> {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            Ok(Folder {
                base: Arc::new(openat(CWD, path, flags, Mode::empty())?),
                prefix: String::new(),
            })
        }

        /// Call `f` with the path of `path` below `base`, after checking that every folder on
        /// the way is a folder and not a link; `None` when one is not (absent, a file, a link:
        /// the caller's listing says which) or when a name could leave the folder.
        fn resolve<R>(
            &self,
            path: &[&str],
            f: impl FnOnce(&str) -> io::Result<R>,
        ) -> io::Result<Option<R>> {
            let Some((last, dirs)) = path.split_last() else {
                return Ok(None);
            };
            if !path.iter().all(|n| is_plain_name(n)) {
                return Ok(None);
            }
            PATH.with_borrow_mut(|full| {
                full.clear();
                full.push_str(&self.prefix);
                for d in dirs {
                    full.push_str(d);
                    match self.stat(full)? {
                        Some(st)
                            if FileType::from_raw_mode(st.st_mode as _) == FileType::Directory => {}
                        _ => return Ok(None),
                    }
                    full.push('/');
                }
                full.push_str(last);
                f(full).map(Some)
            })
        }

        /// Open a file seen to be a regular file. NOFOLLOW: a link put in its place since must
        /// not be followed out of the image.
        fn open_file(&self, path: &[&str]) -> io::Result<File> {
            let Some(fd) = self.resolve(path, open_at(&self.base))? else {
                return Err(gone());
            };
            Ok(File::from(fd))
        }

        /// [`Folder::open_file`] for a file whose folders on the way were checked when it was
        /// found ([`OpenFolder::open`]): an audit opens tens of thousands this way, and
        /// checking each one's component folder again was 40% of its `statat` calls.
        fn open_found(&self, path: &[&str]) -> io::Result<File> {
            if path.is_empty() || !path.iter().all(|n| is_plain_name(n)) {
                return Err(gone());
            }
            PATH.with_borrow_mut(|full| {
                full.clear();
                full.push_str(&self.prefix);
                for (i, name) in path.iter().enumerate() {
                    if i > 0 {
                        full.push('/');
                    }
                    full.push_str(name);
                }
                open_at(&self.base)(full).map(File::from)
            })
        }

        /// `statat` without following a link; `None` when absent (or a file on the way).
        fn stat(&self, path: &str) -> io::Result<Option<Stat>> {
            match statat(&*self.base, path, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Ok(Some(st)),
                Err(Errno::NOENT | Errno::NOTDIR) => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
    }

    thread_local! {
        // One path buffer per thread: paths are built for every payload.
        static PATH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }

    /// Opens a file below `base` for reading, never through a link as its last name.
    fn open_at(base: &OwnedFd) -> impl Fn(&str) -> io::Result<OwnedFd> + '_ {
        move |full| {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            Ok(openat(base, full, flags, Mode::empty())?)
        }
    }

    fn gone() -> io::Error {
        io::Error::new(io::ErrorKind::NotFound, "a folder on the way is gone")
    }

    /// A single name that stays in its folder: the caller splits paths into names, and one
    /// holding a separator or a NUL, or naming a folder itself, is never looked up.
    fn is_plain_name(name: &str) -> bool {
        // memchr2: a `contains` of a char set went char by char, 0.5% of a full audit.
        !name.is_empty()
            && name != "."
            && name != ".."
            && memchr::memchr2(b'/', 0, name.as_bytes()).is_none()
    }

    impl OpenFolder for Folder {
        fn entry(&self, path: &[&str]) -> io::Result<Option<Meta>> {
            let Some(Some(st)) = self.resolve(path, |full| self.stat(full))? else {
                return Ok(None);
            };
            Ok(Some(Meta {
                kind: match FileType::from_raw_mode(st.st_mode as _) {
                    FileType::RegularFile => EntryKind::File,
                    FileType::Directory => EntryKind::Dir,
                    FileType::Symlink => EntryKind::Symlink,
                    _ => EntryKind::Other,
                },
                size: u64::try_from(st.st_size).unwrap_or(0),
            }))
        }

        fn read(&self, path: &[&str], size: u64, sink: &mut Sink<'_>) -> io::Result<ReadInfo> {
            read_file(self.open_file(path)?, size, sink)
        }

        fn open(&self, path: &[&str], size: u64) -> io::Result<Box<dyn Read + Send>> {
            Ok(Box::new(self.open_found(path)?.take(size)))
        }

        fn folder(&self, listed: &DirEntry) -> Option<Box<dyn OpenFolder>> {
            if listed.kind != EntryKind::Dir || !is_plain_name(&listed.name) {
                return None;
            }
            let mut prefix = String::with_capacity(self.prefix.len() + listed.name.len() + 1);
            prefix.push_str(&self.prefix);
            prefix.push_str(&listed.name);
            prefix.push('/');
            Some(Box::new(Folder {
                base: Arc::clone(&self.base),
                prefix,
            }))
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::store::OpenFolder;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn read_all(f: &dyn OpenFolder, path: &[&str], size: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        f.read(path, size, &mut |c| {
            out.extend_from_slice(c);
            Ok(())
        })?;
        Ok(out)
    }

    /// A component folder with a file, a subfolder with a file, a link to a file out of the
    /// tree and a link to a folder, opened as the audit opens it: through its parent.
    fn tree() -> (tempfile::TempDir, Box<dyn OpenFolder>) {
        let t = tempfile::tempdir().unwrap();
        let c = t.path().join("comp");
        fs::create_dir_all(c.join("Amd64")).unwrap();
        fs::write(c.join("a.dll"), b"payload a").unwrap();
        fs::write(
            c.join("Amd64").join("X.DPB"),
            vec![7u8; READ_BUFFER * 2 + 5],
        )
        .unwrap();
        fs::write(t.path().join("outside.dll"), b"outside").unwrap();
        symlink(t.path().join("outside.dll"), c.join("link.dll")).unwrap();
        symlink(t.path(), c.join("linked")).unwrap();
        let src = DirSource::new(t.path().to_path_buf());
        let top = src.open_folder(&[]).unwrap().unwrap();
        let f = top.folder(&listed(&src, &[], "comp")).unwrap();
        (t, f)
    }

    /// The entry `name` of the listing of `dir`.
    fn listed(src: &DirSource, dir: &[&str], name: &str) -> DirEntry {
        src.list(dir)
            .unwrap()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap()
    }

    #[test]
    fn entries_are_told_apart_without_following_links() {
        let (_t, f) = tree();
        let kind = |p: &[&str]| f.entry(p).unwrap().map(|e| e.kind);
        assert_eq!(kind(&["a.dll"]), Some(EntryKind::File));
        assert_eq!(f.entry(&["a.dll"]).unwrap().unwrap().size, 9);
        assert_eq!(kind(&["Amd64"]), Some(EntryKind::Dir));
        assert_eq!(kind(&["Amd64", "X.DPB"]), Some(EntryKind::File));
        assert_eq!(kind(&["link.dll"]), Some(EntryKind::Symlink));
        assert_eq!(kind(&["linked"]), Some(EntryKind::Symlink));
        // Through a linked folder: nothing, so that the caller's listing says why.
        assert_eq!(kind(&["linked", "outside.dll"]), None);
        // A file on the way is not a folder.
        assert_eq!(kind(&["a.dll", "b"]), None);
        assert_eq!(kind(&["absent.dll"]), None);
        assert_eq!(kind(&["Absent", "x"]), None);
        // Exact names only: another spelling is the listing's job.
        assert_eq!(kind(&["A.DLL"]), None);
        // Names that would leave the folder, or are not single names, are never looked up.
        assert_eq!(kind(&["..", "outside.dll"]), None);
        assert_eq!(kind(&["Amd64/X.DPB"]), None);
        assert_eq!(kind(&["Amd64", ".", "X.DPB"]), None);
        assert_eq!(kind(&[]), None);
    }

    #[test]
    fn folders_inside_are_entered_only_when_listed_as_folders() {
        let (t, f) = tree();
        let src = DirSource::new(t.path().join("comp"));
        let amd64 = f.folder(&listed(&src, &[], "Amd64")).unwrap();
        let e = amd64.entry(&["X.DPB"]).unwrap().unwrap();
        assert_eq!(
            (e.kind, e.size),
            (EntryKind::File, READ_BUFFER as u64 * 2 + 5)
        );
        assert_eq!(read_all(&*amd64, &["X.DPB"], 3).unwrap(), [7, 7, 7]);
        // A link to a folder, a file: not folders.
        assert!(f.folder(&listed(&src, &[], "linked")).is_none());
        assert!(f.folder(&listed(&src, &[], "a.dll")).is_none());
        // A name that is not a single name is refused even when said to be a folder.
        let made_up = DirEntry {
            name: "../comp".into(),
            kind: EntryKind::Dir,
            size: 0,
        };
        assert!(f.folder(&made_up).is_none());
    }

    #[test]
    fn reads_stop_at_the_size_given_or_at_the_end() {
        let (_t, f) = tree();
        assert_eq!(read_all(&*f, &["a.dll"], 9).unwrap(), b"payload a");
        // The size is the one seen by `entry`: a file that grew since is read to that size,
        // one that shrank to its end.
        assert_eq!(read_all(&*f, &["a.dll"], 4).unwrap(), b"payl");
        assert_eq!(read_all(&*f, &["a.dll"], 1000).unwrap(), b"payload a");
        let big = READ_BUFFER as u64 * 2 + 5;
        let got = read_all(&*f, &["Amd64", "X.DPB"], big).unwrap();
        assert_eq!(got.len() as u64, big);
        assert!(got.iter().all(|&b| b == 7));
        // Exactly at a buffer boundary: no extra read, nothing lost.
        let got = read_all(&*f, &["Amd64", "X.DPB"], READ_BUFFER as u64).unwrap();
        assert_eq!(got.len(), READ_BUFFER);
    }

    #[test]
    fn files_found_are_opened_by_name_and_never_through_a_link() {
        let (_t, f) = tree();
        let open_all = |path: &[&str], size: u64| -> io::Result<Vec<u8>> {
            let mut out = Vec::new();
            f.open(path, size)?.read_to_end(&mut out)?;
            Ok(out)
        };
        assert_eq!(open_all(&["a.dll"], 9).unwrap(), b"payload a");
        assert_eq!(open_all(&["a.dll"], 4).unwrap(), b"payl");
        let got = open_all(&["Amd64", "X.DPB"], u64::MAX).unwrap();
        assert_eq!(got.len(), READ_BUFFER * 2 + 5);
        // The last name is still never followed, and no name leaves the folder.
        let e = open_all(&["link.dll"], 7).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(40), "{e}");
        for bad in [&["..", "outside.dll"][..], &["a.dll/"], &[]] {
            let e = open_all(bad, 7).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::NotFound, "{bad:?}: {e}");
        }
    }

    #[test]
    fn links_are_never_read_through() {
        let (_t, f) = tree();
        let e = read_all(&*f, &["link.dll"], 7).unwrap_err();
        // ELOOP from O_NOFOLLOW.
        assert_eq!(e.raw_os_error(), Some(40), "{e}");
        let e = read_all(&*f, &["linked", "outside.dll"], 7).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    }

    #[test]
    fn a_linked_or_absent_folder_is_not_opened() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("real")).unwrap();
        symlink(t.path().join("real"), t.path().join("link")).unwrap();
        fs::write(t.path().join("file"), b"x").unwrap();
        let src = DirSource::new(t.path().to_path_buf());
        assert!(src.open_folder(&["real"]).unwrap().is_some());
        assert!(src.open_folder(&["link"]).is_err());
        assert!(src.open_folder(&["file"]).is_err());
        assert!(src.open_folder(&["absent"]).is_err());
    }
}
