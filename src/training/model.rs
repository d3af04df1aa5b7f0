//! Saved models: `.npz` files with `W_h` (D×H), `b_h` (H), `W_o` (H×C) and
//! `b_o` (C), float32, C order, which `np.load` opens directly.

use std::path::Path;

use crate::data::file::open_regular;
use crate::data::npy::Elements;
use crate::data::{npz, read_file};
use crate::engine::Network;
use crate::engine::layout::{Layout, Tensor};
use crate::error::{Error, ErrorKind, Result};

/// The bytes of a model file for `network`'s parameters.
///
/// # Errors
/// [`ErrorKind::TooLarge`] for a network whose file would reach 4 GiB
/// (over a billion parameters), which needs zip64 fields this writer does
/// not make.
pub fn to_npz(network: &Network) -> Result<Vec<u8>> {
    let layout = network.layout();
    let tensors: Vec<(&str, Vec<usize>, Elements)> = Tensor::ALL
        .iter()
        .map(|&t| {
            let (rows, cols) = layout.shape(t);
            let shape = if rows == 1 && matches!(t, Tensor::HiddenBias | Tensor::OutputBias) {
                vec![cols]
            } else {
                vec![rows, cols]
            };
            (t.name(), shape, Elements::F32(network.params()[layout.range(t)].to_vec()))
        })
        .collect();
    let refs: Vec<(&str, &[usize], &Elements)> = tensors.iter().map(|(n, s, e)| (*n, s.as_slice(), e)).collect();
    npz::write(&refs)
}

/// The network a model file holds, from the `.npy` headers of its four
/// tensors alone (nothing large is decompressed or allocated), so that a
/// caller can check memory before [`load`]. Refuses the same files as
/// `load` for their shapes and element types.
pub fn probe(path: &Path) -> Result<Layout> {
    // Only the archive's directory and the four headers are read.
    let (file, len) = open_regular(path)?;
    layout_of_archive(&npz::Archive::open_file(&file, len).map_err(|e| e.at(path))?, path)
}

/// [`probe`] of model bytes; `path` is only used in messages.
pub fn probe_npz(bytes: &[u8], path: &Path) -> Result<Layout> {
    layout_of_archive(&npz::Archive::open(bytes).map_err(|e| e.at(path))?, path)
}

fn layout_of_archive(archive: &npz::Archive<'_>, path: &Path) -> Result<Layout> {
    let mut shapes = Vec::with_capacity(Tensor::ALL.len());
    for tensor in Tensor::ALL {
        let (header, _) = archive.array_header(tensor.name()).map_err(|e| e.at(path))?;
        if !header.is_float() {
            return Err(not_float(tensor, "integer or boolean", path));
        }
        shapes.push(header.shape);
    }
    layout_of(&shapes, path)
}

fn not_float(tensor: Tensor, type_name: &str, path: &Path) -> Error {
    Error::new(ErrorKind::BadModel, format!("{} is {type_name}, not floating point", tensor.name()))
        .at(path)
        .fix("save the model's tensors as float32")
}

/// The layout that tensors of `shapes` (W_h, b_h, W_o, b_o) form, with an
/// overflow-checked parameter count.
fn layout_of(shapes: &[Vec<usize>], path: &Path) -> Result<Layout> {
    let bad =
        |msg: String| Err(Error::new(ErrorKind::BadModel, msg).at(path).fix("pass a model.npz written by 'mlp train'"));
    let [w_h, b_h, w_o, b_o] = shapes else {
        return bad(format!("{} tensors, not 4", shapes.len()));
    };
    let (inputs, hidden) = match w_h.as_slice() {
        [d, h] if *d > 0 && *h > 0 => (*d, *h),
        _ => return bad(format!("W_h has shape {w_h:?}, not (D, H)")),
    };
    let classes = match w_o.as_slice() {
        [h, c] if *h == hidden && *c > 0 => *c,
        _ => {
            return bad(format!("W_o has shape {w_o:?}, not ({hidden}, C) to follow W_h {w_h:?}"));
        }
    };
    if b_h.as_slice() != [hidden] {
        return bad(format!("b_h has shape {b_h:?}, not ({hidden},)"));
    }
    if b_o.as_slice() != [classes] {
        return bad(format!("b_o has shape {b_o:?}, not ({classes},)"));
    }
    // Each tensor's element count was checked by its header; their sum may
    // still overflow, which `Layout::new` would treat as a bug.
    let total = inputs
        .checked_mul(hidden)
        .and_then(|w| w.checked_add(hidden))
        .and_then(|n| hidden.checked_mul(classes).and_then(|w| n.checked_add(w)))
        .and_then(|n| n.checked_add(classes));
    if total.is_none() {
        return bad(format!("a {inputs}x{hidden}x{classes} network has more parameters than can exist"));
    }
    Ok(Layout::new(inputs, hidden, classes))
}

/// Parses model bytes; `path` is only used in messages. The shapes are
/// checked from the headers before any tensor is decompressed.
pub fn from_npz(bytes: &[u8], path: &Path) -> Result<Network> {
    let layout = probe_npz(bytes, path)?;
    let archive = npz::Archive::open(bytes).map_err(|e| e.at(path))?;
    let mut params = Vec::with_capacity(layout.total());
    for tensor in Tensor::ALL {
        let array = archive.array(tensor.name()).map_err(|e| e.at(path))?;
        let values = match array.elements {
            Elements::F32(v) => v,
            Elements::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            other => return Err(not_float(tensor, other.type_name(), path)),
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::BadModel,
                format!("{} has a NaN or infinite value at element {i}", tensor.name()),
            )
            .at(path)
            .fix("pass a model.npz written by 'mlp train'"));
        }
        params.extend_from_slice(&values);
    }
    Ok(Network::from_params(layout, params, 0.0))
}

/// Reads a model file (any path: FIFOs, devices and folders are refused).
pub fn load(path: &Path) -> Result<Network> {
    from_npz(&read_file(path)?, path)
}
