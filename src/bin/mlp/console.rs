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

/// Marks stdout as carrying a result that must arrive whole. A stdout that
/// was closed when the process started (`mlp eval --json >&-`) counts as a
/// failed write: the standard library reopens it on /dev/null at start-up,
/// where the result would vanish.
pub fn strict_stdout() {
    STRICT.store(true, Ordering::Relaxed);
    if stdout_was_closed() {
        let mut first = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(io::ErrorKind::NotConnected);
    }
}

/// Whether stdout is the /dev/null that Rust's start-up opens in place of a
/// closed descriptor: /dev/null opened for reading and writing (a shell's
/// `>/dev/null` opens it for writing only). Linux only, from /proc.
fn stdout_was_closed() -> bool {
    let Ok(target) = std::fs::read_link("/proc/self/fd/1") else { return false };
    let Ok(info) = std::fs::read_to_string("/proc/self/fdinfo/1") else { return false };
    // `flags:` is octal; the low two bits are the access mode (2: O_RDWR).
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
    target == std::path::Path::new("/dev/null") && flags.is_some_and(|f| f & 3 == 2)
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
        Some(io::ErrorKind::NotConnected) => Err(
            "cannot write the result to standard output: it was closed\n  fix: send the output to a file or pipe (mlp eval --json > result.json)".into()
        ),
        Some(kind) => Err(format!(
            "cannot write the result to standard output ({})\n  fix: send the output to a file or pipe that accepts it",
            io::Error::from(kind)
        )),
    }
}
