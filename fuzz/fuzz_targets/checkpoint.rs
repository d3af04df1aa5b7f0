//! Fuzz target: the checkpoint reader. A checkpoint that loads must hold
//! together (its network builds) and read back the same after writing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mlp_engine::training::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.ckpt");
    if let Ok(checkpoint) = Checkpoint::from_bytes(data, path) {
        let network = checkpoint.network();
        assert_eq!(network.params().len(), network.layout().total());
        let bytes = checkpoint.to_bytes();
        let again = Checkpoint::from_bytes(&bytes, path).expect("a written checkpoint reads back");
        // Compared as bytes: a NaN loss is not equal to itself.
        assert_eq!(again.to_bytes(), bytes);
    }
});
