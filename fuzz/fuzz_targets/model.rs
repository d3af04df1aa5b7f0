//! Fuzz target: the saved-model loader, and its header-only probe, which
//! must accept every model that loads and give the same layout.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlp_engine::training::model;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.npz");
    let probed = model::probe_npz(data, path);
    if let Ok(network) = model::from_npz(data, path) {
        assert_eq!(probed.ok(), Some(network.layout()));
    }
});
