//! Writes valid seed files for the fuzz targets into `corpus/<target>/`,
//! made by this crate's own writers (no third-party data is copied).
use std::ops::ControlFlow;
use std::path::Path;

use mlp_engine::data::deflate::crc32;
use mlp_engine::data::idx;
use mlp_engine::data::npy::{self, Elements};
use mlp_engine::data::npz;
use mlp_engine::training::model;
use mlp_engine::{Dataset, Layout, Network, TrainConfig, train};

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
    save("npz", "stored.npz", &npz::write(&[("images", &[2, 28, 28], &images), ("labels", &[2], &labels)]).unwrap());
    save(
        "npz",
        "deflated.npz",
        &npz::write_compressed(&[("images", &[2, 28, 28], &images), ("labels", &[2], &labels)]).unwrap(),
    );
    let idx_images = idx::write_u8(&[2, 28, 28], &(0..2 * 784).map(|i| (i % 256) as u8).collect::<Vec<_>>());
    let idx_labels = idx::write_u8(&[2], &[1, 2]);
    save("idx", "images-idx3-ubyte", &idx_images);
    save("idx", "labels-idx1-ubyte", &idx_labels);
    save("idx", "images-idx3-ubyte.gz", &gzip(&idx_images));
    save("idx", "labels-idx1-ubyte.gz", &gzip(&idx_labels));
    let net = Network::new(Layout::new(6, 4, 10), 1, 0.0);
    save("model", "model.npz", &model::to_npz(&net).unwrap());
    let bytes = model::to_npz(&net).unwrap();
    let archive = npz::Archive::open(&bytes).unwrap();
    let members: Vec<(String, Vec<u8>)> =
        archive.names().map(|n| (n.to_string(), archive.read(n).unwrap().into_owned())).collect();
    save("model", "model-deflated.npz", &npz::write_members(&members, true).unwrap());
    let split = Dataset::synthetic(60, 1).into_split(30, 20, 1).unwrap();
    for (name, patience) in [("plain.ckpt", None), ("patience.ckpt", Some(2))] {
        let config = TrainConfig { hidden: 4, epochs: 2, patience, ..TrainConfig::default() };
        let outcome = train(&split, &config, |_| ControlFlow::Continue(())).unwrap();
        save("checkpoint", name, &outcome.checkpoint.to_bytes());
    }
}
