//! The command line: clap-derive arguments that only validate, turned once into a resolved
//! [`Config`] (thread pool, report sinks), then dispatched. `main.rs` only calls [`main`].

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
    #[command(flatten)]
    run: RunArgs,
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
        let pool = rayon::ThreadPoolBuilder::new().num_threads(run.threads).build().context("cannot start the worker threads")?;
        Ok(Config { outputs: run.out.resolve()?, pool })
    }

    fn audit(&self, image: &Image, base: Option<&Path>) -> anyhow::Result<Audit> {
        let (codecs, notes) = codecs_for(image, base)?;
        let opts = audit::Options { progress: self.outputs.progress(), on_finding: self.outputs.observer(), notes, inventory: false };
        Ok(self.pool.install(|| audit::run(image, &codecs, &opts))?)
    }
}

/// The decoding context of an image: the base manifest from `--base` or from the image.
fn codecs_for(image: &Image, base: Option<&Path>) -> anyhow::Result<(Codecs, Vec<String>)> {
    let mut notes = Vec::new();
    let base = match base {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            Some(crate::store::base::from_file_bytes(bytes, path.display().to_string()).map_err(|e| Error::Usage(format!("--base {}: {e}", path.display())))?)
        }
        None => match crate::store::base::find(image) {
            Ok(b) => b,
            Err(e) => {
                notes.push(format!("the servicing stack's base manifest could not be read: {e}"));
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
            Some(crate::store::base::from_file_bytes(bytes, p.display().to_string()).map_err(|e| Error::Usage(format!("--base {}: {e}", p.display())))?)
        }
        (None, Some(root)) => {
            let image = Image::open(root, None)?;
            Some(crate::store::base::find(&image).map_err(anyhow::Error::msg)?.with_context(|| format!("{} has no servicing-stack wcp.dll", root.display()))?)
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
    Ok(if failed { exit::UNVERIFIABLE } else { exit::CLEAN })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn run_audit(args: &AuditArgs) -> anyhow::Result<u8> {
    let config = Config::new(&args.run)?;
    let image = Image::open(&args.image, args.index)?;
    let mut a = config.audit(&image, args.base.as_deref())?;
    config.outputs.finish(&mut a)
}

fn run_demo(args: &DemoArgs) -> anyhow::Result<u8> {
    let config = Config::new(&args.run)?;
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            if d.exists() && d.read_dir().map(|mut r| r.next().is_some()).unwrap_or(true) {
                bail!("{} is not empty: give a new or empty folder for the demo image", d.display());
            }
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("sxsaudit-demo-").tempdir().context("cannot create a temporary folder")?;
            temp.path().to_path_buf()
        }
    };
    let spec = if args.clean { Spec::clean(args.scale, args.seed) } else { Spec::demo(args.scale, args.seed) };
    let built = config.pool.install(|| demo::build(&dir, &spec)).with_context(|| format!("cannot build the demo image in {}", dir.display()))?;
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
    let mut a = config.audit(&image, None)?;
    config.outputs.finish(&mut a)?;
    let mut found: Vec<demo::Planted> = a.findings.iter().map(|f| demo::Planted { kind: f.kind, component: f.component.clone(), file: f.file.clone() }).collect();
    found.sort();
    if found != built.planted {
        bail!("the audit's findings differ from the planted faults:\n  planted: {:?}\n  found:   {:?}", built.planted, found);
    }
    if !config.outputs.quiet() {
        eprintln!("demo: the audit found exactly the {} planted faults (its own exit status would be {})", built.planted.len(), a.exit_code());
    }
    Ok(exit::CLEAN)
}

/// The program: parse, run, map errors to exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::CLEAN });
        }
    };
    let result = match &cli.command {
        Command::Audit(a) => run_audit(a),
        Command::Demo(d) => run_demo(d),
        Command::Info(i) => crate::info::run(&i.image, i.json),
        Command::Expand(e) => run_expand(e),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if err.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)) {
                return ExitCode::from(exit::CLEAN);
            }
            eprintln!("sxsaudit: {err:#}");
            let code = err.downcast_ref::<Error>().map(Error::exit_code).unwrap_or(exit::INTERNAL);
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
