//! The capacity-review report: `report.md` and a self-contained
//! `report.html`, rendered from the files a run, a comparison, a sweep or a
//! headroom analysis wrote (so `capsim report DIR` works on any of them
//! later, and `--report` is the same code).
//!
//! One document model, two renderers. The HTML has no external asset and no
//! script: charts are the folder's SVG files embedded as `data:` images
//! (an image cannot run script), and every string is escaped.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::analysis::{Analysis, Kind};
use super::escape;
use super::files::write_atomic;
use super::format::{clock_span, count, duration_words, human, rate_pct, short, with_ci};
use super::plan::Plan;
use crate::metrics::stats::Estimate;

/// A block of the report.
enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    /// Header cells, then rows; the first column is emphasised where `strong` is set.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        strong: Option<usize>,
    },
    Pre(Vec<String>),
    /// An SVG file of the folder (relative path) and its caption.
    Chart(String, String),
}

struct Doc {
    title: String,
    blocks: Vec<Block>,
}

impl Doc {
    fn new(title: String) -> Doc {
        Doc {
            title,
            blocks: Vec::new(),
        }
    }
    fn h(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }
    fn p(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }
}

/// Writes `report.md` and `report.html` for the output folder `dir`.
pub fn write_report(dir: &Path) -> Result<()> {
    let doc = if dir.join("compare.json").exists() {
        compare_doc(dir)?
    } else if dir.join("sweep.json").exists() {
        sweep_doc(dir)?
    } else if dir.join("headroom.json").exists() {
        headroom_doc(dir)?
    } else if dir.join("summary.json").exists() {
        run_doc(dir)?
    } else {
        bail!(
            "{} holds no capsim output (expected summary.json, compare.json, sweep.json or headroom.json)",
            dir.display()
        );
    };
    write_atomic(&dir.join("report.md"), markdown(&doc).as_bytes())?;
    write_atomic(&dir.join("report.html"), html(&doc, dir)?.as_bytes())?;
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn read_analysis(dir: &Path) -> Result<Analysis> {
    let path = dir.join("analysis.json");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a capsim analysis", path.display()))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// An estimate as `compare.json` and `sweep.json` write it (`mean`, `ci95`, `n`).
fn estimate(v: &Value) -> Estimate {
    Estimate {
        mean: f(&v["mean"]),
        ci95: f(&v["ci95"]),
        n: v["n"].as_u64().unwrap_or(0) as usize,
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

fn money(x: f64) -> String {
    if x.is_finite() {
        format!("${}", human(x))
    } else {
        "–".into()
    }
}

fn pct(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let p = x * 100.0;
    // Below a billionth is rounding noise (an interval over equal samples).
    if p.abs() >= 1e-7 && p.abs() < 0.05 {
        // Two significant digits, not a 0.0% that hides a share.
        let decimals = (1 - p.abs().log10().floor() as i32).clamp(2, 9) as usize;
        format!("{p:.decimals$}%")
    } else {
        format!("{p:.1}%")
    }
}

fn times(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("×{x:.2}"))
}

/// Charts of `dir` that exist, in the order given.
fn charts(doc: &mut Doc, dir: &Path, prefix: &str, list: &[(&str, &str)]) {
    for (base, caption) in list {
        let file = format!("{base}.svg");
        if dir.join(&file).exists() {
            doc.blocks
                .push(Block::Chart(format!("{prefix}{file}"), caption.to_string()));
        }
    }
}

/// The run-level sections: headline, bottlenecks, architecture, plan, cost.
fn run_sections(doc: &mut Doc, dir: &Path, prefix: &str, level: u8) -> Result<()> {
    let summary = read_json(&dir.join("summary.json"))?;
    let analysis = read_analysis(dir)?;
    // Error rates to the digits that decide the SLO's limit.
    let limit = analysis.assumptions.as_ref().and_then(|a| a.slo_error_rate_max);
    let time_of_day = analysis.assumptions.as_ref().is_some_and(|a| a.time_of_day);
    let r = &summary["requests"];
    let l = &summary["latency"];
    let mut rows = vec![
        vec![
            "requests".into(),
            format!(
                "{} arrived, {} completed, error rate {}",
                s(&r["arrived"]),
                s(&r["completed"]),
                rate_pct(f(&r["error_rate"]), limit)
            ),
        ],
        vec![
            "latency".into(),
            format!(
                "p50 {} ms, p99 {} ms, max {} ms",
                human(f(&l["p50_ms"])),
                human(f(&l["p99_ms"])),
                human(f(&l["max_ms"]))
            ),
        ],
        vec![
            "peak".into(),
            format!(
                "{} req/s at {} (p99 {} ms, error rate {})",
                human(analysis.peak.offered_rps),
                clock_span(analysis.peak.start_s, analysis.peak.end_s, time_of_day),
                human(analysis.peak.latency_p99_ms),
                rate_pct(analysis.peak.error_rate, limit)
            ),
        ],
    ];
    if let Some(slo) = summary.get("slo") {
        rows.push(vec![
            "SLO".into(),
            format!(
                "{} compliant, {} minutes lost",
                pct(f(&slo["compliance"])),
                human(f(&slo["minutes_lost"]))
            ),
        ]);
    } else if let Some(a) = &analysis.assumptions
        && let Some(today) = a.slo_compliance_today
    {
        rows.push(vec![
            "SLO (assumed by the review)".into(),
            format!(
                "{} compliant with {}{}",
                pct(today),
                a.slo,
                if today < crate::report::plan::COMPLIANCE {
                    ": today's run already breaks it"
                } else {
                    ""
                }
            ),
        ]);
    }
    rows.push(cost_row(&summary));
    doc.blocks.push(Block::Table {
        header: vec!["".into(), "measured".into()],
        rows,
        strong: Some(0),
    });

    assumptions(doc, &analysis, &summary, level);

    doc.h(level, "Current bottlenecks");
    let bottleneck = analysis.bottleneck;
    let rows = analysis
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                if Some(i) == bottleneck {
                    format!("{} (first to saturate)", c.title())
                } else {
                    c.title()
                },
                c.capacity.clone(),
                c.load.clone(),
                times(c.headroom),
                c.verdict.clone(),
                c.fix.clone(),
            ]
        })
        .collect();
    doc.blocks.push(Block::Table {
        header: vec![
            "component".into(),
            "current capacity".into(),
            "load at peak".into(),
            "headroom".into(),
            "bottleneck".into(),
            "suggested fix".into(),
        ],
        rows,
        strong: Some(0),
    });
    doc.p(
        "Headroom is the traffic multiple at which a component's demand (the work offered to it, served or not) in \
         its busiest interval would fill its capacity — a pool's cores at its autoscaler's maximum, a database's or \
         cache node's threads, a database's connections — demand growing with traffic. Sizes hold the planning \
         ceiling: a pool's CPU target, else 70%. `capsim headroom` finds where the SLO breaks by simulation.",
    );

    doc.h(level, "Architecture");
    doc.blocks.push(Block::Pre(analysis.topology.clone()));
    charts(
        doc,
        dir,
        prefix,
        &[("architecture", "Architecture at peak (the bottleneck in red)")],
    );
    autoscaler_behaviour(doc, &analysis, &summary, level);

    resilience_check(doc, dir, level)?;
    faults_in_run(doc, &summary, level);

    doc.h(level, "Scaling plan");
    let mut order: Vec<_> = analysis.components.iter().filter(|c| c.ceiling_at.is_some()).collect();
    order.sort_by(|a, b| a.ceiling_at.unwrap().total_cmp(&b.ceiling_at.unwrap()));
    let saturation: Vec<String> = order
        .iter()
        .map(|c| {
            format!(
                "{} reaches its {} ceiling at ×{:.2} traffic ({} req/s) and saturates at {}",
                c.title(),
                pct(c.ceiling),
                c.ceiling_at.unwrap(),
                human(analysis.peak.offered_rps * c.ceiling_at.unwrap()),
                times(c.headroom)
            )
        })
        .collect();
    if !saturation.is_empty() {
        doc.p("In the order things saturate as traffic grows:");
        doc.blocks.push(Block::List(saturation));
    }
    let plan_file = dir.join("plan.json");
    let plan: Option<Plan> = if plan_file.exists() {
        let text = fs::read_to_string(&plan_file).with_context(|| format!("reading {}", plan_file.display()))?;
        Some(serde_json::from_str(&text).with_context(|| format!("{} is not a capsim plan", plan_file.display()))?)
    } else {
        None
    };
    match &plan {
        Some(plan) => proven_plan(doc, plan, level),
        None => {
            doc.p(
                "The plan was not simulated for this folder, so it makes no recommendation: `capsim run SCENARIO \
                 --report` applies each horizon's changes to a copy of the scenario and runs it. First-order \
                 estimate, for orientation only:",
            );
            let lines: Vec<String> = analysis
                .plan
                .iter()
                .map(|step| {
                    format!(
                        "×{} ({} req/s at peak): {}",
                        step.growth,
                        human(step.peak_rps),
                        if step.actions.is_empty() {
                            "every component under its ceiling".to_string()
                        } else {
                            step.actions.join("; ")
                        }
                    )
                })
                .collect();
            doc.blocks.push(Block::List(lines));
        }
    }

    doc.h(level, "Cost estimate");
    match &plan {
        Some(plan) => proven_costs(doc, &analysis, plan),
        None => first_order_costs(doc, &analysis),
    }

    doc.h(level, "Charts");
    let mut list = vec![
        ("latency", "Response time per interval"),
        ("throughput", "Throughput and errors against offered load"),
        ("utilization", "CPU utilization per pool"),
        ("instances", "Instances against traffic, with scaling actions"),
        ("queue", "Requests waiting per pool"),
        ("capacity", "Time to capacity per added instance"),
        ("cost", "Cumulative cost"),
        // The data tier's, where the scenario has one.
        ("tiers", "Where a request's time goes, per tier"),
        ("cache-hit-ratio", "Cache hit ratio per interval"),
        ("replica-lag", "Replication lag per replica"),
        ("data-utilization", "Cache node and database server utilization"),
        ("queue-depth", "Queue depth (visible and in flight)"),
        ("queue-age", "Age of the oldest message"),
    ];
    // The errors chart earns its place when something was done to the run.
    if ["faults", "random_faults", "deploys"]
        .iter()
        .any(|k| summary[*k].as_array().is_some_and(|a| !a.is_empty()))
    {
        list.insert(2, ("errors", "Error rate per interval, with faults and deploys"));
    }
    charts(doc, dir, prefix, &list);
    Ok(())
}

