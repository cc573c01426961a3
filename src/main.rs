use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ExitCode::from(capsim::cli::main(capsim::cli::Cli::parse()))
}
