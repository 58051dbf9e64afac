//! Shared test helpers: where the real samples live, and a seeded generator.
#![allow(dead_code)]

pub mod wim;

/// The seven Compression-API samples of `lzms-microsoft/`.
pub const SAMPLES: [&str; 7] = [
    "english",
    "pattern",
    "random",
    "sequential",
    "single_byte",
    "small",
    "zeros",
];

/// Reads `lzms-microsoft/<name>`.
pub fn sample(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let p = dir.join("lzms-microsoft").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// A solid resource (wim-and-codecs.md §1.7): header `u64 U, u32 C, u32 format`, a table of
/// `ceil(U / C)` u32 compressed sizes, then the chunks. Returns (U, C, [(chunk, ulen)]).
pub fn parse_solid(res: &[u8]) -> (u64, usize, Vec<(&[u8], usize)>) {
    let u = u64::from_le_bytes(res[0..8].try_into().unwrap());
    let c = u32::from_le_bytes(res[8..12].try_into().unwrap()) as usize;
    let format = u32::from_le_bytes(res[12..16].try_into().unwrap());
    assert_eq!(format, 3, "solid resource format is not LZMS");
    let n = u.div_ceil(c as u64) as usize;
    let mut off = 16 + 4 * n;
    let mut chunks = Vec::new();
    for k in 0..n {
        let csize = u32::from_le_bytes(res[16 + 4 * k..20 + 4 * k].try_into().unwrap()) as usize;
        let ulen = (u as usize - k * c).min(c);
        chunks.push((&res[off..off + csize], ulen));
        off += csize;
    }
    assert_eq!(off, res.len(), "solid resource has trailing bytes");
    (u, c, chunks)
}

/// xorshift64*: deterministic, seedable, dependency-free.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes the oracle corpus into `dir`: text, structured binary, random, zeros, x86-like code,
/// the start of a real x86-64 executable (this test binary), and sizes around chunk edges.
/// Returns (file name, contents).
pub fn write_corpus(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(0x5EED_1A2B_3C4D_5E6F);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();

    let words = [
        "the",
        "component",
        "store",
        "manifest",
        "payload",
        "digest",
        "servicing",
        "stack",
        "image",
        "offline",
        "windows",
        "assembly",
        "version",
        "culture",
        "processor",
        "amd64",
        "public",
        "key",
        "token",
        "of",
        "and",
        "to",
        "in",
        "a",
        "is",
        "that",
        "for",
        "with",
    ];
    let mut text = Vec::new();
    while text.len() < 400_000 {
        let w = words[rng.below(words.len() as u64) as usize];
        text.extend_from_slice(w.as_bytes());
        text.push(if rng.below(12) == 0 { b'\n' } else { b' ' });
    }
    files.push(("text.txt".into(), text));

    // Records with counters and 16/32-bit ramps: what delta matches are for.
    let mut bin = Vec::new();
    for i in 0..30_000u32 {
        bin.extend_from_slice(&(i * 3).to_le_bytes());
        bin.extend_from_slice(&((i as u16).wrapping_mul(7)).to_le_bytes());
        bin.extend_from_slice(&[(i % 5) as u8, 0x20]);
        bin.extend_from_slice(&(0x1000_0000u32 + i * 0x40).to_be_bytes());
    }
    let ramp: Vec<u8> = (0..200_000u32)
        .flat_map(|i| (i as u16).to_le_bytes())
        .collect();
    bin.extend_from_slice(&ramp);
    files.push(("records.bin".into(), bin));

    let random: Vec<u8> = (0..100_000).map(|_| rng.next() as u8).collect();
    files.push(("random.bin".into(), random));
    files.push(("zeros.bin".into(), vec![0; 1 << 20]));

    // x86-like: calls and RIP-relative forms aimed at a few hundred targets, between filler.
    let mut code = Vec::with_capacity(3 << 20);
    let targets: Vec<u32> = (0..300).map(|_| rng.below(3 << 20) as u32).collect();
    while code.len() < (3 << 20) - 16 {
        let t = targets[rng.below(targets.len() as u64) as usize];
        match rng.below(10) {
            0..=3 => code.push(0xE8),
            4 => code.push(0xE9),
            5 => code.extend_from_slice(&[0xFF, 0x15]),
            6 => code.extend_from_slice(&[0x48, 0x8D, 0x05 | (rng.below(2) as u8) << 3]),
            7 => code.extend_from_slice(&[0x48, 0x8B, 0x0D]),
            8 => code.extend_from_slice(&[0x4C, 0x8D, 0x2D]),
            _ => code.extend_from_slice(&[0xF0, 0x83, 0x05]),
        }
        let rel = t.wrapping_sub(code.len() as u32 + 4);
        code.extend_from_slice(&rel.to_le_bytes());
        for _ in 0..rng.below(12) {
            code.push([0x90, 0x48, 0x89, 0xC3, 0x8B, 0x45, 0x00, 0x5D][rng.below(8) as usize]);
        }
    }
    code.resize(3 << 20, 0xCC);
    files.push(("x86like.bin".into(), code));

    if let Ok(exe) = std::fs::read(std::env::current_exe().expect("current exe")) {
        files.push((
            "real_x86_64.bin".into(),
            exe[..exe.len().min(1 << 20)].to_vec(),
        ));
    }

    for (i, size) in [
        0usize, 1, 2, 17, 18, 100, 4095, 65_536, 131_072, 131_073, 262_150,
    ]
    .into_iter()
    .enumerate()
    {
        let mut v: Vec<u8> = Vec::with_capacity(size);
        while v.len() < size {
            let b = if rng.below(4) == 0 {
                rng.next() as u8
            } else {
                b"abcabcabd"[v.len() % 9]
            };
            v.push(b);
        }
        files.push((format!("size_{i:02}_{size}.bin"), v));
    }

    for (name, data) in &files {
        std::fs::write(dir.join(name), data).expect("write corpus file");
    }
    files
}
