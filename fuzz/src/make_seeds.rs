//! Writes valid seed files for the fuzz targets into `corpus/<target>/`,
//! made by this crate's own writers (no third-party data is copied).
use std::path::Path;

use mlp_engine::data::bytes::crc32;
use mlp_engine::data::idx;
use mlp_engine::data::npy::{self, Elements};
use mlp_engine::data::npz;
use mlp_engine::{Layout, Network};
use mlp_engine::training::model;

/// The same archive as `npz::write` makes, with every member deflated.
fn deflated_npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in members {
        let packed = miniz_oxide::deflate::compress_to_vec(data, 6);
        let offset = out.len() as u32;
        let fields = |v: &mut Vec<u8>| {
            v.extend_from_slice(&[0, 0, 8, 0, 0, 0, 0x21, 0]);
            v.extend_from_slice(&crc32(data).to_le_bytes());
            v.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0]);
        fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&packed);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0]);
        fields(&mut central);
        central.extend_from_slice(&[0; 10]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn save(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let images = Elements::U8((0..2 * 28 * 28).map(|i| (i * 7 % 256) as u8).collect());
    let labels = Elements::Int(vec![3, 9]);
    let f32s = Elements::F32(vec![0.5, -1.0, 2.0, 3.0, 4.0, 5.0]);
    save("npy", "u8.npy", &npy::write(&[2, 28, 28], &images));
    save("npy", "i8.npy", &npy::write(&[2], &labels));
    save("npy", "f4.npy", &npy::write(&[2, 3], &f32s));
    save("npy", "f8.npy", &npy::write(&[3], &Elements::F64(vec![1.0, 2.0, 3.0])));
    let images_npy = npy::write(&[2, 28, 28], &images);
    let labels_npy = npy::write(&[2], &labels);
    save("npz", "stored.npz", &npz::write(&[("images", &[2, 28, 28], &images), ("labels", &[2], &labels)]));
    save("npz", "deflated.npz", &deflated_npz(&[("images.npy", images_npy), ("labels.npy", labels_npy)]));
    let idx_images = idx::write_u8(&[2, 28, 28], &(0..2 * 784).map(|i| (i % 256) as u8).collect::<Vec<_>>());
    let idx_labels = idx::write_u8(&[2], &[1, 2]);
    save("idx", "images-idx3-ubyte", &idx_images);
    save("idx", "labels-idx1-ubyte", &idx_labels);
    save("idx", "images-idx3-ubyte.gz", &gzip(&idx_images));
    save("idx", "labels-idx1-ubyte.gz", &gzip(&idx_labels));
    let net = Network::new(Layout::new(6, 4, 10), 1, 0.0);
    save("model", "model.npz", &model::to_npz(&net));
    let bytes = model::to_npz(&net);
    let archive = npz::Archive::open(&bytes).unwrap();
    let members: Vec<(&str, Vec<u8>)> =
        ["W_h.npy", "b_h.npy", "W_o.npy", "b_o.npy"].iter().map(|n| (*n, archive.read(n).unwrap())).collect();
    save("model", "model-deflated.npz", &deflated_npz(&members));
}
