#![no_main]
//! Manifests and the store containers around them: the XML parser, the keyform of whatever
//! identity it finds, the DCS container (LZMS blocks) and the codec dispatch (DCM with a small
//! base, DCN), on arbitrary bytes. Nothing may panic or allocate by a size read from the input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = sxsaudit::format::manifest::parse(data) {
        let _ = sxsaudit::format::keyform::keyform(&m.identity);
        for f in &m.files {
            let _ = sxsaudit::format::manifest::name_components(&f.name);
            let _ = sxsaudit::format::digest::resolve(f.hash.as_ref(), f.legacy_hash.is_some());
        }
    }
    let _ = sxsaudit::format::dcs::decode(data, 1 << 20);
    let codecs = sxsaudit::codec::Codecs {
        base: Some(sxsaudit::codec::Base {
            bytes: std::sync::Arc::new(b"<?xml version=\"1.0\"?><assembly/>".to_vec()),
            origin: "fuzz".into(),
        }),
    };
    let _ = codecs.any(data);
});
