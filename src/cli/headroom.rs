//! `capsim headroom SCENARIO`

use crate::cli::console::{errln, outln};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::engine::SimDuration;
use crate::metrics::SloSpec;
use crate::report::Figure;
use crate::report::headroom::{slo_text, steps, write_headroom};
use crate::sweep::headroom::{midpoint, multipliers, scaled};

use super::{exit, load_scenario, report_load_error, run_replications};

#[derive(Args, Debug)]
pub struct HeadroomArgs {
    /// Scenario file (YAML or JSON).
    pub scenario: PathBuf,
    /// Output folder [default: output/<scenario name>-headroom].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Lowest traffic multiplier.
    #[arg(long, default_value_t = 0.5)]
    pub from: f64,
    /// Highest traffic multiplier.
    #[arg(long, default_value_t = 3.0)]
    pub to: f64,
    /// Step between multipliers (today's traffic, ×1, is always included).
    #[arg(long, default_value_t = 0.25)]
    pub step: f64,
    /// Replications per multiplier, on common random numbers.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub replications: u32,
    /// Seed [default: the scenario's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// SLO latency threshold for the p99, in ms (overrides the scenario's latency objective).
    #[arg(long)]
    pub p99_ms: Option<f64>,
    /// SLO error-rate ceiling, e.g. 0.001 (overrides the scenario's).
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// Bisection rounds between the last multiplier that holds and the first
    /// that breaks (each halves the gap).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub refine: u32,
    /// Share of intervals that must meet the SLO for a multiplier to pass.
    #[arg(long, default_value_t = 0.99)]
    pub compliance: f64,
    /// Threads [default: all cores; at most the machine's, see README]. Never changes results.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also write report.md and report.html.
    #[arg(long)]
    pub report: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Print headroom.json on standard output instead of the summary (the files are written as usual).
    #[arg(long)]
    pub json: bool,
    /// Replace the output folder when it holds a previous result.
    #[arg(long)]
    pub force: bool,
}

fn usage(message: &str) -> Result<u8> {
    errln!("error: {message}");
    Ok(exit::USAGE)
}

pub fn headroom(args: HeadroomArgs) -> Result<u8> {
    let ok = |x: f64| x.is_finite() && x > 0.0;
    if !(ok(args.from) && ok(args.to) && ok(args.step) && args.from <= args.to) {
        return usage("--from, --to and --step must be positive numbers with --from ≤ --to");
    }
    if (args.to - args.from) / args.step > 400.0 {
        return usage("at most 400 steps: widen --step or narrow --from/--to");
    }
    if !(args.compliance > 0.0 && args.compliance <= 1.0) {
        return usage("--compliance must be in (0, 1], e.g. 0.99");
    }
    if args.p99_ms.is_some_and(|p| !ok(p)) || args.max_error_rate.is_some_and(|e| !(0.0..1.0).contains(&e)) {
        return usage("--p99-ms must be > 0 and --max-error-rate in [0, 1)");
    }
    let jobs = match super::jobs(args.jobs, args.quiet) {
        Ok(jobs) => jobs,
        Err(code) => return Ok(code),
    };
    let scenario = match load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(e) => return report_load_error(e),
    };
    let spec = &scenario.spec;
    let peak = spec.traffic.curve.peak_bound() * args.to;
    if peak > crate::scenario::MAX_RATE_RPS {
        return usage(&format!(
            "--to {} would take the traffic to {peak:e} req/s at its peak; a rate is at most {:e} req/s \
             (one arrival per nanosecond, the clock's resolution)",
            args.to,
            crate::scenario::MAX_RATE_RPS
        ));
    }
    let base_slo = spec.slo.unwrap_or(SloSpec {
        latency: None,
        error_rate_max: None,
    });
    let slo = SloSpec {
        latency: args
            .p99_ms
            .map(|ms| (0.99, SimDuration::from_secs_f64(ms / 1000.0)))
            .or(base_slo.latency),
        error_rate_max: args.max_error_rate.or(base_slo.error_rate_max),
    };
    if slo.latency.is_none() && slo.error_rate_max.is_none() {
        errln!(
            "error: {}: headroom needs an SLO: declare `slo:` in the scenario or pass --p99-ms / --max-error-rate",
            args.scenario.display()
        );
        return Ok(exit::INVALID_SCENARIO);
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let ms = multipliers(args.from, args.to, args.step);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}-headroom", spec.name)));
    let folder = crate::report::files::OutputFolder::create(&out, args.force)?;
    let specs: Vec<_> = ms.iter().map(|&m| (scaled(spec, m, slo), seed)).collect();
    let runs = run_replications(&specs, args.replications, jobs, args.quiet)?;
    let scaled_specs: Vec<_> = specs.iter().map(|(s, _)| s.clone()).collect();
    let today = ms.iter().position(|m| *m == 1.0).expect("×1 is always a step");
    crate::report::write_run(&folder.path().join("base"), &scaled_specs[today], &runs[today])?;
    let mut judged = steps(&scaled_specs, &ms, &runs, args.compliance);
    // Narrow the break down: bisect between the last step that holds and the first that breaks.
    for _ in 0..args.refine {
        let Some(i) = judged.iter().position(|s| !s.meets_slo).filter(|&i| i > 0) else {
            break;
        };
        let Some(mid) = midpoint(judged[i - 1].multiplier, judged[i].multiplier) else {
            break;
        };
        let probe = [(scaled(spec, mid, slo), seed)];
        let runs = run_replications(&probe, args.replications, jobs, args.quiet)?;
        let step = steps(&[probe[0].0.clone()], &[mid], &runs, args.compliance);
        judged.splice(i..i, step);
    }
    let text = slo_text(&slo, args.compliance);
    let pools: Vec<String> = spec.pools.iter().map(|p| p.name.clone()).collect();
    let verdict = write_headroom(
        folder.path(),
        &spec.name,
        &pools,
        (args.from, args.to, args.step),
        args.replications,
        seed,
        &text,
        &judged,
    )?;
    if args.report {
        crate::report::review::write_report(folder.path())?;
    }
    let json = super::json_output(args.json, folder.path(), "headroom.json")?;
    folder.publish(&[])?;
    if !super::print_json(json) && !args.quiet {
        outln!("{verdict}");
        for s in &judged {
            outln!(
                "  ×{:<5} peak {:>8.1} req/s  p99 {:>9.2} ms  errors {:>7.3}%  SLO {:>6.2}% of intervals  {}",
                s.multiplier,
                Figure(s.peak_rps.mean),
                Figure(s.latency_p99_ms.mean),
                Figure(s.error_rate.mean * 100.0),
                Figure(s.compliance.mean * 100.0),
                if s.meets_slo { "ok" } else { "BROKEN" }
            );
        }
        outln!("wrote {}", out.display());
    }
    Ok(exit::OK)
}
