//! The audit: every manifest of the store against the payloads it names.
//!
//! Each worker hashes several payloads at once, so that their SHA-256 streams interleave on
//! its core (`audit/lanes.rs`: that is what brought the audit below the one-stream-per-thread
//! read-and-hash loop, session 8), in two parallel passes. In the first, each rayon worker
//! takes a few manifests, reads each, decodes it if compressed, parses it, checks it against
//! its keyform and resolves each `<file>` in its component folder (case-insensitively), and
//! its lanes hash the payloads found there while it plans the next few (`PlanFeed`); the
//! servicing state (the hives) loads beside it. The second hashes what was kept for it:
//! payloads of `LARGE_GROUP` (1 MiB) or more, largest first, so that none is left to the
//! end, and contents a source stores once for several paths (a WIM blob), once each, a solid
//! run in offset order. Only those are held between the passes: 50 MiB peak for the
//! full-scale bench image's 73,724 payloads, against 103 MiB when every payload found was
//! (under 1 KB each). Memory grows with the number of payloads, never with their size.
//! Findings are sorted at the end, so every report is byte-identical whatever the thread
//! count.
//!
//! Only the root file `WinSxS\<keyform>\<name>` is compared with the manifest digest: the
//! `f\`, `r\` and `n\` folders of a component hold update differentials (formats.md §3.4), and
//! exact name resolution never reaches them.

mod lanes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::codec::{self, Codecs};
use crate::error::Result;
use crate::findings::{Finding, Kind, Totals};
use crate::format::digest::Algorithm;
use crate::format::digest::{self, Expected};
use crate::format::manifest::{self, Manifest};
use crate::format::{keyform, Container};
use crate::hash::{Hashers, Values};
use crate::progress::Progress;
use crate::store::{
    ContentId, DirEntry, EntryKind, FolderResolver, Image, Meta, OpenFolder, Resolved, Sink,
};
use sxs_servicing::{Expectation, ServicingState};

/// Larger than any real manifest (the largest known decodes to 3.3 MB).
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;

/// Called with each finding as soon as it is made (from any worker thread, in no particular
/// order), for reports that stream.
pub type Observer = std::sync::Arc<dyn Fn(&Finding) + Send + Sync>;

/// How to run an audit.
#[derive(Clone, Default)]
pub struct Options {
    /// Draw a progress bar on stderr (when it is a terminal).
    pub progress: bool,
    /// Streamed findings.
    pub on_finding: Option<Observer>,
    /// Run-level notes known before the audit (e.g. about the base manifest).
    pub notes: Vec<String>,
    /// Also record every component and file with its content's SHA-256 ([`Audit::inventory`]),
    /// for `compare`.
    pub inventory: bool,
    /// Check manifests and that every payload is present, without reading payloads.
    pub quick: bool,
}

/// Every component and file of an image, with what was found (for `compare`).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// By lower-case keyform.
    pub components: std::collections::BTreeMap<String, ComponentRecord>,
}

/// One component of an [`Inventory`].
#[derive(Debug, Clone, Default)]
pub struct ComponentRecord {
    /// The keyform as stored.
    pub keyform: String,
    /// SHA-256 of the decoded manifest, when it could be read.
    pub manifest_sha256: Option<Vec<u8>>,
    /// By lower-case file name.
    pub files: std::collections::BTreeMap<String, FileRecord>,
}

/// One file of an [`Inventory`].
#[derive(Debug, Clone)]
pub struct FileRecord {
    /// The manifest's name.
    pub name: String,
    /// Path from the image root.
    pub path: String,
    /// SHA-256 of the decoded content, when it was read.
    pub content: Option<Vec<u8>>,
    /// The finding against it, if any.
    pub verdict: Option<Kind>,
}

/// Everything an audit found.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The image as the user named it.
    pub input: String,
    /// Which level of the image that was.
    pub layout: crate::store::Layout,
    /// `directory` or `wim`.
    pub source: &'static str,
    /// What the source says about the image (a WIM's image name, edition and build).
    pub source_info: Option<String>,
    /// Counts.
    pub totals: Totals,
    /// Sorted findings.
    pub findings: Vec<Finding>,
    /// Things the user should know that are not findings (sorted, deduplicated).
    pub notes: Vec<String>,
    /// Wall-clock time (text report only: never in machine formats, which must be stable).
    pub elapsed: Duration,
    /// Every component and file, when [`Options::inventory`] asked for it.
    pub inventory: Option<Inventory>,
    /// Repair verdicts of the bad payloads, when sources were given (`--source`).
    pub repairs: Option<crate::repair::Repairs>,
    /// Which kinds fail the run (`--fail-on`); set by the outputs before reports are written.
    pub fail_on: crate::exit::FailOn,
}

impl Audit {
    /// Number of findings of a kind.
    pub fn count(&self, kind: Kind) -> u64 {
        self.findings.iter().filter(|f| f.kind == kind).count() as u64
    }

    /// The exit status.
    pub fn exit_code(&self) -> u8 {
        let repair = self.repairs.as_ref().is_some_and(|r| r.any_unrepairable());
        self.fail_on.status(&self.findings) | if repair { crate::exit::NO_SOURCE } else { 0 }
    }
}

/// A payload, owned: one hashed apart from its manifest's plan (by the worker's lanes, or
/// after the pass: a large one, a WIM blob shared by several paths), or one whose finding or
/// inventory record outlives its manifest.
struct Job {
    /// Its place in the report's order: its manifest's, then its own among that manifest's
    /// payloads hashed apart from it ([`Planned::deferred`]).
    key: JobKey,
    component: String,
    file: String,
    /// Components below `WinSxS`, as stored: the component folder, then the file's.
    below: Vec<String>,
    size: u64,
    expected: Expected,
}

/// A payload found, borrowed from its manifest while that is planned, and made into the
/// owned [`Job`] that is hashed apart from it.
struct Found<'a> {
    component: &'a str,
    file: &'a str,
    /// The component folder as stored.
    folder: &'a str,
    /// The names below it, as found.
    names: &'a [&'a str],
    size: u64,
    expected: Expected,
    /// Found by its exact name in the open component folder: read it there.
    direct: bool,
}

impl Found<'_> {
    fn to_job(&self) -> Job {
        let mut below: Vec<String> = Vec::with_capacity(1 + self.names.len());
        below.push(self.folder.to_string());
        below.extend(self.names.iter().map(|n| n.to_string()));
        Job {
            // Given when the manifest's plan is taken apart (`PlanFeed::plan`).
            key: (0, 0),
            component: self.component.to_string(),
            file: self.file.to_string(),
            below,
            size: self.size,
            expected: self.expected.clone(),
        }
    }
}

/// What is wrong with a content hashed for `expected`, if anything; whom it is about is the
/// caller's to say ([`Job::finding`]).
struct Fault {
    kind: Kind,
    detail: String,
    actual: Option<Vec<u8>>,
}

impl Job {
    /// The finding about this payload.
    fn finding(&self, fault: Fault) -> Finding {
        Finding {
            kind: fault.kind,
            component: self.component.clone(),
            file: Some(self.file.clone()),
            path: self.path(),
            algorithm: Some(self.expected.algorithm),
            expected: Some(self.expected.value.clone()),
            actual: fault.actual,
            detail: fault.detail,
            waived: None,
        }
    }

    /// The report path, as stored (built only for a finding or an inventory record).
    fn path(&self) -> String {
        component_path(&self.below[0], &self.below[1..])
    }

