//! Continuing a run from a checkpoint gives the run never stopped, to the
//! bit: in the library (full batch, mini-batch, patience, interrupted at any
//! epoch, a completed run extended) and through `mlp train --resume` (after
//! Ctrl-C, after SIGKILL at random moments, after completion), and every
//! flag that would change the result is refused with the folder untouched.

use crate::common;

use std::ops::ControlFlow;

use mlp_engine::data::Dataset;
use mlp_engine::training::{Checkpoint, RunState, train_from};
use mlp_engine::{Split, StopReason, TrainConfig, TrainOutcome, train};

fn split() -> Split {
    Dataset::synthetic(500, 7).into_split(300, 120, 521).unwrap()
}

fn bits(o: &TrainOutcome) -> Vec<u32> {
    o.network.params().iter().map(|v| v.to_bits()).collect()
}

/// Everything but wall times: parameters, records (seconds zeroed), best
/// epochs, stop, the model's own figures, and the state to continue from.
fn assert_same_run(resumed: &TrainOutcome, straight: &TrainOutcome, what: &str) {
    assert_eq!(bits(resumed), bits(straight), "{what}: parameters");
    let strip = |o: &TrainOutcome| o.history.iter().map(|r| (r.epoch, r.train, r.valid, r.test)).collect::<Vec<_>>();
    assert_eq!(strip(resumed), strip(straight), "{what}: epoch records");
    assert_eq!(
        (resumed.best_loss_epoch, resumed.best_accuracy_epoch, resumed.stop, resumed.params_epoch),
        (straight.best_loss_epoch, straight.best_accuracy_epoch, straight.stop, straight.params_epoch),
        "{what}"
    );
    assert_eq!(resumed.model_metrics, straight.model_metrics, "{what}: model figures");
    assert_eq!(resumed.test_predictions, straight.test_predictions, "{what}: predictions");
    let state = |o: &TrainOutcome| {
        let c = &o.checkpoint;
        (c.network().params().to_vec(), c.network().velocity().to_vec(), c.epochs_done, c.state)
    };
    assert!(state(resumed) == state(straight), "{what}: the state to continue from");
}

