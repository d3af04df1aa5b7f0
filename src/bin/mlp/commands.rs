//! What each `mlp` command does, as orchestration: check and load the data,
//! claim a run folder, train with progress, and hand every file to
//! [`crate::output`]. [`crate::cli`] turns the command line into a
//! [`Command`]; [`run`] carries it out.

use std::ops::ControlFlow;

use crate::bench;
use crate::cli::{BenchCommand, CliError, CliResult, Command, DataArgs, TrainArgs};
use crate::console;
use crate::output::summary::{RunFacts, summary_json};
use crate::output::{self, MetricsLog, RunFolder, write_atomic};
use crate::plan::{self, Blame};
use crate::progress::Progress;
use crate::report;
use crate::signals::{self, Signal};
use crate::system;
use mlp_engine::engine::SimdPath;
use mlp_engine::training::{model, run_bytes};
use mlp_engine::{CLASSES, Error, ErrorKind, Network, Split, StopReason, TrainConfig, TrainOutcome, train};

/// Runs a parsed command.
pub fn run(command: Command) -> CliResult<()> {
    match command {
        Command::Help(topic) => {
            say_part!("{}", topic.text());
            Ok(())
        }
        Command::Train(args) => train_command(args),
        Command::Sweep(args) => sweep_command(args),
        Command::Eval(args) => crate::eval::eval(args),
        Command::Report(args) => report::rebuild(&args),
        Command::Bench(b) => {
            check_bench_fits(&b)?;
            with_threads(b.threads, || bench::bench(&b.args))?.map_err(CliError::from)
        }
        Command::Profile(b) => {
            check_bench_fits(&b)?;
            with_threads(b.threads, || bench::profile(&b.args))?.map_err(CliError::from)
        }
    }
}

/// Runs `f` on a rayon pool of `threads` workers (default: all cores).
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> CliResult<T> {
    let n = threads.unwrap_or_else(system::cores);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().map_err(|e| {
        CliError::Run(
            Error::new(ErrorKind::Io, format!("cannot start {n} worker threads: {e}")).fix("pass a smaller --threads"),
        )
    })?;
    Ok(pool.install(f))
}

