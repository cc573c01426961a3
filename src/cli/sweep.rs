//! `capsim sweep FILE`

use crate::cli::console::{errln, outln};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use std::fmt::Write as _;

use crate::engine::{StableHasher, stable_hash};
use crate::report::format::{self, count};
use crate::report::shard::{ShardFile, ShardObjective, ShardPoint, ShardUnit, write_shard};
use crate::report::sweep::{summarize, write_sweep};
use crate::scenario::SourceFiles as _;
use crate::scenario::{self, Format};
use crate::sweep::grid::{MAX_RUNS, RawSweep, expand_with};
use std::collections::BTreeMap;

use crate::report::checkpoint::{check_points, load_units, save_unit};
use crate::report::files::{self, OutputFolder, write_atomic};
use crate::sweep::{point_seed, run_units_with, shard_units, swept_hpa};

use super::input::InputKind;
use super::{FsFiles, RunsBar, exit, read_text, report_load_error};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Sweep file (YAML or JSON): a base scenario and the fields to vary.
    pub sweep: PathBuf,
    /// Output folder [default: output/<sweep file name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Threads [default: all cores; at most the machine's, see README]. Never changes results.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Give every point its own random numbers instead of common ones.
    #[arg(long)]
    pub no_crn: bool,
    /// Ignore units a previous, interrupted run of this sweep left in `<out>/.units`.
    #[arg(long)]
    pub fresh: bool,
    /// Run only shard I of N (0-based), e.g. `--shard 2/8`; also read from
    /// CAPSIM_SHARD. Writes shard.json for `capsim merge`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Also write report.md and report.html (not with --shard: report on the merged folder).
    #[arg(long)]
    pub report: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Print sweep.json on standard output instead of the summary (the files are written as usual).
    #[arg(long, conflicts_with = "shard")]
    pub json: bool,
    /// Replace the output folder when it holds another sweep's result
    /// (a folder of this same sweep is resumed, or rerun with --fresh).
    #[arg(long)]
    pub force: bool,
    /// Check the sweep and print the runs it would make and about how long
    /// they would take (from a timed trial of point 0); write nothing.
    #[arg(long, conflicts_with_all = ["shard", "report", "fresh", "force", "json"])]
    pub dry_run: bool,
}

