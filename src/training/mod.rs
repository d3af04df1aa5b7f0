//! The training loop: epochs of full-batch (or mini-batch) momentum descent
//! with loss and accuracy of train, valid and test every epoch, best-epoch
//! tracking, early stopping and divergence detection.
//!
//! Full batch, each epoch is one [`Network::step`] over every row of the
//! split: the training rows are stepped on and the validation and test rows
//! ride along in the same forward pass, so all three are measured with the
//! parameters before that epoch's update, as the assignment's code does.
//! With mini-batches the training figures are the row-weighted mean over the
//! epoch's batches, and valid/test are measured after the epoch.
//! Nothing is allocated per epoch.

pub mod model;

use std::time::Instant;

use crate::data::{CLASSES, Split};
use crate::engine::layout::Layout;
use crate::engine::matrix::MatRef;
use crate::engine::rng::Rng;
use crate::engine::{Hyper, Metrics, Network, Workspace};
use crate::error::{Error, ErrorKind, Result};

/// Settings of one training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub hidden: usize,
    pub epochs: usize,
    pub hyper: Hyper,
    /// Seed of the weight initialisation (and of the mini-batch order).
    pub seed: u64,
    /// `None`: full batch.
    pub batch_size: Option<usize>,
    /// Stop after this many epochs without a better validation loss.
    pub patience: Option<usize>,
    pub velocity_init: f32,
}

impl Default for TrainConfig {
    /// The assignment's settings.
    fn default() -> Self {
        TrainConfig {
            hidden: 1000,
            epochs: 200,
            hyper: Hyper::default(),
            seed: 0,
            batch_size: None,
            patience: None,
            velocity_init: crate::engine::DEFAULT_VELOCITY_INIT,
        }
    }
}

/// The figures of one epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train: Metrics,
    pub valid: Metrics,
    pub test: Metrics,
    /// Wall time of this epoch.
    pub seconds: f64,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// All requested epochs ran.
    Completed,
    /// `patience` epochs passed without a better validation loss.
    EarlyStopped,
    /// The training loss became NaN or infinite at this epoch.
    Diverged { epoch: usize },
}

/// Everything a finished (or stopped) run produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The parameters to save: the final ones; with early stopping those of
    /// the best validation loss; after divergence the last finite ones.
    pub network: Network,
    /// The epoch whose parameters `network` holds (measured before that
    /// epoch's update), or `epochs + 1` for the parameters after the last update.
    pub params_epoch: usize,
    pub history: Vec<EpochRecord>,
    /// Train, valid and test figures of `network` itself (what evaluating
    /// the saved model gives).
    pub model_metrics: [Metrics; 3],
    /// Epoch of the lowest validation loss (1-based).
    pub best_loss_epoch: usize,
    /// Epoch of the highest validation accuracy (1-based, first of ties).
    pub best_accuracy_epoch: usize,
    pub stop: StopReason,
    pub wall_seconds: f64,
    /// Training rows processed per second over the run.
    pub samples_per_second: f64,
}

impl TrainOutcome {
    /// The record of a 1-based epoch (a default record if it did not run).
    pub fn record(&self, epoch: usize) -> EpochRecord {
        self.history.get(epoch.wrapping_sub(1)).copied().unwrap_or_default()
    }

    /// The last epoch's record.
    pub fn last(&self) -> EpochRecord {
        self.history.last().copied().unwrap_or_default()
    }
}

