//! `mlp`: the command-line front end. Parses, runs, and prints an error once.

use std::process::ExitCode;

/// `println!` for command output that ignores a closed stdout (as in
/// `mlp eval | head -1`) instead of panicking.
macro_rules! say {
    () => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` with the same closed-stdout tolerance as [`say!`].
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod bench;
mod cli;
mod commands;
mod json;
mod json_read;
mod output;
mod plot;
mod png;
mod report;
mod report_images;
mod report_page;
mod system;

use cli::CliError;

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
