//! [`Run`]: a run folder read back from its own files, `metrics.csv` and
//! `summary.json`, and what the report asks of it (its best epochs, how it
//! ended).

use std::path::{Path, PathBuf};

use crate::json::Json;
use crate::json_read;
use crate::output::metrics_csv::{Row, read_metrics};
use crate::output::read_text;
use mlp_engine::{Error, ErrorKind, Result};

/// What a run folder holds.
pub struct Run {
    pub dir: PathBuf,
    pub rows: Vec<Row>,
    /// `Json::Null` when the folder has no `summary.json`.
    pub summary: Json,
}

/// Reads `summary.json`; a missing file is `Json::Null`.
pub fn read_summary(dir: &Path) -> Result<Json> {
    let path = dir.join("summary.json");
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(Json::Null);
    }
    let text = read_text(&path)?;
    json_read::parse(&text).map_err(|what| {
        Error::new(ErrorKind::BadHeader, format!("summary.json is not valid JSON: {what}"))
            .at(&path)
            .fix("restore the file, or remove it to render the report without the run's settings")
    })
}

impl Run {
    pub fn load(dir: &Path) -> Result<Run> {
        Ok(Run { dir: dir.to_path_buf(), rows: read_metrics(dir)?, summary: read_summary(dir)? })
    }

    pub fn row(&self, epoch: usize) -> Option<&Row> {
        self.rows.iter().find(|r| r.epoch == epoch)
    }

    /// How the run ended: `completed`, `early_stopped`, `diverged`,
    /// `interrupted`, or `unknown` without a summary.
    pub fn stop(&self) -> &str {
        self.summary.str_at(&["stop"]).unwrap_or("unknown")
    }

    /// The epoch of the lowest validation loss, from the summary or else
    /// from the metrics.
    pub fn best_loss_epoch(&self) -> Option<usize> {
        let from_summary = self.summary.num_at(&["best_valid_loss", "epoch"]).map(|e| e as usize);
        from_summary.filter(|&e| self.row(e).is_some()).or_else(|| self.best_by(|r| -r.loss[1]))
    }

    /// The epoch of the highest validation accuracy (first of ties).
    pub fn best_accuracy_epoch(&self) -> Option<usize> {
        let from_summary = self.summary.num_at(&["best_valid_accuracy", "epoch"]).map(|e| e as usize);
        from_summary.filter(|&e| self.row(e).is_some()).or_else(|| self.best_by(|r| r.acc[1]))
    }

    fn best_by(&self, score: impl Fn(&Row) -> f64) -> Option<usize> {
        let finite = self.rows.iter().filter(|r| score(r).is_finite());
        finite
            .fold(None, |best: Option<&Row>, r| match best {
                Some(b) if score(b) >= score(r) => Some(b),
                _ => Some(r),
            })
            .map(|r| r.epoch)
    }

    pub fn last_epoch(&self) -> usize {
        self.rows.last().map_or(0, |r| r.epoch)
    }

    pub fn hidden(&self) -> Option<usize> {
        self.summary.num_at(&["settings", "hidden"]).map(|h| h as usize)
    }
}
