//! What each `mlp` command does, as orchestration: check and load the data,
//! claim a run folder, train with progress, and hand every file to
//! [`crate::output`]. [`crate::cli`] turns the command line into a
//! [`Command`]; [`run`] carries it out.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::args::{BenchCommand, Command, DataArgs, TrainArgs};
use crate::bench;
use crate::console;
use crate::error::{CliError, CliResult, ToolFailure, ToolFailureKind};
use crate::output::metrics_csv::MetricsLog;
use crate::output::run_record::{RUN_RECORD, recorded_data};
use crate::output::summary::{RunFacts, run_json, summary_json};
use crate::output::{self, RunFolder, write_atomic};
use crate::plan::{self, Blame};
use crate::progress::{Progress, four_places};
use crate::report;
use crate::signals::{self, Signal};
use crate::system::{self, with_threads};
use mlp_engine::engine::SimdPath;
use mlp_engine::training::{Checkpoint, EpochState, ResumePoint, model, run_bytes, train_from};
use mlp_engine::{CLASSES, Error, ErrorKind, Network, Split, StopReason, TrainConfig, TrainOutcome};

/// The checkpoint of a run folder.
pub const CHECKPOINT: &str = "checkpoint.bin";

/// Runs a parsed command.
pub fn run(command: Command) -> CliResult<()> {
    match command {
        Command::Help(topic) => {
            say_part!("{}", topic.text());
            Ok(())
        }
        Command::Version => {
            say!("mlp {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Train(args) => train_command(args),
        Command::Sweep(args) => sweep_command(args),
        Command::Eval(args) => crate::eval::eval(args),
        Command::Report(args) => report::rebuild(&args),
        Command::Bench(b) => {
            check_bench_fits(&b, 0)?;
            bench::bench_command(&b)
        }
        Command::Profile(b) => {
            check_bench_fits(&b, crate::profile::recorder_bytes(&b))?;
            crate::profile::profile(&b)
        }
    }
}

/// Refuses a benchmark that would not fit in memory (and marks a `--json`
/// result as one that must arrive whole); `recorder_bytes`: what a
/// profile's trace reserves (0 for a benchmark).
fn check_bench_fits(b: &BenchCommand, recorder_bytes: u64) -> CliResult<()> {
    if b.args.json {
        console::strict_stdout();
    }
    for &batch_size in &b.batch_sizes {
        let a = crate::args::BenchArgs { batch_size, ..b.args.clone() };
        let bytes = bench::check_bytes(&a, recorder_bytes);
        let flags = format!(
            "--hidden {} with --rows {}, --eval-rows {} and --steps {}",
            a.hidden, a.rows, a.eval_rows, a.steps
        );
        plan::check_fits(bytes, &flags, Blame::Flags)?;
    }
    Ok(())
}

/// Loads the split for training runs of every size in `hidden_sizes`.
fn training_split(args: &TrainArgs) -> CliResult<Split> {
    let sizes = args.hidden_sizes.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",");
    let flags = format!("--hidden {sizes}");
    let split = plan::load_split(&args.data, &flags, Blame::Flags, |shape, train| {
        let run = |&hidden: &usize| {
            let config = TrainConfig { hidden, ..args.config.clone() };
            run_bytes(shape.features, shape.rows, train, &config)
        };
        args.hidden_sizes.iter().map(run).max().unwrap_or(0)
    })?;
    if let Some(batch) = args.config.batch_size.filter(|&b| b > split.train) {
        note!(
            "note: --batch-size {batch} is more than the {} training rows: each epoch is one step over all of them, \
             in a new order (leave --batch-size off for full batch)",
            split.train
        );
    }
    for &hidden in &args.hidden_sizes {
        // Whatever training would refuse (a split without validation rows,
        // a bad setting) is refused before a folder is claimed.
        mlp_engine::training::check_run(&split, &TrainConfig { hidden, ..args.config.clone() })?;
        // model.npz holds no zip64 fields: every array, and the archive,
        // stays under 4 GiB. Refused now, not after the last epoch.
        let model_bytes = Network::bytes_for(split.features, hidden, CLASSES) / 3;
        if model_bytes >= u64::from(u32::MAX) - (1 << 20) {
            return Err(CliError::Usage(format!(
                "--hidden {hidden} makes a model of {model_bytes} bytes, over the 4 GiB that model.npz can hold"
            )));
        }
    }
    Ok(split)
}

fn train_command(mut args: TrainArgs) -> CliResult<()> {
    if let Some(dir) = args.resume.clone() {
        return resume_command(args, &dir);
    }
    args.data = resolved_default(args.data);
    let split = training_split(&args)?;
    // Watching first: a Ctrl-C just after the claim still ends as an
    // interrupted run with a whole folder, not a folder holding a lone marker.
    signals::watch();
    let folder = RunFolder::claim(args.out.as_deref(), &format!("train-h{}", args.config.hidden))?;
    let outcome = with_threads(args.threads, || {
        train_into(&split, &args.config, &args.data, &folder, None, args.checkpoint_seconds)
    })??;
    finish_train(&outcome, &folder, args.config.optimizer.learning_rate)
}

fn finish_train(outcome: &TrainOutcome, folder: &RunFolder, learning_rate: f32) -> CliResult<()> {
    say!("{}", final_report(outcome));
    say!("run folder: {}", folder.path().display());
    say!("plots:      {}  {}", folder.file("loss.svg").display(), folder.file("accuracy.svg").display());
    say!("report:     {}", folder.file("report.html").display());
    stopped_early(outcome, folder, learning_rate)
}

/// `mlp train --resume DIR`: continues the run in DIR from its checkpoint
/// (or, for a sweep folder, the sweep).
fn resume_command(args: TrainArgs, dir: &Path) -> CliResult<()> {
    if !dir.is_dir() {
        let what = if dir.exists() { "not a folder" } else { "no such folder" };
        return Err(Error::new(ErrorKind::Io, what)
            .at(dir)
            .fix("pass the run folder of the run to continue to --resume")
            .into());
    }
    let checkpoint_path = dir.join(CHECKPOINT);
    if std::fs::symlink_metadata(&checkpoint_path).is_err() && is_sweep_folder(dir) {
        return sweep_command(args);
    }
    if std::fs::symlink_metadata(&checkpoint_path).is_err() {
        return Err(Error::new(
            ErrorKind::Io,
            format!("no {CHECKPOINT} in this folder, so there is nothing to continue"),
        )
        .at(dir)
        .fix("pass a run folder written by mlp train (checkpoints began with this version), or start a new run")
        .into());
    }
    let mut checkpoint = Checkpoint::load(&checkpoint_path)?;
    let data = recorded_data(dir)?;
    let config = resumed_config(&args, &checkpoint, &data)?;
    // Held from here, though not a byte changes until the checks pass: two
    // resumes of one folder never run at once.
    let mut folder = RunFolder::reopen(dir)?;
    let train_args =
        TrainArgs { data: data.clone(), config: config.clone(), hidden_sizes: vec![config.hidden], ..args };
    let split = training_split(&train_args)?;
    checkpoint.check_fits(&split, &config).map_err(|e| {
        CliError::Run(e.at(&checkpoint_path).fix(
            "the run's data or state no longer allows it to continue; start a new run (another --out) with the data as it is now",
        ))
    })?;
    signals::watch();
    folder.mark_running()?;
    remove_stale_temporaries(dir);
    let done = checkpoint.epochs_done;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    checkpoint.resumes.push(ResumePoint { after_epoch: done, unix_seconds: now });
    note!("mlp train --resume: continuing {} after epoch {done} of {}", dir.display(), config.epochs);
    if done == config.epochs || checkpoint.state != mlp_engine::training::RunState::Running {
        note!("  the run has no epochs left to run; its files are written again (pass --epochs E to extend it)");
    }
    let outcome = with_threads(train_args.threads, || {
        train_into(&split, &config, &data, &folder, Some(checkpoint), train_args.checkpoint_seconds)
    })??;
    finish_train(&outcome, &folder, config.optimizer.learning_rate)
}

/// The data flags with the default source made explicit: without a data
/// flag the data is the course file in the working folder if there is one,
/// else the built-in sample, so a run records that file (absolute) or the
/// sample, and not "the default", which from another folder could be
/// other data.
fn resolved_default(data: DataArgs) -> DataArgs {
    if data.data.is_some() || data.images.is_some() || data.synthetic.is_some() || data.built_in {
        return data;
    }
    match mlp_engine::data::DataSource::default_source() {
        mlp_engine::data::DataSource::Npz(path) => DataArgs { data: Some(path), ..data },
        _ => DataArgs { built_in: true, ..data },
    }
}

/// Whether `dir` is a sweep folder (its `run.json` says so).
fn is_sweep_folder(dir: &Path) -> bool {
    let Ok(bytes) = mlp_engine::data::file::read_regular_file(&dir.join(RUN_RECORD)) else { return false };
    crate::json_read::parse(&String::from_utf8_lossy(&bytes)).is_ok_and(|j| j.str_at(&["command"]) == Some("sweep"))
}

/// The settings to continue with: the checkpoint's, with `--epochs` if
/// given. Any other flag given with a value that would change the result is
/// a usage error naming the flag and the recorded value.
fn resumed_config(args: &TrainArgs, checkpoint: &Checkpoint, data: &DataArgs) -> CliResult<TrainConfig> {
    let recorded_split = (checkpoint.data.train, checkpoint.data.valid);
    let hidden = [checkpoint.config.hidden];
    resumed_settings(args, (&checkpoint.config, &hidden), data, recorded_split, checkpoint.epochs_done)
}

/// [`resumed_config`] for a recorded configuration `recorded.0` of the
/// hidden sizes `recorded.1`, trained on `recorded_split` rows, with
/// `epochs_done` epochs done.
fn resumed_settings(
    args: &TrainArgs,
    recorded: (&TrainConfig, &[usize]),
    data: &DataArgs,
    recorded_split: (usize, usize),
    epochs_done: usize,
) -> CliResult<TrainConfig> {
    let (given, (recorded, recorded_sizes)) = (&args.config, recorded);
    let list = |sizes: &[usize]| sizes.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let off = |v: Option<usize>| v.map_or("off".to_string(), |v| v.to_string());
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref().map_or("none".to_string(), |p| {
            std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string()
        })
    };
    let split = |s: Option<(usize, usize)>| s.map_or("default".to_string(), |(t, v)| format!("{t},{v}"));
    let recorded_split = data.split.or(Some(recorded_split));
    for flag in &args.given {
        let pair = match flag.as_str() {
            "--hidden" => (list(&args.hidden_sizes), list(recorded_sizes)),
            "--lr" => (given.optimizer.learning_rate.to_string(), recorded.optimizer.learning_rate.to_string()),
            "--momentum" => (given.optimizer.momentum.to_string(), recorded.optimizer.momentum.to_string()),
            "--seed" => (given.seed.to_string(), recorded.seed.to_string()),
            "--batch-size" => (off(given.batch_size), off(recorded.batch_size)),
            "--patience" => (off(given.patience), off(recorded.patience)),
            "--velocity-init" => (given.velocity_init.to_string(), recorded.velocity_init.to_string()),
            "--data" => (path(&args.data.data), path(&data.data)),
            "--images" => (path(&args.data.images), path(&data.images)),
            "--labels" => (path(&args.data.labels), path(&data.labels)),
            "--synthetic" => (off(args.data.synthetic), off(data.synthetic)),
            "--split" => (split(args.data.split), split(recorded_split)),
            "--shuffle-seed" => (args.data.shuffle_seed.to_string(), data.shuffle_seed.to_string()),
            _ => continue,
        };
        if pair.0 != pair.1 {
            return Err(CliError::Usage(format!(
                "{flag} {} would change the result: the run was trained with {flag} {}; leave {flag} off to continue it, or start a new run with another --out",
                pair.0, pair.1
            )));
        }
    }
    let epochs = if args.given.iter().any(|f| f == "--epochs") { given.epochs } else { recorded.epochs };
    if epochs < epochs_done {
        return Err(CliError::Usage(format!(
            "--epochs {epochs} is fewer than the {epochs_done} epochs the run has done; pass at least that many"
        )));
    }
    Ok(TrainConfig { epochs, ..recorded.clone() })
}

