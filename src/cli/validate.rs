//! `capsim validate FILE…`

use crate::cli::console::outln;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{exit, load_scenario, report_load_error};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Scenario files (YAML or JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn validate(args: ValidateArgs) -> Result<u8> {
    let mut code = exit::OK;
    for file in &args.files {
        match load_scenario(file) {
            Ok(s) => {
                let warnings = match s.warnings.len() {
                    0 => String::new(),
                    1 => ", 1 warning".to_string(),
                    n => format!(", {n} warnings"),
                };
                outln!(
                    "{}: ok ({}, {} pools{warnings})",
                    file.display(),
                    s.spec.name,
                    s.spec.pools.len()
                );
            }
            Err(e) => code = code.max(report_load_error(e)?),
        }
    }
    Ok(code)
}
