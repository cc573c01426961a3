//! `capsim export-hpa SCENARIO [--pool NAME]`

use crate::cli::console::out;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::report::manifest::hpa_manifest;

use super::{exit, load_scenario, report_load_error};

#[derive(Args, Debug)]
pub struct ExportHpaArgs {
    /// Scenario file (YAML or JSON).
    pub scenario: PathBuf,
    /// Only this pool's HPA [default: every autoscaled pool, as a multi-document YAML].
    #[arg(long)]
    pub pool: Option<String>,
}

pub fn export_hpa(args: ExportHpaArgs) -> Result<u8> {
    let scenario = match load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(e) => return report_load_error(e),
    };
    let pools: Vec<_> = scenario
        .spec
        .pools
        .iter()
        .filter(|p| args.pool.as_ref().is_none_or(|name| *name == p.name))
        .filter_map(|p| p.autoscaler.as_ref().map(|a| (p.name.as_str(), a)))
        .collect();
    if pools.is_empty() {
        match &args.pool {
            Some(name) if scenario.spec.pools.iter().all(|p| p.name != *name) => {
                let known: Vec<&str> = scenario.spec.pools.iter().map(|p| p.name.as_str()).collect();
                bail!(
                    "no pool `{name}` in {}; known: {}",
                    args.scenario.display(),
                    known.join(", ")
                )
            }
            Some(name) => bail!("pool `{name}` has no HPA in {}", args.scenario.display()),
            None => bail!("no pool in {} has an HPA", args.scenario.display()),
        }
    }
    let docs: Vec<String> = pools.iter().map(|(name, config)| hpa_manifest(name, config)).collect();
    out!("{}", docs.join("---\n"));
    Ok(exit::OK)
}
