//! The training loop: epochs of full-batch (or mini-batch) momentum descent
//! with loss and accuracy of train, valid and test every epoch, best-epoch
//! tracking, early stopping and divergence detection.
//!
//! Full batch, each epoch is one [`Network::step`]: the training rows are
//! stepped on and the validation and test rows ride along in the same
//! forward pass (or, beyond [`HELD_OUT_RIDE_ROWS`] of them, are measured in
//! chunks just before the step), so all three are measured with the
//! parameters before that epoch's update, as the assignment's code does.
//! With mini-batches the training figures are the row-weighted mean over the
//! epoch's batches, and valid/test are measured after the epoch.
//! Nothing is allocated per epoch.

pub mod checkpoint;
mod config;
pub mod model;
mod record;
mod run_check;

use std::ops::ControlFlow;
use std::time::Instant;

use crate::data::{CLASSES, Split};
use crate::engine::layout::Layout;
use crate::engine::matrix::MatRef;
use crate::engine::rng::Rng;
use crate::engine::{Metrics, MomentumSgd, Network, Prediction, Workspace};
use crate::error::Result;
use checkpoint::Trackers;
pub use checkpoint::{Checkpoint, DataIdentity, ResumePoint, RunState};
pub use config::TrainConfig;
pub use record::EpochRecord;
pub use run_check::{HELD_OUT_RIDE_ROWS, check_run, run_bytes, workspace_rows};
use run_check::{HISTORY_RESERVE, LoopSizes};

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// All requested epochs ran.
    Completed,
    /// `patience` epochs passed without a better validation loss.
    EarlyStopped,
    /// The training loss became NaN or infinite at this epoch.
    Diverged {
        /// The epoch whose loss was not finite.
        epoch: usize,
    },
    /// The per-epoch callback asked to stop (e.g. on Ctrl-C) after this epoch.
    Interrupted {
        /// The last epoch that ran.
        epoch: usize,
    },
}

/// Everything a finished (or stopped) run produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The parameters to save: the final ones; with early stopping those of
    /// the best validation loss; after divergence the last finite ones.
    pub network: Network,
    /// The epoch whose figures describe the parameters `network` holds
    /// (full batch: those before that epoch's update; mini-batch: those
    /// after its updates), or `epochs run + 1` for the parameters after the
    /// last update.
    pub params_epoch: usize,
    /// One record per epoch run.
    pub history: Vec<EpochRecord>,
    /// Train, valid and test figures of `network` itself (what evaluating
    /// the saved model gives).
    pub model_metrics: [Metrics; 3],
    /// `network`'s prediction for each test row, from the same forward pass
    /// as its test figures.
    pub test_predictions: Vec<Prediction>,
    /// Epoch of the lowest validation loss (1-based).
    pub best_loss_epoch: usize,
    /// Epoch of the highest validation accuracy (1-based, first of ties).
    pub best_accuracy_epoch: usize,
    /// Why the run ended.
    pub stop: StopReason,
    /// Wall time of the epochs, in seconds (of every segment, for a run
    /// continued from a checkpoint).
    pub wall_seconds: f64,
    /// Training rows processed per second over the run.
    pub samples_per_second: f64,
    /// The run as it stands after its last epoch (the parameters after the
    /// last update, not the restored best ones), to save and continue with
    /// [`train_from`].
    pub checkpoint: Checkpoint,
}

impl TrainOutcome {
    /// The record of a 1-based epoch (a default record if it did not run).
    pub fn record(&self, epoch: usize) -> EpochRecord {
        self.history.get(epoch.wrapping_sub(1)).copied().unwrap_or_default()
    }

    /// The last epoch's record.
    pub fn last_record(&self) -> EpochRecord {
        self.history.last().copied().unwrap_or_default()
    }
}

/// Trains a fresh network on `split`, calling `on_epoch` after every epoch;
/// `on_epoch` returning [`ControlFlow::Break`] ends the run there
/// ([`StopReason::Interrupted`]), with everything done so far kept.
pub fn train(
    split: &Split,
    config: &TrainConfig,
    mut on_epoch: impl FnMut(&EpochRecord) -> ControlFlow<()>,
) -> Result<TrainOutcome> {
    train_from(split, config, None, |state| on_epoch(state.record()))
}

