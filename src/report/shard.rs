//! Shards of a sweep: what one slice wrote (`shard.json`), and merging the
//! slices back into exactly the files the whole sweep would have written.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sweep::grid::{Point, RawConstraint, RawObjective};

use super::files::write_atomic;
use super::run::headline;
use super::sweep::{summarize, write_sweep};
use crate::model::RunResult;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
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
pub struct ShardUnit {
    pub point: usize,
    pub replication: u32,
    /// Headline metrics by name; undefined values are `null`.
    pub metrics: Vec<(String, Option<f64>)>,
    /// Every response after the warm-up ([`LatencyRecorder::encode`]), so
    /// replications pool exactly.
    pub latency: String,
}

impl ShardUnit {
    /// The record of one finished run.
    pub fn of((point, replication): (usize, u32), result: &RunResult) -> ShardUnit {
        let metrics = headline(result)
            .into_iter()
            .map(|(k, v)| (k, v.is_finite().then_some(v)))
            .collect();
        ShardUnit {
            point,
            replication,
            metrics,
            latency: result.latency.encode(),
        }
    }

    /// The headline row back, undefined values as NaN.
    pub fn headline(&self) -> Vec<(String, f64)> {
        self.metrics
            .iter()
            .map(|(k, v)| (k.clone(), v.unwrap_or(f64::NAN)))
            .collect()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ShardObjective {
    pub minimize: String,
    pub constraints: Vec<(String, Option<f64>, Option<f64>)>,
}

/// A self-describing shard: enough to check it belongs with the others and
/// to rebuild the sweep's files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
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
}

pub fn write_shard(dir: &Path, shard: &ShardFile) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut text = serde_json::to_string_pretty(shard).expect("serializes");
    text.push('\n');
    write_atomic(&dir.join("shard.json"), text.as_bytes())
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
    Ok(found)
}

/// Merges shards into `out`: they must describe the same sweep, and every
/// unit must appear exactly once.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<usize> {
    let files = find_shards(dirs)?;
    let mut shards: Vec<ShardFile> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        shards.push(serde_json::from_str(&text).with_context(|| format!("{} is not a capsim shard", f.display()))?);
    }
    let first = shards[0].clone();
    for (s, f) in shards.iter().zip(&files) {
        let same = s.capsim_version == first.capsim_version
            && s.sweep_hash == first.sweep_hash
            && s.base_hash == first.base_hash
            && s.shards == first.shards
            && s.replications == first.replications
            && s.common_random_numbers == first.common_random_numbers
            && s.points == first.points;
        if !same {
            bail!(
                "{} belongs to a different sweep (version, inputs or sharding differ from {})",
                f.display(),
                files[0].display()
            );
        }
    }
    let mut seen: Vec<usize> = shards.iter().map(|s| s.shard).collect();
    seen.sort();
    let missing: Vec<String> = (0..first.shards)
        .filter(|i| !seen.contains(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        bail!("missing shard(s) {} of {}", missing.join(", "), first.shards);
    }
    if seen.windows(2).any(|w| w[0] == w[1]) {
        bail!("a shard is given twice");
    }
    let (n, r) = (first.points.len(), first.replications as usize);
    // One slot per (point, replication), filled from the shards.
    let mut grid: Vec<Vec<Option<&ShardUnit>>> = vec![vec![None; r]; n];
    for s in &shards {
        for u in &s.units {
            let slot = grid
                .get_mut(u.point)
                .and_then(|p| p.get_mut(u.replication as usize))
                .with_context(|| format!("shard {} has a unit outside the sweep", s.shard))?;
            if slot.is_some() {
                bail!("unit (point {}, replication {}) appears twice", u.point, u.replication);
            }
            *slot = Some(u);
        }
    }
    let units: Vec<Vec<&ShardUnit>> = grid
        .into_iter()
        .enumerate()
        .map(|(p, runs)| {
            runs.into_iter()
                .enumerate()
                .map(|(rep, m)| m.with_context(|| format!("unit (point {p}, replication {rep}) is in no shard")))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
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
