//! Where a data set comes from: a [`DataSource`] names it, [`DataSource::probe`]
//! reads only its headers to learn its size (so a caller can check memory
//! before anything large is decoded), and [`DataSource::load`] decodes it.

use std::path::{Path, PathBuf};

use crate::data::dataset::{Dataset, check_shapes};
use crate::data::file::{open_regular, read_regular_prefix};
use crate::data::idx::{self, IdxHeader};
use crate::data::idx_files::{idx_pairs, mixed_image_sizes};
use crate::data::{npz, synth};
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
    /// An upper bound of the memory loading takes at once: the files'
    /// bytes, their decompressed bytes, the decoded arrays and the `f32`
    /// images and labels, all counted as if held together (saturating, so
    /// a hostile header gives `u64::MAX`, never a wrapped small number).
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

    /// Reads only headers to learn the data set's size, and checks that
    /// images and labels fit together, so that a caller can refuse a data
    /// set that would not fit in memory before anything large is decoded:
    /// of an `.npz` only the end records, the directory
    /// and the two members' `.npy` headers are read (of a deflated member,
    /// only a header-sized prefix is inflated); of an IDX file only the
    /// header is read (of a `.gz`, only the first bytes inflated).
    pub fn probe(&self) -> Result<DataShape> {
        match self {
            DataSource::Synthetic { rows, .. } => {
                let shape = DataShape { rows: *rows, features: synth::SIDE * synth::SIDE, load_bytes: 0 };
                Ok(DataShape { load_bytes: shape.dataset_bytes(), ..shape })
            }
            DataSource::Npz(path) => probe_npz(path),
            DataSource::IdxPair { images, labels } => {
                let (image, label) = (probe_idx_file(images)?, probe_idx_file(labels)?);
                pair_shape(image, label, images, labels)
            }
            DataSource::IdxDir(dir) => probe_idx_dir(dir),
            DataSource::Sample => {
                let here = Path::new("built-in notMNIST sample");
                let image = probe_idx_bytes(SAMPLE_IMAGES, SAMPLE_IMAGES.len() as u64).map_err(|e| e.at(here))?;
                let label = probe_idx_bytes(SAMPLE_LABELS, SAMPLE_LABELS.len() as u64).map_err(|e| e.at(here))?;
                pair_shape(image, label, here, here)
            }
        }
    }

    /// Loads and checks the data set.
    pub fn load(&self) -> Result<Dataset> {
        match self {
            DataSource::Npz(path) => Dataset::load_npz(path),
            DataSource::IdxPair { images, labels } => Dataset::load_idx_pair(images, labels),
            DataSource::IdxDir(dir) => Dataset::load_idx_dir(dir),
            DataSource::Sample => {
                Dataset::from_idx_bytes(SAMPLE_IMAGES, SAMPLE_LABELS, "built-in notMNIST sample (10000 rows)".into())
            }
            DataSource::Synthetic { rows, seed } => Ok(Dataset::synthetic(*rows, *seed)),
        }
    }
}

/// What loading one IDX file holds: its header and the bytes of the file
/// and of its decompressed copy (0 for a plain file).
struct IdxProbe {
    header: IdxHeader,
    file_bytes: u64,
    inflated_bytes: u64,
}

impl IdxProbe {
    /// Peak bytes while this file is loaded, before its values are converted.
    fn load_bytes(&self) -> u64 {
        self.file_bytes.saturating_add(self.inflated_bytes).saturating_add(self.header.decoded_bytes())
    }
}

/// The header of an IDX file, reading only its first bytes.
fn probe_idx_file(path: &Path) -> Result<IdxProbe> {
    // Enough for any gzip header with a name and comment, and the IDX header.
    let (prefix, len) = read_regular_prefix(path, 1 << 18)?;
    probe_idx_bytes(&prefix, len).map_err(|e| e.at(path))
}

/// The header of IDX bytes (plain or gzip) whose whole file is `file_len` bytes.
fn probe_idx_bytes(prefix: &[u8], file_len: u64) -> Result<IdxProbe> {
    if idx::is_gzip(prefix) {
        let header = idx::gzip_header(prefix)?;
        let inflated_bytes = header.file_len() as u64;
        return Ok(IdxProbe { header, file_bytes: file_len, inflated_bytes });
    }
    let header = idx::parse_header(prefix)?;
    // A plain file's length is known: it must be exactly what the header declares.
    crate::data::bytes::check_data_len(
        header.data_len,
        usize::try_from(file_len.saturating_sub(header.data_offset as u64)).unwrap_or(usize::MAX),
        &header.dims,
    )?;
    Ok(IdxProbe { header, file_bytes: file_len, inflated_bytes: 0 })
}

/// The data set an image file and a label file form, and the memory loading them takes.
fn pair_shape(image: IdxProbe, label: IdxProbe, images: &Path, labels: &Path) -> Result<DataShape> {
    let (rows, features) = check_shapes(&image.header.dims, &label.header.dims, images, labels)?;
    let shape = DataShape { rows, features, load_bytes: 0 };
    let load_bytes = image.load_bytes().saturating_add(label.load_bytes()).saturating_add(shape.dataset_bytes());
    Ok(DataShape { load_bytes, ..shape })
}

/// An `.npz` data set's size from its directory and its members' headers,
/// reading only those parts of the file.
fn probe_npz(path: &Path) -> Result<DataShape> {
    let (file, file_len) = open_regular(path)?;
    let archive = npz::Archive::open_file(&file, file_len).map_err(|e| e.at(path))?;
    let (images, image_len) = archive.array_header("images").map_err(|e| e.at(path))?;
    let (labels, label_len) = archive.array_header("labels").map_err(|e| e.at(path))?;
    let (rows, features) = check_shapes(&images.shape, &labels.shape, path, path)?;
    let shape = DataShape { rows, features, load_bytes: 0 };
    // The file, each member's decompressed bytes and decoded values, the f32
    // images (an upper bound: a stored member is read in place, not copied).
    let load_bytes = [file_len, image_len as u64, images.decoded_bytes(), label_len as u64, labels.decoded_bytes()]
        .iter()
        .fold(shape.dataset_bytes(), |sum, &b| sum.saturating_add(b));
    Ok(DataShape { load_bytes, ..shape })
}

/// A folder's pooled size: every pair probed, the pool counted twice (it
/// grows by doubling) on top of the largest pair's loading.
fn probe_idx_dir(dir: &Path) -> Result<DataShape> {
    let (mut rows, mut features, mut part_peak) = (0usize, None, 0u64);
    for (images, labels) in idx_pairs(dir)? {
        let part = pair_shape(probe_idx_file(&images)?, probe_idx_file(&labels)?, &images, &labels)?;
        if let Some(earlier) = features.filter(|&f| f != part.features) {
            return Err(mixed_image_sizes(part.features, earlier, &images));
        }
        features = Some(part.features);
        rows = rows.saturating_add(part.rows);
        part_peak = part_peak.max(part.load_bytes);
    }
    let shape = DataShape { rows, features: features.unwrap_or(0), load_bytes: 0 };
    Ok(DataShape { load_bytes: shape.dataset_bytes().saturating_mul(2).saturating_add(part_peak), ..shape })
}
