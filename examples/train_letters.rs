//! Trains the course network on the real notMNIST letters shipped with the
//! crate and prints its accuracy: the library used from a program of your own.
//!
//! Run with `cargo run --release --example train_letters`.

use std::ops::ControlFlow;

use mlp_engine::data::{DataSource, default_split};
use mlp_engine::training::model;
use mlp_engine::{TrainConfig, train};

fn main() -> Result<(), mlp_engine::Error> {
    // 10,000 real glyphs of the letters A–J, built into the library.
    let data = DataSource::Sample.load()?;
    let (train_rows, valid_rows) = default_split(data.rows()); // 6,000 and 2,000
    let split = data.split(train_rows, valid_rows, 521)?;

    // The assignment's settings, with fewer hidden units and epochs so the
    // example takes a few seconds.
    let config = TrainConfig { hidden: 100, epochs: 50, ..TrainConfig::default() };
    let outcome = train(&split, &config, |record| {
        if record.epoch % 10 == 0 {
            println!("epoch {:>3}: valid accuracy {:.4}", record.epoch, record.valid.accuracy);
        }
        ControlFlow::Continue(())
    })?;

    let [_, valid, test] = outcome.model_metrics;
    println!(
        "after {} epochs: valid accuracy {:.4}, test accuracy {:.4}",
        outcome.history.len(),
        valid.accuracy,
        test.accuracy
    );
    let bytes = model::to_npz(&outcome.network)?;
    println!("model.npz would take {} bytes (np.load reads it)", bytes.len());
    Ok(())
}