/// Stops a run of `config` after `stop_at` epochs, saves and reloads its
/// checkpoint, and continues it.
fn stop_and_continue(split: &Split, config: &TrainConfig, stop_at: usize) -> TrainOutcome {
    let first =
        train(split, config, |r| if r.epoch == stop_at { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
            .unwrap();
    let bytes = first.checkpoint.to_bytes();
    let loaded = Checkpoint::from_bytes(&bytes, "c".as_ref()).unwrap();
    assert_eq!(loaded.epochs_done, first.history.len());
    train_from(split, config, Some(loaded), |_| ControlFlow::Continue(())).unwrap()
}

#[test]
fn library_resume_equals_a_straight_run_at_every_stop() {
    let split = split();
    for (name, config) in [
        ("full batch", TrainConfig { hidden: 12, epochs: 9, ..TrainConfig::default() }),
        ("mini-batch", TrainConfig { hidden: 12, epochs: 7, batch_size: Some(64), seed: 3, ..TrainConfig::default() }),
        (
            "patience",
            TrainConfig { hidden: 12, epochs: 40, patience: Some(2), optimizer: lr_high(), ..TrainConfig::default() },
        ),
    ] {
        let straight = train(&split, &config, |_| ControlFlow::Continue(())).unwrap();
        if config.patience.is_some() {
            assert_eq!(straight.stop, StopReason::EarlyStopped, "patience must run out for this case to test it");
            // Continued after it stopped early, it stops again at once.
            let again = train_from(&split, &config, Some(straight.checkpoint.clone()), |_| ControlFlow::Continue(()));
            assert_same_run(&again.unwrap(), &straight, "early-stopped, continued");
        }
        for stop_at in 1..straight.history.len() {
            let resumed = stop_and_continue(&split, &config, stop_at);
            assert_same_run(&resumed, &straight, &format!("{name}, stopped after epoch {stop_at}"));
        }
    }
}

/// A learning rate that overshoots on the synthetic glyphs, so that the
/// validation loss rises and patience runs out within the epochs.
fn lr_high() -> mlp_engine::MomentumSgd {
    mlp_engine::MomentumSgd { learning_rate: 2.0, momentum: 0.9 }
}

#[test]
fn a_completed_run_extended_equals_the_longer_run() {
    let split = split();
    let short = TrainConfig { hidden: 10, epochs: 4, batch_size: Some(100), ..TrainConfig::default() };
    let long = TrainConfig { epochs: 8, ..short.clone() };
    let first = train(&split, &short, |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(first.stop, StopReason::Completed);
    let resumed = train_from(&split, &long, Some(first.checkpoint.clone()), |_| ControlFlow::Continue(())).unwrap();
    let straight = train(&split, &long, |_| ControlFlow::Continue(())).unwrap();
    assert_same_run(&resumed, &straight, "extended");
    assert!(resumed.wall_seconds >= first.wall_seconds, "the wall time covers both segments");
}

#[test]
fn other_data_settings_or_a_diverged_run_are_refused() {
    let split = split();
    let config = TrainConfig { hidden: 10, epochs: 3, ..TrainConfig::default() };
    let done = train(&split, &config, |_| ControlFlow::Continue(())).unwrap();
    let refused = |s: &Split, c: &TrainConfig, ck: Checkpoint| {
        train_from(s, c, Some(ck), |_| ControlFlow::Continue(())).expect_err("must be refused").to_string()
    };
    let other_split = Dataset::synthetic(500, 7).into_split(300, 120, 522).unwrap();
    assert!(refused(&other_split, &config, done.checkpoint.clone()).contains("the run trained on"));
    let other_lr =
        TrainConfig { optimizer: mlp_engine::MomentumSgd { learning_rate: 0.2, momentum: 0.9 }, ..config.clone() };
    assert!(refused(&split, &other_lr, done.checkpoint.clone()).contains("settings"));
    let fewer = TrainConfig { epochs: 2, ..config.clone() };
    assert!(refused(&split, &fewer, done.checkpoint.clone()).contains("has done 3"));
    let wild =
        TrainConfig { optimizer: mlp_engine::MomentumSgd { learning_rate: 1e30, momentum: 0.9 }, ..config.clone() };
    let diverged = train(&split, &wild, |_| ControlFlow::Continue(())).unwrap();
    assert!(matches!(diverged.checkpoint.state, RunState::Diverged { .. }));
    assert!(refused(&split, &wild, diverged.checkpoint).contains("diverged"));
}

// ---- `mlp train --resume` ----

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fresh_path, metric_rows, mlp_command, wait_limited};

/// A run of 2,000 synthetic rows at H = 24: a few milliseconds an epoch.
fn run_args(epochs: usize, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["train", "--synthetic", "2000", "--split", "1200,400", "--hidden", "24", "--lr", "0.3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.extend(["--epochs".to_string(), epochs.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run(args: &[String], out: Option<&Path>) -> Output {
    let mut command = mlp_command();
    command.args(args);
    if let Some(out) = out {
        command.arg("--out").arg(out);
    }
    command.output().expect("run mlp")
}

fn resume(dir: &Path, extra: &[&str]) -> Output {
    mlp_command().arg("train").arg("--resume").arg(dir).args(extra).output().expect("run mlp")
}

fn ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: exit {:?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The folders hold the same run: `model.npz` to the byte, every column of
/// `metrics.csv` but `seconds`, and every figure and setting of
/// `summary.json` (the part before `resumed`, where the times begin).
fn assert_same_folder(resumed: &Path, straight: &Path, what: &str) {
    let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{what}: {name}: {e}"));
    assert!(read(resumed, "model.npz") == read(straight, "model.npz"), "{what}: model.npz differs");
    let columns = |dir: &Path| {
        String::from_utf8(read(dir, "metrics.csv"))
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(columns(resumed), columns(straight), "{what}: metrics.csv");
    let figures = |dir: &Path| {
        let text = String::from_utf8(read(dir, "summary.json")).unwrap();
        let (start, end) = (text.find("\"settings\"").unwrap(), text.find("\"resumed\"").unwrap());
        text[start..end].to_string()
    };
    assert_eq!(figures(resumed), figures(straight), "{what}: summary.json");
}

/// A seed from the clock, printed so that a failure can be replayed.
fn clock_seed() -> u64 {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    eprintln!("random seed {seed}");
    seed
}

#[test]
fn resumed_after_sigint_equals_straight_full_batch() {
    let (straight, stopped) = (fresh_path("straight-int"), fresh_path("stopped-int"));
    let args = run_args(60, &[]);
    ok(&run(&args, Some(&straight)), "straight");
    let child = mlp_command()
        .args(&args)
        .arg("--out")
        .arg(&stopped)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while metric_rows(&stopped) < 10 {
        assert!(start.elapsed() < Duration::from_secs(60), "no epoch ran");
        std::thread::sleep(Duration::from_millis(2));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = wait_limited(child, Duration::from_secs(60));
    let stopped_at = metric_rows(&stopped);
    assert!(stopped_at < 60, "the run ended before the signal; make its epochs slower");
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let again = resume(&stopped, &[]);
    ok(&again, "resume");
    assert!(String::from_utf8_lossy(&again.stderr).contains(&format!("after epoch {stopped_at}")));
    assert_same_folder(&stopped, &straight, "full batch after SIGINT");
    let summary = std::fs::read_to_string(stopped.join("summary.json")).unwrap();
    assert!(summary.contains(&format!("\"after_epoch\": {stopped_at}")), "{summary}");
    assert!(summary.contains("\"stop\": \"completed\""), "{summary}");
    let page = std::fs::read_to_string(stopped.join("report.html")).unwrap();
    assert!(page.contains(&format!("after epoch {stopped_at} (")), "the report does not say where the run was resumed");
    for d in [straight, stopped] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn resumed_after_sigkills_at_random_moments_equals_straight_mini_batch_with_patience() {
    let seed = clock_seed();
    let (straight, killed) = (fresh_path("straight-kill"), fresh_path("killed"));
    let args = run_args(150, &["--batch-size", "256", "--patience", "40", "--seed", "5"]);
    ok(&run(&args, Some(&straight)), "straight");
    let every = ["--checkpoint-every", "0.01"];
    // Killed three times at random moments, resumed each time: the first
    // segment is a fresh run, the others resumes.
    let mut rng = mlp_engine::engine::rng::Rng::new(seed);
    for round in 0..3 {
        let mut command = mlp_command();
        if round == 0 {
            command.args(&args).arg("--out").arg(&killed).args(every);
        } else {
            command.arg("train").arg("--resume").arg(&killed).args(every);
        }
        let target = metric_rows(&killed) + 5 + rng.below(30) as usize;
        let mut child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let start = Instant::now();
        while metric_rows(&killed) < target && child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(60), "the run made no progress");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Then a random moment within the next epochs: in a step, a row's
        // write or a checkpoint's.
        std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        eprintln!("round {round}: killed after row {target} with {} rows", metric_rows(&killed));
    }
    let again = resume(&killed, &[]);
    ok(&again, "final resume");
    assert_same_folder(&killed, &straight, &format!("mini-batch with patience after SIGKILLs (seed {seed})"));
    let names: Vec<String> =
        std::fs::read_dir(&killed).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "temporary files left: {names:?}");
    for d in [straight, killed] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn a_completed_run_resumed_with_more_epochs_equals_the_longer_run() {
    let (straight, short) = (fresh_path("straight-long"), fresh_path("short"));
    ok(&run(&run_args(30, &["--batch-size", "500"]), Some(&straight)), "straight");
    ok(&run(&run_args(12, &["--batch-size", "500"]), Some(&short)), "short");
    ok(&resume(&short, &["--epochs", "30"]), "extended");
    assert_same_folder(&short, &straight, "completed run extended");
    // Resumed again with nothing left to do, it changes no figure.
    ok(&resume(&short, &[]), "resumed when complete");
    assert_same_folder(&short, &straight, "completed run resumed again");
    for d in [straight, short] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// Every file of a folder and its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn result_changing_flags_are_refused_and_the_folder_is_untouched() {
    let dir = fresh_path("refused-flags");
    ok(&run(&run_args(5, &["--batch-size", "100", "--patience", "9"]), Some(&dir)), "run");
    let before = snapshot(&dir);
    let other_data = std::env::temp_dir().join("mlp-test-no-such-data.npz");
    let other = other_data.to_str().unwrap();
    for (flags, recorded) in [
        (vec!["--hidden", "25"], "--hidden 24"),
        (vec!["--lr", "0.1"], "--lr 0.3"),
        (vec!["--momentum", "0.5"], "--momentum 0.9"),
        (vec!["--seed", "1"], "--seed 0"),
        (vec!["--batch-size", "99"], "--batch-size 100"),
        (vec!["--velocity-init", "0"], "--velocity-init 0.00001"),
        (vec!["--patience", "3"], "--patience 9"),
        (vec!["--synthetic", "2001"], "--synthetic 2000"),
        (vec!["--split", "1000,400"], "--split 1200,400"),
        (vec!["--shuffle-seed", "1"], "--shuffle-seed 521"),
        (vec!["--data", other], "--data none"),
    ] {
        let out = resume(&dir, &flags);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(flags[0]) && stderr.contains(recorded), "{flags:?} should name {recorded}: {stderr}");
        assert!(snapshot(&dir) == before, "{flags:?} changed the folder");
    }
    // The recorded values themselves change nothing and are accepted.
    ok(&resume(&dir, &["--lr", "0.3", "--hidden", "24", "--split", "1200,400"]), "recorded values");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_refused_resume_of_a_folder_without_a_marker_leaves_no_marker() {
    // A folder of an older build, or whose marker was removed: the resume
    // made a marker to hold it before the checks refused it, and left it.
    let dir = fresh_path("refused-no-marker");
    let out = run(&run_args(5, &["--lr", "1e30"]), Some(&dir));
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_file(dir.join(".mlp-run")).unwrap();
    let before = snapshot(&dir);
    let out = resume(&dir, &["--epochs", "9"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("diverged"), "{stderr}");
    assert!(!dir.join(".mlp-run").exists(), "a refused resume left a marker");
    assert!(snapshot(&dir) == before, "a refused resume changed the folder");
    // An accepted resume of such a folder claims it as usual.
    let good = fresh_path("resumed-no-marker");
    ok(&run(&run_args(3, &[]), Some(&good)), "run");
    std::fs::remove_file(good.join(".mlp-run")).unwrap();
    ok(&resume(&good, &["--epochs", "4"]), "resume without a marker");
    let marker = std::fs::read_to_string(good.join(".mlp-run")).unwrap();
    assert!(marker.contains("state: finished"), "{marker}");
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(good).unwrap();
}

#[test]
fn a_diverged_run_or_changed_data_is_refused_with_a_fix() {
    let dir = fresh_path("diverged");
    let out = run(&run_args(5, &["--lr", "1e30"]), Some(&dir));
    assert_eq!(out.status.code(), Some(1));
    let before = snapshot(&dir);
    let out = resume(&dir, &["--epochs", "9"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("diverged") && stderr.contains("fix:"), "{stderr}");
    assert!(snapshot(&dir) == before, "a refused resume changed the folder");
    std::fs::remove_dir_all(dir).unwrap();

    // Data read from files that change after the run.
    let data = fresh_path("changing-data");
    std::fs::create_dir_all(&data).unwrap();
    let (images, labels) = (data.join("images.idx"), data.join("labels.idx"));
    let split = mlp_engine::data::Dataset::synthetic(300, 4);
    std::fs::write(&images, idx_images(&split.images)).unwrap();
    std::fs::write(&labels, idx_labels(&split.labels)).unwrap();
    let run_dir = data.join("run");
    let base = ["train", "--images", images.to_str().unwrap(), "--labels", labels.to_str().unwrap()];
    let out =
        mlp_command().args(base).args(["--hidden", "8", "--epochs", "3", "--out"]).arg(&run_dir).output().unwrap();
    ok(&out, "run on files");
    let mut changed = split.labels.clone();
    changed[7] = (changed[7] + 1) % 10;
    std::fs::write(&labels, idx_labels(&changed)).unwrap();
    let out = resume(&run_dir, &["--epochs", "5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the run trained on") && stderr.contains("checksum"), "{stderr}");
    std::fs::remove_dir_all(data).unwrap();
}

fn idx_images(pixels: &[f32]) -> Vec<u8> {
    let rows = (pixels.len() / 784) as u32;
    let mut out = vec![0, 0, 8, 3];
    for n in [rows, 28, 28] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend(pixels.iter().map(|&p| (p * 255.0).round() as u8));
    out
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, 1];
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[test]
fn an_interrupted_sweep_resumed_equals_a_straight_sweep() {
    let (straight, stopped) = (fresh_path("sweep-straight"), fresh_path("sweep-stopped"));
    let args = ["sweep", "--synthetic", "2000", "--split", "1200,400", "--hidden", "8,16,24", "--epochs", "150"];
    ok(&mlp_command().args(args).arg("--out").arg(&straight).output().unwrap(), "straight sweep");
    let child = mlp_command()
        .args(args)
        .arg("--out")
        .arg(&stopped)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while metric_rows(&stopped.join("h16")) < 5 {
        assert!(start.elapsed() < Duration::from_secs(60), "the second size never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert_eq!(wait_limited(child, Duration::from_secs(60)).status.code(), Some(130));
    let csv = std::fs::read_to_string(stopped.join("sweep.csv")).unwrap();
    assert!(csv.contains("16,interrupted") && csv.contains("24,not_started"), "{csv}");
    // A flag that would change the sizes is refused.
    let out = mlp_command().arg("sweep").arg("--resume").arg(&stopped).args(["--hidden", "8,16"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    ok(&mlp_command().arg("sweep").arg("--resume").arg(&stopped).output().unwrap(), "sweep resume");
    for h in ["h8", "h16", "h24"] {
        assert_same_folder(&stopped.join(h), &straight.join(h), h);
    }
    let columns = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
        // Every column but the wall time.
        text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(columns(&stopped), columns(&straight));
    // Extended, the sweep's record takes the new length: a plain resume
    // afterwards has nothing left to do.
    let more = ["--epochs", "160"];
    ok(&mlp_command().arg("sweep").arg("--resume").arg(&stopped).args(more).output().unwrap(), "sweep extended");
    ok(&mlp_command().arg("sweep").arg("--resume").arg(&stopped).output().unwrap(), "sweep resumed after extending");
    for d in [straight, stopped] {
        std::fs::remove_dir_all(d).unwrap();
    }
}
