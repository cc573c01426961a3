//! Every parser problem of a document at once, not only the first.
//!
//! A serde parse stops at its first error. To find the next one, the
//! document (already read into a [`Value`]) is changed so that the parse
//! gets past the first, and parsed again: an unknown field is taken out, a
//! value of the wrong type is replaced by the first of a few stand-ins
//! that the parse accepts there (for an unknown variant, a variant the
//! message lists), a missing field gets one. Where nothing fits, the node
//! is taken out, and the errors that this causes above it (the field now
//! missing, the mapping now empty) take out their node too, unreported.
//!
//! Every change is recorded as a path in the original document, so
//! problems point into the file as written, even after an item of a list
//! was taken out, and later checks can leave out what they would find
//! wrong only because of a stand-in.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::validate::PathProblem;

/// How many problems one parse reports at most (each costs a few parses).
const MAX_PROBLEMS: usize = 64;

/// How many times the document is changed and parsed again at most.
const MAX_ROUNDS: usize = 1024;

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The parse of a document, with every problem found on the way.
pub struct Typed<T> {
    /// The value, parsed from the document with stand-ins where problems
    /// were; `None` when the parse could not get past one.
    pub value: Option<T>,
    /// `(field path, message)` in the parser's words, in the order found.
    pub problems: Vec<PathProblem>,
    /// Paths (as problems print them) whose value is a stand-in or gone:
    /// a later check must not judge what is under them.
    pub changed: Vec<String>,
}

/// Parses `doc` into `T`, collecting every problem (see the module's doc).
/// `explain` turns a parser's message into the format's words.
pub fn parse_all<T: DeserializeOwned>(mut doc: Value, explain: impl Fn(&str) -> String) -> Typed<T> {
    let mut problems = Vec::new();
    // Paths in the original document: unknown fields taken out (the parse
    // would have ignored them), nodes taken out, stand-ins put in.
    let mut unknown: Vec<(Vec<Step>, Value)> = Vec::new();
    let mut removed: Vec<Vec<Step>> = Vec::new();
    let mut stood_in: Vec<Vec<Step>> = Vec::new();
    // Each round takes a node out or fixes one; the bound only guards
    // against a document whose fixes undo each other.
    for _ in 0..MAX_ROUNDS {
        let error = match serde_path_to_error::deserialize::<_, T>(&doc) {
            Ok(value) => {
                return Typed {
                    value: Some(value),
                    problems,
                    changed: unknown
                        .iter()
                        .map(|(p, _)| p)
                        .chain(&removed)
                        .chain(&stood_in)
                        .map(|p| shown(p))
                        .collect(),
                };
            }
            Err(e) => e,
        };
        let message = error.inner().to_string();
        let Some(here) = steps(error.path()) else {
            problems.push((error.path().to_string(), explain(&message)));
            break;
        };
        let original = to_original(&here, &removed);
        // An error that a removal below caused (a field now missing, a
        // mapping now empty) is not the user's: take its node out too.
        let caused = removed.iter().chain(&stood_in).any(|r| r.starts_with(&original));
        // A required field missing beside an unknown one is most likely
        // that field misspelled: the unknown field's problem says so.
        // Its value is the first stand-in tried.
        let beside: Vec<Value> = unknown
            .iter()
            .filter(|(u, _)| u.len() == original.len() + 1 && u.starts_with(&original))
            .map(|(_, v)| v.clone())
            .collect();
        let misspelled = missing_field(&message).is_some() && !beside.is_empty();
        if misspelled && let Some(field) = missing_field(&message) {
            let mut at = here.clone();
            at.push(Step::Key(field.to_string()));
            if stand_in::<T>(&mut doc, &at, &removed, &message, beside, true) {
                stood_in.push(to_original(&at, &removed));
                continue;
            }
        }
        if !caused && !misspelled {
            problems.push((shown(&original), explain(&message)));
            if problems.len() >= MAX_PROBLEMS {
                break;
            }
            if message.starts_with("unknown field") {
                let Some(value) = node(&mut doc, &here).map(|v| v.clone()) else {
                    break;
                };
                remove(&mut doc, &here);
                unknown.push((original, value));
                continue;
            }
            if let Some(field) = missing_field(&message) {
                let mut at = here.clone();
                at.push(Step::Key(field.to_string()));
                if stand_in::<T>(&mut doc, &at, &removed, &message, Vec::new(), true) {
                    stood_in.push(to_original(&at, &removed));
                    continue;
                }
            } else if stand_in::<T>(&mut doc, &here, &removed, &message, Vec::new(), false) {
                stood_in.push(original);
                continue;
            }
        }
        if here.is_empty() || !remove(&mut doc, &here) {
            break;
        }
        removed.push(original);
    }
    Typed {
        value: None,
        problems,
        changed: Vec::new(),
    }
}

