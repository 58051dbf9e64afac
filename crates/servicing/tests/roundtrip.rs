//! Writer → reader round trip: hives written by `regf_writer` and read through the `regf`
//! crate give back every component, deployment and package, and the decision rule gives the
//! expected answer for each case.

mod common;

use common::*;
use sxs_servicing::regf_writer::HiveWriter;
use sxs_servicing::{
    read_components, read_components_owned, read_software, Expectation, HiveFiles, LinkKind,
    PackageState, ServicingState,
};

fn state() -> ServicingState {
    let c = components_writer().to_bytes();
    let s = software_writer().to_bytes();
    ServicingState {
        components: read_components(HiveFiles::new(&c)).unwrap(),
        software: Some(read_software(HiveFiles::new(&s)).unwrap()),
    }
}

#[test]
fn components_read_back() {
    let st = state();
    let h = &st.components;
    assert!(!h.dirty);
    assert!(!h.logs_applied);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    assert_eq!(h.components.len(), 7);
    let c = &h.components.get(&KF_INST.to_lowercase()).unwrap();
    assert_eq!(c.files.len(), 2);
    assert_eq!(c.files["foo.dll"], 1);
    assert_eq!(c.files["foo.dll.mui"], 0x201);
    assert_eq!(c.s256h, Some([0xAB; 32]));
    assert_eq!(c.identity.as_deref(), Some(IDENTITY));
    assert_eq!(c.cf, None);
    assert_eq!(c.deployments, vec![DEP_INST.to_string()]);

    let r = &h.components.get(KF_REMOVED).unwrap();
    assert!(r.files.is_empty());
    assert_eq!(r.cf.as_deref(), Some(&[2u8, 0, 0, 0, 1][..]));
    assert_eq!(r.s256h, Some([1; 32]));
    assert_eq!(h.components.get(KF_MIXED).unwrap().deployments.len(), 2);
    assert!(h.components.get(KF_ORPHAN).unwrap().deployments.is_empty());

    assert_eq!(h.deployments.len(), 4);
    let mut d = h.deployments[DEP_INST].packages.clone();
    d.sort();
    assert_eq!(
        d,
        vec![
            (PKG_INST.to_string(), LinkKind::P),
            (PKG_INST.to_string(), LinkKind::I)
        ]
    );
    assert_eq!(
        h.deployments[DEP_STAGED].packages,
        vec![(PKG_STAGED.to_string(), LinkKind::S)]
    );
}

#[test]
fn software_read_back() {
    let st = state();
    let s = st.software.as_ref().unwrap();
    assert!(!s.dirty);
    assert_eq!(s.packages.len(), 4);
    let p = &s.packages[&PKG_INST.to_lowercase()];
    assert_eq!(p.name, PKG_INST);
    assert_eq!(p.current_state, PackageState::Installed);
    assert_eq!(
        s.packages[&PKG_OLD.to_lowercase()].current_state,
        PackageState::Superseded
    );
    assert_eq!(
        s.packages[&PKG_ABSENT.to_lowercase()].current_state,
        PackageState::Absent
    );
    assert_eq!(
        s.packages[&PKG_STAGED.to_lowercase()].current_state,
        PackageState::Staged
    );
    let mut pending = s.pending.clone();
    pending.sort();
    // `Exclusive` = 0 is not pending work; `TotalSessionPhases` = 2 and the subkey are.
    assert_eq!(
        pending,
        vec![
            format!(r"PackagesPending\{PKG_STAGED}"),
            r"SessionsPending\TotalSessionPhases".to_string()
        ]
    );
    assert!(s.reboot_pending);
    assert!(!s.unserviceable);
}

#[test]
fn owners_follow_links() {
    let st = state();
    assert_eq!(
        st.owners(&KF_INST.to_uppercase()),
        vec![(PKG_INST.to_string(), PackageState::Installed)]
    );
    assert_eq!(
        st.owners(KF_MIXED),
        vec![
            (PKG_OLD.to_string(), PackageState::Superseded),
            (PKG_INST.to_string(), PackageState::Installed)
        ]
    );
    assert!(st.owners(KF_ORPHAN).is_empty());
    assert!(st.owners("amd64_nothing_here").is_empty());
    // Without the SOFTWARE hive the packages are known but not their states.
    let no_sw = ServicingState {
        software: None,
        ..st
    };
    assert_eq!(
        no_sw.owners(KF_STAGED),
        vec![(PKG_STAGED.to_string(), PackageState::NotRegistered)]
    );
}