/// What the per-epoch callback of [`train_from`] sees: the epoch's record,
/// and on request a [`Checkpoint`] of the run as it stands after the epoch.
pub struct EpochState<'a> {
    record: &'a EpochRecord,
    network: &'a Network,
    best: &'a BestEpochs,
    history: &'a [EpochRecord],
    config: &'a TrainConfig,
    data: DataIdentity,
    state: RunState,
    resumes: &'a [ResumePoint],
    wall_seconds: f64,
}

impl EpochState<'_> {
    /// The epoch's figures.
    pub fn record(&self) -> &EpochRecord {
        self.record
    }

    /// Whether the run ends after this epoch whatever the callback says
    /// (patience ran out, or the loss diverged).
    pub fn stops_here(&self) -> bool {
        self.state != RunState::Running
    }

    /// Everything needed to continue the run from the end of this epoch
    /// (this copies the parameters, so it allocates: take one now and then,
    /// not every epoch of a fast run).
    pub fn checkpoint(&self) -> Checkpoint {
        checkpoint_of(
            self.network,
            self.best,
            self.history,
            self.config,
            self.data,
            self.state,
            self.resumes,
            self.wall_seconds,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn checkpoint_of(
    network: &Network,
    best: &BestEpochs,
    history: &[EpochRecord],
    config: &TrainConfig,
    data: DataIdentity,
    state: RunState,
    resumes: &[ResumePoint],
    wall_seconds: f64,
) -> Checkpoint {
    Checkpoint {
        config: config.clone(),
        data,
        epochs_done: history.len(),
        state,
        history: history.to_vec(),
        wall_seconds,
        resumes: resumes.to_vec(),
        layout: network.layout(),
        params: network.params().to_vec(),
        velocity: network.velocity().to_vec(),
        trackers: Trackers {
            loss: best.loss,
            loss_epoch: best.loss_epoch,
            accuracy: best.accuracy,
            accuracy_epoch: best.accuracy_epoch,
            best_params: if config.patience.is_some() { best.best_params.clone() } else { Vec::new() },
            last_finite: best.last_finite.clone(),
        },
    }
}

/// Trains on `split` from `start` (a [`Checkpoint`] of an earlier run of the
/// same settings on the same data; `None`: a fresh network), up to
/// `config.epochs` epochs in all, calling `on_epoch` after every epoch run
/// here. Continued from a checkpoint, the outcome (parameters, every
/// epoch's figures, best epochs, stop) is identical to the bit to that of a
/// run never stopped; `wall_seconds` covers every segment. `on_epoch`
/// returning [`ControlFlow::Break`] ends the run there
/// ([`StopReason::Interrupted`]).
///
/// Refuses a checkpoint of other data or settings, of a diverged run, or
/// with more epochs done than `config.epochs` (see [`Checkpoint::check_fits`]).
pub fn train_from(
    split: &Split,
    config: &TrainConfig,
    start: Option<Checkpoint>,
    mut on_epoch: impl FnMut(&EpochState<'_>) -> ControlFlow<()>,
) -> Result<TrainOutcome> {
    check_run(split, config)?;
    if let Some(start) = &start {
        start.check_fits(split, config)?;
    }
    let mut start = match start {
        Some(start) => start,
        None => Checkpoint::start(split, config)?,
    };
    let (data, resumes, earlier_seconds) = (start.data, std::mem::take(&mut start.resumes), start.wall_seconds);
    let layout = Layout::new(split.features, config.hidden, CLASSES);
    // The checkpoint's buffers move into the network, not copied.
    let mut network = Network::from_params(start.layout, std::mem::take(&mut start.params), 0.0);
    network.velocity_mut().copy_from_slice(&std::mem::take(&mut start.velocity));
    let mut loop_state = EpochLoop::new(split, config, layout);
    let mut best = BestEpochs::from_trackers(start.trackers, network.params());
    let started = Instant::now();
    // Reserved up front so that no epoch allocates, but never in proportion
    // to an epoch count that may be huge: past this the history grows.
    let mut history = Vec::with_capacity(config.epochs.min(HISTORY_RESERVE).max(start.history.len()));
    history.extend_from_slice(&start.history);
    let first = start.epochs_done + 1;
    let (mut stop, mut state) = match start.state {
        RunState::EarlyStopped => (StopReason::EarlyStopped, RunState::EarlyStopped),
        _ => (StopReason::Completed, RunState::Running),
    };
    let epochs = if state == RunState::EarlyStopped { 0..=0 } else { first..=config.epochs };
    for epoch in epochs.filter(|&e| e > 0) {
        let epoch_start = Instant::now();
        let mut record = EpochRecord { epoch, ..EpochRecord::default() };
        let finite = loop_state.run_epoch(&mut network, split, config, &mut record, |net, r| best.observe(net, r));
        record.seconds = epoch_start.elapsed().as_secs_f64();
        history.push(record);
        let early = config.patience.is_some_and(|patience| epoch.saturating_sub(best.loss_epoch) >= patience);
        state = match (finite, early) {
            (false, _) => RunState::Diverged { epoch },
            (true, true) => RunState::EarlyStopped,
            (true, false) => RunState::Running,
        };
        let view = EpochState {
            record: &record,
            network: &network,
            best: &best,
            history: &history,
            config,
            data,
            state,
            resumes: &resumes,
            wall_seconds: earlier_seconds + started.elapsed().as_secs_f64(),
        };
        let flow = on_epoch(&view);
        if !finite {
            stop = StopReason::Diverged { epoch };
            break;
        }
        if early {
            stop = StopReason::EarlyStopped;
            break;
        }
        if flow.is_break() {
            stop = StopReason::Interrupted { epoch };
            break;
        }
    }
    let wall_seconds = earlier_seconds + started.elapsed().as_secs_f64();
    let checkpoint = checkpoint_of(&network, &best, &history, config, data, state, &resumes, wall_seconds);
    let params_epoch = best.restore(&mut network, stop, history.len(), config.patience.is_some());
    let samples = (split.train * history.len()) as f64;
    let x = MatRef::from_slice(&split.images, split.rows(), split.features);
    let mut test_predictions = vec![Prediction::default(); split.test];
    let model_metrics = split.ranges().map(|(name, range)| {
        let predictions = (name == "test").then_some(test_predictions.as_mut_slice());
        network.evaluate(&mut loop_state.ws, x.row_range(range.start, range.len()), &split.labels[range], predictions)
    });
    Ok(TrainOutcome {
        network,
        params_epoch,
        history,
        model_metrics,
        test_predictions,
        best_loss_epoch: best.loss_epoch.max(1),
        best_accuracy_epoch: best.accuracy_epoch.max(1),
        stop,
        wall_seconds,
        samples_per_second: if wall_seconds > 0.0 { samples / wall_seconds } else { 0.0 },
        checkpoint,
    })
}

/// The best epochs so far and parameter snapshots, allocated once: the best
/// validation loss's parameters and the last finite ones, both taken when
/// an epoch's figures exist and before its update.
struct BestEpochs {
    loss: f64,
    loss_epoch: usize,
    accuracy: f64,
    accuracy_epoch: usize,
    best_params: Vec<f32>,
    last_finite: Vec<f32>,
}

impl BestEpochs {
    /// The trackers of a checkpoint; without patience its best parameters
    /// are not stored (nothing restores them) and start as `params`.
    fn from_trackers(t: Trackers, params: &[f32]) -> Self {
        let best_params = if t.best_params.is_empty() { params.to_vec() } else { t.best_params };
        BestEpochs {
            loss: t.loss,
            loss_epoch: t.loss_epoch,
            accuracy: t.accuracy,
            accuracy_epoch: t.accuracy_epoch,
            best_params,
            last_finite: t.last_finite,
        }
    }

    /// Takes in one epoch's figures with the parameters they describe.
    fn observe(&mut self, net: &Network, r: &EpochRecord) {
        if !(r.train.loss.is_finite() && net.params().iter().all(|p| p.is_finite())) {
            return;
        }
        self.last_finite.copy_from_slice(net.params());
        if r.valid.loss < self.loss {
            (self.loss, self.loss_epoch) = (r.valid.loss, r.epoch);
            self.best_params.copy_from_slice(net.params());
        }
        if r.valid.accuracy > self.accuracy {
            (self.accuracy, self.accuracy_epoch) = (r.valid.accuracy, r.epoch);
        }
    }

    /// Puts the parameters to keep into `network` and returns the epoch
    /// they belong to (see [`TrainOutcome::params_epoch`]): the last finite
    /// ones after divergence, the best epoch's with early stopping (or when
    /// an interrupted run had patience set), else those after the last update.
    fn restore(&self, network: &mut Network, stop: StopReason, epochs_run: usize, patience: bool) -> usize {
        match stop {
            StopReason::Diverged { epoch } => {
                network.params_mut().copy_from_slice(&self.last_finite);
                epoch - 1
            }
            StopReason::EarlyStopped | StopReason::Interrupted { .. } if patience && self.loss_epoch > 0 => {
                network.params_mut().copy_from_slice(&self.best_params);
                self.loss_epoch
            }
            _ => epochs_run + 1,
        }
    }
}

/// Buffers of the epoch loop, made once per run.
struct EpochLoop {
    ws: Workspace,
    /// Full batch: whether the held-out rows ride along in the step.
    held_out_rides: bool,
    /// Mini-batch only: the shuffled order of training rows and the
    /// gathered batch.
    order: Vec<usize>,
    batch_x: Vec<f32>,
    batch_y: Vec<u8>,
}

impl EpochLoop {
    fn new(split: &Split, config: &TrainConfig, layout: Layout) -> Self {
        let sizes = LoopSizes::new(split.rows(), split.train, config.batch_size);
        let ws = Workspace::new(layout, sizes.ws_rows, sizes.ws_train);
        let held_out_rides = sizes.held_out_rides;
        if sizes.batch == 0 {
            return EpochLoop { ws, held_out_rides, order: Vec::new(), batch_x: Vec::new(), batch_y: Vec::new() };
        }
        EpochLoop {
            ws,
            held_out_rides,
            order: (0..split.train).collect(),
            batch_x: vec![0.0; sizes.batch * split.features],
            batch_y: vec![0; sizes.batch],
        }
    }

    /// Runs one epoch and fills `record`; `measured` sees the network and the
    /// record once the epoch's figures exist and before any update of
    /// parameters they describe (full batch). Returns false if the training
    /// loss was not finite.
    fn run_epoch(
        &mut self,
        network: &mut Network,
        split: &Split,
        config: &TrainConfig,
        record: &mut EpochRecord,
        measured: impl FnMut(&Network, &EpochRecord),
    ) -> bool {
        match config.batch_size {
            None => self.full_batch_epoch(network, split, config.optimizer, record, measured),
            Some(_) => self.mini_batch_epoch(network, split, config, record, measured),
        }
    }

    /// One step over the training rows, all figures with the parameters
    /// before its update: the validation and test rows ride along in the
    /// step's forward pass, or, when there are too many of them (see
    /// [`HELD_OUT_RIDE_ROWS`]), are measured in chunks just before it.
    fn full_batch_epoch(
        &mut self,
        network: &mut Network,
        split: &Split,
        optimizer: MomentumSgd,
        record: &mut EpochRecord,
        mut measured: impl FnMut(&Network, &EpochRecord),
    ) -> bool {
        let x = MatRef::from_slice(&split.images, split.rows(), split.features);
        let [(_, train), (_, valid), (_, test)] = split.ranges();
        if self.held_out_rides {
            return network.step_inspected(&mut self.ws, x, &split.labels, split.train, optimizer, |network, ws| {
                record.train = ws.metrics(train);
                record.valid = ws.metrics(valid);
                record.test = ws.metrics(test);
                measured(network, record);
                record.train.loss.is_finite()
            });
        }
        self.measure_held_out(network, split, record);
        let (x, y) = (x.row_range(0, split.train), &split.labels[train.clone()]);
        network.step_inspected(&mut self.ws, x, y, split.train, optimizer, |network, ws| {
            record.train = ws.metrics(train);
            measured(network, record);
            record.train.loss.is_finite()
        })
    }

    /// The validation and test figures of `network`, in chunks of the
    /// workspace's rows.
    fn measure_held_out(&mut self, network: &Network, split: &Split, record: &mut EpochRecord) {
        let x = MatRef::from_slice(&split.images, split.rows(), split.features);
        let [_, (_, valid), (_, test)] = split.ranges();
        record.valid =
            network.evaluate(&mut self.ws, x.row_range(valid.start, valid.len()), &split.labels[valid], None);
        record.test = network.evaluate(&mut self.ws, x.row_range(test.start, test.len()), &split.labels[test], None);
    }

    /// Steps over the training rows in a fresh order, batch by batch, then
    /// measures the validation and test rows.
    fn mini_batch_epoch(
        &mut self,
        network: &mut Network,
        split: &Split,
        config: &TrainConfig,
        record: &mut EpochRecord,
        mut measured: impl FnMut(&Network, &EpochRecord),
    ) -> bool {
        let d = split.features;
        let b = self.batch_y.len();
        // A fresh order every epoch, fixed by the seed and the epoch.
        self.order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        Rng::new(config.seed ^ (record.epoch as u64).wrapping_mul(0xA076_1D64_78BD_642F)).shuffle(&mut self.order);
        let mut train_metrics = Metrics::default();
        for batch in self.order.chunks(b) {
            let rows = batch.len();
            for (slot, &row) in batch.iter().enumerate() {
                self.batch_x[slot * d..(slot + 1) * d].copy_from_slice(&split.images[row * d..(row + 1) * d]);
                self.batch_y[slot] = split.labels[row];
            }
            let bx = MatRef::from_slice(&self.batch_x[..rows * d], rows, d);
            let finite =
                network.step_inspected(&mut self.ws, bx, &self.batch_y[..rows], rows, config.optimizer, |_, ws| {
                    train_metrics = train_metrics.merge(ws.metrics(0..rows));
                    train_metrics.loss.is_finite()
                });
            if !finite {
                record.train = train_metrics;
                return false;
            }
        }
        record.train = train_metrics;
        self.measure_held_out(network, split, record);
        measured(network, record);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::error::ErrorKind;
    use checkpoint::tests::{BODY, patched, sample as checkpoint_sample};
    use std::path::Path;

    #[test]
    fn test_predictions_are_the_saved_models_own() {
        let split = Dataset::synthetic(700, 3).into_split(300, 100, 5).unwrap();
        let config = TrainConfig { hidden: 24, epochs: 4, ..TrainConfig::default() };
        let outcome = train(&split, &config, |_| ControlFlow::Continue(())).unwrap();
        assert_eq!(outcome.test_predictions.len(), 300);
        // Measured again in chunks of 64 rows: the same answers to the bit,
        // and as many right as the test accuracy says.
        let start = split.train + split.valid;
        let x = MatRef::from_slice(&split.images, split.rows(), split.features);
        let mut ws = Workspace::new(outcome.network.layout(), 64, 0);
        let mut again = vec![Prediction::default(); split.test];
        let labels = &split.labels[start..];
        outcome.network.evaluate(&mut ws, x.row_range(start, split.test), labels, Some(&mut again));
        assert_eq!(outcome.test_predictions, again);
        let right = again.iter().zip(labels).filter(|(p, y)| p.class == **y).count();
        assert_eq!(right, (outcome.model_metrics[2].accuracy * 300.0).round() as usize);
        assert!(right > 30, "4 epochs learn something: {right} of 300");
        // The highest of ten probabilities lies in [1/10, 1].
        assert!(again.iter().all(|p| (0.1..=1.0).contains(&p.probability)));
    }

    #[test]
    fn many_held_out_rows_are_measured_in_chunks_and_change_nothing_else() {
        let features = crate::data::FEATURES;
        let big = Dataset::synthetic(17_400, 1).into_split(300, 9_000, 2).unwrap();
        assert!(big.valid + big.test > HELD_OUT_RIDE_ROWS, "the held-out rows must not ride along");
        // The same training rows with a few held-out rows, which ride along.
        let kept = 300 + 500 + 100;
        let small = Split {
            images: big.images[..kept * features].to_vec(),
            labels: big.labels[..kept].to_vec(),
            valid: 500,
            test: 100,
            ..big.clone()
        };
        let config = TrainConfig { hidden: 16, epochs: 3, ..TrainConfig::default() };
        let run = |split: &Split| train(split, &config, |_| ControlFlow::Continue(())).unwrap();
        let (chunked, riding) = (run(&big), run(&small));
        // Held-out rows never touch training: the same parameters, bit for bit.
        let bits = |o: &TrainOutcome| o.network.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&chunked), bits(&riding));
        assert_eq!(chunked.record(2).train, riding.record(2).train);
        // Epoch 1's figures are the untrained network's, measured afresh.
        let layout = Layout::new(features, 16, CLASSES);
        let initial = Network::new(layout, config.seed, config.velocity_init);
        let mut ws = Workspace::new(layout, 4_000, 0);
        let x = MatRef::from_slice(&big.images, big.rows(), features);
        for (name, range) in big.ranges().into_iter().skip(1) {
            let expected = initial.evaluate(&mut ws, x.row_range(range.start, range.len()), &big.labels[range], None);
            let got = if name == "valid" { chunked.record(1).valid } else { chunked.record(1).test };
            assert_eq!(got.rows, expected.rows, "{name}");
            assert!(
                (got.loss - expected.loss).abs() < 1e-12 && (got.accuracy - expected.accuracy).abs() < 1e-12,
                "{name}"
            );
        }
        // The workspace no longer grows with the held-out rows: 500,000
        // rows at the course's size plan far less than their 2 GB of
        // activations.
        let course = TrainConfig::default();
        assert!(run_bytes(features, 500_000, 10_000, &course) < 200 << 20);
        assert!(run_bytes(features, 18_724, 10_000, &course) > 18_724 * 1000 * 4, "the course's rows still ride along");
    }

    #[test]
    fn a_checkpoint_edited_after_loading_is_refused_before_continuing() {
        // One that `Checkpoint::check_fits` refuses would have panicked or
        // stopped at once in training.
        let split = Dataset::synthetic(200, 3).into_split(120, 40, 5).unwrap();
        let longer = TrainConfig { hidden: 8, epochs: 5, patience: Some(2), ..TrainConfig::default() };
        let mut edited = checkpoint_sample();
        edited.trackers.loss_epoch = 7;
        assert!(train_from(&split, &longer, Some(edited), |_| ControlFlow::Continue(())).is_err());
    }

    #[test]
    fn a_checkpoint_with_any_fixed_field_rewritten_is_refused_or_continues() {
        // Each u64 slot before the parameter buffers gets values around the
        // edges; whatever parses must also be safe to continue from.
        let data = Dataset::synthetic(200, 3);
        let split = data.split(120, 40, 5).unwrap();
        let c = checkpoint_sample();
        let bytes = c.to_bytes();
        let fixed_end = bytes.len() - 4 - BODY - 4 * 4 * c.layout.total();
        let mut accepted = 0;
        for at in (0..=fixed_end - 8).step_by(4) {
            for value in [0, 1, 2, 3, 10, 1 << 32, 1 << 40, u64::MAX] {
                let Ok(loaded) = Checkpoint::from_bytes(&patched(&bytes, at, value), Path::new("c")) else {
                    continue;
                };
                accepted += 1;
                let config = TrainConfig { epochs: loaded.epochs_done + 2, ..loaded.config.clone() };
                if loaded.check_fits(&split, &config).is_ok() {
                    let outcome = train_from(&split, &config, Some(loaded), |_| ControlFlow::Continue(()));
                    // Settings out of range (a learning rate of 0, say) are
                    // refused by training's own check; nothing else may fail.
                    if let Err(e) = outcome {
                        assert_eq!(e.kind(), ErrorKind::BadSetting, "patch {value} at {at}: {e}");
                    }
                }
            }
        }
        // Floats, seeds and times may take any value: some patches load.
        assert!(accepted > 0);
    }
}
