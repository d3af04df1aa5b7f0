//! The engine: the network `D → H (ReLU) → C (softmax)` and its training
//! step in `f32`, with the naive `f64` reference it is checked against.
//!
//! In the order a reader meets them:
//! - [`matrix`]: row-major matrix views and the only calls of `sgemm`;
//! - [`layout`]: the size/offset table of the flat parameter buffers;
//! - [`simd`], [`passes`]: the fused elementwise passes, AVX2/FMA or portable;
//! - [`fused`]: the output layer inside the hidden layer's row passes;
//! - [`network`]: the network, forward / backward / update;
//! - [`workspace`]: the scratch buffers a step runs in;
//! - [`metrics`]: mean loss, accuracy and per-row predictions;
//! - [`phase`]: the phases of a step and their timing;
//! - [`reference`](mod@reference): the naive f64 oracle with the assignment's function names;
//! - [`rng`]: the seeded generator for initialisation and batch order.

pub mod fused;
pub mod layout;
pub mod matrix;
pub mod metrics;
pub mod network;
pub mod passes;
pub mod phase;
pub mod reference;
pub mod rng;
pub mod simd;
pub mod workspace;

pub use layout::{Layout, Tensor};
pub use metrics::{Metrics, Prediction};
pub use network::{DEFAULT_VELOCITY_INIT, MomentumSgd, Network};
pub use phase::{Phase, PhaseClock, PhaseTimes};
pub use simd::SimdPath;
pub use workspace::Workspace;
