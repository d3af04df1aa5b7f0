//! The command line: help texts and a small hand-written parser into the
//! plain structs of [`crate::args`], validating values only;
//! [`crate::commands`] runs them.
//!
//! Arguments arrive as the operating system gives them (`OsString`): a path
//! flag keeps its bytes exactly, even when they are not UTF-8; only numbers
//! and names must be text.
//!
//! Usage errors (unknown flag, bad value) are [`CliError::Usage`] and exit
//! with code 2; failures while running are [`CliError::Run`] (the
//! library's) or [`CliError::Tool`] (the tool's own) and exit with 1 (see
//! [`crate::error`]).

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::args::{BenchArgs, BenchCommand, Command, DataArgs, EvalArgs, HelpTopic, ReportArgs, TrainArgs};
use crate::error::{CliError, CliResult};
use crate::system;
use mlp_engine::TrainConfig;

pub const MAIN_HELP: &str = "\
mlp — train the 784 → H (ReLU) → 10 (softmax) network of the NumPy course
assignment, fast

Usage: mlp [COMMAND] [FLAGS]
       mlp --version

Commands:
  train     train with momentum; write curves, metrics and the model (default)
  sweep     train once per hidden size and compare them
  eval      measure a saved model on the train, valid and test rows
  bench     time the training step and compare it with the raw GEMM rate
  profile   split the training step's time over its phases
  report    rebuild a run or sweep folder's report.html: mlp report RUN_DIR
  help      print this help, or a command's help: mlp help train

Flags: -h, --help (this page), -V, --version (the version)

With no command, `mlp` runs `mlp train` with the assignment's defaults on
data/notMNIST.npz if present, else on the built-in real notMNIST sample
(10,000 letters).
Run `mlp COMMAND --help` for a command's flags.
";

