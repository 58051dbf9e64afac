//! Length-slot and offset-slot tables of LZMS (wim-and-codecs.md §4.6), generated at compile
//! time from the extra-bit counts so that the bases cannot drift from the rule
//! `base[0] = 1, base[s + 1] = base[s] + 2^extra[s]`.

/// Number of length slots (symbols of the length code).
pub(crate) const NUM_LENGTH_SLOTS: usize = 54;

/// Number of offset slots defined by the format; a block uses a prefix of them (§4.6).
pub(crate) const MAX_OFFSET_SLOTS: usize = 799;

/// Runs of (slot count, extra bits) for the length slots.
const LENGTH_RUNS: [(usize, u8); 13] = [
    (26, 0),
    (4, 1),
    (6, 2),
    (4, 3),
    (5, 4),
    (2, 5),
    (1, 6),
    (1, 7),
    (1, 8),
    (1, 9),
    (1, 10),
    (1, 16),
    (1, 30),
];

/// Runs of (slot count, extra bits) for the offset slots.
const OFFSET_RUNS: [(usize, u8); 21] = [
    (8, 0),
    (9, 2),
    (7, 3),
    (10, 4),
    (15, 5),
    (15, 6),
    (20, 7),
    (20, 8),
    (30, 9),
    (33, 10),
    (40, 11),
    (42, 12),
    (45, 13),
    (60, 14),
    (73, 15),
    (80, 16),
    (85, 17),
    (95, 18),
    (105, 19),
    (6, 20),
    (1, 30),
];

const fn expand<const N: usize>(runs: &[(usize, u8)]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut r = 0;
    let mut i = 0;
    while r < runs.len() {
        let mut k = 0;
        while k < runs[r].0 {
            out[i] = runs[r].1;
            i += 1;
            k += 1;
        }
        r += 1;
    }
    assert!(i == N, "run table does not cover every slot");
    out
}

/// `N` slot bases plus the end value (one past the largest encodable value).
const fn bases<const N: usize, const M: usize>(extra: &[u8; N]) -> [u32; M] {
    let mut out = [0u32; M];
    out[0] = 1;
    let mut i = 0;
    while i < N {
        out[i + 1] = out[i] + (1u32 << extra[i]);
        i += 1;
    }
    out
}

/// Extra verbatim bits after each length slot.
pub(crate) const LENGTH_EXTRA: [u8; NUM_LENGTH_SLOTS] = expand(&LENGTH_RUNS);
/// Smallest length of each length slot; the last entry is the largest length + 1.
pub(crate) const LENGTH_BASE: [u32; NUM_LENGTH_SLOTS + 1] = bases(&LENGTH_EXTRA);
/// Extra verbatim bits after each offset slot.
pub(crate) const OFFSET_EXTRA: [u8; MAX_OFFSET_SLOTS] = expand(&OFFSET_RUNS);
/// Smallest offset of each offset slot; the last entry is the largest offset + 1.
pub(crate) const OFFSET_BASE: [u32; MAX_OFFSET_SLOTS + 1] = bases(&OFFSET_EXTRA);

/// Number of offset slots (size of both offset codes) for a block of `n` bytes (§4.6):
/// 0 below 2 bytes, else one more than the slot of `n - 1`.
pub(crate) fn num_offset_slots(n: usize) -> usize {
    if n < 2 {
        return 0;
    }
    let v = u32::try_from(n - 1).unwrap_or(u32::MAX);
    // Number of bases <= v, i.e. 1 + slot(v); capped at the table size for huge `n`.
    OFFSET_BASE[..MAX_OFFSET_SLOTS].partition_point(|&b| b <= v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bases_match_the_description() {
        let firsts = [
            (0, 1),
            (26, 27),
            (30, 35),
            (36, 59),
            (40, 91),
            (45, 171),
            (47, 235),
            (48, 299),
            (49, 427),
            (50, 683),
            (51, 1195),
            (52, 2219),
            (53, 67755),
        ];
        for (slot, base) in firsts {
            assert_eq!(LENGTH_BASE[slot], base, "length slot {slot}");
        }
        assert_eq!(LENGTH_BASE[NUM_LENGTH_SLOTS] - 1, 1_073_809_578);
    }

    #[test]
    fn offset_bases_match_the_description() {
        let firsts = [
            (0, 1),
            (8, 9),
            (17, 45),
            (24, 101),
            (34, 261),
            (49, 741),
            (64, 1701),
            (84, 4261),
            (104, 9381),
            (134, 24741),
            (167, 58533),
            (207, 140453),
            (249, 312485),
            (294, 681125),
            (354, 1664165),
            (427, 4056229),
            (507, 9299109),
            (592, 20440229),
            (687, 45343909),
            (792, 100394149),
            (798, 106685605),
            (799, 1180427429),
        ];
        for (slot, base) in firsts {
            assert_eq!(OFFSET_BASE[slot], base, "offset slot {slot}");
        }
    }

    #[test]
    fn slot_counts_match_the_description() {
        assert_eq!(num_offset_slots(0), 0);
        assert_eq!(num_offset_slots(1), 0);
        assert_eq!(num_offset_slots(2), 1);
        assert_eq!(num_offset_slots(32 << 10), 142);
        assert_eq!(num_offset_slots(64 << 10), 171);
        assert_eq!(num_offset_slots(128 << 10), 203);
        assert_eq!(num_offset_slots(1 << 20), 317);
        assert_eq!(num_offset_slots(64 << 20), 729);
        assert_eq!(num_offset_slots(usize::MAX), MAX_OFFSET_SLOTS);
    }
}
