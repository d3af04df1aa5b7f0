//! [`TrainConfig`]: the settings of one training run, their defaults (the
//! assignment's) and the ranges they are checked against.

use crate::engine::MomentumSgd;
use crate::error::{Error, ErrorKind, Result};

/// Settings of one training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Hidden units H.
    pub hidden: usize,
    /// Epochs to run at most.
    pub epochs: usize,
    /// The update rule: gradient descent with momentum, its learning rate
    /// and momentum.
    pub optimizer: MomentumSgd,
    /// Seed of the weight initialisation (and of the mini-batch order).
    pub seed: u64,
    /// `None`: full batch.
    pub batch_size: Option<usize>,
    /// Stop after this many epochs without a better validation loss.
    pub patience: Option<usize>,
    /// Initial value of every velocity entry (the assignment's 1e-5).
    pub velocity_init: f32,
}

impl Default for TrainConfig {
    /// The assignment's settings.
    fn default() -> Self {
        TrainConfig {
            hidden: 1000,
            epochs: 200,
            optimizer: MomentumSgd::default(),
            seed: 0,
            batch_size: None,
            patience: None,
            velocity_init: crate::engine::DEFAULT_VELOCITY_INIT,
        }
    }
}

impl TrainConfig {
    /// Checks every setting against its range, so that [`train`](super::train) refuses
    /// a bad one with an [`Error`] of kind [`ErrorKind::BadSetting`] naming
    /// the field ([`Error::setting`]) before anything is allocated.
    /// [`train`](super::train) calls it; call it yourself to check settings early.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, message: String, fix: &str| {
            Err(Error::new(ErrorKind::BadSetting, format!("`{field}` {message}")).for_setting(field).fix(fix))
        };
        let MomentumSgd { learning_rate, momentum } = self.optimizer;
        if self.hidden == 0 {
            return bad(
                "hidden",
                "is 0: the network needs at least one hidden unit".into(),
                "set `hidden` to 1 or more",
            );
        }
        if self.epochs == 0 {
            return bad("epochs", "is 0: nothing would be trained".into(), "set `epochs` to 1 or more");
        }
        if self.batch_size == Some(0) {
            return bad(
                "batch_size",
                "is Some(0): a step needs at least one row".into(),
                "set `batch_size` to Some(1) or more, or None for full batch",
            );
        }
        if self.patience == Some(0) {
            return bad(
                "patience",
                "is Some(0): the run would stop after its first epoch, before any could improve".into(),
                "set `patience` to Some(1) or more, or None to run every epoch",
            );
        }
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return bad(
                "learning_rate",
                format!("is {learning_rate}: it must be a positive finite number"),
                "set `optimizer.learning_rate` to a positive number, e.g. 0.1",
            );
        }
        // `contains` is false for NaN too.
        if !(0.0..1.0).contains(&momentum) {
            return bad(
                "momentum",
                format!("is {momentum}: it must lie in [0, 1), or the velocity never decays"),
                "set `optimizer.momentum` to a number in [0, 1), e.g. 0.9",
            );
        }
        if !self.velocity_init.is_finite() {
            return bad(
                "velocity_init",
                format!("is {}: it must be finite", self.velocity_init),
                "set `velocity_init` to a finite number, e.g. 1e-5",
            );
        }
        Ok(())
    }
}
