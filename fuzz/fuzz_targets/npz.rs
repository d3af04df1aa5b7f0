//! Fuzz target: the `.npz` reader, every member's header probed, then the
//! member decompressed and parsed; a header the probe accepts must describe
//! exactly the member that loads.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlp_engine::data::{npy, npz};

fuzz_target!(|data: &[u8]| {
    if let Ok(archive) = npz::Archive::open(data) {
        let names: Vec<String> = archive.names().map(String::from).collect();
        for name in names {
            let header = name.strip_suffix(".npy").and_then(|stem| archive.array_header(stem).ok());
            if let Ok(bytes) = archive.read(&name) {
                let parsed = npy::parse(&bytes);
                if let (Some((header, len)), Ok(array)) = (header, parsed) {
                    assert_eq!(len, bytes.len());
                    assert_eq!(header.shape, array.shape);
                }
            }
        }
    }
});