/// What the run assumed: the traffic, the SLO and the run's settings, then
/// each request class (absent for folders written before they were recorded).
fn assumptions(doc: &mut Doc, analysis: &Analysis, summary: &Value, level: u8) {
    let Some(a) = &analysis.assumptions else { return };
    doc.h(level, "Assumptions");
    let replications = summary["replications"]["count"].as_u64().unwrap_or(1);
    doc.blocks.push(Block::List(super::assumptions::lines(a, replications)));
    let (header, rows) = super::assumptions::class_table(a);
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
}

/// What each autoscaler did: scale-ups and -downs, time to capacity,
/// flapping, and its limits reached.
fn autoscaler_behaviour(doc: &mut Doc, analysis: &Analysis, summary: &Value, level: u8) {
    if analysis.autoscaling.is_empty() {
        return;
    }
    doc.h(level, "Autoscaler behaviour");
    let (header, rows) = super::autoscaling::table(&analysis.autoscaling, f(&summary["simulated_s"]));
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
    doc.p(format!(
        "Scale-ups and scale-downs are changes of the desired size. Time to capacity runs from the decision to \
         the added instance serving. Flapping is a change of direction (up after down, or down after up) within \
         {} of the change before it; the count in all has no window. Instances: the fewest live at an interval's \
         end and the most at any time. At its maximum: how long the desired size sat at the autoscaler's maximum.",
        duration_words(super::autoscaling::FLAP_WINDOW_S)
    ));
}

