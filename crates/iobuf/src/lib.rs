//! Read buffers placed so that the kernel's copy into them runs at full speed.
//!
//! Every payload byte the audit hashes is first copied by the kernel from the page cache into
//! a user buffer (`read()`, `pread()`). That copy is a `rep movsb`, and on the AMD EPYC
//! machines we measure on it is **4 to 5 times slower** when the destination address and the
//! file offset are not equally aligned modulo 32: reading a cached 600 MB file in 256 KiB
//! reads ran at 9-11 GB/s into a page-aligned buffer and at 1.6-2.3 GB/s into the same buffer
//! 8 or 16 bytes further on (`benches/PERF-NOTES.md`, session 3). A heap buffer of 128 KiB or
//! more comes from `mmap` with the allocator's 16-byte header in front, so a plain
//! `vec![0; 256 * 1024]` always lands on the slow side. On the full-scale bench image the
//! minimal read-only loop went from 1.57 s to 0.60 s with this alone.
//!
//! [`AlignedBuf::window`] hands out a slice whose address has the same remainder modulo
//! [`PAGE`] as the file offset it will be filled from, so source and destination line up
//! whatever the offset (WIM resources start anywhere in the file).
//!
//! Why by hand: the whole job is choosing where a window starts inside an ordinary `Vec`,
//! a few lines of arithmetic with no `unsafe`; an aligned-allocation crate would bring
//! `unsafe` allocation code for less than that.

#![deny(missing_docs)]

/// The alignment every window can reach: one page.
pub const PAGE: usize = 4096;

/// A reusable byte buffer handing out windows at a chosen address phase.
#[derive(Default)]
pub struct AlignedBuf {
    raw: Vec<u8>,
}

impl AlignedBuf {
    /// An empty buffer; memory is taken by the first [`AlignedBuf::window`].
    pub const fn new() -> Self {
        AlignedBuf { raw: Vec::new() }
    }

    /// A buffer whose windows up to `len` bytes need no reallocation.
    pub fn with_capacity(len: usize) -> Self {
        let mut b = Self::new();
        b.window(len, 0);
        b
    }

    /// A window of `len` bytes whose address is congruent to `offset` modulo [`PAGE`]: pass
    /// the file offset the window will be read from. The bytes are whatever the buffer held
    /// before (zeros when new).
    pub fn window(&mut self, len: usize, offset: u64) -> &mut [u8] {
        let need = len.saturating_add(PAGE);
        if self.raw.len() < need {
            // A new allocation may move the buffer, so the start is computed afterwards.
            self.raw.resize(need, 0);
        }
        let start = phase_start(self.raw.as_ptr() as usize, offset);
        &mut self.raw[start..start + len]
    }
}

/// Index in a buffer at address `addr` where an address congruent to `offset` modulo
/// [`PAGE`] starts: always below [`PAGE`].
fn phase_start(addr: usize, offset: u64) -> usize {
    let want = (offset % PAGE as u64) as usize;
    (want + PAGE - addr % PAGE) % PAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_take_the_phase_of_their_offset() {
        let mut b = AlignedBuf::new();
        for (len, offset) in [
            (256 * 1024, 0u64),
            (10, 16),
            (1 << 20, 4095),
            (0, 7),
            (300_000, 1 << 40),
        ] {
            let w = b.window(len, offset);
            assert_eq!(w.len(), len);
            assert_eq!(
                w.as_ptr() as usize % PAGE,
                (offset % PAGE as u64) as usize,
                "len {len} offset {offset}"
            );
        }
    }

    #[test]
    fn a_window_keeps_what_was_written_while_the_buffer_does_not_grow() {
        let mut b = AlignedBuf::with_capacity(1000);
        let at = b.window(1000, 0).as_ptr();
        b.window(1000, 0)[999] = 42;
        assert_eq!(b.window(1000, 0)[999], 42);
        // Up to the capacity asked for, windows of any phase need no new allocation.
        assert_eq!(b.window(1000, 0).as_ptr(), at);
        assert_eq!(b.window(1000, 4095).len(), 1000);
        assert_eq!(b.window(1000, 0).as_ptr(), at);
    }

    #[test]
    fn phase_start_is_below_a_page() {
        for addr in [0usize, 1, 16, 4095, 4096, 123_456_789] {
            for off in [0u64, 1, 16, 4095, 4096, u64::MAX] {
                let s = phase_start(addr, off);
                assert!(s < PAGE);
                assert_eq!((addr + s) % PAGE, (off % PAGE as u64) as usize);
            }
        }
    }
}
