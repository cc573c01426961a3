//! The `capsim` binary: outputs, exit codes, and nothing half-written on bad input.

use std::path::Path;
use std::process::Command;

fn capsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
}

#[test]
fn run_writes_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q");
    let status = capsim()
        .args(["run", "scenarios/quickstart.yaml", "--quiet", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    for chart in [
        "latency",
        "throughput",
        "errors",
        "utilization",
        "queue",
        "instances",
        "cost",
    ] {
        let png = std::fs::read(out.join(format!("{chart}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{chart}.png");
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{chart}.svg");
    }
    let svg = std::fs::read_to_string(out.join("latency.svg")).unwrap();
    assert!(svg.contains("response time per interval") && svg.contains("latency (ms)"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scenario"], "quickstart");
    assert_eq!(summary["seed"], 42);
    assert_eq!(summary["stop_reason"], "end_time");
    // Per-class latency is reported for both classes.
    assert_eq!(summary["classes"][1]["name"], "search");
    assert!(summary["classes"][1]["latency"]["count"].as_u64().unwrap() > 0);
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(csv.starts_with("t_start_s,t_end_s,target_rps,offered_rps"));
    assert_eq!(csv.lines().count(), 1 + 90, "15 minutes of 10 s intervals");
    // A warm fleet with no scaling has no discrete events.
    assert!(!out.join("events.csv").exists());
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n != ".capsim")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // capsim's mark, which lets a later --force replace the folder.
    assert!(out.join(".capsim").is_file());
}

/// Hidden entries (staging or set-aside folders) in `dir`.
fn hidden(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn a_previous_result_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q");
    let run = |extra: &[&str]| {
        capsim()
            .args(["run", "scenarios/quickstart.yaml", "--quiet", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let first = std::fs::read(out.join("summary.json")).unwrap();
    // Again: refused, and the previous result is untouched.
    let again = run(&["--seed", "7"]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already holds a result; pass --force to replace it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), first);
    // With --force the new result replaces it whole.
    assert!(run(&["--seed", "7", "--force"]).status.success());
    assert_ne!(std::fs::read(out.join("summary.json")).unwrap(), first);
    assert!(hidden(dir.path()).is_empty(), "{:?}", hidden(dir.path()));
    // A folder capsim did not write is never replaced, even with --force.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let refused = capsim()
        .args(["run", "scenarios/quickstart.yaml", "--quiet", "--force", "--out"])
        .arg(&mine)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("holds no capsim result; refusing to replace it (capsim replaces only folders it wrote")
    );
    assert_eq!(std::fs::read_to_string(mine.join("notes.txt")).unwrap(), "keep me");
    assert!(hidden(dir.path()).is_empty(), "{:?}", hidden(dir.path()));
}

#[test]
fn run_prints_a_summary_and_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let output = capsim()
        .args(["run", "scenarios/launch-replay.yaml", "--seed", "9", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("seed: 9 (rerun with --seed 9)"), "{stdout}");
    assert!(stdout.contains("latency:"), "{stdout}");
    let events = std::fs::read_to_string(dir.path().join("events.csv")).unwrap();
    assert!(
        events.starts_with("time_s,event,component,instance\n0,instance_launched,cache-api,0\n"),
        "{events}"
    );
}

#[test]
fn replications_report_confidence_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let status = capsim()
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--quiet",
            "--replications",
            "3",
            "--out",
        ])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap()).unwrap();
    let p99 = &summary["replications"]["metrics"]["latency_p99_ms"];
    assert_eq!(summary["replications"]["count"], 3);
    assert!(
        p99["mean"].as_f64().unwrap() > 0.0 && p99["ci95"].as_f64().unwrap() > 0.0,
        "{p99}"
    );
}

#[test]
fn invalid_scenario_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string("scenarios/quickstart.yaml")
            .unwrap()
            .replace("count: 4", "count: -4"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = capsim().arg("run").arg(&bad).arg("--out").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: 1 problem in ") && stderr.lines().next().unwrap().ends_with("bad.yaml"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.yaml:37:12: pools.web.count:"), "{stderr}");
    assert!(!Path::new(&out).exists());

    let output = capsim().arg("validate").arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
}

