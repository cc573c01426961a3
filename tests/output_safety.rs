//! capsim never deletes or writes into a folder it did not write: hostile
//! scenario names and `--out` paths, through every command that writes, in a
//! folder shaped like a real project; and publishing survives a kill at any
//! step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn capsim(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_capsim"));
    c.current_dir(cwd).env_remove("CAPSIM_FAULT_PUBLISH");
    c
}

const SCENARIO: &str = r#"
name: tiny
duration: 1m
traffic:
  rate: { constant: 50 }
  classes: [ { name: a, cpu: { exponential: { mean: 10ms } } } ]
  target: lb
load_balancers:
  lb: { policy: round_robin, pool: web }
pools:
  web: { instance_type: c6i.large, count: 2, workers: 4 }
slo: { latency: { percentile: 99, threshold: 500ms } }
"#;

const SWEEP: &str = r#"
base: tiny.yaml
parameters:
  - path: pools.web.count
    values: [2, 3]
"#;

/// Every file under `dir` with its bytes, and every folder (as `None`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if meta.is_dir() {
                out.insert(rel, None);
                todo.push(path);
            } else if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    Some(std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes()),
                );
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// `root/project` (Cargo.toml, src/, a link to src) and `root/victim`, a
/// folder beside it; the project is where capsim runs, with no `output/` yet.
fn project() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("Cargo.toml"), "[package]\nname = \"mine\"\n").unwrap();
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(project.join("tiny.yaml"), SCENARIO).unwrap();
    std::fs::write(project.join("sweep.yaml"), SWEEP).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(project.join("src"), project.join("src-link")).unwrap();
    let victim = root.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("thesis.tex"), "years of work\n").unwrap();
    (root, project)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn hostile_out_paths_never_touch_a_folder_capsim_did_not_write() {
    let (root, project) = project();
    // A shard to merge, made outside the project.
    let shards = tempfile::tempdir().unwrap();
    std::fs::write(shards.path().join("tiny.yaml"), SCENARIO).unwrap();
    std::fs::write(shards.path().join("sweep.yaml"), SWEEP).unwrap();
    let shard = shards.path().join("s0");
    let made = capsim(shards.path())
        .args(["sweep", "sweep.yaml", "--quiet", "--shard", "0/1", "--out"])
        .arg(&shard)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));

    let before = snapshot(root.path());
    let outs = [
        "n/../../victim",
        "n/../src",
        "n/m/../../src",
        "src-link",
        "src-link/../src",
        "../victim",
        "src/..",
        ".",
        "..",
        "/",
        "Cargo.toml",
    ];
    for out in outs {
        for force in [false, true] {
            let force: &[&str] = if force { &["--force"] } else { &[] };
            let commands: Vec<Vec<&str>> = vec![
                vec!["run", "tiny.yaml", "--quiet"],
                vec!["sweep", "sweep.yaml", "--quiet"],
                vec!["compare", "tiny.yaml", "tiny.yaml", "--replications", "1", "--quiet"],
                vec![
                    "headroom",
                    "tiny.yaml",
                    "--from",
                    "1",
                    "--to",
                    "1.5",
                    "--step",
                    "0.5",
                    "--replications",
                    "1",
                    "--refine",
                    "0",
                    "--quiet",
                ],
            ];
            for command in commands {
                let o = capsim(&project)
                    .args(&command)
                    .args(force)
                    .args(["--out", out])
                    .output()
                    .unwrap();
                assert_eq!(o.status.code(), Some(1), "{command:?} --out {out}: {}", stderr(&o));
                assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
                assert_eq!(
                    snapshot(root.path()),
                    before,
                    "{command:?} {force:?} --out {out} changed files"
                );
            }
            let o = capsim(&project)
                .arg("merge")
                .arg(&shard)
                .args(force)
                .args(["--out", out])
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(1), "merge --out {out}: {}", stderr(&o));
            assert_eq!(
                snapshot(root.path()),
                before,
                "merge {force:?} --out {out} changed files"
            );
        }
    }
    // `report` writes into the folder it is given: only into capsim's own.
    for dir in ["src", "src-link", "../victim", "."] {
        let o = capsim(&project).args(["report", dir]).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "report {dir}: {}", stderr(&o));
        assert!(stderr(&o).contains("is not a capsim output folder"), "{}", stderr(&o));
    }
    // A summary.json of the user's own does not make a folder capsim's.
    std::fs::write(root.path().join("victim/summary.json"), "{}").unwrap();
    let before = snapshot(root.path());
    let o = capsim(&project)
        .args(["run", "tiny.yaml", "--quiet", "--force", "--out", "../victim"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = capsim(&project).args(["report", "../victim"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(snapshot(root.path()), before);
}

#[test]
fn hostile_scenario_names_are_refused_before_anything_is_written() {
    let (root, project) = project();
    let before = snapshot(root.path());
    let long = "x".repeat(300);
    for name in [
        "../src",
        "../../victim",
        "/tmp/capsim-escape",
        "..",
        ".",
        "a/b",
        "a\\u0000b",
        "a\\nb",
        long.as_str(),
        "",
    ] {
        let text = SCENARIO.replace("name: tiny", &format!("name: \"{name}\""));
        std::fs::write(project.join("evil.yaml"), &text).unwrap();
        let expected = snapshot(root.path());
        for command in [
            &["validate", "evil.yaml"][..],
            &["run", "evil.yaml", "--force"],
            &["headroom", "evil.yaml", "--force"],
        ] {
            let o = capsim(&project).args(command).output().unwrap();
            assert_eq!(o.status.code(), Some(3), "{command:?} name {name:?}: {}", stderr(&o));
            assert!(stderr(&o).contains("name"), "{}", stderr(&o));
            assert_eq!(snapshot(root.path()), expected, "{command:?} with name {name:?}");
        }
        let o = capsim(&project)
            .args(["compare", "tiny.yaml", "evil.yaml", "--force"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "compare with name {name:?}");
    }
    std::fs::remove_file(project.join("evil.yaml")).unwrap();
    assert_eq!(snapshot(root.path()), before);
    assert!(!Path::new("/tmp/capsim-escape").exists());
}

/// The hidden entries beside `dest`.
fn hidden_beside(dest: &Path) -> Vec<String> {
    std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn publishing_survives_a_kill_at_every_step() {
    let (_root, project) = project();
    let out = project.join("output/tiny");
    let run = |seed: &str, fault: Option<&str>, force: bool| {
        let mut c = capsim(&project);
        c.args(["run", "tiny.yaml", "--quiet", "--seed", seed]);
        if force {
            c.arg("--force");
        }
        if let Some(f) = fault {
            c.env("CAPSIM_FAULT_PUBLISH", f);
        }
        c.output().unwrap()
    };
    let summary = || std::fs::read(out.join("summary.json")).unwrap();
    assert!(run("1", None, false).status.success());
    let first = summary();

    // Killed once the new result is in place, before the old one is removed:
    // the new result is whole; the old one waits under a hidden name, and
    // the next command removes it.
    let killed = run("2", Some("after-swap"), true);
    assert!(!killed.status.success());
    let second = summary();
    assert_ne!(second, first);
    assert!(out.join("latency.svg").exists() && out.join(".capsim").exists());
    assert_eq!(hidden_beside(&out).len(), 1, "{:?}", hidden_beside(&out));
    assert!(run("3", None, true).status.success());
    assert!(hidden_beside(&out).is_empty(), "{:?}", hidden_beside(&out));
    let third = summary();

    // Where the file system cannot swap in one step: two moves, and a kill
    // between them leaves the destination missing until the next command
    // puts the previous result back.
    assert!(run("4", Some("no-exchange"), true).status.success());
    assert!(hidden_beside(&out).is_empty());
    let fourth = summary();
    assert_ne!(fourth, third);
    let killed = run("5", Some("no-exchange-kill"), true);
    assert!(!killed.status.success());
    assert!(!out.exists());
    let again = run("6", None, false);
    assert_eq!(
        again.status.code(),
        Some(1),
        "the restored result is refused without --force"
    );
    assert!(stderr(&again).contains("already holds a result"), "{}", stderr(&again));
    assert_eq!(summary(), fourth);
    assert!(hidden_beside(&out).is_empty(), "{:?}", hidden_beside(&out));
}

#[test]
fn records_that_are_not_plain_text_files_are_invalid_input() {
    // A shard whose shard.json is a link to an endless device, a pipe, a
    // folder or not UTF-8: refused at once with exit 3 (never read forever).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.yaml"), SCENARIO).unwrap();
    std::fs::write(dir.path().join("sweep.yaml"), SWEEP).unwrap();
    let shard = dir.path().join("s0");
    let made = capsim(dir.path())
        .args(["sweep", "sweep.yaml", "--quiet", "--shard", "0/1", "--out"])
        .arg(&shard)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let file = shard.join("shard.json");
    type Make<'a> = Box<dyn Fn() + 'a>;
    let mut cases: Vec<(&str, Make)> = vec![
        (
            "a folder",
            Box::new(|| std::fs::create_dir(shard.join("shard.json")).unwrap()),
        ),
        (
            "not UTF-8",
            Box::new(|| std::fs::write(shard.join("shard.json"), b"{\"capsim_version\": \"\xff\xfe\"}").unwrap()),
        ),
    ];
    #[cfg(unix)]
    cases.push((
        "a link to /dev/zero",
        Box::new(|| std::os::unix::fs::symlink("/dev/zero", shard.join("shard.json")).unwrap()),
    ));
    #[cfg(target_os = "linux")]
    cases.push((
        "a pipe",
        Box::new(|| {
            assert!(
                Command::new("mkfifo")
                    .arg(shard.join("shard.json"))
                    .status()
                    .unwrap()
                    .success()
            );
        }),
    ));
    for (what, make) in cases {
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_dir(&file);
        make();
        let o = capsim(dir.path())
            .arg("merge")
            .arg(&shard)
            .args(["--quiet", "--out"])
            .arg(dir.path().join("merged"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains("shard.json"), "{what}: {}", stderr(&o));
        assert!(!dir.path().join("merged").exists());
    }
}

#[test]
fn a_sweep_file_name_becomes_a_safe_folder_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.yaml"), SCENARIO).unwrap();
    for (file, folder) in [("..yaml", "sweep"), ("x y.yaml", "x_y")] {
        std::fs::write(dir.path().join(file), SWEEP).unwrap();
        let o = capsim(dir.path()).args(["sweep", file, "--quiet"]).output().unwrap();
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert!(
            dir.path().join("output").join(folder).join("sweep.csv").exists(),
            "{file}"
        );
    }
}
