//! The command line, thin over the library: clap types and one file per
//! subcommand.

mod compare;
mod completions;
mod console;
mod export_hpa;
mod headroom;
mod import_hpa;
mod input;
mod report;
mod run;
mod sweep;
mod validate;

use std::path::Path;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::cli::console::errln;
use crate::scenario::{self, Format, Problem, Scenario, ScenarioError, SourceFiles, SourceKind};
use input::{InputKind, ReadError, read_input};

/// Exit codes (documented in README.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const RUNTIME: u8 = 1;
    /// Clap's own code for bad usage.
    pub const USAGE: u8 = 2;
    /// An invalid scenario or sweep, or a shard or sweep checkpoint that
    /// fails its checks: running again will not help.
    pub const INVALID_SCENARIO: u8 = 3;
}

#[derive(Parser, Debug)]
#[command(
    name = "capsim",
    version,
    about = "Discrete-event capacity simulator",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and write summary.json, timeseries.csv, events.csv and charts.
    Run(run::RunArgs),
    /// Check scenario files without running them.
    Validate(validate::ValidateArgs),
    /// Print a pool's HPA as a Kubernetes manifest (autoscaling/v2).
    ExportHpa(export_hpa::ExportHpaArgs),
    /// Print a Kubernetes HPA manifest as a pool's `autoscaler:` in capsim's spelling.
    ImportHpa(import_hpa::ImportHpaArgs),
    /// Run a scenario over a grid of settings, in parallel; write sweep.csv/json.
    Sweep(sweep::SweepArgs),
    /// Join the shards of a sweep into the files the whole sweep would write.
    Merge(sweep::MergeArgs),
    /// Run scenarios on the same traffic and report paired differences.
    Compare(compare::CompareArgs),
    /// Scale a scenario's traffic up step by step: where does the SLO break, and what breaks it?
    Headroom(headroom::HeadroomArgs),
    /// Write report.md and report.html for a run, compare, sweep or headroom output folder.
    Report(report::ReportArgs),
    /// Print a completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(completions::CompletionsArgs),
}

/// Reads the files a scenario refers to relative to its folder, each
/// within its kind's limit.
struct FsFiles<'a> {
    base: &'a Path,
}

impl SourceFiles for FsFiles<'_> {
    /// A file of unknown kind gets the largest limit.
    fn read(&self, path: &str) -> Result<String, String> {
        self.read_as(path, SourceKind::Replay)
    }

    fn read_as(&self, path: &str, kind: SourceKind) -> Result<String, String> {
        let kind = match kind {
            SourceKind::Replay => InputKind::Replay,
            SourceKind::Manifest => InputKind::Manifest,
        };
        read_input(&self.base.join(path), kind).map_err(|e| e.to_string())
    }
}

/// An input file that cannot be used: as a problem (exit 3) when the file
/// itself is unacceptable (too large, not UTF-8), else as an error (exit 1).
fn unreadable(path: &Path, what: &str, err: ReadError) -> LoadError {
    if err.is_invalid_input() {
        let at = err.position();
        LoadError::Invalid(ScenarioError {
            problems: vec![Problem {
                file: path.display().to_string(),
                line: at.map(|p| p.0),
                column: at.map(|p| p.1),
                path: String::new(),
                message: err.unplaced(),
            }],
        })
    } else {
        LoadError::Io(anyhow::Error::new(err).context(format!("reading {what} {}", path.display())))
    }
}

/// Reads an input file of `kind`, for commands that parse it themselves.
fn read_text(path: &Path, what: &str, kind: InputKind) -> Result<String, LoadError> {
    read_input(path, kind).map_err(|e| unreadable(path, what, e))
}

/// A scenario that could not be read or is invalid.
pub enum LoadError {
    Io(anyhow::Error),
    Invalid(ScenarioError),
}

/// Reads and validates a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, LoadError> {
    let text = read_text(path, "scenario", InputKind::Scenario)?;
    let name = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new("."));
    let scenario =
        scenario::load(&text, &name, Format::for_path(&name), &FsFiles { base }).map_err(LoadError::Invalid)?;
    for w in &scenario.warnings {
        errln!("warning: {w}");
    }
    Ok(scenario)
}

/// Runs the parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate(args) => validate::validate(args),
        Command::ExportHpa(args) => export_hpa::export_hpa(args),
        Command::ImportHpa(args) => import_hpa::import_hpa(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => sweep::merge(args),
        Command::Compare(args) => compare::compare(args),
        Command::Headroom(args) => headroom::headroom(args),
        Command::Report(args) => report::report(args),
        Command::Completions(args) => completions::completions(args),
    };
    let code = match result {
        Ok(code) => code,
        Err(err) => {
            errln!("error: {err:#}");
            if err.downcast_ref::<crate::report::shard::InvalidRecord>().is_some() {
                exit::INVALID_SCENARIO
            } else {
                exit::RUNTIME
            }
        }
    };
    // A closed reader (`| head`) is not a failure; a write that failed
    // for another reason is, when nothing else went wrong.
    console::flush();
    match console::failure() {
        Some(why) if code == exit::OK => {
            errln!("error: {why}");
            exit::RUNTIME
        }
        _ => code,
    }
}

