//! A fast, self-contained engine for the two-layer network of the classic
//! "Neural Networks using NumPy" assignment: `D → H (ReLU) → C (softmax)`,
//! mean cross-entropy, full-batch gradient descent with momentum, in `f32`.
//!
//! Dimension letters used in every shape comment:
//!
//! | letter | meaning | the assignment's value |
//! |---|---|---|
//! | N | rows in a pass (training, validation and test rows together) | 18,724 |
//! | T | training rows of a step (the first T of the N) | 10,000 |
//! | D | inputs per row | 784 (28×28) |
//! | H | hidden units | 1000 |
//! | C | classes | 10 (letters A–J) |
//!
//! The crate has three layers, each a module:
//! - [`engine`]: matrix views over `sgemm`, the flat parameter layout, the
//!   fused SIMD passes, the network and its workspace, the naive reference;
//! - [`data`]: the .npy/.npz/IDX readers, numpy's shuffle, the synthetic
//!   glyphs, data sets and their split;
//! - [`training`]: the epoch loop (early stopping, divergence), checkpoints
//!   to continue a run from, and the model file.
//!
//! The `mlp` command-line tool is built on these and is not part of the library.
//!
//! Speed needs an optimised build: a debug build of the engine runs about
//! 40 times slower. `docs/library.md` in the repository shows how a
//! program that depends on the crate builds it optimised, and walks
//! through training, prediction ([`Network::predict`],
//! [`Network::predict_proba`]), errors and the training step.
//!
//! # Example
//!
//! Load a data set, split it as the course does, train with a per-epoch
//! callback, and save the model:
//!
//! ```
//! use std::ops::ControlFlow;
//! use std::path::Path;
//!
//! use mlp_engine::data::DataSource;
//! use mlp_engine::training::model;
//! use mlp_engine::{TrainConfig, train};
//!
//! // `DataSource::Sample` is the real notMNIST sample built into the crate;
//! // `Npz`, `IdxPair` and `IdxDir` read files. Synthetic glyphs keep this quick.
//! let data = DataSource::Synthetic { rows: 600, seed: 1 }.load()?;
//! let split = data.split(400, 100, 521)?; // numpy's shuffle with seed 521; test is the rest
//! let config = TrainConfig { hidden: 32, epochs: 20, ..TrainConfig::default() };
//! let outcome = train(&split, &config, |epoch| {
//!     // Called after every epoch; `ControlFlow::Break(())` stops the run here.
//!     assert!(epoch.train.loss.is_finite());
//!     ControlFlow::Continue(())
//! })?;
//! let [_, valid, _] = outcome.model_metrics;
//! assert!(valid.accuracy > 0.3, "ten classes: chance is 0.1");
//!
//! let bytes = model::to_npz(&outcome.network)?; // what `np.load` opens
//! let again = model::from_npz(&bytes, Path::new("model.npz"))?;
//! assert_eq!(again.params(), outcome.network.params());
//! # Ok::<(), mlp_engine::Error>(())
//! ```

#![warn(missing_docs)]

mod error;

pub mod data;
pub mod engine;
pub mod training;

pub use data::{CLASSES, Dataset, Split};
pub use engine::{Layout, Metrics, MomentumSgd, Network, Prediction, Workspace};
pub use error::{Error, ErrorKind, Result};
pub use training::{Checkpoint, train_from};
pub use training::{EpochRecord, StopReason, TrainConfig, TrainOutcome, train};

/// The guide for programs that use the library, `docs/library.md`, built
/// only for doc tests: each of its Rust blocks is a whole program that
/// `cargo test --doc` compiles and runs, so the guide stays true as pasted.
#[cfg(doctest)]
#[doc = include_str!("../docs/library.md")]
pub struct LibraryGuide;

/// The README, built only for doc tests: its Rust example is compiled and
/// run as it stands there, so it works as pasted.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;
