//! Genuine Microsoft solid LZMS resources (cut from a DISM-made ESD, build 26100) read through
//! the solid-resource layer: header, chunk table and decoded bytes.

mod common;

use sxs_wim::{ChunkedResource, Compression, ResHdr, Scratch};

fn load(name: &str) -> Option<Vec<u8>> {
    let dir = sxs_testdata::realdata()?;
    Some(std::fs::read(dir.join("lzms-microsoft").join(name)).unwrap())
}

fn whole(data: &[u8]) -> ResHdr {
    ResHdr {
        size_in_wim: data.len() as u64,
        flags: 0x10,
        offset: 0,
        original_size: 0x1_0000_0000,
    }
}

#[test]
fn microsoft_solid_resource_header_and_bytes() {
    let Some(res) = load("wim_solid_lzms_ms.resource") else {
        return;
    };
    let Some(expected) = load("wim_solid_lzms_ms.expected") else {
        return;
    };
    let src: &[u8] = &res;
    let (geo, h) = ChunkedResource::solid(&src, &whole(&res), res.len() as u64).unwrap();
    assert_eq!(h.uncompressed_size, 180_000);
    assert_eq!(h.chunk_size, 64 << 20);
    assert_eq!(h.compression, Compression::Lzms);
    assert_eq!(geo.chunk_count, 1);
    let mut out = Vec::new();
    geo.stream(
        &src,
        0,
        h.uncompressed_size,
        &mut Scratch::new(),
        &mut |off, b| {
            assert_eq!(off, out.len() as u64);
            out.extend_from_slice(b);
            Ok(())
        },
    )
    .unwrap();
    assert!(
        out == expected,
        "decoded bytes differ from the expected file"
    );
    // A sub-range decodes to the same bytes.
    let mut part = Vec::new();
    geo.stream(&src, 1000, 2000, &mut Scratch::new(), &mut |_, b| {
        part.extend_from_slice(b);
        Ok(())
    })
    .unwrap();
    assert_eq!(part, expected[1000..2000]);
    // Every truncation is an error, never a panic.
    for n in 0..res.len() {
        let cut: &[u8] = &res[..n];
        let r = ChunkedResource::solid(&cut, &whole(cut), n as u64).and_then(|(g, h)| {
            g.stream(
                &cut,
                0,
                h.uncompressed_size,
                &mut Scratch::new(),
                &mut |_, _| Ok(()),
            )
        });
        assert!(r.is_err(), "prefix {n} accepted");
    }
}

#[test]
fn microsoft_solid_resource_three_chunks() {
    let Some(res) = load("wim_solid_lzms_ms_3chunk.resource") else {
        return;
    };
    let src: &[u8] = &res;
    let (geo, h) = ChunkedResource::solid(&src, &whole(&res), res.len() as u64).unwrap();
    assert_eq!(h.uncompressed_size, 146_800_640);
    assert_eq!(geo.chunk_count, 3);
    assert_eq!(h.compression, Compression::Lzms);
    // Decode only the last chunk's tail and a range across the first boundary (the middle
    // chunk is skipped): all zeros.
    let mut n = 0u64;
    let ranges = [
        ((64 << 20) - 10, (64 << 20) + 10),
        (h.uncompressed_size - 4096, h.uncompressed_size),
    ];
    for (a, b) in ranges {
        geo.stream(&src, a, b, &mut Scratch::new(), &mut |_, piece| {
            assert!(piece.iter().all(|&x| x == 0));
            n += piece.len() as u64;
            Ok(())
        })
        .unwrap();
    }
    assert_eq!(n, 20 + 4096);
}