/// Puts the first stand-in at `at` that moves the parse past the problem
/// (it succeeds, or fails elsewhere or for another reason); `insert` adds
/// a missing key. `first` are tried before the usual [`candidates`].
/// Leaves the document as it was where none does.
fn stand_in<T: DeserializeOwned>(
    doc: &mut Value,
    at: &[Step],
    removed: &[Vec<Step>],
    message: &str,
    first: Vec<Value>,
    insert: bool,
) -> bool {
    let Some((last, parent)) = at.split_last() else {
        return false;
    };
    let before = match (node(doc, parent), last) {
        (Some(Value::Object(map)), Step::Key(k)) => map.get(k).cloned(),
        (Some(Value::Array(items)), Step::Index(i)) => items.get(*i).cloned(),
        _ => return false,
    };
    if before.is_none() != insert {
        return false;
    }
    let at_original = to_original(at, removed);
    let parent_original = to_original(parent, removed);
    for candidate in first.into_iter().chain(candidates(message)) {
        set(doc, at, Some(candidate));
        let past = match serde_path_to_error::deserialize::<_, T>(&*doc) {
            Ok(_) => true,
            Err(e) => match steps(e.path()) {
                None => true,
                Some(p) => {
                    let p = to_original(&p, removed);
                    let same_problem = insert && p == parent_original && e.inner().to_string() == message;
                    !p.starts_with(&at_original) && !same_problem
                }
            },
        };
        if past {
            return true;
        }
    }
    set(doc, at, before);
    false
}

/// Values a parse accepts in most places where a user's value was wrong:
/// the first variants the message lists (bare, or holding a number, a
/// duration or no fields), then numbers, a duration, text, a flag, an
/// empty mapping and list.
fn candidates(message: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(list) = message.split("expected one of ").nth(1) {
        for name in list.split(", ").take(3) {
            let name = name.trim_matches(|c: char| c == '`' || c.is_whitespace());
            if !name.is_empty() {
                // A unit variant, or one that holds a value or fields.
                out.push(Value::String(name.to_string()));
                for inner in [
                    Value::from(1),
                    Value::String("1s".into()),
                    Value::Object(Default::default()),
                ] {
                    out.push(Value::Object([(name.to_string(), inner)].into_iter().collect()));
                }
            }
        }
    }
    out.extend([
        Value::from(1),
        Value::from(0),
        Value::from(0.5),
        Value::String("1s".into()),
        Value::String("x".into()),
        Value::Bool(false),
        Value::Object(Default::default()),
        Value::Array(Vec::new()),
    ]);
    out
}

