//! The image's servicing state, read through its [`ImageSource`](super::ImageSource) so that a
//! folder and a WIM image behave alike: `Windows\System32\config\COMPONENTS` and `SOFTWARE`
//! (with their `.LOG1`/`.LOG2` transaction logs) and `Windows\WinSxS\pending.xml`. Names are
//! matched case-insensitively, as NTFS does. Parsing is the pure `sxs-servicing` crate; this
//! module only finds and reads files, and turns every problem into one plain note: a missing
//! or broken hive never stops the audit, it only makes it fall back to manifests alone.

use sxs_servicing::{
    read_components_owned, read_software, reader::MAX_HIVE_BYTES, HiveFiles, ServicingState,
};

use super::{find, EntryKind, Image};

/// What the audit learns about servicing before it plans.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Both hives, when COMPONENTS could be read (SOFTWARE is optional inside).
    pub state: Option<ServicingState>,
    /// Why the image is mid-transaction (pending.xml, pending packages or sessions, a
    /// pending reboot); empty when it is not.
    pub pending: Vec<String>,
    /// Notes for every report (state not available, broken or dirty hive, pending work).
    pub notes: Vec<String>,
}

/// Hive warnings copied into the notes; the rest are counted.
const MAX_WARNING_NOTES: usize = 5;

/// `Windows/System32/config/<name>` as a report shows it.
fn shown(name: &str) -> String {
    format!("Windows/System32/config/{name}")
}

/// The path components of `Windows\System32\config`, as stored, when the image has them.
fn config_dir(image: &Image) -> Result<Vec<String>, String> {
    let Some(windows) = &image.windows else {
        return Err("the input is a WinSxS folder alone, without Windows\\System32\\config (give the image root or its Windows folder)".into());
    };
    let mut dir = windows.clone();
    for name in ["System32", "config"] {
        let parts: Vec<&str> = dir.iter().map(String::as_str).collect();
        let listing = image
            .source
            .list(&parts)
            .map_err(|e| format!("cannot list {}: {e}", image.source.display_path(&parts)))?;
        match find(&listing, name).filter(|e| e.kind == EntryKind::Dir) {
            Some(e) => dir.push(e.name.clone()),
            None => {
                return Err(format!(
                    "the image has no Windows/{} folder",
                    if name == "config" {
                        "System32/config"
                    } else {
                        "System32"
                    }
                ))
            }
        }
    }
    Ok(dir)
}

/// Read one file of `config` (by case-insensitive name) when it exists.
fn read_opt(
    image: &Image,
    dir: &[String],
    listing: &[super::DirEntry],
    name: &str,
) -> Result<Option<Vec<u8>>, String> {
    let Some(e) = find(listing, name) else {
        return Ok(None);
    };
    if e.kind != EntryKind::File {
        return Err(format!("{} is not a regular file", shown(name)));
    }
    let mut parts: Vec<&str> = dir.iter().map(String::as_str).collect();
    parts.push(&e.name);
    crate::audit::read_capped(image, &parts, MAX_HIVE_BYTES)
        .map(|(b, _)| Some(b))
        .map_err(|e| format!("cannot read {}: {e}", shown(name)))
}

/// A hive and its logs.
struct HiveBytes {
    base: Vec<u8>,
    log1: Option<Vec<u8>>,
    log2: Option<Vec<u8>>,
}

impl HiveBytes {
    fn files(&self) -> HiveFiles<'_> {
        HiveFiles {
            base: &self.base,
            log1: self.log1.as_deref(),
            log2: self.log2.as_deref(),
        }
    }
}

fn read_hive(
    image: &Image,
    dir: &[String],
    listing: &[super::DirEntry],
    name: &str,
) -> Result<Option<HiveBytes>, String> {
    let Some(base) = read_opt(image, dir, listing, name)? else {
        return Ok(None);
    };
    // A log that cannot be read is no worse than no log: the dirty flag still warns.
    let log1 = read_opt(image, dir, listing, &format!("{name}.LOG1"))
        .ok()
        .flatten();
    let log2 = read_opt(image, dir, listing, &format!("{name}.LOG2"))
        .ok()
        .flatten();
    Ok(Some(HiveBytes { base, log1, log2 }))
}

fn warning_notes(hive: &str, warnings: &[String], notes: &mut Vec<String>) {
    if warnings.is_empty() {
        return;
    }
    let shown: Vec<&str> = warnings
        .iter()
        .take(MAX_WARNING_NOTES)
        .map(String::as_str)
        .collect();
    let more = warnings.len().saturating_sub(MAX_WARNING_NOTES);
    let tail = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    notes.push(format!("{hive} hive: {}{tail}", shown.join("; ")));
}