/// Trains a fresh network on `split`, calling `on_epoch` after every epoch.
pub fn train(split: &Split, config: &TrainConfig, mut on_epoch: impl FnMut(&EpochRecord)) -> Result<TrainOutcome> {
    if split.valid == 0 {
        return Err(Error::new(
            ErrorKind::BadSplit,
            "the split has no validation rows, which best-epoch tracking needs",
        )
        .fix("use --split TRAIN,VALID with VALID > 0"));
    }
    let layout = Layout::new(split.features, config.hidden, CLASSES);
    let mut network = Network::new(layout, config.seed, config.velocity_init);
    let mut loop_state = Loop::new(split, config, layout);
    let started = Instant::now();
    let mut history = Vec::with_capacity(config.epochs);
    // Parameter snapshots, allocated once: the best epoch's and the last
    // finite ones, both taken before an epoch's update.
    let mut best_params = network.params().to_vec();
    let mut last_finite = network.params().to_vec();
    let (mut best_loss, mut best_loss_epoch) = (f64::INFINITY, 0);
    let (mut best_acc, mut best_accuracy_epoch) = (f64::NEG_INFINITY, 0);
    let mut stop = StopReason::Completed;
    let mut params_epoch = config.epochs + 1;

    for epoch in 1..=config.epochs {
        let epoch_start = Instant::now();
        let mut record = EpochRecord { epoch, ..EpochRecord::default() };
        let finite = loop_state.run_epoch(&mut network, split, config, epoch, &mut record, |net, r| {
            if r.train.loss.is_finite() && net.params().iter().all(|p| p.is_finite()) {
                last_finite.copy_from_slice(net.params());
                if r.valid.loss < best_loss {
                    best_params.copy_from_slice(net.params());
                }
            }
        });
        record.seconds = epoch_start.elapsed().as_secs_f64();
        history.push(record);
        on_epoch(&record);
        if !finite {
            stop = StopReason::Diverged { epoch };
            network.params_mut().copy_from_slice(&last_finite);
            params_epoch = epoch - 1;
            break;
        }
        if record.valid.loss < best_loss {
            (best_loss, best_loss_epoch) = (record.valid.loss, epoch);
        }
        if record.valid.accuracy > best_acc {
            (best_acc, best_accuracy_epoch) = (record.valid.accuracy, epoch);
        }
        if let Some(patience) = config.patience
            && epoch - best_loss_epoch >= patience
        {
            stop = StopReason::EarlyStopped;
            break;
        }
    }
    if stop == StopReason::EarlyStopped {
        network.params_mut().copy_from_slice(&best_params);
        params_epoch = best_loss_epoch;
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    let samples = (split.train * history.len()) as f64;
    let x = MatRef::from_slice(&split.images, split.rows(), split.features);
    let model_metrics = split.ranges().map(|(_, range)| {
        network.evaluate(&mut loop_state.ws, x.row_range(range.start, range.len()), &split.labels[range], None)
    });
    Ok(TrainOutcome {
        network,
        params_epoch,
        history,
        model_metrics,
        best_loss_epoch: best_loss_epoch.max(1),
        best_accuracy_epoch: best_accuracy_epoch.max(1),
        stop,
        wall_seconds,
        samples_per_second: if wall_seconds > 0.0 { samples / wall_seconds } else { 0.0 },
    })
}

/// Buffers of the epoch loop, made once per run.
struct Loop {
    ws: Workspace,
    /// Mini-batch only: the shuffled order of training rows and the
    /// gathered batch.
    order: Vec<usize>,
    batch_x: Vec<f32>,
    batch_y: Vec<u8>,
}

impl Loop {
    fn new(split: &Split, config: &TrainConfig, layout: Layout) -> Self {
        match config.batch_size {
            None => Loop {
                ws: Workspace::new(layout, split.rows(), split.train),
                order: Vec::new(),
                batch_x: Vec::new(),
                batch_y: Vec::new(),
            },
            Some(b) => {
                let b = b.min(split.train);
                let eval_rows = (split.valid + split.test).max(1);
                Loop {
                    ws: Workspace::new(layout, b.max(eval_rows), b),
                    order: (0..split.train).collect(),
                    batch_x: vec![0.0; b * split.features],
                    batch_y: vec![0; b],
                }
            }
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
        epoch: usize,
        record: &mut EpochRecord,
        mut measured: impl FnMut(&Network, &EpochRecord),
    ) -> bool {
        let d = split.features;
        let x = MatRef::from_slice(&split.images, split.rows(), d);
        let [(_, train), (_, valid), (_, test)] = split.ranges();
        match config.batch_size {
            None => {
                network.forward(&mut self.ws, x, &split.labels, split.train);
                record.train = self.ws.metrics(train);
                record.valid = self.ws.metrics(valid);
                record.test = self.ws.metrics(test);
                measured(network, record);
                if !record.train.loss.is_finite() {
                    return false;
                }
                network.backward(&mut self.ws, x.row_range(0, split.train));
                network.update(self.ws.simd(), config.hyper);
            }
            Some(_) => {
                let b = self.batch_y.len();
                // A fresh order every epoch, fixed by the seed and the epoch.
                self.order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
                Rng::new(config.seed ^ (epoch as u64).wrapping_mul(0xA076_1D64_78BD_642F)).shuffle(&mut self.order);
                let mut train_metrics = Metrics::default();
                for batch in self.order.chunks(b) {
                    let rows = batch.len();
                    for (slot, &row) in batch.iter().enumerate() {
                        self.batch_x[slot * d..(slot + 1) * d].copy_from_slice(&split.images[row * d..(row + 1) * d]);
                        self.batch_y[slot] = split.labels[row];
                    }
                    let bx = MatRef::from_slice(&self.batch_x[..rows * d], rows, d);
                    network.forward(&mut self.ws, bx, &self.batch_y[..rows], rows);
                    let m = self.ws.metrics(0..rows);
                    train_metrics = train_metrics.merge(m);
                    if !m.loss.is_finite() {
                        record.train = train_metrics;
                        return false;
                    }
                    network.backward(&mut self.ws, bx);
                    network.update(self.ws.simd(), config.hyper);
                }
                record.train = train_metrics;
                let held_out = split.train..split.rows();
                let x_held = x.row_range(split.train, held_out.len());
                network.forward(&mut self.ws, x_held, &split.labels[held_out], 0);
                record.valid = self.ws.metrics(0..split.valid);
                record.test = self.ws.metrics(split.valid..split.valid + split.test);
                measured(network, record);
            }
        }
        true
    }
}
