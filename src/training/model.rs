//! Saved models: `.npz` files with `W_h` (D×H), `b_h` (H), `W_o` (H×C) and
//! `b_o` (C), float32, C order, which `np.load` opens directly.

use std::path::Path;

use crate::data::npy::Elements;
use crate::data::{npz, read_file};
use crate::engine::Network;
use crate::engine::layout::{Layout, Tensor};
use crate::error::{Error, ErrorKind, Result};

/// The bytes of a model file for `network`'s parameters.
pub fn to_npz(network: &Network) -> Vec<u8> {
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

/// Parses model bytes; `path` is only used in messages.
pub fn from_npz(bytes: &[u8], path: &Path) -> Result<Network> {
    let archive = npz::Archive::open(bytes).map_err(|e| e.at(path))?;
    let mut arrays = Vec::new();
    for tensor in Tensor::ALL {
        let array = archive.array(tensor.name()).map_err(|e| e.at(path))?;
        let values = match array.elements {
            Elements::F32(v) => v,
            Elements::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            other => {
                return Err(Error::new(
                    ErrorKind::BadModel,
                    format!("{} is {}, not floating point", tensor.name(), other.type_name()),
                )
                .at(path)
                .fix("save the model's tensors as float32"));
            }
        };
        arrays.push((tensor, array.shape, values));
    }
    let bad =
        |msg: String| Err(Error::new(ErrorKind::BadModel, msg).at(path).fix("pass a model.npz written by 'mlp train'"));
    let (w_h, b_h, w_o, b_o) = (&arrays[0].1, &arrays[1].1, &arrays[2].1, &arrays[3].1);
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
    let layout = Layout::new(inputs, hidden, classes);
    let mut params = Vec::with_capacity(layout.total());
    for (tensor, _, values) in &arrays {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return bad(format!("{} has a NaN or infinite value at element {i}", tensor.name()));
        }
        params.extend_from_slice(values);
    }
    Ok(Network::from_params(layout, params, 0.0))
}

/// Reads a model file.
pub fn load(path: &Path) -> Result<Network> {
    from_npz(&read_file(path)?, path)
}