/// The field a "missing field `x`" message names.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// A parser's path as steps; `None` where it could not name a step.
fn steps(path: &serde_path_to_error::Path) -> Option<Vec<Step>> {
    path.iter()
        .map(|s| match s {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// A path as problems print it: `pools.web.count`, `traffic.classes[1].cpu`.
fn shown(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// `path` in the document's current state as a path in the original:
/// each index counts the items taken out before it.
fn to_original(path: &[Step], removed: &[Vec<Step>]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(path.len());
    for step in path {
        match step {
            Step::Index(i) => {
                let mut gone: Vec<usize> = removed
                    .iter()
                    .filter(|r| r.len() == out.len() + 1 && r.starts_with(&out))
                    .filter_map(|r| match r.last() {
                        Some(Step::Index(k)) => Some(*k),
                        _ => None,
                    })
                    .collect();
                gone.sort_unstable();
                let mut j = *i;
                for k in gone {
                    if k <= j {
                        j += 1;
                    }
                }
                out.push(Step::Index(j));
            }
            key => out.push(key.clone()),
        }
    }
    out
}

fn node<'v>(doc: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(doc, |v, step| match (v, step) {
        (Value::Object(map), Step::Key(k)) => map.get_mut(k),
        (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
        _ => None,
    })
}

/// Sets (`Some`) or takes out (`None`) the node at `path`.
fn set(doc: &mut Value, path: &[Step], value: Option<Value>) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    match (node(doc, parent), last, value) {
        (Some(Value::Object(map)), Step::Key(k), Some(v)) => {
            map.insert(k.clone(), v);
        }
        (Some(Value::Object(map)), Step::Key(k), None) => {
            map.remove(k);
        }
        (Some(Value::Array(items)), Step::Index(i), Some(v)) if *i < items.len() => items[*i] = v,
        (Some(Value::Array(items)), Step::Index(i), None) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

/// Takes out the node at `path`; false where there is none.
fn remove(doc: &mut Value, path: &[Step]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let exists = match (node(doc, parent), last) {
        (Some(Value::Object(map)), Step::Key(k)) => map.contains_key(k),
        (Some(Value::Array(items)), Step::Index(i)) => *i < items.len(),
        _ => false,
    };
    if exists {
        set(doc, path, None);
    }
    exists
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    // Fields are only parsed, never read: the parse is what is tested.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        items: Vec<Item>,
        #[serde(default)]
        #[allow(dead_code)]
        limit: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        name: String,
        #[allow(dead_code)]
        size: Size,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Size {
        #[allow(dead_code)]
        cores: u32,
    }

    fn parse(doc: Value) -> Typed<Doc> {
        parse_all(doc, |m| m.to_string())
    }

    #[test]
    fn every_problem_is_found_and_named_in_the_original_document() {
        let doc = serde_json::json!({
            "items": [
                { "name": "a", "size": "big" },
                { "name": "b", "size": { "cores": 2 }, "colour": "red" },
                { "name": 3, "size": { "cores": -1 } }
            ],
            "limit": "ten"
        });
        let t = parse(doc);
        let paths: Vec<&str> = t.problems.iter().map(|(p, _)| p.as_str()).collect();
        // items[0].size fits no stand-in, so items[0] is taken out: the
        // later problems still carry their index in the file.
        assert_eq!(
            paths,
            [
                "items[0].size",
                "items[1].colour",
                "items[2].name",
                "items[2].size.cores",
                "limit"
            ],
            "{:?}",
            t.problems
        );
        assert!(
            t.problems[1].1.starts_with("unknown field `colour`"),
            "{:?}",
            t.problems[1]
        );
        let value = t.value.expect("parsed past every problem");
        assert_eq!(
            value.items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["b", "1s"]
        );
        for changed in [
            "items[0]",
            "items[1].colour",
            "items[2].name",
            "items[2].size.cores",
            "limit",
        ] {
            assert!(t.changed.iter().any(|c| c == changed), "{changed} in {:?}", t.changed);
        }
    }

    #[test]
    fn a_misspelled_required_field_lends_its_value() {
        let doc = serde_json::json!({ "items": [{ "name": "a", "sise": { "cores": 2 } }] });
        let t = parse(doc);
        assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
        assert_eq!(t.problems[0].0, "items[0].sise");
        assert!(t.value.is_some());
    }

    #[test]
    fn a_problem_at_the_root_stops_the_search() {
        let t = parse(serde_json::json!(42));
        assert_eq!(t.problems.len(), 1);
        assert!(t.value.is_none());
        let t = parse(serde_json::json!({}));
        assert_eq!(t.problems, [(String::new(), "missing field `items`".to_string())]);
    }
}
