//! A sweep's own files: `sweep.csv` (one row per hidden size, with how its
//! run ended and the sizes never started) and the table printed at the end.
//! The validation curves of every size are drawn by [`crate::report`].

use std::fmt::Write as _;

use crate::error::CliResult;
use crate::output::summary::stop_name;
use crate::output::{RunFolder, write_atomic};
use mlp_engine::TrainOutcome;

/// Header of `sweep.csv`, exactly.
pub const SWEEP_HEADER: &str = "hidden,status,epochs_run,best_valid_loss_epoch,best_valid_loss,best_valid_acc_epoch,best_valid_acc,final_train_loss,final_train_acc,final_valid_loss,final_valid_acc,final_test_loss,final_test_acc,test_acc_at_best_valid_loss,wall_seconds";

/// One figure for the CSV, empty for a part with no rows.
fn field(value: f64, rows: usize) -> String {
    if rows == 0 { String::new() } else { format!("{value:.6}") }
}

fn csv_row(hidden: usize, o: &TrainOutcome) -> String {
    let last = o.last_record();
    let (bl, ba) = (o.record(o.best_loss_epoch), o.record(o.best_accuracy_epoch));
    format!(
        "{hidden},{},{},{},{:.6},{},{:.6},{:.6},{:.6},{:.6},{:.6},{},{},{},{:.3}\n",
        stop_name(o.stop),
        o.history.len(),
        o.best_loss_epoch,
        bl.valid.loss,
        o.best_accuracy_epoch,
        ba.valid.accuracy,
        last.train.loss,
        last.train.accuracy,
        last.valid.loss,
        last.valid.accuracy,
        field(last.test.loss, last.test.rows),
        field(last.test.accuracy, last.test.rows),
        field(bl.test.accuracy, bl.test.rows),
        o.wall_seconds
    )
}

/// The text table printed at the end of a sweep.
pub fn table(rows: &[(usize, TrainOutcome)], not_started: &[usize]) -> String {
    let mut out = format!(
        "{:>6} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>9}  {}\n",
        "H", "epochs", "best vloss", "(epoch)", "best vacc", "(epoch)", "final tacc", "seconds", "stop"
    );
    for (hidden, o) in rows {
        let (bl, ba, last) = (o.record(o.best_loss_epoch), o.record(o.best_accuracy_epoch), o.last_record());
        let test = if last.test.rows == 0 { "-".to_string() } else { format!("{:.4}", last.test.accuracy) };
        let _ = writeln!(
            out,
            "{hidden:>6} {:>7} {:>11.4} {:>11} {:>11.4} {:>11} {test:>11} {:>9.2}  {}",
            o.history.len(),
            bl.valid.loss,
            o.best_loss_epoch,
            ba.valid.accuracy,
            o.best_accuracy_epoch,
            o.wall_seconds,
            stop_name(o.stop)
        );
    }
    for hidden in not_started {
        let _ = writeln!(out, "{hidden:>6} {:>7}  (not started)", "-");
    }
    out
}

/// Writes `sweep.csv`.
pub fn write(folder: &RunFolder, rows: &[(usize, TrainOutcome)], not_started: &[usize]) -> CliResult<()> {
    let mut csv = format!("{SWEEP_HEADER}\n");
    for (hidden, o) in rows {
        csv.push_str(&csv_row(*hidden, o));
    }
    for hidden in not_started {
        let _ = writeln!(csv, "{hidden},not_started,0,,,,,,,,,,,,");
    }
    // The validation plots of every size are the report's
    // (`sweep_valid_*.svg`, written with the sweep's report.html).
    write_atomic(&folder.file("sweep.csv"), csv.as_bytes())
}
