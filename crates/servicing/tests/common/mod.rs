//! A small but complete pair of COMPONENTS and SOFTWARE hives, written with our writer, that
//! every test reads back: one component per case of the decision rule.
#![allow(dead_code)]

use sxs_servicing::regf_writer::HiveWriter;

pub const CBS: &str = r"Microsoft\Windows\CurrentVersion\Component Based Servicing";
pub const PKG_INST: &str = "Package_for_RollupFix~31bf3856ad364e35~amd64~~17763.1911.1.3";
pub const PKG_OLD: &str = "Package_for_RollupFix~31bf3856ad364e35~amd64~~17763.1879.1.8";
pub const PKG_ABSENT: &str = "Microsoft-Windows-Foo-Package~31bf3856ad364e35~amd64~~10.0.17763.1";
pub const PKG_STAGED: &str =
    "Microsoft-Windows-Bar-FOD-Package~31bf3856ad364e35~amd64~~10.0.17763.1";

pub const KF_INST: &str =
    "amd64_microsoft-windows-foo_31bf3856ad364e35_10.0.17763.1911_none_1111111111111111";
pub const KF_SUP: &str =
    "amd64_microsoft-windows-foo_31bf3856ad364e35_10.0.17763.1879_none_2222222222222222";
pub const KF_ABS: &str =
    "amd64_microsoft-windows-baz_31bf3856ad364e35_10.0.17763.1_none_3333333333333333";
pub const KF_STAGED: &str =
    "amd64_microsoft-windows-bar_31bf3856ad364e35_10.0.17763.1_none_4444444444444444";
pub const KF_REMOVED: &str =
    "wow64_microsoft-windows-qux_31bf3856ad364e35_10.0.17763.1_none_5555555555555555";
pub const KF_MIXED: &str =
    "x86_microsoft-windows-mix_31bf3856ad364e35_10.0.17763.1_none_6666666666666666";
pub const KF_ORPHAN: &str = "msil_orphan_31bf3856ad364e35_10.0.17763.1_none_7777777777777777";

pub const DEP_INST: &str =
    "microsoft-w..-deployment_31bf3856ad364e35_10.0.17763.1911_aaaaaaaaaaaaaaaa";
pub const DEP_OLD: &str =
    "microsoft-w..-deployment_31bf3856ad364e35_10.0.17763.1879_bbbbbbbbbbbbbbbb";
pub const DEP_ABS: &str = "microsoft-w..-deployment_31bf3856ad364e35_10.0.17763.1_cccccccccccccccc";
pub const DEP_STAGED: &str =
    "microsoft-w..-deployment_31bf3856ad364e35_10.0.17763.1_dddddddddddddddd";

pub const IDENTITY: &str = "Microsoft-Windows-Foo, Culture=neutral, Version=10.0.17763.1911, PublicKeyToken=31bf3856ad364e35, ProcessorArchitecture=amd64, versionScope=NonSxS";

pub fn comp(kf: &str) -> String {
    format!(r"DerivedData\Components\{kf}")
}

pub fn dep(d: &str) -> String {
    format!(r"CanonicalData\Deployments\{d}")
}

pub fn components_writer() -> HiveWriter {
    let mut w = HiveWriter::with_root_name("CMI-CreateHive{D2C1B9F7-0000-0000-0000-000000000000}");
    let k = comp(KF_INST);
    w.set_dword(&k, "f!foo.dll", 1);
    w.set_dword(&k, "f!Foo.dll.MUI", 0x201);
    w.set_binary(&k, "S256H", &[0xAB; 32]);
    w.set_binary(&k, "identity", IDENTITY.as_bytes());
    w.set_binary(&k, &format!("c!{DEP_INST}"), &[]);

    let k = comp(KF_SUP);
    w.set_dword(&k, "f!foo.dll", 1);
    w.set_binary(&k, &format!("c!{DEP_OLD}"), &[]);

    let k = comp(KF_ABS);
    w.set_dword(&k, "f!baz.sys", 1);
    w.set_binary(&k, &format!("c!{DEP_ABS}"), &[]);

    let k = comp(KF_STAGED);
    w.set_dword(&k, "f!bar.exe", 1);
    w.set_binary(&k, &format!("c!{DEP_STAGED}"), &[]);

    let k = comp(KF_REMOVED);
    w.set_binary(&k, "CF", &[0x02, 0x00, 0x00, 0x00, 0x01]);
    w.set_binary(&k, "S256H", &[0x01; 32]);
    w.set_binary(&k, &format!("c!{DEP_INST}"), &[]);

    let k = comp(KF_MIXED);
    w.set_dword(&k, "f!mix.dll", 1);
    w.set_binary(&k, &format!("c!{DEP_OLD}"), &[]);
    w.set_binary(&k, &format!("c!{DEP_INST}"), &[]);

    w.set_dword(&comp(KF_ORPHAN), "f!orphan.dll", 1);

    w.set_binary(&dep(DEP_INST), &format!("p!{PKG_INST}"), &[]);
    w.set_binary(&dep(DEP_INST), &format!("i!{PKG_INST}"), &[]);
    w.set_binary(&dep(DEP_INST), "appid", b"Microsoft-Windows-Foo-Deployment");
    w.set_binary(&dep(DEP_OLD), &format!("i!{PKG_OLD}"), &[]);
    w.set_binary(&dep(DEP_ABS), &format!("p!{PKG_ABSENT}"), &[]);
    w.set_binary(&dep(DEP_STAGED), &format!("s!{PKG_STAGED}"), &[]);
    w
}

pub fn software_writer() -> HiveWriter {
    let mut w = HiveWriter::with_root_name("ROOT");
    for (p, s) in [
        (PKG_INST, 112u32),
        (PKG_OLD, 80),
        (PKG_ABSENT, 0),
        (PKG_STAGED, 64),
    ] {
        w.set_dword(&format!(r"{CBS}\Packages\{p}"), "CurrentState", s);
        w.set_string(
            &format!(r"{CBS}\Packages\{p}"),
            "InstallLocation",
            r"\\?\C:\Windows\Servicing\Packages",
        );
    }
    w.set_dword(&format!(r"{CBS}\SessionsPending"), "Exclusive", 0);
    w.set_dword(&format!(r"{CBS}\SessionsPending"), "TotalSessionPhases", 2);
    w.create_key(&format!(r"{CBS}\PackagesPending\{PKG_STAGED}"));
    w.create_key(&format!(r"{CBS}\RebootPending"));
    w.set_string(
        r"Microsoft\Windows NT\CurrentVersion",
        "CurrentBuildNumber",
        "17763",
    );
    w
}