/// Removes temporary files that a killed process left in a run folder
/// (`.NAME.PID.tmp`, from a write cut short): never this process's own.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let own = format!(".{}.tmp", std::process::id());
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") && !name.ends_with(&own) && entry.path().is_file() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The error a run ends with when it diverged or was interrupted, after
/// its folder was written.
fn stopped_early(outcome: &TrainOutcome, folder: &RunFolder, learning_rate: f32) -> CliResult<()> {
    match outcome.stop {
        StopReason::Diverged { epoch } => Err(ToolFailure::new(
            ToolFailureKind::Diverged,
            format!("the training loss became NaN or infinite at epoch {epoch}; the run stopped"),
        )
        .at(folder.path())
        .fix(format!(
            "use a smaller learning rate (e.g. --lr {}); the run folder keeps the metrics so far and the last finite parameters",
            short_number(f64::from(learning_rate) / 10.0)
        ))
        .into()),
        StopReason::Interrupted { epoch } => Err(interrupted(
            signals::received(),
            format!("interrupted after epoch {epoch}; the run folder {} holds everything so far", folder.path().display()),
        )),
        _ => Ok(()),
    }
}

fn interrupted(signal: Option<Signal>, message: String) -> CliError {
    let signal = signal.expect("a run stops as interrupted only after a signal");
    CliError::Interrupted { signal, message: format!("{}: {message}", signal.name()) }
}

