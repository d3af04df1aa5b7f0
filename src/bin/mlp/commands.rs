//! The `mlp` commands: loading and checking data, running `train`, `sweep`,
//! `eval`, `bench` and `profile`, the progress line, and what a run prints
//! and writes. [`crate::cli`] turns the command line into a [`Command`];
//! [`run`] carries it out.

use std::io::IsTerminal;
use std::path::Path;

use crate::bench::{self, BenchArgs};
use crate::cli::REPORT_HELP;
use crate::cli::{CliError, Command, DATA_HELP, DataArgs, EVAL_HELP, EvalArgs, SWEEP_HELP, TRAIN_HELP, TrainArgs};
use crate::json::Json;
use crate::output::{self, write_atomic};
use crate::plot::{LinePlot, Series};
use crate::report;
use crate::system;
use mlp_engine::data::{CLASSES, Dataset, Split, synth};
use mlp_engine::engine::matrix::MatRef;
use mlp_engine::engine::simd::SimdPath;
use mlp_engine::engine::{Metrics, Workspace};
use mlp_engine::training::model;
use mlp_engine::training::{EpochRecord, StopReason, TrainConfig, TrainOutcome, train};
use mlp_engine::{Error, ErrorKind};

use crate::cli::CliResult;

/// Refuses, before allocating, a run that needs more memory than the machine
/// has; `flags` names what to change.
fn check_fits(bytes: f64, flags: &str) -> CliResult<()> {
    if let Some(total) = system::memory_bytes().map(|b| b as f64)
        && bytes > total
    {
        let gib = |b: f64| b / f64::from(1u32 << 30);
        return Err(CliError::Usage(format!(
            "{flags} would need {:.1} GiB of memory; this machine has {:.1} GiB",
            gib(bytes),
            gib(total)
        )));
    }
    Ok(())
}

/// Bytes a training run of `hidden` units over `rows` rows (`train` of them
/// stepped on `batch` at a time) allocates for its network and workspace:
/// parameters, gradients, velocity and two snapshots; activations.
fn training_bytes(features: usize, hidden: usize, rows: usize, train: usize, batch: Option<usize>) -> f64 {
    let (d, h, c) = (features as f64, hidden as f64, CLASSES as f64);
    let params = d * h + h + h * c + c;
    let (max_rows, max_train) = match batch {
        None => (rows as f64, train as f64),
        Some(b) => ((b.min(train) as f64).max((rows - train) as f64), b.min(train) as f64),
    };
    4.0 * (5.0 * params + max_rows * (h + c + 1.0) + max_train * h) + max_train / 32.0 * h
}

/// The data the flags name, and its description.
pub fn load_data(args: &DataArgs) -> Result<Dataset, Error> {
    if let (Some(images), Some(labels)) = (&args.images, &args.labels) {
        return Dataset::load_idx_pair(images, labels);
    }
    if let Some(path) = &args.data {
        if path.is_dir() {
            return Dataset::load_idx_dir(path);
        }
        if !path.exists() {
            return Err(Error::io(path, "read the data", &std::io::Error::from(std::io::ErrorKind::NotFound))
                .fix("check the path; --data takes an .npz file or a folder of IDX files"));
        }
        if path.extension().and_then(|e| e.to_str()) == Some("npz") {
            return Dataset::load_npz(path);
        }
        return Err(Error::new(ErrorKind::BadMagic, "--data takes an .npz file or a folder of IDX files")
            .at(path)
            .fix("for one pair of IDX files use --images FILE --labels FILE"));
    }
    if let Some(rows) = args.synthetic {
        return Ok(Dataset::synthetic(rows, 0));
    }
    let course = Path::new("data/notMNIST.npz");
    if course.exists() {
        return Dataset::load_npz(course);
    }
    Ok(Dataset::synthetic(mlp_engine::data::synth::COURSE_ROWS, 0))
}

