//! `capsim import-hpa MANIFEST`

use crate::cli::console::{errln, out};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::scenario;

use super::input::InputKind;
use super::{exit, read_text, report_load_error};

#[derive(Args, Debug)]
pub struct ImportHpaArgs {
    /// A HorizontalPodAutoscaler manifest (autoscaling/v2, YAML or JSON).
    pub manifest: PathBuf,
}

pub fn import_hpa(args: ImportHpaArgs) -> Result<u8> {
    let text = match read_text(&args.manifest, "manifest", InputKind::Manifest) {
        Ok(text) => text,
        Err(e) => return report_load_error(e),
    };
    match scenario::import_hpa(&text, &args.manifest.display().to_string()) {
        Ok(inline) => {
            out!("{inline}");
            Ok(exit::OK)
        }
        Err(e) => {
            errln!("error: {e}");
            Ok(exit::INVALID_SCENARIO)
        }
    }
}
