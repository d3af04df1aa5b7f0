//! Fuzz target: the `.npz` reader, every member decompressed and parsed.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(archive) = mlp_engine::data::npz::Archive::open(data) {
        let names: Vec<String> = archive.names().map(String::from).collect();
        for name in names {
            if let Ok(bytes) = archive.read(&name) {
                let _ = mlp_engine::data::npy::parse(&bytes);
            }
        }
    }
});
