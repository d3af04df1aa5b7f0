//! Continuing a run from a checkpoint gives the run never stopped, to the
//! bit: in the library (full batch, mini-batch, patience, interrupted at any
//! epoch, a completed run extended) and through `mlp train --resume` (after
//! Ctrl-C, after SIGKILL at random moments, after completion), and every
//! flag that would change the result is refused with the folder untouched.

mod common;

use std::ops::ControlFlow;

use mlp_engine::data::Dataset;
use mlp_engine::training::{Checkpoint, RunState, train_from};
use mlp_engine::{Split, StopReason, TrainConfig, TrainOutcome, train};

fn split() -> Split {
    Dataset::synthetic(500, 7).into_split(300, 120, 521).unwrap()
}

fn bits(o: &TrainOutcome) -> Vec<u32> {
    o.network.params().iter().map(|v| v.to_bits()).collect()
}

/// Everything but wall times: parameters, records (seconds zeroed), best
/// epochs, stop, the model's own figures, and the state to continue from.
fn assert_same_run(resumed: &TrainOutcome, straight: &TrainOutcome, what: &str) {
    assert_eq!(bits(resumed), bits(straight), "{what}: parameters");
    let strip = |o: &TrainOutcome| o.history.iter().map(|r| (r.epoch, r.train, r.valid, r.test)).collect::<Vec<_>>();
    assert_eq!(strip(resumed), strip(straight), "{what}: epoch records");
    assert_eq!(
        (resumed.best_loss_epoch, resumed.best_accuracy_epoch, resumed.stop, resumed.params_epoch),
        (straight.best_loss_epoch, straight.best_accuracy_epoch, straight.stop, straight.params_epoch),
        "{what}"
    );
    assert_eq!(resumed.model_metrics, straight.model_metrics, "{what}: model figures");
    assert_eq!(resumed.test_predictions, straight.test_predictions, "{what}: predictions");
    let state = |o: &TrainOutcome| {
        let c = &o.checkpoint;
        (c.network().params().to_vec(), c.network().velocity().to_vec(), c.epochs_done, c.state)
    };
    assert!(state(resumed) == state(straight), "{what}: the state to continue from");
}

/// Stops a run of `config` after `stop_at` epochs, saves and reloads its
/// checkpoint, and continues it.
fn stop_and_continue(split: &Split, config: &TrainConfig, stop_at: usize) -> TrainOutcome {
    let first =
        train(split, config, |r| if r.epoch == stop_at { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
            .unwrap();
    let bytes = first.checkpoint.to_bytes();
    let loaded = Checkpoint::from_bytes(&bytes, "c".as_ref()).unwrap();
    assert_eq!(loaded.epochs_done, first.history.len());
    train_from(split, config, Some(loaded), |_| ControlFlow::Continue(())).unwrap()
}

#[test]
fn library_resume_equals_a_straight_run_at_every_stop() {
    let split = split();
    for (name, config) in [
        ("full batch", TrainConfig { hidden: 12, epochs: 9, ..TrainConfig::default() }),
        ("mini-batch", TrainConfig { hidden: 12, epochs: 7, batch_size: Some(64), seed: 3, ..TrainConfig::default() }),
        (
            "patience",
            TrainConfig { hidden: 12, epochs: 40, patience: Some(2), hyper: lr_high(), ..TrainConfig::default() },
        ),
    ] {
        let straight = train(&split, &config, |_| ControlFlow::Continue(())).unwrap();
        if config.patience.is_some() {
            assert_eq!(straight.stop, StopReason::EarlyStopped, "patience must run out for this case to test it");
            // Continued after it stopped early, it stops again at once.
            let again = train_from(&split, &config, Some(straight.checkpoint.clone()), |_| ControlFlow::Continue(()));
            assert_same_run(&again.unwrap(), &straight, "early-stopped, continued");
        }
        for stop_at in 1..straight.history.len() {
            let resumed = stop_and_continue(&split, &config, stop_at);
            assert_same_run(&resumed, &straight, &format!("{name}, stopped after epoch {stop_at}"));
        }
    }
}

/// A learning rate that overshoots on the synthetic glyphs, so that the
/// validation loss rises and patience runs out within the epochs.
fn lr_high() -> mlp_engine::Hyper {
    mlp_engine::Hyper { learning_rate: 2.0, momentum: 0.9 }
}

#[test]
fn a_completed_run_extended_equals_the_longer_run() {
    let split = split();
    let short = TrainConfig { hidden: 10, epochs: 4, batch_size: Some(100), ..TrainConfig::default() };
    let long = TrainConfig { epochs: 8, ..short.clone() };
    let first = train(&split, &short, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(first.stop, StopReason::Completed);
    let resumed = train_from(&split, &long, Some(first.checkpoint.clone()), |_| ControlFlow::Continue(())).unwrap();
    let straight = train(&split, &long, |_| ControlFlow::Continue(())).unwrap();
    assert_same_run(&resumed, &straight, "extended");
    assert!(resumed.wall_seconds >= first.wall_seconds, "the wall time covers both segments");
}

#[test]
fn other_data_settings_or_a_diverged_run_are_refused() {
    let split = split();
    let config = TrainConfig { hidden: 10, epochs: 3, ..TrainConfig::default() };
    let done = train(&split, &config, |_| ControlFlow::Continue(())).unwrap();
    let refused = |s: &Split, c: &TrainConfig, ck: Checkpoint| {
        train_from(s, c, Some(ck), |_| ControlFlow::Continue(())).expect_err("must be refused").to_string()
    };
    let other_split = Dataset::synthetic(500, 7).into_split(300, 120, 522).unwrap();
    assert!(refused(&other_split, &config, done.checkpoint.clone()).contains("the run trained on"));
    let other_lr = TrainConfig { hyper: mlp_engine::Hyper { learning_rate: 0.2, momentum: 0.9 }, ..config.clone() };
    assert!(refused(&split, &other_lr, done.checkpoint.clone()).contains("settings"));
    let fewer = TrainConfig { epochs: 2, ..config.clone() };
    assert!(refused(&split, &fewer, done.checkpoint.clone()).contains("has done 3"));
    let wild = TrainConfig { hyper: mlp_engine::Hyper { learning_rate: 1e30, momentum: 0.9 }, ..config.clone() };
    let diverged = train(&split, &wild, |_| ControlFlow::Continue(())).unwrap();
    assert!(matches!(diverged.checkpoint.state, RunState::Diverged { .. }));
    assert!(refused(&split, &wild, diverged.checkpoint).contains("diverged"));
}
