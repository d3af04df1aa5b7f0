//! The run report: `report.html` (with `loss.svg` and `accuracy.svg`) in a
//! run folder, `report.html` in a sweep folder, and `mlp report RUN_DIR`.
//!
//! Everything is rebuilt from the folder's own files — `metrics.csv`,
//! `summary.json`, `model.npz` — so the same code serves the end of a run,
//! a stopped or diverged run, and an old folder. Only the confusion matrix
//! and the gallery need the data; without it they are replaced by a note
//! saying why and the rest still renders. The page layout is in
//! [`page`], the model's figures in [`images`], the folder read back in [`run`].
pub mod images;
pub mod page;
pub mod png;
pub mod run;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::args::{DataArgs, ReportArgs};
use crate::error::CliResult;
use crate::json::Json;
use crate::json_read;
use crate::output::metrics_csv::{Row, read_metrics};
use crate::output::run_record::{RUN_RECORD, data_args_from};
use crate::output::{read_text, write_atomic};
use crate::plot::{Best, LinePlot, Marker, Scale, Series, Style};
use page::Figures;
use run::{Run, read_summary};

use mlp_engine::data::Split;
use mlp_engine::engine::Prediction;
use mlp_engine::training::model;
use mlp_engine::{Error, ErrorKind, Result};

/// The dashed lines of a run's plots: best epochs and where it stopped.
fn run_markers(run: &Run) -> Vec<Marker> {
    let mut markers = Vec::new();
    if let Some(e) = run.best_loss_epoch() {
        markers.push(Marker { x: e as f64, label: format!("best valid loss, epoch {e}") });
    }
    if let Some(e) = run.best_accuracy_epoch() {
        markers.push(Marker { x: e as f64, label: format!("best valid accuracy, epoch {e}") });
    }
    let last = run.last_epoch();
    let end = match run.stop() {
        "early_stopped" => Some(format!("early stop, epoch {last}")),
        "diverged" => Some(format!("diverged at epoch {last}")),
        "interrupted" => Some(format!("interrupted after epoch {last}")),
        _ => None,
    };
    markers.extend(end.map(|label| Marker { x: last as f64, label }));
    markers
}

/// `loss.svg` (log-scaled, minima marked) and `accuracy.svg` (maxima
/// marked) of a run; a split with no finite figures (no test rows) is left out.
pub fn run_plots(run: &Run) -> (String, String) {
    let title = run.hidden().map_or("this run".to_string(), |h| format!("H = {h}"));
    let series = |pick: fn(&Row) -> [f64; 3]| -> Vec<Series> {
        ["train", "valid", "test"]
            .iter()
            .enumerate()
            .map(|(k, name)| Series::new(*name, run.rows.iter().map(|r| (r.epoch as f64, pick(r)[k])).collect()))
            .filter(|s| s.points.iter().any(|p| p.1.is_finite()))
            .collect()
    };
    let markers = run_markers(run);
    let loss = LinePlot {
        title: format!("Cross-entropy loss, {title}"),
        x_label: "epoch".into(),
        y_label: "mean cross-entropy".into(),
        series: series(|r| r.loss),
    };
    let accuracy = LinePlot {
        title: format!("Accuracy, {title}"),
        x_label: "epoch".into(),
        y_label: "accuracy".into(),
        series: series(|r| r.acc),
    };
    let loss_style = Style { y_scale: Scale::Log, best: Best::Min, markers: markers.clone(), zoom: false };
    // Zoomed to where the curves settle: on 0–1 the differences that
    // matter (0.85 against 0.9) would be squeezed into a few pixels.
    let acc_style = Style { y_scale: Scale::Linear, best: Best::Max, markers, zoom: true };
    (loss.to_svg_with(&loss_style), accuracy.to_svg_with(&acc_style))
}

