//! Every test that drives the `mlp` binary, in one test program: one build
//! and one link instead of one per file, and one harness that keeps both
//! cores busy across all of them. Each module is one area and says in its
//! first lines what it checks; run one with `cargo test --test cli edges::`.

#[path = "../common/mod.rs"]
mod common;
// The binary's JSON value and reader, for the tests that read its output
// (json_read.rs names its value `crate::json`, so both sit at the root).
#[allow(dead_code)]
#[path = "../../src/bin/mlp/json.rs"]
mod json;
#[allow(dead_code)]
#[path = "../../src/bin/mlp/json_read.rs"]
mod json_read;

mod bad_input;
mod command_line;
mod edges;
mod end_to_end;
mod faults;
mod misread_inputs;
mod profile;
mod report;
mod report_size;
mod resume;
mod run_data;
mod terminal;