fn dirty_note(hive: &str, logs: bool) -> String {
    let logs = if logs {
        format!("its {hive}.LOG1/.LOG2 changes are not replayed")
    } else {
        "no transaction logs were found".into()
    };
    format!("the {hive} hive is dirty (its last write did not complete; {logs}): servicing state and results may lag the image's real state")
}

/// Whether `WinSxS\pending.xml` exists.
fn pending_xml(image: &Image) -> bool {
    image
        .winsxs_listing()
        .is_ok_and(|l| find(l, "pending.xml").is_some_and(|e| e.kind == EntryKind::File))
}

/// The note that heads every report of a mid-transaction image.
pub fn pending_note(reasons: &[String]) -> String {
    format!("the image is mid-transaction ({}): servicing operations are pending, and findings may be false until they complete", reasons.join("; "))
}

/// Load the servicing state of `image`. Never fails: every problem becomes a note.
pub fn load(image: &Image) -> Loaded {
    let mut out = Loaded::default();
    if pending_xml(image) {
        out.pending.push("Windows/WinSxS/pending.xml exists".into());
    }
    let unavailable = |why: String| {
        format!("servicing state not available: {why}; missing payloads are judged from manifests alone")
    };
    match config_dir(image) {
        Err(why) => out.notes.push(unavailable(why)),
        Ok(dir) => {
            let parts: Vec<&str> = dir.iter().map(String::as_str).collect();
            match image.source.list(&parts) {
                Err(e) => out.notes.push(unavailable(format!(
                    "cannot list {}: {e}",
                    image.source.display_path(&parts)
                ))),
                Ok(listing) => load_hives(image, &dir, &listing, &mut out),
            }
        }
    }
    if !out.pending.is_empty() {
        let note = pending_note(&out.pending);
        out.notes.push(note);
    }
    out
}

fn load_hives(image: &Image, dir: &[String], listing: &[super::DirEntry], out: &mut Loaded) {
    let unavailable = |why: String| {
        format!("servicing state not available: {why}; missing payloads are judged from manifests alone")
    };
    let components = match read_hive(image, dir, listing, "COMPONENTS") {
        Ok(Some(h)) => h,
        Ok(None) => {
            return out.notes.push(unavailable(format!(
                "the image has no {} hive",
                shown("COMPONENTS")
            )))
        }
        Err(e) => return out.notes.push(unavailable(e)),
    };
    let dirty_logs = components.log1.is_some() || components.log2.is_some();
    // The hive's bytes stay with the state ([`sxs_servicing::Components`]): given, not copied.
    let HiveBytes { base, log1, log2 } = components;
    let comps = match read_components_owned(base, log1.as_deref(), log2.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            return out
                .notes
                .push(unavailable(format!("{}: {e}", shown("COMPONENTS"))))
        }
    };
    if comps.dirty {
        out.notes.push(dirty_note("COMPONENTS", dirty_logs));
    }
    warning_notes("COMPONENTS", &comps.warnings, &mut out.notes);
    let software = match read_hive(image, dir, listing, "SOFTWARE") {
        Ok(Some(h)) => match read_software(h.files()) {
            Ok(s) => {
                if s.dirty {
                    out.notes
                        .push(dirty_note("SOFTWARE", h.log1.is_some() || h.log2.is_some()));
                }
                warning_notes("SOFTWARE", &s.warnings, &mut out.notes);
                Some(s)
            }
            Err(e) => {
                out.notes.push(format!(
                    "package states not available: {}: {e}; owners are shown as NotRegistered",
                    shown("SOFTWARE")
                ));
                None
            }
        },
        Ok(None) => {
            out.notes.push(format!("package states not available: the image has no {} hive; owners are shown as NotRegistered", shown("SOFTWARE")));
            None
        }
        Err(e) => {
            out.notes.push(format!(
                "package states not available: {e}; owners are shown as NotRegistered"
            ));
            None
        }
    };
    if let Some(s) = &software {
        let n = s.pending.len();
        if n > 0 {
            let first: Vec<&str> = s.pending.iter().take(3).map(String::as_str).collect();
            out.pending.push(format!(
                "{n} pending package or session entries in SOFTWARE, e.g. {}",
                first.join(", ")
            ));
        }
        if s.reboot_pending {
            out.pending
                .push("SOFTWARE says a reboot is pending (RebootPending)".into());
        }
        if s.unserviceable {
            out.notes.push(
                "SOFTWARE marks the image Unserviceable: Windows will refuse to service it".into(),
            );
        }
    }
    out.state = Some(ServicingState {
        components: comps,
        software,
    });
}
