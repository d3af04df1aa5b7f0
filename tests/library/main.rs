//! Every test of the library alone (no `mlp` binary), in one test program:
//! one build and one link instead of one per file. Each module is one area
//! and says in its first lines what it checks; run one with
//! `cargo test --test library passes::`.
//! (The allocation test stays a program of its own: its counting global
//! allocator must see no other test's allocations.)

#[path = "../common/mod.rs"]
mod common;

mod determinism;
mod fast_vs_reference;
mod formats;
mod library_api;
mod passes;
mod properties;
mod reference_gradients;
