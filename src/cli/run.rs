//! `capsim run FILE`

use crate::cli::console::{errln, out, outln};
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::simulate;
use crate::report;
use crate::sweep::replicate;

use super::{exit, load_scenario, report_load_error};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario file (YAML, or JSON with a .json extension).
    pub scenario: PathBuf,
    /// Output folder [default: output/<scenario name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed for every random stream [default: the scenario's, else 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Independent replications; headline metrics get 95% confidence intervals.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub replications: u32,
    /// Threads for replications [default: all cores; at most the machine's, see README]. Never changes results.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also write report.md and report.html (the capacity review).
    #[arg(long)]
    pub report: bool,
    /// No progress bar and no summary on the terminal.
    #[arg(long)]
    pub quiet: bool,
    /// Print summary.json on standard output instead of the summary (the files are written as usual).
    #[arg(long)]
    pub json: bool,
    /// Replace the output folder when it holds a previous result.
    #[arg(long)]
    pub force: bool,
    /// Traffic multiples over the run's peak the review plans for, e.g.
    /// 1.5,2,4 [default: the scenario's `growth`, else 1.5,2,4].
    #[arg(long, value_delimiter = ',')]
    pub growth: Option<Vec<f64>>,
}

/// What the review simulates beyond the run: the scaling plan (`plan.json`
/// and each horizon's scenario under `plan/`) and the resilience check
/// (`resilience.json`), both on changed copies of the scenario as read.
/// Returns the files written.
fn simulate_review(
    args: &RunArgs,
    spec: &crate::model::SystemSpec,
    seed: u64,
    results: &[crate::model::RunResult],
    jobs: usize,
    dir: &std::path::Path,
) -> Result<Vec<String>> {
    let name = args.scenario.display().to_string();
    let text = super::read_input(&args.scenario, super::InputKind::Scenario)?;
    let doc = crate::scenario::document(&text, &name, crate::scenario::Format::for_path(&name))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = args.scenario.parent().unwrap_or(std::path::Path::new("."));
    let files = super::FsFiles { base };
    let inputs = report::plan::Inputs {
        doc: &doc,
        base,
        files: &files,
        spec,
        today: &results[0],
        seed,
        replications: args.replications,
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let run = |spec: &crate::model::SystemSpec, seed: u64, n: u32| pool.install(|| replicate(spec, seed, n));

    let analysis = report::analysis::analyze(spec, &results[0]);
    let (plan, scenarios) = report::plan::prove(&inputs, &analysis, &run);
    let (check, fixes) = report::resilience::check(&inputs, &run);
    let mut written = Vec::new();
    for (file, text) in scenarios.iter().chain(&fixes) {
        if let Some(folder) = dir.join(file).parent() {
            std::fs::create_dir_all(folder)?;
        }
        let text = text
            .as_ref()
            .map_err(|e| anyhow::anyhow!("writing {file}: the scenario cannot be written as YAML: {e}"))?;
        report::files::write_atomic(&dir.join(file), text.as_bytes())?;
        written.push(file.clone());
    }
    let mut put = |file: &str, json: String| -> Result<()> {
        report::files::write_atomic(&dir.join(file), (json + "\n").as_bytes())?;
        written.push(file.into());
        Ok(())
    };
    put("plan.json", serde_json::to_string_pretty(&plan)?)?;
    put("resilience.json", serde_json::to_string_pretty(&check)?)?;
    Ok(written)
}

pub fn run(args: RunArgs) -> Result<u8> {
    let jobs = match super::jobs(args.jobs, args.quiet) {
        Ok(jobs) => jobs,
        Err(code) => return Ok(code),
    };
    let mut scenario = match load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(e) => return report_load_error(e),
    };
    if let Some(growth) = &args.growth {
        if let Err(why) = crate::scenario::check_growth(growth) {
            errln!("error: --growth: {why}");
            return Ok(exit::USAGE);
        }
        scenario.spec.growth = growth.clone();
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let spec = &scenario.spec;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&spec.name));
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    // Refused before simulating: a long run must not end on a folder it may not replace.
    let folder = report::files::OutputFolder::create(&out, args.force)?;

    let results = if args.replications == 1 {
        let bar = show_progress.then(|| {
            let bar = ProgressBar::new(spec.duration.0 / 1_000_000_000);
            bar.set_style(
                ProgressStyle::with_template("{spinner} simulated {pos}/{len} s [{bar:30}] {elapsed} (eta {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        let mut progress = |t: crate::engine::SimTime| {
            if let Some(bar) = &bar {
                bar.set_position(t.0 / 1_000_000_000);
            }
        };
        let result = simulate(spec, seed, 0, &mut progress);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        vec![result]
    } else {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
        pool.install(|| replicate(spec, seed, args.replications))
    };

    let mut written = report::write_run(folder.path(), spec, &results)?;
    if args.report {
        written.extend(simulate_review(&args, spec, seed, &results, jobs, folder.path())?);
        report::review::write_report(folder.path())?;
        written.extend(["report.md".to_string(), "report.html".to_string()]);
    }
    let json = super::json_output(args.json, folder.path(), "summary.json")?;
    folder.publish(&[])?;
    if !super::print_json(json) && !args.quiet {
        out!("{}", report::human_summary(&results));
        outln!("wrote {} files to {}", written.len(), out.display());
        outln!("seed: {seed} (rerun with --seed {seed})");
    }
    Ok(exit::OK)
}