/// The measured cost: the app instances', and the whole system's when
/// the summary prices the components around them.
fn cost_row(summary: &Value) -> Vec<String> {
    let cost = &summary["cost"];
    let instances = format!(
        "{} in the run, {}/month at this rate",
        money(f(&cost["total_usd"])),
        money(f(&cost["per_month_usd"]))
    );
    if cost["system_per_month_usd"].is_null() {
        return vec!["cost".into(), instances];
    }
    vec![
        "cost".into(),
        format!(
            "instances: {instances}; whole system (databases, caches, CDN, balancers, queues too): {} in the run, \
             {}/month{}",
            money(f(&cost["system_total_usd"])),
            money(f(&cost["system_per_month_usd"])),
            if cost["extrapolated"].as_bool() == Some(true) {
                " (extrapolated from a run shorter than a day)"
            } else {
                ""
            }
        ),
    ]
}

/// A component's row in a cost table: its title, and what it is billed as.
fn cost_label(c: &crate::report::analysis::Component) -> String {
    if c.cost_basis.is_empty() {
        c.title()
    } else {
        format!("{} ({})", c.title(), c.cost_basis)
    }
}

/// The cost table of a plan that was not simulated: first order, per component.
fn first_order_costs(doc: &mut Doc, analysis: &Analysis) {
    let mut header = vec!["component".to_string(), "current $/month".into()];
    header.extend(analysis.plan.iter().map(|p| {
        if p.term.starts_with('×') {
            p.term.clone()
        } else {
            format!("{} (×{})", p.term, p.growth)
        }
    }));
    let mut rows: Vec<Vec<String>> = analysis
        .components
        .iter()
        .filter(|c| c.kind == Kind::Pool || c.cost_per_month_usd > 0.0)
        .map(|c| {
            let mut row = vec![cost_label(c), money(c.cost_per_month_usd)];
            row.extend(analysis.plan.iter().map(|p| money(c.cost_at(p.growth))));
            row
        })
        .collect();
    let mut total = vec![
        "total".to_string(),
        money(analysis.components.iter().map(|c| c.cost_per_month_usd).sum()),
    ];
    total.extend(analysis.plan.iter().map(|p| money(p.cost_per_month_usd)));
    rows.push(total);
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
    doc.p(
        "Current is the run's spend scaled to a 730-hour month. Proposed: fixed pools sized to hold the grown peak \
         at their ceiling; autoscaled pools growing with the load above their minimum (first order); other \
         components billed by use (CDN, queue, data transfer) grown with the traffic; the others at today's cost \
         (see Prices in docs/review.md).",
    );
}

/// Each horizon of a simulated plan: its changes, the rounds that proved
/// them, and its scenario.
fn proven_plan(doc: &mut Doc, plan: &Plan, level: u8) {
    doc.p(format!(
        "Each horizon's changes were applied to a copy of the scenario and simulated at that horizon's traffic \
         ({} replications each, common random numbers), judged on {}{}. Once a horizon held, each of its changes \
         was tried without and dropped where the SLO still held with every component within its planning ceiling \
         (rounds marked \"without\"; sizes made for a lowered CPU target that was dropped are tried at the target \
         kept, marked \"in place of\"). Horizons build on each other.",
        plan.replications,
        plan.slo,
        if plan.slo_assumed {
            " (the scenario has no SLO: the review assumes p99 within twice today's peak p99 and at most 0.1% errors)"
        } else {
            ""
        }
    ));
    let mut earlier = 0;
    for h in &plan.horizons {
        doc.h(
            level + 1,
            format!(
                "{} (traffic ×{}: {} req/s at peak): {}",
                capitalize(&h.term),
                h.growth,
                human(h.peak_rps),
                if h.holds { "holds" } else { "does not hold" }
            ),
        );
        let new: Vec<String> = h.changes[earlier.min(h.changes.len())..]
            .iter()
            .map(|s| format!("{} — {}", capitalize(&s.text), s.because))
            .collect();
        earlier = h.changes.len();
        if !h.holds {
            doc.p(format!(
                "Not a recommendation: {}. The changes below were simulated and are not enough.",
                h.stopped.as_deref().unwrap_or("the SLO breaks")
            ));
        }
        if new.is_empty() {
            doc.p("No change.");
        } else {
            doc.blocks.push(Block::List(new));
        }
        let rows = h
            .rounds
            .iter()
            .enumerate()
            .map(|(i, r)| {
                vec![
                    (i + 1).to_string(),
                    if !r.removed.is_empty() && !r.added.is_empty() {
                        format!("{} (in place of: {})", r.added.join("; "), r.removed.join("; "))
                    } else if !r.removed.is_empty() {
                        format!("without: {}", r.removed.join("; "))
                    } else if r.added.is_empty() {
                        "–".into()
                    } else {
                        r.added.join("; ")
                    },
                    magnitude_ci(&r.latency_p99_ms, "ms"),
                    rate_ci(r.error_rate),
                    pct_ci(r.compliance),
                    match (r.meets_slo, r.saturated.is_empty()) {
                        (true, true) => "yes".into(),
                        (true, false) => format!("yes, but saturated: {}", r.saturated.join("; ")),
                        (false, _) => "no".into(),
                    },
                    r.bottleneck.clone().unwrap_or_else(|| "–".into()),
                    money(r.cost_per_month_usd),
                ]
            })
            .collect();
        doc.blocks.push(Block::Table {
            header: vec![
                "round".into(),
                "changes added".into(),
                "p99".into(),
                "error rate".into(),
                "SLO compliance".into(),
                "meets SLO".into(),
                "first to saturate".into(),
                "$/month".into(),
            ],
            rows,
            strong: None,
        });
        if let Some(file) = &h.scenario {
            doc.p(format!(
                "Scenario of its last round: `{file}` (rerun it with `capsim run {file}`)."
            ));
        }
        alternatives(doc, h);
    }
}

