//! SHA-256 of several independent streams at once, their rounds interleaved on the SHA-NI
//! units of one core.
//!
//! **Why.** One SHA-256 stream cannot use a core's SHA unit fully. With the x86 SHA
//! extensions, the 64 rounds of a block are 32 `sha256rnds2` instructions, each needing the
//! state the previous one produced: a stream waits out the instruction's latency 32 times a
//! block, while the unit could start another one every cycle or two. Streams that do not
//! depend on each other fill those waits. Measured on one core of our 2-core AMD EPYC
//! (Zen 3) VM, in memory, 128 KiB of each stream at a time (`cargo bench --bench stages --
//! hash/sha256x`, two alternating runs): `sha2` 0.11, one stream, 1.57/1.55 GB/s; this
//! crate, 2 streams 2.86/2.74 GB/s, 3 streams 3.19/2.83 GB/s, 4 streams 3.29/3.07 GB/s.
//! The block function spells out its sixteen groups of four rounds, so that every index
//! into the message schedule is a constant; written as a loop over the groups, the schedule
//! went through the stack at computed addresses, and the same runs gave 2.16/2.03,
//! 2.51/2.45 and 2.63/2.56 GB/s (`benches/PERF-NOTES.md`, session 11). The audit reads
//! tens of thousands of independent payloads, so it always has streams to interleave: the
//! minimal read-and-hash loop over the full-scale bench image went from 2.0 s (one `sha2`
//! stream a thread) to 1.2-1.3 s with [`LANES`] streams a thread (`benches/PERF-NOTES.md`,
//! session 8).
//!
//! **Why by hand.** `sha2` hashes one stream at a time. The one multi-buffer crate we found,
//! `tape-sha256`, takes whole messages in memory (`hash_many(&[&[u8]])`); payloads are files
//! of up to tens of MiB read in chunks, and the audit's memory must not grow with their size.
//! What is ours is small: the interleaved block function (x86-64 with SHA-NI only) and the
//! streaming bookkeeping (the partial block, the padding). A single stream, and every stream
//! on a CPU without SHA-NI or on another architecture, goes through `sha2`'s own block
//! function ([`sha2::block_api::compress256`]), so the fallback is the crate everyone uses.
//!
//! **Sources.** The algorithm: FIPS 180-4 (padding, section 5.1.1; the initial value, 5.3.3;
//! the constants, 4.2.2). The instructions, as Intel's SHA extensions documentation and
//! intrinsics guide describe them:
//! - the state is held as two vectors, `ABEF` and `CDGH` (the working variables a, b, e, f
//!   and c, d, g, h, from the high lane down);
//! - `sha256rnds2(cdgh, abef, wk)` performs two rounds with the message-plus-constant words
//!   in the low two lanes of `wk` and returns the new `ABEF`; the new `CDGH` is the old
//!   `ABEF`;
//! - `sha256msg1(w[t-16..t-12], w[t-12..t-8])` adds σ0 of the following words,
//!   `sha256msg2(x + w[t-7..t-3], w[t-4..t])` adds σ1 and yields `w[t..t+4]`.
//!
//! **Proven** against `sha2` on random lengths and random chunkings, with every number of
//! streams and both paths (the interleaved one and the fallback), and against the FIPS
//! 180-4 example vectors; see the tests below. The audit's own tests check real payload
//! hashes from Microsoft manifests through it.
//!
//! `unsafe` is confined to the block function (the intrinsics and their unaligned loads) and
//! the call that enters it once the CPU has been seen to have the instructions.

#![deny(missing_docs)]

/// How many streams [`update_together`] interleaves at most; more are taken in groups.
pub const LANES: usize = 4;

const BLOCK: usize = 64;

/// FIPS 180-4, 5.3.3.
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// One SHA-256 stream: fed with [`Sha256::update`] alone, or with others through
/// [`update_together`].
#[derive(Clone)]
pub struct Sha256 {
    state: [u32; 8],
    /// Bytes fed so far.
    len: u64,
    /// A block begun and not yet complete.
    partial: [u8; BLOCK],
    filled: usize,
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sha256").field("len", &self.len).finish()
    }
}