    /// This payload, found in the open folder `store`, for a lane ([`lanes::Next`]).
    fn lane<'a>(&self, store: &dyn OpenFolder, key: usize, inventory: bool) -> lanes::Next<'a> {
        let below: Vec<&str> = self.below.iter().map(String::as_str).collect();
        lanes::Next {
            key,
            algorithms: algorithms_for(self.expected.algorithm, inventory),
            reader: store.open(&below, self.size),
        }
    }

    /// Path components from the source root.
    fn source_path<'a>(&'a self, image: &'a Image) -> Vec<&'a str> {
        let mut p = image.winsxs();
        p.extend(self.below.iter().map(String::as_str));
        p
    }
}

/// Where the manifests are: their folder's path, and the folder held open where the source can;
/// the `WinSxS` folder likewise, which the component folders are looked up through; and
/// how their payloads are hashed (`None` in a quick audit, which only looks them up).
struct Manifests<'a> {
    parts: &'a [&'a str],
    opened: Option<&'a dyn OpenFolder>,
    store: Option<&'a dyn OpenFolder>,
    hashing: Option<Hashing>,
}

/// How payloads are hashed.
struct Hashing {
    /// Also with SHA-256 whatever the manifest's algorithm, and recorded: `--inventory`.
    inventory: bool,
}

/// How a payload hashed apart from its manifest's plan is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// By its names below WinSxS in the open WinSxS folder: a directory tree, which shares
    /// no content.
    Open,
    /// As a content the source stores once for several paths.
    Content(ContentId),
}

/// What planning one manifest gave.
#[derive(Default)]
struct Planned {
    findings: Vec<Finding>,
    notes: Vec<String>,
    compressed: bool,
    has_files: bool,
    files: u64,
    /// SHA-256 of the decoded manifest.
    manifest_sha256: Option<Vec<u8>>,
    /// Payloads hashed apart from the manifest ([`run`]): those found in the open WinSxS
    /// folder, several at once on each worker, and those whose content the source stores
    /// once for several paths (WIM blobs), once per content. [`PlanFeed`] takes the smaller
    /// ones of an open folder out, to hash them at once; the rest wait for the second pass.
    deferred: Vec<(Job, Source)>,
    /// Hashed payloads with their verdict and SHA-256, for an inventory.
    records: Vec<(Job, Option<Kind>, Option<Vec<u8>>)>,
    /// Payload bytes hashed.
    bytes: u64,
    /// The keyform, from the manifest's file name.
    component: String,
    /// The manifest's file name as stored.
    manifest_name: String,
    /// The manifest parsed (its S256H is compared only then: a corrupt one is reported once).
    parsed: bool,
    /// Judged against the servicing state and announced ([`finish`]).
    finished: bool,
}

fn finding(
    kind: Kind,
    component: &str,
    file: Option<&str>,
    path: String,
    detail: String,
) -> Finding {
    Finding {
        kind,
        component: component.to_string(),
        file: file.map(str::to_string),
        path,
        algorithm: None,
        expected: None,
        actual: None,
        detail,
        waived: None,
    }
}

/// Read a whole (small) file through the source, refusing more than `cap` bytes.
pub fn read_capped(
    image: &Image,
    parts: &[&str],
    cap: usize,
) -> std::io::Result<(Vec<u8>, crate::store::ReadInfo)> {
    let mut out = Vec::new();
    let info = read_capped_into(&mut out, cap, &mut |sink| image.source.read(parts, sink))?;
    Ok((out, info))
}

/// How to read one file: by its path through the source, or by its name in an open folder.
type ReadWith<'r> = dyn FnMut(&mut Sink<'_>) -> std::io::Result<crate::store::ReadInfo> + 'r;

/// [`read_capped`] for a file given by how to read it, into `out` (emptied first).
fn read_capped_into(
    out: &mut Vec<u8>,
    cap: usize,
    read: &mut ReadWith<'_>,
) -> std::io::Result<crate::store::ReadInfo> {
    out.clear();
    read(&mut |chunk| {
        if out.len() + chunk.len() > cap {
            return Err(std::io::Error::other(format!(
                "larger than the {} MiB limit",
                cap >> 20
            )));
        }
        // The first chunk is the whole file when it is small: one allocation.
        if out.is_empty() {
            out.reserve_exact(chunk.len());
        }
        out.extend_from_slice(chunk);
        Ok(())
    })
}

/// Manifests a worker takes at once (see [`run`]): a few, so that no worker is left idle
/// while another finishes a long run of them, and enough that the split costs nothing.
const MANIFESTS_PER_TASK: usize = 8;

