//! Fuzz target: the saved-model loader.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mlp_engine::training::model::from_npz(data, std::path::Path::new("fuzz.npz"));
});
