//! The run folder and everything written into it: `metrics.csv`,
//! `loss.svg`, `accuracy.svg`, `summary.json` and `model.npz`.
//!
//! Every file is written to a temporary name in the same folder and renamed
//! into place, so a file is either whole or absent. A run folder is never
//! reused: an existing, non-empty `--out` is refused, and the default name
//! under `runs/` gets a suffix until it is new. The folder is created and
//! proven writable before training starts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::json::Json;
use crate::plot::{LinePlot, Series};
use mlp_engine::training::EpochRecord;
use mlp_engine::{Error, ErrorKind, Result};

/// Header of `metrics.csv`, exactly.
pub const METRICS_HEADER: &str = "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds";

/// Creates the run folder: `out` if given (it must not exist or be empty),
/// else `runs/<prefix>-<UTC date-time>` made unique with a suffix.
pub fn create_run_dir(out: Option<&Path>, prefix: &str) -> Result<PathBuf> {
    let dir = match out {
        Some(dir) => {
            if dir.exists() {
                let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
                if !dir.is_dir() || !empty {
                    return Err(Error::new(ErrorKind::Output, "the output folder already exists and is not empty")
                        .at(dir)
                        .fix("pass a new folder to --out, or leave --out off for a fresh folder under runs/"));
                }
            }
            dir.to_path_buf()
        }
        None => {
            let base = Path::new("runs").join(format!("{prefix}-{}", utc_stamp(SystemTime::now())));
            let mut candidate = base.clone();
            let mut n = 2;
            while candidate.exists() {
                candidate = PathBuf::from(format!("{}-{n}", base.display()));
                n += 1;
            }
            candidate
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::io(&dir, "create the output folder", &e).fix("choose a folder you can write to with --out")
    })?;
    // Prove the folder is writable now, not after the last epoch.
    write_atomic(&dir.join(".write-test"), b"ok")?;
    let _ = std::fs::remove_file(dir.join(".write-test"));
    Ok(dir)
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

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let fail = |e: std::io::Error| {
        Error::io(path, "write the file", &e).fix("check that the output folder is writable and the disk is not full")
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

/// `metrics.csv`: one row per epoch, accuracies as fractions, `seconds` the
/// epoch's own wall time.
pub fn metrics_csv(history: &[EpochRecord]) -> String {
    let mut out = String::from(METRICS_HEADER);
    out.push('\n');
    for r in history {
        out.push_str(&format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.4}\n",
            r.epoch,
            r.train.loss,
            r.train.accuracy,
            r.valid.loss,
            r.valid.accuracy,
            r.test.loss,
            r.test.accuracy,
            r.seconds
        ));
    }
    out
}

/// The loss and accuracy plots of a run.
pub fn curve_plots(history: &[EpochRecord], title: &str) -> (String, String) {
    let series = |pick: fn(&EpochRecord) -> [f64; 3]| -> Vec<Series> {
        ["train", "valid", "test"]
            .iter()
            .enumerate()
            .map(|(k, name)| Series {
                name: (*name).into(),
                points: history.iter().map(|r| (r.epoch as f64, pick(r)[k])).collect(),
            })
            .collect()
    };
    let loss = LinePlot {
        title: format!("Cross-entropy loss, {title}"),
        x_label: "epoch".into(),
        y_label: "mean cross-entropy".into(),
        series: series(|r| [r.train.loss, r.valid.loss, r.test.loss]),
    };
    let accuracy = LinePlot {
        title: format!("Accuracy, {title}"),
        x_label: "epoch".into(),
        y_label: "accuracy".into(),
        series: series(|r| [r.train.accuracy, r.valid.accuracy, r.test.accuracy]),
    };
    (loss.to_svg(), accuracy.to_svg())
}

/// `{"loss": .., "accuracy": ..}` of a measurement.
pub fn metrics_json(m: &mlp_engine::engine::Metrics) -> Json {
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
