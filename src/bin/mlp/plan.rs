//! Memory before work: every size that comes from a header or a flag is
//! turned into the bytes the whole command will hold (data as `f32`,
//! network, workspace, snapshots, history) and checked against this
//! machine's memory before anything large is decoded or allocated. Too much
//! because of a flag is a usage error (exit 2), because of a file a runtime
//! error (exit 1); both name the size and the limit.

use crate::args::DataArgs;
use crate::error::{CliError, CliResult};
use crate::system;
use mlp_engine::data::{DataShape, DataSource, default_split};
use mlp_engine::{Error, ErrorKind, Split};

/// What made a request too large: the flags or an input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    Flags,
    File,
}

/// Bytes for a message: in GiB, or in MiB below one GiB.
fn gib(bytes: u64) -> String {
    if bytes < 1 << 30 {
        format!("{:.0} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
    }
}

/// Address space kept free besides the planned bytes and what is mapped
/// already (the worker threads' stacks among it): the C allocator's arena
/// of each worker and of the signal watcher (64 MiB reserved each by 64-bit
/// glibc, mapped on a thread's first allocation), and 32 MiB for the
/// program's own small allocations.
fn address_space_reserve(threads: usize) -> u64 {
    const ARENA: u64 = 64 << 20;
    (threads as u64 + 1) * ARENA + (32 << 20)
}

/// Refuses `bytes` of memory when the machine has less, or when the
/// address-space limit (`ulimit -v`) leaves less room than that; `what`
/// names the flags or file that ask for it.
pub fn check_fits(bytes: u64, what: &str, blame: Blame) -> CliResult<()> {
    let refuse = |have: String, fix: &str| {
        let message = format!("{what} would need {} of memory; {have}", gib(bytes));
        Err(match blame {
            Blame::Flags => CliError::Usage(format!("{message}; {fix}")),
            Blame::File => CliError::Run(Error::new(ErrorKind::TooLarge, message).fix(fix)),
        })
    };
    if let Some(total) = system::memory_bytes()
        && bytes > total
    {
        return refuse(
            format!("this machine has {}", gib(total)),
            "use a smaller data set, or a machine with more memory",
        );
    }
    if let Some(limit) = system::address_space_limit() {
        let used = system::mapped_bytes().unwrap_or(0);
        let room = limit.saturating_sub(used).saturating_sub(address_space_reserve(rayon::current_num_threads()));
        if bytes > room {
            return refuse(
                format!(
                    "the address-space limit of {} (ulimit -v) leaves {} free after {} already mapped and {} kept for threads",
                    gib(limit),
                    gib(room),
                    gib(used),
                    gib(address_space_reserve(rayon::current_num_threads()))
                ),
                "raise the limit (ulimit -v), or use a smaller data set or network",
            );
        }
    }
    Ok(())
}

/// The data source the flags name.
pub fn data_source(args: &DataArgs) -> CliResult<DataSource> {
    if let (Some(images), Some(labels)) = (&args.images, &args.labels) {
        return Ok(DataSource::IdxPair { images: images.clone(), labels: labels.clone() });
    }
    if let Some(path) = &args.data {
        return Ok(DataSource::from_path(path)?);
    }
    if let Some(rows) = args.synthetic {
        return Ok(DataSource::Synthetic { rows, seed: 0 });
    }
    if args.built_in {
        return Ok(DataSource::Sample);
    }
    Ok(DataSource::default_source())
}

/// Loads and splits the data the flags name, after checking from its
/// headers that the split fits it and that the data plus `run_bytes(shape,
/// train rows)` (what the command allocates besides the data) fit in memory.
/// `run_what` names what asks for `run_bytes` (the flags, or a model file:
/// `run_blame` says which).
pub fn load_split(
    args: &DataArgs,
    run_what: &str,
    run_blame: Blame,
    run_bytes: impl Fn(&DataShape, usize) -> u64,
) -> CliResult<Split> {
    let source = data_source(args)?;
    let shape = source.probe()?;
    let (train, valid) = args.split.unwrap_or_else(|| default_split(shape.rows));
    if train.checked_add(valid).is_none_or(|rows| rows > shape.rows) {
        return Err(CliError::Usage(format!(
            "--split {train},{valid} needs more rows than the data has ({}); use e.g. {}",
            shape.rows,
            suggested_split(shape.rows)
        )));
    }
    let source_blame = if matches!(source, DataSource::Synthetic { .. }) { Blame::Flags } else { Blame::File };
    check_fits(shape.load_bytes, &format!("loading {}", describe(&source)), source_blame)?;
    let total = shape.dataset_bytes().saturating_add(run_bytes(&shape, train));
    check_fits(total, &format!("{run_what} on {} rows of {} values", shape.rows, shape.features), run_blame)?;
    let data = source.load()?;
    let name = data.source.clone();
    // Split in place: the images are held once, not twice.
    data.into_split(train, valid, args.shuffle_seed).map_err(|e| e.context(&name).into())
}

/// A `--split TRAIN,VALID` that fits `rows` images, for messages: the
/// default split, never a part of 0 rows (at least 2 rows are needed).
pub fn suggested_split(rows: usize) -> String {
    let (train, valid) = default_split(rows);
    if rows < 2 {
        return "more data: a split needs at least one training and one validation row".into();
    }
    format!("--split {},{}", train.max(1), valid.max(1).min(rows - train.max(1)))
}

/// The data as the user named it, for messages.
fn describe(source: &DataSource) -> String {
    match source {
        DataSource::Synthetic { rows, .. } => format!("--synthetic {rows}"),
        DataSource::Npz(path) | DataSource::IdxDir(path) => path.display().to_string(),
        DataSource::IdxPair { images, .. } => images.display().to_string(),
        DataSource::Sample => "the built-in sample".into(),
    }
}
