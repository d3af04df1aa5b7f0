//! `metrics.csv`, a run's curve: its header, written in one place; the
//! writer that appends a row as each epoch ends; and the reader that
//! `mlp report` rebuilds the curves from, finding columns by that header's
//! names.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{RunFolder, in_claimed_folder, read_text, resolve_in_claimed, write_atomic, write_error};
use crate::error::CliResult;
use crate::signals::block_writes;
use mlp_engine::{EpochRecord, Error, ErrorKind, Result};

/// Header of `metrics.csv`, exactly.
pub const METRICS_HEADER: &str = "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds";

/// `metrics.csv`, one row appended and flushed as each epoch ends, so that
/// an interrupted run keeps its curve and `tail -f` shows it live. Each row
/// goes out in one write; after a failed write the file is cut back to its
/// last whole row.
pub struct MetricsLog {
    file: File,
    path: PathBuf,
    line: String,
    /// Bytes of whole rows in the file.
    whole: u64,
}

impl MetricsLog {
    /// Creates the file with its header.
    pub fn create(folder: &RunFolder) -> CliResult<MetricsLog> {
        let path = folder.file("metrics.csv");
        let target = resolve_in_claimed(&path)?;
        let file = OpenOptions::new().write(true).create_new(true).open(target).map_err(|e| write_error(&path, &e))?;
        let mut log = MetricsLog { file, path, line: String::with_capacity(128), whole: 0 };
        log.line.push_str(METRICS_HEADER);
        log.flush_line()?;
        Ok(log)
    }

    /// Writes the file anew (atomically) with the header and `records`, and
    /// opens it to append after them: a continued run's rows past its
    /// checkpoint are dropped here, to be measured again.
    pub fn rewrite(folder: &RunFolder, records: &[EpochRecord]) -> CliResult<MetricsLog> {
        let path = folder.file("metrics.csv");
        let mut line = String::with_capacity(128);
        let mut text = format!("{METRICS_HEADER}\n");
        for r in records {
            format_row(&mut line, r);
            text.push_str(&line);
            text.push('\n');
        }
        write_atomic(&path, text.as_bytes())?;
        let target = resolve_in_claimed(&path)?;
        let file = OpenOptions::new().append(true).open(target).map_err(|e| write_error(&path, &e))?;
        Ok(MetricsLog { file, path, line, whole: text.len() as u64 })
    }

    /// Appends one epoch's row (see [`format_row`]).
    pub fn append(&mut self, r: &EpochRecord) -> CliResult<()> {
        format_row(&mut self.line, r);
        self.flush_line()
    }

    /// Writes the line with its newline in one call, under the write lock,
    /// into the folder as claimed; a part written before a failure is cut off.
    fn flush_line(&mut self) -> CliResult<()> {
        self.line.push('\n');
        let _writing = block_writes();
        in_claimed_folder(&self.path)?;
        match self.file.write_all(self.line.as_bytes()) {
            Ok(()) => {
                self.whole += self.line.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.whole);
                Err(write_error(&self.path, &e))
            }
        }
    }
}

/// One epoch's row in `line`, without its newline: accuracies as
/// fractions, `seconds` the epoch's own wall time, empty fields for a part
/// with no rows.
fn format_row(line: &mut String, r: &EpochRecord) {
    use std::fmt::Write as _;
    line.clear();
    let _ = write!(line, "{}", r.epoch);
    for m in [&r.train, &r.valid, &r.test] {
        if m.rows == 0 {
            line.push_str(",,");
        } else {
            let _ = write!(line, ",{:.6},{:.6}", m.loss, m.accuracy);
        }
    }
    let _ = write!(line, ",{:.4}", r.seconds);
}

/// One line of `metrics.csv`; a missing figure (no test rows) is NaN.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub epoch: usize,
    /// Train, valid, test.
    pub loss: [f64; 3],
    pub acc: [f64; 3],
    pub seconds: f64,
}

fn bad_metrics(path: &Path, what: String) -> Error {
    Error::new(ErrorKind::BadHeader, what)
        .at(path)
        .fix("metrics.csv is written by mlp train; rerun the training to write it again")
}

/// Reads `metrics.csv`, finding columns by their header names.
pub fn read_metrics(dir: &Path) -> Result<Vec<Row>> {
    let path = dir.join("metrics.csv");
    let text = read_text(&path)
        .map_err(|e| e.fix("pass a run folder written by mlp train (it holds metrics.csv as a regular file)"))?;
    // Every row goes out whole with its newline: a last line without one
    // was cut short (a full disk, a kill mid-write) and is dropped.
    let text = match text.rfind('\n') {
        Some(end) if end + 1 < text.len() && text[..end].contains('\n') => {
            // Said once per file, though a rebuild reads it twice.
            static NOTED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
            let mut noted = NOTED.lock().unwrap_or_else(|p| p.into_inner());
            if !noted.contains(&path) {
                note!(
                    "{}: its last row ends without a newline (a write cut short); that row is left out",
                    path.display()
                );
                noted.push(path.clone());
            }
            &text[..=end]
        }
        _ => text.as_str(),
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').map(str::trim).collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    // Every column but the last, `seconds`, must be there; a file without
    // `seconds` reads it as NaN.
    let (required, seconds) = METRICS_HEADER.rsplit_once(',').expect("the header has columns");
    let mut index = [0usize; 7];
    for (slot, name) in index.iter_mut().zip(required.split(',')) {
        *slot = column(name).ok_or_else(|| bad_metrics(&path, format!("the header has no '{name}' column")))?;
    }
    let seconds = column(seconds);
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let value = |i: usize| -> Result<f64> {
            match fields.get(i) {
                Some(&"") => Ok(f64::NAN),
                Some(f) => f.parse().map_err(|_| bad_metrics(&path, format!("line {}: '{f}' is not a number", n + 2))),
                None => Err(bad_metrics(
                    &path,
                    format!("line {} has {} fields, fewer than the header", n + 2, fields.len()),
                )),
            }
        };
        let epoch = value(index[0])?;
        if !(epoch >= 1.0 && epoch.fract() == 0.0) {
            return Err(bad_metrics(&path, format!("line {}: epoch '{epoch}' is not a whole number ≥ 1", n + 2)));
        }
        rows.push(Row {
            epoch: epoch as usize,
            loss: [value(index[1])?, value(index[3])?, value(index[5])?],
            acc: [value(index[2])?, value(index[4])?, value(index[6])?],
            seconds: seconds.map_or(Ok(f64::NAN), value)?,
        });
    }
    if rows.is_empty() {
        return Err(Error::new(ErrorKind::Empty, "metrics.csv has no epochs")
            .at(&path)
            .fix("the run stopped before its first epoch ended; train again"));
    }
    Ok(rows)
}
