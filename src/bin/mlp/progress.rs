//! The per-epoch progress line on stderr: redrawn in place on a terminal,
//! one line per epoch otherwise. Nothing is allocated per epoch, and a
//! closed or full stderr loses the line, never the run.

use std::fmt;
use std::io::IsTerminal;

use mlp_engine::{EpochRecord, Metrics};

/// Prints one line per epoch with an estimate of the time left.
pub struct Progress {
    total: usize,
    terminal: bool,
    elapsed: f64,
}

/// A loss or accuracy, or `-` for a part with no rows.
struct Figure(f64, usize);

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 == 0 { f.pad("-") } else { write!(f, "{:.4}", self.0) }
    }
}

fn loss(m: &Metrics) -> Figure {
    Figure(m.loss, m.rows)
}

fn accuracy(m: &Metrics) -> Figure {
    Figure(m.accuracy, m.rows)
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Progress { total, terminal: std::io::stderr().is_terminal(), elapsed: 0.0 }
    }

    pub fn epoch(&mut self, r: &EpochRecord) {
        self.elapsed += r.seconds;
        let eta = self.elapsed / r.epoch as f64 * self.total.saturating_sub(r.epoch) as f64;
        let line = format_args!(
            "epoch {:>4}/{}  loss {}/{}/{}  acc {}/{}/{}  (train/valid/test)  {:.3} s  ETA {:.1} s",
            r.epoch,
            self.total,
            loss(&r.train),
            loss(&r.valid),
            loss(&r.test),
            accuracy(&r.train),
            accuracy(&r.valid),
            accuracy(&r.test),
            r.seconds,
            eta
        );
        if self.terminal {
            crate::console::err(format_args!("\r\x1b[2K{line}"));
        } else {
            note!("{line}");
        }
    }

    pub fn finish(&self) {
        if self.terminal {
            note!();
        }
    }
}
