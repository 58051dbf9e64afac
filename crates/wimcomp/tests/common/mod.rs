//! Test-only helpers shared by the oracle test, the robustness test and the bench: a corpus
//! generator, a wimlib-imagex driver and a minimal WIM chunk extractor
//! (wim-and-codecs.md §1.2–1.6). Not a WIM reader: it handles exactly what wimlib writes for
//! non-solid resources and panics on anything else, which is fine for tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Small deterministic PRNG (xorshift64*), so the corpus is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const WORDS: &[&str] = &[
    "component",
    "manifest",
    "assembly",
    "the",
    "of",
    "Windows",
    "servicing",
    "stack",
    "<file name=\"",
    "\" hash=\"",
    "x86_microsoft-windows-",
    "amd64",
    "wow64",
    "version=",
    "10.0.26100.1",
    "\r\n",
    "  ",
    "payload",
    "digest",
    "SHA256",
    "publicKeyToken",
    "31bf3856ad364e35",
    "language=\"neutral\"",
    "/>",
    "</assembly>",
];

fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 64);
    while v.len() < len {
        v.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
        if rng.below(4) == 0 {
            v.push(b' ');
        }
    }
    v.truncate(len);
    v
}

fn random(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn runs(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let b = rng.next_u64() as u8;
        let cap = if rng.below(8) == 0 { 3000 } else { 40 };
        let n = 1 + rng.below(cap) as usize;
        v.extend(std::iter::repeat_n(b, n));
    }
    v.truncate(len);
    v
}

/// Bytes that look like x86 code: many `E8 rel32` calls (targets inside and outside the
/// chunk, negative and positive), some `E8` bytes inside operands, and repeated snippets.
fn x86(rng: &mut Rng, len: usize) -> Vec<u8> {
    let snippets: [&[u8]; 5] = [
        &[0x55, 0x8B, 0xEC, 0x83, 0xEC, 0x10],
        &[0x48, 0x89, 0x5C, 0x24, 0x08],
        &[0x33, 0xC0, 0xC3],
        &[0x8B, 0x45, 0x08, 0x50],
        &[0xFF, 0x15, 0x00, 0x10, 0x40, 0x00],
    ];
    let mut v = Vec::with_capacity(len + 16);
    while v.len() < len {
        match rng.below(6) {
            0 | 1 => {
                v.push(0xE8);
                let rel: i32 = match rng.below(4) {
                    0 => -(rng.below(v.len() as u64 + 1) as i32),
                    1 => rng.below(70_000) as i32,
                    2 => rng.below(16_000_000) as i32 - 8_000_000,
                    _ => rng.next_u64() as i32,
                };
                v.extend_from_slice(&rel.to_le_bytes());
            }
            2 => v.extend_from_slice(&[0xE8, 0xE8, 0xE8]),
            _ => v.extend_from_slice(snippets[rng.below(5) as usize]),
        }
    }
    v.truncate(len);
    v
}

fn structured(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 16);
    let mut i = 0u32;
    while v.len() < len {
        v.extend_from_slice(&i.to_le_bytes());
        v.extend_from_slice(&(i.wrapping_mul(2654435761) >> 20).to_le_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// The corpus: (file name, contents). Sizes from 0 B to 3 MiB, around chunk boundaries.
pub fn corpus(scale_down: bool) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(2026);
    let big = if scale_down { 200_000 } else { 3 * 1024 * 1024 };
    let mut files = vec![
        ("empty".to_string(), Vec::new()),
        ("one".to_string(), vec![0x41]),
        ("ten".to_string(), b"0123456789".to_vec()),
        (
            "eleven_e8".to_string(),
            vec![0xE8, 1, 0, 0, 0, 0xE8, 0, 0, 0, 0, 0xE8],
        ),
        ("text".to_string(), text(&mut rng, 300_000)),
        ("text_32k".to_string(), text(&mut rng, 32768)),
        ("text_32k1".to_string(), text(&mut rng, 32769)),
        ("text_64k1".to_string(), text(&mut rng, 65537)),
        ("random".to_string(), random(&mut rng, 100_000)),
        ("zeros".to_string(), vec![0; big]),
        ("runs".to_string(), runs(&mut rng, 500_000)),
        (
            "x86".to_string(),
            x86(&mut rng, if scale_down { 150_000 } else { 1_200_000 }),
        ),
        ("structured".to_string(), structured(300_000)),
    ];
    // Text with random patches: mixes compressible and stored-looking regions.
    let mut mixed = text(&mut rng, 400_000);
    for _ in 0..40 {
        let at = rng.below(390_000) as usize;
        let n = rng.below(8000) as usize;
        for b in mixed.iter_mut().skip(at).take(n) {
            *b = rng.next_u64() as u8;
        }
    }
    files.push(("mixed".to_string(), mixed));
    // Small files of every size class.
    for n in [2usize, 3, 17, 100, 1000, 4095, 4097, 20000] {
        files.push((format!("small_{n}"), text(&mut rng, n)));
    }
    files
}

/// Is wimlib-imagex usable? Prints "skipped" (or panics when SXSAUDIT_REQUIRE_WIMLIB=1).
pub fn have_wimlib(what: &str) -> bool {
    let ok = Command::new("wimlib-imagex")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("SXSAUDIT_REQUIRE_WIMLIB").as_deref() == Ok("1") {
            panic!("wimlib-imagex required (SXSAUDIT_REQUIRE_WIMLIB=1) but not runnable");
        }
        eprintln!("skipped: {what}: wimlib-imagex not found");
    }
    ok
}