/// `predictions`: the test rows' predictions when the caller has them
/// (training makes them with the final figures); made here otherwise.
fn figures(run: &Run, data: std::result::Result<&Split, String>, predictions: Option<&[Prediction]>) -> Figures {
    let network = match model::load(&run.dir.join("model.npz")) {
        Ok(network) => network,
        Err(e) => {
            let why = format!("model.npz could not be read ({e})");
            return Figures { confusion: Err(why.clone()), gallery: Err(why.clone()), tiles: Err(why), test_rows: 0 };
        }
    };
    let layout = network.layout();
    if layout.inputs != mlp_engine::data::FEATURES || layout.classes != mlp_engine::CLASSES {
        // The figures are of 28×28 glyphs of ten letters; another network
        // would index past them.
        let why = format!(
            "model.npz is a {}-{}-{} network, not one of 28×28 images and 10 letters",
            layout.inputs, layout.hidden, layout.classes
        );
        return Figures { confusion: Err(why.clone()), gallery: Err(why.clone()), tiles: Err(why), test_rows: 0 };
    }
    let seed = run.summary.num_at(&["settings", "seed"]);
    let initial = seed.map(|s| mlp_engine::engine::Network::new(layout, s as u64, 0.0));
    let tiles = Ok(images::tiles_html(&network, initial.as_ref()));
    let split = data.and_then(|split| {
        let expected = run.summary.num_at(&["data", "test"]).map(|t| t as usize);
        if split.features != network.layout().inputs {
            Err(format!(
                "the data has {} values per image, the model takes {}",
                split.features,
                network.layout().inputs
            ))
        } else if expected.is_some_and(|t| t != split.test) {
            Err(format!("the data gives {} test rows, the run had {}", split.test, expected.unwrap_or(0)))
        } else if split.test == 0 {
            Err("the split has no test rows".into())
        } else {
            Ok(split)
        }
    });
    let predictions = split.and_then(|split| match predictions {
        Some(p) => Ok((split, images::TestPredictions::new(split, Cow::Borrowed(p)))),
        None => images::TestPredictions::measure(&network, split).map(|p| (split, p)).map_err(|e| e.to_string()),
    });
    match predictions {
        Ok((split, predictions)) => {
            let classes = predictions.predictions.iter().map(|p| p.class);
            let confusion = images::confusion_html(&images::confusion(predictions.truth, classes));
            let gallery = images::gallery_html(&predictions, split);
            Figures { confusion: Ok(confusion), gallery: Ok(gallery), tiles, test_rows: split.test }
        }
        Err(why) => Figures { confusion: Err(why.clone()), gallery: Err(why), tiles, test_rows: 0 },
    }
}

/// Writes `report.html`, `loss.svg` and `accuracy.svg` into a run folder
/// from its files; `split` is the run's data and `predictions` the saved
/// model's on its test rows, for the confusion matrix and the gallery.
/// Returns the page's path.
pub fn write_run_report(dir: &Path, split: &Split, predictions: &[Prediction]) -> CliResult<PathBuf> {
    write_run_report_with(dir, Ok(split), Some(predictions))
}

fn write_run_report_with(
    dir: &Path,
    data: std::result::Result<&Split, String>,
    predictions: Option<&[Prediction]>,
) -> CliResult<PathBuf> {
    let run = Run::load(dir)?;
    let (loss, accuracy) = run_plots(&run);
    write_atomic(&dir.join("loss.svg"), loss.as_bytes())?;
    write_atomic(&dir.join("accuracy.svg"), accuracy.as_bytes())?;
    let figures = figures(&run, data, predictions);
    let page = page::run_page(&run, &loss, &accuracy, &figures);
    let path = dir.join("report.html");
    write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// The runs of a sweep folder: subfolders `h<H>` holding `metrics.csv`,
/// by increasing H.
fn sweep_runs(dir: &Path) -> Vec<(usize, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut runs: Vec<(usize, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let hidden = name.strip_prefix('h')?.parse().ok()?;
            e.path().join("metrics.csv").is_file().then(|| (hidden, e.path()))
        })
        .collect();
    runs.sort();
    runs
}

