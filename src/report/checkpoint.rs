//! A sweep's checkpoint: each finished unit saved at once in `<out>/.units/`
//! as `P-R.json` (point, replication), written whole, so an interrupted
//! sweep resumes where it stopped. A unit read back is checked like a
//! shard's ([`ShardUnit::problem`]) before anything in it is used; one that
//! fails stops the sweep with an [`InvalidRecord`] that names it and says
//! how to start afresh.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::files::write_atomic;
use super::shard::{InvalidRecord, ShardUnit, check_point_metrics};

/// What to do about a checkpoint that fails its checks.
const ADVICE: &str = "run the sweep again with --fresh to recompute every run";

fn invalid(file: &Path, message: String) -> InvalidRecord {
    InvalidRecord::new(file, format!("{message}; {ADVICE}"))
}

/// The file of unit `(point, replication)` in checkpoint `dir`.
fn unit_path(dir: &Path, (point, replication): (usize, u32)) -> PathBuf {
    dir.join(format!("{point}-{replication}.json"))
}

/// Saves one finished unit, whole.
pub fn save_unit(dir: &Path, unit: &ShardUnit) -> Result<()> {
    let text = serde_json::to_string(unit).expect("serializes");
    write_atomic(&unit_path(dir, (unit.point, unit.replication)), text.as_bytes())
}

/// The `(point, replication)` a file name `P-R.json` stands for, written as
/// capsim writes it; other files (the key, the hidden temporary file of a
/// write that was interrupted) are not units.
fn unit_of(name: &str) -> Option<(usize, u32)> {
    let (p, r) = name.strip_suffix(".json")?.split_once('-')?;
    let unit = (p.parse().ok()?, r.parse().ok()?);
    (format!("{}-{}.json", unit.0, unit.1) == name).then_some(unit)
}

/// The units saved in checkpoint `dir` for a sweep of `points` ×
/// `replications`, each with its file, each checked on its own: it parses,
/// matches its hash, is the unit its name says, and lies inside the sweep.
pub fn load_units(
    dir: &Path,
    points: usize,
    replications: u32,
) -> Result<BTreeMap<(usize, u32), (ShardUnit, PathBuf)>> {
    let mut units = BTreeMap::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
        let Some(named) = path.file_name().and_then(|n| unit_of(&n.to_string_lossy())) else {
            continue;
        };
        let text = super::shard::read_record(&path, super::shard::MAX_UNIT_BYTES)?;
        let unit: ShardUnit =
            serde_json::from_str(&text).map_err(|e| invalid(&path, format!("not a capsim sweep unit: {e}")))?;
        if let Some(problem) = unit.problem() {
            return Err(invalid(&path, format!("{}: {problem}", unit.label())).into());
        }
        if (unit.point, unit.replication) != named {
            return Err(invalid(&path, format!("holds {}, not the unit its name says", unit.label())).into());
        }
        if unit.point >= points || unit.replication >= replications {
            let message = format!(
                "{} is outside the sweep ({points} points × {replications} replications)",
                unit.label()
            );
            return Err(invalid(&path, message).into());
        }
        units.insert(named, (unit, path));
    }
    Ok(units)
}

/// Checks that the units of each point, read back (with their file) or
/// computed now (without), report the same metrics ([`check_point_metrics`]).
pub fn check_points(units: &[Vec<(&ShardUnit, Option<&Path>)>]) -> Result<(), InvalidRecord> {
    for point in units {
        check_point_metrics(point).map_err(|e| invalid(&e.file, e.message))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_named_like_units_are_units() {
        assert_eq!(unit_of("3-1.json"), Some((3, 1)));
        assert_eq!(unit_of("0-0.json"), Some((0, 0)));
        for other in [
            "key",
            ".3-1.tmp-77.json",
            "03-1.json",
            "3-1.json.bak",
            "3-x.json",
            "-1.json",
            "3_1.json",
        ] {
            assert_eq!(unit_of(other), None, "{other}");
        }
    }
}