/// Audit `image`.
pub fn run(image: &Image, codecs: &Codecs, opts: &Options) -> Result<Audit> {
    let start = Instant::now();
    let observe = |f: &Finding| {
        if let Some(o) = &opts.on_finding {
            o(f)
        }
    };
    // The servicing state (the hives) decides which missing payloads are corruption. Loading
    // it is serial work, so it runs as its own task while the other workers list the store
    // and go through the manifests; a manifest done before the state is there is finished
    // (judged against the hives, and announced) after the pass.
    let loaded: OnceLock<crate::store::servicing::Loaded> = OnceLock::new();
    let progress = Progress::new(opts.progress, 0);
    // Held open for the whole audit where the source can: each manifest, and each payload,
    // is then looked up and read by its name below WinSxS, not by its whole path.
    let store = image.source.open_folder(&image.winsxs()).ok().flatten();
    let (manifests, mut planned, mut early, early_bytes) = rayon::scope(|scope| {
        scope.spawn(|_| {
            let _ = loaded.set(crate::store::servicing::load(image));
        });
        let (manifests_entry, folders, manifests) = list_store(image)?;
        let mut manifests_dir = image.winsxs();
        manifests_dir.push(&manifests_entry.name);
        let opened = store.as_ref().and_then(|s| s.folder(&manifests_entry));
        let manifests_at = Manifests {
            parts: &manifests_dir,
            opened: opened.as_deref(),
            store: store.as_deref(),
            hashing: (!opts.quick).then_some(Hashing {
                inventory: opts.inventory,
            }),
        };
        progress.add(manifests.len() as u64);
        // The first pass: each worker plans a few manifests at a time, and hashes the
        // payloads they name that are found in an open folder and under LARGE_GROUP while it
        // plans the next ones; the rest are hashed in the second pass.
        let next = AtomicUsize::new(0);
        let shared = PlanShared {
            image,
            codecs,
            manifests: &manifests,
            at: &manifests_at,
            folders: &folders,
            next: &next,
            loaded: &loaded,
            observe: &observe,
            progress: &progress,
        };
        let workers: Vec<PlanFeed<'_, '_, _>> = (0..rayon::current_num_threads())
            .into_par_iter()
            .map(|_| {
                let mut feed = PlanFeed::new(&shared);
                lanes::run(codecs, &mut feed);
                feed
            })
            .collect();
        let mut slots: Vec<Option<Planned>> = Vec::with_capacity(manifests.len());
        slots.resize_with(manifests.len(), || None);
        let mut early = Vec::new();
        let mut early_bytes = 0;
        for w in workers {
            for (i, p) in w.planned {
                slots[i] = Some(p);
            }
            early.extend(w.out);
            early_bytes += w.bytes;
        }
        drop_in_background(folders);
        // Every manifest was claimed by one worker, which planned it; one that was not would
        // be an empty plan here, never another manifest's.
        let planned: Vec<Planned> = slots.into_iter().map(Option::unwrap_or_default).collect();
        Ok::<_, crate::error::Error>((manifests, planned, early, early_bytes))
    })?;
    let mut servicing = loaded.into_inner().unwrap_or_default();
    let state = servicing.state.as_ref();
    // The manifests done before the hives were loaded are finished (and announced) in order,
    // while the hive's components without a manifest are looked for on the other core.
    let ((), mut hive_only) = rayon::join(
        || {
            for p in planned.iter_mut().filter(|p| !p.finished) {
                finish(p, state, &observe);
            }
            for h in early.iter_mut().filter(|h| h.pending) {
                if let Some(f) = h.finding.as_mut() {
                    announce(f, state, &observe);
                }
            }
        },
        || {
            state
                .map(|s| manifests_missing(s, &manifests))
                .unwrap_or_default()
        },
    );
    hive_only.iter().for_each(observe);

    let mut totals = Totals {
        manifests: manifests.len() as u64,
        ..Totals::default()
    };
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut deferred = Vec::with_capacity(planned.iter().map(|p| p.deferred.len()).sum());
    let mut inventory = opts.inventory.then(Inventory::default);
    let mut hashed = early_bytes;
    for (p, m) in planned.into_iter().zip(&manifests) {
        if let Some(inv) = inventory.as_mut() {
            let keyform = m.name[..m.name.len() - ".manifest".len()].to_string();
            let rec = inv
                .components
                .entry(keyform.to_ascii_lowercase())
                .or_default();
            rec.keyform = keyform;
            rec.manifest_sha256 = p.manifest_sha256.clone();
            for f in p.findings.iter().filter(|f| f.file.is_some()) {
                let name = f.file.clone().unwrap_or_default();
                rec.files.insert(
                    name.to_ascii_lowercase(),
                    FileRecord {
                        name,
                        path: f.path.clone(),
                        content: None,
                        verdict: Some(f.kind),
                    },
                );
            }
            for (job, verdict, sha256) in p.records {
                let path = job.path();
                let record = Record {
                    component: job.component,
                    file: job.file,
                    path,
                };
                inv.record(record, verdict, sha256);
            }
        }
        totals.manifests_compressed += p.compressed as u64;
        totals.components += p.has_files as u64;
        totals.payload_files += p.files;
        hashed += p.bytes;
        findings.extend(p.findings);
        notes.extend(p.notes);
        deferred.extend(p.deferred);
    }

    // The rest of the payloads: on every worker, several at once, largest first; a content
    // stored once for several paths (WIM blobs) once, a solid run in offset order.
    let mut results = early;
    if !deferred.is_empty() {
        progress.add(deferred.len() as u64);
        let groups = content_groups(&deferred, opts.inventory);
        let next = AtomicUsize::new(0);
        let (bytes, late): (Vec<u64>, Vec<Vec<Hashed>>) = (0..rayon::current_num_threads())
            .into_par_iter()
            .map(|_| {
                let mut queue = Queue {
                    image,
                    codecs,
                    store: store.as_deref(),
                    deferred: &deferred,
                    groups: &groups,
                    next: &next,
                    state,
                    observe: &observe,
                    progress: &progress,
                    inventory: opts.inventory,
                    out: Vec::new(),
                    bytes: 0,
                };
                lanes::run(codecs, &mut queue);
                (queue.bytes, queue.out)
            })
            .unzip();
        hashed += bytes.iter().sum::<u64>();
        results.extend(late.into_iter().flatten());
        // A WIM's payloads are all here, tens of thousands: freed while the report is made.
        drop_in_background((deferred, groups));
    }
    // In job order, whichever worker hashed what: the same report whatever the threads.
    results.sort_by_key(|h| h.key);
    for h in results {
        if let (Some(inv), Some(record)) = (inventory.as_mut(), h.record) {
            inv.record(record, h.finding.as_ref().map(|f| f.kind), h.sha256);
        }
        findings.extend(h.finding);
    }
    progress.finish();
    drop_in_background(servicing.state.take());
    findings.append(&mut hive_only);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    if codecs.base.is_none() && totals.manifests_compressed > 0 {
        notes.push(format!(
            "{} manifests are DCM-compressed and no base manifest was found (the image has no servicing-stack wcp.dll): they are unverifiable; give the base with --base FILE (a wcp.dll or the raw 9,066-byte base manifest)",
            totals.manifests_compressed
        ));
    }
    if opts.quick {
        notes.push("quick audit (--quick): payload contents were not read, so hash mismatches and damaged compressed payloads are not detected".into());
    }
    notes.extend(opts.notes.iter().cloned());
    notes.extend(servicing.notes);
    notes.sort();
    notes.dedup();
    totals.bytes_hashed = hashed;
    Ok(Audit {
        input: image.input.display().to_string(),
        layout: image.layout,
        source: image.source.kind(),
        source_info: image.source.describe(),
        inventory,
        repairs: None,
        fail_on: crate::exit::FailOn::default(),
        totals,
        findings,
        notes,
        elapsed: start.elapsed(),
    })
}

/// The name of the store's Manifests folder as stored, its component folders by lower-case
/// name, and its `.manifest` files sorted by name.
fn list_store(image: &Image) -> Result<(DirEntry, HashMap<String, DirEntry>, Vec<DirEntry>)> {
    let ws = image.winsxs();
    let mut manifests_dir = ws.clone();
    let listing = image
        .winsxs_listing()
        .map_err(|e| crate::error::Error::io(image.source.display_path(&ws), e))?;
    // Not listed: the listing below fails and names the folder.
    let manifests_entry = crate::store::find(listing, "Manifests")
        .cloned()
        .unwrap_or_else(|| DirEntry {
            name: "Manifests".into(),
            kind: EntryKind::Other,
            size: 0,
        });
    manifests_dir.push(&manifests_entry.name);
    // Component folders, by lower-case name: one listing of WinSxS serves every manifest.
    let folders = image
        .winsxs_by_name()
        .map_err(|e| crate::error::Error::io(image.source.display_path(&ws), e))?;

    let mut manifests: Vec<DirEntry> = image
        .source
        .list(&manifests_dir)
        .map_err(|e| crate::error::Error::io(image.source.display_path(&manifests_dir), e))?
        .into_iter()
        .filter(|e| e.name.to_ascii_lowercase().ends_with(".manifest"))
        .collect();
    manifests.sort_by(|a, b| a.name.cmp(&b.name));
    if manifests.is_empty() {
        return Err(crate::error::Error::NotAnImage {
            path: image.input.clone(),
            reason: format!(
                "{} holds no .manifest files: nothing to verify",
                image.source.display_path(&manifests_dir)
            ),
        });
    }

    Ok((manifests_entry, folders, manifests))
}

/// Free `value` on a thread of its own (inline if none can be started). The hives' typed
/// state and the store's listing are hundreds of thousands of small allocations: freed one by
/// one, they took 20 ms at the end of a 0.5 s quick audit, on one core, with nothing left to
/// run beside them.
fn drop_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("sxsaudit-free".into())
        .spawn(move || drop(value));
}

/// The algorithms one payload is hashed with: its manifest's, and SHA-256 too for an
/// inventory (which compares content by SHA-256).
fn algorithms_for(algorithm: Algorithm, inventory: bool) -> &'static [Algorithm] {
    match (algorithm, inventory) {
        (Algorithm::Sha1, true) => &[Algorithm::Sha1, Algorithm::Sha256],
        (Algorithm::Sha1, false) => &[Algorithm::Sha1],
        (Algorithm::Sha256, _) => &[Algorithm::Sha256],
    }
}

/// The content's SHA-256, when it was computed.
fn sha256_of(d: &Digests) -> Option<Vec<u8>> {
    d.values
        .as_ref()
        .ok()
        .and_then(|v| v.get(Algorithm::Sha256))
        .map(<[u8]>::to_vec)
}

