//! Independent oracle: wimlib-imagex compresses a generated folder into XPRESS and LZX WIMs
//! of several chunk sizes and levels; every compressed chunk must decode to the matching bytes
//! of the original file (blobs matched by SHA-1 from the blob table), and every metadata
//! resource must decode to its recorded SHA-1. Prints "skipped" without wimlib; fails then if
//! SXSAUDIT_REQUIRE_WIMLIB=1.

mod common;

use common::{capture, corpus, have_wimlib, parse, Codec, Resource};
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::sync::OnceLock;
use sxs_wimcomp::{lzx, xpress};

type Files = Vec<(String, Vec<u8>)>;

fn files() -> &'static (Files, HashMap<[u8; 20], usize>) {
    static F: OnceLock<(Files, HashMap<[u8; 20], usize>)> = OnceLock::new();
    F.get_or_init(|| {
        let files = corpus(false);
        let by_sha = files
            .iter()
            .enumerate()
            .filter(|(_, (_, d))| !d.is_empty())
            .map(|(i, (_, d))| (Sha1::digest(d).into(), i))
            .collect();
        (files, by_sha)
    })
}

#[derive(Default, Debug)]
struct Stats {
    compressed_chunks: usize,
    raw_chunks: usize,
    short_last_chunks: usize,
    short_last_needing_chunk_size: usize,
    bytes: usize,
}

/// Decode every chunk of `res`, comparing with `expect` (the original bytes).
fn check_resource(
    codec: Codec,
    chunk_size: usize,
    res: &Resource,
    expect: &[u8],
    name: &str,
    st: &mut Stats,
) {
    let mut lzx_fixed = lzx::Decompressor::with_chunk_size(chunk_size.max(lzx::MIN_WINDOW))
        .expect("chunk size accepted");
    let mut xp = xpress::Decompressor::new();
    let mut at = 0usize;
    for (k, c) in res.chunks.iter().enumerate() {
        let want = &expect[at..at + c.out_len];
        if c.raw {
            assert_eq!(&c.data[..], want, "{name} raw chunk {k}");
            st.raw_chunks += 1;
        } else {
            let mut out = vec![0u8; c.out_len];
            match codec {
                Codec::Xpress => {
                    xp.decompress_into(&c.data, &mut out)
                        .unwrap_or_else(|e| panic!("{name} chunk {k}: {e}"));
                    assert!(out == want, "{name} chunk {k} (XPRESS) differs");
                    // The free function must agree.
                    assert!(xpress::decompress(&c.data, c.out_len).unwrap() == want);
                }
                Codec::Lzx => {
                    lzx_fixed
                        .decompress_into(&c.data, &mut out)
                        .unwrap_or_else(|e| panic!("{name} chunk {k}: {e}"));
                    assert!(out == want, "{name} chunk {k} (LZX) differs");
                    let mut out2 = vec![0u8; c.out_len];
                    lzx::decompress_chunk_into(&c.data, &mut out2, chunk_size).unwrap();
                    assert!(
                        out2 == want,
                        "{name} chunk {k}: decompress_chunk_into differs"
                    );
                    let free = lzx::decompress(&c.data, c.out_len);
                    let free_ok = free.as_deref().ok() == Some(want);
                    if c.out_len == chunk_size || chunk_size == lzx::MIN_WINDOW {
                        assert!(free_ok, "{name} chunk {k}: free function differs");
                    }
                    if c.out_len != chunk_size {
                        st.short_last_chunks += 1;
                        if !free_ok {
                            st.short_last_needing_chunk_size += 1;
                        }
                    }
                }
                _ => unreachable!(),
            }
            st.compressed_chunks += 1;
        }
        st.bytes += c.out_len;
        at += c.out_len;
    }
    assert_eq!(at, expect.len(), "{name}: chunk sizes add up");
}