fn split_data(args: &DataArgs) -> CliResult<Split> {
    if let Some(rows) = args.synthetic {
        // The images, then their shuffled copy, both f32.
        check_fits(rows as f64 * (synth::SIDE * synth::SIDE) as f64 * 8.0, &format!("--synthetic {rows}"))?;
    }
    let data = load_data(args)?;
    let (train, valid) = args.split;
    match data.split(train, valid, args.shuffle_seed) {
        Ok(split) => Ok(split),
        // A split that does not fit the data is a wrong flag value.
        Err(e) if e.kind() == ErrorKind::BadSplit => Err(CliError::Usage(format!(
            "--split {train},{valid} does not fit {}: {}; the data has {} rows",
            data.source,
            e.message(),
            data.rows()
        ))),
        Err(e) => Err(e.context(&data.source).into()),
    }
}

/// Refuses a benchmark that would not fit in memory.
fn check_bench_fits(args: &BenchArgs) -> CliResult<()> {
    let rows = args.rows + args.eval_rows;
    let bytes = rows as f64 * 784.0 * 4.0 + training_bytes(784, args.hidden, rows, args.rows, args.batch_size);
    check_fits(bytes, &format!("--hidden {} with --rows {} and --eval-rows {}", args.hidden, args.rows, args.eval_rows))
}

/// Refuses a training run that would not fit in memory.
fn check_training_fits(split: &Split, config: &TrainConfig) -> CliResult<()> {
    let bytes = training_bytes(split.features, config.hidden, split.rows(), split.train, config.batch_size);
    check_fits(bytes, &format!("--hidden {} with {} rows", config.hidden, split.rows()))
}

/// Runs `f` on a rayon pool of `threads` workers (default: all cores).
fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> CliResult<T> {
    let n = threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().map_err(|e| {
        CliError::Run(
            Error::new(ErrorKind::Io, format!("cannot start {n} worker threads: {e}")).fix("pass a smaller --threads"),
        )
    })?;
    Ok(pool.install(f))
}

/// Runs a parsed command.
pub fn run(command: Command) -> CliResult<()> {
    match command {
        Command::Help(text) => {
            say_part!("{text}");
            if [TRAIN_HELP, SWEEP_HELP, EVAL_HELP, REPORT_HELP].iter().any(|h| std::ptr::eq(*h, text)) {
                say_part!("\n{DATA_HELP}");
            }
            Ok(())
        }
        Command::Train(args) => {
            let split = split_data(&args.data)?;
            check_training_fits(&split, &args.config)?;
            let dir = output::create_run_dir(args.out.as_deref(), &format!("train-h{}", args.config.hidden))?;
            let outcome = with_threads(args.threads, || train_into(&split, &args.config, &args.data, &dir))??;
            say!("{}", final_report(&outcome));
            say!("run folder: {}", dir.display());
            say!("plots:      {}  {}", dir.join("loss.svg").display(), dir.join("accuracy.svg").display());
            say!("report:     {}", dir.join("report.html").display());
            diverged_error(&outcome, &dir, args.config.hyper.learning_rate)
        }
        Command::Sweep(args) => sweep(args),
        Command::Eval(args) => eval(args),
        Command::Bench(args, threads) => {
            check_bench_fits(&args)?;
            Ok(with_threads(threads, || bench::bench(&args))??)
        }
        Command::Profile(args, threads) => {
            check_bench_fits(&args)?;
            Ok(with_threads(threads, || bench::profile(&args))??)
        }
        Command::Report(args) => report::rebuild(&args),
    }
}

fn diverged_error(outcome: &TrainOutcome, dir: &Path, learning_rate: f32) -> CliResult<()> {
    if let StopReason::Diverged { epoch } = outcome.stop {
        return Err(CliError::Run(
            Error::new(ErrorKind::Diverged, format!("the training loss became NaN or infinite at epoch {epoch}; the run stopped"))
                .at(dir)
                .fix(format!(
                    "use a smaller learning rate (e.g. --lr {}); the run folder keeps the metrics so far and the last finite parameters",
                    short_number(f64::from(learning_rate) / 10.0)
                )),
        ));
    }
    Ok(())
}

