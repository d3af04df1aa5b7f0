//! The per-epoch progress line on stderr, and the width of the terminal it
//! is drawn on: on a terminal the line is redrawn in place in the widest of
//! its forms that fits one row (a line that wraps could not be erased and
//! would leave a stale copy per epoch); otherwise one full line per epoch.
//! Nothing is allocated per epoch once the line's buffer has grown, and a
//! closed or full stderr loses the line, never the run.

use std::fmt::{self, Write};
use std::io::IsTerminal;

use mlp_engine::{EpochRecord, Metrics};

/// Columns assumed when the terminal does not say.
const DEFAULT_COLUMNS: usize = 80;

/// Prints one line per epoch with an estimate of the time left.
pub struct Progress {
    total: usize,
    /// `Some(columns)` when stderr is a terminal that can redraw a line.
    redraw: Option<usize>,
    elapsed: f64,
    line: String,
}

/// A loss or accuracy, or `-` for a part with no rows.
struct Figure(f64, usize);

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 == 0 { f.pad("-") } else { f.write_str(&four_places(self.0)) }
    }
}

/// A loss or accuracy with four decimals, or in scientific notation from
/// 1e5 on, so that the loss of a run going wrong (1e38, say) stays short.
pub fn four_places(x: f64) -> String {
    if x.abs() >= 1e5 { format!("{x:.3e}") } else { format!("{x:.4}") }
}

fn loss(m: &Metrics) -> Figure {
    Figure(m.loss, m.rows)
}

fn accuracy(m: &Metrics) -> Figure {
    Figure(m.accuracy, m.rows)
}

/// The forms of the line, widest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// Every figure, with the legend.
    Full,
    /// Every figure, no legend.
    Figures,
    /// Validation loss and accuracy only.
    Valid,
    /// The epoch and the time left.
    Bare,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let redraw = redraw_columns();
        Progress { total, redraw, elapsed: 0.0, line: String::with_capacity(256) }
    }

    pub fn epoch(&mut self, r: &EpochRecord) {
        self.elapsed += r.seconds;
        let eta = self.elapsed / r.epoch as f64 * self.total.saturating_sub(r.epoch) as f64;
        match self.redraw {
            Some(columns) => {
                // The last column is left free: writing into it makes some
                // terminals wrap at once.
                let room = columns.saturating_sub(1).max(1);
                for form in [Form::Full, Form::Figures, Form::Valid, Form::Bare] {
                    self.compose(form, r, eta);
                    if self.line.len() <= room {
                        break;
                    }
                }
                // Every form is ASCII: a byte is a column.
                self.line.truncate(room);
                crate::console::err(format_args!("\r\x1b[2K{}", self.line));
            }
            None => {
                self.compose(Form::Full, r, eta);
                note!("{}", self.line);
            }
        }
    }

    /// Writes the line of `form` into `self.line`.
    fn compose(&mut self, form: Form, r: &EpochRecord, eta: f64) {
        self.line.clear();
        let (epoch, total, line) = (r.epoch, self.total, &mut self.line);
        let _ = match form {
            Form::Full | Form::Figures => write!(
                line,
                "epoch {epoch:>4}/{total}  loss {}/{}/{}  acc {}/{}/{}{}  {:.3} s  ETA {eta:.1} s",
                loss(&r.train),
                loss(&r.valid),
                loss(&r.test),
                accuracy(&r.train),
                accuracy(&r.valid),
                accuracy(&r.test),
                if form == Form::Full { "  (train/valid/test)" } else { "" },
                r.seconds,
            ),
            Form::Valid => write!(
                line,
                "epoch {epoch}/{total}  valid loss {} acc {}  ETA {eta:.0} s",
                loss(&r.valid),
                accuracy(&r.valid)
            ),
            Form::Bare => write!(line, "{epoch}/{total} ETA {eta:.0} s"),
        };
    }

    pub fn finish(&self) {
        if self.redraw.is_some() {
            note!();
        }
    }
}

