//! Positioned reads, so that several threads can read one archive at once without sharing a
//! file cursor (a `Wim` is `Sync` and every read names its own offset).

use std::io;

/// A byte source that can be read at any offset, from several threads at once.
pub trait ReadAt {
    /// Fill `buf` exactly with the bytes at `offset`; reading past the end is an error
    /// (`UnexpectedEof`).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Total length of the source in bytes (used to reject offsets past the end before
    /// allocating anything).
    fn len(&self) -> io::Result<u64>;
    /// Whether the source is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

impl ReadAt for std::fs::File {
    #[cfg(unix)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        use std::os::windows::fs::FileExt;
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset
                .checked_add(done as u64)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset overflow"))?;
            match self.seek_read(&mut buf[done..], pos) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    #[cfg(not(any(unix, windows)))]
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "positioned reads need unix or windows",
        ))
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

fn slice_read_at(data: &[u8], offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let start =
        usize::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof))?;
    let src = start
        .checked_add(buf.len())
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
    buf.copy_from_slice(src);
    Ok(())
}

impl ReadAt for &[u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        slice_read_at(self, offset, buf)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(<[u8]>::len(self) as u64)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        slice_read_at(self, offset, buf)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(Vec::len(self) as u64)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for std::sync::Arc<T> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_at(offset, buf)
    }
    fn len(&self) -> io::Result<u64> {
        (**self).len()
    }
}
