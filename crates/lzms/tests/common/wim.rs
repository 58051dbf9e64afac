//! Test-only WIM reader (wim-and-codecs.md §1.2-§1.7): just enough to list the LZMS chunks of
//! wimlib-made files. Panics on anything unexpected; it only ever reads files we just made.

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// Resource header (§1.3).
#[derive(Clone, Copy, Debug)]
pub struct Reshdr {
    pub size: u64,
    pub flags: u8,
    pub offset: u64,
    pub original: u64,
}

pub const FLAG_METADATA: u8 = 0x02;
pub const FLAG_COMPRESSED: u8 = 0x04;
pub const FLAG_SOLID: u8 = 0x10;
/// Original-size value that marks a solid resource entry (§1.7).
pub const SOLID_RESOURCE_MARK: u64 = 0x1_0000_0000;

fn reshdr(b: &[u8]) -> Reshdr {
    let raw = u64_at(b, 0);
    Reshdr {
        size: raw & 0x00FF_FFFF_FFFF_FFFF,
        flags: (raw >> 56) as u8,
        offset: u64_at(b, 8),
        original: u64_at(b, 16),
    }
}

/// Header fields we need and the blob table (§1.2, §1.5).
pub struct Wim<'a> {
    pub data: &'a [u8],
    pub chunk_size: usize,
    pub entries: Vec<(Reshdr, [u8; 20])>,
}

impl<'a> Wim<'a> {
    pub fn parse(data: &'a [u8]) -> Self {
        assert_eq!(&data[0..8], b"MSWIM\0\0\0", "magic");
        assert_eq!(u32_at(data, 8), 208, "header size");
        assert_ne!(
            u32_at(data, 0x10) & 0x0008_0000,
            0,
            "header does not name LZMS"
        );
        let table = reshdr(&data[0x30..0x48]);
        assert_eq!(
            table.flags & (FLAG_COMPRESSED | FLAG_SOLID),
            0,
            "blob table compressed"
        );
        let tb = &data[table.offset as usize..(table.offset + table.original) as usize];
        let entries = tb
            .chunks_exact(50)
            .map(|e| (reshdr(&e[0..24]), e[30..50].try_into().unwrap()))
            .collect();
        Wim {
            data,
            chunk_size: u32_at(data, 0x14) as usize,
            entries,
        }
    }

    fn bytes(&self, r: &Reshdr) -> &'a [u8] {
        &self.data[r.offset as usize..(r.offset + r.size) as usize]
    }

    /// Chunks (data, uncompressed length) of a non-solid COMPRESSED resource (§1.6).
    pub fn nonsolid_chunks(&self, r: &Reshdr) -> Vec<(&'a [u8], usize)> {
        let res = self.bytes(r);
        let (u, c) = (r.original as usize, self.chunk_size);
        let n = u.div_ceil(c);
        let width = if r.original > 0xFFFF_FFFF { 8 } else { 4 };
        let table_len = (n - 1) * width;
        let mut starts = vec![0usize];
        for k in 0..n - 1 {
            starts.push(if width == 4 {
                u32_at(res, k * 4) as usize
            } else {
                u64_at(res, k * 8) as usize
            });
        }
        let body = &res[table_len..];
        (0..n)
            .map(|k| {
                let end = if k + 1 < n { starts[k + 1] } else { body.len() };
                (&body[starts[k]..end], c.min(u - k * c))
            })
            .collect()
    }

    /// Chunks of a solid resource (§1.7).
    pub fn solid_chunks(&self, r: &Reshdr) -> Vec<(&'a [u8], usize)> {
        super::parse_solid(self.bytes(r)).2
    }

    /// Raw bytes of an uncompressed resource.
    pub fn raw(&self, r: &Reshdr) -> &'a [u8] {
        self.bytes(r)
    }

    /// Every chunk of every compressed resource, in table order.
    pub fn all_chunks(&self) -> Vec<(&'a [u8], usize)> {
        let mut v = Vec::new();
        for (r, _) in &self.entries {
            if r.flags & FLAG_SOLID != 0 {
                if r.original == SOLID_RESOURCE_MARK {
                    v.extend(self.solid_chunks(r));
                }
            } else if r.flags & FLAG_COMPRESSED != 0 {
                v.extend(self.nonsolid_chunks(r));
            }
        }
        v
    }
}

/// Captures `src` into `wim` with wimlib-imagex and LZMS; `extra` adds options such as
/// `--solid`. Returns false if wimlib-imagex is not installed.
pub fn capture(src: &std::path::Path, wim: &std::path::Path, extra: &[&str]) -> bool {
    if !std::path::Path::new(WIMLIB).exists() {
        return false;
    }
    let status = std::process::Command::new(WIMLIB)
        .arg("capture")
        .arg(src)
        .arg(wim)
        .arg("--compress=LZMS")
        .args(extra)
        .arg("--threads=1")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run wimlib-imagex");
    assert!(status.success(), "wimlib-imagex capture {extra:?} failed");
    true
}

/// Where the oracle is expected.
pub const WIMLIB: &str = "/usr/bin/wimlib-imagex";