/// Writes `report.html`, `sweep_valid_loss.svg` and
/// `sweep_valid_accuracy.svg` into a sweep folder from its runs' files.
pub fn write_sweep_report(dir: &Path) -> CliResult<PathBuf> {
    let runs = sweep_runs(dir)
        .into_iter()
        .map(|(hidden, path)| Run::load(&path).map(|run| (hidden, run)))
        .collect::<Result<Vec<_>>>()?;
    if runs.is_empty() {
        return Err(Error::new(ErrorKind::Empty, "no run folders (h<H>/metrics.csv) in this sweep folder")
            .at(dir)
            .fix("pass a folder written by mlp sweep, or a run folder written by mlp train")
            .into());
    }
    let (loss, accuracy) = page::sweep_plots(&runs);
    write_atomic(&dir.join("sweep_valid_loss.svg"), loss.as_bytes())?;
    write_atomic(&dir.join("sweep_valid_accuracy.svg"), accuracy.as_bytes())?;
    let page = page::sweep_page(&runs, &loss, &accuracy);
    let path = dir.join("report.html");
    write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// Loads and splits the data that `args` name, as `mlp train` does.
fn load_split(args: &DataArgs) -> std::result::Result<Split, String> {
    crate::plan::load_split(args, "mlp report", crate::plan::Blame::File, |_, _| 0).map_err(|e| match e {
        crate::error::CliError::Usage(message) => message,
        crate::error::CliError::Run(error) => error.to_string(),
        crate::error::CliError::Tool(failure) => failure.to_string(),
        crate::error::CliError::Interrupted { message, .. } => message,
    })
}

/// Loads a run's data again, from the flags given or those its folder
/// records (`summary.json`, else `run.json`), and checks by its identity
/// (sizes and checksum), not by how its path was spelled, that it is the
/// data the run used.
fn reload_data(dir: &Path, summary: &Json, given: Option<&DataArgs>) -> std::result::Result<Split, String> {
    let record = read_record(dir);
    let recorded = || data_args_from(summary).or_else(|| record.as_ref().and_then(data_args_from));
    let args = match given {
        Some(args) => args.clone(),
        None => recorded()
            .ok_or("the run folder does not record the data flags; pass them, e.g. mlp report DIR --data FILE")?,
    };
    let split = load_split(&args)?;
    let checksum = |json: &Json| json.str_at(&["data", "checksum"]).map(str::to_string);
    let identity = mlp_engine::training::DataIdentity::of(&split);
    match checksum(summary).or_else(|| record.as_ref().and_then(checksum)) {
        Some(recorded) if recorded != identity.checksum_text() => {
            let source = |json: &Json| json.str_at(&["data", "source"]).map(str::to_string);
            let used = source(summary).or_else(|| record.as_ref().and_then(source)).unwrap_or("other data".into());
            Err(format!(
                "the run used {used} (checksum {recorded}), the data found is {}: {}",
                split.source,
                identity.describe()
            ))
        }
        Some(_) => Ok(split),
        // A folder of an older build records no checksum: its sizes must match.
        None => match summary.num_at(&["data", "rows"]) {
            Some(rows) if rows as usize != split.rows() => {
                Err(format!("the data found has {} rows, the run had {rows}", split.rows()))
            }
            _ => Ok(split),
        },
    }
}

/// The folder's `run.json`, if it has a readable one.
fn read_record(dir: &Path) -> Option<Json> {
    let text = read_text(&dir.join(RUN_RECORD)).ok()?;
    json_read::parse(&text).ok()
}

/// `mlp report DIR`: rebuilds the report of a run or a sweep folder.
pub fn rebuild(args: &ReportArgs) -> CliResult<()> {
    let dir = &args.dir;
    if !dir.is_dir() {
        let what = if dir.exists() { "not a folder" } else { "no such folder" };
        return Err(Error::new(ErrorKind::Io, what)
            .at(dir)
            .fix("pass a run folder written by mlp train or mlp sweep")
            .into());
    }
    let sweep = !dir.join("metrics.csv").exists() && !sweep_runs(dir).is_empty();
    let runs = if sweep { sweep_runs(dir).into_iter().map(|(_, p)| p).collect() } else { vec![dir.clone()] };
    for run_dir in &runs {
        // The folder's own files first: a folder that is not a run fails
        // here, before any data is loaded for it.
        read_metrics(run_dir)?;
        let summary = read_summary(run_dir)?;
        let data = reload_data(run_dir, &summary, args.data.as_ref());
        if let Err(why) = &data {
            note!(
                "{}: the data is not available ({why}); the confusion matrix and the gallery are left out",
                run_dir.display()
            );
        }
        let path = write_run_report_with(run_dir, data.as_ref().map_err(Clone::clone), None)?;
        say!("report: {}", path.display());
    }
    if sweep {
        say!("sweep report: {}", write_sweep_report(dir)?.display());
    }
    Ok(())
}
