//! `summary.json`: a run's settings, data, how it stopped, its final and
//! best-validation figures, the saved model's own figures, and its speed.

use crate::args::DataArgs;
use crate::json::Json;
use crate::output::metrics_json;
use crate::system;
use mlp_engine::engine::SimdPath;
use mlp_engine::training::{DataIdentity, ResumePoint};
use mlp_engine::{EpochRecord, Split, StopReason, TrainConfig, TrainOutcome};

/// How the run ended, as `summary.json` and the report name it.
pub fn stop_name(stop: StopReason) -> &'static str {
    match stop {
        StopReason::Completed => "completed",
        StopReason::EarlyStopped => "early_stopped",
        StopReason::Diverged { .. } => "diverged",
        StopReason::Interrupted { .. } => "interrupted",
    }
}

/// What `model.npz` holds. Full batch, an epoch's figures describe the
/// parameters before its update; with mini-batches, those after its updates.
fn params_note(o: &TrainOutcome, mini_batch: bool) -> String {
    let when = if mini_batch { "after that epoch's updates" } else { "before that epoch's update" };
    match o.stop {
        StopReason::Completed => "parameters after the last update".to_string(),
        StopReason::Interrupted { epoch } if o.params_epoch > epoch => {
            format!("parameters after the update of epoch {epoch}, the last before the interruption")
        }
        StopReason::EarlyStopped | StopReason::Interrupted { .. } => {
            format!("parameters of the best validation loss, epoch {} ({when})", o.params_epoch)
        }
        StopReason::Diverged { epoch } => {
            format!("last finite parameters (epoch {}, {when}); the loss diverged at epoch {epoch}", o.params_epoch)
        }
    }
}

/// Everything a run ran with.
pub struct RunFacts<'a> {
    pub split: &'a Split,
    pub config: &'a TrainConfig,
    pub data: &'a DataArgs,
    pub threads: usize,
    pub simd: SimdPath,
    /// Peak memory once training ended, before the report was drawn: what
    /// the report shows, so that a report rebuilt later is the same page.
    pub training_peak_rss: Option<u64>,
}

/// The training settings as `run.json` records them, and `summary.json`
/// with the machine's facts after them.
fn settings_json(f: &RunFacts<'_>) -> Json {
    let mut fields = config_fields(f.config);
    fields.extend([
        ("threads", Json::num(f.threads as f64)),
        ("simd", Json::str(f.simd.name())),
        ("profile", Json::str(system::build_profile())),
    ]);
    Json::obj(fields)
}

fn data_json(split: &Split, data: &DataArgs, identity: &DataIdentity) -> Json {
    let s = split;
    Json::obj([
        ("source", Json::str(&s.source)),
        ("rows", Json::num(s.rows() as f64)),
        ("features", Json::num(s.features as f64)),
        ("train", Json::num(s.train as f64)),
        ("valid", Json::num(s.valid as f64)),
        ("test", Json::num(s.test as f64)),
        ("shuffle_seed", Json::num(data.shuffle_seed)),
        ("checksum", Json::str(identity.checksum_text())),
    ])
}

/// `run.json`, written before the first epoch: the settings, the data flags
/// (paths absolute) and the data's identity, which `mlp eval`, `mlp report`
/// and `mlp train --resume` find the run's data by.
pub fn run_json(split: &Split, config: &TrainConfig, data: &DataArgs) -> Json {
    Json::obj([
        ("command", Json::str("train")),
        ("version", Json::str(env!("CARGO_PKG_VERSION"))),
        ("settings", config_json(config)),
        ("data", data_json(split, data, &DataIdentity::of(split))),
        ("data_args", crate::output::run_record::data_args_json(data)),
    ])
}

fn config_json(c: &TrainConfig) -> Json {
    Json::obj(config_fields(c))
}

fn config_fields(c: &TrainConfig) -> Vec<(&'static str, Json)> {
    vec![
        ("hidden", Json::num(c.hidden as f64)),
        ("epochs", Json::num(c.epochs as f64)),
        ("learning_rate", Json::num_f32(c.optimizer.learning_rate)),
        ("momentum", Json::num_f32(c.optimizer.momentum)),
        ("seed", Json::num(c.seed as f64)),
        ("batch_size", c.batch_size.map_or(Json::Null, |b| Json::num(b as f64))),
        ("patience", c.patience.map_or(Json::Null, |p| Json::num(p as f64))),
        ("velocity_init", Json::num_f32(c.velocity_init)),
    ]
}

/// Where the run was continued from a checkpoint: epochs done then, and when.
fn resumed_json(resumes: &[ResumePoint]) -> Json {
    Json::Arr(
        resumes
            .iter()
            .map(|r| {
                let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(r.unix_seconds);
                Json::obj([
                    ("after_epoch", Json::num(r.after_epoch as f64)),
                    ("at", Json::str(format!("{} UTC", crate::output::utc_stamp(at)))),
                ])
            })
            .collect(),
    )
}

fn split_json(r: &EpochRecord) -> Json {
    Json::obj([("train", metrics_json(&r.train)), ("valid", metrics_json(&r.valid)), ("test", metrics_json(&r.test))])
}

fn best_json(o: &TrainOutcome, epoch: usize) -> Json {
    Json::obj([("epoch", Json::num(epoch as f64)), ("metrics", split_json(&o.record(epoch)))])
}

fn model_json(o: &TrainOutcome, mini_batch: bool) -> Json {
    let metrics = ["train", "valid", "test"].iter().zip(&o.model_metrics).map(|(name, m)| (*name, metrics_json(m)));
    Json::obj([
        ("file", Json::str("model.npz")),
        ("parameters", Json::str(params_note(o, mini_batch))),
        ("finite", Json::Bool(o.network.params().iter().all(|p| p.is_finite()))),
        ("metrics", Json::obj(metrics)),
    ])
}

/// The median of the epochs' own wall times.
fn median_epoch_seconds(o: &TrainOutcome) -> f64 {
    let mut seconds: Vec<f64> = o.history.iter().map(|r| r.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    seconds.get(seconds.len() / 2).copied().unwrap_or(0.0)
}

/// The whole `summary.json`; `signal` names what interrupted the run.
pub fn summary_json(facts: &RunFacts<'_>, o: &TrainOutcome, signal: Option<&str>) -> Json {
    Json::obj([
        ("command", Json::str("train")),
        ("version", Json::str(env!("CARGO_PKG_VERSION"))),
        ("settings", settings_json(facts)),
        ("data", data_json(facts.split, facts.data, &o.checkpoint.data)),
        ("data_args", crate::output::run_record::data_args_json(facts.data)),
        ("stop", Json::str(stop_name(o.stop))),
        ("signal", signal.map_or(Json::Null, Json::str)),
        ("epochs_run", Json::num(o.history.len() as f64)),
        ("final", split_json(&o.last_record())),
        ("best_valid_loss", best_json(o, o.best_loss_epoch)),
        ("best_valid_accuracy", best_json(o, o.best_accuracy_epoch)),
        ("model", model_json(o, facts.config.batch_size.is_some())),
        ("resumed", resumed_json(&o.checkpoint.resumes)),
        ("wall_seconds", Json::num(o.wall_seconds)),
        ("median_epoch_seconds", Json::num(median_epoch_seconds(o))),
        ("train_samples_per_second", Json::num(o.samples_per_second)),
        ("peak_rss_bytes", system::peak_rss_bytes().map_or(Json::Null, |b| Json::num(b as f64))),
        ("training_peak_rss_bytes", facts.training_peak_rss.map_or(Json::Null, |b| Json::num(b as f64))),
    ])
}
