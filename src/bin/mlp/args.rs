//! What a command line asks for, as plain structs: the parser
//! ([`crate::cli`]) fills them, and the commands, the plan, the outputs and
//! the report read them without depending on the parser.

use std::path::PathBuf;

use mlp_engine::TrainConfig;

/// A help page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpTopic {
    Main,
    Train,
    Sweep,
    Eval,
    Bench,
    Profile,
    Report,
}

/// Flags of `bench` and `profile`.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchCommand {
    /// The shape; its `batch_size` is the first of `batch_sizes`.
    pub args: BenchArgs,
    /// `--batch-size` as given, in order (`None`: full batch); one entry
    /// when the flag is absent.
    pub batch_sizes: Vec<Option<usize>>,
    /// `--threads` as given, in order; empty: all cores.
    pub threads: Vec<usize>,
    /// `--out`: the folder for the pages and the trace.
    pub out: Option<PathBuf>,
}

impl BenchCommand {
    /// The first thread count, or `None` for all cores.
    pub fn first_threads(&self) -> Option<usize> {
        self.threads.first().copied()
    }
}

/// Where the data comes from and how it is split.
#[derive(Clone, Debug, PartialEq)]
pub struct DataArgs {
    pub data: Option<PathBuf>,
    pub images: Option<PathBuf>,
    pub labels: Option<PathBuf>,
    pub synthetic: Option<usize>,
    /// The built-in sample, named so by a run folder's record: a run that
    /// trained on it without data flags keeps training on it, wherever it
    /// is resumed, evaluated or reported from (no flag sets this).
    pub built_in: bool,
    /// `None`: [`default_split`](mlp_engine::data::default_split) of the data.
    pub split: Option<(usize, usize)>,
    pub shuffle_seed: u32,
}

impl Default for DataArgs {
    fn default() -> Self {
        DataArgs {
            data: None,
            images: None,
            labels: None,
            synthetic: None,
            built_in: false,
            split: None,
            shuffle_seed: 521,
        }
    }
}

/// Flags of `train` and `sweep`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainArgs {
    pub data: DataArgs,
    pub config: TrainConfig,
    pub hidden_sizes: Vec<usize>,
    pub threads: Option<usize>,
    pub out: Option<PathBuf>,
    /// `--resume RUN_DIR`: continue that run (or sweep) folder.
    pub resume: Option<PathBuf>,
    /// Seconds between periodic checkpoints (0: only when the run stops).
    pub checkpoint_seconds: f64,
    /// The flags given on the command line, in order (`--resume` refuses
    /// those that would change the result).
    pub given: Vec<String>,
}

/// Flags of `eval`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalArgs {
    pub data: DataArgs,
    /// Whether any data flag was given (else the run folder's data is used).
    pub data_given: bool,
    pub model: PathBuf,
    pub json: bool,
    pub threads: Option<usize>,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Train(TrainArgs),
    Sweep(TrainArgs),
    Eval(EvalArgs),
    Bench(BenchCommand),
    Profile(BenchCommand),
    Report(ReportArgs),
    Help(HelpTopic),
    /// `mlp --version`: the name and version.
    Version,
}

impl Command {
    /// The `--threads` the command runs on (`None`: all cores).
    pub fn threads(&self) -> Option<usize> {
        match self {
            Command::Train(a) | Command::Sweep(a) => a.threads,
            Command::Eval(a) => a.threads,
            Command::Bench(b) | Command::Profile(b) => b.first_threads(),
            Command::Report(_) | Command::Help(_) | Command::Version => None,
        }
    }
}

/// The shape of a benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchArgs {
    pub hidden: usize,
    /// Training rows per epoch.
    pub rows: usize,
    /// Rows evaluated each epoch besides the training rows (valid + test).
    pub eval_rows: usize,
    /// Rows per step; `None` is full batch.
    pub batch_size: Option<usize>,
    pub steps: usize,
    pub json: bool,
}

impl Default for BenchArgs {
    /// The course's sizes: 10,000 training rows, 6,000 + 2,724 evaluated.
    fn default() -> Self {
        BenchArgs { hidden: 1000, rows: 10_000, eval_rows: 8_724, batch_size: None, steps: 20, json: false }
    }
}

/// Flags of `mlp report`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportArgs {
    pub dir: PathBuf,
    /// Data flags given on the command line; else those in `summary.json`.
    pub data: Option<DataArgs>,
}