/// Judge every job sharing one content hashed to `digests`, and keep in `out` what the report
/// needs of each: its finding (with its owning packages, announced to the observer), and for
/// an inventory its record and the content's SHA-256. `loaded` is `None` while the hives are
/// still loading; a finding is then owned and announced after the pass ([`Hashed::pending`]).
/// The content's bytes count once, on its first job.
fn settle_content<'j>(
    jobs: impl Iterator<Item = &'j Job>,
    digests: &Digests,
    loaded: Option<Option<&ServicingState>>,
    observe: &impl Fn(&Finding),
    inventory: bool,
    progress: &Progress,
    out: &mut Vec<Hashed>,
) {
    let sha256 = inventory.then(|| sha256_of(digests)).flatten();
    let mut bytes = digests.bytes;
    for job in jobs {
        progress.step(1, std::mem::take(&mut bytes));
        let mut finding = verdict(job, digests);
        let pending = finding.is_some() && loaded.is_none();
        if let (Some(f), Some(state)) = (finding.as_mut(), loaded) {
            announce(f, state, observe);
        }
        // A payload that matches and goes in no inventory leaves nothing: most of them.
        if finding.is_some() || inventory {
            out.push(Hashed {
                key: job.key,
                finding,
                pending,
                sha256: sha256.clone(),
                record: inventory.then(|| Record {
                    component: job.component.clone(),
                    file: job.file.clone(),
                    path: job.path(),
                }),
            });
        }
    }
}

/// A hashed payload's finding, given its owning packages and announced to the observer.
fn announce(f: &mut Finding, state: Option<&ServicingState>, observe: &impl Fn(&Finding)) {
    if let Some(s) = state {
        with_owners(f, s);
    }
    observe(f);
}

/// Who a payload recorded in an inventory is.
struct Record {
    component: String,
    file: String,
    path: String,
}

impl Inventory {
    /// Record a hashed payload (its verdict and content), replacing what planning recorded.
    fn record(&mut self, job: Record, verdict: Option<Kind>, content: Option<Vec<u8>>) {
        let rec = self
            .components
            .entry(job.component.to_ascii_lowercase())
            .or_default();
        rec.files.insert(
            job.file.to_ascii_lowercase(),
            FileRecord {
                path: job.path,
                name: job.file,
                content,
                verdict,
            },
        );
    }
}

/// Report path of a file in the store: `Windows/WinSxS/...`, whatever level the user gave.
fn store_path<S: AsRef<str>>(parts: &[S]) -> String {
    const ROOT: &str = "Windows/WinSxS";
    // Sized once: this runs for every manifest and payload.
    let len = ROOT.len() + parts.iter().map(|s| s.as_ref().len() + 1).sum::<usize>();
    let mut p = String::with_capacity(len);
    p.push_str(ROOT);
    for s in parts {
        p.push('/');
        p.push_str(s.as_ref());
    }
    p
}

/// `; owning packages: A is Installed (112), B is Superseded (80)`, or nothing when the hive
/// names no owner.
fn owners_text(state: &ServicingState, component: &str) -> String {
    let owners = state.owners(component);
    if owners.is_empty() {
        return String::new();
    }
    let list: Vec<String> = owners.iter().map(|(p, s)| format!("{p} is {s}")).collect();
    format!("; owning packages: {}", list.join(", "))
}

/// Add the owning packages and their states to a payload finding's detail.
fn with_owners(f: &mut Finding, state: &ServicingState) {
    if f.file.is_some() {
        f.detail.push_str(&owners_text(state, &f.component));
    }
}

/// A payload that is not there: corruption, or absent by design, as the hive says.
fn missing(
    state: Option<&ServicingState>,
    component: &str,
    file: &str,
    why: &str,
) -> (Kind, String) {
    let Some(state) = state else {
        return (Kind::MissingPayload, why.to_string());
    };
    match state.expectation(component, file) {
        Expectation::Expected { flags, .. } => (
            Kind::MissingPayload,
            format!(
                "{why}, and the COMPONENTS hive says it is staged (f! flags {flags:#x}){}",
                owners_text(state, component)
            ),
        ),
        Expectation::AbsentByDesign { reason } => {
            let owners = if reason.contains("package ") {
                String::new()
            } else {
                owners_text(state, component)
            };
            (
                Kind::PayloadAbsentByDesign,
                format!("{why} by design: {reason}{owners}"),
            )
        }
        Expectation::NotInHive => (
            Kind::MissingPayload,
            format!("{why}; the component is not in the COMPONENTS hive"),
        ),
    }
}

/// Components of the COMPONENTS hive with no manifest file.
fn manifests_missing(state: &ServicingState, manifests: &[DirEntry]) -> Vec<Finding> {
    let present: std::collections::HashSet<String> = manifests
        .iter()
        .map(|m| sxs_servicing::fold_name(&m.name[..m.name.len() - ".manifest".len()]))
        .collect();
    state
        .components
        .components
        .keys()
        .filter(|k| !present.contains(*k))
        .map(|k| {
            let detail = format!("the COMPONENTS hive has this component, but WinSxS/Manifests has no manifest for it{}", owners_text(state, k));
            finding(Kind::ManifestMissing, k, None, store_path(&["Manifests", &format!("{k}.manifest")]), detail)
        })
        .collect()
}

/// Judge one planned manifest against the servicing state, and announce its findings: an
/// orphan manifest, a manifest whose SHA-256 is not the hive's S256H, missing payloads that
/// are absent by design, and the owning packages of every payload finding.
fn finish(p: &mut Planned, state: Option<&ServicingState>, observe: &impl Fn(&Finding)) {
    p.finished = true;
    if let Some(state) = state {
        let component = p.component.as_str();
        // Built only for a finding: this runs for every manifest.
        let mpath = || store_path(&["Manifests", p.manifest_name.as_str()]);
        let recorded = state.components.components.s256h(component);
        for f in p.findings.iter_mut() {
            match (f.kind, f.file.as_deref()) {
                (Kind::MissingPayload, Some(file)) => {
                    let (kind, detail) = missing(Some(state), component, file, &f.detail);
                    f.kind = kind;
                    f.detail = detail;
                }
                _ => with_owners(f, state),
            }
        }
        match recorded {
            None => p.findings.push(finding(Kind::OrphanManifest, component, None, mpath(), "the COMPONENTS hive has no DerivedData\\Components key for this manifest: Windows does not know the component".into())),
            Some(recorded) => {
                let actual = p.manifest_sha256.as_ref().filter(|_| p.parsed);
                if let (Some(recorded), Some(actual)) = (recorded, actual) {
                    if recorded.as_slice() != actual.as_slice() {
                        let mut f = finding(
                            Kind::ManifestHashMismatch,
                            component,
                            None,
                            mpath(),
                            format!(
                                "the decoded manifest's SHA-256 is {}, the COMPONENTS hive's S256H is {}",
                                digest::to_hex(actual),
                                digest::to_hex(&recorded)
                            ),
                        );
                        f.algorithm = Some(Algorithm::Sha256);
                        f.expected = Some(recorded.to_vec());
                        f.actual = Some(actual.clone());
                        p.findings.push(f);
                    }
                }
            }
        }
    }
    p.findings.iter().for_each(observe);
}

