//! Scenario files: the format users write (YAML or JSON, one schema), its
//! validation and defaults, and the translation into a [`SystemSpec`].
//!
//! Bad input never reaches the model: [`load`] returns every problem at
//! once, each with the file, line:column where known, the field path and
//! what is allowed.

mod autoscaler;
mod balancer;
mod budget;
mod data;
pub(crate) use data::DEFAULT_POOL_SIZE;
mod deploy;
mod error;
mod locate;
mod manifest;
mod mixed;
mod prices;
pub mod raw;
mod region;
mod suggest;
mod typed;
pub mod units;
mod validate;

pub use error::{EXCERPT_CHARS, Problem, ScenarioError, excerpt, quote_safely};
pub use manifest::import as import_hpa;
pub(crate) use validate::known_list;
pub use validate::{
    DEFAULT_GROWTH, DEFAULT_MAX_REQUESTS_HELD, MAX_GROWTH_HORIZONS, MAX_RATE_PIECES, MAX_RATE_RPS, SourceFiles,
    SourceKind, check_growth, parse_replay,
};

use crate::model::SystemSpec;
use locate::Locator;

/// The two spellings of the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// `.json` files are JSON; everything else is read as YAML.
    pub fn for_path(path: &str) -> Format {
        if path.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub spec: SystemSpec,
    /// The seed the file asks for (42 unless it says otherwise).
    pub seed: u64,
    /// What is valid but likely not what the user meant (a default deciding
    /// a result, say), located like problems.
    pub warnings: Vec<Problem>,
}

/// Refers no file: for scenarios that use no replay.
pub struct NoFiles;

impl SourceFiles for NoFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        Err(format!("no files are available here (asked for `{path}`)"))
    }
}

/// Parses and validates a scenario's text. `file` names it in problems.
/// Every problem is found in one pass: those the parser finds (an unknown
/// field, a value of the wrong type) and those validation finds, in the
/// file's order; only a file that is not YAML or JSON at all stops at its
/// first.
pub fn load(text: &str, file: &str, format: Format, files: &dyn SourceFiles) -> Result<Scenario, ScenarioError> {
    let doc: serde_json::Value = parse(text, file, format)?;
    if let Some(e) = sweep_file_instead(&doc, file) {
        return Err(e);
    }
    check(doc, files, |problems| locate(text, file, problems)).map_err(|mut e| {
        // In the file's order; problems without a place after them.
        e.problems.sort_by_key(|p| (p.line.is_none(), p.line, p.column));
        e
    })
}

/// Parses a scenario document into its types, every parser problem
/// collected (`typed.rs`), then validates it; `place` gives each problem
/// its file and position. Validation does not judge a field the parse
/// stood a value in for.
fn check(
    doc: serde_json::Value,
    files: &dyn SourceFiles,
    place: impl Fn(Vec<validate::PathProblem>) -> Vec<Problem>,
) -> Result<Scenario, ScenarioError> {
    let typed = typed::parse_all::<raw::RawScenario>(doc, explain);
    let parsed = typed.problems;
    let Some(raw) = typed.value else {
        return Err(ScenarioError {
            problems: place(parsed),
        });
    };
    let (mut local, foreign) = match validate::validate(&raw, files) {
        Ok(v) if parsed.is_empty() => {
            return Ok(Scenario {
                spec: v.spec,
                seed: v.seed,
                warnings: place(v.warnings),
            });
        }
        Ok(_) => (Vec::new(), Vec::new()),
        Err(found) => found,
    };
    local.retain(|(path, _)| !typed.changed.iter().any(|c| is_under(path, c)));
    let mut problems = parsed;
    problems.append(&mut local);
    let mut problems = place(problems);
    problems.extend(foreign);
    Err(ScenarioError { problems })
}

