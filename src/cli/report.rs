//! `capsim report DIR`

use crate::cli::console::outln;
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
    // report.md and report.html go into the folder itself: only into one capsim wrote.
    if !crate::report::files::is_capsim_output(&args.dir) {
        anyhow::bail!(
            "{} is not a capsim output folder (it has no {} marker: an older capsim's result lacks it, run the command again); refusing to write a report into it",
            args.dir.display(),
            crate::report::files::MARKER
        );
    }
    crate::report::review::write_report(&args.dir)?;
    outln!(
        "wrote {} and {}",
        args.dir.join("report.md").display(),
        args.dir.join("report.html").display()
    );
    Ok(exit::OK)
}