/// Plan one manifest: read it (into `buf`), decode and parse it, look its payloads up, and
/// hash them unless the audit is quick.
fn plan_manifest(
    image: &Image,
    codecs: &Codecs,
    manifests: &Manifests<'_>,
    folders: &HashMap<String, DirEntry>,
    entry: &DirEntry,
    buf: &mut Vec<u8>,
) -> Planned {
    let name = &entry.name;
    let component = name[..name.len() - ".manifest".len()].to_string();
    let mut out = Planned {
        component: component.clone(),
        manifest_name: name.clone(),
        ..Planned::default()
    };
    // Built only for a finding: this runs for every manifest.
    let mpath = || store_path(&["Manifests", name.as_str()]);
    let corrupt = |out: &mut Planned, detail: String| {
        out.findings.push(finding(
            Kind::ManifestCorrupt,
            &component,
            None,
            mpath(),
            detail,
        ))
    };
    match entry.kind {
        EntryKind::File => {}
        EntryKind::Symlink => {
            out.findings.push(finding(
                Kind::Unreadable,
                &component,
                None,
                mpath(),
                "the manifest is a symbolic link, which is never followed".into(),
            ));
            return out;
        }
        _ => {
            out.findings.push(finding(
                Kind::Unreadable,
                &component,
                None,
                mpath(),
                "the manifest is not a regular file".into(),
            ));
            return out;
        }
    }
    let read = match manifests.opened {
        Some(open) => read_capped_into(buf, MAX_MANIFEST_BYTES, &mut |sink| {
            open.read(&[name.as_str()], u64::MAX, sink)
        }),
        None => {
            let mut parts = manifests.parts.to_vec();
            parts.push(name);
            read_capped_into(buf, MAX_MANIFEST_BYTES, &mut |sink| {
                image.source.read(&parts, sink)
            })
        }
    };
    let bytes: &[u8] = match read {
        Ok(info) => {
            if info.container_ok == Some(false) {
                out.findings.push(finding(Kind::WimBlobCorrupt, &component, None, mpath(), "the WIM blob holding this manifest does not match the archive's own SHA-1: the archive is damaged".into()));
            }
            buf
        }
        Err(e) => {
            out.findings.push(finding(
                Kind::Unreadable,
                &component,
                None,
                mpath(),
                format!("cannot read the manifest: {e}"),
            ));
            return out;
        }
    };
    let container = Container::sniff(bytes);
    out.compressed = container == Container::Dcm;
    // Plain manifests (most of an older store) are parsed where they were read.
    let decoded = match container {
        Container::Plain => None,
        _ => Some(codecs.manifest(container, bytes)),
    };
    let xml: &[u8] = match &decoded {
        None => bytes,
        Some(codec::Decoded::Bytes(b)) => b,
        Some(codec::Decoded::Unverifiable(why)) => {
            out.findings.push(finding(
                Kind::Unverifiable,
                &component,
                None,
                mpath(),
                why.clone(),
            ));
            return out;
        }
        Some(codec::Decoded::Corrupt(why)) => {
            corrupt(&mut out, why.clone());
            return out;
        }
    };
    out.manifest_sha256 = Some(crate::hash::digest(Algorithm::Sha256, xml));
    let m: Manifest = match manifest::parse(xml) {
        Ok(m) => m,
        Err(e) => {
            let how = if out.compressed {
                "the decoded manifest "
            } else {
                "the manifest "
            };
            corrupt(&mut out, format!("{how}{e}"));
            return out;
        }
    };
    out.parsed = true;
    let computed = keyform::keyform(&m.identity);
    if !computed.eq_ignore_ascii_case(&component) {
        out.findings.push(finding(
            Kind::KeyformMismatch,
            &component,
            None,
            mpath(),
            format!("its identity gives the keyform {computed}"),
        ));
    }
    if m.files.is_empty() {
        return out;
    }
    out.has_files = true;
    let folder = folders.get(&component.to_ascii_lowercase());
    let dir = folder.filter(|f| f.kind == EntryKind::Dir);
    // A folder whose files cannot be looked up this way is listed instead, which names the
    // error. Held open while this manifest's payloads are read, not for the whole run.
    let open = dir.and_then(|f| manifests.store.and_then(|s| s.folder(f)));
    // Made on first use: only names not found as written or in lower case need the listing.
    let mut resolver: Option<FolderResolver> = None;
    let folder_name = folder.map_or(component.as_str(), |f| f.name.as_str());
    for file in &m.files {
        out.files += 1;
        let fname: &str = &file.name;
        let parts = match manifest::name_components(fname) {
            Ok(p) => p,
            Err(why) => {
                corrupt(&mut out, why);
                continue;
            }
        };
        let expected = digest::resolve(file.hash.as_ref(), file.legacy_hash.is_some());
        // Findings about a file not found show it as the manifest spells it, with the digest
        // it should have.
        let shown = || component_path(folder_name, &parts);
        let not_found = |kind: Kind, why: String| {
            let mut f = finding(kind, &component, Some(fname), shown(), why);
            if let Ok(e) = &expected {
                f.algorithm = Some(e.algorithm);
                f.expected = Some(e.value.clone());
            }
            f
        };
        let Some(dir) = dir else {
            let why = match folder {
                Some(f) if f.kind == EntryKind::Symlink => {
                    "the component folder is a symbolic link, which is never followed"
                }
                Some(_) => "the component folder is not a folder",
                None => "the component folder is absent",
            };
            let kind = if folder.is_some() {
                Kind::Unreadable
            } else {
                Kind::MissingPayload
            };
            out.findings.push(not_found(kind, why.to_string()));
            continue;
        };
        // Looked up directly where the source can; anything not found that way (absent,
        // another spelling, not a file) is settled by the listing.
        let exact = open.as_deref().and_then(|open| look_up(open, &parts));
        let direct = exact.is_some();
        // The names below the component folder as stored; `None`: as the manifest spells them.
        let (stored, found): (Option<Vec<String>>, Meta) = match exact {
            Some(found) => found,
            None => {
                let resolver = resolver.get_or_insert_with(|| {
                    let mut base = image.winsxs();
                    base.push(dir.name.as_str());
                    FolderResolver::new(&*image.source, base)
                });
                match resolver.resolve(&parts) {
                    Resolved::Found(stored, e) => (
                        Some(stored),
                        Meta {
                            kind: e.kind,
                            size: e.size,
                        },
                    ),
                    Resolved::Missing => {
                        let why = "the payload file is absent".to_string();
                        out.findings.push(not_found(Kind::MissingPayload, why));
                        continue;
                    }
                    Resolved::Error(e) => {
                        out.findings.push(finding(
                            Kind::Unreadable,
                            &component,
                            Some(fname),
                            shown(),
                            e,
                        ));
                        continue;
                    }
                }
            }
        };
        // Findings about a file found, and jobs, name it as stored.
        let fpath = || match &stored {
            Some(names) => component_path(folder_name, names),
            None => shown(),
        };
        let not_a_file = match found.kind {
            EntryKind::File => None,
            EntryKind::Symlink => Some("the payload is a symbolic link, which is never followed"),
            EntryKind::Dir => Some("the payload is a folder, not a file"),
            EntryKind::Other => Some("the payload is not a regular file"),
        };
        if let Some(why) = not_a_file {
            out.findings.push(finding(
                Kind::Unreadable,
                &component,
                Some(fname),
                fpath(),
                why.into(),
            ));
            continue;
        }
        let expected = match expected {
            Ok(e) => e,
            Err(why) => {
                out.findings.push(finding(
                    Kind::Unverifiable,
                    &component,
                    Some(fname),
                    fpath(),
                    why,
                ));
                continue;
            }
        };
        if let Some(hashing) = &manifests.hashing {
            let stored_refs;
            let names: &[&str] = match &stored {
                Some(names) => {
                    stored_refs = as_refs(names);
                    &stored_refs
                }
                None => &parts,
            };
            let found = Found {
                component: &component,
                file: fname,
                folder: folder_name,
                names,
                size: found.size,
                expected,
                direct,
            };
            hash_payload(image, codecs, hashing, &mut out, found);
        }
    }
    out
}

