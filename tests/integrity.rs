//! Shards and sweep checkpoints are checked before anything in them is used:
//! a unit that lacks a metric, names one twice or under another name, a
//! value edited without its hash, a shard of another capsim version, a unit
//! given twice or outside the sweep, a file cut short — each is refused with
//! exit code 3 and a message that names the file and the unit, never a
//! panic, never a wrong merge, and no output folder is written.
//!
//! The last test mutates shard files and checkpoint units at random (keys
//! deleted or renamed, values replaced by extremes, list items deleted,
//! duplicated or swapped, numbers rewritten, the text cut short), some of
//! them resealed with fresh hashes as a careful forger would:
//! `CAPSIM_FUZZ_CASES` sets how many (48 by default, what CI runs) and
//! `CAPSIM_FUZZ_SEED` where to start.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::{Value, json};

fn capsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
}

const BASE: &str = r#"
name: base
duration: 1m
traffic:
  rate: { constant: 100 }
  classes: [ { name: a, cpu: { exponential: { mean: 20ms } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web: { instance_type: c6i.large, count: 2, workers: 8 }
"#;

/// Two points × two replications; shard 0 of 2 holds units (0, 0) and
/// (1, 0), shard 1 holds (0, 1) and (1, 1).
const SWEEP: &str = r#"
base: base.yaml
replications: 2
parameters:
  - path: pools.web.count
    values: [2, 3]
objective:
  minimize: cost_total_usd
  constraints: [ { metric: latency_p99_ms, max: 500 } ]
"#;

const OUTPUTS: [&str; 3] = ["sweep.csv", "sweep.json", "runs.json"];

/// A sweep run whole (`whole/`, with its checkpoint) and as two shards
/// (`shards/s0`, `shards/s1`).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.yaml"), BASE).unwrap();
    std::fs::write(dir.path().join("sweep.yaml"), SWEEP).unwrap();
    let whole = sweep(dir.path(), &dir.path().join("whole"), &[]);
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    for i in 0..2 {
        let out = dir.path().join(format!("shards/s{i}"));
        let shard = sweep(dir.path(), &out, &["--shard", &format!("{i}/2")]);
        assert!(shard.status.success(), "{}", String::from_utf8_lossy(&shard.stderr));
    }
    dir
}

fn sweep(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    capsim()
        .arg("sweep")
        .arg(dir.join("sweep.yaml"))
        .args(["--jobs", "1", "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn merge(shards: &Path, out: &Path) -> Output {
    capsim()
        .arg("merge")
        .arg(shards)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// FNV-1a, 64-bit, as the shard format documents it.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Gives an object the hash of its content, as capsim would: FNV-1a of its
/// compact JSON (keys sorted) without the `hash` field.
fn seal(object: &mut Value) {
    let Some(map) = object.as_object_mut() else { return };
    map.remove("hash");
    let hash = format!("{:016x}", fnv1a(Value::Object(map.clone()).to_string().as_bytes()));
    map.insert("hash".into(), Value::String(hash));
}

/// Reseals a shard file: every unit, then the whole.
fn seal_shard(doc: &mut Value) {
    if let Some(units) = doc.get_mut("units").and_then(Value::as_array_mut) {
        units.iter_mut().for_each(seal);
    }
    seal(doc);
}

fn metrics(unit: &mut Value) -> &mut Vec<Value> {
    unit["metrics"].as_array_mut().unwrap()
}

/// Asserts a clean refusal: exit code 3, every expected piece in the
/// message, no panic, and no output folder.
fn assert_refused(out: &Output, folder: &Path, expected: &[&str], case: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{case}: {stderr}");
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
    for piece in expected {
        assert!(stderr.contains(piece), "{case}: `{piece}` not in: {stderr}");
    }
    assert!(!folder.exists(), "{case}: {} was written", folder.display());
}

type Tamper = fn(&mut Value, &mut Value);

#[test]
fn tampered_shards_are_refused_and_named() {
    let dir = fixture();
    let shards = dir.path().join("shards");
    let pristine = [
        read_json(&shards.join("s0/shard.json")),
        read_json(&shards.join("s1/shard.json")),
    ];
    // (case, tamper with shard 0 and shard 1, reseal the hashes, what the message names)
    let cases: Vec<(&str, Tamper, bool, Vec<&str>)> = vec![
        (
            "drop-metric",
            |s0, _| {
                metrics(&mut s0["units"][0]).retain(|m| m[0] != "cost_per_month_usd");
            },
            false,
            vec!["s0/shard.json", "unit (point 0, replication 0)", "hash"],
        ),
        (
            "drop-metric-sealed",
            |_, s1| {
                metrics(&mut s1["units"][0]).retain(|m| m[0] != "cost_per_month_usd");
            },
            true,
            vec![
                "s1/shard.json",
                "s0/shard.json",
                "unit (point 0, replication 1)",
                "cost_per_month_usd",
            ],
        ),
        (
            "rename-metric-sealed",
            |_, s1| {
                for m in metrics(&mut s1["units"][0]) {
                    if m[0] == "latency_p99_ms" {
                        m[0] = json!("bogus");
                    }
                }
            },
            true,
            vec![
                "s1/shard.json",
                "unit (point 0, replication 1)",
                "bogus",
                "latency_p99_ms",
            ],
        ),
        (
            "duplicate-metric-sealed",
            |s0, _| {
                let first = metrics(&mut s0["units"][1])[0].clone();
                metrics(&mut s0["units"][1]).push(first);
            },
            true,
            vec!["s0/shard.json", "unit (point 1, replication 0)", "twice"],
        ),
        (
            "edited-value",
            |s0, _| {
                metrics(&mut s0["units"][1])[0][1] = json!(1.5);
            },
            false,
            vec!["s0/shard.json", "unit (point 1, replication 0)", "hash"],
        ),
        (
            "value-made-null",
            |_, s1| {
                metrics(&mut s1["units"][1])[0][1] = Value::Null;
            },
            false,
            vec!["s1/shard.json", "unit (point 1, replication 1)", "hash"],
        ),
        (
            "bad-histogram-sealed",
            |_, s1| {
                s1["units"][1]["latency"] = json!("3 4 5 zz");
            },
            true,
            vec!["s1/shard.json", "unit (point 1, replication 1)", "latency"],
        ),
        (
            "another-version",
            |s0, s1| {
                s0["capsim_version"] = json!("0.0.1");
                s1["capsim_version"] = json!("0.0.1");
            },
            true,
            vec!["shard.json", "capsim 0.0.1", env!("CARGO_PKG_VERSION")],
        ),
        (
            "unit-twice",
            |s0, _| {
                let unit = s0["units"][0].clone();
                s0["units"].as_array_mut().unwrap().push(unit);
            },
            true,
            vec!["s0/shard.json", "unit (point 0, replication 0)", "twice"],
        ),
        (
            "unit-in-the-other-shard",
            |s0, s1| {
                let unit = s0["units"][0].clone();
                s1["units"].as_array_mut().unwrap().push(unit);
            },
            true,
            vec!["s1/shard.json", "unit (point 0, replication 0)", "shard 0"],
        ),
        (
            "unit-outside-the-sweep",
            |s0, _| {
                s0["units"][1]["point"] = json!(7);
            },
            true,
            vec!["s0/shard.json", "unit (point 7, replication 0)", "outside the sweep"],
        ),
        (
            "unit-missing",
            |_, s1| {
                s1["units"].as_array_mut().unwrap().pop();
            },
            true,
            vec!["s1/shard.json", "unit (point 1, replication 1)"],
        ),
        (
            "settings-edited-everywhere",
            |s0, s1| {
                s0["points"][1]["settings"][0][1] = json!(30);
                s1["points"][1]["settings"][0][1] = json!(30);
            },
            false,
            vec!["s0/shard.json", "hash"],
        ),
        (
            "another-sweep-sealed",
            |_, s1| {
                s1["points"][1]["seed"] = json!(7);
            },
            true,
            vec!["s1/shard.json", "s0/shard.json", "another sweep"],
        ),
        (
            "objective-edited-sealed",
            |_, s1| {
                s1["objective"]["minimize"] = json!("latency_p99_ms");
            },
            true,
            vec!["s1/shard.json", "another sweep", "objective"],
        ),
        (
            "manifest-escapes-the-folder-sealed",
            |s0, s1| {
                for s in [s0, s1] {
                    s["points"][0]["hpa"] = json!([["../../escaped", "kind: HorizontalPodAutoscaler\n"]]);
                }
            },
            true,
            vec!["s0/shard.json", "point 0", "../../escaped"],
        ),
        (
            "no-replications-sealed",
            |s0, s1| {
                for s in [s0, s1] {
                    s["replications"] = json!(0);
                    s["units"] = json!([]);
                }
            },
            true,
            vec!["s0/shard.json", "replications"],
        ),
        (
            "a-number-for-a-string",
            |s0, _| {
                metrics(&mut s0["units"][0])[2][1] = json!("fast");
            },
            false,
            vec!["s0/shard.json", "line"],
        ),
    ];
    for (case, tamper, reseal, expected) in cases {
        let [mut s0, mut s1] = pristine.clone();
        tamper(&mut s0, &mut s1);
        if reseal {
            seal_shard(&mut s0);
            seal_shard(&mut s1);
        }
        let folder = dir.path().join("cases").join(case);
        for (i, s) in [s0, s1].iter().enumerate() {
            let shard = folder.join(format!("s{i}"));
            std::fs::create_dir_all(&shard).unwrap();
            std::fs::write(shard.join("shard.json"), serde_json::to_string_pretty(s).unwrap()).unwrap();
        }
        let out = dir.path().join("merged").join(case);
        assert_refused(&merge(&folder, &out), &out, &expected, case);
    }
    // A shard cut short is named too.
    let folder = dir.path().join("cases/truncated");
    for i in 0..2 {
        let text = std::fs::read_to_string(shards.join(format!("s{i}/shard.json"))).unwrap();
        let text = if i == 0 { &text[..text.len() / 2] } else { &text[..] };
        std::fs::create_dir_all(folder.join(format!("s{i}"))).unwrap();
        std::fs::write(folder.join(format!("s{i}/shard.json")), text).unwrap();
    }
    let out = dir.path().join("merged/truncated");
    assert_refused(&merge(&folder, &out), &out, &["s0/shard.json", "EOF"], "truncated");
    // The untouched shards still merge, quietly, into the whole sweep's bytes.
    let out = dir.path().join("merged/clean");
    let clean = merge(&shards, &out);
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    assert!(clean.stdout.is_empty(), "{}", String::from_utf8_lossy(&clean.stdout));
    for file in OUTPUTS {
        assert_eq!(
            std::fs::read(dir.path().join("whole").join(file)).unwrap(),
            std::fs::read(out.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn tampered_checkpoint_units_are_refused_and_named() {
    let dir = fixture();
    let whole = dir.path().join("whole");
    let units = whole.join(".units");
    let before: Vec<Vec<u8>> = OUTPUTS.iter().map(|f| std::fs::read(whole.join(f)).unwrap()).collect();
    let pristine = |name: &str| read_json(&units.join(name));
    let write = |name: &str, v: &Value| std::fs::write(units.join(name), v.to_string()).unwrap();
    // (case, file, its tampered content, what the message names)
    let cases: Vec<(&str, &str, String, Vec<&str>)> = {
        let mut drop = pristine("0-1.json");
        metrics(&mut drop).retain(|m| m[0] != "cost_per_month_usd");
        let mut drop_sealed = drop.clone();
        seal(&mut drop_sealed);
        let mut renamed = pristine("1-1.json");
        for m in metrics(&mut renamed) {
            if m[0] == "latency_p99_ms" {
                m[0] = json!("bogus");
            }
        }
        seal(&mut renamed);
        let mut twice = pristine("1-0.json");
        let first = metrics(&mut twice)[0].clone();
        metrics(&mut twice).push(first);
        seal(&mut twice);
        let mut edited = pristine("1-0.json");
        metrics(&mut edited)[5][1] = json!(1.0);
        let mut outside = pristine("0-0.json");
        outside["point"] = json!(5);
        seal(&mut outside);
        let text = pristine("0-1.json").to_string();
        vec![
            (
                "drop-metric",
                "0-1.json",
                drop.to_string(),
                vec!["0-1.json", "unit (point 0, replication 1)", "hash"],
            ),
            (
                "drop-metric-sealed",
                "0-1.json",
                drop_sealed.to_string(),
                vec![
                    "0-1.json",
                    "0-0.json",
                    "unit (point 0, replication 1)",
                    "cost_per_month_usd",
                ],
            ),
            (
                "rename-metric-sealed",
                "1-1.json",
                renamed.to_string(),
                vec!["1-1.json", "unit (point 1, replication 1)", "bogus"],
            ),
            (
                "duplicate-metric-sealed",
                "1-0.json",
                twice.to_string(),
                vec!["1-0.json", "unit (point 1, replication 0)", "twice"],
            ),
            (
                "edited-value",
                "1-0.json",
                edited.to_string(),
                vec!["1-0.json", "unit (point 1, replication 0)", "hash"],
            ),
            (
                "another-unit-under-this-name",
                "0-1.json",
                pristine("1-1.json").to_string(),
                vec!["0-1.json", "unit (point 1, replication 1)"],
            ),
            (
                "unit-outside-the-sweep",
                "5-0.json",
                outside.to_string(),
                vec!["5-0.json", "unit (point 5, replication 0)", "outside the sweep"],
            ),
            (
                "truncated",
                "0-1.json",
                text[..text.len() / 2].to_string(),
                vec!["0-1.json", "EOF"],
            ),
        ]
    };
    for (case, file, content, mut expected) in cases {
        let original = std::fs::read(units.join(file)).ok();
        std::fs::write(units.join(file), content).unwrap();
        let out = sweep(dir.path(), &whole, &[]);
        expected.push("--fresh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{case}: {stderr}");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        for piece in &expected {
            assert!(stderr.contains(piece), "{case}: `{piece}` not in: {stderr}");
        }
        // The previous result is left as it was.
        for (file, bytes) in OUTPUTS.iter().zip(&before) {
            assert_eq!(&std::fs::read(whole.join(file)).unwrap(), bytes, "{case}: {file}");
        }
        match original {
            Some(bytes) => std::fs::write(units.join(file), bytes).unwrap(),
            None => std::fs::remove_file(units.join(file)).unwrap(),
        }
    }
    // A temporary file left by a write that was interrupted is not a unit.
    std::fs::write(units.join(".0-1.tmp-99999.json"), "{\"point\": 0, \"repl").unwrap();
    let resumed = sweep(dir.path(), &whole, &[]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    // `--fresh` recomputes past a tampered unit, and gets the same bytes.
    let mut edited = pristine("1-0.json");
    metrics(&mut edited)[5][1] = json!(1.0);
    write("1-0.json", &edited);
    let fresh = sweep(dir.path(), &whole, &["--fresh"]);
    assert!(fresh.status.success(), "{}", String::from_utf8_lossy(&fresh.stderr));
    for (file, bytes) in OUTPUTS.iter().zip(&before) {
        assert_eq!(&std::fs::read(whole.join(file)).unwrap(), bytes, "--fresh: {file}");
    }
}

/// Values a leaf is replaced with: zeros, negatives, the limits of the
/// integer and float types, and values of other types.
const EXTREME_VALUES: &[&str] = &[
    "0",
    "-1",
    "0.5",
    "1e308",
    "-1e308",
    "5e-324",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "-9223372036854775808",
    "null",
    "true",
    "\"\"",
    "\"x\"",
    "\"0 0 0 \"",
    "[]",
    "{}",
];

/// Numbers written over a number in the text, some of them not JSON at all.
const EXTREME_NUMBERS: &[&str] = &["0", "-0", "1e400", "-1e400", "NaN", "18446744073709551616", "1.5", "99"];

#[derive(Clone, Debug)]
enum Mutation {
    RemoveKey(usize),
    /// The `n`-th key takes the `k`-th name of the vocabulary.
    RenameKey(usize, usize),
    /// The `n`-th leaf becomes `EXTREME_VALUES[k]`.
    Replace(usize, usize),
    RemoveItem(usize),
    DuplicateItem(usize),
    SwapItems(usize, usize),
    /// The `n`-th number in the text becomes `EXTREME_NUMBERS[k]`.
    Number(usize, usize),
    /// Cut the text at this fraction (in thousandths) of its length.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::RemoveKey),
        (any::<usize>(), any::<usize>()).prop_map(|(n, k)| Mutation::RenameKey(n, k)),
        (any::<usize>(), 0..EXTREME_VALUES.len()).prop_map(|(n, k)| Mutation::Replace(n, k)),
        (any::<usize>(), 0..EXTREME_VALUES.len()).prop_map(|(n, k)| Mutation::Replace(n, k)),
        any::<usize>().prop_map(Mutation::RemoveItem),
        any::<usize>().prop_map(Mutation::DuplicateItem),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapItems(a, b)),
        (any::<usize>(), 0..EXTREME_NUMBERS.len()).prop_map(|(n, k)| Mutation::Number(n, k)),
        (0..1000usize).prop_map(Mutation::Truncate),
    ]
}

/// JSON pointers of every object member (parent, key), array item (parent,
/// index) and leaf of `v`.
#[derive(Default)]
struct Nodes {
    members: Vec<(String, String)>,
    items: Vec<(String, usize)>,
    leaves: Vec<String>,
}

fn walk(v: &Value, at: &str, nodes: &mut Nodes) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                nodes.members.push((at.to_string(), k.clone()));
                walk(
                    child,
                    &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    nodes,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                nodes.items.push((at.to_string(), i));
                walk(child, &format!("{at}/{i}"), nodes);
            }
        }
        _ => nodes.leaves.push(at.to_string()),
    }
}

/// Applies the structural mutations (those on keys, leaves and items).
fn mutate(doc: &mut Value, m: &Mutation, vocabulary: &[String]) {
    let mut nodes = Nodes::default();
    walk(doc, "", &mut nodes);
    let pick = |len: usize, n: usize| (len > 0).then(|| n % len);
    match *m {
        Mutation::RemoveKey(n) => {
            if let Some(i) = pick(nodes.members.len(), n) {
                let (parent, key) = &nodes.members[i];
                doc.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(key);
            }
        }
        Mutation::RenameKey(n, k) => {
            if let Some(i) = pick(nodes.members.len(), n) {
                let (parent, key) = &nodes.members[i];
                let map = doc.pointer_mut(parent).unwrap().as_object_mut().unwrap();
                let value = map.remove(key).unwrap();
                map.insert(vocabulary[k % vocabulary.len()].clone(), value);
            }
        }
        Mutation::Replace(n, k) => {
            if let Some(i) = pick(nodes.leaves.len(), n) {
                *doc.pointer_mut(&nodes.leaves[i]).unwrap() = serde_json::from_str(EXTREME_VALUES[k]).unwrap();
            }
        }
        Mutation::RemoveItem(n) => {
            if let Some(i) = pick(nodes.items.len(), n) {
                let (parent, index) = &nodes.items[i];
                doc.pointer_mut(parent).unwrap().as_array_mut().unwrap().remove(*index);
            }
        }
        Mutation::DuplicateItem(n) => {
            if let Some(i) = pick(nodes.items.len(), n) {
                let (parent, index) = &nodes.items[i];
                let list = doc.pointer_mut(parent).unwrap().as_array_mut().unwrap();
                list.insert(*index, list[*index].clone());
            }
        }
        Mutation::SwapItems(a, b) => {
            if let (Some(a), Some(b)) = (pick(nodes.items.len(), a), pick(nodes.items.len(), b)) {
                let ((pa, ia), (pb, ib)) = (&nodes.items[a], &nodes.items[b]);
                if pa == pb {
                    doc.pointer_mut(pa).unwrap().as_array_mut().unwrap().swap(*ia, *ib);
                }
            }
        }
        Mutation::Number(..) | Mutation::Truncate(_) => {}
    }
}

/// Applies the mutations on the text (numbers rewritten, the text cut short).
fn mutate_text(text: String, m: &Mutation) -> String {
    match *m {
        Mutation::Number(n, k) => {
            let bytes = text.as_bytes();
            let numbers: Vec<(usize, usize)> = (0..bytes.len())
                .filter(|&i| {
                    (bytes[i].is_ascii_digit() || bytes[i] == b'-')
                        && (i == 0 || matches!(bytes[i - 1], b' ' | b'[' | b':' | b','))
                })
                .map(|i| {
                    let end = (i + 1..bytes.len())
                        .find(|&j| !matches!(bytes[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                        .unwrap_or(bytes.len());
                    (i, end)
                })
                .collect();
            if numbers.is_empty() {
                return text;
            }
            let (a, b) = numbers[n % numbers.len()];
            format!("{}{}{}", &text[..a], EXTREME_NUMBERS[k], &text[b..])
        }
        Mutation::Truncate(per_mille) => {
            let mut at = text.len() * per_mille / 1000;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text[..at].to_string()
        }
        _ => text,
    }
}

/// Every key and short string of `doc`, and a few names of nothing.
fn vocabulary(doc: &Value) -> Vec<String> {
    let mut words = vec!["bogus".to_string(), "hash".to_string(), String::new()];
    fn collect(v: &Value, words: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    words.push(k.clone());
                    collect(child, words);
                }
            }
            Value::Array(items) => items.iter().for_each(|c| collect(c, words)),
            Value::String(s) if s.len() < 40 => words.push(s.clone()),
            _ => {}
        }
    }
    collect(doc, &mut words);
    words.sort();
    words.dedup();
    words
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn no_tampered_shard_or_checkpoint_makes_capsim_panic() {
    let dir = fixture();
    let root = dir.path().to_path_buf();
    let whole = root.join("whole");
    let expected: Vec<Vec<u8>> = OUTPUTS.iter().map(|f| std::fs::read(whole.join(f)).unwrap()).collect();
    // The files mutated: each shard, and a checkpoint unit.
    let targets: Vec<(PathBuf, bool)> = vec![
        (root.join("shards/s0/shard.json"), true),
        (root.join("shards/s1/shard.json"), true),
        (whole.join(".units/0-1.json"), false),
        (whole.join(".units/1-0.json"), false),
    ];
    let docs: Vec<Value> = targets.iter().map(|(p, _)| read_json(p)).collect();
    let words = vocabulary(&docs[0]);
    let cases = std::env::var("CAPSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let seed = std::env::var("CAPSIM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261124);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let case = std::cell::Cell::new(0usize);
    let strategy = (
        0..targets.len(),
        proptest::collection::vec(mutation(), 1..4),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(t, mutations, reseal)| {
            case.set(case.get() + 1);
            let case = case.get();
            let (path, is_shard) = &targets[t];
            let mut doc = docs[t].clone();
            for m in &mutations {
                mutate(&mut doc, m, &words);
            }
            if reseal {
                if *is_shard {
                    seal_shard(&mut doc)
                } else {
                    seal(&mut doc)
                }
            }
            let mut text = if *is_shard {
                serde_json::to_string_pretty(&doc).unwrap()
            } else {
                doc.to_string()
            };
            for m in &mutations {
                text = mutate_text(text, m);
            }
            let folder = root.join(format!("fuzz/{case}"));
            let (out, result) = if *is_shard {
                copy_dir(&root.join("shards/s0"), &folder.join("s0"));
                copy_dir(&root.join("shards/s1"), &folder.join("s1"));
                let name = path.parent().unwrap().file_name().unwrap();
                std::fs::write(folder.join(name).join("shard.json"), &text).unwrap();
                let out = folder.join("merged");
                let result = merge(&folder, &out);
                (out, result)
            } else {
                let out = folder.join("out");
                copy_dir(&whole.join(".units"), &out.join(".units"));
                // An interrupted sweep's folder: capsim's marker and its checkpoint.
                std::fs::copy(whole.join(".capsim"), out.join(".capsim")).unwrap();
                std::fs::write(out.join(".units").join(path.file_name().unwrap()), &text).unwrap();
                let result = sweep(&root, &out, &[]);
                (out, result)
            };
            let stderr = String::from_utf8_lossy(&result.stderr);
            let shown = format!("{mutations:?} resealed: {reseal}\n{text}\n{stderr}");
            prop_assert!(!stderr.contains("panicked"), "{}", shown);
            match result.status.code() {
                Some(0) if !reseal => {
                    // Accepted: then it was not really changed.
                    for (file, bytes) in OUTPUTS.iter().zip(&expected) {
                        prop_assert_eq!(&std::fs::read(out.join(file)).unwrap(), bytes, "{}: {}", file, shown);
                    }
                }
                Some(0) => {}
                Some(3) => {
                    prop_assert!(
                        stderr.contains(if *is_shard { "shard.json" } else { ".units" }),
                        "{}",
                        shown
                    );
                    prop_assert!(!out.join("sweep.csv").exists(), "{}", shown);
                }
                other => prop_assert!(false, "exit {:?}: {}", other, shown),
            }
            std::fs::remove_dir_all(&folder).unwrap();
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
