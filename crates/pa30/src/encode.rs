//! A RAW PA30 encoder, used to build realistic test and demo images (DCM manifests, DCN
//! payloads) and to round-trip the decoder.
//!
//! What it writes, staying inside the parts of pa30.md marked confirmed:
//! - the header of §3 with FileTypeSet 1, FileType 1 (RAW), the caller's Flags and file
//!   time, hash algorithm 0 or 0x8003 (MD5; the only unconfirmed part, by request), an
//!   empty preprocess buffer and an empty rift table;
//! - `isDefault` = 1 (default tables) when the input fits one block and that is
//!   smaller than coding trees (tiny inputs, as Microsoft's encoder does), otherwise
//! - `isDefault` = 0 with one parameter block per [`BLOCK_SPAN`] bytes of output (or
//!   [`EncodeOptions::block_size`](crate::EncodeOptions::block_size)), block
//!   starts cut at token boundaries (absolute window positions, the first one = S), one
//!   pre-tree (lengths ≤ 15) and, per block, the 872 lengths coded with pre-tree symbols
//!   0–17, 20, 23–27 and 31–38 only;
//! - complete Huffman trees with at least two used symbols each, lengths ≤ 16;
//! - matches found with hash chains over the window (source + target), greedy;
//! - slots 3 (distance S), 4–6 (LRU repeats), 8–10 and 11–50, where slots 43–50 use the
//!   `0xx` / `10xxx` escapes of slot 7. Never slots 0–2 or 51–70: the match finder does
//!   not look further back than [`MAX_DIST`] (the top of slot 50);
//! - lengths 2–4,103, so long lengths use only z ≤ 3.

use md5::{Digest, Md5};

use crate::bits::BitWriter;
use crate::decode::DEFAULT_LENGTHS;
use crate::huffman::{assign_codes, build_lengths, reverse};
use crate::{EncodeOptions, ALG_MD5, ALIGNED_SYMBOLS, LENGTH_SYMBOLS, MAIN_SYMBOLS, TREE_LENGTHS};

/// Output bytes per parameter block: big inputs get several blocks so each adapts its
/// statistics (the wow64 sample uses ~0.8 MiB blocks).
pub(crate) const BLOCK_SPAN: usize = 1 << 20;
/// Largest distance we emit: the top of slot 50, the last slot the samples confirm.
pub(crate) const MAX_DIST: usize = 0x3F_FFFF;
/// Longest match: `2^(3+8) + 2^11 − 1 + 8`, the top of long-length prefix z = 3.
const MAX_MATCH: usize = 4103;
/// Hash-chain candidates examined per position; trades speed against ratio.
const CHAIN_DEPTH: usize = 24;
/// A match this long is taken without looking further.
const NICE_LEN: usize = 128;
const NONE: u32 = u32::MAX;
const NO_SYM: u16 = u16::MAX;

/// One literal or match, with every field it will write.
#[derive(Clone, Copy)]
struct Tok {
    main: u16,
    len_sym: u16,
    aligned: u16,
    extra_bits: u8,
    long_bits: u8,
    extra: u32,
    long: u32,
}

impl Tok {
    fn literal(b: u8) -> Tok {
        Tok {
            main: u16::from(b),
            len_sym: NO_SYM,
            aligned: NO_SYM,
            extra_bits: 0,
            long_bits: 0,
            extra: 0,
            long: 0,
        }
    }
}

/// Builds the token for a match of `len` at distance `d`, with LRU `lru` and source length `s`.
fn match_token(d: usize, len: usize, lru: &[usize; 3], s: usize) -> Tok {
    let mut tok = Tok::literal(0);
    let slot: u32 = if d == lru[0] {
        4
    } else if d == lru[1] {
        5
    } else if d == lru[2] {
        6
    } else if d == s {
        3
    } else if d <= 3 {
        7 + d as u32
    } else {
        let hb = usize::BITS - 1 - d.leading_zeros();
        let v = hb - 1;
        let top = (d >> v) as u32;
        let slot = 11 + 2 * (v - 1) + (top - 2);
        let rem = (d - ((top as usize) << v)) as u32;
        let (mut extra, mut bits) = if slot <= 16 {
            (rem, v)
        } else {
            tok.aligned = (rem & 15) as u16;
            (rem >> 4, v - 4)
        };
        if slot >= 43 {
            let (esc, esc_bits) = if slot <= 46 {
                ((slot - 43) << 1, 3)
            } else {
                (1 | ((slot - 47) << 2), 5)
            };
            extra = esc | (extra << esc_bits);
            bits += esc_bits;
        }
        tok.extra = extra;
        tok.extra_bits = bits as u8;
        slot
    };
    let len3 = if len <= 8 {
        len as u32 - 1
    } else {
        let k = len - 8;
        if k < 256 {
            tok.len_sym = k as u16;
        } else {
            tok.len_sym = 0;
            let z = usize::BITS - 1 - k.leading_zeros() - 8;
            let x = (k - (1 << (z + 8))) as u32;
            tok.long = (1 << z) | (x << (z + 1));
            tok.long_bits = (2 * z + 9) as u8;
        }
        0
    };
    let main_slot = if slot >= 43 { 7 } else { slot };
    tok.main = (256 + main_slot * 8 + len3) as u16;
    tok
}