pub const DATA_HELP: &str = "\
Data (default: data/notMNIST.npz if present, else the built-in notMNIST sample):
  --data PATH          an .npz with arrays `images` and `labels`, or a folder
                       of MNIST-style IDX files (*images* beside *labels*,
                       .gz or plain)
  --images FILE        an IDX image file (with --labels)
  --labels FILE        an IDX label file (with --images)
  --synthetic ROWS     ROWS built-in synthetic glyphs (18724 is the size of the
                       assignment's notMNIST file)
  --split TRAIN,VALID  rows for training and validation; test is the rest
                       (default 10000,6000 for data over 16,000 rows,
                       else 60%,20%)
  --shuffle-seed S     seed of numpy's legacy shuffle before the split
                       (default 521)
";

pub const TRAIN_HELP: &str = "\
mlp train — train the network and write a run folder

Usage: mlp train [FLAGS]

Training (the assignment's defaults):
  --hidden H           hidden units (default 1000)
  --epochs E           epochs (default 200)
  --lr A               learning rate α (default 0.1)
  --momentum G         momentum γ in [0, 1) (default 0.9)
  --seed S             weight-initialisation seed (default 0)
  --batch-size B       rows per step (default: all training rows, full batch);
                       the rows are reshuffled every epoch from the seed
  --velocity-init V    initial value of every velocity entry (default 1e-5)
  --patience K         stop after K epochs without a better validation loss and
                       keep the best parameters (default: off)
  --threads N          worker threads (default: all cores)
  --out DIR            the run folder (default: a new folder under runs/)
  --checkpoint-every S write checkpoint.bin every S seconds of training
                       (default 60; 0: only when the run stops); a SIGKILL
                       loses at most that much training
  --resume RUN_DIR     continue a stopped, killed or finished run from its
                       checkpoint (with --epochs E to extend it, --threads N);
                       the result is that of a run never stopped
";

pub const SWEEP_HELP: &str = "\
mlp sweep — train once per hidden size and compare them

Usage: mlp sweep [--hidden 100,500,1000,2000] [train flags]

Writes one run folder per H inside the sweep folder, plus sweep.csv,
sweep_valid_accuracy.svg and sweep_valid_loss.svg, and prints a table.
All flags of `mlp train` apply (--out names the sweep folder);
--resume SWEEP_DIR finishes the size that was stopped and runs those not
started.
";

pub const EVAL_HELP: &str = "\
mlp eval — measure a saved model

Usage: mlp eval --model FILE [data flags] [--json]

  --model FILE         a model.npz written by mlp train
  --json               print only {\"train\": {\"loss\": .., \"accuracy\": ..},
                       \"valid\": .., \"test\": ..}
  --threads N          worker threads (default: all cores)

Prints loss and accuracy of the train, valid and test rows of the split and
the confusion matrix of the test rows. Without data flags, a model in a run
folder is measured on the data and split recorded there (run.json); with
them, a warning says when they differ from the run's.
";

pub const BENCH_HELP: &str = "\
mlp bench — time the training step on built-in data of a chosen shape

Usage: mlp bench [FLAGS]

  --hidden H           hidden units (default 1000)
  --rows N             training rows (default 10000)
  --eval-rows M        rows evaluated each epoch besides them
                       (default 8724 = 6000 + 2724)
  --batch-size B,..    rows per step, one size or a list (1,8,32,128,512,full;
                       default: N, full batch)
  --steps K            timed steps after two warm-up steps (default 20,
                       at most 10000)
  --threads N,..       worker threads, one count or a list (1,2;
                       default: all cores)
  --out DIR            the folder for bench.html (default with a list:
                       runs/bench-<UTC time>; a new or empty folder)
  --json               print one JSON object instead of the report
                       (with a list: {\"runs\": [..]})

Checks the fast step against the f64 reference first, then reports median,
min and max step time, samples/s, GFLOP/s, the same run's GEMM-only rate on
the step's own shapes (timed alternating with the step) and the efficiency
ratio, epoch time with evaluation, the measured FMA peak (before, between
and after the timings, with its spread) and memory bandwidth (STREAM copy
and triad over 128 MiB buffers), peak memory, threads, CPU features and the
build profile. A share that cannot be true (above the peak, or GEMMs slower
than the step) is reported as a noisy machine, never printed.

With a list of batch sizes or thread counts (or with --out) every
combination is measured, a table sums them up, and bench.html shows
samples/s against batch size under the roofline's ceiling and the scaling
efficiency against threads.
";

pub const REPORT_HELP: &str = "\
mlp report — rebuild the report of a run or sweep folder

Usage: mlp report RUN_DIR [data flags]

Rebuilds report.html, loss.svg and accuracy.svg of a folder written by
mlp train (or every size's and the sweep's report of a folder written by
mlp sweep) from its metrics.csv, summary.json and model.npz. The confusion
matrix and the gallery also need the run's data: it is loaded with the data
flags given here, else with those the folder records (paths absolute), and
recognised by its checksum; when it cannot be loaded, or is not the run's
data, the report says so and the rest still renders. A last metrics row
cut short (a full disk, a kill) is left out with a note.
";

pub const PROFILE_HELP: &str = "\
mlp profile — split the training step's time over its phases

Usage: mlp profile [--steps K] [--hidden H] [--rows N] [--batch-size B,..]
                   [--threads N] [--out DIR] [--json]

  --batch-size B,..    rows per step, one size or a list (32,128,1024,full;
                       default: full batch, all N rows)
  --out DIR            the folder for trace.json and profile.html (default
                       runs/profile-<UTC time>; a new or empty folder)

Runs K steps (default 20, at most 10000) of each batch size after warm-up,
each recorded step alternating with one without instrumentation, and prints
each phase's median time per step, share, GFLOP/s, GB/s, the roof that
bounds it and how
close it comes: the forward GEMM Z = X·W_h, the output layer's one
sweep (bias + ReLU, logits, softmax / CE, δ, the ∂W_o and ∂b_h sums, dZ),
the ∂b_o sums, the GEMM ∂W_h = Xᵀ·dZ, and the momentum update. The roofs
are measured first: the FMA peak and the memory bandwidth (STREAM copy and
triad).

Writes trace.json (Chrome's trace format: every step, phase and task on
every thread; open it in https://ui.perfetto.dev or chrome://tracing) and
profile.html (a timeline per thread, the roofline, a table and a sentence
per phase), and prints both paths. --json prints the figures instead and
writes no folder.
";

impl HelpTopic {
    /// The page's text, with the data flags where the command takes them.
    pub fn text(self) -> String {
        let (page, data) = match self {
            HelpTopic::Main => (MAIN_HELP, false),
            HelpTopic::Train => (TRAIN_HELP, true),
            HelpTopic::Sweep => (SWEEP_HELP, true),
            HelpTopic::Eval => (EVAL_HELP, true),
            HelpTopic::Bench => (BENCH_HELP, false),
            HelpTopic::Profile => (PROFILE_HELP, false),
            HelpTopic::Report => (REPORT_HELP, true),
        };
        if data { format!("{page}\n{DATA_HELP}") } else { page.to_string() }
    }
}

/// Seconds between checkpoints by default: a SIGKILL loses at most about
/// this much training.
pub const CHECKPOINT_SECONDS: f64 = 60.0;

/// Reads flag values one by one.
struct Flags {
    args: std::vec::IntoIter<OsString>,
    /// The last argument read by [`Flags::next_flag`], exactly as given: a
    /// positional argument (`mlp report DIR`) is a path.
    current: OsString,
}

/// `arg` as text for a message: exact when UTF-8, else with U+FFFD for the
/// bytes that are not.
fn shown(arg: &OsStr) -> String {
    arg.to_string_lossy().into_owned()
}

/// `--flag=value` split at its first `=`; `None` for anything else.
fn split_inline(arg: &OsStr) -> Option<(String, OsString)> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = arg.as_bytes();
        let eq = bytes.iter().position(|&b| b == b'=')?;
        let flag = std::str::from_utf8(&bytes[..eq]).ok()?;
        flag.starts_with("--").then(|| (flag.to_string(), OsStr::from_bytes(&bytes[eq + 1..]).to_os_string()))
    }
    #[cfg(not(unix))]
    {
        let (flag, value) = arg.to_str()?.split_once('=')?;
        flag.starts_with("--").then(|| (flag.to_string(), OsString::from(value)))
    }
}

impl Flags {
    fn new(args: Vec<OsString>) -> Self {
        Flags { args: args.into_iter(), current: OsString::new() }
    }

    /// The next flag and, for `--flag=value`, its inline value.
    fn next_flag(&mut self) -> Option<(String, Option<OsString>)> {
        let arg = self.args.next()?;
        let next = match split_inline(&arg) {
            Some((flag, value)) => (flag, Some(value)),
            None => (shown(&arg), None),
        };
        self.current = arg;
        Some(next)
    }

    /// The flag's value as the operating system gave it.
    fn raw_value(&mut self, flag: &str, inline: Option<OsString>) -> CliResult<OsString> {
        inline.or_else(|| self.args.next()).ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
    }

    /// The flag's value as text (numbers, lists).
    fn value(&mut self, flag: &str, inline: Option<OsString>) -> CliResult<String> {
        let raw = self.raw_value(flag, inline)?;
        raw.into_string().map_err(|raw| CliError::Usage(format!("{flag} takes UTF-8 text, not '{}'", shown(&raw))))
    }

    /// The flag's value as a path, byte for byte.
    fn path(&mut self, flag: &str, inline: Option<OsString>) -> CliResult<PathBuf> {
        Ok(PathBuf::from(self.raw_value(flag, inline)?))
    }
}

fn parse_num<T: std::str::FromStr>(flag: &str, value: &str, what: &str) -> CliResult<T> {
    value.trim().parse().map_err(|_| CliError::Usage(format!("{flag} takes {what}, not '{value}'")))
}

fn positive(flag: &str, value: &str) -> CliResult<usize> {
    let n: usize = parse_num(flag, value, "a whole number greater than 0")?;
    if n == 0 {
        return Err(CliError::Usage(format!("{flag} takes a whole number greater than 0, not 0")));
    }
    Ok(n)
}

/// `--steps` of bench and profile: at most [`crate::bench::MAX_STEPS`], so that
/// the timings and the profile's trace stay a bounded size.
fn steps_flag(flag: &str, value: &str) -> CliResult<usize> {
    let steps = positive(flag, value)?;
    if steps > crate::bench::MAX_STEPS {
        return Err(CliError::Usage(format!(
            "{flag} {steps} is more than the {} steps a benchmark or profile times; use at most {}",
            crate::bench::MAX_STEPS,
            crate::bench::MAX_STEPS
        )));
    }
    Ok(steps)
}

fn positive_list(flag: &str, value: &str) -> CliResult<Vec<usize>> {
    value.split(',').map(|v| positive(flag, v)).collect()
}

/// Parses a data flag into `data`; false if `flag` is not a data flag.
fn data_flag(data: &mut DataArgs, flag: &str, inline: Option<OsString>, flags: &mut Flags) -> CliResult<bool> {
    match flag {
        "--data" => data.data = Some(flags.path(flag, inline)?),
        "--images" => data.images = Some(flags.path(flag, inline)?),
        "--labels" => data.labels = Some(flags.path(flag, inline)?),
        "--synthetic" => data.synthetic = Some(positive(flag, &flags.value(flag, inline)?)?),
        "--split" => {
            let v = flags.value(flag, inline)?;
            let parts: Vec<&str> = v.split(',').collect();
            let [t, va] = parts.as_slice() else {
                return Err(CliError::Usage(format!("--split takes TRAIN,VALID (two numbers), not '{v}'")));
            };
            // Both parts positive: best-epoch tracking needs validation rows.
            data.split = Some((positive(flag, t)?, positive(flag, va)?));
        }
        "--shuffle-seed" => {
            data.shuffle_seed = parse_num(flag, &flags.value(flag, inline)?, "a whole number from 0 to 4294967295")?
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn check_data(data: &DataArgs) -> CliResult<()> {
    if data.images.is_some() != data.labels.is_some() {
        return Err(CliError::Usage("--images and --labels go together".into()));
    }
    let sources =
        usize::from(data.data.is_some()) + usize::from(data.images.is_some()) + usize::from(data.synthetic.is_some());
    if sources > 1 {
        return Err(CliError::Usage("choose one data source: --data, --images/--labels or --synthetic".into()));
    }
    Ok(())
}

fn threads_flag(flag: &str, value: &str) -> CliResult<usize> {
    let n = positive(flag, value)?;
    // Past a few threads per core the workers only take turns on the cores.
    let max = 8 * system::cores();
    if n > max {
        return Err(CliError::Usage(format!("{flag} takes at most {max} (8 per core on this machine), not {n}")));
    }
    Ok(n)
}

/// An `--out` value: a non-empty path that is not the current folder or
/// its parent (a run never writes into a folder it did not create).
fn out_folder(path: PathBuf) -> CliResult<PathBuf> {
    let value = &*path.to_string_lossy();
    let trimmed = value.trim_end_matches('/');
    if value.trim().is_empty()
        || matches!(trimmed, "" | "." | "..")
        || trimmed.ends_with("/.")
        || trimmed.ends_with("/..")
    {
        return Err(CliError::Usage(format!("--out takes a new folder to create, not '{value}'")));
    }
    Ok(path)
}

fn finite(flag: &str, value: &str) -> CliResult<f32> {
    let x: f32 = parse_num(flag, value, "a number")?;
    if !x.is_finite() {
        return Err(CliError::Usage(format!("{flag} takes a finite number, not '{value}'")));
    }
    Ok(x)
}

/// Parses the arguments after the program name.
pub fn parse(args: Vec<OsString>) -> CliResult<Command> {
    let mut args = args.into_iter().peekable();
    let first = args.peek().map(|a| shown(a));
    let command = match first.as_deref() {
        Some("train" | "sweep" | "eval" | "bench" | "profile" | "report" | "help") => {
            args.next().map(|a| shown(&a)).unwrap_or_default()
        }
        Some("-h" | "--help") => return Ok(Command::Help(HelpTopic::Main)),
        Some("-V" | "--version") => return Ok(Command::Version),
        Some(flag) if flag.starts_with('-') => "train".to_string(),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "unknown command '{other}' (commands: train, sweep, eval, bench, profile, report, help)"
            )));
        }
        None => "train".to_string(),
    };
    let mut flags = Flags::new(args.collect());
    match command.as_str() {
        "help" => Ok(Command::Help(match flags.args.next().as_deref().and_then(OsStr::to_str) {
            Some("train") => HelpTopic::Train,
            Some("sweep") => HelpTopic::Sweep,
            Some("eval") => HelpTopic::Eval,
            Some("bench") => HelpTopic::Bench,
            Some("profile") => HelpTopic::Profile,
            Some("report") => HelpTopic::Report,
            _ => HelpTopic::Main,
        })),
        "eval" => parse_eval(flags),
        "bench" => parse_bench(flags, false),
        "profile" => parse_bench(flags, true),
        "report" => parse_report(flags),
        sweep_or_train => parse_train(flags, sweep_or_train == "sweep"),
    }
}

fn parse_train(mut flags: Flags, sweep: bool) -> CliResult<Command> {
    let mut a = TrainArgs {
        data: DataArgs::default(),
        config: TrainConfig::default(),
        hidden_sizes: if sweep { vec![100, 500, 1000, 2000] } else { vec![1000] },
        threads: None,
        out: None,
        resume: None,
        checkpoint_seconds: CHECKPOINT_SECONDS,
        given: Vec::new(),
    };
    while let Some((flag, inline)) = flags.next_flag() {
        a.given.push(flag.clone());
        if data_flag(&mut a.data, &flag, inline.clone(), &mut flags)? {
            continue;
        }
        match flag.as_str() {
            "-h" | "--help" => {
                return Ok(Command::Help(if sweep { HelpTopic::Sweep } else { HelpTopic::Train }));
            }
            "--hidden" if sweep => {
                let sizes = positive_list(&flag, &flags.value(&flag, inline)?)?;
                if let Some(h) = sizes.iter().find(|h| sizes.iter().filter(|x| x == h).count() > 1) {
                    return Err(CliError::Usage(format!("--hidden lists {h} twice")));
                }
                a.hidden_sizes = sizes;
            }
            "--hidden" => a.hidden_sizes = vec![positive(&flag, &flags.value(&flag, inline)?)?],
            "--epochs" => a.config.epochs = positive(&flag, &flags.value(&flag, inline)?)?,
            "--lr" => {
                let lr = finite(&flag, &flags.value(&flag, inline)?)?;
                if lr <= 0.0 {
                    return Err(CliError::Usage(format!("--lr takes a positive number, not {lr}")));
                }
                a.config.optimizer.learning_rate = lr;
            }
            "--momentum" => {
                let m = finite(&flag, &flags.value(&flag, inline)?)?;
                if !(0.0..1.0).contains(&m) {
                    return Err(CliError::Usage(format!("--momentum takes a number in [0, 1), not {m}")));
                }
                a.config.optimizer.momentum = m;
            }
            "--velocity-init" => a.config.velocity_init = finite(&flag, &flags.value(&flag, inline)?)?,
            "--seed" => a.config.seed = parse_num(&flag, &flags.value(&flag, inline)?, "a whole number")?,
            "--batch-size" => a.config.batch_size = Some(positive(&flag, &flags.value(&flag, inline)?)?),
            "--patience" => a.config.patience = Some(positive(&flag, &flags.value(&flag, inline)?)?),
            "--threads" => a.threads = Some(threads_flag(&flag, &flags.value(&flag, inline)?)?),
            "--out" => a.out = Some(out_folder(flags.path(&flag, inline)?)?),
            "--resume" => a.resume = Some(flags.path(&flag, inline)?),
            "--checkpoint-every" => {
                let seconds = finite(&flag, &flags.value(&flag, inline)?)?;
                if seconds < 0.0 {
                    return Err(CliError::Usage(format!("--checkpoint-every takes seconds, 0 or more, not {seconds}")));
                }
                a.checkpoint_seconds = f64::from(seconds);
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "unknown flag '{flag}' for mlp {}",
                    if sweep { "sweep" } else { "train" }
                )));
            }
        }
    }
    check_data(&a.data)?;
    if a.resume.is_some() && a.out.is_some() {
        return Err(CliError::Usage("--resume continues in the run's own folder; leave --out off".into()));
    }
    a.config.hidden = a.hidden_sizes[0];
    Ok(if sweep { Command::Sweep(a) } else { Command::Train(a) })
}