/// Whether field path `path` is `parent` or below it.
fn is_under(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// A sweep file given where a scenario is expected, said as such rather
/// than as "unknown field `base`".
fn sweep_file_instead(doc: &serde_json::Value, file: &str) -> Option<ScenarioError> {
    let map = doc.as_object()?;
    let sweep = map.contains_key("base") && (map.contains_key("parameters") || map.contains_key("variants"));
    sweep.then(|| ScenarioError {
        problems: vec![Problem {
            file: file.to_string(),
            line: Some(1),
            column: Some(1),
            path: String::new(),
            message: format!(
                "this is a sweep file (it has `base` and the fields to vary), not a scenario: run it with capsim sweep {file}"
            ),
        }],
    })
}

/// Parses any file of capsim's (a sweep file, say) into its serde type,
/// with the same located errors as scenarios.
pub fn parse_file<T: serde::de::DeserializeOwned>(text: &str, file: &str, format: Format) -> Result<T, ScenarioError> {
    parse(text, file, format)
}

/// Reads a scenario's text as a plain document, for tools that change
/// fields by path before loading it (sweeps).
pub fn document(text: &str, file: &str, format: Format) -> Result<serde_json::Value, ScenarioError> {
    parse(text, file, format)
}

/// Validates a scenario document; `name` says where it came from in
/// problems (a document has no lines and columns).
pub fn load_document(doc: &serde_json::Value, name: &str, files: &dyn SourceFiles) -> Result<Scenario, ScenarioError> {
    check(doc.clone(), files, |problems| {
        problems
            .into_iter()
            .map(|(path, message)| Problem {
                file: name.to_string(),
                line: None,
                column: None,
                path,
                message,
            })
            .collect()
    })
}

/// Gives each `(path, message)` the line and column of its path in `text`.
fn locate(text: &str, file: &str, problems: Vec<validate::PathProblem>) -> Vec<Problem> {
    let locator = Locator::new(text);
    problems
        .into_iter()
        .map(|(path, message)| {
            // A field that should not be there is shown at its key.
            let at = if message.starts_with("unknown field") {
                locator.locate_key(&path)
            } else {
                locator.locate(&path)
            };
            Problem {
                file: file.to_string(),
                line: at.map(|p| p.0),
                column: at.map(|p| p.1),
                path,
                message,
            }
        })
        .collect()
}

/// Deserializes a YAML or JSON document, turning the first type error into a
/// located problem with its field path. Both formats have the same budget
/// of nodes and nesting (see `budget.rs`).
fn parse<T: serde::de::DeserializeOwned>(text: &str, file: &str, format: Format) -> Result<T, ScenarioError> {
    let mut path = String::new();
    let located = match format {
        Format::Yaml => serde_saphyr::with_deserializer_from_str(text, |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                path = e.path().to_string();
                e.into_inner()
            })
        })
        .map_err(|e| {
            let at = e.location().filter(|l| l.line() > 0).map(|l| (l.line(), l.column()));
            (at, yaml_message(e.without_snippet()))
        }),
        Format::Json => match budget::check_json(text) {
            Err((at, message)) => Err((Some(at), message)),
            Ok(()) => {
                let at = |e: &serde_json::Error| (e.line() > 0).then(|| (e.line() as u64, e.column() as u64));
                let mut de = serde_json::Deserializer::from_str(text);
                match serde_path_to_error::deserialize(&mut de) {
                    Err(e) => {
                        path = e.path().to_string();
                        let inner = e.into_inner();
                        Err((at(&inner), explain(strip_location(&inner.to_string()))))
                    }
                    Ok(v) => de
                        .end()
                        .map(|()| v)
                        .map_err(|e| (at(&e), explain(strip_location(&e.to_string())))),
                }
            }
        },
    };
    located.map_err(|(at, message)| ScenarioError {
        problems: vec![Problem {
            file: file.to_string(),
            line: at.map(|p| p.0),
            column: at.map(|p| p.1),
            path: known_path(&path),
            message,
        }],
    })
}

/// A parser's field path without the parts it could not name (`?`): the
/// position says where the problem is.
fn known_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').filter(|p| !matches!(*p, "?" | "")).collect();
    parts.join(".")
}

/// A YAML parser error in the words of the scenario format: its budget,
/// nulls and duplicate keys say what the file can do about them, not what
/// the program could.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::Error as E;
    match e {
        E::Budget { breach, .. } => budget::breach_message(breach),
        E::NullIntoString { .. } | E::InvalidCharNull { .. } => {
            "expected a value, found none (an empty value or `~` is null)".to_string()
        }
        E::DuplicateMappingKey { key: Some(k), .. } => {
            format!("duplicate key `{k}`: each key may appear once in a mapping")
        }
        E::DuplicateMappingKey { key: None, .. } => "duplicate key: each key may appear once in a mapping".to_string(),
        E::NonFiniteFloat { value, .. } => {
            format!("`{value}` is not a finite number: give a number such as 0.5")
        }
        E::MultipleDocuments { .. } => "the file holds more than one YAML document: give one".to_string(),
        E::Eof { .. } => "unexpected end of the file".to_string(),
        E::AliasError { error, .. } | E::WithSnippet { error, .. } => yaml_message(error),
        other => explain(strip_location(&other.to_string())),
    }
}