/// A horizon's alternative designs (a pool scaled up, a cache instead of
/// replicas), each beside the plan's last round.
fn alternatives(doc: &mut Doc, h: &crate::report::plan::Horizon) {
    let Some(last) = h.rounds.last() else { return };
    for alt in &h.alternatives {
        doc.p(format!(
            "{}: {}, everything else as above, simulated the same way:",
            alt.question, alt.text
        ));
        // Consumers change how far a queue falls behind, which a request's
        // p99 does not show: the oldest message is compared too.
        let queues = last.oldest_message_s.is_some() || alt.round.oldest_message_s.is_some();
        let row = |name: &str, r: &crate::report::plan::Round, share: Option<f64>| {
            let mut row = vec![
                name.to_string(),
                magnitude_ci(&r.latency_p99_ms, "ms"),
                rate_ci(r.error_rate),
                pct_ci(r.compliance),
                if r.passed {
                    "yes".into()
                } else if r.meets_slo {
                    format!("no, saturated: {}", r.saturated.join("; "))
                } else {
                    "no".into()
                },
            ];
            row.extend(share.map(pct));
            if queues {
                row.push(r.oldest_message_s.as_ref().map_or("–".into(), |e| magnitude_ci(e, "s")));
            }
            row.push(money(r.cost_per_month_usd));
            row
        };
        let mut header = vec![
            "design".into(),
            "p99".into(),
            "error rate".into(),
            "SLO compliance".into(),
            "holds".into(),
        ];
        if alt.one_instance_share.is_some() {
            header.push("one instance lost takes".into());
        }
        if queues {
            header.push("oldest message".into());
        }
        header.push("$/month".into());
        let shares = alt.one_instance_share;
        doc.blocks.push(Block::Table {
            header,
            rows: vec![
                row(&alt.designs[0], last, shares.map(|s| s[0])),
                row(&alt.designs[1], &alt.round, shares.map(|s| s[1])),
            ],
            strong: Some(0),
        });
        let (plan, other) = (last.cost_per_month_usd, alt.round.cost_per_month_usd);
        let verdict = match (last.passed, alt.round.passed) {
            (true, true) if other < plan => format!(
                "Both hold; {} costs {}/month less.",
                alt.designs[1],
                money(plan - other)
            ),
            (true, true) if other > plan => format!(
                "Both hold; {} costs {}/month more.",
                alt.designs[1],
                money(other - plan)
            ),
            (true, true) => "Both hold, at the same cost.".to_string(),
            (true, false) => format!("Only the plan holds: {} does not.", alt.designs[1]),
            (false, true) => format!("Only {} holds.", alt.designs[1]),
            (false, false) => "Neither holds.".to_string(),
        };
        match &alt.scenario {
            Some(file) => doc.p(format!("{verdict} Scenario: `{file}`.")),
            None => doc.p(verdict),
        }
    }
}