/// `I/N` with `I < N`.
fn parse_shard(text: &str) -> Option<(usize, usize)> {
    let (i, n) = text.split_once('/')?;
    let (i, n): (usize, usize) = (i.trim().parse().ok()?, n.trim().parse().ok()?);
    (n > 0 && i < n).then_some((i, n))
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard folders, or folders that hold them.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Where the merged sweep goes.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output folder when it holds a previous result.
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

pub fn merge(args: MergeArgs) -> Result<u8> {
    let folder = OutputFolder::create(&args.out, args.force)?;
    let n = crate::report::shard::merge(&args.shards, folder.path())?;
    folder.publish(&[])?;
    if !args.quiet {
        outln!("merged {n} shards into {}", args.out.display());
    }
    Ok(exit::OK)
}

fn invalid(file: &Path, message: String) -> u8 {
    errln!("error: {}: {}", file.display(), scenario::quote_safely(&message));
    exit::INVALID_SCENARIO
}

/// A sweep file read and checked: its base, every point validated as a
/// scenario, its objective's metrics known. Nothing has run.
pub(super) struct Prepared {
    /// The sweep file's text and its base scenario's, for the checkpoint key.
    text: String,
    base_text: String,
    raw: RawSweep,
    points: Vec<crate::sweep::grid::Point>,
    /// Each point's validated spec and seed.
    specs: Vec<(crate::model::SystemSpec, u64)>,
    replications: u32,
    crn: bool,
}

impl Prepared {
    /// `N points × R replications = K runs`.
    pub(super) fn shape(&self) -> String {
        format!(
            "{} × {} = {}",
            count(self.points.len(), "point"),
            count(self.replications as usize, "replication"),
            count(self.points.len() * self.replications as usize, "run")
        )
    }

    pub(super) fn base(&self) -> &str {
        &self.raw.base
    }

    /// How much the sweep simulates, and about how long it takes on `jobs`
    /// threads (0: one per core). The cost of a run is measured, not
    /// modelled: point 0 is run on its own over a growing first slice of its
    /// simulated time until the slice takes a quarter of a second (or is the
    /// whole run), and every run is scaled from it by its expected number
    /// of requests (the traffic curve's integral). Points that differ in
    /// what a request costs (a cache, a slower instance type) make it rough.
    pub(super) fn estimate(&self, jobs: usize) -> String {
        use crate::engine::SimDuration;
        use std::time::{Duration, Instant};
        let runs = self.points.len() * self.replications as usize;
        let simulated: f64 =
            self.specs.iter().map(|(s, _)| s.duration.as_secs_f64()).sum::<f64>() * f64::from(self.replications);
        let requests: f64 = self
            .specs
            .iter()
            .map(|(s, _)| expected_requests(s, s.duration))
            .sum::<f64>()
            * f64::from(self.replications);
        let (spec, seed) = &self.specs[0];
        let full = spec.duration;
        let mut slice = SimDuration(full.0 / 64).max(SimDuration::from_secs(60)).min(full);
        let (slice, wall) = loop {
            let mut trial = spec.clone();
            trial.duration = slice;
            let start = Instant::now();
            let _ = crate::model::simulate(&trial, *seed, 0, &mut |_| {});
            let wall = start.elapsed();
            if wall >= Duration::from_millis(250) || slice >= full {
                break (slice, wall.as_secs_f64());
            }
            slice = SimDuration(slice.0.saturating_mul(4)).min(full);
        };
        let trial_requests = expected_requests(spec, slice);
        let per_request = if trial_requests > 0.0 {
            wall / trial_requests
        } else {
            0.0
        };
        let threads = match jobs {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .min(runs)
        .max(1);
        let seconds = per_request * requests / threads as f64;
        let requests_text = if requests >= 1e6 {
            format!("{} million", format::short((requests / 1e5).round() / 10.0))
        } else {
            format::short(requests.round())
        };
        format!(
            "{} of simulated time, about {requests_text} requests; about {} on {} \
             (timed: point 0's first {} took {} on one thread)",
            format::duration_words(simulated),
            format::rough_duration_words(seconds.max(1.0)),
            count(threads, "thread"),
            format::duration_words(slice.as_secs_f64()),
            format::rough_duration_words(wall),
        )
    }
}

/// The requests `spec`'s traffic curve sends in its first `until` of
/// simulated time: the curve's integral, by the midpoint rule over at most
/// 100,000 steps.
fn expected_requests(spec: &crate::model::SystemSpec, until: crate::engine::SimDuration) -> f64 {
    let end = until.as_secs_f64();
    let steps = (end.ceil() as usize).clamp(1, 100_000);
    let dt = end / steps as f64;
    (0..steps)
        .map(|i| spec.traffic.curve.rate_at((i as f64 + 0.5) * dt).max(0.0) * dt)
        .sum()
}

/// Reads and checks the sweep file `path` (every point through the
/// scenario validation, the objective's metrics against those the points
/// report) and prints its problems. `Err` carries what the command returns
/// then: an exit code, or an error reading a file.
pub(super) fn prepare(path: &Path, no_crn: bool) -> Result<Prepared, Result<u8>> {
    let text = read_text(path, "sweep", InputKind::Sweep).map_err(report_load_error)?;
    let name = path.display().to_string();
    let raw: RawSweep = scenario::parse_file(&text, &name, Format::for_path(&name)).map_err(|e| {
        errln!("error: {e}");
        Ok(exit::INVALID_SCENARIO)
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let base_path = dir.join(&raw.base);
    let base_text = read_text(&base_path, "base scenario", InputKind::Scenario).map_err(report_load_error)?;
    let base_name = base_path.display().to_string();
    let base = scenario::document(&base_text, &base_name, Format::for_path(&base_name)).map_err(|e| {
        errln!("error: {e}");
        Ok(exit::INVALID_SCENARIO)
    })?;
    // Paths into a manifest (`…hpa.manifest.spec.minReplicas`) read it as
    // the scenario would, relative to the base scenario.
    let files = FsFiles {
        base: base_path.parent().unwrap_or(Path::new(".")),
    };
    let mut load_manifest = |file: &str| -> Result<serde_json::Value, String> {
        let text = files
            .read_as(file, scenario::SourceKind::Manifest)
            .map_err(|why| format!("cannot read manifest `{file}`: {why}"))?;
        scenario::document(&text, file, Format::for_path(file)).map_err(|e| e.to_string())
    };
    let points = expand_with(&base, &raw, &mut load_manifest).map_err(|message| Ok(invalid(path, message)))?;
    let replications = raw.replications.unwrap_or(1).max(1);
    if points.len() * replications as usize > MAX_RUNS {
        let message = format!(
            "{} points × {replications} replications = {} runs; at most {MAX_RUNS}",
            points.len(),
            points.len() * replications as usize
        );
        return Err(Ok(invalid(path, message)));
    }
    let crn = raw.common_random_numbers.unwrap_or(true) && !no_crn;
    // Every point goes through the scenario validation; a bad one is named.
    let mut specs = Vec::with_capacity(points.len());
    let mut problems = Vec::new();
    // A warning shared by many points is printed once, for the first.
    let mut warned = std::collections::BTreeSet::new();
    for p in &points {
        match scenario::load_document(&p.document, &format!("{name} point {} ({})", p.index, p.name), &files) {
            Ok(s) => {
                for w in &s.warnings {
                    if warned.insert((w.path.clone(), w.message.clone())) {
                        errln!("warning: {w}");
                    }
                }
                let seed = point_seed(raw.seed.unwrap_or(s.seed), p.index, crn);
                specs.push((s.spec, seed));
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty()
        && let Some(objective) = &raw.objective
    {
        let known = crate::report::sweep::possible_metrics(&specs);
        problems.extend(
            crate::report::sweep::objective_problems(objective, &known)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
    }
    if !problems.is_empty() {
        for p in problems {
            errln!("error: {p}");
        }
        return Err(Ok(exit::INVALID_SCENARIO));
    }
    Ok(Prepared {
        text,
        base_text,
        raw,
        points,
        specs,
        replications,
        crn,
    })
}

pub fn sweep(args: SweepArgs) -> Result<u8> {
    let jobs = match super::jobs(args.jobs, args.quiet) {
        Ok(jobs) => jobs,
        Err(code) => return Ok(code),
    };
    let prepared = match prepare(&args.sweep, args.no_crn) {
        Ok(prepared) => prepared,
        Err(end) => return end,
    };
    if args.dry_run {
        outln!("{}: ok ({})", args.sweep.display(), prepared.shape());
        outln!("{}", prepared.estimate(jobs));
        return Ok(exit::OK);
    }
    let Prepared {
        text,
        base_text,
        raw,
        points,
        specs,
        replications,
        crn,
    } = prepared;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    // The default folder is named after the file, in the characters a
    // scenario name may use (anything else becomes `_`); `sweep` when none is left.
    let stem: String = args
        .sweep
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let stem = if stem.chars().all(|c| c == '_') {
        "sweep".to_string()
    } else {
        stem
    };
    let shard = args.shard.clone().or_else(|| std::env::var("CAPSIM_SHARD").ok());
    if let Some(shard_text) = shard {
        let Some((index, count)) = parse_shard(&shard_text) else {
            errln!("error: --shard `{shard_text}`: expected I/N with 0 ≤ I < N, e.g. 0/4");
            return Ok(exit::USAGE);
        };
        let units = shard_units(points.len(), replications, index, count);
        let bar = RunsBar::new(&specs, &units, args.quiet);
        let record = |unit: (usize, u32), r: crate::model::RunResult| {
            bar.finished();
            ShardUnit::of(unit, &r)
        };
        let records = pool.install(|| run_units_with(&specs, &units, &|step| bar.advanced(step), &record));
        bar.clear();
        let shard_file = ShardFile {
            capsim_version: env!("CARGO_PKG_VERSION").to_string(),
            sweep_hash: format!("{:016x}", stable_hash(text.as_bytes())),
            base_hash: format!("{:016x}", stable_hash(base_text.as_bytes())),
            base: raw.base.clone(),
            replications,
            common_random_numbers: crn,
            shard: index,
            shards: count,
            objective: raw.objective.as_ref().map(|o| ShardObjective {
                minimize: o.minimize.clone(),
                constraints: o.constraints.iter().map(|c| (c.metric.clone(), c.max, c.min)).collect(),
            }),
            points: points
                .iter()
                .zip(&specs)
                .map(|(p, (spec, seed))| ShardPoint {
                    index: p.index,
                    name: p.name.clone(),
                    settings: p.settings.clone(),
                    seed: *seed,
                    hpa: swept_hpa(spec, &p.settings),
                })
                .collect(),
            units: records,
            hash: String::new(),
        }
        .seal();
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("output")
                .join(&stem)
                .join(format!("shard-{index}-of-{count}"))
        });
        let folder = OutputFolder::create(&out, args.force)?;
        write_shard(folder.path(), &shard_file)?;
        folder.publish(&[])?;
        if !args.quiet {
            outln!(
                "shard {index}/{count}: {} runs written to {}",
                units.len(),
                out.display()
            );
        }
        return Ok(exit::OK);
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("output").join(stem));
    // Every finished unit is checkpointed in `.units/`, so a killed sweep
    // resumes where it stopped; the key keeps another sweep's units out.
    // It covers the validated points too, so a file the base refers to (an
    // HPA manifest, a replay CSV) edited between two runs is a new sweep.
    let mut points_hash = StableHasher::default();
    write!(points_hash, "{specs:?}").expect("hashing cannot fail");
    let key = format!(
        "{} {:016x} {:016x} {:016x} {crn} {replications}",
        env!("CARGO_PKG_VERSION"),
        stable_hash(text.as_bytes()),
        stable_hash(base_text.as_bytes()),
        points_hash.0
    );
    // Each unit with the checkpoint file it was read from (none when computed now).
    let mut done: BTreeMap<(usize, u32), (ShardUnit, Option<PathBuf>)> = BTreeMap::new();
    // Only a folder capsim wrote can hold this sweep's checkpoint.
    let resolved = files::resolve(&out)?;
    let same_sweep = files::is_capsim_output(&resolved)
        && std::fs::read_to_string(resolved.join(".units").join("key")).is_ok_and(|k| k == key);
    let mut folder = OutputFolder::create(&resolved, args.force || same_sweep)?;
    let checkpoint = folder.live_subfolder(".units")?;
    let key_file = checkpoint.join("key");
    if !args.fresh && same_sweep {
        for (unit, (record, file)) in load_units(&checkpoint, points.len(), replications)? {
            done.insert(unit, (record, Some(file)));
        }
    } else {
        std::fs::remove_dir_all(&checkpoint).with_context(|| format!("clearing {}", checkpoint.display()))?;
        std::fs::create_dir(&checkpoint).with_context(|| format!("creating {}", checkpoint.display()))?;
        write_atomic(&key_file, key.as_bytes())?;
    }
    let todo: Vec<(usize, u32)> = shard_units(points.len(), replications, 0, 1)
        .into_iter()
        .filter(|u| !done.contains_key(u))
        .collect();
    let reused = done.len();
    let bar = RunsBar::new(&specs, &todo, args.quiet);
    let save = |unit: (usize, u32), r: crate::model::RunResult| {
        let record = ShardUnit::of(unit, &r);
        // A unit that cannot be saved is simply run again on resume.
        let _ = save_unit(&checkpoint, &record);
        bar.finished();
        record
    };
    let records = pool.install(|| run_units_with(&specs, &todo, &|step| bar.advanced(step), &save));
    bar.clear();
    for (unit, record) in todo.iter().zip(records) {
        done.insert(*unit, (record, None));
    }
    // Aggregate from the recorded values, so a resumed sweep writes the same
    // bytes; the units read back must report their point's metrics.
    let checked: Vec<Vec<(&ShardUnit, Option<&Path>)>> = (0..points.len())
        .map(|p| {
            (0..replications)
                .map(|r| {
                    let (unit, file) = &done[&(p, r)];
                    (unit, file.as_deref())
                })
                .collect()
        })
        .collect();
    check_points(&checked)?;
    let units: Vec<Vec<&ShardUnit>> = checked
        .iter()
        .map(|runs| runs.iter().map(|(unit, _)| *unit).collect())
        .collect();
    let seeds: Vec<u64> = specs.iter().map(|(_, s)| *s).collect();
    let summaries = summarize(&points, &seeds, &units)?;
    let manifests: Vec<Vec<(String, String)>> = points
        .iter()
        .zip(&specs)
        .map(|(p, (spec, _))| swept_hpa(spec, &p.settings))
        .collect();
    let answer = write_sweep(
        folder.path(),
        &raw.base,
        replications,
        crn,
        &summaries,
        &manifests,
        raw.objective.as_ref(),
    )?;
    if args.report {
        crate::report::review::write_report(folder.path())?;
    }
    // The checkpoint stays with the result: rerunning the same sweep reuses every run.
    let json = super::json_output(args.json, folder.path(), "sweep.json")?;
    folder.publish(&[".units"])?;
    if !super::print_json(json) && !args.quiet {
        outln!(
            "{} × {} written to {} ({} computed, {reused} reused)",
            count(points.len(), "point"),
            count(replications as usize, "replication"),
            out.display(),
            count(todo.len(), "run")
        );
        match (answer.recommended, &raw.objective) {
            (Some(i), Some(o)) => {
                outln!(
                    "recommended: point {i} ({}), the lowest {} meeting every constraint at its 95% CI bound",
                    points[i].name,
                    o.minimize
                );
                let named = |list: &[usize]| {
                    list.iter()
                        .map(|&k| format!("{k} ({})", points[k].name))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if !answer.identical.is_empty() {
                    outln!(
                        "  identical results (the settings they differ in changed nothing): {}",
                        named(&answer.identical)
                    );
                }
                let tied: Vec<usize> = answer
                    .tied
                    .iter()
                    .copied()
                    .filter(|k| !answer.identical.contains(k))
                    .collect();
                if !tied.is_empty() {
                    outln!(
                        "  within the 95% CI of its {} (more replications would tell them apart): {}",
                        o.minimize,
                        named(&tied)
                    );
                }
                for (pool, _) in &manifests[i] {
                    outln!(
                        "  its HPA for pool {pool}: {}",
                        out.join(format!("recommended-hpa-{pool}.yaml")).display()
                    );
                }
            }
            (None, Some(_)) => outln!("no point meets every constraint at its 95% CI bound"),
            _ => {}
        }
        for path in &answer.never_binding {
            outln!("{path} never changed a result: every value gave the same runs");
        }
    }
    Ok(exit::OK)
}