/// Parsers append " at line N, column M"; the problem prints it up front.
fn strip_location(message: &str) -> &str {
    for marker in [" at line ", " at position "] {
        if let Some(i) = message.rfind(marker) {
            return &message[..i];
        }
    }
    message
}

/// A parser's message in the words of the scenario format: it names the
/// program's types (`u32`, `struct RawPool`) where the format has numbers
/// and mappings, and says what is not allowed where it can say what is.
fn explain(message: &str) -> String {
    const NUMBERS: &[(&str, &str)] = &[
        ("u8", "a whole number ≥ 0, at most 255"),
        ("u16", "a whole number ≥ 0, at most 65535"),
        ("u32", "a whole number ≥ 0, at most 4294967295"),
        ("u64", "a whole number ≥ 0, at most 18446744073709551615"),
        ("usize", "a whole number ≥ 0, at most 18446744073709551615"),
        ("i32", "a whole number between -2147483648 and 2147483647"),
        (
            "i64",
            "a whole number between -9223372036854775808 and 9223372036854775807",
        ),
        ("f32", "a number"),
        ("f64", "a number"),
    ];
    let mut text = message.to_string();
    for (ty, words) in NUMBERS {
        // YAML's own scalar check: `invalid u32`.
        if let Some(rest) = text.strip_prefix(&format!("invalid {ty}"))
            && !rest.starts_with(|c: char| c.is_alphanumeric())
        {
            text = format!("invalid value: expected {words}{rest}");
        }
        text = replace_word(&text, &format!("expected {ty}"), &format!("expected {words}"));
    }
    for (named, words) in [
        ("expected struct variant ", "expected a mapping of fields"),
        ("expected struct ", "expected a mapping of fields"),
        ("expected enum ", "expected one of the forms the reference documents"),
    ] {
        text = replace_named(&text, named, words);
    }
    // "invalid type: string "two", expected a number" says what is wanted first.
    if let Some(rest) = text
        .strip_prefix("invalid type: ")
        .or_else(|| text.strip_prefix("invalid value: "))
        && !rest.starts_with("null")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        text = format!("expected {expected}; found {}", found_words(found));
    }
    // Names in a list of what is allowed, as the reference writes them.
    if let Some(i) = text.find("expected one of ") {
        let (head, list) = text.split_at(i);
        text = format!("{head}{}", list.replace('`', ""));
    }
    if text.starts_with("invalid type: null") {
        text = "expected a value, found none (an empty value or `~` is null)".to_string();
    }
    let text = text
        .replace(
            "expected mapping start",
            "expected a mapping of fields (`field: value`)",
        )
        .replace(
            "expected string scalar",
            "expected a single value, not a list or a mapping",
        );
    suggest::parser_message(&text)
}

/// What serde says it found (`string "two"`, ``integer `-3` ``, `map`) as
/// the file has it.
fn found_words(found: &str) -> String {
    for prefix in ["string ", "integer ", "floating point ", "boolean "] {
        if let Some(value) = found.strip_prefix(prefix) {
            return value.trim_matches('`').to_string();
        }
    }
    match found {
        "map" => "a mapping".to_string(),
        "sequence" => "a list".to_string(),
        "unit value" => "null".to_string(),
        other => other.to_string(),
    }
}

/// `text` with `from` replaced by `to` where it is a whole word.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let after = &rest[i + from.len()..];
        out.push_str(&rest[..i]);
        if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `text` with `prefix` and the type name after it (`RawRate::Ramp`)
/// replaced by `to`.
fn replace_named(text: &str, prefix: &str, to: &str) -> String {
    let Some(i) = text.find(prefix) else {
        return text.to_string();
    };
    let after = &text[i + prefix.len()..];
    let name_len = after
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(after.len());
    format!("{}{to}{}", &text[..i], &after[name_len..])
}