/// The cost table of a simulated plan: each component's $/month today and
/// in each horizon's last round.
fn proven_costs(doc: &mut Doc, analysis: &Analysis, plan: &Plan) {
    let mut header = vec!["component".to_string(), "current $/month".into()];
    header.extend(plan.horizons.iter().map(|h| {
        if h.term.starts_with('×') {
            h.term.clone()
        } else {
            format!("{} (×{})", h.term, h.growth)
        }
    }));
    let last = |h: &crate::report::plan::Horizon| h.rounds.last().map(|r| r.costs.clone()).unwrap_or_default();
    let mut names: Vec<String> = analysis
        .components
        .iter()
        .filter(|c| c.cost_per_month_usd > 0.0)
        .map(|c| c.title())
        .collect();
    for h in &plan.horizons {
        for (name, _) in last(h) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut rows: Vec<Vec<String>> = names
        .iter()
        .map(|name| {
            let today = analysis
                .components
                .iter()
                .find(|c| c.title() == *name)
                .map_or(0.0, |c| c.cost_per_month_usd);
            let now = analysis.components.iter().find(|c| c.title() == *name);
            let label = now.map_or_else(|| name.clone(), cost_label);
            let mut row = vec![label, money(today)];
            row.extend(plan.horizons.iter().map(|h| {
                let cost = last(h).iter().find(|(n, _)| n == name).map_or(0.0, |(_, c)| *c);
                // What it is billed as, where the plan changed that.
                let basis = h
                    .rounds
                    .last()
                    .and_then(|r| r.cost_bases.iter().find(|(n, _)| n == name))
                    .map(|(_, b)| b.as_str())
                    .filter(|b| now.is_none_or(|c| c.cost_basis != *b));
                match basis {
                    Some(b) if cost > 0.0 => format!("{} ({b})", money(cost)),
                    _ => money(cost),
                }
            }));
            row
        })
        .collect();
    let mut total = vec![
        "total".to_string(),
        money(analysis.components.iter().map(|c| c.cost_per_month_usd).sum()),
    ];
    total.extend(plan.horizons.iter().map(|h| {
        let cost = h.rounds.last().map_or(f64::NAN, |r| r.cost_per_month_usd);
        format!("{}{}", money(cost), if h.holds { "" } else { " (does not hold)" })
    }));
    rows.push(total);
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
    doc.p(
        "Current is the run's spend scaled to a 730-hour month; each horizon's is the spend of its last simulated \
         round at that traffic, scaled the same way (autoscaled pools at what they ran).",
    );
}

/// An error rate with its interval, to the digits that show it (never
/// "0.0%" for errors that happened).
fn rate_ci(e: Estimate) -> String {
    let rate = |x: f64| super::format::rate_pct(x, None);
    if e.ci95 > 0.0 { share_ci(e, rate) } else { rate(e.mean) }
}

fn pct_ci(e: Estimate) -> String {
    share_ci(e, pct)
}

/// A duration's mean and 95% interval in `unit`: `mean ± half-width`, or,
/// where that would run below zero (few replications far apart), the
/// interval's bounds cut at 0.
fn magnitude_ci(e: &Estimate, unit: &str) -> String {
    if e.ci95.is_finite() && e.mean >= 0.0 && e.mean - e.ci95 < 0.0 {
        format!("{} {unit} (95% CI 0–{} {unit})", human(e.mean), human(e.mean + e.ci95))
    } else {
        format!("{} {unit}", with_ci(e, false))
    }
}

/// A share's mean and 95% interval: `mean ± half-width`, or, where that
/// would run past 0% or 100% (few replications far apart), the interval's
/// bounds cut to them.
fn share_ci(e: Estimate, show: impl Fn(f64) -> String) -> String {
    if !e.ci95.is_finite() {
        return show(e.mean);
    }
    let (lo, hi) = (e.mean - e.ci95, e.mean + e.ci95);
    if lo < 0.0 || hi > 1.0 {
        format!("{} (95% CI {}–{})", show(e.mean), show(lo.max(0.0)), show(hi.min(1.0)))
    } else {
        format!("{} ± {}", show(e.mean), show(e.ci95))
    }
}

/// Whether the SLO holds at peak when one thing is lost: each single
/// failure simulated (`resilience.json`, written by `run --report`).
fn resilience_check(doc: &mut Doc, dir: &Path, level: u8) -> Result<()> {
    use super::resilience::{Resilience, Window};
    let file = dir.join("resilience.json");
    if !file.exists() {
        return Ok(());
    }
    let text = fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let check: Resilience =
        serde_json::from_str(&text).with_context(|| format!("{} is not a capsim resilience check", file.display()))?;
    doc.h(level, "Resilience");
    doc.p(format!(
        "Does the SLO hold at peak when one thing is lost? Each single failure below struck at {} s, the start of \
         the run's peak, in a copy of the scenario{} ({} replications each, the run's seeds), and is judged on {}{} \
         over {}–{} s. p99 is the worst interval's in that window; a failure holds when the window's SLO compliance \
         does, and otherwise it is a single point of failure.",
        human(check.failure_at_s),
        if check.own_faults_removed {
            " with the scenario's own faults removed, so that it is the only one"
        } else {
            ""
        },
        check.replications,
        check.slo,
        if check.slo_assumed {
            " (the scenario has no SLO: the review assumes p99 within twice today's peak p99 and at most 0.1% errors)"
        } else {
            ""
        },
        human(check.failure_at_s),
        human(check.window_end_s),
    ));
    // Queues: how far their backlog grew, which the request SLO does not see.
    let queues = check
        .baseline
        .iter()
        .chain(check.failures.iter().filter_map(|f| f.window.as_ref()))
        .any(|w| w.backlog_growth.is_some());
    let figures = |w: &Option<Window>| {
        let mut row = match w {
            Some(w) => vec![
                magnitude_ci(&w.latency_p99_max_ms, "ms"),
                rate_ci(w.error_rate),
                pct_ci(w.compliance),
            ],
            None => vec!["–".into(), "–".into(), "–".into()],
        };
        if queues {
            row.push(
                w.as_ref()
                    .and_then(|w| w.backlog_growth.as_ref())
                    .map_or("–".into(), |g| format!("{} of messages sent", pct(g.mean))),
            );
        }
        row
    };
    // The columns `figures` fills, in its order.
    let figure_columns = || {
        let mut columns: Vec<String> = vec!["p99".into(), "error rate".into(), "SLO compliance".into()];
        if queues {
            columns.push("queue backlog growth".into());
        }
        columns
    };
    let mut baseline = vec!["none (baseline)".to_string()];
    baseline.extend(figures(&check.baseline));
    baseline.push(match (&check.baseline, &check.note) {
        (Some(w), _) if w.holds() => "meets the SLO".into(),
        (Some(w), _) if w.meets_slo => "a queue falls behind without any failure".into(),
        (Some(_), _) => "SLO broken without any failure".into(),
        (None, note) => format!("{}: {}", super::resilience::NOT_RUN, note.as_deref().unwrap_or("")),
    });
    let mut rows = vec![baseline];
    rows.extend(check.failures.iter().map(|f| {
        let mut row = vec![f.text.clone()];
        row.extend(figures(&f.window));
        row.push(match &f.note {
            Some(note) => format!("{} — {note}", f.verdict),
            None => f.verdict.clone(),
        });
        row
    }));
    let mut header = vec!["failure".to_string()];
    header.extend(figure_columns());
    header.push("verdict".into());
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
    let baseline_meets = check.baseline.is_some_and(|w| w.holds());
    doc.p(if check.single_points_of_failure.is_empty() && !baseline_meets {
        "The copy without any failure does not meet the SLO in this window, so no failure can be judged a single \
         point of failure here: make the SLO hold first (see the scaling plan)."
            .to_string()
    } else if check.single_points_of_failure.is_empty() {
        "No single failure breaks the SLO.".to_string()
    } else {
        format!(
            "Single points of failure: {}.",
            check.single_points_of_failure.join("; ")
        )
    });
    let remedies: Vec<_> = check
        .failures
        .iter()
        .filter_map(|f| f.remedy.as_ref().map(|r| (f, r)))
        .collect();
    if !remedies.is_empty() {
        doc.p(
            "N+1, simulated: each single point of failure again, struck the same way in a copy with one more of \
             what it takes (the smallest size that holds, of up to three tried). The cost is what the change adds to \
             the monthly cost of capacity (instances, database servers, cache nodes); the changed copy, failure \
             included, is the scenario named."
                .to_string(),
        );
        let rows = remedies
            .iter()
            .map(|(f, r)| {
                let mut row = vec![f.text.clone(), r.changes.join("; ")];
                row.extend(figures(&r.window));
                let what = match &r.window {
                    Some(w) if w.meets_slo => "a queue still falls behind",
                    _ => "SLO still broken",
                };
                let broken = match r.tries {
                    1 => what.to_string(),
                    n => format!("{what} at each of {n} sizes"),
                };
                row.push(match (r.holds, &r.window, &r.note) {
                    (true, ..) => "holds".to_string(),
                    (false, None, note) => format!("{}: {}", super::resilience::NOT_RUN, note.as_deref().unwrap_or("")),
                    (false, Some(_), Some(note)) => format!("{broken} — {note}"),
                    (false, Some(_), None) => broken,
                });
                row.push(if r.added_per_month_usd.is_finite() {
                    format!(
                        "{}{}",
                        if r.added_per_month_usd < 0.0 { "−" } else { "+" },
                        money(r.added_per_month_usd.abs())
                    )
                } else {
                    "–".into()
                });
                row.push(r.scenario.clone().unwrap_or_else(|| "–".into()));
                row
            })
            .collect();
        let mut header = vec!["failure".to_string(), "remedy".into()];
        header.extend(figure_columns());
        header.extend(["verdict".into(), "$/month".into(), "scenario".into()]);
        doc.blocks.push(Block::Table {
            header,
            rows,
            strong: Some(1),
        });
    }
    Ok(())
}

/// What the run's faults, regions and deploys cost, when it had any.
fn faults_in_run(doc: &mut Doc, summary: &Value, level: u8) {
    let list = |key: &str| summary[key].as_array().cloned().unwrap_or_default();
    let (faults, random, regions, deploys) = (list("faults"), list("random_faults"), list("regions"), list("deploys"));
    if faults.is_empty() && random.is_empty() && regions.is_empty() && deploys.is_empty() {
        return;
    }
    doc.h(level, "Faults in this run");
    let seconds = |v: &Value| {
        v.as_f64()
            .map_or("not by the end".to_string(), |t| format!("{} s", human(t)))
    };
    let place = |v: &Value| {
        [&v["zone"], &v["region"], &v["pool"]]
            .into_iter()
            .find_map(|x| x.as_str().map(str::to_string))
            .unwrap_or_else(|| {
                let pools: Vec<String> = v["pools"].as_array().into_iter().flatten().map(s).collect();
                pools.join(", ")
            })
    };
    let mut rows: Vec<Vec<String>> = faults
        .iter()
        .map(|x| {
            vec![
                format!("{} at {} s", s(&x["kind"]), human(f(&x["at_s"]))),
                place(x),
                s(&x["requests_failed"]),
                s(&x["errors_until_recovered"]),
                seconds(&x["time_to_recover_s"]),
            ]
        })
        .collect();
    rows.extend(random.iter().map(|x| {
        let recover = if x["occurrences"].as_u64() == Some(0) {
            "–".to_string()
        } else {
            format!(
                "{} mean, {} max",
                seconds(&x["time_to_recover_mean_s"]),
                seconds(&x["time_to_recover_max_s"])
            )
        };
        vec![
            format!(
                "{} × {} at random (mtbf {})",
                s(&x["occurrences"]),
                s(&x["kind"]),
                duration_words(f(&x["mtbf_s"]))
            ),
            place(x),
            s(&x["requests_failed"]),
            s(&x["errors_until_recovered"]),
            recover,
        ]
    }));
    rows.extend(deploys.iter().map(|x| {
        vec![
            format!("{} deploy at {} s", s(&x["strategy"]), human(f(&x["at_s"]))),
            s(&x["pool"]),
            "–".into(),
            s(&x["errors"]),
            seconds(&x["duration_s"]),
        ]
    }));
    if !rows.is_empty() {
        doc.blocks.push(Block::Table {
            header: vec![
                "event".into(),
                "where".into(),
                "requests failed".into(),
                "errors until over".into(),
                "time to recover".into(),
            ],
            rows,
            strong: Some(0),
        });
    }
    if !regions.is_empty() {
        let rows = regions
            .iter()
            .map(|r| {
                let at = |key: &str| {
                    let times: Vec<String> = r[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|t| format!("{} s", human(f(t))))
                        .collect();
                    if times.is_empty() {
                        "–".to_string()
                    } else {
                        times.join(", ")
                    }
                };
                vec![
                    s(&r["name"]),
                    pct(f(&r["share"])),
                    s(&r["lost_while_dark"]),
                    at("dns_marked_down_at_s"),
                    at("dns_marked_up_at_s"),
                ]
            })
            .collect();
        doc.blocks.push(Block::Table {
            header: vec![
                "region".into(),
                "share of requests".into(),
                "lost while dark".into(),
                "DNS took it out".into(),
                "DNS put it back".into(),
            ],
            rows,
            strong: Some(0),
        });
    }
}

fn capitalize(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn run_doc(dir: &Path) -> Result<Doc> {
    let summary = read_json(&dir.join("summary.json"))?;
    let mut doc = Doc::new(format!("Capacity review: {}", s(&summary["scenario"])));
    doc.p(format!(
        "capsim {} · seed {} · {} s simulated ({} s warm-up) · {} events",
        s(&summary["capsim_version"]),
        s(&summary["seed"]),
        human(f(&summary["simulated_s"])),
        human(f(&summary["warmup_s"])),
        s(&summary["events"])
    ));
    doc.h(2, "Summary");
    run_sections(&mut doc, dir, "", 2)?;
    Ok(doc)
}

fn compare_doc(dir: &Path) -> Result<Doc> {
    let cmp = read_json(&dir.join("compare.json"))?;
    let names: Vec<String> = cmp["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| s(&x["name"]))
        .collect();
    let mut doc = Doc::new(format!("Comparison: {}", names.join(" vs ")));
    doc.p(format!(
        "capsim {} · seed {} · {} paired replications on common random numbers: each scenario met the same \
         arrivals and service demands, so differences are the designs'. Values are means ± 95% CI; differences \
         are paired, against {}.",
        s(&cmp["capsim_version"]),
        s(&cmp["seed"]),
        s(&cmp["replications"]),
        s(&cmp["baseline"])
    ));
    doc.h(2, "Side by side");
    let mut header = vec!["metric".to_string()];
    header.extend(names.iter().cloned());
    header.extend(names.iter().skip(1).map(|n| format!("{n} − {}", names[0])));
    let est = |e: &Value, signed: bool| with_ci(&estimate(e), signed);
    let rows = cmp["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let mut row = vec![s(&m["metric"])];
            row.extend(
                m["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| est(&v["estimate"], false)),
            );
            row.extend(
                m["differences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| est(&d["paired"], true)),
            );
            row
        })
        .collect();
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
    doc.h(2, "Over time (replication 0)");
    charts(
        &mut doc,
        dir,
        "",
        &[
            ("compare-p99", "p99 response time per interval"),
            ("compare-errors", "Errors per interval"),
            ("compare-instances", "Ready instances"),
            ("compare-cost", "Cumulative cost"),
        ],
    );
    for name in &names {
        let sub = dir.join(name);
        if sub.join("analysis.json").exists() {
            doc.h(2, format!("Scenario {name}"));
            run_sections(&mut doc, &sub, &format!("{name}/"), 3)?;
        }
    }
    Ok(doc)
}

fn sweep_doc(dir: &Path) -> Result<Doc> {
    let sweep = read_json(&dir.join("sweep.json"))?;
    // Titled by the base scenario's file name; its path, relative to the
    // sweep file, is said below.
    let base = s(&sweep["base"]);
    let stem = Path::new(&base)
        .file_stem()
        .map_or(base.clone(), |n| n.to_string_lossy().into_owned());
    let mut doc = Doc::new(format!("Sweep over {stem}"));
    let points = sweep["points"].as_array().cloned().unwrap_or_default();
    let replications = sweep["replications"].as_u64().unwrap_or(1) as usize;
    doc.p(format!(
        "capsim {} · base scenario {base} · {} × {} · common random numbers: {}",
        s(&sweep["capsim_version"]),
        count(points.len(), "point"),
        count(replications, "replication"),
        s(&sweep["common_random_numbers"])
    ));
    let objective = &sweep["objective"];
    if !objective.is_null() {
        doc.h(2, "Recommendation");
        let constraints: Vec<String> = objective["constraints"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let mut parts = Vec::new();
                if !c["max"].is_null() {
                    parts.push(format!("{} ≤ {}", s(&c["metric"]), short(f(&c["max"]))));
                }
                if !c["min"].is_null() {
                    parts.push(format!("{} ≥ {}", s(&c["metric"]), short(f(&c["min"]))));
                }
                parts.join(", ")
            })
            .collect();
        doc.p(format!(
            "Objective: the lowest {} subject to {}.",
            s(&objective["minimize"]),
            if constraints.is_empty() {
                "nothing".to_string()
            } else {
                constraints.join("; ")
            }
        ));
        match sweep["recommendation"].as_object() {
            Some(rec) => {
                let settings: Vec<String> = rec["settings"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k} = {}", s(v)))
                    .collect();
                doc.p(format!(
                    "Recommended: point {} ({}).",
                    s(&rec["point"]),
                    s(&rec["name"])
                ));
                doc.blocks.push(Block::List(settings));
                let mut manifests: Vec<_> = fs::read_dir(dir)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("recommended-hpa-"))
                    })
                    .collect();
                manifests.sort();
                for m in manifests {
                    let text = fs::read_to_string(&m)?;
                    doc.p(format!(
                        "Its HPA ({}):",
                        m.file_name().unwrap_or_default().to_string_lossy()
                    ));
                    doc.blocks.push(Block::Pre(text.lines().map(String::from).collect()));
                }
            }
            None => doc.p("No point meets every constraint."),
        }
    }
    doc.h(2, "Points");
    let shown = [
        "latency_p99_ms",
        "pooled_latency_p99_ms",
        "error_rate",
        "slo_minutes_lost",
        "cost_per_month_usd",
    ];
    let mut header = vec!["point".to_string()];
    header.extend(shown.iter().map(|m| m.to_string()));
    let rows = points
        .iter()
        .map(|p| {
            let mut row = vec![format!("{} {}", s(&p["point"]), s(&p["name"]))];
            for m in shown {
                let e = &p["metrics"][m];
                row.push(if e.is_null() {
                    "–".into()
                } else {
                    with_ci(&estimate(e), false)
                });
            }
            row
        })
        .collect();
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
    doc.h(2, "Charts");
    let mut svgs: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    svgs.sort();
    for svg in svgs {
        let caption = svg.trim_end_matches(".svg").replace('-', " ");
        doc.blocks.push(Block::Chart(svg, caption));
    }
    Ok(doc)
}

