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
//! Modules, in the order a reader meets them:
//! - [`matrix`]: row-major matrix types and the one GEMM entry point;
//! - [`layout`]: the size/offset table of the flat parameter buffers;
//! - [`simd`], [`passes`]: the fused elementwise passes, AVX2/FMA or portable;
//! - [`engine`]: network, workspace, forward / backward / update;
//! - [`reference`]: the naive f64 oracle with the assignment's function names;
//! - [`rng`]: the seeded generator for initialisation;
//! - [`data`]: .npy/.npz/IDX readers, numpy's shuffle, the synthetic glyphs;
//! - [`train`]: the epoch loop, early stopping, divergence;
//! - [`model`], [`run`], [`plot`], [`json`]: what a run writes;
//! - [`bench`]: the `bench` and `profile` measurements; [`system`]: machine facts;
//! - [`cli`]: the `mlp` command line, parsed into plain structs;
//! - [`commands`]: what each command does.

/// `println!` for command output that ignores a closed stdout (as in
/// `mlp eval | head -1`) instead of panicking.
macro_rules! say {
    () => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` with the same closed-stdout tolerance as [`say!`].
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

pub mod bench;
pub mod cli;
pub mod commands;
pub mod data;
pub mod engine;
pub mod error;
pub mod json;
pub mod layout;
pub mod matrix;
pub mod model;
pub mod passes;
pub mod plot;
pub mod reference;
pub mod rng;
pub mod run;
pub mod simd;
pub mod system;
pub mod train;

pub use engine::{DEFAULT_VELOCITY_INIT, Hyper, Metrics, Network, Workspace};
pub use error::{Error, ErrorKind};
pub use layout::{Layout, Tensor};
pub use matrix::{MatMut, MatRef, Matrix, gemm, gemm_par};
pub use simd::SimdPath;
