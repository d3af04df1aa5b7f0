//! [`Split`]: a data set shuffled as the course shuffles it and cut into
//! training, validation and test rows, made in place by
//! [`Dataset::into_split`]; the checks of a split's sizes and the default
//! sizes for a data set.

use crate::data::dataset::Dataset;
use crate::data::shuffle;
use crate::error::{Error, ErrorKind, Result};

/// A shuffled data set: rows `0..train` train, then `valid`, then `test`.
#[derive(Clone, Debug)]
pub struct Split {
    /// (train + valid + test, D) row-major.
    pub images: Vec<f32>,
    /// (train + valid + test), each below [`CLASSES`](super::CLASSES).
    pub labels: Vec<u8>,
    /// D: values per image.
    pub features: usize,
    /// Training rows (the first ones).
    pub train: usize,
    /// Validation rows (after the training rows).
    pub valid: usize,
    /// Test rows (the rest).
    pub test: usize,
    /// Where the rows came from.
    pub source: String,
}

impl Split {
    /// All rows: train, valid and test.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Row ranges of the three parts.
    pub fn ranges(&self) -> [(&'static str, std::ops::Range<usize>); 3] {
        let (a, b) = (self.train, self.train + self.valid);
        [("train", 0..a), ("valid", a..b), ("test", b..self.rows())]
    }

    /// The images (row after row, as [`Network::predict`](crate::Network::predict)
    /// takes them) and the labels of the test rows.
    pub fn test_rows(&self) -> (&[f32], &[u8]) {
        let start = self.train + self.valid;
        (&self.images[start * self.features..], &self.labels[start..])
    }
}

impl Dataset {
    /// Shuffles the rows as `np.random.seed(seed); np.random.shuffle(idx)`
    /// and splits them into `train`, `valid` and the rest as test. Keeps
    /// `self`, so it holds two copies of the images at once; see
    /// [`Dataset::into_split`] for one.
    pub fn split(&self, train: usize, valid: usize, seed: u32) -> Result<Split> {
        check_split(self.rows(), train, valid)?;
        self.clone().into_split(train, valid, seed)
    }

    /// [`Dataset::split`], consuming the data set: the rows are permuted in
    /// place (following the permutation's cycles with one spare row), so
    /// the images are held once, not twice.
    pub fn into_split(mut self, train: usize, valid: usize, seed: u32) -> Result<Split> {
        let n = self.rows();
        check_split(n, train, valid)?;
        let order = shuffle::numpy_permutation(n, seed);
        permute_rows(&mut self.images, &mut self.labels, self.features, &order);
        let Dataset { images, labels, features, source } = self;
        Ok(Split { images, labels, features, train, valid, test: n - train - valid, source })
    }
}

/// Refuses a split that does not fit `n` rows (or that numpy's shuffle
/// cannot draw: more than 2^32 rows).
fn check_split(n: usize, train: usize, valid: usize) -> Result<()> {
    if train == 0 {
        return Err(Error::new(ErrorKind::BadSplit, "the split has no training rows")
            .for_setting("train")
            .fix("split with `train` of 1 or more"));
    }
    if train.checked_add(valid).is_none_or(|s| s > n) {
        return Err(Error::new(
            ErrorKind::BadSplit,
            format!("split {train},{valid} needs {} rows but the data has {n}", train.saturating_add(valid)),
        )
        .for_setting("split")
        .fix(split_fix(n)));
    }
    if n > u32::MAX as usize {
        return Err(Error::new(ErrorKind::TooLarge, format!("{n} rows are more than the shuffle can order (2^32)"))
            .fix("use a smaller data set"));
    }
    Ok(())
}

/// The default `(train, valid)` sizes for a data set of `rows` images: the
/// course split 10,000 / 6,000 (test the rest) when the data has more than
/// 16,000 rows, as the course file does; else 60% / 20% (test the rest).
pub fn default_split(rows: usize) -> (usize, usize) {
    if rows > 16_000 {
        (10_000, 6_000)
    } else {
        (rows / 10 * 6 + rows % 10 * 6 / 10, rows / 10 * 2 + rows % 10 * 2 / 10)
    }
}

/// How to split `n` rows instead, in the library's words.
fn split_fix(n: usize) -> String {
    if n < 2 {
        return "use more data: a split needs at least one training and one validation row".into();
    }
    let (train, valid) = default_split(n);
    let (train, valid) = (train.max(1), valid.clamp(1, n - train.max(1)));
    format!("ask for at most {n} rows in `train` + `valid`, e.g. train {train}, valid {valid} (`data::default_split`)")
}

/// Reorders rows in place so that row `r` becomes old row `order[r]`:
/// each cycle of the permutation is followed with one spare row, so no
/// second copy of the images is made.
fn permute_rows(images: &mut [f32], labels: &mut [u8], d: usize, order: &[usize]) {
    let mut done = vec![false; order.len()];
    let mut spare = vec![0f32; d];
    for start in 0..order.len() {
        if done[start] {
            continue;
        }
        spare.copy_from_slice(&images[start * d..(start + 1) * d]);
        let spare_label = labels[start];
        let mut j = start;
        loop {
            done[j] = true;
            let k = order[j];
            if k == start {
                images[j * d..(j + 1) * d].copy_from_slice(&spare);
                labels[j] = spare_label;
                break;
            }
            // Row k is read before its own turn to be overwritten.
            images.copy_within(k * d..(k + 1) * d, j * d);
            labels[j] = labels[k];
            j = k;
        }
    }
}
