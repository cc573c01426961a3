//! `capsim sweep FILE`

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::report::sweep::{headlines, summarize, write_sweep};
use crate::scenario::{self, Format};
use crate::sweep::grid::{MAX_RUNS, RawSweep, expand};
use crate::sweep::{point_seed, run_points};

use super::{FsFiles, exit};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Sweep file (YAML or JSON): a base scenario and the fields to vary.
    pub sweep: PathBuf,
    /// Output folder [default: output/<sweep file name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Threads [default: all cores]. Never changes results.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Give every point its own random numbers instead of common ones.
    #[arg(long)]
    pub no_crn: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

fn invalid(file: &Path, message: String) -> u8 {
    eprintln!("error: {}: {message}", file.display());
    exit::INVALID_SCENARIO
}

pub fn sweep(args: SweepArgs) -> Result<u8> {
    let text =
        std::fs::read_to_string(&args.sweep).with_context(|| format!("reading sweep {}", args.sweep.display()))?;
    let name = args.sweep.display().to_string();
    let raw: RawSweep = match scenario::parse_file(&text, &name, Format::for_path(&name)) {
        Ok(raw) => raw,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::INVALID_SCENARIO);
        }
    };
    let dir = args.sweep.parent().unwrap_or(Path::new("."));
    let base_path = dir.join(&raw.base);
    let base_text = std::fs::read_to_string(&base_path)
        .with_context(|| format!("reading base scenario {}", base_path.display()))?;
    let base_name = base_path.display().to_string();
    let base = match scenario::document(&base_text, &base_name, Format::for_path(&base_name)) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::INVALID_SCENARIO);
        }
    };
    let points = match expand(&base, &raw) {
        Ok(p) => p,
        Err(message) => return Ok(invalid(&args.sweep, message)),
    };
    let replications = raw.replications.unwrap_or(1).max(1);
    if points.len() * replications as usize > MAX_RUNS {
        let message = format!(
            "{} points × {replications} replications = {} runs; at most {MAX_RUNS}",
            points.len(),
            points.len() * replications as usize
        );
        return Ok(invalid(&args.sweep, message));
    }
    let crn = raw.common_random_numbers.unwrap_or(true) && !args.no_crn;
    // Every point goes through the scenario validation; a bad one is named.
    let files = FsFiles {
        base: base_path.parent().unwrap_or(Path::new(".")),
    };
    let mut specs = Vec::with_capacity(points.len());
    let mut problems = Vec::new();
    for p in &points {
        match scenario::load_document(&p.document, &format!("{name} point {} ({})", p.index, p.name), &files) {
            Ok(s) => {
                let seed = point_seed(raw.seed.unwrap_or(s.seed), p.index, crn);
                specs.push((s.spec, seed));
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        for p in problems {
            eprintln!("error: {p}");
        }
        return Ok(exit::INVALID_SCENARIO);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()?;
    let results = pool.install(|| run_points(&specs, replications));
    let seeds: Vec<u64> = specs.iter().map(|(_, s)| *s).collect();
    let summaries = summarize(&points, &seeds, &headlines(&results));
    let stem = args
        .sweep
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("output").join(stem));
    let recommended = write_sweep(&out, &raw.base, replications, crn, &summaries, raw.objective.as_ref())?;
    if !args.quiet {
        println!(
            "{} points × {replications} replications written to {}",
            points.len(),
            out.display()
        );
        match (recommended, &raw.objective) {
            (Some(i), Some(o)) => println!(
                "recommended: point {i} ({}), the lowest {} meeting every constraint",
                points[i].name, o.minimize
            ),
            (None, Some(_)) => println!("no point meets every constraint"),
            _ => {}
        }
    }
    Ok(exit::OK)
}