impl Sha256 {
    /// An empty stream.
    pub fn new() -> Self {
        Sha256 {
            state: H0,
            len: 0,
            partial: [0; BLOCK],
            filled: 0,
        }
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Feed `data`, alone.
    pub fn update(&mut self, mut data: &[u8]) {
        self.top_up(&mut data);
        if data.is_empty() {
            // All taken by the begun block, which may still be incomplete.
            return;
        }
        let whole = data.len() / BLOCK * BLOCK;
        self.blocks(&data[..whole]);
        self.keep(&data[whole..]);
    }

    /// The digest.
    pub fn finalize(mut self) -> [u8; 32] {
        // FIPS 180-4, 5.1.1: a 1 bit, zeros to 56 bytes into a block, the length in bits.
        let bits = self.len.wrapping_mul(8);
        let mut tail = [0u8; 2 * BLOCK];
        let n = self.filled;
        tail[..n].copy_from_slice(&self.partial[..n]);
        tail[n] = 0x80;
        let end = if n < BLOCK - 8 { BLOCK } else { 2 * BLOCK };
        tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        compress_one(&mut self.state, &tail[..end]);
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    /// Complete a begun block from the front of `data`.
    fn top_up(&mut self, data: &mut &[u8]) {
        if self.filled == 0 {
            return;
        }
        let take = (BLOCK - self.filled).min(data.len());
        self.partial[self.filled..self.filled + take].copy_from_slice(&data[..take]);
        self.filled += take;
        self.len += take as u64;
        *data = &data[take..];
        if self.filled == BLOCK {
            let block = self.partial;
            compress_one(&mut self.state, &block);
            self.filled = 0;
        }
    }

    /// Whole blocks, with no block begun.
    fn blocks(&mut self, data: &[u8]) {
        debug_assert!(self.filled == 0 && data.len().is_multiple_of(BLOCK));
        compress_one(&mut self.state, data);
        self.len += data.len() as u64;
    }

    /// Less than a block, kept for later.
    fn keep(&mut self, data: &[u8]) {
        debug_assert!(self.filled + data.len() < BLOCK);
        self.partial[self.filled..self.filled + data.len()].copy_from_slice(data);
        self.filled += data.len();
        self.len += data.len() as u64;
    }
}

/// Feed each stream the front of its data, interleaving the streams, and advance each slice
/// past what was taken.
///
/// What is taken: the bytes that complete a block a stream had begun; then, from every
/// stream with a whole block left, the same number of whole blocks (as many as the shortest
/// of them has), hashed side by side; then, from each stream with less than a block left,
/// the rest. So after the call at least one slice is empty (unless none held anything), and
/// a caller refills the empty ones and calls again. Data given in chunks of whole blocks
/// (as reads of a multiple of 64 bytes give) is taken with no copying.
///
/// Panics if the two slices differ in length.
pub fn update_together(streams: &mut [&mut Sha256], data: &mut [&[u8]]) {
    update_together_with(Kernel::detect(), streams, data)
}

fn update_together_with(kernel: Kernel, streams: &mut [&mut Sha256], data: &mut [&[u8]]) {
    assert_eq!(streams.len(), data.len(), "one slice of data per stream");
    for (s, d) in streams.iter_mut().zip(data.iter_mut()) {
        s.top_up(d);
    }
    let shortest = data
        .iter()
        .filter(|d| d.len() >= BLOCK)
        .map(|d| d.len() / BLOCK)
        .min();
    if let Some(blocks) = shortest {
        let bytes = blocks * BLOCK;
        let mut group = [0usize; LANES];
        let mut n = 0;
        for i in 0..=data.len() {
            let end = i == data.len();
            if !end && data[i].len() >= BLOCK {
                group[n] = i;
                n += 1;
            }
            if n < LANES && !(end && n > 0) {
                continue;
            }
            let mut states = [[0u32; 8]; LANES];
            let mut input: [&[u8]; LANES] = [&[]; LANES];
            for (k, &i) in group[..n].iter().enumerate() {
                states[k] = streams[i].state;
                input[k] = &data[i][..bytes];
            }
            kernel.compress(&mut states[..n], &input[..n]);
            for (k, &i) in group[..n].iter().enumerate() {
                streams[i].state = states[k];
                streams[i].len += bytes as u64;
                data[i] = &data[i][bytes..];
            }
            n = 0;
        }
    }
    for (s, d) in streams.iter_mut().zip(data.iter_mut()) {
        if d.len() < BLOCK {
            s.keep(d);
            *d = &[];
        }
    }
}

/// The block function used for a group of streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    /// `sha2`'s, one stream after the other.
    Sequential,
    /// Ours, the streams interleaved (x86-64 with SHA-NI, SSSE3 and SSE4.1, seen at run time).
    #[cfg(target_arch = "x86_64")]
    Interleaved,
}

impl Kernel {
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            // std caches what it learnt from CPUID: this is a load and a test.
            if std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("ssse3")
                && std::is_x86_feature_detected!("sse4.1")
            {
                return Kernel::Interleaved;
            }
        }
        Kernel::Sequential
    }

    /// Compress the same number of whole blocks into each state.
    fn compress(self, states: &mut [[u32; 8]], input: &[&[u8]]) {
        debug_assert!(states.len() == input.len() && states.len() <= LANES);
        debug_assert!(input.iter().all(|d| d.len() == input[0].len()));
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY (all arms): the CPU was seen to have SHA, SSSE3 and SSE4.1
            // ([`Kernel::detect`]), the features `x86::compress` is compiled for; it reads
            // only within the slices given.
            Kernel::Interleaved => match states.len() {
                2 => unsafe { x86::compress::<2>(lanes(states), lanes_in(input)) },
                3 => unsafe { x86::compress::<3>(lanes(states), lanes_in(input)) },
                4 => unsafe { x86::compress::<4>(lanes(states), lanes_in(input)) },
                // One stream: `sha2`'s single-stream code is scheduled better than ours.
                _ => Kernel::Sequential.compress(states, input),
            },
            Kernel::Sequential => {
                for (s, d) in states.iter_mut().zip(input) {
                    compress_one(s, d);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn lanes<const N: usize>(states: &mut [[u32; 8]]) -> &mut [[u32; 8]; N] {
    states.try_into().expect("N states")
}

#[cfg(target_arch = "x86_64")]
fn lanes_in<'a, const N: usize>(input: &[&'a [u8]]) -> [&'a [u8]; N] {
    std::array::from_fn(|k| input[k])
}

/// Whole blocks into one state, with `sha2`'s block function (SHA-NI where the CPU has it).
fn compress_one(state: &mut [u32; 8], data: &[u8]) {
    debug_assert!(data.len().is_multiple_of(BLOCK));
    // `sha2` takes `&[[u8; 64]]`. (`<[T]>::as_chunks` says this without `unsafe`, from Rust
    // 1.88 on.)
    // SAFETY: `[u8; 64]` has the alignment of `u8` and no invalid values, and the slice
    // made covers `data.len() / 64 * 64 <= data.len()` bytes of `data`, borrowed as long.
    let blocks: &[[u8; BLOCK]] =
        unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), data.len() / BLOCK) };
    sha2::block_api::compress256(state, blocks);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// FIPS 180-4, 4.2.2.
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// Compress the same number of whole blocks into each of `N` states, the streams'
    /// rounds interleaved four at a time so that one stream's rounds run while another's
    /// wait for their result.
    ///
    /// # Safety
    /// The CPU must have SHA, SSSE3 and SSE4.1. Every `input` slice must hold the same whole
    /// number of 64-byte blocks (checked: a mismatch panics before any load).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress<const N: usize>(states: &mut [[u32; 8]; N], input: [&[u8]; N]) {
        let len = input[0].len();
        assert!(len.is_multiple_of(64) && input.iter().all(|d| d.len() == len));
        // Message bytes are big-endian words.
        let swap = _mm_set_epi64x(0x0c0d0e0f_08090a0b, 0x04050607_00010203);
        let mut abef = [_mm_setzero_si128(); N];
        let mut cdgh = [_mm_setzero_si128(); N];
        for l in 0..N {
            // From a..d and e..h (lane 0 first) to ABEF and CDGH (lane 3 first).
            let p = states[l].as_ptr();
            let badc = _mm_shuffle_epi32(_mm_loadu_si128(p.cast()), 0xB1);
            let hgfe = _mm_shuffle_epi32(_mm_loadu_si128(p.add(4).cast()), 0x1B);
            abef[l] = _mm_alignr_epi8(badc, hgfe, 8);
            cdgh[l] = _mm_blend_epi16(hgfe, badc, 0xF0);
        }
        let mut at = 0;
        while at < len {
            let (abef0, cdgh0) = (abef, cdgh);
            let mut w = [[_mm_setzero_si128(); 4]; N];
            for l in 0..N {
                let p = input[l].as_ptr().add(at);
                for (j, w) in w[l].iter_mut().enumerate() {
                    *w = _mm_shuffle_epi8(_mm_loadu_si128(p.add(16 * j).cast()), swap);
                }
            }
            // Four rounds at a time: w[l][i % 4] holds w[4i..4i+4] when they run. Spelled
            // out for each i, so that every index is a constant: as a loop, the schedule went
            // through the stack at computed addresses, 20% slower (see the module doc).
            macro_rules! rounds {
                ($($i:literal)*) => {$({
                    const J: usize = $i % 4;
                    let k = _mm_loadu_si128(K.as_ptr().add(4 * $i).cast());
                    for l in 0..N {
                        // The first 16 rounds take the message words as they are.
                        if $i >= 4 {
                            let [m0, m1, m2, m3] = [0, 1, 2, 3].map(|d| w[l][(J + d) % 4]);
                            let s0 = _mm_sha256msg1_epu32(m0, m1);
                            let t = _mm_add_epi32(s0, _mm_alignr_epi8(m3, m2, 4));
                            w[l][J] = _mm_sha256msg2_epu32(t, m3);
                        }
                        let wk = _mm_add_epi32(w[l][J], k);
                        cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);
                        abef[l] =
                            _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(wk, 0x0E));
                    }
                })*};
            }
            rounds!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
            for l in 0..N {
                abef[l] = _mm_add_epi32(abef[l], abef0[l]);
                cdgh[l] = _mm_add_epi32(cdgh[l], cdgh0[l]);
            }
            at += 64;
        }
        for l in 0..N {
            let abcd_rev = _mm_shuffle_epi32(abef[l], 0x1B);
            let cdgh_rev = _mm_shuffle_epi32(cdgh[l], 0xB1);
            let p = states[l].as_mut_ptr();
            _mm_storeu_si128(p.cast(), _mm_blend_epi16(abcd_rev, cdgh_rev, 0xF0));
            _mm_storeu_si128(p.add(4).cast(), _mm_alignr_epi8(cdgh_rev, abcd_rev, 8));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::Digest;

    fn reference(data: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(data).into()
    }

    fn kernels() -> Vec<Kernel> {
        let mut k = vec![Kernel::Sequential];
        if Kernel::detect() != Kernel::Sequential {
            k.push(Kernel::detect());
        }
        k
    }

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn fips_180_examples() {
        // FIPS 180-4 / NIST CSRC example values: one block, two blocks, a million 'a'.
        let cases: [(&[u8], &str); 3] = [
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                &[b'a'; 1_000_000],
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            ),
        ];
        for (data, want) in cases {
            let mut alone = Sha256::new();
            alone.update(data);
            assert_eq!(hex(&alone.finalize()), want);
            for kernel in kernels() {
                // The same message in four streams at once.
                let mut s: Vec<Sha256> = vec![Sha256::new(); 4];
                let mut refs: Vec<&mut Sha256> = s.iter_mut().collect();
                let mut left: Vec<&[u8]> = vec![data; 4];
                while left.iter().any(|d| !d.is_empty()) {
                    update_together_with(kernel, &mut refs, &mut left);
                }
                for s in s {
                    assert_eq!(hex(&s.finalize()), want, "{kernel:?}");
                }
            }
        }
    }

    #[test]
    fn the_empty_message_and_the_padding_edges() {
        for len in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let data: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
            let mut s = Sha256::new();
            s.update(&data);
            assert_eq!(s.len(), len as u64);
            assert_eq!(s.finalize(), reference(&data), "{len}");
        }
    }

    #[test]
    fn every_stream_count_and_group_of_lanes() {
        // From one stream to more than two groups of LANES, each of its own length, fed in
        // reads of a few whole blocks (as files are), with both block functions.
        for kernel in kernels() {
            for streams in 1..=2 * LANES + 1 {
                let data: Vec<Vec<u8>> = (0..streams)
                    .map(|s| (0..1000 + 700 * s).map(|i| (i * 31 + s) as u8).collect())
                    .collect();
                let mut hashers: Vec<Sha256> = vec![Sha256::new(); streams];
                let mut at = vec![0usize; streams];
                let mut left: Vec<&[u8]> = vec![&[]; streams];
                loop {
                    for s in 0..streams {
                        if left[s].is_empty() && at[s] < data[s].len() {
                            let end = (at[s] + 256).min(data[s].len());
                            left[s] = &data[s][at[s]..end];
                            at[s] = end;
                        }
                    }
                    if left.iter().all(|d| d.is_empty()) {
                        break;
                    }
                    let mut refs: Vec<&mut Sha256> = hashers.iter_mut().collect();
                    update_together_with(kernel, &mut refs, &mut left);
                }
                for (h, d) in hashers.into_iter().zip(&data) {
                    assert_eq!(h.finalize(), reference(d), "{kernel:?} {streams}");
                }
            }
        }
    }

    #[test]
    fn a_call_always_empties_a_slice() {
        let data = vec![7u8; 10_000];
        let mut s: Vec<Sha256> = vec![Sha256::new(); 3];
        let mut refs: Vec<&mut Sha256> = s.iter_mut().collect();
        let mut left: Vec<&[u8]> = vec![&data[..640], &data[..200], &data[..70]];
        update_together(&mut refs, &mut left);
        // One whole block from each (the shortest has one), then the third's rest buffered;
        // the other two keep theirs, having a whole block left.
        assert_eq!(
            left.iter().map(|d| d.len()).collect::<Vec<_>>(),
            [576, 136, 0]
        );
        assert_eq!(
            refs.iter().map(|s| s.len()).collect::<Vec<_>>(),
            [64, 64, 70]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// One stream fed in random pieces, down to single bytes: always `sha2`'s digest.
        #[test]
        fn updates_in_random_pieces_agree_with_sha2(
            message in prop::collection::vec(any::<u8>(), 0..2000),
            cuts in prop::collection::vec(0usize..150, 1..30),
        ) {
            let mut h = Sha256::new();
            let mut at = 0;
            for (i, _) in message.iter().enumerate() {
                if i < at {
                    continue;
                }
                let end = (at + cuts[i % cuts.len()]).min(message.len());
                h.update(&message[at..end]);
                at = end;
            }
            h.update(&message[at..]);
            prop_assert_eq!(h.len(), message.len() as u64);
            prop_assert_eq!(h.finalize(), reference(&message));
        }

        /// Random messages, cut at random places, fed through random groupings of streams:
        /// always `sha2`'s digest.
        #[test]
        fn random_chunkings_agree_with_sha2(
            messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..3000), 1..7),
            cuts in prop::collection::vec(1usize..400, 1..20),
        ) {
            for kernel in kernels() {
                let n = messages.len();
                let mut hashers: Vec<Sha256> = vec![Sha256::new(); n];
                let mut at = vec![0usize; n];
                let mut left: Vec<&[u8]> = vec![&[]; n];
                let mut turn = 0;
                loop {
                    for s in 0..n {
                        if left[s].is_empty() && at[s] < messages[s].len() {
                            let end = (at[s] + cuts[(turn + s) % cuts.len()]).min(messages[s].len());
                            left[s] = &messages[s][at[s]..end];
                            at[s] = end;
                        }
                    }
                    turn += 1;
                    if left.iter().all(|d| d.is_empty()) {
                        break;
                    }
                    let mut refs: Vec<&mut Sha256> = hashers.iter_mut().collect();
                    update_together_with(kernel, &mut refs, &mut left);
                }
                for (h, m) in hashers.into_iter().zip(&messages) {
                    prop_assert_eq!(h.finalize(), reference(m));
                }
            }
        }
    }
}
