//! The progress line and the header as a person sees them: `mlp train` runs
//! in a pseudo-terminal (util-linux `script`) of a set width, and its
//! output is replayed on a model of the screen to check that nothing is
//! drawn past the right edge (a wrapped progress line cannot be erased and
//! leaves a stale copy per epoch) and that the line is redrawn in place.

use crate::common;

use common::fresh_path;
use std::process::Command;

const EPOCHS: usize = 25;

/// What `mlp train` wrote to stderr on a terminal `columns` wide (stdout
/// goes to /dev/null), with `env` set.
fn train_on_terminal(name: &str, columns: usize, env: &[(&str, &str)]) -> String {
    let out_dir = fresh_path(name);
    let mut line = format!("stty cols {columns} rows 40; exec '{}' train", env!("CARGO_BIN_EXE_mlp"));
    for arg in ["--synthetic", "600", "--split", "400,100", "--hidden", "8", "--threads", "1"] {
        line.push(' ');
        line.push_str(arg);
    }
    line.push_str(&format!(" --epochs {EPOCHS} --out '{}' >/dev/null", out_dir.display()));
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .envs(env.iter().copied())
        .output()
        .expect("run script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "mlp failed on a terminal:\n{text}");
    let _ = std::fs::remove_dir_all(out_dir);
    text
}

/// The screen after `output` is drawn on a terminal `columns` wide, as its
/// rows' text, and whether anything was drawn past the last column (which
/// the terminal wraps onto a new row).
fn replay(output: &str, columns: usize) -> (Vec<String>, bool) {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col, mut wrapped) = (0usize, 0usize, false);
    let mut chars = output.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // CSI: ESC [ parameters final-byte; `2K` erases the row.
                assert_eq!(chars.next(), Some('['), "an escape that is not CSI in:\n{output:?}");
                let mut params = String::new();
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() {
                        if p == 'K' && params == "2" {
                            rows[row].clear();
                        }
                        break;
                    }
                    params.push(p);
                }
            }
            '\r' => col = 0,
            '\n' => {
                row += 1;
                if row == rows.len() {
                    rows.push(Vec::new());
                }
            }
            c => {
                if col == columns {
                    wrapped = true;
                    (row, col) = (row + 1, 0);
                    if row == rows.len() {
                        rows.push(Vec::new());
                    }
                }
                let line = &mut rows[row];
                if line.len() <= col {
                    line.resize(col + 1, ' ');
                }
                line[col] = c;
                col += 1;
            }
        }
    }
    let text = rows.iter().map(|r| r.iter().collect::<String>().trim_end().to_string()).collect();
    (text, wrapped)
}

/// Every word of the header is whole on its row: the header wrapped at
/// word boundaries.
fn assert_whole_words_in_header(rows: &[String]) {
    let header: Vec<&str> =
        rows.iter().take_while(|r| !r.starts_with("epoch")).flat_map(|r| r.split_whitespace()).collect();
    for word in
        ["mlp", "train:", "built-in", "synthetic", "glyphs", "(shuffle", "network", "momentum", "passes", "folder"]
    {
        assert!(header.contains(&word), "'{word}' cut in the header:\n{rows:#?}");
    }
}

/// The row that shows the last epoch.
fn last_epoch_row(rows: &[String]) -> &str {
    let last = format!("{EPOCHS}/{EPOCHS}");
    rows.iter().find(|r| r.contains(&last)).unwrap_or_else(|| panic!("no row shows {last}: {rows:#?}"))
}

#[test]
fn progress_and_header_fit_80_columns_and_redraw_in_place() {
    let output = train_on_terminal("tty80", 80, &[]);
    let (rows, wrapped) = replay(&output, 80);
    assert!(!wrapped, "drawn past column 80:\n{output:?}");
    // Header (a few rows) and the one progress row: not one row per epoch.
    assert!(rows.len() < 10, "{} rows for {EPOCHS} epochs:\n{rows:#?}", rows.len());
    assert!(last_epoch_row(&rows).contains("valid loss"), "{rows:#?}");
    assert_whole_words_in_header(&rows);
}

#[test]
fn at_120_columns_the_line_shows_every_figure() {
    let output = train_on_terminal("tty120", 120, &[]);
    let (rows, wrapped) = replay(&output, 120);
    assert!(!wrapped, "drawn past column 120:\n{output:?}");
    assert!(rows.len() < 10, "{rows:#?}");
    let progress = last_epoch_row(&rows);
    // Three losses and three accuracies, train/valid/test.
    assert!(
        progress.contains("loss ") && progress.contains("acc ") && progress.matches('/').count() >= 5,
        "{progress}"
    );
}

#[test]
fn narrow_and_dumb_terminals_stay_sane() {
    // At 50 columns the header wraps at words and nothing wraps by itself.
    let output = train_on_terminal("tty50", 50, &[]);
    let (rows, wrapped) = replay(&output, 50);
    assert!(!wrapped, "drawn past column 50:\n{output:?}");
    assert_whole_words_in_header(&rows);
    assert!(rows.len() < 15, "{rows:#?}");
    // A very narrow terminal: the line is cut to fit, still one row (the
    // header's run folder path, one word wider than the screen, wraps).
    let output = train_on_terminal("tty24", 24, &[]);
    let (rows, _) = replay(&output, 24);
    assert!(rows.len() < 30, "{} rows for {EPOCHS} epochs:\n{rows:#?}", rows.len());
    let progress = last_epoch_row(&rows);
    assert!(progress.len() < 24, "{progress}");
    // TERM=dumb cannot erase a row: one plain line per epoch, no escapes.
    let output = train_on_terminal("ttydumb", 80, &[("TERM", "dumb"), ("COLUMNS", "10")]);
    assert!(!output.contains('\x1b'), "{output:?}");
    let epochs = output.lines().filter(|l| l.starts_with("epoch ")).count();
    assert_eq!(epochs, EPOCHS, "{output}");
}
