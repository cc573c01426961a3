//! `capsim report DIR`

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::exit;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// An output folder of `capsim run`, `compare`, `sweep` or `headroom`.
    pub dir: PathBuf,
}

pub fn report(args: ReportArgs) -> Result<u8> {
    crate::report::review::write_report(&args.dir)?;
    println!(
        "wrote {} and {}",
        args.dir.join("report.md").display(),
        args.dir.join("report.html").display()
    );
    Ok(exit::OK)
}
