//! Shards of a sweep: what one slice wrote (`shard.json`), and merging the
//! slices back into exactly the files the whole sweep would have written.
//!
//! Nothing read back is trusted: a shard file and each of its units carry
//! a hash of their content ([`content_hash`]), and a shard is used only when
//! it was written by this capsim, matches its hashes, holds exactly its
//! slice of the sweep with every unit's metrics named once and like the
//! other replications of its point. Sweep checkpoints (`<out>/.units/`) hold
//! the same units and get the same checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sweep::grid::{MAX_RUNS, Point, RawConstraint, RawObjective};

use super::files::write_atomic;
use super::run::headline;
use super::sweep::{summarize, write_sweep};
use crate::engine::stable_hash;
use crate::metrics::LatencyRecorder;
use crate::model::RunResult;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShardPoint {
    pub index: usize,
    pub name: String,
    pub settings: Vec<(String, Value)>,
    pub seed: u64,
    /// The point's HPA manifests (pool, YAML) for the pools whose autoscaler
    /// the sweep varies, written for the recommended point.
    pub hpa: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShardUnit {
    pub point: usize,
    pub replication: u32,
    /// Headline metrics by name; undefined values are `null`.
    pub metrics: Vec<(String, Option<f64>)>,
    /// Every response after the warm-up ([`LatencyRecorder::encode`]), so
    /// replications pool exactly.
    pub latency: String,
    /// [`content_hash`] of the fields above, checked whenever the unit is read back.
    pub hash: String,
}

impl ShardUnit {
    /// The record of one finished run.
    pub fn of((point, replication): (usize, u32), result: &RunResult) -> ShardUnit {
        let metrics = headline(result)
            .into_iter()
            .map(|(k, v)| (k, v.is_finite().then_some(v)))
            .collect();
        let mut unit = ShardUnit {
            point,
            replication,
            metrics,
            latency: result.latency.encode(),
            hash: String::new(),
        };
        unit.hash = content_hash(&unit);
        unit
    }

    /// The headline row back, undefined values as NaN.
    pub fn headline(&self) -> Vec<(String, f64)> {
        self.metrics
            .iter()
            .map(|(k, v)| (k.clone(), v.unwrap_or(f64::NAN)))
            .collect()
    }

    /// `unit (point P, replication R)`, as messages name it.
    pub fn label(&self) -> String {
        format!("unit (point {}, replication {})", self.point, self.replication)
    }

    /// What is wrong with the unit on its own, if anything: content that
    /// does not match its hash, a metric named twice or not finite, a
    /// latency histogram that does not decode.
    pub fn problem(&self) -> Option<String> {
        if content_hash(self) != self.hash {
            return Some("its content does not match its hash (edited or corrupted)".into());
        }
        let mut names = BTreeSet::new();
        for (name, value) in &self.metrics {
            if !names.insert(name.as_str()) {
                return Some(format!("names metric `{name}` twice"));
            }
            if value.is_some_and(|v| !v.is_finite()) {
                return Some(format!("metric `{name}` is not a finite number"));
            }
        }
        LatencyRecorder::decode(&self.latency)
            .err()
            .map(|e| format!("its latency histogram: {e}"))
    }
}

/// The fingerprint a shard file or unit carries in its `hash` field:
/// FNV-1a (64-bit, as 16 hex digits) of its compact JSON with the keys in
/// sorted order, without the `hash` field itself. A unit's hash covers its
/// point, replication, metrics and histogram; a shard file's covers every
/// other field, the units with their hashes included.
pub fn content_hash<T: Serialize>(value: &T) -> String {
    let mut doc = serde_json::to_value(value).expect("serializes");
    if let Value::Object(fields) = &mut doc {
        fields.remove("hash");
    }
    format!("{:016x}", stable_hash(doc.to_string().as_bytes()))
}

/// A shard file or checkpoint unit that fails its checks, so nothing in it
/// is used: the file, and what is wrong. The command line exits with code 3
/// (invalid input: running again will not help).
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct InvalidRecord {
    pub file: PathBuf,
    pub message: String,
}

impl InvalidRecord {
    pub fn new(file: &Path, message: impl Into<String>) -> InvalidRecord {
        InvalidRecord {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Checks that every unit of one point reports the same metrics in the same
/// order: replications of a point run the same scenario, so they cannot
/// differ (points may: a variant with an SLO or faults reports more). The
/// reference is a unit computed in this process (without a file) when there
/// is one, else the first; a unit that differs is named with its file, and
/// so is the reference.
pub fn check_point_metrics(units: &[(&ShardUnit, Option<&Path>)]) -> Result<(), InvalidRecord> {
    let Some(&(reference, reference_file)) = units.iter().find(|(_, f)| f.is_none()).or(units.first()) else {
        return Ok(());
    };
    let names = |u: &ShardUnit| u.metrics.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let expected = names(reference);
    for &(unit, file) in units {
        let got = names(unit);
        if got == expected {
            continue;
        }
        let file = file.expect("the runs of a point computed in one process report the same metrics");
        let quoted = |list: Vec<&String>| list.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let lacks = quoted(expected.iter().filter(|n| !got.contains(n)).collect());
        let extra = quoted(got.iter().filter(|n| !expected.contains(n)).collect());
        let difference = match (lacks.is_empty(), extra.is_empty()) {
            (true, true) => "names the same metrics in another order".to_string(),
            (false, true) => format!("lacks {lacks}"),
            (true, false) => format!("has {extra} besides"),
            (false, false) => format!("lacks {lacks} and has {extra} instead"),
        };
        let against = match reference_file {
            Some(f) => format!("{} in {}", reference.label(), f.display()),
            None => format!("{}, computed now", reference.label()),
        };
        return Err(InvalidRecord::new(
            file,
            format!("{} reports other metrics than {against}: it {difference}", unit.label()),
        ));
    }
    Ok(())
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShardObjective {
    pub minimize: String,
    pub constraints: Vec<(String, Option<f64>, Option<f64>)>,
}

/// A self-describing shard: enough to check it belongs with the others and
/// to rebuild the sweep's files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShardFile {
    pub capsim_version: String,
    /// FNV-1a of the sweep file and of the base scenario, as text.
    pub sweep_hash: String,
    pub base_hash: String,
    pub base: String,
    pub replications: u32,
    pub common_random_numbers: bool,
    pub shard: usize,
    pub shards: usize,
    pub objective: Option<ShardObjective>,
    pub points: Vec<ShardPoint>,
    pub units: Vec<ShardUnit>,
    /// [`content_hash`] of every other field, checked by `capsim merge`.
    pub hash: String,
}

impl ShardFile {
    pub fn objective(&self) -> Option<RawObjective> {
        self.objective.as_ref().map(|o| RawObjective {
            minimize: o.minimize.clone(),
            constraints: o
                .constraints
                .iter()
                .map(|(metric, max, min)| RawConstraint {
                    metric: metric.clone(),
                    max: *max,
                    min: *min,
                })
                .collect(),
        })
    }

    /// Seals the shard: its hash, from everything else in it.
    pub fn seal(mut self) -> ShardFile {
        self.hash = content_hash(&self);
        self
    }

    /// Checks what a shard can say about itself, once read back from `file`:
    /// every unit and the whole match their hashes, its numbers make sense,
    /// and it holds exactly its own slice of the sweep.
    fn check(&self, file: &Path) -> Result<(), InvalidRecord> {
        let invalid = |message: String| InvalidRecord::new(file, message);
        for unit in &self.units {
            if let Some(problem) = unit.problem() {
                return Err(invalid(format!("{}: {problem}", unit.label())));
            }
        }
        if content_hash(self) != self.hash {
            return Err(invalid(
                "its content does not match its hash (its points, settings, seeds, objective or manifests were edited or corrupted)".into(),
            ));
        }
        let (n, r) = (self.points.len(), self.replications as usize);
        if n == 0 || r == 0 || n.saturating_mul(r) > MAX_RUNS {
            return Err(invalid(format!(
                "{n} points × {r} replications: a sweep has 1 to {MAX_RUNS} runs"
            )));
        }
        if self.shards == 0 || self.shard >= self.shards {
            return Err(invalid(format!(
                "shard {} of {} does not exist",
                self.shard, self.shards
            )));
        }
        for (i, p) in self.points.iter().enumerate() {
            if p.index != i {
                return Err(invalid(format!("point {i} says it is point {}", p.index)));
            }
            // Pool names become file names (`recommended-hpa-<pool>.yaml`):
            // the scenario's rule for names keeps them inside the folder.
            if let Some((pool, _)) = p.hpa.iter().find(|(pool, _)| !is_name(pool)) {
                return Err(invalid(format!(
                    "point {i} has a manifest for pool `{pool}`, not a valid pool name"
                )));
            }
        }
        for u in &self.units {
            if u.point >= n || u.replication as usize >= r {
                return Err(invalid(format!(
                    "{} is outside the sweep ({n} points × {r} replications)",
                    u.label()
                )));
            }
            let owner = (u.point * r + u.replication as usize) % self.shards;
            if owner != self.shard {
                return Err(invalid(format!(
                    "{} belongs to shard {owner}, not to shard {} of {}",
                    u.label(),
                    self.shard,
                    self.shards
                )));
            }
        }
        Ok(())
    }
}

/// A scenario name: 1–64 characters of a-z, A-Z, 0-9, `-` or `_`.
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn write_shard(dir: &Path, shard: &ShardFile) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut text = serde_json::to_string_pretty(shard).expect("serializes");
    text.push('\n');
    write_atomic(&dir.join("shard.json"), text.as_bytes())
}

/// The most a `shard.json` may weigh (its units carry their latency
/// histograms: a few kB each).
pub const MAX_SHARD_BYTES: u64 = 1 << 30;
/// The most one checkpoint unit file may weigh.
pub const MAX_UNIT_BYTES: u64 = 64 << 20;

/// The text of a record capsim wrote (a shard or a checkpoint unit): a
/// regular file (not a link to a device or a pipe, which could be endless),
/// at most `limit` bytes, UTF-8. Anything else is an invalid record.
pub fn read_record(file: &Path, limit: u64) -> Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    if !meta.is_file() {
        return Err(InvalidRecord::new(file, "is not a regular file").into());
    }
    if meta.len() > limit {
        return Err(InvalidRecord::new(
            file,
            format!("is {} bytes; a capsim record is at most {limit}", meta.len()),
        )
        .into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", file.display()))?;
    if bytes.len() as u64 > limit {
        return Err(InvalidRecord::new(file, format!("is more than {limit} bytes")).into());
    }
    String::from_utf8(bytes).map_err(|e| {
        InvalidRecord::new(
            file,
            format!("is not UTF-8 text (bad byte at {})", e.utf8_error().valid_up_to()),
        )
        .into()
    })
}

/// Reads and checks one `shard.json`: written by this capsim, whole, and
/// consistent with itself.
fn read_shard(file: &Path) -> Result<ShardFile> {
    let text = read_record(file, MAX_SHARD_BYTES)?;
    /// The version alone, read first: another version's shard may have other fields.
    #[derive(Deserialize)]
    struct Version {
        capsim_version: Option<String>,
    }
    let not_a_shard = |e: serde_json::Error| InvalidRecord::new(file, format!("not a capsim shard: {e}"));
    let version = serde_json::from_str::<Version>(&text).map_err(not_a_shard)?;
    let ours = env!("CARGO_PKG_VERSION");
    match version.capsim_version {
        Some(v) if v == ours => {}
        Some(v) => {
            return Err(InvalidRecord::new(
                file,
                format!("written by capsim {v}, and this is capsim {ours}: merge with the capsim that ran the shards, or run them again with this one"),
            )
            .into());
        }
        None => return Err(InvalidRecord::new(file, "not a capsim shard: it has no `capsim_version`").into()),
    }
    let shard: ShardFile = serde_json::from_str(&text).map_err(not_a_shard)?;
    shard.check(file)?;
    Ok(shard)
}

/// The `shard.json` files under `dirs` (each a shard folder, or a folder of them).
fn find_shards(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for dir in dirs {
        let direct = dir.join("shard.json");
        if direct.exists() {
            found.push(direct);
            continue;
        }
        let mut inner: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path().join("shard.json")))
            .filter(|p| p.exists())
            .collect();
        inner.sort();
        if inner.is_empty() {
            bail!("{} holds no shard.json", dir.display());
        }
        found.extend(inner);
    }
    if found.is_empty() {
        bail!("no shard to merge");
    }
    Ok(found)
}

/// The first field in which shard `s` describes another sweep than `first`.
fn differs(s: &ShardFile, first: &ShardFile) -> Option<&'static str> {
    [
        (s.sweep_hash == first.sweep_hash, "sweep file"),
        (s.base_hash == first.base_hash, "base scenario"),
        (s.base == first.base, "base scenario's name"),
        (s.shards == first.shards, "shard count"),
        (s.replications == first.replications, "replications"),
        (
            s.common_random_numbers == first.common_random_numbers,
            "common random numbers",
        ),
        (s.objective == first.objective, "objective"),
        (s.points == first.points, "points"),
    ]
    .into_iter()
    .find_map(|(same, what)| (!same).then_some(what))
}

/// Merges shards into `out`: each must pass its own checks (version, hashes,
/// its slice of the sweep), they must describe the same sweep, and every
/// unit must appear exactly once with its point's metrics. A shard that
/// fails is an [`InvalidRecord`] naming the file (and the unit); a shard
/// not there yet is an ordinary error.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<usize> {
    let files = find_shards(dirs)?;
    let shards: Vec<ShardFile> = files.iter().map(|f| read_shard(f)).collect::<Result<_>>()?;
    let (first, first_file) = (&shards[0], &files[0]);
    for (s, f) in shards.iter().zip(&files) {
        if let Some(what) = differs(s, first) {
            return Err(InvalidRecord::new(
                f,
                format!(
                    "belongs to another sweep than {}: its {what} differ",
                    first_file.display()
                ),
            )
            .into());
        }
    }
    let mut holder: Vec<Option<&Path>> = vec![None; first.shards];
    for (s, f) in shards.iter().zip(&files) {
        if let Some(other) = holder[s.shard] {
            return Err(InvalidRecord::new(
                f,
                format!(
                    "shard {} of {} is given twice (also {})",
                    s.shard,
                    s.shards,
                    other.display()
                ),
            )
            .into());
        }
        holder[s.shard] = Some(f);
    }
    let missing: Vec<String> = (0..first.shards)
        .filter(|&i| holder[i].is_none())
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        bail!("missing shard(s) {} of {}", missing.join(", "), first.shards);
    }
    let (n, r) = (first.points.len(), first.replications as usize);
    // One slot per (point, replication), filled from the shards.
    let mut grid: Vec<Vec<Option<(&ShardUnit, &Path)>>> = vec![vec![None; r]; n];
    for (s, f) in shards.iter().zip(&files) {
        for u in &s.units {
            // In range: the shard's own check saw to it.
            let slot = &mut grid[u.point][u.replication as usize];
            if let Some((_, other)) = slot {
                let also = if *other == f.as_path() {
                    String::new()
                } else {
                    format!(" (and in {})", other.display())
                };
                return Err(InvalidRecord::new(f, format!("{} appears twice{also}", u.label())).into());
            }
            *slot = Some((u, f));
        }
    }
    let mut units: Vec<Vec<&ShardUnit>> = Vec::with_capacity(n);
    for (p, runs) in grid.iter().enumerate() {
        let mut point = Vec::with_capacity(r);
        for (rep, slot) in runs.iter().enumerate() {
            let Some((u, f)) = slot else {
                let owner = (p * r + rep) % first.shards;
                let file = holder[owner].expect("every shard is present");
                return Err(InvalidRecord::new(
                    file,
                    format!("unit (point {p}, replication {rep}) is missing from shard {owner}, which should hold it"),
                )
                .into());
            };
            point.push((*u, Some(*f)));
        }
        check_point_metrics(&point)?;
        units.push(point.into_iter().map(|(u, _)| u).collect());
    }
    let points: Vec<Point> = first
        .points
        .iter()
        .map(|p| Point {
            index: p.index,
            name: p.name.clone(),
            settings: p.settings.clone(),
            document: Value::Null,
        })
        .collect();
    let seeds: Vec<u64> = first.points.iter().map(|p| p.seed).collect();
    let manifests: Vec<Vec<(String, String)>> = first.points.iter().map(|p| p.hpa.clone()).collect();
    let summaries = summarize(&points, &seeds, &units)?;
    write_sweep(
        out,
        &first.base,
        first.replications,
        first.common_random_numbers,
        &summaries,
        &manifests,
        first.objective().as_ref(),
    )?;
    Ok(shards.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_content_hash_is_fnv1a_of_sorted_compact_json_without_the_hash() {
        let doc = json!({ "b": [1.5, null], "a": "x", "hash": "anything" });
        let expected = format!("{:016x}", stable_hash(br#"{"a":"x","b":[1.5,null]}"#));
        assert_eq!(content_hash(&doc), expected);
    }

    fn unit(replication: u32, names: &[&str]) -> ShardUnit {
        let mut unit = ShardUnit {
            point: 0,
            replication,
            metrics: names.iter().map(|n| (n.to_string(), Some(1.0))).collect(),
            latency: LatencyRecorder::default().encode(),
            hash: String::new(),
        };
        unit.hash = content_hash(&unit);
        unit
    }

    #[test]
    fn a_unit_must_match_its_hash_and_name_each_metric_once() {
        let mut u = unit(0, &["x", "y"]);
        assert_eq!(u.problem(), None);
        u.metrics[0].1 = Some(2.0);
        assert!(u.problem().unwrap().contains("does not match its hash"));
        assert!(
            unit(0, &["x", "x"])
                .problem()
                .unwrap()
                .contains("names metric `x` twice")
        );
        let mut u = unit(0, &["x"]);
        u.latency = "1 2 3 zz".into();
        u.hash = content_hash(&u);
        assert!(u.problem().unwrap().contains("latency histogram"));
    }

    #[test]
    fn units_of_a_point_must_report_the_same_metrics() {
        let (a, b, c) = (unit(0, &["x", "y"]), unit(1, &["x"]), unit(2, &["y", "x"]));
        let (fa, fb) = (Path::new("a.json"), Path::new("b.json"));
        assert!(check_point_metrics(&[(&a, Some(fa)), (&a, Some(fb))]).is_ok());
        let e = check_point_metrics(&[(&a, Some(fa)), (&b, Some(fb))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.json: unit (point 0, replication 1) reports other metrics than unit (point 0, replication 0) in a.json: it lacks `y`"
        );
        // A unit computed now is the reference, wherever it stands.
        let e = check_point_metrics(&[(&b, Some(fb)), (&a, None)]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("b.json: unit (point 0, replication 1) reports other metrics than unit (point 0, replication 0), computed now"),
            "{e}"
        );
        let e = check_point_metrics(&[(&a, None), (&c, Some(fa))]).unwrap_err();
        assert!(
            e.to_string().ends_with("names the same metrics in another order"),
            "{e}"
        );
    }
}
