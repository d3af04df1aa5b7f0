//! [`Dataset`]: the images and labels of this task in memory, assembled
//! from decoded arrays and checked (shapes, finite values, the 0–1 pixel
//! scale, labels within the classes), loaded from an `.npz`, an IDX pair, a
//! folder of IDX pairs or the synthetic glyphs; and the classes and image
//! size of this task.

use std::path::Path;

use rayon::prelude::*;

use crate::data::file::read_regular_file;
use crate::data::idx_files::{decode_idx, idx_pairs, mixed_image_sizes, read_idx};
use crate::data::npy::Elements;
use crate::data::{npz, synth};
use crate::error::{Error, ErrorKind, Result};

/// The classes of this task: the letters A–J.
pub const CLASSES: usize = 10;

/// Values per image of this task: 28×28 pixels.
pub const FEATURES: usize = synth::SIDE * synth::SIDE;

/// Images (one row each, values as given or scaled to [0, 1]) and labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// (N, D) row-major.
    pub images: Vec<f32>,
    /// (N), each below [`CLASSES`].
    pub labels: Vec<u8>,
    /// D: values per image.
    pub features: usize,
    /// Where the rows came from, for run headers and summaries.
    pub source: String,
}

impl Dataset {
    /// Images (and labels).
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// The built-in synthetic glyphs, `rows` of them.
    pub fn synthetic(rows: usize, seed: u64) -> Dataset {
        let (images, labels) = synth::glyphs(rows, seed);
        Dataset {
            images,
            labels,
            features: synth::SIDE * synth::SIDE,
            source: format!("built-in synthetic glyphs A-J ({rows} rows)"),
        }
    }

    /// Assembles and checks a data set from decoded arrays. Errors about the
    /// images name `image_path`, about the labels `label_path` (the same file
    /// for an `.npz`).
    fn from_arrays(
        images: (&[usize], Elements),
        labels: (&[usize], Elements),
        source: String,
        image_path: &Path,
        label_path: &Path,
    ) -> Result<Dataset> {
        let path = image_path;
        let (image_shape, image_values) = images;
        let (label_shape, label_values) = labels;
        let (rows, features) = check_shapes(image_shape, label_shape, image_path, label_path)?;
        // Converted in parallel: for a large data set this is most of the setup time.
        let images = match image_values {
            Elements::U8(v) => v.par_iter().map(|&b| f32::from(b) / 255.0).collect::<Vec<f32>>(),
            Elements::F32(v) => {
                // The one arm that can hold NaN or infinity (bytes are
                // always finite; the float64 arm checks its own).
                if let Some(i) = first_where(&v, |x: &f32| !x.is_finite()) {
                    return Err(Error::new(
                        ErrorKind::NonFinite,
                        format!("image {} has a NaN or infinite value ({})", i / features, v[i]),
                    )
                    .at(path)
                    .fix("clean the data: every pixel must be a finite number"));
                }
                v
            }
            Elements::F64(v) => {
                // A finite float64 beyond float32's range would become
                // infinite: named here with the value the file holds.
                if let Some(i) = first_where(&v, |x: &f64| x.is_nan() || x.abs() > f64::from(f32::MAX)) {
                    return Err(Error::new(
                        ErrorKind::NonFinite,
                        format!(
                            "image {} has a value float32 cannot hold: NaN, infinite or beyond its range ({:e})",
                            i / features,
                            v[i]
                        ),
                    )
                    .at(path)
                    .fix("clean the data: every pixel must be a finite number within float32's range"));
                }
                v.par_iter().map(|&x| x as f32).collect()
            }
            Elements::Int(_) => {
                return Err(Error::new(ErrorKind::UnsupportedDtype, "images are a wide integer type")
                    .at(path)
                    .fix("store images as uint8 (0-255) or float32 / float64"));
            }
        };
        check_scale(&images, path)?;
        let labels = check_labels(label_values, label_path)?;
        debug_assert_eq!((images.len(), labels.len()), (rows * features, rows));
        Ok(Dataset { images, labels, features, source })
    }

    /// Reads the course file: an `.npz` with arrays `images` and `labels`.
    pub fn load_npz(path: &Path) -> Result<Dataset> {
        let bytes = read_regular_file(path)?;
        let archive = npz::Archive::open(&bytes).map_err(|e| e.at(path))?;
        let images = archive.array("images").map_err(|e| e.at(path))?;
        let labels = archive.array("labels").map_err(|e| e.at(path))?;
        let source = format!("{} (npz)", path.display());
        Dataset::from_arrays((&images.shape, images.elements), (&labels.shape, labels.elements), source, path, path)
    }

    /// Decodes an IDX image file and its label file held in memory (plain
    /// or gzipped); `source` describes them in messages.
    pub fn from_idx_bytes(images: &[u8], labels: &[u8], source: String) -> Result<Dataset> {
        let here = Path::new(&source);
        let image_array = decode_idx(images).map_err(|e| e.at(here))?;
        let label_array = decode_idx(labels).map_err(|e| e.at(here))?;
        Dataset::from_arrays(
            (&image_array.dims, image_array.elements),
            (&label_array.dims, label_array.elements),
            source.clone(),
            here,
            here,
        )
    }

