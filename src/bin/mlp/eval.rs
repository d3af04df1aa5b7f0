//! `mlp eval`: a saved model's loss and accuracy on the train, valid and
//! test rows of a split, and the confusion matrix of the test rows.

use crate::cli::{CliError, CliResult, EvalArgs};
use crate::commands::with_threads;
use crate::console;
use crate::json::Json;
use crate::output::metrics_json;
use crate::plan::{self, Blame};
use crate::report::images;
use mlp_engine::engine::matrix::MatRef;
use mlp_engine::training::model;
use mlp_engine::{CLASSES, Error, ErrorKind, Metrics, Network, Split, Workspace};

/// Rows evaluated per forward pass: bounds the workspace whatever the data.
const EVAL_CHUNK_ROWS: usize = 4096;

pub fn eval(args: EvalArgs) -> CliResult<()> {
    if args.json {
        console::strict_stdout();
    }
    // The model's size from its headers, checked before anything is inflated.
    let layout = model::probe(&args.model)?;
    let (h, c) = (layout.hidden, layout.classes);
    // The network's three buffers, plus the file and its decoded arrays
    // while loading: five copies of the parameters at the peak.
    let model_bytes = Network::bytes_for(layout.inputs, h, c) / 3 * 5;
    let eval_bytes = |rows: usize| model_bytes.saturating_add(Workspace::bytes_for(h, c, rows.min(EVAL_CHUNK_ROWS), 0));
    let model_name = args.model.display().to_string();
    plan::check_fits(eval_bytes(1), &format!("the model {model_name}"), Blame::File)?;
    let split = plan::load_split(&args.data, &format!("evaluating {model_name}"), Blame::File, |shape, _| {
        eval_bytes(shape.rows).saturating_add(shape.rows as u64)
    })?;
    let network = model::load(&args.model)?;
    check_model_fits_data(&network, &split, &args)?;
    let (metrics, predictions) = with_threads(args.threads, || measure(&network, &split))??;
    if args.json {
        say!("{}", Json::obj(metrics.iter().map(|(name, m)| (*name, metrics_json(m)))).to_compact());
        return Ok(());
    }
    say!("model {} ({}-{}-{}) on {}", args.model.display(), layout.inputs, layout.hidden, layout.classes, split.source);
    for (name, m) in &metrics {
        if m.rows == 0 {
            say!("{name:>5}: no rows");
        } else {
            say!("{name:>5}: loss {:.4}  accuracy {:.4}  ({} rows)", m.loss, m.accuracy, m.rows);
        }
    }
    print_confusion(&split, &predictions);
    Ok(())
}

fn check_model_fits_data(network: &Network, split: &Split, args: &EvalArgs) -> CliResult<()> {
    let layout = network.layout();
    if layout.inputs == split.features && layout.classes == CLASSES {
        return Ok(());
    }
    Err(CliError::Run(
        Error::new(
            ErrorKind::BadModel,
            format!(
                "the model takes {} inputs and {} classes; the data has {} values per image and {CLASSES} classes",
                layout.inputs, layout.classes, split.features
            ),
        )
        .at(&args.model)
        .fix("evaluate the model on data of the kind it was trained on"),
    ))
}

/// Each part's name and figures.
type PartMetrics = Vec<(&'static str, Metrics)>;

/// Each part's figures, and the predicted class of every test row.
fn measure(network: &Network, split: &Split) -> Result<(PartMetrics, Vec<u8>), Error> {
    let mut ws = Workspace::new(network.layout(), split.rows().clamp(1, EVAL_CHUNK_ROWS), 0);
    let x = MatRef::from_slice(&split.images, split.rows(), split.features);
    let mut out = Vec::new();
    for (name, range) in split.ranges() {
        let xr = x.row_range(range.start, range.len());
        out.push((name, network.evaluate(&mut ws, xr, &split.labels[range], None)));
    }
    let test_start = split.train + split.valid;
    let predictions = network.predict(&split.images[test_start * split.features..])?;
    Ok((out, predictions))
}

fn print_confusion(split: &Split, predictions: &[u8]) {
    if predictions.is_empty() {
        say!("\nno test rows: no confusion matrix");
        return;
    }
    let confusion = images::confusion(&split.labels[split.train + split.valid..], predictions.iter().copied());
    say!("\nconfusion matrix of the test rows (rows: true letter, columns: predicted)");
    say_part!("     ");
    for c in 0..CLASSES {
        say_part!("{:>6}", images::letter(c));
    }
    say!();
    for (t, row) in confusion.iter().enumerate() {
        say_part!("{:>5}", images::letter(t));
        for n in row {
            say_part!("{n:>6}");
        }
        say!();
    }
}
