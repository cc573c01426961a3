//! Comparisons, headroom, the run analysis and the capacity-review report.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn capsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// 8 single-core instances; 200 req/s of exactly 20 ms of CPU arriving
/// evenly: 4 busy cores, whatever the interval.
const STEADY: &str = r#"
name: steady
duration: 5m
warmup: 30s
interval: 30s
traffic:
  rate: { constant: 200 }
  arrivals: deterministic
  classes: [ { name: a, cpu: { constant: 20ms } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
instance_types:
  one: { vcpu: 1, memory_gib: 2, hourly_usd: 0.05 }
pools:
  web: { instance_type: one, count: 8, workers: 4 }
"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn analysis_measures_headroom_from_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "steady.yaml", STEADY);
    let out = dir.path().join("out");
    let status = capsim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--report"])
        .status()
        .unwrap();
    assert!(status.success());
    let a = json(&out.join("analysis.json"));
    let web = &a["components"][0];
    let busy = web["peak_used"].as_f64().unwrap();
    assert!((busy - 4.0).abs() < 0.05, "busy cores {busy}");
    // 8 cores / 4 busy: saturates at twice today's traffic; the 70% ceiling at ×1.4.
    let headroom = web["headroom"].as_f64().unwrap();
    assert!((headroom - 2.0).abs() < 0.03, "headroom {headroom}");
    assert!((web["ceiling_at"].as_f64().unwrap() - 1.4).abs() < 0.02);
    // ceil(4 / 0.7) = 6 instances hold the peak at 70%.
    assert_eq!(web["pool"]["instances_needed"], 6);
    assert_eq!(a["bottleneck"], 0);
    // ×1.5 and beyond pass the ceiling: the plan grows the pool to ceil(4·g / 0.7).
    let plan = a["plan"].as_array().unwrap();
    let actions = |i: usize| plan[i]["actions"].as_array().unwrap().clone();
    assert!(
        actions(0)[0]
            .as_str()
            .unwrap()
            .contains("grow pool web from 8 to 9 instances"),
        "{plan:?}"
    );
    assert!(actions(1)[0].as_str().unwrap().contains("from 8 to 12 instances"));
    assert!(actions(2)[0].as_str().unwrap().contains("from 8 to 23 instances"));
    // $0.05/h × 730 h per instance, plus the balancer (priced as an ALB) at today's cost.
    let others: f64 = a["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] != "pool")
        .map(|c| c["cost_per_month_usd"].as_f64().unwrap())
        .sum();
    assert!(others > 16.0, "the ALB's hours alone are $16.4/month: {others}");
    assert!((plan[1]["cost_per_month_usd"].as_f64().unwrap() - (12.0 * 36.5 + others)).abs() < 1e-6);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for heading in [
        "## Current bottlenecks",
        "## Architecture",
        "## Scaling plan",
        "## Cost estimate",
    ] {
        assert!(md.contains(heading), "missing {heading}");
    }
    assert!(md.contains("[lb: least connections]"));
}

#[test]
fn the_html_report_is_self_contained_and_escapes_names() {
    let dir = tempfile::tempdir().unwrap();
    // Class names are free text: markup, a code fence and line breaks in one
    // must stay text in both reports.
    let hostile = STEADY.replace(
        "{ name: a,",
        "{ name: \"a&b<script>alert('x')</script>\\n```\\n<img src=x onerror=alert(1)>\\n# owned\",",
    );
    let scenario = write(dir.path(), "hostile.yaml", &hostile);
    let out = dir.path().join("out");
    let run = capsim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // `capsim report` on the folder afterwards.
    let report = capsim().arg("report").arg(&out).output().unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "an unescaped script tag");
    assert!(!html.contains("<img src=x"), "an unescaped image tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("a&amp;b&lt;script&gt;"));
    // Markdown: no raw tag outside a code block, no heading or fence made by the name.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(open) if ticks.len() >= open.len() && line.trim_end() == ticks => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => {
                assert!(!line.contains("<script") && !line.contains("<img"), "live HTML: {line}");
                assert!(!line.starts_with("# owned"), "a heading made by a name: {line}");
            }
        }
    }
    assert!(fence.is_none(), "a code block left open");
    // Nothing is fetched: no external URL anywhere but the SVG namespace inside data: images.
    for needle in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "external reference {needle}");
    }
    assert!(html.matches("src=\"data:image/svg+xml;base64,").count() >= 5);
    // A folder capsim did not write is refused plainly, and nothing is written into it.
    let empty = capsim().arg("report").arg(dir.path()).output().unwrap();
    assert_eq!(empty.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("is not a capsim output folder"));
    assert!(!dir.path().join("report.md").exists());
    // A scenario name becomes a folder name: markup and paths are refused there.
    let named = write(
        dir.path(),
        "named.yaml",
        &STEADY.replace("name: steady", "name: \"<script>\""),
    );
    let refused = capsim().arg("validate").arg(&named).output().unwrap();
    assert_eq!(refused.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("names become file and folder names"));
}