/// Refuses a benchmark that would not fit in memory (and marks a `--json`
/// result as one that must arrive whole).
fn check_bench_fits(b: &BenchCommand) -> CliResult<()> {
    if b.args.json {
        console::strict_stdout();
    }
    let a = &b.args;
    let bytes = bench::needed_bytes(a);
    let flags = format!("--hidden {} with --rows {} and --eval-rows {}", a.hidden, a.rows, a.eval_rows);
    plan::check_fits(bytes, &flags, Blame::Flags)
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
    for &hidden in &args.hidden_sizes {
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

fn train_command(args: TrainArgs) -> CliResult<()> {
    let split = training_split(&args)?;
    // Watching first: a Ctrl-C just after the claim still ends as an
    // interrupted run with a whole folder, not a folder holding a lone marker.
    signals::watch();
    let folder = RunFolder::claim(args.out.as_deref(), &format!("train-h{}", args.config.hidden))?;
    let outcome = with_threads(args.threads, || train_into(&split, &args.config, &args.data, &folder))??;
    say!("{}", final_report(&outcome));
    say!("run folder: {}", folder.path().display());
    say!("plots:      {}  {}", folder.file("loss.svg").display(), folder.file("accuracy.svg").display());
    say!("report:     {}", folder.file("report.html").display());
    stopped_early(&outcome, &folder, args.config.hyper.learning_rate)
}

/// The error a run ends with when it diverged or was interrupted, after
/// its folder was written.
fn stopped_early(outcome: &TrainOutcome, folder: &RunFolder, learning_rate: f32) -> CliResult<()> {
    match outcome.stop {
        StopReason::Diverged { epoch } => Err(CliError::Run(
            Error::new(ErrorKind::Diverged, format!("the training loss became NaN or infinite at epoch {epoch}; the run stopped"))
                .at(folder.path())
                .fix(format!(
                    "use a smaller learning rate (e.g. --lr {}); the run folder keeps the metrics so far and the last finite parameters",
                    short_number(f64::from(learning_rate) / 10.0)
                )),
        )),
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
    note!(
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
        facts.0,
        facts.1.name(),
        folder.path().display()
    );
}

/// Trains on `split`, appending each epoch to `metrics.csv` as it ends and
/// stopping after the epoch in which a signal arrived; then writes the
/// plots, the model and the summary of whatever ran.
fn train_into(split: &Split, config: &TrainConfig, data: &DataArgs, folder: &RunFolder) -> Result<TrainOutcome, Error> {
    let (threads, simd) = (rayon::current_num_threads(), SimdPath::best());
    print_header(split, config, data, folder, (threads, simd));
    let mut log = MetricsLog::create(folder)?;
    let mut log_error = None;
    let mut printer = Progress::new(config.epochs);
    let outcome = train(split, config, |r| {
        printer.epoch(r);
        if let Err(e) = log.append(r) {
            log_error = Some(e);
            return ControlFlow::Break(());
        }
        if signals::received().is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })?;
    printer.finish();
    write_atomic(&folder.file("model.npz"), &model::to_npz(&outcome.network)?)?;
    let facts = RunFacts { split, config, data, threads, simd };
    let signal = signals::received().filter(|_| matches!(outcome.stop, StopReason::Interrupted { .. }));
    let summary = summary_json(&facts, &outcome, signal.map(Signal::name));
    write_atomic(&folder.file("summary.json"), summary.to_pretty().as_bytes())?;
    // The report also writes loss.svg and accuracy.svg, from the same files
    // that `mlp report` rebuilds them from.
    report::write_run_report(folder.path(), split, &outcome.test_predictions)?;
    match log_error {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

fn final_report(o: &TrainOutcome) -> String {
    let (last, bl, ba) = (o.last(), o.record(o.best_loss_epoch), o.record(o.best_accuracy_epoch));
    let stop = match o.stop {
        StopReason::Completed => String::new(),
        StopReason::EarlyStopped => format!(" (stopped early; model.npz holds epoch {})", o.params_epoch),
        StopReason::Diverged { epoch } => format!(" (diverged at epoch {epoch})"),
        StopReason::Interrupted { epoch } => format!(" (interrupted after epoch {epoch})"),
    };
    let figure = |value: f64, rows: usize| if rows == 0 { "-".to_string() } else { format!("{value:.4}") };
    format!(
        "final (epoch {}){stop}: train loss {:.4} acc {:.4} | valid loss {:.4} acc {:.4} | test loss {} acc {}\n\
         best valid loss:     epoch {} (loss {:.4}, acc {:.4}; test acc {})\n\
         best valid accuracy: epoch {} (acc {:.4}, loss {:.4}; test acc {})\n\
         wall time {:.2} s, {:.0} training samples/s",
        last.epoch,
        last.train.loss,
        last.train.accuracy,
        last.valid.loss,
        last.valid.accuracy,
        figure(last.test.loss, last.test.rows),
        figure(last.test.accuracy, last.test.rows),
        o.best_loss_epoch,
        bl.valid.loss,
        bl.valid.accuracy,
        figure(bl.test.accuracy, bl.test.rows),
        o.best_accuracy_epoch,
        ba.valid.accuracy,
        ba.valid.loss,
        figure(ba.test.accuracy, ba.test.rows),
        o.wall_seconds,
        o.samples_per_second
    )
}

fn sweep_command(args: TrainArgs) -> CliResult<()> {
    let split = training_split(&args)?;
    signals::watch();
    let folder = RunFolder::claim(args.out.as_deref(), "sweep")?;
    let mut rows = Vec::new();
    let mut sizes = args.hidden_sizes.iter().copied();
    let mut failure = None;
    while signals::received().is_none() {
        let Some(hidden) = sizes.next() else { break };
        let config = TrainConfig { hidden, ..args.config.clone() };
        let sub = folder.claim_inside(&format!("h{hidden}"))?;
        let outcome = with_threads(args.threads, || train_into(&split, &config, &args.data, &sub))??;
        note!("{}", final_report(&outcome));
        let stop = stopped_early(&outcome, &sub, config.hyper.learning_rate);
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
        // written, stops the sweep before the next size.
        signals::received().map(|signal| CliError::Interrupted { signal, message: String::new() })
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