    /// Reads one IDX image file and its IDX label file (plain or `.gz`).
    pub fn load_idx_pair(images: &Path, labels: &Path) -> Result<Dataset> {
        let image_array = read_idx(images)?;
        let label_array = read_idx(labels)?;
        let source = format!("{} + {} (IDX)", images.display(), labels.display());
        Dataset::from_arrays(
            (&image_array.dims, image_array.elements),
            (&label_array.dims, label_array.elements),
            source,
            images,
            labels,
        )
    }

    /// Every IDX image/label pair in a folder (`*images*` beside the same
    /// name with `labels`), in name order, as one pool. The same data given
    /// twice (a file beside its gzipped copy, or two image files of equal
    /// content) is refused: pooled, its test rows would repeat training rows.
    pub fn load_idx_dir(dir: &Path) -> Result<Dataset> {
        let pairs = idx_pairs(dir)?;
        let mut pool: Option<Dataset> = None;
        // (rows range, fingerprint) of each pair already pooled.
        let mut seen: Vec<(std::ops::Range<usize>, u64, &Path)> = Vec::new();
        for (images, labels) in &pairs {
            let part = Dataset::load_idx_pair(images, labels)?;
            let mut all = match pool {
                None => {
                    Dataset { images: Vec::new(), labels: Vec::new(), features: part.features, source: String::new() }
                }
                Some(all) => all,
            };
            if all.features != part.features {
                return Err(mixed_image_sizes(part.features, all.features, images));
            }
            let print = fingerprint(&part.images);
            let d = part.features;
            let twin = seen.iter().find(|(rows, p, _)| {
                *p == print && rows.len() == part.rows() && all.images[rows.start * d..rows.end * d] == part.images[..]
            });
            if let Some((_, _, first)) = twin {
                return Err(Error::new(
                    ErrorKind::Duplicate,
                    format!(
                        "holds the same images as {}; pooled, test rows would repeat training rows",
                        first.display()
                    ),
                )
                .at(images)
                .fix("keep one copy of each data set in the folder"));
            }
            seen.push((all.rows()..all.rows() + part.rows(), print, images));
            all.images.extend_from_slice(&part.images);
            all.labels.extend_from_slice(&part.labels);
            pool = Some(all);
        }
        let mut pool = pool.ok_or_else(|| Error::new(ErrorKind::Empty, "no IDX pairs").at(dir))?;
        pool.source = format!(
            "{} ({} IDX pair{}, {} rows)",
            dir.display(),
            pairs.len(),
            if pairs.len() == 1 { "" } else { "s" },
            pool.rows()
        );
        Ok(pool)
    }
}

/// The largest pixel of float images that reads as the 0–1 scale, with
/// room for rounding in whatever scaled them (1/255 steps summed in float32
/// stay far below it).
const MAX_UNIT_PIXEL: f32 = 1.01;

/// Refuses float images on the 0–255 scale of bytes: the network expects
/// pixels in [0, 1], and on 0–255 it trains to chance with a loss in the
/// hundreds. Only images that are all within [0, 255] with some above
/// [`MAX_UNIT_PIXEL`] are refused: other scales (negative values, centred
/// data) are the caller's choice.
fn check_scale(images: &[f32], path: &Path) -> Result<()> {
    const BLOCK: usize = 1 << 16;
    let (low, high) = images
        .par_chunks(BLOCK)
        .map(|block| block.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v))))
        .reduce(|| (f32::INFINITY, f32::NEG_INFINITY), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    if low >= 0.0 && high > MAX_UNIT_PIXEL && high <= 255.0 {
        return Err(Error::new(
            ErrorKind::BadScale,
            format!("the float images hold values from {low} to {high}: a 0-255 scale, where pixels must be 0-1"),
        )
        .at(path)
        .fix(
            "divide the images by 255 before saving them, or store them as uint8 (0-255), which is scaled on loading",
        ));
    }
    Ok(())
}

/// Index of the first value that is `bad`. Blocks of 64K values are
/// checked on all threads by a loop without an early exit (which
/// vectorises); only the first bad block is searched value by value.
fn first_where<T: Sync>(values: &[T], bad: impl Fn(&T) -> bool + Sync) -> Option<usize> {
    const BLOCK: usize = 1 << 16;
    let any_bad = |block: &[T]| block.iter().fold(false, |found, v| found | bad(v));
    let block = values.par_chunks(BLOCK).position_first(any_bad)?;
    values[block * BLOCK..].iter().position(&bad).map(|i| block * BLOCK + i)
}

/// A hash of image values, to find equal files cheaply before comparing them.
fn fingerprint(values: &[f32]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    values.len().hash(&mut h);
    values.iter().for_each(|v| v.to_bits().hash(&mut h));
    h.finish()
}