/// Write `files` into `dir/src` and capture them to `dir/out.wim` with extra `args`
/// (e.g. `--compress=LZX`). Returns the WIM bytes.
pub fn capture(dir: &Path, files: &[(String, Vec<u8>)], args: &[&str]) -> Vec<u8> {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for (name, data) in files {
        std::fs::write(src.join(name), data).unwrap();
    }
    let wim = dir.join("out.wim");
    let out = Command::new("wimlib-imagex")
        .arg("capture")
        .arg(&src)
        .arg(&wim)
        .args(args)
        .output()
        .expect("run wimlib-imagex");
    assert!(
        out.status.success(),
        "wimlib-imagex capture {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&wim).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Xpress,
    Lzx,
    Lzms,
}

/// One chunk of a resource: its compressed bytes (or raw bytes) and uncompressed size.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub data: Vec<u8>,
    pub out_len: usize,
    /// Stored raw (compressed size == uncompressed size): not for the codec.
    pub raw: bool,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub sha1: [u8; 20],
    pub metadata: bool,
    pub original_size: u64,
    /// Empty when the resource is stored uncompressed (then `stored` holds it).
    pub chunks: Vec<Chunk>,
    pub stored: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct Wim {
    pub codec: Codec,
    pub chunk_size: usize,
    pub resources: Vec<Resource>,
}

fn u16at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// (size in WIM, flags, offset, original size) of the 24-byte reshdr at `o`.
fn reshdr(b: &[u8], o: usize) -> (u64, u8, u64, u64) {
    let w = u64at(b, o);
    (
        w & ((1 << 56) - 1),
        (w >> 56) as u8,
        u64at(b, o + 8),
        u64at(b, o + 16),
    )
}

pub fn parse(wim: &[u8]) -> Wim {
    assert_eq!(&wim[..8], b"MSWIM\0\0\0", "magic");
    assert_eq!(u32at(wim, 8), 208, "header size");
    let flags = u32at(wim, 0x10);
    let codec = if flags & 0x2 == 0 {
        Codec::None
    } else if flags & 0x20000 != 0 {
        Codec::Xpress
    } else if flags & 0x40000 != 0 {
        Codec::Lzx
    } else if flags & 0x80000 != 0 {
        Codec::Lzms
    } else {
        panic!("unknown codec flags {flags:#x}")
    };
    let chunk_size = u32at(wim, 0x14) as usize;
    let (bt_size, bt_flags, bt_off, bt_orig) = reshdr(wim, 0x30);
    assert_eq!(bt_flags & 0x14, 0, "blob table compressed or solid");
    assert_eq!(bt_size, bt_orig);
    let table = &wim[bt_off as usize..(bt_off + bt_size) as usize];
    let mut resources = Vec::new();
    for e in table.chunks_exact(50) {
        let (size, rflags, off, orig) = reshdr(e, 0);
        let _part = u16at(e, 24);
        let sha1: [u8; 20] = e[30..50].try_into().unwrap();
        assert_eq!(
            rflags & 0x10,
            0,
            "solid resources not handled by this test parser"
        );
        let res = &wim[off as usize..(off + size) as usize];
        let metadata = rflags & 0x02 != 0;
        if rflags & 0x04 == 0 {
            resources.push(Resource {
                sha1,
                metadata,
                original_size: orig,
                chunks: Vec::new(),
                stored: Some(res.to_vec()),
            });
            continue;
        }
        // §1.6: n − 1 chunk starts relative to the end of the table.
        let n = orig.div_ceil(chunk_size as u64) as usize;
        let width = if orig > u64::from(u32::MAX) { 8 } else { 4 };
        let table_size = (n - 1) * width;
        let mut starts = vec![0u64];
        for k in 1..n {
            let o = (k - 1) * width;
            starts.push(if width == 4 {
                u64::from(u32at(res, o))
            } else {
                u64at(res, o)
            });
        }
        let body = &res[table_size..];
        let mut chunks = Vec::new();
        for k in 0..n {
            let s = starts[k] as usize;
            let e = if k + 1 < n {
                starts[k + 1] as usize
            } else {
                body.len()
            };
            let out_len = if k + 1 < n {
                chunk_size
            } else {
                orig as usize - (n - 1) * chunk_size
            };
            let data = body[s..e].to_vec();
            assert!(!data.is_empty() && data.len() <= out_len, "chunk size");
            chunks.push(Chunk {
                raw: data.len() == out_len,
                data,
                out_len,
            });
        }
        resources.push(Resource {
            sha1,
            metadata,
            original_size: orig,
            chunks,
            stored: None,
        });
    }
    Wim {
        codec,
        chunk_size,
        resources,
    }
}