fn parse_eval(mut flags: Flags) -> CliResult<Command> {
    let (mut data, mut model, mut json, mut threads) = (DataArgs::default(), None, false, None);
    let mut data_given = false;
    while let Some((flag, inline)) = flags.next_flag() {
        if data_flag(&mut data, &flag, inline.clone(), &mut flags)? {
            data_given = true;
            continue;
        }
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(HelpTopic::Eval)),
            "--model" => model = Some(flags.path(&flag, inline)?),
            "--json" => json = true,
            "--threads" => threads = Some(threads_flag(&flag, &flags.value(&flag, inline)?)?),
            _ => {
                return Err(CliError::Usage(format!("unknown flag '{flag}' for mlp eval")));
            }
        }
    }
    check_data(&data)?;
    let model = model.ok_or_else(|| CliError::Usage("mlp eval needs --model FILE".into()))?;
    Ok(Command::Eval(EvalArgs { data, data_given, model, json, threads }))
}

fn parse_report(mut flags: Flags) -> CliResult<Command> {
    let (mut dir, mut data, mut data_given) = (None, DataArgs::default(), false);
    while let Some((flag, inline)) = flags.next_flag() {
        if data_flag(&mut data, &flag, inline.clone(), &mut flags)? {
            data_given = true;
            continue;
        }
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(HelpTopic::Report)),
            f if f.starts_with('-') => return Err(CliError::Usage(format!("unknown flag '{flag}' for mlp report"))),
            _ if dir.is_some() => {
                return Err(CliError::Usage(format!("mlp report takes one folder, not also '{flag}'")));
            }
            _ => dir = Some(PathBuf::from(std::mem::take(&mut flags.current))),
        }
    }
    check_data(&data)?;
    let dir = dir.ok_or_else(|| CliError::Usage("mlp report needs a run folder: mlp report RUN_DIR".into()))?;
    Ok(Command::Report(ReportArgs { dir, data: data_given.then_some(data) }))
}

