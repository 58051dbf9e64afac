//! The command line: clap-derive arguments that only validate, turned once into a resolved
//! `Config` (thread pool, report sinks), then dispatched. `main.rs` only calls [`main`].

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::audit::{self, Audit};
use crate::codec::Codecs;
use crate::demo::{self, Scale, Spec};
use crate::error::Error;
use crate::exit;
use crate::outputs::{OutputArgs, Outputs};
use crate::store::Image;

const EXIT_HELP: &str = "\
Exit status (a bitmask, so CI can tell kinds apart):
  0   clean (warnings alone exit 0)
  1   a payload's digest differs from its manifest (hash_mismatch)
  2   a payload is missing (missing_payload)
  4   something could not be verified (unverifiable, manifest_corrupt, unreadable)
  8   a bad payload has no good repair source (--source)
  16  a warning kind named in --fail-on was found
  64  usage error
  66  the input is not a Windows image (nothing verified)
  70  internal error";

/// Audit the WinSxS component store of an offline Windows image before it is deployed.
#[derive(Debug, Parser)]
#[command(name = "sxsaudit", version, about, after_help = EXIT_HELP, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify every payload of an image's component store against its manifest.
    #[command(after_help = EXIT_HELP)]
    Audit(AuditArgs),
    /// Build a synthetic 17763-shaped image with planted faults, audit it, and check that
    /// exactly the planted faults were found.
    Demo(DemoArgs),
    /// Describe an image or a WIM/ESD archive: its images, build, manifests.
    Info(InfoArgs),
    /// Decode compressed store files (DCM manifests, DCN and DCS payloads) to plain bytes;
    /// plain files pass through unchanged.
    Expand(ExpandArgs),
    /// Compare two images payload by payload (by content digest); exit 0 when they agree on
    /// every payload both hold, 1 otherwise.
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
struct ExpandArgs {
    /// Store files to decode.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The base manifest for DCM files (a wcp.dll or the raw base manifest).
    #[arg(long, value_name = "FILE", conflicts_with = "image")]
    base: Option<PathBuf>,
    /// Take the base manifest from this image's servicing stack.
    #[arg(long, value_name = "ROOT")]
    image: Option<PathBuf>,
    /// Write the single decoded file here (`-` or absent: standard output).
    #[arg(short = 'o', long, value_name = "OUT", conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    /// Write each decoded file into DIR under its own name.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct InfoArgs {
    /// A WIM/ESD archive, or an image (folder or `archive.wim:N`).
    image: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Options shared by every command that runs an audit.
#[derive(Debug, Args)]
struct RunArgs {
    /// Worker threads; 0 means one per core.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Args)]
struct AuditArgs {
    /// The image: its root (holding Windows), its Windows folder, its WinSxS folder, or a
    /// WIM/ESD archive (`install.wim` for image 1, `install.wim:3` for image 3).
    image: PathBuf,
    /// The image of a WIM/ESD archive to audit (1-based).
    #[arg(long, value_name = "N")]
    index: Option<u32>,
    /// The base manifest DCM manifests are deltas against: a wcp.dll or the raw base
    /// manifest (default: the newest servicing stack's wcp.dll in the image).
    #[arg(long, value_name = "FILE")]
    base: Option<PathBuf>,
    /// Another image (folder or WIM) to look for good copies of every corrupt or missing
    /// payload in; repeatable. Each bad payload gets a verdict: repairable, source_corrupt or
    /// no_source (exit bit 8 when any has no good source).
    #[arg(long, value_name = "IMAGE")]
    source: Vec<PathBuf>,
    /// Write the good copies found in the sources as a minimal repair source for
    /// `DISM /Cleanup-Image /RestoreHealth /Source:DIR\Windows /LimitAccess` (DIR must be new
    /// or empty).
    #[arg(long, value_name = "DIR", requires = "source")]
    export_source: Option<PathBuf>,
    /// Check manifests, keyforms and that every payload is present, without reading payloads
    /// (seconds instead of minutes; hash mismatches are not detected).
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// Image A (folder, or WIM as `file.wim` / `file.wim:N`).
    a: PathBuf,
    /// Image B.
    b: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads; 0 means one per core.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Where to build the image (must be new or empty); a temporary folder, removed
    /// afterwards, when absent.
    dir: Option<PathBuf>,
    /// Size of the image.
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    scale: Scale,
    /// Seed of everything random in the image.
    #[arg(long, default_value_t = 17763)]
    seed: u64,
    /// Build a clean image (no planted faults).
    #[arg(long)]
    clean: bool,
    /// Only build the image; do not audit it.
    #[arg(long, requires = "dir")]
    build_only: bool,
    /// Store every manifest and payload uncompressed (no DCM manifests, no DCN payloads), as
    /// on images before Windows 10.
    #[arg(long)]
    plain: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Resolved settings of one audit run.
struct Config {
    outputs: Outputs,
    pool: rayon::ThreadPool,
}

impl Config {
    fn new(run: &RunArgs) -> anyhow::Result<Config> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(run.threads)
            .build()
            .context("cannot start the worker threads")?;
        Ok(Config {
            outputs: run.out.resolve()?,
            pool,
        })
    }