#[test]
fn validate_accepts_the_examples() {
    let output = capsim()
        .args(["validate", "scenarios/quickstart.yaml", "scenarios/scale-out.yaml"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("scenarios/quickstart.yaml: ok")
    );
}

#[test]
fn usage_errors_exit_2_and_missing_files_exit_1() {
    assert_eq!(capsim().args(["run"]).output().unwrap().status.code(), Some(2));
    assert_eq!(capsim().args(["frobnicate"]).output().unwrap().status.code(), Some(2));
    let output = capsim().args(["run", "no/such/file.yaml"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("error: reading scenario no/such/file.yaml")
    );
}

#[test]
fn a_spent_event_budget_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("budget.yaml");
    let text = std::fs::read_to_string("scenarios/quickstart.yaml")
        .unwrap()
        .replace("seed: 42", "seed: 42\nmax_events: 5000");
    std::fs::write(&scenario, text).unwrap();
    let output = capsim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("stopped: event_budget"), "{stdout}");
    assert!(
        stdout.contains("warning:  the event budget (`max_events`) ran out at"),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["stop_reason"], "event_budget");
    assert_eq!(summary["events"], 5000);
    assert!(summary["simulated_s"].as_f64().unwrap() < 900.0);
}

#[test]
fn export_hpa_prints_an_applicable_manifest() {
    let output = capsim()
        .args(["export-hpa", "scenarios/hpa-manifest.yaml"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: checkout\n"));
    assert!(text.contains("  minReplicas: 3\n  maxReplicas: 24\n"));
    let output = capsim()
        .args(["export-hpa", "scenarios/quickstart.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("no pool in scenarios/quickstart.yaml has an HPA")
    );
    // A run writes the same manifest next to its results.
    let dir = tempfile::tempdir().unwrap();
    let status = capsim()
        .args(["run", "scenarios/hpa-manifest.yaml", "--quiet", "--out"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("hpa-checkout.yaml")).unwrap(),
        text
    );
    let log = std::fs::read_to_string(dir.path().join("scaling.csv")).unwrap();
    assert!(log.starts_with("time_s,pool,current,metrics,proposed,stabilized,stabilization,desired,reason\n"));
}

/// A copy of quickstart in `dir` with the rate curve `rate` (YAML).
fn quickstart_with_rate(dir: &Path, name: &str, rate: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    let curve = "    product:\n      - constant: 400                 # requests per second\n      - spike: { start: 6m, duration: 2m, multiplier: 1.6, rise: 30s, decay: 1m }\n";
    assert!(text.contains(curve));
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(curve, &format!("    {rate}\n"), 1)).unwrap();
    path
}

/// The exit code and stderr of `capsim validate FILE`.
fn validate(file: &Path) -> (Option<i32>, String) {
    let output = capsim().arg("validate").arg(file).output().unwrap();
    (output.status.code(), String::from_utf8(output.stderr).unwrap())
}

#[test]
fn endless_input_files_are_refused_at_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Before the limits, this replay read 12 GB and the manifest 7.6 GB.
    let replay = quickstart_with_rate(dir.path(), "replay.yaml", "replay: { file: /dev/zero }");
    let (code, stderr) = validate(&replay);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "traffic.rate.replay.file: cannot read `/dev/zero`: larger than 256 MiB, the limit for replay files"
        ),
        "{stderr}"
    );
    let hpa = std::fs::read_to_string("scenarios/hpa-manifest.yaml")
        .unwrap()
        .replace("manifest: k8s/checkout-hpa.yaml", "manifest: /dev/zero");
    std::fs::write(dir.path().join("hpa.yaml"), hpa).unwrap();
    let (code, stderr) = validate(&dir.path().join("hpa.yaml"));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("manifest: cannot read `/dev/zero`: larger than 1.5 MiB, the limit for HPA manifest files"),
        "{stderr}"
    );
    let (code, stderr) = validate(Path::new("/dev/zero"));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("/dev/zero: larger than 64 MiB, the limit for scenario files"),
        "{stderr}"
    );
    // A sweep file and the base scenario it names are read the same way.
    let output = capsim().args(["sweep", "/dev/zero", "--quiet"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("the limit for sweep files")
    );
    let sweep = dir.path().join("sweep.yaml");
    std::fs::write(
        &sweep,
        "base: /dev/zero\nparameters:\n  - { path: seed, values: [1, 2] }\n",
    )
    .unwrap();
    let output = capsim().arg("sweep").arg(&sweep).arg("--quiet").output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("the limit for scenario files")
    );
}

