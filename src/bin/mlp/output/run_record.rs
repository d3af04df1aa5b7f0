//! `run.json`, what a run folder records about its run besides the
//! checkpoint: the data flags it took (paths absolute), written before the
//! first epoch and read back by `--resume`, `mlp eval` and `mlp report`;
//! and the same `data_args` object that `summary.json` holds.

use std::path::{Path, PathBuf};

use crate::args::DataArgs;
use crate::error::{CliError, CliResult};
use crate::json::Json;
use mlp_engine::{Error, ErrorKind};

/// What a run folder records about its run besides the checkpoint: the
/// data flags (paths absolute) and the data's identity, written before the
/// first epoch so that even a killed run's folder knows its data.
pub const RUN_RECORD: &str = "run.json";

/// The data flags of a run, for `summary.json`, so that `mlp report` can
/// load the same data again; paths are made absolute where they exist.
pub fn data_args_json(data: &DataArgs) -> Json {
    let path = |p: &Option<PathBuf>| {
        p.as_ref().map_or(Json::Null, |p| Json::path(&std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
    };
    Json::obj([
        ("data", path(&data.data)),
        ("images", path(&data.images)),
        ("labels", path(&data.labels)),
        ("synthetic", data.synthetic.map_or(Json::Null, |n| Json::num(n as f64))),
        ("built_in", Json::Bool(data.built_in)),
        ("split", data.split.map_or(Json::Null, |(t, v)| Json::Arr(vec![Json::num(t as f64), Json::num(v as f64)]))),
        ("shuffle_seed", Json::num(data.shuffle_seed)),
    ])
}

/// The data flags recorded in a summary by [`data_args_json`].
pub fn data_args_from(summary: &Json) -> Option<DataArgs> {
    let args = summary.at(&["data_args"])?;
    let path = |key: &str| args.at(&[key]).and_then(crate::json::path_from_json);
    let split = match args.at(&["split"]) {
        Some(Json::Arr(parts)) => match parts.as_slice() {
            [Json::Num(t), Json::Num(v)] => Some((*t as usize, *v as usize)),
            _ => return None,
        },
        _ => None,
    };
    Some(DataArgs {
        data: path("data"),
        images: path("images"),
        labels: path("labels"),
        synthetic: args.num_at(&["synthetic"]).map(|n| n as usize),
        // Absent in records of older builds: the default then, as before.
        built_in: matches!(args.at(&["built_in"]), Some(Json::Bool(true))),
        split,
        shuffle_seed: args.num_at(&["shuffle_seed"])? as u32,
    })
}

/// The data flags a run folder recorded, as `mlp train` took them.
pub fn recorded_data(dir: &Path) -> CliResult<DataArgs> {
    let path = dir.join(RUN_RECORD);
    let unreadable = |why: String| {
        CliError::Run(
            Error::new(ErrorKind::BadHeader, why)
                .at(&path)
                .fix("this file is written by mlp train before its first epoch; without it the run's data is unknown"),
        )
    };
    let bytes = mlp_engine::data::file::read_regular_file(&path)?;
    let text = String::from_utf8(bytes).map_err(|_| unreadable("not UTF-8 text".into()))?;
    let json = crate::json_read::parse(&text).map_err(|e| unreadable(format!("not valid JSON: {e}")))?;
    data_args_from(&json).ok_or_else(|| unreadable("it records no data flags".into()))
}
