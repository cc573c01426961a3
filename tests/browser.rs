//! The capacity-review report in a real browser: headless Chromium opens
//! `report.html` from disk (no network), and the screenshot must show the
//! tables and the charts drawn.
//!
//! `.ci/run` installs Debian's `chromium` when it is missing. Where no
//! browser can be found (CAPSIM_CHROMIUM, then `chromium`,
//! `chromium-browser`, `google-chrome` on PATH), the test says so loudly
//! and passes on a developer's machine; in CI (CI=true, or
//! CI_REQUIRE_BROWSER=1) that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CAPSIM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let dirs = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&dirs) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1200,16000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

const SCENARIO: &str = r#"
name: browser-check
duration: 4m
warmup: 30s
interval: 15s
traffic:
  rate: { ramp: { from: 100, to: 300, start: 0s, end: 4m } }
  classes: [ { name: api, cpu: { exponential: { mean: 20ms } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web: { instance_type: c6i.large, count: 4, workers: 8 }
"#;

#[test]
fn report_html_renders_its_charts_in_chromium() {
    let Some(browser) = browser() else {
        let message = "SKIPPED report_html_renders_its_charts_in_chromium: no Chromium found \
                       (install Debian's `chromium`, or set CAPSIM_CHROMIUM)";
        let required =
            std::env::var_os("CI_REQUIRE_BROWSER").is_some() || std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!required, "{message}");
        eprintln!("\n*** {message} ***\n");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_capsim"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--report"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let url = format!("file://{}", out.join("report.html").display());

    // The DOM Chromium built: the report's sections are there.
    let dom = headless(&browser, &dir.path().join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    for heading in [
        "Capacity review: browser-check",
        "Current bottlenecks",
        "Architecture",
        "Scaling plan",
        "Cost estimate",
        "Charts",
    ] {
        assert!(
            dom.contains(heading),
            "heading {heading} missing from the rendered page"
        );
    }

    // The pixels: not blank, and the charts' series colours are on screen
    // (they appear nowhere in the page's own styling).
    let shot = dir.path().join("shot.png");
    let status = headless(&browser, &dir.path().join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "unexpected PNG colour type {:?}", info.color_type);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let not_white = pixels.iter().filter(|p| p[..3] != [255, 255, 255]).count();
    assert!(
        not_white * 50 > pixels.len(),
        "the screenshot is nearly blank ({not_white} of {} pixels drawn)",
        pixels.len()
    );
    let near = |p: &[u8], c: [u8; 3]| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 12);
    let blue = pixels.iter().filter(|p| near(p, [31, 119, 180])).count();
    let orange = pixels.iter().filter(|p| near(p, [255, 127, 14])).count();
    assert!(
        blue > 500 && orange > 500,
        "chart lines missing from the screenshot (blue {blue}, orange {orange} pixels)"
    );
}