fn run(label: &str, args: &[&str], codec: Codec, chunk_size: usize) {
    if !have_wimlib(label) {
        return;
    }
    let (files, by_sha) = files();
    let dir = tempfile::tempdir().unwrap();
    let wim = parse(&capture(dir.path(), files, args));
    assert_eq!(wim.codec, codec, "{label}: header codec");
    assert_eq!(wim.chunk_size, chunk_size, "{label}: header chunk size");
    let mut st = Stats::default();
    let mut seen = vec![false; files.len()];
    let mut metadata = 0;
    let mut stored = 0;
    for res in &wim.resources {
        if res.metadata {
            // No original to compare with: decode whole, check the recorded SHA-1.
            let mut all = Vec::new();
            if let Some(s) = &res.stored {
                all.clone_from(s);
            }
            let mut tmp = Vec::new();
            for c in &res.chunks {
                tmp.extend_from_slice(&c.data);
                let mut out = vec![0u8; c.out_len];
                if c.raw {
                    out.copy_from_slice(&c.data);
                } else if codec == Codec::Xpress {
                    xpress::Decompressor::new()
                        .decompress_into(&c.data, &mut out)
                        .unwrap();
                } else {
                    lzx::Decompressor::with_chunk_size(chunk_size)
                        .unwrap()
                        .decompress_into(&c.data, &mut out)
                        .unwrap();
                }
                all.extend_from_slice(&out);
            }
            assert_eq!(all.len() as u64, res.original_size);
            assert_eq!(
                <[u8; 20]>::from(Sha1::digest(&all)),
                res.sha1,
                "{label}: metadata"
            );
            metadata += 1;
            continue;
        }
        let &i = by_sha
            .get(&res.sha1)
            .unwrap_or_else(|| panic!("{label}: blob not in the corpus"));
        seen[i] = true;
        let (name, data) = &files[i];
        assert_eq!(res.original_size, data.len() as u64);
        if let Some(s) = &res.stored {
            assert!(s == data, "{label}: {name} stored raw differs");
            stored += 1;
            continue;
        }
        check_resource(codec, chunk_size, res, data, name, &mut st);
    }
    for (i, (name, data)) in files.iter().enumerate() {
        assert!(seen[i] || data.is_empty(), "{label}: {name} has no blob");
    }
    assert_eq!(metadata, 1, "{label}: one image");
    eprintln!("{label}: {st:?}");
    eprintln!("{label}: {stored} resources stored uncompressed");
    assert!(
        st.compressed_chunks >= 14,
        "{label}: too few compressed chunks"
    );
    assert!(
        st.raw_chunks + stored > 0,
        "{label}: the random file should be stored raw"
    );
}

#[test]
fn xpress_32k() {
    run("XPRESS 32K", &["--compress=XPRESS"], Codec::Xpress, 32768);
}

#[test]
fn xpress_64k() {
    run(
        "XPRESS 64K",
        &["--compress=XPRESS", "--chunk-size=65536"],
        Codec::Xpress,
        65536,
    );
}

#[test]
fn xpress_4k_max_level() {
    run(
        "XPRESS 4K level 100",
        &["--compress=XPRESS:100", "--chunk-size=4096"],
        Codec::Xpress,
        4096,
    );
}

#[test]
fn lzx_32k() {
    run("LZX 32K", &["--compress=LZX"], Codec::Lzx, 32768);
}

#[test]
fn lzx_32k_max_level() {
    run(
        "LZX 32K level 100",
        &["--compress=LZX:100"],
        Codec::Lzx,
        32768,
    );
}

#[test]
fn lzx_32k_fast_level() {
    run(
        "LZX 32K level 20",
        &["--compress=LZX:20"],
        Codec::Lzx,
        32768,
    );
}

#[test]
fn lzx_64k() {
    run(
        "LZX 64K",
        &["--compress=LZX", "--chunk-size=65536"],
        Codec::Lzx,
        65536,
    );
}

#[test]
fn lzx_2m() {
    run(
        "LZX 2M",
        &["--compress=LZX:100", "--chunk-size=2097152"],
        Codec::Lzx,
        2097152,
    );
}