#[test]
fn errors_never_echo_an_arbitrary_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t:x:0:0:the-whole-line-of-someone-elses-file";
    let csv = dir.path().join("not-a-replay.txt");
    std::fs::write(&csv, format!("{secret}\nmore\n")).unwrap();
    let replay = format!("replay: {{ file: {} }}", csv.display());
    let scenario = quickstart_with_rate(dir.path(), "replay.yaml", &replay);
    let (code, stderr) = validate(&scenario);
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("line 1: expected two columns `time,rate`, found 1"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
    // A quoted cell is cut to a short excerpt, its control characters escaped.
    std::fs::write(&csv, format!("0,{secret}\u{1b}[2J\n")).unwrap();
    let (_, stderr) = validate(&scenario);
    let excerpt = format!("line 1: rate `{}…` is not a number", &secret[..40]);
    assert!(stderr.contains(&excerpt), "{stderr}");
    assert!(!stderr.contains(secret) && !stderr.contains('\u{1b}'), "{stderr}");
    // A file that is not a scenario is quoted no further than an excerpt either.
    let passwd = dir.path().join("passwd");
    std::fs::write(&passwd, format!("{secret}\n{secret}\n")).unwrap();
    let (code, stderr) = validate(&passwd);
    assert_eq!(code, Some(3));
    assert!(!stderr.contains(secret), "{stderr}");
}

#[test]
fn a_scenario_that_is_not_utf8_exits_3_naming_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    let mut bytes = text
        .replacen("name: quickstart", "name: quick\u{e9}start", 1)
        .into_bytes();
    // Latin-1 é: one byte 0xe9 where UTF-8 has two.
    let at = bytes.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
    bytes.splice(at..at + 2, [0xe9]);
    let file = dir.path().join("latin1.yaml");
    std::fs::write(&file, &bytes).unwrap();
    let line = 1 + text[..at].matches('\n').count();
    let (code, stderr) = validate(&file);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "latin1.yaml:{line}:12: not UTF-8 text: byte 0xe9 (offset {at}) is not valid UTF-8"
        )),
        "{stderr}"
    );
    let output = capsim()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
}

/// Runs `command`, failing the test (and killing it) if it has not
/// finished within `limit`: for commands that used never to end.
fn output_within(command: &mut Command, limit: std::time::Duration) -> std::process::Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("{command:?} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn jobs_beyond_the_machine_are_lowered_to_it() {
    let dir = tempfile::tempdir().unwrap();
    // Before the bound, this started 13,292 threads and never finished.
    let output = output_within(
        capsim()
            .args([
                "run",
                "scenarios/quickstart.yaml",
                "--replications",
                "2",
                "--jobs",
                "100000",
                "--out",
            ])
            .arg(dir.path().join("run"))
            .env_remove("CAPSIM_OVERSUBSCRIBE"),
        std::time::Duration::from_secs(120),
    );
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("note: --jobs 100000 is more than the ")
            && stderr.contains(" threads this machine runs at once; using "),
        "{stderr}"
    );
    // Oversubscribing is asked for explicitly, and bounded even then.
    for command in [
        vec!["run", "scenarios/quickstart.yaml", "--replications", "2"],
        vec!["sweep", "scenarios/sweeps/hpa-target.yaml"],
        vec!["compare", "scenarios/scale-up.yaml", "scenarios/scale-out.yaml"],
        vec!["headroom", "scenarios/quickstart.yaml"],
    ] {
        let output = capsim()
            .args(&command)
            .args(["--jobs", "100000", "--quiet", "--out"])
            .arg(dir.path().join("never"))
            .env("CAPSIM_OVERSUBSCRIBE", "1")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        assert!(
            String::from_utf8(output.stderr)
                .unwrap()
                .contains("error: --jobs 100000: at most 1024 threads, even with CAPSIM_OVERSUBSCRIBE=1"),
            "{command:?}"
        );
    }
    assert!(!dir.path().join("never").exists());
}

#[test]
fn a_run_stopped_at_once_reports_undefined_figures_as_n_a() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("stopped.yaml");
    let text = std::fs::read_to_string("scenarios/quickstart.yaml")
        .unwrap()
        .replace("seed: 42", "seed: 42\nmax_events: 1");
    std::fs::write(&scenario, text).unwrap();
    let out = dir.path().join("out");
    let output = capsim()
        .arg("run")
        .arg(&scenario)
        .arg("--report")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    // The review report used to fail on the nulls of analysis.json.
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("latency:  mean n/a ms"), "{stdout}");
    for file in [
        "summary.json",
        "analysis.json",
        "timeseries.csv",
        "report.md",
        "report.html",
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(!text.contains("NaN") && !text.contains("inf,"), "{file}");
    }
    assert!(!stdout.contains("NaN"), "{stdout}");
    // Scaling the traffic beyond the highest rate is refused up front.
    let output = capsim()
        .args([
            "headroom",
            "scenarios/quickstart.yaml",
            "--to",
            "1e10",
            "--step",
            "1e8",
            "--out",
        ])
        .arg(dir.path().join("headroom"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("a rate is at most 1e9 req/s")
    );
}