/// A number as a person would type it: 0.01, 2.5, 1e35.
fn short_number(x: f64) -> String {
    // Six significant digits, so 0.1f32 / 10 prints as 0.01, not 0.009999999776.
    let x: f64 = format!("{x:.5e}").parse().unwrap_or(x);
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) { format!("{x:e}") } else { format!("{x}") }
}

/// Trains on `split` and writes every output into `dir`; prints progress on
/// stderr when `progress`. Returns the outcome and the summary written.
fn train_into(split: &Split, config: &TrainConfig, data: &DataArgs, dir: &Path) -> Result<TrainOutcome, Error> {
    let threads = rayon::current_num_threads();
    let simd = SimdPath::best();
    eprintln!(
        "mlp train: {}\n  split {} train / {} valid / {} test (shuffle seed {}), network {}-{}-{}, {} epochs, {}, lr {}, momentum {}, seed {}\n  {} threads, passes {}, run folder {}",
        split.source,
        split.train,
        split.valid,
        split.test,
        data.shuffle_seed,
        split.features,
        config.hidden,
        CLASSES,
        config.epochs,
        config.batch_size.map_or("full batch".to_string(), |b| format!("batch {b}")),
        config.hyper.learning_rate,
        config.hyper.momentum,
        config.seed,
        threads,
        simd.name(),
        dir.display()
    );
    let mut printer = Progress::new(config.epochs);
    let outcome = train(split, config, |r| printer.epoch(r))?;
    printer.finish();
    write_atomic(&dir.join("metrics.csv"), output::metrics_csv(&outcome.history).as_bytes())?;
    let title = format!("H = {}", config.hidden);
    let (loss_svg, accuracy_svg) = output::curve_plots(&outcome.history, &title);
    write_atomic(&dir.join("loss.svg"), loss_svg.as_bytes())?;
    write_atomic(&dir.join("accuracy.svg"), accuracy_svg.as_bytes())?;
    write_atomic(&dir.join("model.npz"), &model::to_npz(&outcome.network))?;
    let summary = summary_json(split, config, data, &outcome, threads, simd);
    write_atomic(&dir.join("summary.json"), summary.to_pretty().as_bytes())?;
    report::write_run_report(dir, Some(split))?;
    Ok(outcome)
}

