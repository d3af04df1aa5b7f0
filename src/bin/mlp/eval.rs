//! `mlp eval`: a saved model's loss and accuracy on the train, valid and
//! test rows of a split, and the confusion matrix of the test rows.
//!
//! A model in a run folder is measured, without data flags, on the data and
//! split the folder records (`run.json`, paths absolute), so its "test"
//! rows are the run's own test rows; data flags that give other rows than
//! the run's are warned about, since the test figures may then include rows
//! the model trained on.

use crate::args::EvalArgs;
use crate::console;
use crate::error::{CliError, CliResult};
use crate::json::Json;
use crate::output::metrics_json;
use crate::plan::{self, Blame};
use crate::report::images;
use crate::system::with_threads;
use mlp_engine::engine::matrix::MatRef;
use mlp_engine::training::{DataIdentity, model};
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
    let run = RecordedRun::beside(&args.model);
    let data = match &run {
        Some(run) if !args.data_given => run.data.clone(),
        _ => args.data.clone(),
    };
    let split = plan::load_split(&data, &format!("evaluating {model_name}"), Blame::File, |shape, _| {
        eval_bytes(shape.rows).saturating_add(shape.rows as u64)
    })
    .map_err(|e| match (&run, e) {
        (Some(run), CliError::Run(e)) if !args.data_given => CliError::Run(e.fix(format!(
            "the data recorded in {} could not be loaded; pass the data flags to evaluate on other data",
            run.record.display()
        ))),
        (_, e) => e,
    })?;
    let whose = match &run {
        Some(run) if !args.data_given => format!(", the data and split of its run ({})", run.record.display()),
        _ => String::new(),
    };
    if let Some(run) = &run
        && let Some(recorded) = &run.identity
    {
        let identity = DataIdentity::of(&split);
        if identity.checksum_text() != *recorded {
            note!(
                "warning: these rows are not the run's ({}; the run recorded checksum {recorded} in {}): the test figures may include rows the model trained on",
                identity.describe(),
                run.record.display()
            );
        }
    }
    let network = model::load(&args.model)?;
    check_model_fits_data(&network, &split, &args)?;
    let (metrics, predictions) = with_threads(args.threads, || measure(&network, &split))??;
    check_finite_loss(&metrics, &args)?;
    if args.json {
        if !whose.is_empty() {
            note!("mlp eval: {} on {}{whose}", args.model.display(), split.source);
        }
        say!("{}", Json::obj(metrics.iter().map(|(name, m)| (*name, metrics_json(m)))).to_compact());
        return Ok(());
    }
    say!(
        "model {} ({}-{}-{}) on {}{whose}",
        args.model.display(),
        layout.inputs,
        layout.hidden,
        layout.classes,
        split.source
    );
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

/// Refuses figures whose loss is not finite. Finite weights can still make
/// the logits overflow float32 (weights of 3e38, say); the softmax of
/// infinite logits is NaN, so neither the loss nor the accuracy means
/// anything, and JSON's `null` is reserved for a part with no rows.
fn check_finite_loss(metrics: &[(&str, Metrics)], args: &EvalArgs) -> CliResult<()> {
    let Some((name, m)) = metrics.iter().find(|(_, m)| m.rows > 0 && !m.loss.is_finite()) else {
        return Ok(());
    };
    Err(CliError::Run(
        Error::new(
            ErrorKind::BadModel,
            format!(
                "the network's outputs overflow float32 on the {name} rows (loss {}): its weights are too large to evaluate",
                m.loss
            ),
        )
        .at(&args.model)
        .fix("evaluate a model whose training converged (a run that diverged keeps its last finite parameters)"),
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

/// What the run folder beside a model records about its data.
struct RecordedRun {
    /// The folder's `run.json`.
    record: std::path::PathBuf,
    /// The data flags the run took.
    data: crate::args::DataArgs,
    /// The recorded checksum of the run's split, as text.
    identity: Option<String>,
}

impl RecordedRun {
    /// The run that wrote `model`, if its folder records one.
    fn beside(model: &std::path::Path) -> Option<RecordedRun> {
        // A link to a run's model.npz names that run: its record lies
        // beside the file the link leads to.
        let model = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
        let dir = model.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let record = dir.join(crate::output::run_record::RUN_RECORD);
        std::fs::symlink_metadata(&record).ok()?;
        let data = match crate::output::run_record::recorded_data(dir) {
            Ok(data) => data,
            Err(e) => {
                let why = match e {
                    CliError::Run(e) => e.to_string(),
                    CliError::Tool(f) => f.to_string(),
                    CliError::Usage(m) | CliError::Interrupted { message: m, .. } => m,
                };
                note!("warning: the run's data is unknown ({why}); evaluating on the data the flags name");
                return None;
            }
        };
        let text = mlp_engine::data::file::read_regular_file(&record).ok()?;
        let json = crate::json_read::parse(&String::from_utf8_lossy(&text)).ok()?;
        let identity = json.str_at(&["data", "checksum"]).map(str::to_string);
        Some(RecordedRun { record, data, identity })
    }
}