/// Hash one payload found while its manifest is planned: apart from it where it was found in
/// the open component folder, or where the source stores its content once for several paths
/// ([`Planned::deferred`]); at once, by its path, otherwise.
fn hash_payload(
    image: &Image,
    codecs: &Codecs,
    hashing: &Hashing,
    p: &mut Planned,
    found: Found<'_>,
) {
    let job = found.to_job();
    if found.direct {
        p.deferred.push((job, Source::Open));
        return;
    }
    let parts = job.source_path(image);
    if let Some(cid) = image.source.content_id(&parts) {
        p.deferred.push((job, Source::Content(cid)));
        return;
    }
    let algorithms = algorithms_for(found.expected.algorithm, hashing.inventory);
    let digests = digest_path(image, codecs, &parts, algorithms);
    p.bytes += digests.bytes;
    let fault = fault(&found.expected, &digests);
    if fault.is_none() && !hashing.inventory {
        return;
    }
    let f = fault.map(|f| job.finding(f));
    if hashing.inventory {
        p.records
            .push((job, f.as_ref().map(|f| f.kind), sha256_of(&digests)));
    }
    p.findings.extend(f);
}

/// Look a payload's `parts` up in its open component folder: as written, then with the file
/// part in lower case, then all in lower case (servicing often writes names that way on disk,
/// and two more lookups cost less than listing the folder). Only a regular file counts. The
/// spelling found is returned when it is not the one written.
fn look_up(open: &dyn OpenFolder, parts: &[&str]) -> Option<(Option<Vec<String>>, Meta)> {
    let file = |names: &[&str]| {
        let e = open.entry(names).ok().flatten()?;
        (e.kind == EntryKind::File).then_some(e)
    };
    if let Some(e) = file(parts) {
        return Some((None, e));
    }
    let upper = |p: &str| p.bytes().any(|b| b.is_ascii_uppercase());
    let mut lower: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    if upper(parts.last()?) {
        lower.last_mut()?.make_ascii_lowercase();
        if let Some(e) = file(&as_refs(&lower)) {
            return Some((Some(lower), e));
        }
    }
    if parts.iter().any(|p| upper(p)) {
        lower.iter_mut().for_each(|p| p.make_ascii_lowercase());
        return file(&as_refs(&lower)).map(|e| (Some(lower), e));
    }
    None
}

/// Borrowed names, for lookups.
fn as_refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// Report path of a file below a component folder: `Windows/WinSxS/<folder>/<names>`.
fn component_path<S: AsRef<str>>(folder: &str, names: &[S]) -> String {
    let mut parts: Vec<&str> = Vec::with_capacity(1 + names.len());
    parts.push(folder);
    parts.extend(names.iter().map(AsRef::as_ref));
    store_path(&parts)
}

/// A job's place in the report's order: its manifest, then its place among that manifest's
/// payloads hashed apart from it.
type JobKey = (u32, u32);

/// A payload hashed apart from its manifest that the report needs ([`settle_content`]).
struct Hashed {
    key: JobKey,
    finding: Option<Finding>,
    /// Hashed before the hives were loaded: the finding gets its owners, and is announced,
    /// after the pass.
    pending: bool,
    /// For an inventory: the content's SHA-256, and whose it is.
    sha256: Option<Vec<u8>>,
    record: Option<Record>,
}

/// One content to read: a file, or a WIM blob shared by several jobs.
struct Unit {
    /// The first job, whose path is read, and the others sharing its content.
    first: usize,
    others: Vec<usize>,
    algorithms: &'static [Algorithm],
}

impl Unit {
    fn jobs(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.first).chain(self.others.iter().copied())
    }
}

/// What one worker takes at a time.
enum Group {
    /// A file of a directory tree (its job), streamed in a lane.
    File(usize),
    /// Content units read in order: a range of [`Groups::units`].
    Units(std::ops::Range<usize>),
}

/// Content units stored once for several paths, and what the workers take, in the order they
/// take it.
struct Groups {
    units: Vec<Unit>,
    /// Each group with its size and first job, the order's keys.
    order: Vec<(u64, usize, Group)>,
}

/// Size from which a payload waits for the second pass, where the largest are taken first:
/// one hashed last would keep a core busy on its own (a 50 MiB payload, 30 ms), while one
/// under this size takes under a millisecond, so those are hashed as they are found
/// ([`PlanFeed`]). In the second pass, likewise, groups of this size come first.
const LARGE_GROUP: u64 = 1 << 20;

/// Group jobs into what the workers take: a file of an open folder on its own (no unit made:
/// there are tens of thousands, and this runs between the passes), and content units (one
/// per shared blob) in groups read in order by one worker (a solid run of a WIM, read in
/// offset order so each solid chunk is decompressed once). Large groups come first, largest
/// first, so long reads start early and small ones fill in at the end.
fn content_groups(jobs: &[(Job, Source)], inventory: bool) -> Groups {
    let unit = |j: usize, job: &Job| Unit {
        first: j,
        others: Vec::new(),
        algorithms: algorithms_for(job.expected.algorithm, inventory),
    };
    let mut units: Vec<Unit> = Vec::new();
    let mut order: Vec<(u64, usize, Group)> = Vec::with_capacity(jobs.len());
    let mut by_content: HashMap<[u8; 20], usize> = HashMap::new();
    let mut shared: Vec<(ContentId, Unit, u64)> = Vec::new();
    for (j, (job, source)) in jobs.iter().enumerate() {
        let cid = match source {
            Source::Open => {
                order.push((job.size, j, Group::File(j)));
                continue;
            }
            Source::Content(cid) => cid,
        };
        if let Some(&u) = by_content.get(&cid.id) {
            let unit = &mut shared[u].1;
            unit.others.push(j);
            if !unit.algorithms.contains(&job.expected.algorithm) {
                // There are two algorithms: one more is both.
                unit.algorithms = &[Algorithm::Sha1, Algorithm::Sha256];
            }
            continue;
        }
        by_content.insert(cid.id, shared.len());
        shared.push((*cid, unit(j, job), job.size));
    }
    let mut runs: HashMap<u64, Vec<(u64, Unit, u64)>> = HashMap::new();
    for (cid, unit, size) in shared {
        runs.entry(cid.group)
            .or_default()
            .push((cid.offset, unit, size));
    }
    for mut members in runs.into_values() {
        members.sort_by_key(|m| m.0);
        let size = members.iter().map(|m| m.2).sum();
        let start = units.len();
        units.extend(members.into_iter().map(|m| m.1));
        order.push((size, units[start].first, Group::Units(start..units.len())));
    }
    // Large groups first, the largest first; the rest in job order (the order they were
    // planned in, so their jobs are read from memory in sequence: taken by size, most were a
    // cache miss). Each group has its own first job, so the order is total.
    let big = |size: u64| if size >= LARGE_GROUP { size } else { 0 };
    order.par_sort_unstable_by(|a, b| big(b.0).cmp(&big(a.0)).then_with(|| a.1.cmp(&b.1)));
    Groups { units, order }
}

/// One worker's share of the payloads hashed after the pass: it takes the next group of
/// [`content_groups`] until none is left, and judges each content as it is hashed.
struct Queue<'a, O> {
    image: &'a Image,
    codecs: &'a Codecs,
    /// The open WinSxS folder, which [`Source::Open`] payloads are read through.
    store: Option<&'a dyn OpenFolder>,
    deferred: &'a [(Job, Source)],
    groups: &'a Groups,
    /// The next group to take, shared by the workers.
    next: &'a AtomicUsize,
    state: Option<&'a ServicingState>,
    observe: &'a O,
    progress: &'a Progress,
    /// An inventory is being made: every payload's SHA-256 and verdict are kept.
    inventory: bool,
    out: Vec<Hashed>,
    /// Content bytes hashed.
    bytes: u64,
}

