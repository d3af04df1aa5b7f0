//! The run folder and the files a run writes into it: the claim marker,
//! `metrics.csv` (one row per epoch, appended as the epoch ends),
//! `summary.json` ([`summary`]), a sweep's `sweep.csv` ([`sweep`]), and the
//! atomic writes that `model.npz` and the report's pages and plots
//! ([`crate::report`]) go through.
//!
//! A run claims its folder before its first epoch by creating the marker
//! `.mlp-run` exclusively (holding the process id and command), so two runs
//! can never share a folder: the second fails at once naming the first.
//! Every other file is written to a temporary name unique to this process and
//! renamed into place, under one lock that a second Ctrl-C also takes before
//! it exits: a file is whole or absent, and no temporary file is left.

pub mod summary;
pub mod sweep;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::{CliError, CliResult};
use crate::json::Json;
use mlp_engine::{EpochRecord, Error, ErrorKind, Metrics, Result};

/// Header of `metrics.csv`, exactly.
pub const METRICS_HEADER: &str = "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds";

/// The claim marker of a run folder.
pub const MARKER: &str = ".mlp-run";

/// Held by every file write; taken for good by a second Ctrl-C.
static WRITES: Mutex<()> = Mutex::new(());

/// Waits for a file write in progress and keeps any other from starting.
pub fn block_writes() -> MutexGuard<'static, ()> {
    WRITES.lock().unwrap_or_else(|p| p.into_inner())
}

/// A run folder this process has claimed.
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
}

impl RunFolder {
    /// Claims `out` (which must be a new or empty folder), or a new folder
    /// `runs/<prefix>-<UTC date-time>` (with a suffix until it is new).
    pub fn claim(out: Option<&Path>, prefix: &str) -> CliResult<RunFolder> {
        let dir = match out {
            Some(dir) => {
                check_out(dir)?;
                std::fs::create_dir_all(dir).map_err(|e| create_error(dir, &e))?;
                dir.to_path_buf()
            }
            None => fresh_dir(Path::new("runs"), &format!("{prefix}-{}", utc_stamp(SystemTime::now())))?,
        };
        claim_marker(&dir)?;
        Ok(RunFolder { dir })
    }

