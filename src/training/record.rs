//! [`EpochRecord`]: the figures of one epoch, as the per-epoch callback,
//! a run's history and its checkpoints hold them.

use crate::engine::Metrics;

/// The figures of one epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    /// Training rows (full batch: before the epoch's update; mini-batch:
    /// the mean over the epoch's batches).
    pub train: Metrics,
    /// Validation rows (no rows: `rows == 0`).
    pub valid: Metrics,
    /// Test rows (no rows: `rows == 0`, never a made-up figure).
    pub test: Metrics,
    /// Wall time of this epoch.
    pub seconds: f64,
}