fn summary_json(
    split: &Split,
    config: &TrainConfig,
    data: &DataArgs,
    o: &TrainOutcome,
    threads: usize,
    simd: SimdPath,
) -> Json {
    let last = o.last();
    let (best_loss, best_acc) = (o.record(o.best_loss_epoch), o.record(o.best_accuracy_epoch));
    let mut seconds: Vec<f64> = o.history.iter().map(|r| r.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    let median = seconds.get(seconds.len() / 2).copied().unwrap_or(0.0);
    let stop = match o.stop {
        StopReason::Completed => "completed",
        StopReason::EarlyStopped => "early_stopped",
        StopReason::Diverged { .. } => "diverged",
    };
    let params_note = match o.stop {
        StopReason::Completed => "parameters after the last update".to_string(),
        StopReason::EarlyStopped => {
            format!("parameters of the best validation loss, epoch {} (before its update)", o.params_epoch)
        }
        StopReason::Diverged { epoch } => format!(
            "last finite parameters (before the update of epoch {}); the loss diverged at epoch {epoch}",
            o.params_epoch
        ),
    };
    Json::obj([
        ("command", Json::str("train")),
        ("version", Json::str(env!("CARGO_PKG_VERSION"))),
        (
            "settings",
            Json::obj([
                ("hidden", Json::num(config.hidden as f64)),
                ("epochs", Json::num(config.epochs as f64)),
                ("learning_rate", Json::num_f32(config.hyper.learning_rate)),
                ("momentum", Json::num_f32(config.hyper.momentum)),
                ("seed", Json::num(config.seed as f64)),
                ("batch_size", config.batch_size.map_or(Json::Null, |b| Json::num(b as f64))),
                ("patience", config.patience.map_or(Json::Null, |p| Json::num(p as f64))),
                ("velocity_init", Json::num_f32(config.velocity_init)),
                ("threads", Json::num(threads as f64)),
                ("simd", Json::str(simd.name())),
                ("profile", Json::str(system::build_profile())),
            ]),
        ),
        (
            "data",
            Json::obj([
                ("source", Json::str(&split.source)),
                ("rows", Json::num(split.rows() as f64)),
                ("features", Json::num(split.features as f64)),
                ("train", Json::num(split.train as f64)),
                ("valid", Json::num(split.valid as f64)),
                ("test", Json::num(split.test as f64)),
                ("shuffle_seed", Json::num(data.shuffle_seed)),
            ]),
        ),
        ("data_args", report::data_args_json(data)),
        ("stop", Json::str(stop)),
        ("epochs_run", Json::num(o.history.len() as f64)),
        ("final", split_json(&last)),
        (
            "best_valid_loss",
            Json::obj([("epoch", Json::num(o.best_loss_epoch as f64)), ("metrics", split_json(&best_loss))]),
        ),
        (
            "best_valid_accuracy",
            Json::obj([("epoch", Json::num(o.best_accuracy_epoch as f64)), ("metrics", split_json(&best_acc))]),
        ),
        (
            "model",
            Json::obj([
                ("file", Json::str("model.npz")),
                ("parameters", Json::str(params_note)),
                ("finite", Json::Bool(o.network.params().iter().all(|p| p.is_finite()))),
                (
                    "metrics",
                    Json::obj(
                        ["train", "valid", "test"]
                            .iter()
                            .zip(&o.model_metrics)
                            .map(|(name, m)| (*name, output::metrics_json(m))),
                    ),
                ),
            ]),
        ),
        ("wall_seconds", Json::num(o.wall_seconds)),
        ("median_epoch_seconds", Json::num(median)),
        ("train_samples_per_second", Json::num(o.samples_per_second)),
        ("peak_rss_bytes", system::peak_rss_bytes().map_or(Json::Null, |b| Json::num(b as f64))),
    ])
}

fn split_json(r: &EpochRecord) -> Json {
    Json::obj([
        ("train", output::metrics_json(&r.train)),
        ("valid", output::metrics_json(&r.valid)),
        ("test", output::metrics_json(&r.test)),
    ])
}

fn final_report(o: &TrainOutcome) -> String {
    let last = o.last();
    let (bl, ba) = (o.record(o.best_loss_epoch), o.record(o.best_accuracy_epoch));
    let stop = match o.stop {
        StopReason::Completed => String::new(),
        StopReason::EarlyStopped => {
            format!(" (stopped early; model.npz holds epoch {})", o.params_epoch)
        }
        StopReason::Diverged { epoch } => format!(" (diverged at epoch {epoch})"),
    };
    format!(
        "final (epoch {}){stop}: train loss {:.4} acc {:.4} | valid loss {:.4} acc {:.4} | test loss {:.4} acc {:.4}\n\
         best valid loss:     epoch {} (loss {:.4}, acc {:.4}; test acc {:.4})\n\
         best valid accuracy: epoch {} (acc {:.4}, loss {:.4}; test acc {:.4})\n\
         wall time {:.2} s, {:.0} training samples/s",
        last.epoch,
        last.train.loss,
        last.train.accuracy,
        last.valid.loss,
        last.valid.accuracy,
        last.test.loss,
        last.test.accuracy,
        o.best_loss_epoch,
        bl.valid.loss,
        bl.valid.accuracy,
        bl.test.accuracy,
        o.best_accuracy_epoch,
        ba.valid.accuracy,
        ba.valid.loss,
        ba.test.accuracy,
        o.wall_seconds,
        o.samples_per_second
    )
}

/// The per-epoch progress line on stderr: redrawn in place on a terminal,
/// one line per epoch otherwise.
struct Progress {
    total: usize,
    terminal: bool,
    elapsed: f64,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress { total, terminal: std::io::stderr().is_terminal(), elapsed: 0.0 }
    }

    fn epoch(&mut self, r: &EpochRecord) {
        self.elapsed += r.seconds;
        let eta = self.elapsed / r.epoch as f64 * (self.total - r.epoch) as f64;
        // Formatted straight into stderr: no string is built per epoch.
        let line = format_args!(
            "epoch {:>4}/{}  loss {:.4}/{:.4}/{:.4}  acc {:.4}/{:.4}/{:.4}  (train/valid/test)  {:.3} s  ETA {:.1} s",
            r.epoch,
            self.total,
            r.train.loss,
            r.valid.loss,
            r.test.loss,
            r.train.accuracy,
            r.valid.accuracy,
            r.test.accuracy,
            r.seconds,
            eta
        );
        if self.terminal {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}

fn sweep(args: TrainArgs) -> CliResult<()> {
    let split = split_data(&args.data)?;
    for &hidden in &args.hidden_sizes {
        check_training_fits(&split, &TrainConfig { hidden, ..args.config.clone() })?;
    }
    let dir = output::create_run_dir(args.out.as_deref(), "sweep")?;
    let mut rows = Vec::new();
    for &hidden in &args.hidden_sizes {
        let config = TrainConfig { hidden, ..args.config.clone() };
        let sub = output::create_run_dir(Some(&dir.join(format!("h{hidden}"))), "")?;
        let outcome = with_threads(args.threads, || train_into(&split, &config, &args.data, &sub))??;
        eprintln!("{}", final_report(&outcome));
        diverged_error(&outcome, &sub, config.hyper.learning_rate)?;
        rows.push((hidden, outcome));
    }
    let mut csv = String::from(
        "hidden,epochs_run,best_valid_loss_epoch,best_valid_loss,best_valid_acc_epoch,best_valid_acc,final_train_loss,final_train_acc,final_valid_loss,final_valid_acc,final_test_loss,final_test_acc,test_acc_at_best_valid_loss,wall_seconds\n",
    );
    let mut table = format!(
        "{:>6} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>9}\n",
        "H", "epochs", "best vloss", "(epoch)", "best vacc", "(epoch)", "final tacc", "seconds"
    );
    for (hidden, o) in &rows {
        let last = o.last();
        let (bl, ba) = (o.record(o.best_loss_epoch), o.record(o.best_accuracy_epoch));
        csv.push_str(&format!(
            "{hidden},{},{},{:.6},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.3}\n",
            o.history.len(),
            o.best_loss_epoch,
            bl.valid.loss,
            o.best_accuracy_epoch,
            ba.valid.accuracy,
            last.train.loss,
            last.train.accuracy,
            last.valid.loss,
            last.valid.accuracy,
            last.test.loss,
            last.test.accuracy,
            bl.test.accuracy,
            o.wall_seconds
        ));
        table.push_str(&format!(
            "{hidden:>6} {:>7} {:>11.4} {:>11} {:>11.4} {:>11} {:>11.4} {:>9.2}\n",
            o.history.len(),
            bl.valid.loss,
            o.best_loss_epoch,
            ba.valid.accuracy,
            o.best_accuracy_epoch,
            last.test.accuracy,
            o.wall_seconds
        ));
    }
    write_atomic(&dir.join("sweep.csv"), csv.as_bytes())?;
    let curves = |pick: fn(&Metrics) -> f64| -> Vec<Series> {
        rows.iter()
            .map(|(h, o)| Series {
                name: format!("H = {h}"),
                points: o.history.iter().map(|r| (r.epoch as f64, pick(&r.valid))).collect(),
            })
            .collect()
    };
    let acc = LinePlot {
        title: "Validation accuracy by hidden size".into(),
        x_label: "epoch".into(),
        y_label: "validation accuracy".into(),
        series: curves(|m| m.accuracy),
    };
    let loss = LinePlot {
        title: "Validation loss by hidden size".into(),
        x_label: "epoch".into(),
        y_label: "validation cross-entropy".into(),
        series: curves(|m| m.loss),
    };
    write_atomic(&dir.join("sweep_valid_accuracy.svg"), acc.to_svg().as_bytes())?;
    write_atomic(&dir.join("sweep_valid_loss.svg"), loss.to_svg().as_bytes())?;
    let sweep_report = report::write_sweep_report(&dir)?;
    say_part!("{table}");
    say!("sweep folder: {}", dir.display());
    say!(
        "plots:        {}  {}",
        dir.join("sweep_valid_accuracy.svg").display(),
        dir.join("sweep_valid_loss.svg").display()
    );
    say!("report:       {}", sweep_report.display());
    Ok(())
}

fn eval(args: EvalArgs) -> CliResult<()> {
    let network = model::load(&args.model)?;
    let split = split_data(&args.data)?;
    let layout = network.layout();
    if layout.inputs != split.features || layout.classes != CLASSES {
        return Err(CliError::Run(
            Error::new(
                ErrorKind::BadModel,
                format!(
                    "the model takes {} inputs and {} classes; the data has {} values per image and {CLASSES} classes",
                    layout.inputs, layout.classes, split.features
                ),
            )
            .at(&args.model)
            .fix("evaluate the model on data of the kind it was trained on"),
        ));
    }
    let results = with_threads(args.threads, || {
        let mut ws = Workspace::new(layout, split.rows().min(4096), 0);
        let x = MatRef::from_slice(&split.images, split.rows(), split.features);
        let mut predictions = vec![0u8; split.test];
        let mut out = Vec::new();
        for (name, range) in split.ranges() {
            let xr = x.row_range(range.start, range.len());
            let preds = if name == "test" { Some(predictions.as_mut_slice()) } else { None };
            out.push((name, network.evaluate(&mut ws, xr, &split.labels[range], preds)));
        }
        (out, predictions)
    })?;
    let (metrics, predictions) = results;
    if args.json {
        say!("{}", Json::obj(metrics.iter().map(|(name, m)| (*name, output::metrics_json(m)))).to_compact());
        return Ok(());
    }
    say!("model {} ({}-{}-{}) on {}", args.model.display(), layout.inputs, layout.hidden, layout.classes, split.source);
    for (name, m) in &metrics {
        say!("{name:>5}: loss {:.4}  accuracy {:.4}  ({} rows)", m.loss, m.accuracy, m.rows);
    }
    let mut confusion = [[0usize; CLASSES]; CLASSES];
    let test_start = split.train + split.valid;
    for (i, &p) in predictions.iter().enumerate() {
        confusion[split.labels[test_start + i] as usize][p as usize] += 1;
    }
    say!("\nconfusion matrix of the test rows (rows: true letter, columns: predicted)");
    say_part!("     ");
    for c in 0..CLASSES {
        say_part!("{:>6}", (b'A' + c as u8) as char);
    }
    say!();
    for (t, row) in confusion.iter().enumerate() {
        say_part!("{:>5}", (b'A' + t as u8) as char);
        for n in row {
            say_part!("{n:>6}");
        }
        say!();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_numbers_read_as_typed() {
        assert_eq!(short_number(f64::from(0.1f32) / 10.0), "0.01");
        assert_eq!(short_number(f64::from(1e36f32) / 10.0), "1e35");
        assert_eq!(short_number(2.5), "2.5");
    }
}
