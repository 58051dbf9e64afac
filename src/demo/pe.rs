//! A minimal, valid PE32+ DLL holding one resource: the builder's stand-in `wcp.dll`, so that
//! synthetic images carry their own base manifest where Windows keeps it.
//!
//! Layout written (PE/COFF specification): a 64-byte DOS header whose `e_lfanew` is 0x40, the
//! `PE\0\0` signature, a COFF header (AMD64, one section, DLL), a PE32+ optional header with 16
//! data directories (only the resource one set), one `.rsrc` section at RVA 0x1000 / file
//! offset 0x200, and in it a three-level resource tree (type -> name -> language 1033) and the
//! data.

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend(v.to_le_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend(v.to_le_bytes());
}

/// One resource directory table with a single ID entry.
fn table(b: &mut Vec<u8>, id: u16, target: u32) {
    b.extend([0u8; 12]); // characteristics, time stamp, major/minor version
    put16(b, 0); // named entries
    put16(b, 1); // ID entries
    put32(b, id as u32);
    put32(b, target);
}

/// A DLL whose only content is resource `ty`/`name` (language 1033) holding `data`.
pub fn dll_with_resource(ty: u16, name: u16, data: &[u8]) -> Vec<u8> {
    const RVA: u32 = 0x1000;
    const RAW: u32 = 0x200;
    // .rsrc: three tables of 24 bytes, a data entry of 16, then the data.
    let mut rsrc = Vec::new();
    table(&mut rsrc, ty, 0x8000_0000 | 24);
    table(&mut rsrc, name, 0x8000_0000 | 48);
    table(&mut rsrc, 1033, 72);
    put32(&mut rsrc, RVA + 88);
    put32(&mut rsrc, data.len() as u32);
    put32(&mut rsrc, 0);
    put32(&mut rsrc, 0);
    rsrc.extend_from_slice(data);
    let raw_size = (rsrc.len() as u32).div_ceil(0x200) * 0x200;
    rsrc.resize(raw_size as usize, 0);
    let virt_size = (rsrc.len() as u32).div_ceil(0x1000) * 0x1000;

    let mut b = Vec::with_capacity(RAW as usize + rsrc.len());
    b.extend(b"MZ");
    b.resize(0x3C, 0);
    put32(&mut b, 0x40); // e_lfanew
    b.extend(b"PE\0\0");
    put16(&mut b, 0x8664); // AMD64
    put16(&mut b, 1); // sections
    put32(&mut b, 0); // time stamp
    put32(&mut b, 0);
    put32(&mut b, 0);
    put16(&mut b, 240); // size of optional header
    put16(&mut b, 0x2022); // executable | large address aware | DLL
                           // PE32+ optional header.
    put16(&mut b, 0x20B);
    b.extend([14, 0]); // linker version
    put32(&mut b, 0); // size of code
    put32(&mut b, raw_size); // initialized data
    put32(&mut b, 0);
    put32(&mut b, 0); // entry point
    put32(&mut b, RVA); // base of code
    b.extend(0x1_8000_0000u64.to_le_bytes()); // image base
    put32(&mut b, 0x1000); // section alignment
    put32(&mut b, 0x200); // file alignment
    put16(&mut b, 10);
    put16(&mut b, 0);
    put16(&mut b, 10);
    put16(&mut b, 0);
    put16(&mut b, 10);
    put16(&mut b, 0);
    put32(&mut b, 0); // win32 version
    put32(&mut b, RVA + virt_size); // size of image
    put32(&mut b, RAW); // size of headers
    put32(&mut b, 0); // checksum
    put16(&mut b, 3); // subsystem: console
    put16(&mut b, 0x0160); // DLL characteristics
    for v in [0x100000u64, 0x1000, 0x100000, 0x1000] {
        b.extend(v.to_le_bytes());
    }
    put32(&mut b, 0); // loader flags
    put32(&mut b, 16); // data directories
    for i in 0..16 {
        if i == 2 {
            put32(&mut b, RVA);
            put32(&mut b, 88 + data.len() as u32);
        } else {
            put32(&mut b, 0);
            put32(&mut b, 0);
        }
    }
    // Section table.
    b.extend(b".rsrc\0\0\0");
    put32(&mut b, virt_size);
    put32(&mut b, RVA);
    put32(&mut b, raw_size);
    put32(&mut b, RAW);
    b.extend([0u8; 12]);
    put32(&mut b, 0x4000_0040); // initialized data | readable
    b.resize(RAW as usize, 0);
    b.extend(rsrc);
    b
}
