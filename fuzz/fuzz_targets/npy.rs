//! Fuzz target: the `.npy` parser must return Ok or Err on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mlp_engine::data::npy::parse(data);
});
