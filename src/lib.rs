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
//! - [`training`]: the epoch loop (early stopping, divergence) and the model file.
//!
//! The `mlp` command-line tool is built on these and is not part of the library.

mod error;

pub mod data;
pub mod engine;
pub mod training;

pub use data::{CLASSES, Dataset, Split};
pub use engine::{Hyper, Layout, Metrics, Network, Workspace};
pub use error::{Error, ErrorKind, Result};
pub use training::{EpochRecord, StopReason, TrainConfig, TrainOutcome, train};