fn compare(dir: &Path, files: &[&Path], out: &str, jobs: &str) -> std::process::Output {
    capsim()
        .arg("compare")
        .args(files)
        .args(["--replications", "4", "--jobs", jobs, "--out"])
        .arg(dir.join(out))
        .output()
        .unwrap()
}

fn metric<'a>(cmp: &'a Value, name: &str) -> &'a Value {
    cmp["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == name)
        .unwrap()
}

#[test]
fn a_scenario_compared_with_itself_differs_by_exactly_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let poisson = STEADY
        .replace("  arrivals: deterministic\n", "")
        .replace("{ constant: 20ms }", "{ exponential: { mean: 20ms } }");
    let a = write(dir.path(), "a.yaml", &poisson);
    let out = compare(dir.path(), &[&a, &a], "out", "2");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cmp = json(&dir.path().join("out/compare.json"));
    // The two copies get distinct folders.
    assert_eq!(cmp["scenarios"][1]["name"], "steady-2");
    for m in cmp["metrics"].as_array().unwrap() {
        let d = &m["differences"][0]["paired"];
        assert_eq!(d["mean"].as_f64(), Some(0.0), "{}", m["metric"]);
        assert_eq!(d["ci95"].as_f64(), Some(0.0), "{}", m["metric"]);
    }
    // Yet the replications themselves vary.
    assert!(
        metric(&cmp, "latency_p99_ms")["values"][0]["estimate"]["ci95"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn pairing_sharpens_the_scale_up_against_scale_out_difference() {
    let dir = tempfile::tempdir().unwrap();
    // Four minutes, without the examples' crash: this is about pairing.
    let shorter = |text: &str| {
        let without_fault = text.split("\n# One instance dies").next().unwrap_or(text);
        without_fault.replace("duration: 30m", "duration: 4m") + "\n"
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let up = write(
        dir.path(),
        "up.yaml",
        &shorter(&std::fs::read_to_string(root.join("scale-up.yaml")).unwrap()),
    );
    let out_ = write(
        dir.path(),
        "out.yaml",
        &shorter(&std::fs::read_to_string(root.join("scale-out.yaml")).unwrap()),
    );
    let one = compare(dir.path(), &[&up, &out_], "one", "1");
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    let two = compare(dir.path(), &[&up, &out_], "two", "3");
    assert!(two.status.success());
    for file in [
        "compare.csv",
        "compare.json",
        "compare-p99.svg",
        "scale-out/summary.json",
    ] {
        assert_eq!(
            std::fs::read(dir.path().join("one").join(file)).unwrap(),
            std::fs::read(dir.path().join("two").join(file)).unwrap(),
            "{file} depends on the thread count"
        );
    }
    let cmp = json(&dir.path().join("one/compare.json"));
    // Eight queues wait longer than one shared queue on 32 cores, at the same price.
    let queueing = &metric(&cmp, "queueing_mean_ms")["differences"][0];
    assert!(queueing["paired"]["mean"].as_f64().unwrap() > 1.0);
    let cost = &metric(&cmp, "cost_per_month_usd")["differences"][0]["paired"];
    assert!(cost["mean"].as_f64().unwrap().abs() < 1e-6);
    // The shared traffic cancels: both designs served the same arrivals, so
    // the paired CI of throughput is far tighter than an unpaired one, and
    // pairing narrows the latency difference's CI too.
    let ci = |name: &str| {
        let d = &metric(&cmp, name)["differences"][0];
        (
            d["paired"]["ci95"].as_f64().unwrap(),
            d["unpaired_ci95"].as_f64().unwrap(),
        )
    };
    let (paired, unpaired) = ci("throughput_rps");
    assert!(paired * 20.0 < unpaired, "paired ±{paired} vs unpaired ±{unpaired}");
    let (paired, unpaired) = ci("latency_mean_ms");
    assert!(paired < unpaired, "paired ±{paired} vs unpaired ±{unpaired}");
    let stdout = String::from_utf8(one.stdout).unwrap();
    assert!(stdout.contains("scale-out vs scale-up: p99 +"), "{stdout}");
}

#[test]
fn headroom_finds_where_the_slo_breaks_and_what_breaks_it() {
    let dir = tempfile::tempdir().unwrap();
    let with_slo = STEADY
        .replace("  arrivals: deterministic\n", "")
        .replace("{ constant: 20ms }", "{ exponential: { mean: 20ms } }")
        + "slo:\n  latency: { percentile: 99, threshold: 150ms }\n";
    let scenario = write(dir.path(), "s.yaml", &with_slo);
    let out = dir.path().join("hr");
    let run = capsim()
        .arg("headroom")
        .arg(&scenario)
        .args([
            "--from",
            "0.5",
            "--to",
            "2",
            "--step",
            "0.5",
            "--replications",
            "2",
            "--report",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let h = json(&out.join("headroom.json"));
    // ×2 is 400 req/s on 8 cores of 20 ms work: ρ = 1, never within the SLO;
    // ×1.5 (ρ = 0.75 over 8 M/M/1 queues behind least connections) holds.
    // Three bisection rounds then narrow the 0.5 gap to 0.0625.
    let holds = h["holds_up_to"].as_f64().unwrap();
    let breaks = h["breaks_at"].as_f64().unwrap();
    assert!((1.5..2.0).contains(&holds) && breaks <= 2.0, "{h}");
    assert!((breaks - holds - 0.0625).abs() < 1e-9, "{holds} .. {breaks}");
    assert_eq!(h["steps"].as_array().unwrap().len(), 4 + 3);
    let culprit = h["broken_by"].as_str().unwrap();
    assert!(culprit.contains("pool web on its 8 fixed instances"), "{culprit}");
    assert!(out.join("base/analysis.json").exists());
    assert!(out.join("headroom-latency.svg").exists());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("# Headroom: steady") && md.contains(&format!("breaks at ×{breaks}")),
        "{md}"
    );

    // Without an SLO there is nothing to break.
    let bare = write(dir.path(), "bare.yaml", STEADY);
    let refused = capsim().arg("headroom").arg(&bare).output().unwrap();
    assert_eq!(refused.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("headroom needs an SLO"));
}

#[test]
fn a_sweep_report_names_the_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "steady.yaml", STEADY);
    let sweep = write(
        dir.path(),
        "sweep.yaml",
        "base: steady.yaml\nparameters:\n  - path: pools.web.count\n    values: [5, 6, 8]\n\
         objective:\n  minimize: cost_total_usd\n  constraints: [ { metric: latency_p99_ms, max: 25 } ]\n",
    );
    let out = dir.path().join("out");
    let run = capsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--report")
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    // 4 busy cores of evenly spaced 20 ms jobs: 5 instances already queue
    // nothing, so the cheapest that meets p99 ≤ 25 ms is the smallest.
    assert!(md.contains("latency_p99_ms ≤ 25"), "{md}");
    assert!(md.contains("Recommended: point 0 (count=5)"), "{md}");
    assert!(md.contains("| **2 count=8** |"));
    assert!(out.join("report.html").exists());
    // Titled by the scenario, not by a path; counts in words that agree.
    assert!(md.starts_with("# Sweep over steady\n"), "{md}");
    assert!(
        md.contains("base scenario steady.yaml · 3 points × 1 replication ·"),
        "{md}"
    );
}

#[test]
fn bad_input_to_the_new_commands_is_refused_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.yaml", STEADY);
    let bad = write(dir.path(), "bad.yaml", &STEADY.replace("count: 8", "count: -1"));
    // compare: the invalid scenario is named with its place; nothing is written.
    let out = dir.path().join("cmp");
    let refused = capsim()
        .arg("compare")
        .arg(&good)
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("bad.yaml:") && stderr.contains("pools.web.count"),
        "{stderr}"
    );
    assert!(!out.exists());
    // compare needs two scenarios.
    let one = capsim().arg("compare").arg(&good).output().unwrap();
    assert_eq!(one.status.code(), Some(2));
    // headroom: nonsense ranges are usage errors.
    for args in [
        ["--from", "2", "--to", "1"],
        ["--step", "0", "--to", "2"],
        ["--compliance", "1.5", "--to", "2"],
        ["--p99-ms", "-3", "--to", "2"],
    ] {
        let r = capsim().arg("headroom").arg(&good).args(args).output().unwrap();
        assert_eq!(r.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn the_report_shows_what_faults_and_regions_cost() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = capsim()
        .args(["run", "scenarios/region-failover.yaml", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report = capsim().arg("report").arg(&out).output().unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let section = &md[md.find("## Faults in this run").expect("a faults section")..];
    let summary = json(&out.join("summary.json"));
    let lost = summary["regions"][1]["lost_while_dark"].as_u64().unwrap();
    assert!(section.contains("**region_outage at 900.0 s** | us-east"), "{section}");
    assert!(
        section.contains(&format!("| **us-east** | 35.1% | {lost} | 920.0 s |")),
        "{section}"
    );
    assert!(md.contains("errors.svg"), "the errors chart is in the report");
    // A run with nothing done to it has no such section.
    let quiet = dir.path().join("quiet");
    let run = capsim()
        .args(["run", "scenarios/quickstart.yaml", "--quiet", "--out"])
        .arg(&quiet)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(capsim().arg("report").arg(&quiet).output().unwrap().status.success());
    let md = std::fs::read_to_string(quiet.join("report.md")).unwrap();
    assert!(!md.contains("## Faults in this run") && !md.contains("errors.svg"));
}

/// A pool far past saturation is sized from the work offered to it, not
/// from its busy cores (capped at its 4 cores): 100 req/s of 30 s of CPU
/// offer 3,000 cores of work; at the 70% ceiling on 2-core instances that
/// is ⌈3000 / 1.4⌉ = 2,143 instances, not the 3 that busy cores suggest.
#[test]
fn a_saturated_pool_is_sized_from_offered_work() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "saturated.yaml",
        r#"
name: saturated
duration: 3m
warmup: 1m
interval: 30s
traffic:
  rate: { constant: 100 }
  arrivals: deterministic
  classes: [ { name: a, cpu: { constant: 30s } } ]
  target: lb
load_balancers:
  lb: { pool: web }
instance_types:
  two: { vcpu: 2, memory_gib: 4, hourly_usd: 0.1 }
pools:
  web: { instance_type: two, count: 2, workers: 4, queue_capacity: 10, timeout: 60s }
"#,
    );
    let out = dir.path().join("out");
    let status = capsim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .status()
        .unwrap();
    assert!(status.success());
    let a = json(&out.join("analysis.json"));
    let web = &a["components"][0];
    let offered = web["peak_demand"].as_f64().unwrap();
    assert!((offered - 3000.0).abs() < 1e-6, "offered {offered}");
    assert!(web["peak_used"].as_f64().unwrap() <= 4.0 + 1e-9);
    assert_eq!(web["pool"]["instances_needed"], 2143);
    let headroom = web["headroom"].as_f64().unwrap();
    assert!((headroom - 4.0 / 3000.0).abs() < 1e-9, "headroom {headroom}");
    let fix = web["fix"].as_str().unwrap();
    assert!(fix.contains("grow from 2 to 2143 instances"), "{fix}");
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("web.offered_cores"));
}

/// The review plans for the growth the user asks for: `--growth` on the
/// command line, else the scenario's `growth`, else ×1.5, ×2 and ×4.
#[test]
fn growth_horizons_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let run = |scenario: &Path, out: &str, growth: Option<&str>| {
        let mut cmd = capsim();
        cmd.arg("run").arg(scenario).arg("--out").arg(dir.path().join(out));
        cmd.args(["--quiet", "--report"]);
        if let Some(g) = growth {
            cmd.args(["--growth", g]);
        }
        cmd.output().unwrap()
    };
    let plan = |out: &str| json(&dir.path().join(out).join("analysis.json"))["plan"].clone();
    let steady = write(dir.path(), "steady.yaml", STEADY);
    assert!(run(&steady, "flag", Some("3,6")).status.success());
    let p = plan("flag");
    assert_eq!(p.as_array().unwrap().len(), 2);
    assert_eq!(p[0]["term"], "×3");
    // 4 busy cores × 3 at the 70% ceiling: ⌈17.1⌉ = 18; × 6: 35.
    assert!(
        p[0]["actions"][0].as_str().unwrap().contains("from 8 to 18 instances"),
        "{p}"
    );
    assert!(
        p[1]["actions"][0].as_str().unwrap().contains("from 8 to 35 instances"),
        "{p}"
    );
    let report = std::fs::read_to_string(dir.path().join("flag/report.md")).unwrap();
    assert!(report.contains("| ×3 | ×6 |"), "{report}");

    let field = write(dir.path(), "field.yaml", &format!("{STEADY}growth: [1.2]\n"));
    assert!(run(&field, "field", None).status.success());
    assert_eq!(plan("field").as_array().unwrap().len(), 1);
    assert_eq!(plan("field")[0]["growth"], 1.2);

    let bad = write(dir.path(), "bad.yaml", &format!("{STEADY}growth: [2, 1.5]\n"));
    let out = run(&bad, "bad", None);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("growth: must be in ascending order"));
    let out = run(&steady, "bad-flag", Some("0.5"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--growth: each must be a traffic multiple above 1"));
}
