//! Scenario files: the format users write (YAML or JSON, one schema), its
//! validation and defaults, and the translation into a [`SystemSpec`].
//!
//! Bad input never reaches the model: [`load`] returns every problem at
//! once, each with the file, line:column where known, the field path and
//! what is allowed.

mod autoscaler;
mod balancer;
mod data;
mod deploy;
mod error;
mod locate;
mod manifest;
pub mod raw;
mod region;
pub mod units;
mod validate;

pub use error::{EXCERPT_CHARS, Problem, ScenarioError, excerpt, quote_safely};
pub use validate::{SourceFiles, SourceKind, parse_replay};

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
}

/// Refers no file: for scenarios that use no replay.
pub struct NoFiles;

impl SourceFiles for NoFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        Err(format!("no files are available here (asked for `{path}`)"))
    }
}

/// Parses and validates a scenario's text. `file` names it in problems.
pub fn load(text: &str, file: &str, format: Format, files: &dyn SourceFiles) -> Result<Scenario, ScenarioError> {
    let raw: raw::RawScenario = parse(text, file, format)?;
    match validate::validate(&raw, files) {
        Ok((spec, seed)) => Ok(Scenario { spec, seed }),
        Err((local, foreign)) => {
            let mut problems = locate(text, file, local);
            problems.extend(foreign);
            Err(ScenarioError { problems })
        }
    }
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
    let problem = |path: String, message: String| Problem {
        file: name.to_string(),
        line: None,
        column: None,
        path,
        message,
    };
    let raw: raw::RawScenario = serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let message = explain(e.inner().to_string().as_str());
        ScenarioError {
            problems: vec![problem(if path == "." { String::new() } else { path }, message)],
        }
    })?;
    match validate::validate(&raw, files) {
        Ok((spec, seed)) => Ok(Scenario { spec, seed }),
        Err((local, mut foreign)) => {
            let mut problems: Vec<Problem> = local
                .into_iter()
                .map(|(path, message)| problem(path, message))
                .collect();
            problems.append(&mut foreign);
            Err(ScenarioError { problems })
        }
    }
}

/// Gives each `(path, message)` the line and column of its path in `text`.
fn locate(text: &str, file: &str, problems: Vec<validate::PathProblem>) -> Vec<Problem> {
    let locator = Locator::new(text);
    problems
        .into_iter()
        .map(|(path, message)| {
            let at = locator.locate(&path);
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
/// located problem with its field path.
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
            (at, e.without_snippet().to_string())
        }),
        Format::Json => {
            let at = |e: &serde_json::Error| (e.line() > 0).then(|| (e.line() as u64, e.column() as u64));
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize(&mut de) {
                Err(e) => {
                    path = e.path().to_string();
                    let inner = e.into_inner();
                    Err((at(&inner), inner.to_string()))
                }
                Ok(v) => de.end().map(|()| v).map_err(|e| (at(&e), e.to_string())),
            }
        }
    };
    located.map_err(|(at, message)| {
        let path = if path == "." { String::new() } else { path };
        ScenarioError {
            problems: vec![Problem {
                file: file.to_string(),
                line: at.map(|p| p.0),
                column: at.map(|p| p.1),
                path,
                message: explain(strip_location(&message)),
            }],
        }
    })
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

/// Says what is allowed where a parser's message only says what is not.
fn explain(message: &str) -> String {
    let whole =
        |ty: &str| message.starts_with(&format!("invalid {ty}")) || message.ends_with(&format!("expected {ty}"));
    if whole("u32") || whole("u64") {
        format!("{message}: expected a whole number ≥ 0")
    } else if message.starts_with("invalid f64") {
        format!("{message}: expected a number")
    } else {
        message.to_string()
    }
}
