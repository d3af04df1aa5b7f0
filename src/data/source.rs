//! Where a data set comes from: a [`DataSource`] names it, [`DataSource::probe`]
//! reads only its headers to learn its size (so a caller can check memory
//! before anything large is decoded), and [`DataSource::load`] decodes it.

use std::path::{Path, PathBuf};

use crate::data::{Dataset, synth};
use crate::error::{Error, ErrorKind, Result};

/// The course's own file, used by default when it is present.
pub const COURSE_FILE: &str = "data/notMNIST.npz";

/// The real notMNIST sample shipped with the crate (10,000 glyphs, 1,000 per
/// letter, MIT-licensed IDX conversion; see `data/notmnist-t10k/README.md`),
/// built into the library so that it loads from anywhere.
const SAMPLE_IMAGES: &[u8] = include_bytes!("../../data/notmnist-t10k/t10k-images-idx3-ubyte.gz");
const SAMPLE_LABELS: &[u8] = include_bytes!("../../data/notmnist-t10k/t10k-labels-idx1-ubyte.gz");

/// A data set to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    /// An `.npz` with arrays `images` and `labels` (the course's format).
    Npz(PathBuf),
    /// One IDX image file and its label file, plain or gzipped.
    IdxPair {
        /// The `*images*` file.
        images: PathBuf,
        /// The `*labels*` file.
        labels: PathBuf,
    },
    /// Every IDX image/label pair in a folder, pooled.
    IdxDir(PathBuf),
    /// The built-in real notMNIST sample (10,000 rows).
    Sample,
    /// The built-in synthetic glyphs.
    Synthetic {
        /// How many.
        rows: usize,
        /// Which ones: row `i` depends only on `(seed, i)`.
        seed: u64,
    },
}

/// The size of a data set, known from headers alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataShape {
    /// Images.
    pub rows: usize,
    /// Values per image.
    pub features: usize,
    /// The most memory loading takes at once: the files' bytes, their
    /// decoded arrays and the `f32` images together.
    pub load_bytes: u64,
}

impl DataShape {
    /// Bytes the loaded data set holds: `f32` images and `u8` labels.
    pub fn dataset_bytes(&self) -> u64 {
        (self.rows as u64).saturating_mul(self.features as u64).saturating_mul(4).saturating_add(self.rows as u64)
    }
}

impl DataSource {
    /// The default: the course file when it exists, else the built-in sample.
    pub fn default_source() -> DataSource {
        let course = Path::new(COURSE_FILE);
        if course.is_file() { DataSource::Npz(course.to_path_buf()) } else { DataSource::Sample }
    }

    /// The file or folder a `--data` path names: a folder of IDX files or an `.npz`.
    pub fn from_path(path: &Path) -> Result<DataSource> {
        if path.is_dir() {
            return Ok(DataSource::IdxDir(path.to_path_buf()));
        }
        if path.extension().and_then(|e| e.to_str()) == Some("npz") || !path.exists() {
            return Ok(DataSource::Npz(path.to_path_buf()));
        }
        Err(Error::new(ErrorKind::BadMagic, "this is neither an .npz file nor a folder of IDX files")
            .at(path)
            .fix("pass an .npz or a folder; for one pair of IDX files use --images FILE --labels FILE"))
    }

    /// Reads only what is needed to know the data set's size.
    pub fn probe(&self) -> Result<DataShape> {
        match self {
            DataSource::Synthetic { rows, .. } => {
                let features = synth::SIDE * synth::SIDE;
                let bytes = (*rows as u64).saturating_mul(features as u64).saturating_mul(4);
                Ok(DataShape { rows: *rows, features, load_bytes: bytes })
            }
            other => {
                let data = other.load()?;
                let shape = DataShape { rows: data.rows(), features: data.features, load_bytes: 0 };
                Ok(DataShape { load_bytes: shape.dataset_bytes(), ..shape })
            }
        }
    }

    /// Loads and checks the data set.
    pub fn load(&self) -> Result<Dataset> {
        match self {
            DataSource::Npz(path) => Dataset::load_npz(path),
            DataSource::IdxPair { images, labels } => Dataset::load_idx_pair(images, labels),
            DataSource::IdxDir(dir) => Dataset::load_idx_dir(dir),
            DataSource::Sample => Dataset::from_idx_bytes(
                SAMPLE_IMAGES,
                SAMPLE_LABELS,
                "built-in notMNIST sample (data/notmnist-t10k, 10000 rows)".into(),
            ),
            DataSource::Synthetic { rows, seed } => Ok(Dataset::synthetic(*rows, *seed)),
        }
    }
}

/// The default `(train, valid)` sizes for a data set of `rows` images: the
/// course split 10,000 / 6,000 (test the rest) when the data has more than
/// 16,000 rows, as the course file does; else 60% / 20% (test the rest).
pub fn default_split(rows: usize) -> (usize, usize) {
    if rows > 16_000 { (10_000, 6_000) } else { (rows * 6 / 10, rows * 2 / 10) }
}

/// Total memory of this machine in bytes (Linux `MemTotal`), if readable.
pub fn machine_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}