#[test]
fn import_hpa_prints_the_inline_form_and_locates_problems() {
    let output = capsim()
        .args(["import-hpa", "scenarios/k8s/checkout-hpa.yaml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("autoscaler:\n  hpa:\n    metadata:\n      name: checkout\n      namespace: shop\n"),
        "{text}"
    );
    assert!(
        text.contains("      - resource: { name: cpu, target: { average_utilization: 65 } }\n"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("hpa.yaml");
    let manifest = std::fs::read_to_string("scenarios/k8s/checkout-hpa.yaml").unwrap();
    std::fs::write(
        &bad,
        manifest.replace("averageUtilization: 65", "averageUtilization: \"65\""),
    )
    .unwrap();
    let output = capsim().arg("import-hpa").arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.contains("hpa.yaml:25:29: spec.metrics[0].resource.target.averageUtilization"),
        "{err}"
    );
}

/// `capsim … | head -1`: the reader is gone before capsim prints. The
/// command finishes quietly with status 0 and its files are whole.
#[test]
fn a_closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q");
    let mut child = capsim()
        .args(["run", "scenarios/quickstart.yaml", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closing the read end before the run (well over a millisecond) ends
    // makes every print after it meet a closed pipe.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.join("summary.json").is_file());
    assert!(out.join("report.md").is_file() || out.join("latency.svg").is_file());
}

/// A write that fails for another reason (a full disk behind a redirect)
/// is an error: exit 1, said on standard error.
#[test]
#[cfg(target_os = "linux")]
fn a_failed_write_to_stdout_exits_1() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let output = capsim()
        .args(["validate", "scenarios/quickstart.yaml"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: writing to standard output"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A sweep file given to `run` is named as one, with the command that
/// runs it, not refused as "unknown field `base`".
#[test]
fn a_sweep_file_given_as_a_scenario_says_so() {
    let output = capsim()
        .args(["run", "scenarios/sweeps/hpa-target.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("this is a sweep file (it has `base` and the fields to vary), not a scenario")
            && stderr.contains("capsim sweep scenarios/sweeps/hpa-target.yaml"),
        "{stderr}"
    );
    assert!(!stderr.contains("unknown field"), "{stderr}");
}

/// `validate` checks a sweep file as `sweep` would before running
/// anything (every point, the objective's metrics) and an HPA manifest as
/// `import-hpa` would, beside scenarios, in one call.
#[test]
fn validate_checks_sweep_files_and_manifests_too() {
    let output = capsim()
        .args([
            "validate",
            "scenarios/quickstart.yaml",
            "scenarios/sweeps/hpa-target.yaml",
            "scenarios/k8s/checkout-hpa.yaml",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "scenarios/sweeps/hpa-target.yaml: ok (sweep over ../hpa-diurnal.yaml: 12 points × 3 replications = 36 runs)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("scenarios/k8s/checkout-hpa.yaml: ok (HorizontalPodAutoscaler manifest)"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("bad-sweep.yaml");
    let base = std::fs::canonicalize("scenarios/quickstart.yaml").unwrap();
    std::fs::write(
        &sweep,
        format!(
            "base: {}\nparameters:\n  - path: duration\n    values: [10m, 20m]\nobjective:\n  minimize: cost_usd\n",
            base.display()
        ),
    )
    .unwrap();
    let manifest = dir.path().join("v1.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 0\n",
    )
    .unwrap();
    let output = capsim().arg("validate").arg(&sweep).arg(&manifest).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cost_usd"), "{stderr}");
    assert!(stderr.contains("v1.yaml"), "{stderr}");
}

/// `sweep --dry-run` checks the sweep, prints the runs it would make and an
/// estimate measured on point 0, and writes nothing.
#[test]
fn a_dry_run_counts_the_runs_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = capsim()
        .args(["sweep", "scenarios/sweeps/hpa-target.yaml", "--dry-run", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("12 points × 3 replications = 36 runs"), "{stdout}");
    // 36 runs of 16 h each.
    assert!(stdout.contains("24 d of simulated time"), "{stdout}");
    assert!(stdout.contains("timed: point 0's first"), "{stdout}");
    assert!(!out.exists(), "a dry run wrote {}", out.display());
}

/// One of a thing is singular.
#[test]
fn counts_of_one_are_singular() {
    let output = capsim()
        .args(["validate", "scenarios/quickstart.yaml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(", 1 pool)"), "{stdout}");
}

/// README's synopsis is the command line as `--help` defines it: a line for
/// every subcommand, naming every flag it takes and no flag it does not.
#[test]
fn the_readme_synopsis_matches_the_command_line() {
    use clap::CommandFactory;
    let readme = std::fs::read_to_string("README.md").unwrap();
    let heading = "## Commands\n\n```\n";
    let start = readme.find(heading).expect("README has a Commands section") + heading.len();
    let synopsis = &readme[start..start + readme[start..].find("```").unwrap()];
    let cli = capsim::cli::Cli::command();
    let mut named = Vec::new();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        let line = synopsis
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("README's synopsis has no line for `capsim {name}`:\n{synopsis}"));
        named.push(name.to_string());
        let flags: Vec<&str> = sub
            .get_arguments()
            .filter_map(|a| a.get_long())
            .filter(|l| !matches!(*l, "help" | "version"))
            .collect();
        for flag in &flags {
            assert!(
                line.split([' ', '[', ']']).any(|w| w == format!("--{flag}")),
                "README's `capsim {name}` line leaves out --{flag}:\n{line}"
            );
        }
        for word in line.split([' ', '[', ']']) {
            if let Some(flag) = word.strip_prefix("--") {
                assert!(
                    flags.contains(&flag),
                    "README's `capsim {name}` line names --{flag}, which it does not take:\n{line}"
                );
            }
        }
    }
    for line in synopsis.lines() {
        let name = line.split_whitespace().nth(1).unwrap_or_default();
        assert!(
            named.iter().any(|n| n == name),
            "README names `capsim {name}`, which does not exist"
        );
    }
}

/// `--json` prints the command's main JSON file on stdout, the very bytes it
/// wrote, and nothing else there.
#[test]
fn json_prints_the_main_file_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep.yaml");
    let base = std::fs::canonicalize("scenarios/quickstart.yaml").unwrap();
    std::fs::write(
        &sweep,
        format!(
            "base: {}\nparameters:\n  - path: pools.web.count\n    values: [4, 5]\n  - path: duration\n    values: [3m]\n",
            base.display()
        ),
    )
    .unwrap();
    let q = "scenarios/quickstart.yaml";
    let cases: [(&str, Vec<&str>, &str); 4] = [
        ("run", vec!["run", q], "summary.json"),
        ("compare", vec!["compare", q, q, "--replications", "2"], "compare.json"),
        (
            "headroom",
            vec![
                "headroom", q, "--from", "1", "--to", "1", "--step", "1", "--refine", "0",
            ],
            "headroom.json",
        ),
        ("sweep", vec!["sweep", sweep.to_str().unwrap()], "sweep.json"),
    ];
    for (name, args, file) in cases {
        let out = dir.path().join(name);
        let output = capsim()
            .args(&args)
            .arg("--json")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let written = std::fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(stdout.trim_end(), written.trim_end(), "{name}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// `completions SHELL` prints a script for each shell that names the
/// subcommands and their flags.
#[test]
fn completions_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = capsim().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        for word in ["headroom", "import-hpa", "dry-run", "replications"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let output = capsim().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// The run's charts say what they show: an errors chart without faults or
/// deploys does not promise them, the latency chart draws the SLO, the
/// utilisation chart the HPA's target, and time to capacity is points per
/// scale-up, without a node-wait series where no node pool made anything wait.
#[test]
fn run_charts_show_their_references_and_only_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("hpa.yaml");
    std::fs::write(
        &scenario,
        std::fs::read_to_string("scenarios/hpa-diurnal.yaml")
            .unwrap()
            .replace("duration: 24h", "duration: 14h"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = capsim()
        .arg("run")
        .arg(&scenario)
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let texts = |chart: &str| -> Vec<String> {
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap();
        let lines: Vec<&str> = svg.lines().collect();
        lines
            .windows(2)
            .filter(|w| w[0].starts_with("<text"))
            .map(|w| w[1].to_string())
            .collect()
    };
    assert_eq!(texts("errors")[0], "Error rate per interval");
    assert!(texts("latency").iter().any(|t| t == "SLO: p99 ≤ 250 ms"));
    assert!(texts("latency").iter().any(|t| t == "simulated time (h)"));
    assert!(texts("utilization").iter().any(|t| t == "api: HPA target 60%"));
    let capacity = texts("capacity");
    assert!(capacity.iter().any(|t| t == "boot"), "{capacity:?}");
    assert!(!capacity.iter().any(|t| t == "waiting for a node"), "{capacity:?}");
    let svg = std::fs::read_to_string(out.join("capacity.svg")).unwrap();
    assert!(svg.contains("<circle"), "scale-ups drawn as points");
    // The first colour's lines (the "total" series, were it a line).
    assert!(
        !svg.lines()
            .any(|l| l.starts_with("<polyline") && l.to_ascii_uppercase().contains("#1F77B4")),
        "scale-ups hours apart joined by lines"
    );
}
