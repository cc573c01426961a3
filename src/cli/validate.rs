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
                    n => format!(", {}", crate::report::format::count(n, "warning")),
                };
                outln!(
                    "{}: ok ({}, {}{warnings})",
                    file.display(),
                    s.spec.name,
                    crate::report::format::count(s.spec.pools.len(), "pool")
                );
            }
            Err(e) => code = code.max(report_load_error(e)?),
        }
    }
    Ok(code)
}
