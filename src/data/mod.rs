//! Data sets: loading images and labels from the course's `.npz`, from
//! MNIST-family IDX files or from the built-in synthetic glyphs, checking
//! them, and splitting them as the course does.
//!
//! Every file is read through [`file::read_regular_file`] (only regular
//! files, bounded reads); every error names the file that is wrong (label
//! errors the label file). A [`Split`] keeps all rows in one matrix in the
//! order train, valid, test, so one forward GEMM covers every row of an
//! epoch; [`Dataset::into_split`] makes it without a second copy.
//!
//! This file is the module's table of contents; each file owns one thing:
//!
//! | file | owns |
//! |---|---|
//! | `dataset.rs` | [`Dataset`], its checks and loaders; [`CLASSES`], [`FEATURES`] |
//! | `split.rs` | [`Split`], shuffling and cutting a data set, [`default_split`] |
//! | `source.rs` | [`DataSource`]: naming a data set, probing its size, loading it |
//! | `idx_files.rs` | IDX files on disk ([`read_idx`]) and the pairs of an IDX folder |
//! | [`file`](mod@file) | reading only regular files, within memory |
//! | [`npy`], [`npz`], [`idx`] | the file formats |
//! | [`bytes`], [`deflate`] | bounded byte reading and inflating |
//! | [`shuffle`], [`synth`] | numpy's shuffle; the synthetic glyphs |
//! | `memory.rs` | the machine's memory ([`machine_memory_bytes`]) |

pub mod bytes;
mod dataset;
pub mod deflate;
pub mod file;
pub mod idx;
mod idx_files;
mod memory;
pub mod npy;
pub mod npz;
pub mod shuffle;
pub mod source;
mod split;
pub mod synth;

pub use dataset::{CLASSES, Dataset, FEATURES};
pub use file::read_regular_file as read_file;
pub use idx_files::read_idx;
pub use memory::machine_memory_bytes;
pub use source::{DataShape, DataSource};
pub use split::{Split, default_split};