    /// Claims a new folder `name` inside this one (a sweep's per-size runs).
    pub fn claim_inside(&self, name: &str) -> CliResult<RunFolder> {
        let dir = self.dir.join(name);
        std::fs::create_dir(&dir).map_err(|e| create_error(&dir, &e))?;
        claim_marker(&dir)?;
        Ok(RunFolder { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The path of a file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Refuses an `--out` that cannot be a new run folder (exit 2), or one
/// that another run holds (exit 1).
fn check_out(dir: &Path) -> CliResult<()> {
    let usage = |what: &str| CliError::Usage(format!("--out {}: {what}; pass a new folder", dir.display()));
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(()); // does not exist yet: it will be created
    };
    if !meta.is_dir() {
        return Err(usage("this is not a folder"));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| create_error(dir, &e))?;
    if entries.next().is_none() {
        return Ok(());
    }
    if dir.join(MARKER).exists() {
        return Err(claimed_error(dir));
    }
    Err(usage("this folder already exists and is not empty"))
}

/// Creates `base/name`, or `base/name-2`, `-3`, … whichever is new first.
fn fresh_dir(base: &Path, name: &str) -> CliResult<PathBuf> {
    std::fs::create_dir_all(base).map_err(|e| create_error(base, &e))?;
    let mut n = 1;
    loop {
        let dir = if n == 1 { base.join(name) } else { base.join(format!("{name}-{n}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(create_error(&dir, &e)),
        }
    }
}

/// Creates the marker exclusively, whole: it is written under a name of
/// this process's own, then hard-linked to `.mlp-run`, which fails if the
/// marker exists. Of two runs exactly one succeeds, and the other always
/// finds the winner's process id and command in it.
fn claim_marker(dir: &Path) -> CliResult<()> {
    let path = dir.join(MARKER);
    let command: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let text = format!(
        "pid {}\ncommand: {}\nstarted: {} UTC\n",
        std::process::id(),
        command.join(" "),
        utc_stamp(SystemTime::now())
    );
    let tmp = dir.join(format!("{MARKER}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text.as_bytes()).map_err(|e| create_error(dir, &e))?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(claimed_error(dir)),
        // A file system without hard links: an exclusive create, then the text.
        Err(_) => {
            let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(claimed_error(dir)),
                Err(e) => return Err(create_error(dir, &e)),
            };
            file.write_all(text.as_bytes()).map_err(|e| create_error(dir, &e))
        }
    }
}

fn claimed_error(dir: &Path) -> CliError {
    // Read as the data layer reads inputs: a FIFO planted as the marker
    // must not hang this message.
    let marker = mlp_engine::data::file::read_regular_file(&dir.join(MARKER)).unwrap_or_default();
    let holder = String::from_utf8_lossy(&marker);
    let holder = holder.lines().take(2).collect::<Vec<_>>().join(", ");
    CliError::Run(
        Error::new(ErrorKind::Output, format!("this folder belongs to another run ({holder})"))
            .at(dir)
            .fix("pass a new folder to --out, or leave --out off for a fresh folder under runs/"),
    )
}

fn create_error(dir: &Path, e: &std::io::Error) -> CliError {
    CliError::Run(Error::io(dir, "create the run folder", e).fix("choose a folder you can write to with --out"))
}

/// `YYYYmmdd-HHMMSS` in UTC.
fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Writes `bytes` to `path` through a temporary file unique to this process
/// and a rename, so the file is whole or absent.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _writing = block_writes();
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(path, &e));
    }
    Ok(())
}

fn write_error(path: &Path, e: &std::io::Error) -> Error {
    let fix = match e.kind() {
        // EFBIG: the process's file-size limit (SIGXFSZ is caught in main).
        std::io::ErrorKind::FileTooLarge => "raise the limit on file sizes (ulimit -f)",
        _ => "check that the output folder is writable and the disk is not full",
    };
    Error::io(path, "write the file", e).fix(fix)
}

/// `metrics.csv`, one row appended and flushed as each epoch ends, so that
/// an interrupted run keeps its curve and `tail -f` shows it live.
pub struct MetricsLog {
    file: File,
    path: PathBuf,
    line: String,
}

impl MetricsLog {
    /// Creates the file with its header.
    pub fn create(folder: &RunFolder) -> Result<MetricsLog> {
        let path = folder.file("metrics.csv");
        let file = OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| write_error(&path, &e))?;
        let mut log = MetricsLog { file, path, line: String::with_capacity(128) };
        log.line.push_str(METRICS_HEADER);
        log.flush_line()?;
        Ok(log)
    }

    /// Appends one epoch's row: accuracies as fractions, `seconds` the
    /// epoch's own wall time, empty fields for a part with no rows.
    pub fn append(&mut self, r: &EpochRecord) -> Result<()> {
        use std::fmt::Write as _;
        self.line.clear();
        let _ = write!(self.line, "{}", r.epoch);
        for m in [&r.train, &r.valid, &r.test] {
            if m.rows == 0 {
                self.line.push_str(",,");
            } else {
                let _ = write!(self.line, ",{:.6},{:.6}", m.loss, m.accuracy);
            }
        }
        let _ = write!(self.line, ",{:.4}", r.seconds);
        self.flush_line()
    }

    /// Writes the line with its newline in one call, under the write lock.
    fn flush_line(&mut self) -> Result<()> {
        self.line.push('\n');
        let _writing = block_writes();
        self.file.write_all(self.line.as_bytes()).map_err(|e| write_error(&self.path, &e))
    }
}

/// `{"loss": .., "accuracy": ..}` of a measurement, or `null` for a part
/// with no rows (never a made-up 0).
pub fn metrics_json(m: &Metrics) -> Json {
    if m.rows == 0 {
        return Json::Null;
    }
    Json::obj([("loss", Json::num(m.loss)), ("accuracy", Json::num(m.accuracy))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamp_of_known_instants() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_796_013_296); // 2026-11-30 04:34:56 UTC
        assert_eq!(utc_stamp(t), "20261130-043456");
    }
}
