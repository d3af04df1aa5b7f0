//! `mlp`: the command-line front end. Parses, runs, and prints an error once.

use std::process::ExitCode;

use mlp_engine::cli::{self, CliError};
use mlp_engine::commands;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(args).and_then(commands::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(message)) => {
            eprintln!("error: {message}\nRun 'mlp --help' for usage.");
            ExitCode::from(2)
        }
        Err(CliError::Run(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