impl<O: Fn(&Finding)> Queue<'_, O> {
    /// Judge every job sharing a content hashed to `digests`; keep what the report needs.
    fn settle(&mut self, jobs: impl Iterator<Item = usize>, digests: &Digests) {
        self.bytes += digests.bytes;
        let deferred = self.deferred;
        settle_content(
            jobs.map(|j| &deferred[j].0),
            digests,
            Some(self.state),
            self.observe,
            self.inventory,
            self.progress,
            &mut self.out,
        );
    }
}

impl<'a, O: Fn(&Finding)> lanes::Feed<'a> for Queue<'a, O> {
    fn next(&mut self) -> Option<lanes::Next<'a>> {
        loop {
            let groups = self.groups;
            let (_, _, group) = groups
                .order
                .get(self.next.fetch_add(1, Ordering::Relaxed))?;
            let range = match group {
                Group::File(j) => {
                    return Some(match self.store {
                        Some(store) => self.deferred[*j].0.lane(store, *j, self.inventory),
                        // Only a source with an open folder gives files of one.
                        None => lanes::Next {
                            key: *j,
                            algorithms: &[],
                            reader: Err(std::io::Error::other("no open folder")),
                        },
                    });
                }
                Group::Units(range) => range.clone(),
            };
            // Content of an archive: read here, in order.
            for unit in &groups.units[range] {
                let job = &self.deferred[unit.first].0;
                let parts = job.source_path(self.image);
                let digests = digest_path(self.image, self.codecs, &parts, unit.algorithms);
                self.settle(unit.jobs(), &digests);
            }
        }
    }

    fn done(&mut self, key: usize, digests: Digests) {
        // Lanes stream only units of one job.
        self.settle(std::iter::once(key), &digests);
    }
}

/// What the workers of the first pass share: the manifests, and the next one to take.
struct PlanShared<'a, O> {
    image: &'a Image,
    codecs: &'a Codecs,
    manifests: &'a [DirEntry],
    at: &'a Manifests<'a>,
    folders: &'a HashMap<String, DirEntry>,
    /// The next manifest to take.
    next: &'a AtomicUsize,
    loaded: &'a OnceLock<crate::store::servicing::Loaded>,
    observe: &'a O,
    progress: &'a Progress,
}

/// One worker of the first pass: a [`lanes::Feed`] that plans a few manifests whenever it has
/// no payload left to give, so each worker's lanes hash the payloads of the manifests it has
/// just planned (their folders and names still in the caches) while the manifests are
/// being planned, not after. Payloads of LARGE_GROUP or more, and contents a source stores
/// once for several paths, stay in their plans for the second pass.
struct PlanFeed<'s, 'a, O> {
    shared: &'s PlanShared<'a, O>,
    /// Each manifest's bytes are read into this one buffer: a fresh allocation for each made
    /// the allocator consolidate its free lists every time.
    buf: Vec<u8>,
    /// Payloads found and not yet given to a lane.
    queue: std::collections::VecDeque<Job>,
    /// The payloads in the lanes, by the number they were given under.
    in_lanes: Vec<(usize, Job)>,
    given: usize,
    /// What this worker planned, by manifest index.
    planned: Vec<(usize, Planned)>,
    out: Vec<Hashed>,
    /// Content bytes hashed.
    bytes: u64,
}

impl<'s, 'a, O: Fn(&Finding)> PlanFeed<'s, 'a, O> {
    fn new(shared: &'s PlanShared<'a, O>) -> Self {
        PlanFeed {
            shared,
            buf: Vec::new(),
            queue: Default::default(),
            in_lanes: Vec::with_capacity(lanes::LANES),
            given: 0,
            planned: Vec::new(),
            out: Vec::new(),
            bytes: 0,
        }
    }

    /// Plan the next few manifests; `false` when none is left.
    fn plan(&mut self) -> bool {
        let sh = self.shared;
        let first = sh.next.fetch_add(MANIFESTS_PER_TASK, Ordering::Relaxed);
        if first >= sh.manifests.len() {
            return false;
        }
        let end = (first + MANIFESTS_PER_TASK).min(sh.manifests.len());
        for (i, m) in sh.manifests.iter().enumerate().take(end).skip(first) {
            let mut p = plan_manifest(sh.image, sh.codecs, sh.at, sh.folders, m, &mut self.buf);
            codec::trim(&mut self.buf);
            if let Some(l) = sh.loaded.get() {
                finish(&mut p, l.state.as_ref(), sh.observe);
            }
            sh.progress.step(1, p.bytes);
            let found = std::mem::take(&mut p.deferred);
            for (k, (mut job, source)) in found.into_iter().enumerate() {
                job.key = (i as u32, k as u32);
                if source == Source::Open && job.size < LARGE_GROUP && sh.at.store.is_some() {
                    sh.progress.add(1);
                    self.queue.push_back(job);
                } else {
                    p.deferred.push((job, source));
                }
            }
            self.planned.push((i, p));
        }
        true
    }
}

impl<'s, 'a, O: Fn(&Finding)> lanes::Feed<'a> for PlanFeed<'s, 'a, O> {
    fn next(&mut self) -> Option<lanes::Next<'a>> {
        loop {
            // Only a source with an open folder queues payloads (`plan`).
            if let Some((job, store)) = self
                .shared
                .at
                .store
                .and_then(|s| Some((self.queue.pop_front()?, s)))
            {
                let key = self.given;
                self.given += 1;
                let next = job.lane(store, key, self.inventory());
                self.in_lanes.push((key, job));
                return Some(next);
            }
            if !self.plan() {
                return None;
            }
        }
    }

    fn done(&mut self, key: usize, digests: Digests) {
        let Some(at) = self.in_lanes.iter().position(|(k, _)| *k == key) else {
            return;
        };
        let (_, job) = self.in_lanes.swap_remove(at);
        let sh = self.shared;
        self.bytes += digests.bytes;
        settle_content(
            std::iter::once(&job),
            &digests,
            sh.loaded.get().map(|l| l.state.as_ref()),
            sh.observe,
            self.inventory(),
            sh.progress,
            &mut self.out,
        );
    }
}

impl<O> PlanFeed<'_, '_, O> {
    fn inventory(&self) -> bool {
        self.shared.at.hashing.as_ref().is_some_and(|h| h.inventory)
    }
}

/// The digests of one file's content, or why there are none.
pub struct Digests {
    /// One digest per algorithm asked for, or the kind of finding and its reason.
    pub values: Result<Values, (Kind, String)>,
    /// The container's own verdict (WIM blob SHA-1).
    pub container_ok: Option<bool>,
    /// Bytes hashed.
    pub bytes: u64,
}

/// Read one file of an image (path components from the source root), decode a compressed
/// container (DCN, DCS), and hash the content with each of `algorithms`.
pub fn digest_path(
    image: &Image,
    codecs: &Codecs,
    parts: &[&str],
    algorithms: &[Algorithm],
) -> Digests {
    digest_read(codecs, algorithms, &mut |sink| {
        image.source.read(parts, sink)
    })
}

/// [`digest_path`] for a file given by how to read it (a path, or a name in an open folder).
fn digest_read(codecs: &Codecs, algorithms: &[Algorithm], read: &mut ReadWith<'_>) -> Digests {
    with_packed(|packed| digest_into(codecs, read, algorithms, packed))
}

thread_local! {
    /// A compressed payload's bytes, gathered before decoding; reused from file to file.
    static PACKED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's (empty) buffer for gathering a compressed payload, and empty it
/// again after, giving its memory back if one big payload made it large.
fn with_packed<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    PACKED.with(|packed| {
        let mut packed = packed.borrow_mut();
        let result = f(&mut packed);
        packed.clear();
        codec::trim(&mut packed);
        result
    })
}

