//! `mlp`: the command-line front end. Parses, runs, and prints an error once.

use std::process::ExitCode;

/// `println!` to stdout through [`console::out`]: a failed write fails the
/// command at the end instead of panicking.
macro_rules! say {
    () => {
        $crate::console::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` with the same handling as [`say!`].
macro_rules! say_part {
    ($($arg:tt)*) => {
        $crate::console::out(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics: a closed or full stderr loses the line.
macro_rules! note {
    () => {
        $crate::console::err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod args;
mod bench;
mod cli;
mod commands;
mod console;
mod error;
mod eval;
mod json;
mod json_read;
#[cfg(test)]
mod json_tests;
mod measured;
mod output;
mod peak;
mod plan;
mod plot;
mod profile;
mod progress;
mod report;
mod signals;
mod system;

use args::Command;
use error::CliError;

/// Runs a parsed command; all but the help pages on a pool of the
/// command's `--threads`.
fn run(command: Command) -> error::CliResult<()> {
    if matches!(command, Command::Eval(_) | Command::Report(_) | Command::Bench(_) | Command::Profile(_)) {
        // Before any pool or file: from here a signal waits for a write.
        signals::quit_between_writes();
    }
    match command {
        Command::Help(_) | Command::Version => commands::run(command),
        _ => system::run_on_threads(command.threads(), || commands::run(command))?,
    }
}

fn main() -> ExitCode {
    // Past a file-size limit (ulimit -f) a write then fails with EFBIG,
    // reported like any failed write, instead of SIGXFSZ killing mlp mid-write.
    signals::ignore_file_size_signal();
    // `args_os`: a path that is not UTF-8 is still a path.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = match cli::parse(args).and_then(run) {
        Ok(()) => 0,
        Err(CliError::Usage(message)) => {
            note!("error: {message}\nRun 'mlp --help' for usage.");
            2
        }
        Err(CliError::Run(error)) => {
            note!("error: {error}");
            1
        }
        Err(CliError::Tool(failure)) => {
            note!("error: {failure}");
            1
        }
        Err(CliError::Interrupted { signal, message }) => {
            note!("{message}");
            128 + signal.number()
        }
    };
    match console::finish() {
        Err(message) if code == 0 => {
            note!("error: {message}");
            ExitCode::from(1)
        }
        _ => ExitCode::from(code),
    }
}