/// Checks that images of `image_shape` and labels of `label_shape` form a
/// data set; returns its rows and values per image. Used on headers alone
/// (to probe) and on decoded arrays (to load), so both refuse the same files.
pub(crate) fn check_shapes(
    image_shape: &[usize],
    label_shape: &[usize],
    image_path: &Path,
    label_path: &Path,
) -> Result<(usize, usize)> {
    let path = image_path;
    let Some((&rows, rest)) = image_shape.split_first() else {
        return Err(Error::new(ErrorKind::BadShape, "images are a scalar, not an array of images")
            .at(path)
            .fix("store images as (N, 28, 28) or (N, 784)"));
    };
    if rest.is_empty() {
        return Err(Error::new(
            ErrorKind::BadShape,
            format!("images have shape {image_shape:?}; each image needs values"),
        )
        .at(path)
        .fix("store images as (N, 28, 28) or (N, 784); a 1-D array looks like labels, so check that images and labels are not swapped"));
    }
    // Checked: with a leading 0 the header's element count is 0 whatever
    // the other dimensions, so it does not bound their product.
    let Some(features) = rest.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return Err(Error::new(
            ErrorKind::BadShape,
            format!("images have shape {image_shape:?}, too many values each"),
        )
        .at(path)
        .fix("store images as (N, 28, 28) or (N, 784)"));
    };
    if label_shape.len() != 1 {
        return Err(Error::new(ErrorKind::BadShape, format!("labels have shape {label_shape:?}, not (N,)"))
            .at(label_path)
            .fix("store one integer label per image, shape (N,)"));
    }
    if label_shape[0] != rows {
        let other = if label_path == image_path { String::new() } else { format!(" in {}", label_path.display()) };
        return Err(Error::new(
            ErrorKind::CountMismatch,
            format!("{rows} images but {} labels{other}", label_shape[0]),
        )
        .at(path)
        .fix("images and labels must come from the same data set, one label per image"));
    }
    if rows == 0 || features == 0 {
        return Err(Error::new(ErrorKind::Empty, "the data set has no images")
            .at(path)
            .fix("pass a data set with at least one image"));
    }
    Ok((rows, features))
}

/// Checks labels and narrows them to `u8`. Every error names `label_path`,
/// the file that holds the labels, not the images beside them.
fn check_labels(values: Elements, label_path: &Path) -> Result<Vec<u8>> {
    let raw: Vec<i64> = match values {
        Elements::U8(v) => return check_label_range(v.iter().map(|&y| i64::from(y)), v.len(), label_path),
        Elements::Int(v) => v,
        other => {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("labels are {}, not integers", other.type_name()),
            )
            .at(label_path)
            .fix("store labels as integers 0-9"));
        }
    };
    check_label_range(raw.iter().copied(), raw.len(), label_path)
}

fn check_label_range(values: impl Iterator<Item = i64>, len: usize, label_path: &Path) -> Result<Vec<u8>> {
    let mut labels = Vec::with_capacity(len);
    for (i, y) in values.enumerate() {
        if !(0..CLASSES as i64).contains(&y) {
            return Err(Error::new(ErrorKind::LabelOutOfRange, format!("label {i} is {y}, outside 0-{}", CLASSES - 1))
                .at(label_path)
                .fix("labels must be the classes 0-9 (letters A-J)"));
        }
        labels.push(y as u8);
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_non_finite_value_is_found_in_any_block() {
        let first_non_finite = |values: &[f32]| first_where(values, |v: &f32| !v.is_finite());
        let mut values = vec![0.5f32; 200_000];
        assert_eq!(first_non_finite(&values), None);
        values[180_000] = f32::INFINITY;
        values[150_001] = f32::NAN;
        assert_eq!(first_non_finite(&values), Some(150_001));
        values[65_536] = f32::NEG_INFINITY;
        assert_eq!(first_non_finite(&values), Some(65_536));
        values[0] = f32::NAN;
        assert_eq!(first_non_finite(&values), Some(0));
        assert_eq!(first_non_finite(&[]), None);
    }

    #[test]
    fn float_images_on_the_byte_scale_are_refused_and_others_kept() {
        let path = Path::new("x.npz");
        let mut pixels = vec![0.25f32; 100_000];
        assert!(check_scale(&pixels, path).is_ok());
        // Rounding just above 1 is still the unit scale.
        pixels[7] = 1.0 + 1e-6;
        assert!(check_scale(&pixels, path).is_ok());
        pixels[90_000] = 255.0;
        let e = check_scale(&pixels, path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadScale);
        assert!(e.to_string().contains("0.25 to 255") && e.to_string().contains("divide the images by 255"), "{e}");
        pixels[90_000] = 2.0;
        assert_eq!(check_scale(&pixels, path).unwrap_err().kind(), ErrorKind::BadScale);
        // Centred data (negative values) is another scale, not a misread one.
        pixels[3] = -1.5;
        assert!(check_scale(&pixels, path).is_ok());
        assert!(check_scale(&[], path).is_ok());
    }
}