/// What a read error leaves of a payload's digests: the bytes read before it, and the
/// finding.
fn unreadable(e: &std::io::Error, bytes: u64) -> Digests {
    Digests {
        values: Err((Kind::Unreadable, format!("cannot read the payload: {e}"))),
        container_ok: None,
        bytes,
    }
}

/// [`digest_read`] with the per-thread buffer for compressed payloads.
fn digest_into(
    codecs: &Codecs,
    read: &mut ReadWith<'_>,
    algorithms: &[Algorithm],
    packed: &mut Vec<u8>,
) -> Digests {
    let mut hashers = Hashers::new(algorithms);
    let mut compressed: Option<Container> = None;
    let mut bytes = 0u64;
    let mut first = true;
    let read = read(&mut |chunk| {
        if first {
            first = false;
            let c = Container::sniff(chunk);
            if c != Container::Plain {
                compressed = Some(c);
            }
        }
        if compressed.is_some() {
            gather(packed, chunk)?;
        } else {
            hashers.update(chunk);
            bytes += chunk.len() as u64;
        }
        Ok(())
    });
    let info = match read {
        Ok(info) => info,
        Err(e) => return unreadable(&e, bytes),
    };
    if let Some(c) = compressed {
        let decoded = codecs.payload_with(c, packed, &mut |plain| {
            hashers.update(plain);
            bytes += plain.len() as u64;
        });
        if let Err(failure) = decoded {
            return Digests {
                values: Err(undecodable(failure)),
                container_ok: info.container_ok,
                bytes,
            };
        }
    }
    Digests {
        values: Ok(hashers.finish()),
        container_ok: info.container_ok,
        bytes,
    }
}

/// Add a chunk of a compressed payload to the bytes gathered before decoding, within
/// [`codec::MAX_COMPRESSED_PAYLOAD`].
fn gather(packed: &mut Vec<u8>, chunk: &[u8]) -> std::io::Result<()> {
    if packed.len() + chunk.len() > codec::MAX_COMPRESSED_PAYLOAD {
        return Err(std::io::Error::other(
            "compressed payload larger than the limit",
        ));
    }
    packed.extend_from_slice(chunk);
    Ok(())
}

/// The finding a compressed payload that gave no bytes gets.
fn undecodable(failure: codec::Failure) -> (Kind, String) {
    match failure {
        codec::Failure::Unverifiable(why) => (Kind::Unverifiable, why),
        // A payload that does not decode cannot have the promised content.
        codec::Failure::Corrupt(why) => (Kind::HashMismatch, why),
    }
}

/// What [`digest_read`] does before hashing a compressed payload, for a lane that hashes the
/// plain bytes itself ([`lanes`]): the payload (its first chunk `buf[..n]`, and when that
/// filled `buf`, the rest of `reader`, read through `buf`) decoded into `out`. A payload
/// that fits one chunk is decoded from the chunk, without gathering it first. On failure,
/// the same digests as [`digest_read`] gives.
fn decode_in_lane(
    codecs: &Codecs,
    container: Container,
    buf: &mut [u8],
    n: usize,
    reader: &mut dyn std::io::Read,
    out: &mut Vec<u8>,
) -> Result<(), Digests> {
    let decoded = if n < buf.len() {
        codecs.payload_into(container, &buf[..n], out)
    } else {
        with_packed(|packed| {
            let mut last = n;
            gather(packed, &buf[..n])?;
            while last == buf.len() {
                last = crate::store::fill(reader, buf)?;
                gather(packed, &buf[..last])?;
            }
            Ok(codecs.payload_into(container, packed, out))
        })
        .map_err(|e| unreadable(&e, 0))?
    };
    decoded.map_err(|f| Digests {
        values: Err(undecodable(f)),
        container_ok: None,
        bytes: 0,
    })
}

/// The finding for one job given its content's digests, if any.
fn verdict(job: &Job, d: &Digests) -> Option<Finding> {
    fault(&job.expected, d).map(|f| job.finding(f))
}

/// What is wrong with a content whose digests are `d`, if it must have `expected`.
fn fault(expected: &Expected, d: &Digests) -> Option<Fault> {
    let plain = |kind: Kind, detail: String| Fault {
        kind,
        detail,
        actual: None,
    };
    if d.container_ok == Some(false) {
        // The archive is damaged: say so, rather than blame the store it carries.
        return Some(plain(Kind::WimBlobCorrupt, "the WIM blob holding this file does not match the archive's own SHA-1: the archive is damaged".into()));
    }
    let values = match &d.values {
        Ok(v) => v,
        Err((kind, why)) => return Some(plain(*kind, why.clone())),
    };
    let actual = values.get(expected.algorithm).unwrap_or_default();
    if actual == expected.value.as_slice() {
        return None;
    }
    Some(Fault {
        kind: Kind::HashMismatch,
        detail: format!(
            "{} digest differs: found {}, expected {}",
            expected.algorithm.name(),
            digest::to_base64(actual),
            digest::to_base64(&expected.value)
        ),
        actual: Some(actual.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(size: u64, algorithm: Algorithm) -> Job {
        Job {
            key: (0, 0),
            component: "c".into(),
            file: format!("f{size}"),
            below: vec!["c".into(), format!("f{size}")],
            size,
            expected: Expected {
                algorithm,
                value: vec![0; 32],
            },
        }
    }

    fn content(group: u64, offset: u64, id: u8) -> Source {
        Source::Content(ContentId {
            group,
            offset,
            id: [id; 20],
        })
    }

    /// What each group of `groups` is, in the order the workers take them.
    fn taken(groups: &Groups) -> Vec<Vec<Vec<usize>>> {
        groups
            .order
            .iter()
            .map(|(_, _, g)| match g {
                Group::File(j) => vec![vec![*j]],
                Group::Units(r) => groups.units[r.clone()]
                    .iter()
                    .map(|u| u.jobs().collect())
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn large_groups_go_first_by_size_and_the_rest_in_job_order() {
        const M: u64 = LARGE_GROUP;
        let d = vec![
            (job(10, Algorithm::Sha256), Source::Open),
            (job(3 * M, Algorithm::Sha256), Source::Open),
            (job(M - 1, Algorithm::Sha256), Source::Open),
            (job(5, Algorithm::Sha256), Source::Open),
            (job(3 * M, Algorithm::Sha256), Source::Open),
            (job(7 * M, Algorithm::Sha256), Source::Open),
            (job(M, Algorithm::Sha256), Source::Open),
        ];
        let g = content_groups(&d, false);
        let files: Vec<Vec<Vec<usize>>> = [5, 1, 4, 6, 0, 2, 3]
            .iter()
            .map(|&j| vec![vec![j]])
            .collect();
        assert_eq!(taken(&g), files);
        assert!(g.units.is_empty());
    }

    #[test]
    fn shared_contents_are_read_once_and_solid_runs_in_offset_order() {
        let d = vec![
            (job(100, Algorithm::Sha256), content(1, 50, 1)),
            (job(200, Algorithm::Sha1), content(1, 10, 2)),
            // The same content as job 0, under another path and algorithm.
            (job(100, Algorithm::Sha1), content(1, 50, 1)),
            (job(2 * LARGE_GROUP, Algorithm::Sha256), content(2, 0, 3)),
            (job(7, Algorithm::Sha256), Source::Open),
        ];
        let g = content_groups(&d, false);
        assert_eq!(
            taken(&g),
            vec![vec![vec![3]], vec![vec![1], vec![0, 2]], vec![vec![4]]]
        );
        let both: &[Algorithm] = &[Algorithm::Sha1, Algorithm::Sha256];
        let shared = g.units.iter().find(|u| u.first == 0).unwrap();
        assert_eq!(shared.algorithms, both);
    }
}