fn headroom_doc(dir: &Path) -> Result<Doc> {
    let h = read_json(&dir.join("headroom.json"))?;
    let mut doc = Doc::new(format!("Headroom: {}", s(&h["scenario"])));
    doc.p(format!(
        "capsim {} · traffic scaled by ×{} to ×{} in steps of {} · {} replications per step · SLO: {}",
        s(&h["capsim_version"]),
        s(&h["from"]),
        s(&h["to"]),
        s(&h["step"]),
        s(&h["replications"]),
        s(&h["slo"])
    ));
    doc.h(2, "Verdict");
    doc.p(s(&h["verdict"]));
    doc.h(2, "Steps");
    let pools: Vec<String> = h["pools"].as_array().into_iter().flatten().map(s).collect();
    let mut header: Vec<String> = [
        "multiplier",
        "peak req/s",
        "p99 ms",
        "error rate",
        "SLO minutes lost",
        "meets SLO",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    header.extend(pools.iter().map(|p| format!("{p} CPU at peak")));
    let rows = h["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            let mut row = vec![
                format!("×{}", s(&st["multiplier"])),
                human(f(&st["peak_rps"])),
                human(f(&st["latency_p99_ms"])),
                pct(f(&st["error_rate"])),
                human(f(&st["slo_minutes_lost"])),
                if st["meets_slo"].as_bool() == Some(true) {
                    "yes".into()
                } else {
                    "no".into()
                },
            ];
            row.extend(
                st["pool_peak_utilization"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|u| pct(f(u))),
            );
            row
        })
        .collect();
    doc.blocks.push(Block::Table {
        header,
        rows,
        strong: Some(0),
    });
    doc.h(2, "Charts");
    charts(
        &mut doc,
        dir,
        "",
        &[
            ("headroom-latency", "p99 against the traffic multiplier"),
            (
                "headroom-utilization",
                "Peak CPU per pool against the traffic multiplier",
            ),
        ],
    );
    if dir.join("base").join("analysis.json").exists() {
        doc.h(2, "At today's traffic (×1)");
        run_sections(&mut doc, &dir.join("base"), "base/", 3)?;
    }
    Ok(doc)
}

