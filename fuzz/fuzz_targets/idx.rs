//! Fuzz target: IDX files, gzipped or plain.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlp_engine::data::idx;

fuzz_target!(|data: &[u8]| {
    if idx::is_gzip(data) {
        if let Ok(bytes) = idx::gunzip(data) {
            let _ = idx::parse(&bytes);
        }
    } else {
        let _ = idx::parse(data);
    }
});
