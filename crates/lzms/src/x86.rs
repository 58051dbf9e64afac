//! The x86 post-filter that runs on every decoded LZMS block of more than 17 bytes
//! (wim-and-codecs.md §4.9). The encoder turns relative CALL / RIP-relative operands into
//! absolute ones when it guesses it is inside x86 code; this undoes that with the same guess.
//!
//! The "last position that referenced this 16-bit target" table is 256 KiB. Instead of
//! refilling it with "never" for every block (which would cost more than decoding a small
//! block), positions are stored biased by a per-decompressor epoch that moves past every
//! earlier block, so stale entries always look at least 65,536 bytes old, exactly like the
//! initial value −65,536 of the description.

/// Reusable filter state.
pub(crate) struct X86Filter {
    last_target: Vec<u32>,
    /// Added to positions of the current block; entries below `base` are from earlier blocks.
    base: u32,
}

/// Window after the last recognized x86 instruction in which CALL operands are translated.
const CALL_WINDOW: u32 = 511;
/// Same for the RIP-relative forms.
const RIP_WINDOW: u32 = 1023;
/// A target referenced again within this distance opens the window.
const TARGET_REUSE: u32 = 65535;

/// Opcode bytes that can start a recognized instruction.
const FIRST_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    t[0xE8] = true;
    t[0xE9] = true;
    t[0xFF] = true;
    t[0xF0] = true;
    t[0x48] = true;
    t[0x4C] = true;
    t
};

impl X86Filter {
    pub(crate) fn new() -> Self {
        X86Filter {
            last_target: vec![0; 1 << 16],
            base: 1 << 16,
        }
    }

    /// Undoes the encoder's translation on one whole block. `buf.len()` must be at most
    /// [`crate::MAX_BLOCK_SIZE`] (so biased positions fit in a u32 after a reset).
    pub(crate) fn apply(&mut self, buf: &mut [u8]) {
        let n = buf.len();
        if n <= 17 {
            return;
        }
        let Ok(n32) = u32::try_from(n) else { return };
        // Keep base + n + 2^16 within u32; reset (rarely: every ~3 GiB of output) otherwise.
        if self
            .base
            .checked_add(n32)
            .and_then(|v| v.checked_add(1 << 17))
            .is_none()
        {
            self.last_target.fill(0);
            self.base = 1 << 16;
        }
        let base = self.base;
        let table = &mut self.last_target[..];
        // `last_x86 = −1024` initially, biased like every position (base >= 2^16).
        let mut last_x86: u32 = base - 1024;
        let end = n - 16;
        let mut i = 1usize;
        while i < end {
            // Skip quickly over bytes that cannot start a recognized instruction.
            while i < end && !FIRST_BYTE[usize::from(buf[i])] {
                i += 1;
            }
            if i >= end {
                break;
            }
            // In bounds: i < n − 16, and every access below is at most i + 7.
            let b0 = buf[i];
            let (k, window) = match b0 {
                0xE8 => (1usize, CALL_WINDOW),
                0xE9 => {
                    i += 5;
                    continue;
                }
                0xFF if buf[i + 1] == 0x15 => (2, RIP_WINDOW),
                0xF0 if buf[i + 1] == 0x83 && buf[i + 2] == 0x05 => (3, RIP_WINDOW),
                0x48 | 0x4C if buf[i + 1] == 0x8D && buf[i + 2] & 7 == 5 => (3, RIP_WINDOW),
                0x48 if buf[i + 1] == 0x8B && buf[i + 2] & 7 == 5 && buf[i + 2] < 0x10 => {
                    (3, RIP_WINDOW)
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            let pos = base + i as u32;
            let q = i + k;
            let operand: &mut [u8; 4] = match buf.get_mut(q..q + 4).and_then(|s| s.try_into().ok())
            {
                Some(o) => o,
                None => break,
            };
            let mut value = u32::from_le_bytes(*operand);
            if pos - last_x86 <= window {
                value = value.wrapping_sub(i as u32);
                *operand = value.to_le_bytes();
            }
            let target = (i as u32).wrapping_add(value) & 0xFFFF;
            let e = pos + k as u32 + 3;
            let slot = &mut table[target as usize];
            if e - *slot <= TARGET_REUSE {
                last_x86 = e;
            }
            *slot = e;
            i = q + 4;
        }
        self.base = base + n32 + (1 << 16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forward transform, written from the same description, to test the round trip.
    fn encode(buf: &mut [u8]) {
        let n = buf.len();
        if n <= 17 {
            return;
        }
        let mut table = vec![-65536i64; 1 << 16];
        let mut last_x86: i64 = -1024;
        let mut i = 1usize;
        while i < n - 16 {
            let (k, w) = match buf[i] {
                0xE8 => (1, 511),
                0xE9 => {
                    i += 5;
                    continue;
                }
                0xFF if buf[i + 1] == 0x15 => (2, 1023),
                0xF0 if buf[i + 1] == 0x83 && buf[i + 2] == 0x05 => (3, 1023),
                0x48 | 0x4C if buf[i + 1] == 0x8D && buf[i + 2] & 7 == 5 => (3, 1023),
                0x48 if buf[i + 1] == 0x8B && buf[i + 2] & 7 == 5 && buf[i + 2] < 0x10 => (3, 1023),
                _ => {
                    i += 1;
                    continue;
                }
            };
            let q = i + k;
            let rel = u32::from_le_bytes(buf[q..q + 4].try_into().unwrap());
            let target = (i as u32).wrapping_add(rel) & 0xFFFF;
            if i as i64 - last_x86 <= w {
                buf[q..q + 4].copy_from_slice(&rel.wrapping_add(i as u32).to_le_bytes());
            }
            let e = (i + k + 3) as i64;
            if e - table[target as usize] <= 65535 {
                last_x86 = e;
            }
            table[target as usize] = e;
            i = q + 4;
        }
    }

    #[test]
    fn round_trip_on_call_heavy_bytes() {
        let mut data = Vec::new();
        let mut x = 0x1234_5678u32;
        for i in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match x % 7 {
                0 => data.push(0xE8),
                1 => data.extend_from_slice(&[0x48, 0x8D, 0x05]),
                2 => data.extend_from_slice(&[0xFF, 0x15]),
                3 => data.extend_from_slice(&[0xF0, 0x83, 0x05]),
                4 => data.extend_from_slice(&[0x48, 0x8B, 0x0D]),
                5 => data.push(0xE9),
                _ => data.push(x as u8),
            }
            // Operands aimed at a few targets so that the window opens.
            let target = 0x4000 + (x >> 8) % 16 * 64;
            data.extend_from_slice(&target.wrapping_sub(data.len() as u32).to_le_bytes());
            if i % 5 == 0 {
                data.push(0x90);
            }
        }
        let original = data.clone();
        encode(&mut data);
        assert_ne!(data, original, "the encoder translated nothing");
        let mut f = X86Filter::new();
        // Twice with the same state, to cover the epoch bias.
        for _ in 0..2 {
            let mut d = data.clone();
            f.apply(&mut d);
            assert_eq!(d, original);
        }
    }

    #[test]
    fn epoch_reset_keeps_results() {
        let mut data = vec![0u8; 4096];
        for i in (10..4000).step_by(9) {
            data[i] = 0xE8;
        }
        let original = data.clone();
        encode(&mut data);
        let mut f = X86Filter::new();
        f.base = u32::MAX - 5000;
        let mut d = data.clone();
        f.apply(&mut d);
        assert_eq!(d, original);
    }
}
