//! Fuzz target: IDX files, gzipped or plain; the header read from a prefix
//! must agree with the whole file's.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlp_engine::data::idx;

fuzz_target!(|data: &[u8]| {
    if idx::is_gzip(data) {
        let header = idx::gunzip_prefix(data, 1024).ok().and_then(|p| idx::parse_header(&p).ok());
        if let Ok(bytes) = idx::gunzip(data)
            && let Ok(array) = idx::parse(&bytes)
        {
            assert_eq!(header.map(|h| h.dims), Some(array.dims));
        }
    } else {
        let header = idx::parse_header(data);
        if let Ok(array) = idx::parse(data) {
            assert_eq!(header.map(|h| h.dims).ok(), Some(array.dims));
        }
    }
});