/// A number as a person would type it: 0.01, 2.5, 1e35.
fn short_number(x: f64) -> String {
    // Six significant digits, so 0.1f32 / 10 prints as 0.01, not 0.009999999776.
    let x: f64 = format!("{x:.5e}").parse().unwrap_or(x);
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) { format!("{x:e}") } else { format!("{x}") }
}

fn print_header(split: &Split, config: &TrainConfig, data: &DataArgs, folder: &RunFolder, facts: (usize, SimdPath)) {
    let header = format!(
        "mlp train: {}\n  split {} train / {} valid / {} test (shuffle seed {})\n  network {}-{}-{}, {} epochs, {}, lr {}, momentum {}, seed {}\n  {} thread{}, passes {}, run folder {}",
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
        config.optimizer.learning_rate,
        config.optimizer.momentum,
        config.seed,
        facts.0,
        if facts.0 == 1 { "" } else { "s" },
        facts.1.name(),
        folder.path().display()
    );
    // On a terminal, lines wider than it wrap at words, not mid-word.
    let columns = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(crate::progress::terminal_columns);
    match columns {
        Some(c) => note!("{}", crate::progress::wrap(&header, c.saturating_sub(1).max(20), 4)),
        None => note!("{header}"),
    }
}

/// Trains on `split` (from `start`, a checkpoint of the folder's run, or
/// afresh), appending each epoch to `metrics.csv` as it ends, writing a
/// checkpoint every `checkpoint_seconds` and stopping after the epoch in
/// which a signal arrived; then writes the checkpoint, the model, the
/// summary and the report of whatever ran.
fn train_into(
    split: &Split,
    config: &TrainConfig,
    data: &DataArgs,
    folder: &RunFolder,
    start: Option<Checkpoint>,
    checkpoint_seconds: f64,
) -> CliResult<TrainOutcome> {
    let (threads, simd) = (rayon::current_num_threads(), SimdPath::best());
    signals::start_training();
    print_header(split, config, data, folder, (threads, simd));
    let (start, mut log) = match start {
        Some(start) => {
            let log = MetricsLog::rewrite(folder, &start.history)?;
            (start, log)
        }
        None => {
            let start = Checkpoint::start(split, config)?;
            let first_files = || {
                write_atomic(&folder.file(RUN_RECORD), run_json(split, config, data).to_pretty().as_bytes())?;
                write_atomic(&folder.file(CHECKPOINT), &start.to_bytes())?;
                MetricsLog::create(folder)
            };
            // Before the first checkpoint there is nothing to resume: the
            // fix is to start again, not `--resume`.
            let log = first_files().map_err(|e: CliError| {
                e.fix_then(&format!("nothing was trained: remove the folder {} and run again", folder.path().display()))
            })?;
            (start, log)
        }
    };
    // From the first checkpoint on, a failed write loses no training.
    let resumable = |e: CliError| {
        let how = format!(
            "the run keeps its last checkpoint: continue it with mlp train --resume {}",
            folder.path().display()
        );
        e.fix_then(&how)
    };
    let mut log_error = None;
    let mut printer = Progress::new(config.epochs);
    let mut last_checkpoint = Instant::now();
    let outcome = train_from(split, config, Some(start), |state: &EpochState<'_>| {
        let r = state.record();
        printer.epoch(r);
        let mut write = || {
            log.append(r)?;
            if checkpoint_seconds > 0.0 && last_checkpoint.elapsed().as_secs_f64() >= checkpoint_seconds {
                write_atomic(&folder.file(CHECKPOINT), &state.checkpoint().to_bytes())?;
                last_checkpoint = Instant::now();
            }
            Ok::<(), CliError>(())
        };
        if let Err(e) = write() {
            log_error = Some(e);
            return ControlFlow::Break(());
        }
        // After the last epoch (or one that ends the run), training is over:
        // a signal before this point stops it as interrupted, one after lets
        // it complete.
        let last = r.epoch == config.epochs || state.stops_here();
        let stopped = if last { signals::finish_training() } else { signals::received() };
        if stopped.is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    printer.finish();
    signals::finish_training();
    let saved = write_atomic(&folder.file(CHECKPOINT), &outcome.checkpoint.to_bytes());
    if let Some(e) = log_error {
        // A failed write stops here: the checkpoint (this one if it could
        // be written, else the last) holds everything to continue from.
        return Err(resumable(e));
    }
    saved.map_err(resumable)?;
    write_atomic(&folder.file("model.npz"), &model::to_npz(&outcome.network)?).map_err(resumable)?;
    let facts = RunFacts { split, config, data, threads, simd, training_peak_rss: system::peak_rss_bytes() };
    let signal = signals::received().filter(|_| matches!(outcome.stop, StopReason::Interrupted { .. }));
    let summary = summary_json(&facts, &outcome, signal.map(Signal::name));
    write_atomic(&folder.file("summary.json"), summary.to_pretty().as_bytes()).map_err(resumable)?;
    // The report also writes loss.svg and accuracy.svg, from the same files
    // that `mlp report` rebuilds them from.
    report::write_run_report(folder.path(), split, &outcome.test_predictions).map_err(resumable)?;
    // Drawing the report can raise the peak memory past training's: the
    // summary is written again so that its peak covers the whole run.
    let summary = summary_json(&facts, &outcome, signal.map(Signal::name));
    write_atomic(&folder.file("summary.json"), summary.to_pretty().as_bytes()).map_err(resumable)?;
    Ok(outcome)
}

fn final_report(o: &TrainOutcome) -> String {
    let (last, bl, ba) = (o.last_record(), o.record(o.best_loss_epoch), o.record(o.best_accuracy_epoch));
    let stop = match o.stop {
        StopReason::Completed => String::new(),
        StopReason::EarlyStopped => format!(" (stopped early; model.npz holds epoch {})", o.params_epoch),
        StopReason::Diverged { epoch } => format!(" (diverged at epoch {epoch})"),
        StopReason::Interrupted { epoch } => format!(" (interrupted after epoch {epoch})"),
    };
    let figure = |value: f64, rows: usize| if rows == 0 { "-".to_string() } else { four_places(value) };
    format!(
        "final (epoch {}){stop}: train loss {} acc {:.4} | valid loss {} acc {:.4} | test loss {} acc {}\n\
         best valid loss:     epoch {} (loss {}, acc {:.4}; test acc {})\n\
         best valid accuracy: epoch {} (acc {:.4}, loss {}; test acc {})\n\
         wall time {:.2} s, {:.0} training samples/s",
        last.epoch,
        four_places(last.train.loss),
        last.train.accuracy,
        four_places(last.valid.loss),
        last.valid.accuracy,
        figure(last.test.loss, last.test.rows),
        figure(last.test.accuracy, last.test.rows),
        o.best_loss_epoch,
        four_places(bl.valid.loss),
        bl.valid.accuracy,
        figure(bl.test.accuracy, bl.test.rows),
        o.best_accuracy_epoch,
        ba.valid.accuracy,
        four_places(ba.valid.loss),
        figure(ba.test.accuracy, ba.test.rows),
        o.wall_seconds,
        o.samples_per_second
    )
}

fn sweep_command(args: TrainArgs) -> CliResult<()> {
    let resuming = args.resume.clone();
    let (args, reopened) = match &resuming {
        Some(dir) => {
            let args = resumed_sweep_args(args, dir)?;
            (args, Some(RunFolder::reopen(dir)?))
        }
        None => (TrainArgs { data: resolved_default(args.data.clone()), ..args }, None),
    };
    let split = training_split(&args)?;
    signals::watch();
    let folder = match reopened {
        Some(mut folder) => {
            folder.mark_running()?;
            remove_stale_temporaries(folder.path());
            // Written again: an `--epochs` that extends the sweep is its
            // new length, which a later plain `--resume` continues to.
            write_atomic(&folder.file(RUN_RECORD), sweep_json(&split, &args).to_pretty().as_bytes())?;
            folder
        }
        None => {
            let folder = RunFolder::claim(args.out.as_deref(), "sweep")?;
            write_atomic(&folder.file(RUN_RECORD), sweep_json(&split, &args).to_pretty().as_bytes())?;
            folder
        }
    };
    let mut rows = Vec::new();
    let mut sizes = args.hidden_sizes.iter().copied();
    let mut failure = None;
    while signals::received().is_none() {
        let Some(hidden) = sizes.next() else { break };
        let config = TrainConfig { hidden, ..args.config.clone() };
        let (sub, start) = match resuming {
            Some(_) => sweep_size_to_resume(&folder, hidden, &split, &config)?,
            None => (folder.claim_inside(&format!("h{hidden}"))?, None),
        };
        let outcome = with_threads(args.threads, || {
            train_into(&split, &config, &args.data, &sub, start, args.checkpoint_seconds)
        })??;
        note!("{}", final_report(&outcome));
        let stop = stopped_early(&outcome, &sub, config.optimizer.learning_rate);
        rows.push((hidden, outcome));
        if let Err(e) = stop {
            failure = Some(e);
            break;
        }
    }
    let not_started: Vec<usize> = sizes.collect();
    output::sweep::write(&folder, &rows, &not_started)?;
    let sweep_report = report::write_sweep_report(folder.path())?;
    say_part!("{}", output::sweep::table(&rows, &not_started));
    say!("sweep folder: {}", folder.path().display());
    say!(
        "plots:        {}  {}",
        folder.file("sweep_valid_accuracy.svg").display(),
        folder.file("sweep_valid_loss.svg").display()
    );
    say!("report:       {}", sweep_report.display());
    let failure = failure.or_else(|| {
        // A signal during the last epoch of a size, or while its files were
        // written, stops the sweep before the next size (if there is one).
        let stopped = signals::received().filter(|_| !not_started.is_empty());
        stopped.map(|signal| CliError::Interrupted { signal, message: String::new() })
    });
    match failure {
        Some(CliError::Interrupted { signal, .. }) => Err(interrupted(
            Some(signal),
            format!(
                "sweep interrupted; {} size(s) not started; the sweep folder {} holds everything so far",
                not_started.len(),
                folder.path().display()
            ),
        )),
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `run.json` of a sweep folder: the sizes, the settings and the data,
/// which `mlp sweep --resume` continues with.
fn sweep_json(split: &Split, args: &TrainArgs) -> crate::json::Json {
    use crate::json::Json;
    let mut record = run_json(split, &args.config, &args.data);
    if let Json::Obj(fields) = &mut record {
        for (key, value) in fields.iter_mut() {
            if key == "command" {
                *value = Json::str("sweep");
            }
        }
        let sizes = args.hidden_sizes.iter().map(|&h| Json::num(h as f64)).collect();
        fields.push(("hidden_sizes".into(), Json::Arr(sizes)));
    }
    record
}

/// The flags of an interrupted sweep, from its `run.json`, with `--epochs`
/// and `--threads` as given; any other flag that would change the result is
/// refused.
fn resumed_sweep_args(args: TrainArgs, dir: &Path) -> CliResult<TrainArgs> {
    let path = dir.join(RUN_RECORD);
    let data = recorded_data(dir)?;
    let bytes = mlp_engine::data::file::read_regular_file(&path)?;
    let json = crate::json_read::parse(&String::from_utf8_lossy(&bytes)).unwrap_or(crate::json::Json::Null);
    let not_a_sweep = || {
        CliError::Run(
            Error::new(ErrorKind::BadHeader, "this folder's run.json does not record a sweep")
                .at(&path)
                .fix("pass a folder written by mlp sweep, or continue a single run with mlp train --resume"),
        )
    };
    if json.str_at(&["command"]) != Some("sweep") {
        return Err(not_a_sweep());
    }
    let sizes: Vec<usize> = match json.at(&["hidden_sizes"]) {
        Some(crate::json::Json::Arr(sizes)) => sizes
            .iter()
            .filter_map(|h| if let crate::json::Json::Num(h) = h { Some(*h as usize) } else { None })
            .collect(),
        _ => return Err(not_a_sweep()),
    };
    let num = |key: &str| json.num_at(&["settings", key]);
    let config = (|| {
        Some(TrainConfig {
            hidden: *sizes.first()?,
            epochs: num("epochs")? as usize,
            optimizer: mlp_engine::MomentumSgd {
                learning_rate: num("learning_rate")? as f32,
                momentum: num("momentum")? as f32,
            },
            seed: num("seed")? as u64,
            batch_size: num("batch_size").map(|b| b as usize),
            patience: num("patience").map(|p| p as usize),
            velocity_init: num("velocity_init")? as f32,
        })
    })()
    .ok_or_else(not_a_sweep)?;
    let split = (num_at(&json, "train"), num_at(&json, "valid"));
    let config = resumed_settings(&args, (&config, &sizes), &data, split, 0)?;
    Ok(TrainArgs { data, config, hidden_sizes: sizes, ..args })
}

fn num_at(json: &crate::json::Json, key: &str) -> usize {
    json.num_at(&["data", key]).unwrap_or(0.0) as usize
}

/// The folder of one size of a sweep being continued, and the checkpoint to
/// continue it from: a size with a checkpoint goes on from there, one never
/// started (or stopped before its first checkpoint) starts afresh.
fn sweep_size_to_resume(
    sweep: &RunFolder,
    hidden: usize,
    split: &Split,
    config: &TrainConfig,
) -> CliResult<(RunFolder, Option<Checkpoint>)> {
    let name = format!("h{hidden}");
    let dir = sweep.file(&name);
    let checkpoint_path = dir.join(CHECKPOINT);
    if std::fs::symlink_metadata(&checkpoint_path).is_err() {
        // Killed between its claim and its first checkpoint: nothing but
        // the claim and the run record to clear.
        if dir.is_dir() {
            let known = |n: &str| n == crate::output::MARKER || n == RUN_RECORD || n.ends_with(".tmp");
            let entries: Vec<String> = std::fs::read_dir(&dir)
                .map_err(|e| Error::io(&dir, "read the folder", &e))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if entries.iter().any(|n| !known(n)) {
                return Err(ToolFailure::new(
                    ToolFailureKind::Output,
                    format!("{name} holds files but no {CHECKPOINT}"),
                )
                .at(&dir)
                .fix("move that folder away to train this size afresh")
                .into());
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        return Ok((sweep.claim_inside(&name)?, None));
    }
    let mut checkpoint = Checkpoint::load(&checkpoint_path)?;
    let mut folder = RunFolder::reopen(&dir)?;
    checkpoint.check_fits(split, config).map_err(|e| CliError::Run(e.at(&checkpoint_path)))?;
    folder.mark_running()?;
    remove_stale_temporaries(&dir);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    checkpoint.resumes.push(ResumePoint { after_epoch: checkpoint.epochs_done, unix_seconds: now });
    Ok((folder, Some(checkpoint)))
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
