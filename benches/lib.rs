//! Nothing but a home for the criterion benchmarks in `passes.rs`, which
//! measure mlp-engine's passes, GEMMs and training step: a package needs a
//! target of its own besides its benchmarks.