/// The columns of the terminal on stderr when the line can be redrawn
/// there: stderr is a terminal and `TERM` is not `dumb` (which cannot
/// erase a line).
fn redraw_columns() -> Option<usize> {
    if !std::io::stderr().is_terminal() || std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        return None;
    }
    Some(terminal_columns())
}

/// The width of the terminal on stderr: as the terminal reports it, else
/// `COLUMNS`, else 80. Values that are not a number of columns are ignored.
pub fn terminal_columns() -> usize {
    reported_columns()
        .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()))
        .filter(|&c: &usize| (1..=10_000).contains(&c))
        .unwrap_or(DEFAULT_COLUMNS)
}

/// The terminal's own width, asked through `stty size` on stderr (no
/// `ioctl`, which would need `unsafe`).
#[cfg(unix)]
fn reported_columns() -> Option<usize> {
    use std::os::fd::AsFd;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let tty = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let out = std::process::Command::new("stty")
        .arg("size")
        .stdin(std::process::Stdio::from(tty))
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    // "ROWS COLUMNS"; a terminal that does not know its size says "0 0".
    text.split_whitespace().nth(1)?.parse().ok().filter(|&c: &usize| c > 0)
}

#[cfg(not(unix))]
fn reported_columns() -> Option<usize> {
    None
}

/// `text` wrapped at word boundaries to lines of at most `columns`
/// characters (a word longer than that stands alone on its line); lines
/// after the first of each paragraph are indented by `indent` spaces.
pub fn wrap(text: &str, columns: usize, indent: usize) -> String {
    let mut out = String::new();
    for (p, paragraph) in text.split('\n').enumerate() {
        if p > 0 {
            out.push('\n');
        }
        let lead = paragraph.len() - paragraph.trim_start().len();
        let mut width = 0;
        for (w, word) in paragraph.split_whitespace().enumerate() {
            let len = word.chars().count();
            if w == 0 {
                out.push_str(&paragraph[..lead]);
                width = lead;
            } else if width + 1 + len > columns {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                width = indent;
            } else {
                out.push(' ');
                width += 1;
            }
            out.push_str(word);
            width += len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_losses_stay_short() {
        assert_eq!(four_places(0.38791), "0.3879");
        assert_eq!(four_places(99_999.0), "99999.0000");
        assert_eq!(four_places(8.791666385584504e37), "8.792e37");
        assert_eq!(four_places(f64::NAN), "NaN");
    }

    #[test]
    fn wrap_breaks_at_words_and_indents_continuations() {
        let text = "mlp train: data/x.npz\n  split 10 train / 5 valid, network 784-1000-10, 200 epochs";
        let wrapped = wrap(text, 30, 4);
        assert_eq!(
            wrapped,
            "mlp train: data/x.npz\n  split 10 train / 5 valid,\n    network 784-1000-10, 200\n    epochs"
        );
        for line in wrapped.lines() {
            assert!(line.len() <= 30, "{line}");
        }
        // A word wider than the line is kept whole.
        assert_eq!(wrap("a /very/long/path b", 5, 2), "a\n  /very/long/path\n  b");
    }

    fn record(epoch: usize, rows: usize) -> EpochRecord {
        let m = Metrics { loss: 0.123456, accuracy: 0.987654, rows };
        EpochRecord { epoch, train: m, valid: m, test: m, seconds: 0.25 }
    }

    #[test]
    fn each_form_is_narrower_than_the_one_before() {
        let mut p = Progress { total: 40_000, redraw: Some(80), elapsed: 1e6, line: String::new() };
        let r = record(39_999, 5);
        let mut widths = Vec::new();
        for form in [Form::Full, Form::Figures, Form::Valid, Form::Bare] {
            p.compose(form, &r, 1e7);
            widths.push(p.line.len());
        }
        assert!(widths.windows(2).all(|w| w[0] > w[1]), "{widths:?}");
        // The figures form fits 120 columns, the valid form 80.
        assert!(widths[1] < 120 && widths[2] < 80, "{widths:?}");
    }
}