#[test]
fn expectation_cases() {
    let st = state();
    // Installed owner + f! value (file name and keyform in another case).
    assert_eq!(
        st.expectation(KF_INST, "FOO.DLL"),
        Expectation::Expected {
            owners: vec![(PKG_INST.to_string(), PackageState::Installed)],
            flags: 1
        }
    );
    assert!(matches!(
        st.expectation(&KF_INST.to_uppercase(), "foo.dll.mui"),
        Expectation::Expected { flags: 0x201, .. }
    ));
    // Staged owner.
    assert!(matches!(
        st.expectation(KF_STAGED, "bar.exe"),
        Expectation::Expected { .. }
    ));
    // Superseded.
    assert_eq!(
        st.expectation(KF_SUP, "foo.dll"),
        Expectation::AbsentByDesign {
            reason: format!("package {PKG_OLD} is Superseded (80)")
        }
    );
    // Absent.
    assert_eq!(
        st.expectation(KF_ABS, "baz.sys"),
        Expectation::AbsentByDesign {
            reason: format!("package {PKG_ABSENT} is Absent (0)")
        }
    );
    // Removed: installed owner, but no f! value for the file.
    match st.expectation(KF_REMOVED, "qux.dll") {
        Expectation::AbsentByDesign { reason } => assert!(reason.contains("f!qux.dll"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // One owner installed, one superseded: needed.
    assert!(matches!(
        st.expectation(KF_MIXED, "mix.dll"),
        Expectation::Expected { .. }
    ));
    // f! but no known owner: the f! value decides.
    assert_eq!(
        st.expectation(KF_ORPHAN, "orphan.dll"),
        Expectation::Expected {
            owners: vec![],
            flags: 1
        }
    );
    // Not in hive.
    assert_eq!(
        st.expectation("amd64_nothing_here", "x.dll"),
        Expectation::NotInHive
    );
}

#[test]
fn paths_and_names_are_case_insensitive() {
    use sxs_servicing::regf_writer::HiveWriter;
    let mut w = HiveWriter::new();
    w.set_dword(r"derivedDATA\COMPONENTS\AMD64_Foo_1", "F!Foo.DLL", 9);
    w.set_binary(r"derivedDATA\COMPONENTS\AMD64_Foo_1", "C!Dep_1", &[]);
    w.set_binary(r"CANONICALdata\deployments\DEP_1", "I!Pkg~1", &[]);
    let b = w.to_bytes();
    let c = read_components(HiveFiles::new(&b)).unwrap();
    assert_eq!(c.components.get("amd64_foo_1").unwrap().files["foo.dll"], 9);
    assert_eq!(
        c.components.get("amd64_foo_1").unwrap().deployments,
        vec!["dep_1".to_string()]
    );
    assert_eq!(
        c.deployments["dep_1"].packages,
        vec![("Pkg~1".to_string(), LinkKind::I)]
    );

    let mut w = HiveWriter::new();
    w.set_dword(
        r"MICROSOFT\windows\currentversion\component based SERVICING\packages\Pkg~1",
        "currentstate",
        112,
    );
    w.set_dword(
        r"MICROSOFT\windows\currentversion\component based SERVICING",
        "Unserviceable",
        1,
    );
    let b = w.to_bytes();
    let s = read_software(HiveFiles::new(&b)).unwrap();
    assert_eq!(s.packages["pkg~1"].current_state, PackageState::Installed);
    assert!(s.unserviceable);
}

#[test]
fn unicode_names_and_large_keys() {
    use sxs_servicing::regf_writer::HiveWriter;
    // 1,300 components: the Components key needs an `ri` index over three `lh` leaves.
    let mut w = HiveWriter::new();
    for i in 0..1300 {
        w.set_dword(
            &format!(r"DerivedData\Components\amd64_c{i:05}"),
            "f!a.dll",
            i,
        );
    }
    // A non-ASCII key and value name are stored as UTF-16LE.
    w.set_dword(r"DerivedData\Components\amd64_fönt", "f!Ärger.ttf", 3);
    w.create_key(r"CanonicalData\Deployments");
    let b = w.to_bytes();
    let c = read_components(HiveFiles::new(&b)).unwrap();
    assert_eq!(c.components.len(), 1301);
    assert_eq!(
        c.components.get("amd64_c01299").unwrap().files["a.dll"],
        1299
    );
    assert_eq!(
        c.components.get("amd64_fönt").unwrap().files["ärger.ttf"],
        3
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn wrong_hive_kind_is_an_error() {
    let s = software_writer().to_bytes();
    let e = read_components(HiveFiles::new(&s)).unwrap_err();
    assert!(e.to_string().contains(r"DerivedData\Components"), "{e}");
    let c = components_writer().to_bytes();
    let e = read_software(HiveFiles::new(&c)).unwrap_err();
    assert!(e.to_string().contains("Packages"), "{e}");
}

#[test]
fn dirty_hive_sets_the_flag() {
    let c = components_writer().to_bytes_dirty();
    let log = vec![0u8; 512];
    let h = read_components(HiveFiles {
        base: &c,
        log1: Some(&log),
        log2: None,
    })
    .unwrap();
    assert!(h.dirty);
    assert!(!h.logs_applied);
    assert!(
        h.warnings.iter().any(|w| w.contains("dirty")),
        "{:?}",
        h.warnings
    );
    // The content is still read.
    assert_eq!(h.components.len(), 7);
    let s = read_software(HiveFiles::new(&software_writer().to_bytes_dirty())).unwrap();
    assert!(s.dirty);
}

#[test]
fn bad_checksum_is_a_warning() {
    let mut c = components_writer().to_bytes();
    c[0x1FC] ^= 0xFF;
    let h = read_components(HiveFiles::new(&c)).unwrap();
    assert!(
        h.warnings.iter().any(|w| w.contains("checksum")),
        "{:?}",
        h.warnings
    );
    assert_eq!(h.components.len(), 7);
}

#[test]
fn components_are_found_in_any_case_and_decoded_on_demand() {
    let st = state();
    let c = &st.components.components;
    let keys: Vec<&str> = c.keys().collect();
    assert_eq!(keys.len(), 7);
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    assert!(keys.iter().all(|k| *k == k.to_lowercase()), "{keys:?}");
    for k in [
        KF_INST.to_string(),
        KF_INST.to_uppercase(),
        KF_INST.to_lowercase(),
    ] {
        assert!(c.contains(&k), "{k}");
        assert_eq!(c.s256h(&k), Some(Some([0xAB; 32])));
        assert_eq!(c.get(&k).unwrap().files.len(), 2);
    }
    assert!(!c.contains("amd64_not-there"));
    // Longer than any real keyform: folded on the heap rather than on the stack.
    assert!(!c.contains(&"a".repeat(300)));
    assert_eq!(c.s256h("amd64_not-there"), None);
    assert!(c.get("amd64_not-there").is_none());
    // A key of the hive without S256H is there, with no hash.
    assert_eq!(c.s256h(KF_ORPHAN), Some(None));

    // Keyforms outside ASCII are folded the same way in the index and in the lookup.
    let mut w = HiveWriter::new();
    w.set_dword(r"DerivedData\Components\amd64_Fönt", "f!a.ttf", 3);
    let long = format!("amd64_{}", "X".repeat(300));
    w.set_dword(&format!(r"DerivedData\Components\{long}"), "f!b.dll", 4);
    // Over 16 KB: stored as big data, which the on-demand decoding must find again too.
    w.set_binary(
        &format!(r"DerivedData\Components\{long}"),
        "identity",
        &[0x41; 20_000],
    );
    w.create_key(r"CanonicalData\Deployments");
    let b = w.to_bytes();
    let h = read_components(HiveFiles::new(&b)).unwrap();
    for k in ["amd64_fönt", "AMD64_FÖNT", "amd64_Fönt"] {
        assert_eq!(h.components.get(k).unwrap().files["a.ttf"], 3, "{k}");
    }
    assert!(!h.components.contains("amd64_font"));
    let big = h.components.get(&long.to_lowercase()).unwrap();
    assert_eq!(big.files["b.dll"], 4);
    assert_eq!(big.identity, Some("A".repeat(20_000)));
}

#[test]
fn owned_and_borrowed_reads_agree() {
    let b = components_writer().to_bytes();
    let borrowed = read_components(HiveFiles::new(&b)).unwrap();
    let owned = read_components_owned(b.clone(), None, None).unwrap();
    let keys: Vec<&str> = borrowed.components.keys().collect();
    assert_eq!(keys, owned.components.keys().collect::<Vec<_>>());
    for k in keys {
        assert_eq!(borrowed.components.get(k), owned.components.get(k), "{k}");
    }
    assert_eq!(borrowed.warnings, owned.warnings);
}

#[test]
fn a_keyform_twice_keeps_the_first_and_warns() {
    // The writer folds names to upper case, we to lower case: the Kelvin sign is its own
    // upper case but lower-cases to `k`, so these are two keys to it and one keyform to us.
    let mut w = HiveWriter::new();
    w.set_dword(r"DerivedData\Components\amd64_k", "f!first.dll", 1);
    let kelvin = format!("DerivedData\\Components\\amd64_{}", '\u{212A}');
    w.set_dword(&kelvin, "f!second.dll", 2);
    w.set_dword(r"DerivedData\Components\amd64_z", "f!z.dll", 3);
    w.create_key(r"CanonicalData\Deployments");
    let b = w.to_bytes();
    let h = read_components(HiveFiles::new(&b)).unwrap();
    assert_eq!(h.components.len(), 2);
    let kept = h.components.get("AMD64_K").unwrap();
    assert_eq!(kept.files.keys().collect::<Vec<_>>(), ["first.dll"]);
    assert_eq!(h.components.get("amd64_z").unwrap().files["z.dll"], 3);
    assert_eq!(
        h.warnings,
        ["component amd64_\u{212A} appears twice; first kept"]
    );
}