/// `--batch-size` of bench and profile: sizes and `full`, comma-separated.
fn batch_list(flag: &str, value: &str) -> CliResult<Vec<Option<usize>>> {
    value.split(',').map(|v| if v.trim() == "full" { Ok(None) } else { positive(flag, v).map(Some) }).collect()
}

fn parse_bench(mut flags: Flags, profile: bool) -> CliResult<Command> {
    let (mut a, mut threads, mut batch_sizes, mut out) = (BenchArgs::default(), Vec::new(), vec![None], None);
    let name = if profile { "profile" } else { "bench" };
    while let Some((flag, inline)) = flags.next_flag() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help(if profile { HelpTopic::Profile } else { HelpTopic::Bench })),
            "--hidden" => a.hidden = positive(&flag, &flags.value(&flag, inline)?)?,
            "--rows" => a.rows = positive(&flag, &flags.value(&flag, inline)?)?,
            "--eval-rows" => a.eval_rows = parse_num(&flag, &flags.value(&flag, inline)?, "a whole number")?,
            "--batch-size" => batch_sizes = batch_list(&flag, &flags.value(&flag, inline)?)?,
            "--steps" => a.steps = steps_flag(&flag, &flags.value(&flag, inline)?)?,
            "--threads" => {
                let value = flags.value(&flag, inline)?;
                threads = value.split(',').map(|v| threads_flag(&flag, v)).collect::<CliResult<_>>()?;
            }
            "--out" => out = Some(PathBuf::from(flags.value(&flag, inline)?)),
            "--json" => a.json = true,
            _ => return Err(CliError::Usage(format!("unknown flag '{flag}' for mlp {name}"))),
        }
    }
    if let Some(b) = batch_sizes.iter().flatten().find(|&&b| b > a.rows) {
        return Err(CliError::Usage(format!("--batch-size {b} is larger than --rows {}", a.rows)));
    }
    if a.rows.checked_add(a.eval_rows).is_none() {
        return Err(CliError::Usage(format!("--rows {} plus --eval-rows {} is too many rows", a.rows, a.eval_rows)));
    }
    if profile && threads.len() > 1 {
        return Err(CliError::Usage("mlp profile takes one --threads (mlp bench takes a list)".into()));
    }
    if a.json && out.is_some() {
        return Err(CliError::Usage(format!("mlp {name} --json prints its result and writes no folder; drop --out")));
    }
    a.batch_size = batch_sizes[0];
    let command = BenchCommand { args: a, batch_sizes, threads, out };
    Ok(if profile { Command::Profile(command) } else { Command::Bench(command) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlp_engine::engine::MomentumSgd;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn defaults_are_the_assignments() {
        let Command::Train(a) = parse(vec![]).unwrap() else { panic!("not train") };
        assert_eq!(a.config, TrainConfig::default());
        assert_eq!(a.data, DataArgs::default());
        assert_eq!(
            (a.config.hidden, a.config.epochs, a.config.optimizer),
            (1000, 200, MomentumSgd { learning_rate: 0.1, momentum: 0.9 })
        );
    }

    #[test]
    fn flags_parse_in_both_forms() {
        let Command::Train(a) =
            parse(args("train --hidden=50 --epochs 3 --lr 0.05 --split 100,20 --batch-size 32 --patience 4")).unwrap()
        else {
            panic!("not train")
        };
        assert_eq!(
            (a.config.hidden, a.config.epochs, a.config.batch_size, a.config.patience),
            (50, 3, Some(32), Some(4))
        );
        assert_eq!(a.data.split, Some((100, 20)));
        let Command::Sweep(s) = parse(args("sweep --hidden 10,20")).unwrap() else { panic!("not sweep") };
        assert_eq!(s.hidden_sizes, [10, 20]);
    }

    #[test]
    fn bench_and_profile_take_lists() {
        let Command::Bench(b) = parse(args("bench --rows 500 --batch-size 32,128,full --threads 1,2")).unwrap() else {
            panic!("not bench")
        };
        assert_eq!(b.batch_sizes, [Some(32), Some(128), None]);
        assert_eq!((b.args.batch_size, b.threads.as_slice()), (Some(32), &[1, 2][..]));
        let Command::Profile(p) = parse(args("profile --batch-size full --out x")).unwrap() else {
            panic!("not profile")
        };
        assert_eq!((p.batch_sizes, p.out), (vec![None], Some(PathBuf::from("x"))));
        for (line, needle) in [
            ("bench --rows 100 --batch-size 32,200", "200"),
            ("bench --batch-size 32,,full", "--batch-size"),
            ("bench --batch-size 0", "--batch-size"),
            ("bench --threads 1,0", "--threads"),
            ("profile --threads 1,2", "one --threads"),
            ("profile --json --out x", "--out"),
        ] {
            match parse(args(line)) {
                Err(CliError::Usage(msg)) => assert!(msg.contains(needle), "'{line}': '{msg}' lacks {needle}"),
                other => panic!("'{line}' gave {other:?}"),
            }
        }
    }

    #[test]
    fn bad_flags_are_usage_errors_naming_the_flag() {
        for (line, needle) in [
            ("train --bogus 1", "--bogus"),
            ("train --hidden 0", "--hidden"),
            ("train --lr -1", "--lr"),
            ("train --lr nan", "--lr"),
            ("train --momentum 1.5", "--momentum"),
            ("train --epochs", "--epochs"),
            ("train --split 10", "--split"),
            ("train --threads 100000", "--threads"),
            ("train --images a", "--images"),
            ("eval", "--model"),
            ("frobnicate", "frobnicate"),
        ] {
            match parse(args(line)) {
                Err(CliError::Usage(msg)) => {
                    assert!(msg.contains(needle), "'{line}': message '{msg}' does not name {needle}")
                }
                other => panic!("'{line}' gave {other:?}"),
            }
        }
    }
}
