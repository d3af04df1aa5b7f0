//! Before a run starts: [`check_run`] refuses what training cannot run
//! (a bad setting, a split that does not fit, a run beyond this machine's
//! memory), and the sizes a run allocates ([`run_bytes`], the loop's
//! buffers, [`workspace_rows`]) are derived here, once for the check and
//! for the loop.

use crate::data::{CLASSES, Split};
use crate::engine::{Network, Prediction, Workspace};
use crate::error::{Error, ErrorKind, Result};
use crate::training::config::TrainConfig;
use crate::training::record::EpochRecord;

/// Refuses what [`train`](super::train) cannot run: a bad setting (see
/// [`TrainConfig::validate`]), a split without training or validation rows
/// or whose parts do not match its buffers, a label outside the classes, or
/// a network or run beyond this machine's memory. [`train`](super::train) and
/// [`train_from`](super::train_from) call it first; call it yourself to refuse a run before
/// preparing anything for it.
pub fn check_run(split: &Split, config: &TrainConfig) -> Result<()> {
    config.validate()?;
    let bad_split = |setting: &'static str, message: String, fix: &str| {
        Err(Error::new(ErrorKind::BadSplit, message).for_setting(setting).fix(fix))
    };
    if split.train == 0 {
        return bad_split("train", "the split has no training rows".into(), "split with `train` of 1 or more");
    }
    if split.valid == 0 {
        return bad_split(
            "valid",
            "the split has no validation rows, which best-epoch tracking needs".into(),
            "split with `valid` of 1 or more",
        );
    }
    let rows = split.train.checked_add(split.valid).and_then(|r| r.checked_add(split.test));
    let values = split.rows().checked_mul(split.features);
    if split.features == 0 || rows != Some(split.rows()) || values != Some(split.images.len()) {
        return Err(Error::new(
            ErrorKind::BadShape,
            format!(
                "the split's parts ({} + {} + {} rows) and buffers ({} labels, {} values of {} per row) do not match",
                split.train,
                split.valid,
                split.test,
                split.rows(),
                split.images.len(),
                split.features
            ),
        )
        .fix("make the split with `Dataset::split` or `Dataset::into_split`"));
    }
    if let Some(&label) = split.labels.iter().find(|&&y| usize::from(y) >= CLASSES) {
        return Err(Error::new(
            ErrorKind::LabelOutOfRange,
            format!("the split holds label {label}; classes are 0..{CLASSES}"),
        )
        .fix("make the split with `Dataset::split` or `Dataset::into_split`, which check the labels"));
    }
    // The layout's parameter count must not overflow (`Layout::new` panics if it does).
    let output = config.hidden.checked_add(1).and_then(|h| h.checked_mul(CLASSES));
    let params = split.features.checked_add(1).and_then(|d| d.checked_mul(config.hidden));
    let params = params.zip(output).and_then(|(p, o)| p.checked_add(o));
    let needed = run_bytes(split.features, split.rows(), split.train, config);
    let memory = crate::data::machine_memory_bytes().unwrap_or(u64::MAX);
    if params.is_none() || needed > memory {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "a network of {} hidden units on this split needs {needed} bytes; this machine has {memory}",
                config.hidden
            ),
        )
        .for_setting("hidden")
        .fix("set a smaller `hidden` (or `batch_size`)"));
    }
    Ok(())
}

/// Epoch records reserved before the first epoch.
pub(crate) const HISTORY_RESERVE: usize = 4096;

/// Validation and test rows that ride along in a full-batch step's forward
/// pass, at most. More than that (or with mini-batches) are measured apart,
/// in chunks of the workspace's rows, so that the workspace never grows
/// with the held-out sets: 500,000 rows would need 2 GB of activations at
/// H = 1000, chunks of this many need 64 MB.
pub const HELD_OUT_RIDE_ROWS: usize = 16_384;

/// The sizes of a run's loop buffers, derived once for both [`EpochLoop::new`]
/// and [`run_bytes`].
pub(crate) struct LoopSizes {
    /// Workspace rows and trainable rows.
    pub(crate) ws_rows: usize,
    pub(crate) ws_train: usize,
    /// Mini-batch rows (0 full batch).
    pub(crate) batch: usize,
    /// Whether the held-out rows ride along in the full-batch step.
    pub(crate) held_out_rides: bool,
}

impl LoopSizes {
    pub(crate) fn new(rows: usize, train: usize, batch_size: Option<usize>) -> Self {
        let held_out = rows - train;
        let chunk = held_out.clamp(1, HELD_OUT_RIDE_ROWS);
        match batch_size {
            None if held_out <= HELD_OUT_RIDE_ROWS => {
                LoopSizes { ws_rows: rows, ws_train: train, batch: 0, held_out_rides: true }
            }
            None => LoopSizes { ws_rows: train.max(chunk), ws_train: train, batch: 0, held_out_rides: false },
            Some(b) => {
                let b = b.min(train);
                LoopSizes { ws_rows: b.max(chunk), ws_train: b, batch: b, held_out_rides: false }
            }
        }
    }
}

/// The workspace's rows and training rows in a run over `rows` rows, the
/// first `train` of them trained on, in batches of `batch_size` (`None`:
/// full batch): full batch, the held-out rows ride along when they are at
/// most [`HELD_OUT_RIDE_ROWS`]; otherwise they are measured in chunks of
/// the workspace's rows.
pub fn workspace_rows(rows: usize, train: usize, batch_size: Option<usize>) -> (usize, usize) {
    let sizes = LoopSizes::new(rows, train.min(rows), batch_size);
    (sizes.ws_rows, sizes.ws_train)
}

/// Bytes a training run allocates besides its data: the network's three
/// buffers, two parameter snapshots and the model file's two copies, the
/// workspace, a checkpoint, the mini-batch buffers, the reserved history and the final
/// test predictions. Saturating, so a huge request reads as huge; for
/// checking memory before anything is allocated.
pub fn run_bytes(features: usize, rows: usize, train: usize, config: &TrainConfig) -> u64 {
    let sizes = LoopSizes::new(rows, train.min(rows), config.batch_size);
    let network = Network::bytes_for(features, config.hidden, CLASSES);
    // Two parameter snapshots (best epoch, last finite), two more copies
    // while the model file is made at the end (its tensors, then the
    // archive), and a checkpoint's four buffers with its file's bytes.
    let snapshots = (network / 3).saturating_mul(12);
    let workspace = Workspace::bytes_for(config.hidden, CLASSES, sizes.ws_rows, sizes.ws_train);
    let batch = if sizes.batch == 0 {
        0
    } else {
        (train as u64).saturating_mul(8).saturating_add((sizes.batch as u64).saturating_mul(features as u64 * 4 + 1))
    };
    let history = (config.epochs.min(HISTORY_RESERVE) * std::mem::size_of::<EpochRecord>()) as u64;
    // The final model's test predictions (at most every row not trained on).
    let predictions = ((rows - train.min(rows)) as u64).saturating_mul(std::mem::size_of::<Prediction>() as u64);
    [snapshots, workspace, batch, history, predictions].into_iter().fold(network, u64::saturating_add)
}
