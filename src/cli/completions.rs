//! `capsim completions SHELL`

use anyhow::Result;
use clap::{Args, CommandFactory};

use crate::cli::console::out;

use super::exit;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script for `shell`, made from the same command
/// definitions `--help` shows, so it names every subcommand and flag.
pub fn completions(args: CompletionsArgs) -> Result<u8> {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "capsim", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(exit::OK)
}