    fn audit(&self, image: &Image, base: Option<&Path>, quick: bool) -> anyhow::Result<Audit> {
        let (codecs, notes) = codecs_for(image, base)?;
        let opts = audit::Options {
            progress: self.outputs.progress(),
            on_finding: self.outputs.observer(),
            notes,
            inventory: self.outputs.wants_inventory(),
            quick,
        };
        Ok(self.pool.install(|| audit::run(image, &codecs, &opts))?)
    }
}

/// The decoding context of an image: the base manifest from `--base` or from the image.
fn codecs_for(image: &Image, base: Option<&Path>) -> anyhow::Result<(Codecs, Vec<String>)> {
    let mut notes = Vec::new();
    let base = match base {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            Some(
                crate::store::base::from_file_bytes(bytes, path.display().to_string())
                    .map_err(|e| Error::Usage(format!("--base {}: {e}", path.display())))?,
            )
        }
        None => match crate::store::base::find(image) {
            Ok(b) => b,
            Err(e) => {
                notes.push(format!(
                    "the servicing stack's base manifest could not be read: {e}"
                ));
                None
            }
        },
    };
    if let Some(b) = &base {
        if let Some(w) = crate::format::pe::base_warning(&b.bytes) {
            notes.push(format!("{} (from {})", w, b.origin));
        }
    }
    Ok((Codecs { base }, notes))
}

fn run_expand(args: &ExpandArgs) -> anyhow::Result<u8> {
    let base = match (&args.base, &args.image) {
        (Some(p), _) => {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            Some(
                crate::store::base::from_file_bytes(bytes, p.display().to_string())
                    .map_err(|e| Error::Usage(format!("--base {}: {e}", p.display())))?,
            )
        }
        (None, Some(root)) => {
            let image = Image::open(root, None)?;
            Some(
                crate::store::base::find(&image)
                    .map_err(anyhow::Error::msg)?
                    .with_context(|| {
                        format!("{} has no servicing-stack wcp.dll", root.display())
                    })?,
            )
        }
        (None, None) => None,
    };
    let codecs = Codecs { base };
    let single = args.files.len() == 1 && args.out_dir.is_none();
    if !single && args.out_dir.is_none() {
        bail!("several files need --out-dir DIR");
    }
    let mut failed = false;
    for file in &args.files {
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let plain = match codecs.any(&bytes) {
            crate::codec::Decoded::Bytes(b) => b,
            crate::codec::Decoded::Unverifiable(e) | crate::codec::Decoded::Corrupt(e) => {
                eprintln!("sxsaudit: {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let dest = match (&args.out_dir, &args.output) {
            (Some(dir), _) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                Some(dir.join(file.file_name().unwrap_or_default()))
            }
            (None, Some(o)) if o != Path::new("-") => Some(o.clone()),
            _ => None,
        };
        if dest.as_deref().is_some_and(|d| same_file(d, file)) {
            bail!("{}: refusing to overwrite the input", file.display());
        }
        match dest {
            Some(d) => std::fs::write(&d, &plain).map_err(|e| Error::io(&d, e))?,
            None => io::Write::write_all(&mut io::stdout().lock(), &plain)?,
        }
    }
    Ok(if failed {
        exit::UNVERIFIABLE
    } else {
        exit::CLEAN
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn run_audit(args: &AuditArgs) -> anyhow::Result<u8> {
    let config = Config::new(&args.run)?;
    if let Some(dir) = &args.export_source {
        let mut images: Vec<&Path> = vec![args.image.as_path()];
        images.extend(args.source.iter().map(PathBuf::as_path));
        crate::repair::check_export_dir(dir, &images).map_err(Error::Usage)?;
    }
    let image = Image::open(&args.image, args.index)?;
    let sources = open_sources(&image, &args.source)?;
    let mut a = config.audit(&image, args.base.as_deref(), args.quick)?;
    if !sources.is_empty() {
        a.repairs = Some(
            config
                .pool
                .install(|| crate::repair::check(&a.findings, &sources)),
        );
    }
    let mut code = config.outputs.finish(&mut a)?;
    if let Some(r) = &a.repairs {
        if r.any_unrepairable() {
            code |= exit::NO_SOURCE;
        }
        if let Some(dir) = &args.export_source {
            let n = crate::repair::export(r, &sources, dir).map_err(anyhow::Error::msg)?;
            if !config.outputs.quiet() {
                eprintln!("sxsaudit: wrote {n} good payloads to {} (use: DISM /Image:<mount> /Cleanup-Image /RestoreHealth /Source:{}\\Windows /LimitAccess)", dir.display(), dir.display());
            }
        }
    }
    Ok(code)
}

/// Identify an image by what it is on disk, to refuse a source that is the audited image.
fn identity_of(image: &Image) -> String {
    let s = image.input.display().to_string();
    let (file, index) = match s.rsplit_once(':') {
        Some((f, n)) if n.parse::<u32>().is_ok() && Path::new(f).is_file() => {
            (f.to_string(), format!(":{n}"))
        }
        _ => (s.clone(), String::new()),
    };
    let mut canon = Path::new(&file)
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(&file));
    // Name the image by its root, whatever level was given.
    let ups = match image.layout {
        crate::store::Layout::Root => 0,
        crate::store::Layout::Windows => 1,
        crate::store::Layout::Winsxs => 2,
    };
    if index.is_empty() {
        for _ in 0..ups {
            canon.pop();
        }
    }
    format!("{}{index}", canon.display())
}

/// Open the repair sources; a source that is not an image, or is the audited image itself, is
/// an error.
fn open_sources(audited: &Image, paths: &[PathBuf]) -> anyhow::Result<Vec<crate::repair::Source>> {
    let me = identity_of(audited);
    let mut out = Vec::new();
    for p in paths {
        let image = Image::open(p, None).with_context(|| format!("--source {}", p.display()))?;
        if identity_of(&image) == me {
            return Err(Error::Usage(format!(
                "--source {} is the audited image itself: a repair source must be another image",
                p.display()
            ))
            .into());
        }
        let (codecs, _) = codecs_for(&image, None)?;
        out.push(crate::repair::Source {
            label: p.display().to_string(),
            image,
            codecs,
        });
    }
    Ok(out)
}

fn run_compare(args: &CompareArgs) -> anyhow::Result<u8> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .context("cannot start the worker threads")?;
    let a = Image::open(&args.a, None)?;
    let b = Image::open(&args.b, None)?;
    let run = |image: &Image| -> anyhow::Result<Audit> {
        let (codecs, notes) = codecs_for(image, None)?;
        let opts = audit::Options {
            progress: false,
            on_finding: None,
            notes,
            inventory: true,
            quick: false,
        };
        Ok(audit::run(image, &codecs, &opts)?)
    };
    let (ra, rb) = pool.install(|| rayon::join(|| run(&a), || run(&b)));
    let c = crate::compare::compare(&ra?, &rb?);
    let mut buf = Vec::new();
    if args.json {
        c.write_json(&mut buf)?;
    } else {
        c.write_text(&mut buf)?;
    }
    match args
        .output
        .as_ref()
        .filter(|o| o.as_path() != Path::new("-"))
    {
        Some(o) => std::fs::write(o, &buf).map_err(|e| Error::io(o, e))?,
        None => io::Write::write_all(&mut io::stdout().lock(), &buf)?,
    }
    Ok(c.exit_code())
}

fn run_demo(args: &DemoArgs) -> anyhow::Result<u8> {
    let config = Config::new(&args.run)?;
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            if d.exists() && d.read_dir().map(|mut r| r.next().is_some()).unwrap_or(true) {
                bail!(
                    "{} is not empty: give a new or empty folder for the demo image",
                    d.display()
                );
            }
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("sxsaudit-demo-")
                .tempdir()
                .context("cannot create a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let mut spec = if args.clean {
        Spec::clean(args.scale, args.seed)
    } else {
        Spec::demo(args.scale, args.seed)
    };
    spec.compress = !args.plain;
    let built = config
        .pool
        .install(|| demo::build(&dir, &spec))
        .with_context(|| format!("cannot build the demo image in {}", dir.display()))?;
    if !config.outputs.quiet() {
        eprintln!(
            "demo: built {} components, {} payload bytes, {} planted faults in {}",
            built.components.len(),
            built.bytes,
            built.planted.len(),
            dir.display()
        );
    }
    if args.build_only {
        return Ok(exit::CLEAN);
    }
    let image = Image::open_dir(&dir)?;
    let mut a = config.audit(&image, None, false)?;
    config.outputs.finish(&mut a)?;
    let mut found: Vec<demo::Planted> = a
        .findings
        .iter()
        .map(|f| demo::Planted {
            kind: f.kind,
            component: f.component.clone(),
            file: f.file.clone(),
        })
        .collect();
    found.sort();
    if found != built.planted {
        bail!("the audit's findings differ from the planted faults:\n  planted: {:?}\n  found:   {:?}", built.planted, found);
    }
    if !config.outputs.quiet() {
        eprintln!(
            "demo: the audit found exactly the {} planted faults (its own exit status would be {})",
            built.planted.len(),
            a.exit_code()
        );
    }
    Ok(exit::CLEAN)
}

/// The program: parse, run, map errors to exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::CLEAN
            });
        }
    };
    let result = match &cli.command {
        Command::Audit(a) => run_audit(a),
        Command::Demo(d) => run_demo(d),
        Command::Info(i) => crate::info::run(&i.image, i.json),
        Command::Expand(e) => run_expand(e),
        Command::Compare(c) => run_compare(c),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if err.chain().any(|e| {
                e.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(exit::CLEAN);
            }
            eprintln!("sxsaudit: {err:#}");
            let code = err
                .downcast_ref::<Error>()
                .map(Error::exit_code)
                .unwrap_or(exit::INTERNAL);
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
