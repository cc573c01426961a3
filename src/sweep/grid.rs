//! Sweep files: a base scenario and the fields to vary, expanded into points.

use serde::Deserialize;
use serde_json::Value;

/// The most runs (points × replications) one sweep may ask for.
pub const MAX_RUNS: usize = 100_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// The base scenario, relative to the sweep file.
    pub base: String,
    #[serde(default)]
    pub replications: Option<u32>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Common random numbers: every point sees the same traffic (default true).
    #[serde(default)]
    pub common_random_numbers: Option<bool>,
    #[serde(default)]
    pub parameters: Vec<RawParameter>,
    /// Named variants instead of (or before) a grid: each sets several fields.
    #[serde(default)]
    pub variants: Vec<RawVariant>,
    #[serde(default)]
    pub objective: Option<RawObjective>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParameter {
    pub path: String,
    #[serde(default)]
    pub values: Option<Vec<Value>>,
    #[serde(default)]
    pub range: Option<RawRange>,
    #[serde(default)]
    pub log_range: Option<RawLogRange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    pub start: f64,
    pub stop: f64,
    pub step: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogRange {
    pub start: f64,
    pub stop: f64,
    pub points: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    pub name: String,
    pub set: std::collections::BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawObjective {
    pub minimize: String,
    #[serde(default)]
    pub constraints: Vec<RawConstraint>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawConstraint {
    pub metric: String,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
}

/// One point of a sweep: its name, the fields it sets, and the document.
#[derive(Clone, Debug)]
pub struct Point {
    pub index: usize,
    pub name: String,
    pub settings: Vec<(String, Value)>,
    pub document: Value,
}

/// A number as the tidiest JSON value: integers stay integers.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// The values of one parameter, in order. `range` is `start + i·step` up
/// to and including `stop` (within a relative 1e-9); `log_range` is
/// `points` values evenly spaced in log between `start` and `stop`.
pub fn parameter_values(p: &RawParameter) -> Result<Vec<Value>, String> {
    match (&p.values, &p.range, &p.log_range) {
        (Some(v), None, None) if !v.is_empty() => Ok(v.clone()),
        (Some(_), None, None) => Err("values must list at least one value".into()),
        (None, Some(r), None) => {
            if !(r.step > 0.0 && r.step.is_finite() && r.start.is_finite() && r.stop >= r.start) {
                return Err(format!(
                    "range needs start ≤ stop and step > 0, got {}..{} by {}",
                    r.start, r.stop, r.step
                ));
            }
            let n = ((r.stop - r.start) / r.step * (1.0 + 1e-9)).floor() as usize + 1;
            if n > MAX_RUNS {
                return Err(format!("range gives {n} values; at most {MAX_RUNS}"));
            }
            Ok((0..n).map(|i| number(r.start + i as f64 * r.step)).collect())
        }
        (None, None, Some(l)) => {
            if !(l.start > 0.0 && l.stop > l.start && l.points >= 2 && l.points <= MAX_RUNS) {
                return Err("log_range needs 0 < start < stop and 2 or more points".into());
            }
            let (a, b) = (l.start.ln(), l.stop.ln());
            // Twelve significant digits: exp(ln x) is not exactly x.
            let tidy = |x: f64| {
                let scale = 10f64.powi(11 - x.abs().log10().floor() as i32);
                (x * scale).round() / scale
            };
            Ok((0..l.points)
                .map(|i| number(tidy((a + (b - a) * i as f64 / (l.points - 1) as f64).exp())))
                .collect())
        }
        _ => Err("give exactly one of values, range, log_range".into()),
    }
}

/// Reads the manifest file a scenario's `manifest:` names, as a document.
pub type ManifestLoader<'a> = dyn FnMut(&str) -> Result<Value, String> + 'a;

/// Sets `path` (`a.b[0].c`) in `doc`; the path's parents must exist.
pub fn set_path(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    set_path_with(doc, path, value, &mut |file: &str| {
        Err(format!("manifest `{file}` cannot be read here"))
    })
}

/// The keys of a mapping, for a problem: what the path could have named.
fn keys(map: &serde_json::Map<String, Value>) -> String {
    if map.is_empty() {
        return "no fields".to_string();
    }
    let names: Vec<&str> = map.keys().map(String::as_str).take(20).collect();
    let more = map.len().saturating_sub(names.len());
    let list = names.join(", ");
    if more > 0 {
        format!("it has {list}, … ({more} more)")
    } else {
        format!("it has {list}")
    }
}

/// [`set_path`], where a path that goes through a `manifest` field naming a
/// file goes on inside that manifest, in its own spelling
/// (`…manifest.spec.minReplicas`): the file is read with `load`, the field
/// set in it, and the scenario carries the edited manifest inline.
pub fn set_path_with(doc: &mut Value, path: &str, value: Value, load: &mut ManifestLoader) -> Result<(), String> {
    let mut node = doc;
    let mut place = "the base scenario".to_string();
    let mut at = String::new();
    let segments: Vec<&str> = path.split('.').collect();
    for (k, seg) in segments.iter().enumerate() {
        let last = k + 1 == segments.len();
        let (key, indices) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (*seg, ""),
        };
        let mut idx: Vec<usize> = Vec::new();
        for part in indices.split('[').skip(1) {
            let n = part
                .strip_suffix(']')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("bad index in `{seg}`"))?;
            idx.push(n);
        }
        if !key.is_empty() {
            let map = node
                .as_object_mut()
                .ok_or_else(|| format!("`{key}` is not inside a mapping"))?;
            if last && idx.is_empty() {
                map.insert(key.to_string(), value);
                return Ok(());
            }
            let shown = if at.is_empty() {
                String::new()
            } else {
                format!(" at `{at}`")
            };
            let known = keys(map);
            node = map
                .get_mut(key)
                .ok_or_else(|| format!("no field `{key}` in {place}{shown}; {known}"))?;
            if key == "manifest" && idx.is_empty() {
                let here = if at.is_empty() {
                    key.to_string()
                } else {
                    format!("{at}.{key}")
                };
                if let Value::String(file) = node {
                    let file = file.clone();
                    *node = load(&file)?;
                    place = format!("manifest `{file}`");
                    at.clear();
                    continue;
                }
                if node.is_object() {
                    // Given inline, or read by an earlier setting of this point.
                    place = format!("the inline manifest `{here}`");
                    at.clear();
                    continue;
                }
            }
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(key);
        }
        for (j, i) in idx.iter().enumerate() {
            let list = node.as_array_mut().ok_or_else(|| format!("`{seg}` is not a list"))?;
            let len = list.len();
            let item = list
                .get_mut(*i)
                .ok_or_else(|| format!("index {i} is past the end of `{seg}` ({len} items)"))?;
            if last && j + 1 == idx.len() {
                *item = value;
                return Ok(());
            }
            at.push_str(&format!("[{i}]"));
            node = item;
        }
    }
    Err(format!("path `{path}` names nothing"))
}

/// Expands a sweep into points: the variants first, in order, then the
/// cartesian product of the parameters (the first parameter varies slowest).
pub fn expand(base: &Value, sweep: &RawSweep) -> Result<Vec<Point>, String> {
    expand_with(base, sweep, &mut |file: &str| {
        Err(format!("manifest `{file}` cannot be read here"))
    })
}

/// The HPA field beside a manifest that overrides the manifest field `path`
/// goes into (`…hpa.min_replicas` for `…hpa.manifest.spec.minReplicas`), if
/// the base has one: setting `path` would change nothing.
pub fn overridden_in_manifest(base: &Value, path: &str) -> Option<String> {
    let (hpa, rest) = path.split_once(".manifest.spec.")?;
    let beside = match rest.split(['.', '[']).next()? {
        "minReplicas" => "min_replicas",
        "maxReplicas" => "max_replicas",
        "metrics" => "metrics",
        "behavior" => "behavior",
        _ => return None,
    };
    let mut node = base;
    for key in hpa.split('.') {
        node = node.get(key)?;
    }
    node.get(beside).is_some().then(|| format!("{hpa}.{beside}"))
}

/// [`expand`], reading the manifests that paths go into with `load` (each
/// file once).
pub fn expand_with(base: &Value, sweep: &RawSweep, load: &mut ManifestLoader) -> Result<Vec<Point>, String> {
    let paths = (sweep.parameters.iter().map(|p| p.path.as_str()))
        .chain(sweep.variants.iter().flat_map(|v| v.set.keys().map(|p| p.as_str())));
    for path in paths {
        if let Some(beside) = overridden_in_manifest(base, path) {
            return Err(format!(
                "{path}: sweeping it changes nothing, as `{beside}` beside the manifest overrides the manifest's \
                 field; sweep `{beside}` instead, or leave it out of the base"
            ));
        }
    }
    let mut read: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    let mut load = |file: &str| -> Result<Value, String> {
        if let Some(doc) = read.get(file) {
            return Ok(doc.clone());
        }
        let doc = load(file)?;
        read.insert(file.to_string(), doc.clone());
        Ok(doc)
    };
    let mut set_path = |doc: &mut Value, path: &str, value: Value| set_path_with(doc, path, value, &mut load);
    let mut points = Vec::new();
    for v in &sweep.variants {
        let mut doc = base.clone();
        let mut settings = Vec::new();
        for (path, value) in &v.set {
            set_path(&mut doc, path, value.clone()).map_err(|e| format!("variant `{}`: {path}: {e}", v.name))?;
            settings.push((path.clone(), value.clone()));
        }
        points.push(Point {
            index: points.len(),
            name: v.name.clone(),
            settings,
            document: doc,
        });
    }
    let values: Vec<Vec<Value>> = sweep
        .parameters
        .iter()
        .map(|p| parameter_values(p).map_err(|e| format!("parameter `{}`: {e}", p.path)))
        .collect::<Result<_, _>>()?;
    if !sweep.parameters.is_empty() {
        let total: usize = values.iter().map(Vec::len).product();
        if total > MAX_RUNS {
            return Err(format!("the grid has {total} points; at most {MAX_RUNS}"));
        }
        for n in 0..total {
            // Mixed-radix digits, the last parameter fastest.
            let mut rest = n;
            let mut picks = vec![0; values.len()];
            for (k, vals) in values.iter().enumerate().rev() {
                picks[k] = rest % vals.len();
                rest /= vals.len();
            }
            let mut doc = base.clone();
            let mut settings = Vec::new();
            for (k, p) in sweep.parameters.iter().enumerate() {
                let value = values[k][picks[k]].clone();
                set_path(&mut doc, &p.path, value.clone()).map_err(|e| format!("parameter `{}`: {e}", p.path))?;
                settings.push((p.path.clone(), value));
            }
            let shown = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let name = settings
                .iter()
                .map(|(p, v)| format!("{}={}", p.rsplit('.').next().unwrap_or(p), shown(v)))
                .collect::<Vec<_>>()
                .join(" ");
            points.push(Point {
                index: points.len(),
                name,
                settings,
                document: doc,
            });
        }
    }
    if points.is_empty() {
        return Err("a sweep needs parameters or variants".into());
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranges_include_their_stop() {
        let p = |range, log| RawParameter {
            path: "x".into(),
            values: None,
            range,
            log_range: log,
        };
        let r = parameter_values(&p(
            Some(RawRange {
                start: 0.1,
                stop: 0.3,
                step: 0.1,
            }),
            None,
        ))
        .unwrap();
        assert_eq!(r.len(), 3);
        let l = parameter_values(&p(
            None,
            Some(RawLogRange {
                start: 1.0,
                stop: 100.0,
                points: 3,
            }),
        ))
        .unwrap();
        assert_eq!(l, vec![json!(1), json!(10), json!(100)]);
        assert!(
            parameter_values(&p(
                Some(RawRange {
                    start: 1.0,
                    stop: 0.0,
                    step: 1.0
                }),
                None
            ))
            .is_err()
        );
    }

    #[test]
    fn sets_nested_fields_and_list_items() {
        let mut doc = json!({"pools": {"web": {"count": 2, "metrics": [{"target": 50}]}}});
        set_path(&mut doc, "pools.web.count", json!(5)).unwrap();
        set_path(&mut doc, "pools.web.metrics[0].target", json!(70)).unwrap();
        assert_eq!(
            doc,
            json!({"pools": {"web": {"count": 5, "metrics": [{"target": 70}]}}})
        );
        assert!(
            set_path(&mut doc, "pools.api.count", json!(1))
                .unwrap_err()
                .contains("no field `api`")
        );
        assert!(
            set_path(&mut doc, "pools.web.metrics[3].target", json!(1))
                .unwrap_err()
                .contains("past the end")
        );
    }

    #[test]
    fn a_manifest_field_overridden_beside_the_manifest_is_named() {
        let base = json!({"pools": {"web": {"autoscaler": {"hpa": {"manifest": "hpa.yaml", "min_replicas": 3}}}}});
        let path = "pools.web.autoscaler.hpa.manifest.spec.minReplicas";
        assert_eq!(
            overridden_in_manifest(&base, path).as_deref(),
            Some("pools.web.autoscaler.hpa.min_replicas")
        );
        let max = "pools.web.autoscaler.hpa.manifest.spec.maxReplicas";
        assert_eq!(overridden_in_manifest(&base, max), None);
        let sweep: RawSweep = serde_json::from_value(json!({
            "base": "b.yaml",
            "parameters": [{"path": path, "values": [2, 8]}]
        }))
        .unwrap();
        let e = expand_with(&base, &sweep, &mut |_: &str| Ok(json!({"spec": {"minReplicas": 2}}))).unwrap_err();
        assert!(e.contains("sweeping it changes nothing"), "{e}");
    }

    #[test]
    fn paths_through_a_manifest_file_go_on_inside_it() {
        let mut doc = json!({"pools": {"web": {"autoscaler": {"hpa": {"manifest": "hpa.yaml"}}}}});
        let reads = std::cell::Cell::new(0);
        let mut load = |file: &str| {
            reads.set(reads.get() + 1);
            assert_eq!(file, "hpa.yaml");
            Ok(json!({"spec": {"minReplicas": 2, "maxReplicas": 9}}))
        };
        set_path_with(
            &mut doc,
            "pools.web.autoscaler.hpa.manifest.spec.minReplicas",
            json!(4),
            &mut load,
        )
        .unwrap();
        // The point's document now carries the edited manifest inline.
        assert_eq!(
            doc["pools"]["web"]["autoscaler"]["hpa"]["manifest"],
            json!({"spec": {"minReplicas": 4, "maxReplicas": 9}})
        );
        set_path_with(
            &mut doc,
            "pools.web.autoscaler.hpa.manifest.spec.maxReplicas",
            json!(12),
            &mut load,
        )
        .unwrap();
        assert_eq!(reads.get(), 1);
        assert_eq!(
            doc["pools"]["web"]["autoscaler"]["hpa"]["manifest"]["spec"]["maxReplicas"],
            12
        );
        let e = set_path_with(
            &mut doc,
            "pools.web.autoscaler.hpa.manifest.sepc.minReplicas",
            json!(1),
            &mut load,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "no field `sepc` in the inline manifest `pools.web.autoscaler.hpa.manifest`; it has spec"
        );
        let e = set_path(&mut doc, "pools.web.autoscaler.hpa.min", json!(1)).map(|_| ());
        assert!(e.is_ok(), "the last field may be new");
        let e = set_path(&mut doc, "pools.web.autoscalr.hpa", json!(1)).unwrap_err();
        assert_eq!(
            e,
            "no field `autoscalr` in the base scenario at `pools.web`; it has autoscaler"
        );
    }

    #[test]
    fn grid_order_is_the_first_parameter_slowest() {
        let sweep = RawSweep {
            base: "b".into(),
            replications: None,
            seed: None,
            common_random_numbers: None,
            parameters: vec![
                RawParameter {
                    path: "a".into(),
                    values: Some(vec![json!(1), json!(2)]),
                    range: None,
                    log_range: None,
                },
                RawParameter {
                    path: "b".into(),
                    values: Some(vec![json!("x"), json!("y"), json!("z")]),
                    range: None,
                    log_range: None,
                },
            ],
            variants: vec![],
            objective: None,
        };
        let points = expand(&json!({"a": 0, "b": 0}), &sweep).unwrap();
        let docs: Vec<Value> = points.iter().map(|p| p.document.clone()).collect();
        assert_eq!(docs[0], json!({"a": 1, "b": "x"}));
        assert_eq!(docs[1], json!({"a": 1, "b": "y"}));
        assert_eq!(docs[3], json!({"a": 2, "b": "x"}));
        assert_eq!(points.len(), 6);
    }
}