/// Set to `1` to let `--jobs` start more threads than the machine runs at once.
pub const OVERSUBSCRIBE_VAR: &str = "CAPSIM_OVERSUBSCRIBE";

/// The most threads `--jobs` starts, even when oversubscribing.
pub const MAX_JOBS: usize = 1024;

/// The thread count for `--jobs` (0: rayon's default, one per hardware
/// thread), or the exit code of a usage error. Results never depend on the
/// thread count, so more threads than the machine runs at once are lowered
/// to that with a note, unless `CAPSIM_OVERSUBSCRIBE=1` asks for them (up
/// to [`MAX_JOBS`]).
pub fn jobs(requested: Option<usize>, quiet: bool) -> Result<usize, u8> {
    let Some(n) = requested.filter(|&n| n > 0) else {
        return Ok(0);
    };
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    if n <= cores {
        return Ok(n);
    }
    if std::env::var(OVERSUBSCRIBE_VAR).is_ok_and(|v| v == "1") {
        if n > MAX_JOBS {
            errln!("error: --jobs {n}: at most {MAX_JOBS} threads, even with {OVERSUBSCRIBE_VAR}=1");
            return Err(exit::USAGE);
        }
        return Ok(n);
    }
    if !quiet {
        errln!(
            "note: --jobs {n} is more than the {cores} threads this machine runs at once; using {cores} \
             (results are the same at any thread count; {OVERSUBSCRIBE_VAR}=1 starts more)"
        );
    }
    Ok(cores)
}

/// A progress bar over the simulated time of every unit a command runs,
/// moving as the running units advance (so a sweep of a few long runs is
/// not stuck at 0/16), with the runs finished and an ETA. Shown only on a
/// terminal and never with `--quiet`; it draws on stderr, so files and
/// stdout are unchanged, and the runs never see it.
pub struct RunsBar {
    bar: Option<indicatif::ProgressBar>,
    runs: usize,
    finished: std::sync::atomic::AtomicUsize,
}

impl RunsBar {
    /// A bar for the `units` of `specs` (`(spec index, replication)`).
    pub fn new(specs: &[(crate::model::SystemSpec, u64)], units: &[(usize, u32)], quiet: bool) -> RunsBar {
        use std::io::IsTerminal;
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let total: u64 = units.iter().map(|&(p, _)| specs[p].0.duration.0 / MILLIS).sum();
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} runs {msg} [{bar:30}] {percent}% of simulated time, {elapsed} (eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(format!("0/{}", units.len()));
            bar
        });
        RunsBar {
            bar,
            runs: units.len(),
            finished: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// A running unit advanced by `step` of simulated time.
    pub fn advanced(&self, step: crate::engine::SimDuration) {
        if let Some(bar) = &self.bar {
            bar.inc(step.0 / MILLIS);
        }
    }

    /// A unit finished.
    pub fn finished(&self) {
        let done = self.finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{done}/{}", self.runs));
        }
    }

    /// Clears the bar from the terminal.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The bar counts simulated milliseconds.
const MILLIS: u64 = 1_000_000;

/// Runs `replications` replications of every `(spec, seed)` in parallel on
/// `jobs` threads (see [`jobs`]; a runs bar on a terminal) and returns them
/// grouped by spec, in replication order.
pub fn run_replications(
    specs: &[(crate::model::SystemSpec, u64)],
    replications: u32,
    jobs: usize,
    quiet: bool,
) -> Result<Vec<Vec<crate::model::RunResult>>> {
    let units: Vec<(usize, u32)> = (0..specs.len())
        .flat_map(|s| (0..replications).map(move |r| (s, r)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let bar = RunsBar::new(specs, &units, quiet);
    let tick = |_: (usize, u32), r: crate::model::RunResult| {
        bar.finished();
        r
    };
    let mut results = pool
        .install(|| crate::sweep::run_units_with(specs, &units, &|step| bar.advanced(step), &tick))
        .into_iter();
    bar.clear();
    Ok((0..specs.len())
        .map(|_| results.by_ref().take(replications as usize).collect())
        .collect())
}

/// For `--json`: output file `file` of the folder being written, read
/// before the folder is published (so it is the file this command wrote).
fn json_output(wanted: bool, folder: &Path, file: &str) -> Result<Option<String>> {
    use anyhow::Context as _;
    let path = folder.join(file);
    wanted
        .then(|| std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display())))
        .transpose()
}

/// Prints what [`json_output`] read, once the folder is in place; true when
/// it printed (the summary is then left out).
fn print_json(text: Option<String>) -> bool {
    let Some(text) = text else {
        return false;
    };
    console::out!("{text}");
    if !text.ends_with('\n') {
        console::outln!();
    }
    true
}

/// Prints a load error and returns its exit code.
pub fn report_load_error(err: LoadError) -> Result<u8> {
    match err {
        LoadError::Io(e) => Err(e),
        LoadError::Invalid(e) => {
            errln!("error: {e}");
            Ok(exit::INVALID_SCENARIO)
        }
    }
}
