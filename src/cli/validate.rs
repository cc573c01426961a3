//! `capsim validate FILE…`: scenarios, sweep files and HPA manifests, each
//! checked as the command that takes it would check it.

use crate::cli::console::{errln, outln};
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use crate::report::format::count;
use crate::scenario::{self, Format};

use super::input::InputKind;
use super::{exit, load_scenario, read_text, report_load_error};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Scenario files, sweep files or HPA manifests (YAML or JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// What a file is, from its top-level fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scenario,
    /// `base` and `parameters` or `variants`: what `capsim sweep` takes.
    Sweep,
    /// `apiVersion` and `kind`: what `capsim import-hpa` and a pool's
    /// `hpa.manifest` take.
    Manifest,
}

fn kind_of(doc: &serde_json::Value) -> Kind {
    let Some(map) = doc.as_object() else {
        return Kind::Scenario;
    };
    if map.contains_key("base") && (map.contains_key("parameters") || map.contains_key("variants")) {
        Kind::Sweep
    } else if map.contains_key("apiVersion") && map.contains_key("kind") {
        Kind::Manifest
    } else {
        Kind::Scenario
    }
}

pub fn validate(args: ValidateArgs) -> Result<u8> {
    let mut code = exit::OK;
    for file in &args.files {
        code = code.max(validate_one(file)?);
    }
    Ok(code)
}

fn validate_one(file: &Path) -> Result<u8> {
    // A file that does not parse is reported as a scenario would be.
    let name = file.display().to_string();
    let kind = read_text(file, "file", InputKind::Scenario)
        .ok()
        .and_then(|text| scenario::document(&text, &name, Format::for_path(&name)).ok())
        .map_or(Kind::Scenario, |doc| kind_of(&doc));
    match kind {
        Kind::Scenario => match load_scenario(file) {
            Ok(s) => {
                let warnings = match s.warnings.len() {
                    0 => String::new(),
                    n => format!(", {}", count(n, "warning")),
                };
                outln!(
                    "{name}: ok ({}, {}{warnings})",
                    s.spec.name,
                    count(s.spec.pools.len(), "pool")
                );
                Ok(exit::OK)
            }
            Err(e) => report_load_error(e),
        },
        Kind::Sweep => match super::sweep::prepare(file, false) {
            Ok(sweep) => {
                outln!("{name}: ok (sweep over {}: {})", sweep.base(), sweep.shape());
                Ok(exit::OK)
            }
            Err(end) => end,
        },
        Kind::Manifest => {
            let text = match read_text(file, "manifest", InputKind::Manifest) {
                Ok(text) => text,
                Err(e) => return report_load_error(e),
            };
            match scenario::import_hpa(&text, &name) {
                Ok(_) => {
                    outln!("{name}: ok (HorizontalPodAutoscaler manifest)");
                    Ok(exit::OK)
                }
                Err(e) => {
                    errln!("error: {e}");
                    Ok(exit::INVALID_SCENARIO)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_known_by_its_top_level_fields() {
        let kind = |text: &str| kind_of(&serde_json::from_str(text).unwrap());
        assert_eq!(kind(r#"{"base": "a.yaml", "parameters": []}"#), Kind::Sweep);
        assert_eq!(kind(r#"{"base": "a.yaml", "variants": []}"#), Kind::Sweep);
        assert_eq!(
            kind(r#"{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler"}"#),
            Kind::Manifest
        );
        // A scenario that happens to have `base` (or only one of a pair)
        // stays a scenario, and gets the scenario's own message.
        assert_eq!(kind(r#"{"name": "x", "base": 1}"#), Kind::Scenario);
        assert_eq!(kind(r#"{"kind": "HorizontalPodAutoscaler"}"#), Kind::Scenario);
        assert_eq!(kind("[1, 2]"), Kind::Scenario);
    }
}
