//! IDX files on disk: one file read whole (plain or gzipped, its header
//! read first so that nothing is inflated past the size it declares), and
//! the image/label file pairs of a folder, all of one image size.

use std::path::{Path, PathBuf};

use crate::data::file::read_regular_file;
use crate::data::idx;
use crate::error::{Error, ErrorKind, Result};

/// Reads an IDX file, gunzipping it when it is gzip data.
pub fn read_idx(path: &Path) -> Result<idx::IdxArray> {
    decode_idx(&read_regular_file(path)?).map_err(|e| e.at(path))
}

/// Parses IDX bytes, gunzipping them first when they are gzip data. The
/// header is read first, so the data is never inflated past the size it
/// declares.
pub(crate) fn decode_idx(raw: &[u8]) -> Result<idx::IdxArray> {
    if !idx::is_gzip(raw) {
        return idx::parse(raw);
    }
    let header = idx::gzip_header(raw)?;
    idx::parse(&idx::gunzip_limited(raw, header.file_len())?)
}

/// The image/label file pairs of an IDX folder, in name order. Refuses a
/// folder holding one data set in two forms (`X` beside `X.gz`), or none.
pub(crate) fn idx_pairs(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "read the folder", &e))?;
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    let mut pairs: Vec<(PathBuf, PathBuf)> = Vec::new();
    for image_path in &names {
        let Some(name) = image_path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.contains("images") {
            continue;
        }
        let stem = name.strip_suffix(".gz").unwrap_or(name);
        let twin = pairs.iter().find(|(p, _)| {
            let other = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            other.strip_suffix(".gz").unwrap_or(other) == stem
        });
        if let Some((other, _)) = twin {
            return Err(Error::new(
                ErrorKind::Duplicate,
                format!("the folder holds {stem} twice, as {} and as {name}", other.display()),
            )
            .at(dir)
            .fix("keep only one of the two files (the .gz or the unzipped one) in the folder"));
        }
        let label_name = name.replace("images", "labels").replace("idx3", "idx1");
        let label_path = dir.join(&label_name);
        if !label_path.exists() {
            return Err(Error::new(
                ErrorKind::MissingMember,
                format!("{name} has no label file {label_name} beside it"),
            )
            .at(dir)
            .fix("put each *images* file next to its *labels* file"));
        }
        pairs.push((image_path.clone(), label_path));
    }
    if pairs.is_empty() {
        return Err(Error::new(ErrorKind::Empty, "no IDX image files (names containing 'images') in this folder")
            .at(dir)
            .fix("pass a folder with files such as train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz"));
    }
    Ok(pairs)
}

/// The error of a folder whose image files hold images of different sizes.
pub(crate) fn mixed_image_sizes(features: usize, earlier: usize, file: &Path) -> Error {
    Error::new(ErrorKind::BadShape, format!("images have {features} values each, earlier files {earlier}"))
        .at(file)
        .fix("put only files of one image size in the folder")
}