#[inline]
fn hash3(w: &[u8], i: usize, bits: u32) -> usize {
    let v = u32::from(w[i]) | u32::from(w[i + 1]) << 8 | u32::from(w[i + 2]) << 16;
    (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

#[inline]
fn match_len(w: &[u8], a: usize, b: usize, max: usize) -> usize {
    let mut n = 0;
    while n + 8 <= max {
        let x = u64::from_le_bytes(w[a + n..a + n + 8].try_into().unwrap_or([0; 8]));
        let y = u64::from_le_bytes(w[b + n..b + n + 8].try_into().unwrap_or([0; 8]));
        if x != y {
            return n + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < max && w[a + n] == w[b + n] {
        n += 1;
    }
    n
}

/// Greedy LZ parse of `w[s..]` against all of `w`; returns tokens and block cuts
/// (token index, window position).
fn parse(w: &[u8], s: usize, block_span: usize) -> (Vec<Tok>, Vec<(usize, usize)>) {
    let n = w.len();
    let hash_bits = (usize::BITS - n.leading_zeros()).clamp(10, 16);
    let mut head = vec![NONE; 1 << hash_bits];
    let mut prev = vec![NONE; n];
    let insert = |head: &mut Vec<u32>, prev: &mut Vec<u32>, i: usize| {
        // Positions are u32; beyond 4 GiB the encoder only emits literals.
        if i + 3 <= n && i < NONE as usize {
            let h = hash3(w, i, hash_bits);
            prev[i] = head[h];
            head[h] = i as u32;
        }
    };
    for i in 0..s {
        insert(&mut head, &mut prev, i);
    }
    let mut toks = Vec::with_capacity((n - s) / 4 + 16);
    let mut cuts = vec![(0usize, s)];
    let mut lru = [0usize; 3];
    let mut p = s;
    while p < n {
        if p - s >= cuts.len().saturating_mul(block_span) {
            cuts.push((toks.len(), p));
        }
        let maxlen = (n - p).min(MAX_MATCH);
        let (mut rep_len, mut rep_d) = (0usize, 0usize);
        if maxlen >= 2 {
            for d in [lru[0], lru[1], lru[2], s] {
                if d != 0 && d <= p {
                    let l = match_len(w, p - d, p, maxlen);
                    if l > rep_len {
                        rep_len = l;
                        rep_d = d;
                    }
                }
            }
        }
        let (mut best_len, mut best_d) = (0usize, 0usize);
        if maxlen >= 3 && rep_len < NICE_LEN {
            let mut cur = head[hash3(w, p, hash_bits)];
            let mut depth = CHAIN_DEPTH;
            while cur != NONE && depth > 0 {
                let c = cur as usize;
                let d = p - c;
                if d > MAX_DIST {
                    break;
                }
                if w[c + best_len] == w[p + best_len] {
                    let l = match_len(w, c, p, maxlen);
                    if l > best_len {
                        best_len = l;
                        best_d = d;
                        if l >= NICE_LEN || l == maxlen {
                            break;
                        }
                    }
                }
                cur = prev[c];
                depth -= 1;
            }
        }
        let (len, d) = if rep_len >= 2 && rep_len + 2 >= best_len {
            (rep_len, rep_d)
        } else if best_len >= 4 || (best_len == 3 && best_d <= 8192) {
            (best_len, best_d)
        } else {
            (1, 0)
        };
        if d == 0 {
            toks.push(Tok::literal(w[p]));
        } else {
            toks.push(match_token(d, len, &lru, s));
            if lru[0] != d {
                if lru[1] == d {
                    lru.swap(0, 1);
                } else {
                    lru = [d, lru[0], lru[1]];
                }
            }
        }
        for i in p..p + len {
            insert(&mut head, &mut prev, i);
        }
        p += len;
    }
    (toks, cuts)
}

/// Writes `r` (1–127) as the run symbol family starting at `base` (23 fill, 31 copy).
fn push_run(out: &mut Vec<(u8, u32, u8)>, base: u8, r: usize) {
    if r <= 3 {
        out.push((base + r as u8 - 1, 0, 0));
    } else {
        let c = usize::BITS - r.leading_zeros(); // 3 for 4–7 … 7 for 64–127
        let x = (r - (1 << (c - 1))) as u32;
        out.push((base + c as u8, x, (c - 1) as u8));
    }
}

/// Codes `cur` against `prev` as pre-tree symbols with their run bits (§6.3).
fn code_lengths(cur: &[u8], prev: &[u8], out: &mut Vec<(u8, u32, u8)>) {
    let mut i = 0;
    let mut last: Option<u8> = None;
    while i < cur.len() {
        let copy = (i..cur.len().min(i + 127))
            .take_while(|&j| cur[j] == prev[j])
            .count();
        if copy > 0 {
            push_run(out, 31, copy);
            last = Some(cur[i + copy - 1]);
            i += copy;
            continue;
        }
        if let Some(l) = last {
            // Fills only up to 15 (symbols 23–27, the confirmed ones).
            let fill = (i..cur.len().min(i + 15))
                .take_while(|&j| cur[j] == l)
                .count();
            if fill > 0 {
                push_run(out, 23, fill);
                i += fill;
                continue;
            }
        }
        let (v, p) = (cur[i], prev[i]);
        let sym = if v == p + 1 {
            17
        } else if p >= 1 && v == p - 1 {
            20
        } else {
            v
        };
        out.push((sym, 0, 0));
        last = Some(v);
        i += 1;
    }
}

/// Encodes `target` as a RAW PA30 delta against `source`.
pub(crate) fn encode(target: &[u8], source: &[u8], opts: &EncodeOptions) -> Vec<u8> {
    let s = source.len();
    let mut w = Vec::with_capacity(s + target.len());
    w.extend_from_slice(source);
    w.extend_from_slice(target);
    let block_span = if opts.block_size == 0 {
        BLOCK_SPAN
    } else {
        opts.block_size
    };
    let (toks, cuts) = parse(&w, s, block_span);
    drop(w);

    // Per-block trees.
    let mut block_lengths: Vec<[u8; TREE_LENGTHS]> = Vec::with_capacity(cuts.len());
    for (bi, &(t0, _)) in cuts.iter().enumerate() {
        let t1 = cuts.get(bi + 1).map_or(toks.len(), |c| c.0);
        let mut fm = [0u32; MAIN_SYMBOLS];
        let mut fl = [0u32; LENGTH_SYMBOLS];
        let mut fa = [0u32; ALIGNED_SYMBOLS];
        for t in &toks[t0..t1] {
            fm[t.main as usize] += 1;
            if t.len_sym != NO_SYM {
                fl[t.len_sym as usize] += 1;
            }
            if t.aligned != NO_SYM {
                fa[t.aligned as usize] += 1;
            }
        }
        let mut l = [0u8; TREE_LENGTHS];
        l[..MAIN_SYMBOLS].copy_from_slice(&build_lengths(&fm, 16));
        l[MAIN_SYMBOLS..MAIN_SYMBOLS + LENGTH_SYMBOLS].copy_from_slice(&build_lengths(&fl, 16));
        l[MAIN_SYMBOLS + LENGTH_SYMBOLS..].copy_from_slice(&build_lengths(&fa, 16));
        block_lengths.push(l);
    }

    // One pre-tree for all blocks.
    let mut pre_syms: Vec<Vec<(u8, u32, u8)>> = Vec::with_capacity(cuts.len());
    let mut prev = [0u8; TREE_LENGTHS];
    let mut fp = [0u32; 39];
    for l in &block_lengths {
        let mut v = Vec::new();
        code_lengths(l, &prev, &mut v);
        for &(sym, _, _) in &v {
            fp[sym as usize] += 1;
        }
        pre_syms.push(v);
        prev = *l;
    }
    let pre_lens = build_lengths(&fp, 15);
    let pre_codes = assign_codes(&pre_lens).unwrap_or_default();

    // Small inputs: the default tables (§6.1) can beat the cost of coding trees.
    let use_default = cuts.len() == 1 && {
        let custom = &block_lengths[0];
        let default = DEFAULT_LENGTHS;
        let cost = |l: &[u8; TREE_LENGTHS]| -> u64 {
            toks.iter()
                .map(|t| {
                    let mut c = u64::from(l[t.main as usize]);
                    if t.len_sym != NO_SYM {
                        c += u64::from(l[MAIN_SYMBOLS + t.len_sym as usize]);
                    }
                    if t.aligned != NO_SYM {
                        c += u64::from(l[MAIN_SYMBOLS + LENGTH_SYMBOLS + t.aligned as usize]);
                    }
                    c
                })
                .sum()
        };
        let params: u64 = 39 * 4
            + pre_syms[0]
                .iter()
                .map(|&(sym, _, bits)| u64::from(pre_lens[sym as usize]) + u64::from(bits))
                .sum::<u64>();
        cost(&default) <= cost(custom) + params
    };
    if use_default {
        block_lengths[0] = DEFAULT_LENGTHS;
    }

    let mut bw = BitWriter::with_capacity(target.len() / 3 + 256);
    bw.write(0, 3); // padding count, patched below
    bw.write(0, 1); // empty rift table
    bw.write(u64::from(use_default), 1); // isDefault
    if !use_default {
        bw.write_int(cuts.len() as u64);
        let mut last_start = 0u64;
        for &(_, start) in &cuts {
            bw.write_int(start as u64 - last_start);
            last_start = start as u64;
        }
        for &l in &pre_lens {
            bw.write(u64::from(l), 4);
        }
        for v in &pre_syms {
            for &(sym, extra, bits) in v {
                let l = u32::from(pre_lens[sym as usize]);
                bw.write(u64::from(reverse(pre_codes[sym as usize], l)), l);
                bw.write(u64::from(extra), u32::from(bits));
            }
        }
    }
    for (bi, &(t0, _)) in cuts.iter().enumerate() {
        let t1 = cuts.get(bi + 1).map_or(toks.len(), |c| c.0);
        let l = &block_lengths[bi];
        let rev = |lens: &[u8]| -> Vec<(u32, u32)> {
            let codes = assign_codes(lens).unwrap_or_default();
            lens.iter()
                .zip(codes)
                .map(|(&l, c)| (reverse(c, u32::from(l)), u32::from(l)))
                .collect()
        };
        let main = rev(&l[..MAIN_SYMBOLS]);
        let lens = rev(&l[MAIN_SYMBOLS..MAIN_SYMBOLS + LENGTH_SYMBOLS]);
        let aligned = rev(&l[MAIN_SYMBOLS + LENGTH_SYMBOLS..]);
        for t in &toks[t0..t1] {
            let (c, n) = main[t.main as usize];
            bw.write(u64::from(c), n);
            if t.main < 256 {
                continue;
            }
            bw.write(u64::from(t.extra), u32::from(t.extra_bits));
            if t.aligned != NO_SYM {
                let (c, n) = aligned[t.aligned as usize];
                bw.write(u64::from(c), n);
            }
            if t.len_sym != NO_SYM {
                let (c, n) = lens[t.len_sym as usize];
                bw.write(u64::from(c), n);
                bw.write(u64::from(t.long), u32::from(t.long_bits));
            }
        }
    }
    let pad = (8 - bw.bit_len() % 8) % 8;
    let mut patch = bw.finish();
    if let Some(b) = patch.first_mut() {
        *b |= pad as u8;
    }

    let hash: Vec<u8> = if opts.md5 {
        Md5::digest(target).to_vec()
    } else {
        Vec::new()
    };
    let mut out = BitWriter::with_capacity(patch.len() + 64);
    out.write(0, 3);
    out.write_int(1); // FileTypeSet
    out.write_int(1); // FileType RAW
    out.write_int(opts.flags);
    out.write_int(target.len() as u64);
    out.write_int(if opts.md5 { u64::from(ALG_MD5) } else { 0 });
    for buf in [&hash[..], &[][..], &patch[..]] {
        out.write_int(buf.len() as u64);
        out.align();
        out.write_bytes(buf);
    }
    let body = out.finish();
    let mut file = Vec::with_capacity(12 + body.len());
    file.extend_from_slice(b"PA30");
    file.extend_from_slice(&opts.target_file_time.to_le_bytes());
    file.extend_from_slice(&body);
    file
}
