//! What `mlp` prints. Results go to stdout: a failed write there is
//! remembered and fails the command at the end (exit 1), except that a
//! reader closing the pipe early (`mlp eval | head -1`) is fine for text
//! meant for people. Progress and messages go to stderr and never stop a
//! run: a closed or full stderr loses the line, not the run.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The first failed stdout write of this process, if any.
static STDOUT_ERROR: Mutex<Option<io::ErrorKind>> = Mutex::new(None);
/// Whether stdout carries machine-read output (`--json`), where even a
/// closed pipe means the result was lost.
static STRICT: AtomicBool = AtomicBool::new(false);

/// Writes to stdout, remembering the first failure.
pub fn out(args: fmt::Arguments<'_>) {
    if let Err(e) = io::stdout().write_fmt(args) {
        let mut first = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e.kind());
    }
}

/// Writes to stderr, ignoring failure.
pub fn err(args: fmt::Arguments<'_>) {
    let _ = io::stderr().write_fmt(args);
}

/// Marks stdout as carrying a result that must arrive whole.
pub fn strict_stdout() {
    STRICT.store(true, Ordering::Relaxed);
}

/// Flushes stdout and reports whether everything written arrived, as an
/// error message when it did not.
pub fn finish() -> Result<(), String> {
    if let Err(e) = io::stdout().flush() {
        let mut first = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e.kind());
    }
    let first = *STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
    match first {
        None => Ok(()),
        Some(io::ErrorKind::BrokenPipe) if !STRICT.load(Ordering::Relaxed) => Ok(()),
        Some(kind) => Err(format!(
            "cannot write the result to standard output ({})\n  fix: send the output to a file or pipe that accepts it",
            io::Error::from(kind)
        )),
    }
}
