//! `capsim compare A.yaml B.yaml [C.yaml …]`

use crate::cli::console::{out, outln};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::report::compare::{Contender, compare_table, difference_line, write_compare};
use crate::report::files::OutputFolder;
use crate::report::write_run;

use super::{exit, load_scenario, report_load_error, run_replications};

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Scenario files; the first is the baseline the others are measured against.
    #[arg(required = true, num_args = 2..)]
    pub scenarios: Vec<PathBuf>,
    /// Output folder [default: output/compare-<first>-vs-<second>…].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed shared by every scenario [default: the first scenario's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Paired replications per scenario.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub replications: u32,
    /// Threads [default: all cores; at most the machine's, see README]. Never changes results.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also write report.md and report.html into the output folder.
    #[arg(long)]
    pub report: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Print compare.json on standard output instead of the summary (the files are written as usual).
    #[arg(long)]
    pub json: bool,
    /// Replace the output folder when it holds a previous result.
    #[arg(long)]
    pub force: bool,
}

pub fn compare(args: CompareArgs) -> Result<u8> {
    let jobs = match super::jobs(args.jobs, args.quiet) {
        Ok(jobs) => jobs,
        Err(code) => return Ok(code),
    };
    let mut scenarios = Vec::new();
    for path in &args.scenarios {
        match load_scenario(path) {
            Ok(s) => scenarios.push(s),
            Err(e) => return report_load_error(e),
        }
    }
    let seed = args.seed.unwrap_or(scenarios[0].seed);
    // Folder names: the scenario names, made unique in order.
    let mut names: Vec<String> = Vec::new();
    for s in &scenarios {
        let mut name = s.spec.name.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{}-{k}", s.spec.name);
            k += 1;
        }
        names.push(name);
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let mut folder = format!("compare-{}", names.join("-vs-"));
        // Every system accepts 255 bytes a name, the staging prefix included.
        if folder.len() > 200 {
            folder = format!("compare-{}-and-{}-more", names[0], names.len() - 1);
        }
        PathBuf::from("output").join(folder)
    });
    let folder = OutputFolder::create(&out, args.force)?;
    let specs: Vec<_> = scenarios.iter().map(|s| (s.spec.clone(), seed)).collect();
    let per_scenario = run_replications(&specs, args.replications, jobs, args.quiet)?;
    for ((name, runs), scenario) in names.iter().zip(&per_scenario).zip(&scenarios) {
        write_run(&folder.path().join(name), &scenario.spec, runs)?;
    }
    let contenders: Vec<Contender> = names
        .iter()
        .zip(&args.scenarios)
        .zip(&per_scenario)
        .map(|((name, file), runs)| Contender {
            name: name.clone(),
            file: file.display().to_string(),
            results: runs,
        })
        .collect();
    let rows = write_compare(folder.path(), seed, args.replications, &contenders)?;
    if args.report {
        crate::report::review::write_report(folder.path())?;
    }
    let json = super::json_output(args.json, folder.path(), "compare.json")?;
    folder.publish(&[])?;
    if !super::print_json(json) && !args.quiet {
        outln!(
            "{} scenarios × {} paired replications (seed {seed}, common random numbers); mean ± 95% CI",
            names.len(),
            args.replications
        );
        out!("{}", compare_table(&contenders, &rows));
        for (i, name) in names.iter().enumerate().skip(1) {
            outln!("{name} vs {}: {}", names[0], difference_line(&rows, i - 1));
        }
        outln!("wrote {}", out.display());
    }
    Ok(exit::OK)
}
