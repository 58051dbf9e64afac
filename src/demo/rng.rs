//! A small seeded generator (SplitMix64): the builder must give the same image for the same
//! seed on every platform and version, which a general-purpose RNG crate does not promise.

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Log-uniform in `lo..=hi`.
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (l, h) = ((lo.max(1)) as f64, hi as f64);
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (l * (h / l).powf(u)) as u64
    }

    /// Fill a buffer with bytes that look like a binary: runs, text and noise, so that
    /// compressors have something to find and hashes something to chew.
    pub fn fill_payload(&mut self, buf: &mut [u8]) {
        let mut i = 0;
        while i < buf.len() {
            let run = (self.below(512) as usize + 16).min(buf.len() - i);
            match self.below(4) {
                0 => buf[i..i + run].fill(self.below(256) as u8),
                1 => {
                    const TEXT: &[u8] = b"Microsoft Windows Component Based Servicing payload ";
                    for (k, b) in buf[i..i + run].iter_mut().enumerate() {
                        *b = TEXT[k % TEXT.len()];
                    }
                }
                _ => {
                    for chunk in buf[i..i + run].chunks_mut(8) {
                        let v = self.next_u64().to_le_bytes();
                        chunk.copy_from_slice(&v[..chunk.len()]);
                    }
                }
            }
            i += run;
        }
    }
}