/// Markdown: tables as pipes, charts as links to the SVG files beside it.
fn markdown(doc: &Doc) -> String {
    let text = |t: &str| escape::markdown(t);
    let cell = |t: &str| escape::markdown_cell(t);
    let mut out = format!("# {}\n\n", text(&doc.title));
    for b in &doc.blocks {
        match b {
            Block::Heading(level, t) => {
                writeln!(out, "{} {}\n", "#".repeat(*level as usize), text(t)).unwrap();
            }
            Block::Para(t) => writeln!(out, "{}\n", text(t)).unwrap(),
            Block::List(items) => {
                for i in items {
                    writeln!(out, "- {}", text(i)).unwrap();
                }
                out.push('\n');
            }
            Block::Table { header, rows, strong } => {
                let line =
                    |cells: &[String]| format!("| {} |", cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
                writeln!(out, "{}", line(header)).unwrap();
                writeln!(out, "|{}|", vec!["---"; header.len()].join("|")).unwrap();
                for r in rows {
                    let mut r = r.clone();
                    if let Some(i) = strong
                        && !r[*i].is_empty()
                    {
                        r[*i] = format!("**{}**", r[*i]);
                    }
                    writeln!(out, "{}", line(&r)).unwrap();
                }
                out.push('\n');
            }
            Block::Pre(lines) => {
                writeln!(out, "{}", escape::markdown_code_block(lines)).unwrap();
            }
            Block::Chart(file, caption) => writeln!(out, "![{caption}]({file})\n").unwrap(),
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;\
padding:0 1em;color:#1d1d1f;line-height:1.45}h1{border-bottom:2px solid #333;padding-bottom:.2em}\
h2{margin-top:1.8em;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:1em 0;font-size:.92em}\
th,td{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}th{background:#f0f4f8}\
tr:nth-child(even) td{background:#fafafa}pre{background:#f6f8fa;padding:1em;overflow-x:auto;line-height:1.3}\
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9em}";

/// HTML: one file, charts inlined as `data:image/svg+xml` images.
fn html(doc: &Doc, dir: &Path) -> Result<String> {
    let mut out = String::new();
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>",
        escape::html(&doc.title),
        escape::html(&doc.title)
    )
    .unwrap();
    for b in &doc.blocks {
        match b {
            Block::Heading(level, text) => writeln!(out, "<h{level}>{}</h{level}>", escape::html(text)).unwrap(),
            Block::Para(text) => writeln!(out, "<p>{}</p>", escape::html(text)).unwrap(),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    writeln!(out, "<li>{}</li>", escape::html(i)).unwrap();
                }
                out.push_str("</ul>\n");
            }
            Block::Table { header, rows, strong } => {
                out.push_str("<table>\n<thead><tr>");
                for h in header {
                    write!(out, "<th>{}</th>", escape::html(h)).unwrap();
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for (i, c) in r.iter().enumerate() {
                        if Some(i) == *strong {
                            write!(out, "<td><strong>{}</strong></td>", escape::html(c)).unwrap();
                        } else {
                            write!(out, "<td>{}</td>", escape::html(c)).unwrap();
                        }
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Pre(lines) => writeln!(out, "<pre>{}</pre>", escape::html(&lines.join("\n"))).unwrap(),
            Block::Chart(file, caption) => {
                let path = dir.join(file);
                let svg = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                writeln!(
                    out,
                    "<figure><img alt=\"{}\" src=\"data:image/svg+xml;base64,{}\"><figcaption>{}</figcaption></figure>",
                    escape::html(caption),
                    base64(&svg),
                    escape::html(caption)
                )
                .unwrap();
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_shown_within_0_and_100_percent_and_never_as_a_hidden_0() {
        let e = |mean, ci95| Estimate { mean, ci95, n: 3 };
        assert_eq!(pct_ci(e(0.556, 0.829)), "55.6% (95% CI 0.0%–100.0%)");
        assert_eq!(pct_ci(e(0.123, 0.383)), "12.3% (95% CI 0.0%–50.6%)");
        assert_eq!(pct_ci(e(0.9, 0.05)), "90.0% ± 5.0%");
        assert_eq!(pct_ci(e(1.0, 0.0)), "100.0% ± 0.0%");
        assert_eq!(pct(1.0 / 4640.0), "0.022%");
        assert_eq!(pct(0.0), "0.0%");
        assert_eq!(pct(3.4e-16), "0.0%");
        assert_eq!(magnitude_ci(&e(518.0, 614.0), "ms"), "518.0 ms (95% CI 0–1132 ms)");
        assert_eq!(magnitude_ci(&e(98.28, 0.4), "ms"), "98.28 ± 0.40 ms");
        assert_eq!(pct(0.25), "25.0%");
    }

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
