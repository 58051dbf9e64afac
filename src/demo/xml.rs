//! Manifest text for the builder, in the shapes real images have: asm.v3 with `xmlns:dsig`
//! declared once on `asmv2:hash` (recent builds) or on every dsig element (older builds), and
//! legacy asm.v1 with a BOM, `hashalg`/`hash` attributes and empty-element pairs.

use std::fmt::Write;

use super::Component;
use crate::format::digest::{to_base64, to_hex, Algorithm};

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Escape an attribute value.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn method_uri(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha256 => "http://www.w3.org/2000/09/xmldsig#sha256",
        Algorithm::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
    }
}

fn identity_attrs(c: &Component) -> String {
    let id = &c.identity;
    let mut s = String::new();
    let mut add = |n: &str, v: &Option<crate::format::manifest::Text<'_>>| {
        if let Some(v) = v {
            let _ = write!(s, " {n}=\"{}\"", esc(v));
        }
    };
    if c.legacy {
        add("type", &id.type_);
        add("name", &id.name);
        add("version", &id.version);
        add("processorArchitecture", &id.processor_architecture);
        add("publicKeyToken", &id.public_key_token);
    } else {
        add("name", &id.name);
        add("version", &id.version);
        add("processorArchitecture", &id.processor_architecture);
        add("language", &id.language);
        add("buildType", &id.build_type);
        add("publicKeyToken", &id.public_key_token);
        add("versionScope", &id.version_scope);
        add("type", &id.type_);
    }
    s
}

/// The manifest of `c`, given the digests of its files' good content.
pub fn manifest(c: &Component, digests: &[Vec<u8>]) -> String {
    let mut x = String::new();
    if c.legacy {
        x.push('\u{feff}');
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<assembly xmlns=\"urn:schemas-microsoft-com:asm.v1\" manifestVersion=\"1.0\">\r\n");
        x.push_str("    <noInheritable></noInheritable>\r\n");
        let _ = write!(
            x,
            "    <assemblyIdentity{}></assemblyIdentity>\r\n",
            identity_attrs(c)
        );
    } else {
        x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\r\n");
        x.push_str("<assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" manifestVersion=\"1.0\" copyright=\"Copyright (c) Microsoft Corporation. All Rights Reserved.\" description=\"&lt;file name=&quot;decoy.dll&quot;/&gt; is text, not an element\">\r\n");
        let _ = write!(x, "  <assemblyIdentity{} />\r\n", identity_attrs(c));
        x.push_str("  <dependency discoverable=\"no\" resourceType=\"Resources\">\r\n    <dependentAssembly>\r\n      <assemblyIdentity name=\"Microsoft-Windows-Foundation\" version=\"10.0.17763.1\" processorArchitecture=\"amd64\" language=\"*\" buildType=\"release\" publicKeyToken=\"31bf3856ad364e35\" />\r\n    </dependentAssembly>\r\n  </dependency>\r\n");
    }
    for (f, digest) in c.files.iter().zip(digests) {
        let value = f
            .value_override
            .clone()
            .unwrap_or_else(|| to_base64(digest));
        let method = f
            .method_override
            .clone()
            .unwrap_or_else(|| method_uri(f.algorithm).to_string());
        if c.legacy {
            // The hash= attribute is an undocumented digest; here a deliberately different one.
            let fake: Vec<u8> = digest.iter().map(|b| b ^ 0xA5).collect();
            let _ = write!(
                x,
                "    <file name=\"{}\" hashalg=\"SHA1\" hash=\"{}\"><asmv2:hash xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\" xmlns:dsig=\"{DSIG}\"><dsig:Transforms><dsig:Transform Algorithm=\"urn:schemas-microsoft-com:HashTransforms.Identity\"></dsig:Transform></dsig:Transforms><dsig:DigestMethod Algorithm=\"{method}\"></dsig:DigestMethod><dsig:DigestValue>{value}</dsig:DigestValue></asmv2:hash></file>\r\n",
                esc(&f.name),
                to_hex(&fake)
            );
            continue;
        }
        let dest = f
            .destination
            .as_ref()
            .map(|d| format!(" destinationPath=\"{}\"", esc(d)))
            .unwrap_or_default();
        let leaf = f.name.rsplit('\\').next().unwrap_or(&f.name);
        let _ = write!(x, "  <file name=\"{}\"{dest} sourceName=\"{}\" importPath=\"$(build.nttree)\\\" sourcePath=\".\\\">\r\n", esc(&f.name), esc(leaf));
        x.push_str("    <securityDescriptor name=\"WRP_FILE_DEFAULT_SDDL\" />\r\n");
        if c.dsig_each {
            let ns = format!(" xmlns:dsig=\"{DSIG}\"");
            let _ = write!(
                x,
                "    <asmv2:hash xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\">\r\n      <dsig:Transforms{ns}>\r\n        <dsig:Transform{ns} Algorithm=\"urn:schemas-microsoft-com:HashTransforms.Identity\" />\r\n      </dsig:Transforms>\r\n      <dsig:DigestMethod{ns} Algorithm=\"{method}\" />\r\n      <dsig:DigestValue{ns}>{value}</dsig:DigestValue>\r\n    </asmv2:hash>\r\n"
            );
        } else {
            let _ = write!(
                x,
                "    <asmv2:hash xmlns:asmv2=\"urn:schemas-microsoft-com:asm.v2\" xmlns:dsig=\"{DSIG}\">\r\n      <dsig:Transforms>\r\n        <dsig:Transform Algorithm=\"urn:schemas-microsoft-com:HashTransforms.Identity\" />\r\n      </dsig:Transforms>\r\n      <dsig:DigestMethod Algorithm=\"{method}\" />\r\n      <dsig:DigestValue>{value}</dsig:DigestValue>\r\n    </asmv2:hash>\r\n"
            );
        }
        x.push_str("  </file>\r\n");
    }
    if !c.legacy {
        x.push_str("  <memberships>\r\n    <categoryMembership>\r\n      <id name=\"Microsoft.Windows.Categories\" version=\"1.0.0.0\" publicKeyToken=\"365143bb27e7ac8b\" typeName=\"BootRecovery\" />\r\n    </categoryMembership>\r\n  </memberships>\r\n");
        x.push_str("  <trustInfo>\r\n    <security>\r\n      <accessControl>\r\n        <securityDescriptorDefinitions>\r\n          <securityDescriptorDefinition name=\"WRP_FILE_DEFAULT_SDDL\" sddl=\"O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464G:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464D:P(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)(A;;GRGX;;;BA)(A;;GRGX;;;SY)(A;;GRGX;;;BU)S:(AU;FASA;0x000D0116;;;WD)\" operationHint=\"replace\" />\r\n        </securityDescriptorDefinitions>\r\n      </accessControl>\r\n    </security>\r\n  </trustInfo>\r\n");
    }
    x.push_str("</assembly>");
    x
}
