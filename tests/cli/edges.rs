//! The `mlp` binary at its edges: shared and unusable run folders, broken
//! and full output streams, Ctrl-C and SIGTERM mid-run, a split without test
//! rows, and sizes from flags that must not allocate up front. Each test
//! drives the real binary as a user would.

use crate::common;

use common::{fresh_path, mlp_command, wait_limited};

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small, quick training run into `out`; `epochs` sets how long it lasts.
fn train_args(out: &Path, epochs: &str) -> Vec<String> {
    let args = ["train", "--synthetic", "400", "--split", "300,50", "--hidden", "16", "--epochs", epochs, "--out"];
    args.iter().map(|s| s.to_string()).chain([out.display().to_string()]).collect()
}

fn dev_full() -> Stdio {
    Stdio::from(OpenOptions::new().write(true).open("/dev/full").expect("/dev/full"))
}

/// Lines of `metrics.csv` so far (0 before it exists).
fn metric_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.csv")).map(|t| t.lines().count()).unwrap_or(0)
}

fn leftovers(dir: &Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| n.ends_with(".tmp")).collect()
}

/// Starts a long run, waits until it has finished `epochs` epochs, and
/// sends it `signals` (names for `kill`), one after the other.
fn interrupt(dir: &Path, epochs: usize, signals: &[&str]) -> Output {
    let child = mlp_command()
        .args(train_args(dir, "100000"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while metric_lines(dir) < epochs + 1 {
        assert!(start.elapsed() < Duration::from_secs(60), "the run never reached epoch {epochs}");
        std::thread::sleep(Duration::from_millis(10));
    }
    for signal in signals {
        let status = Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
    wait_limited(child, Duration::from_secs(60))
}

#[test]
fn a_signal_stops_after_the_epoch_and_keeps_the_run_folder() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = fresh_path(&format!("signal-{signal}"));
        let out = interrupt(&dir, 3, &[signal]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(stderr.contains(&format!("SIG{signal}")), "{stderr}");
        let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
        assert!(summary.contains("\"stop\": \"interrupted\""), "{summary}");
        assert!(summary.contains(&format!("\"signal\": \"SIG{signal}\"")), "{summary}");
        let epochs: usize =
            summary.split("\"epochs_run\": ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        assert!(epochs >= 3, "{summary}");
        assert_eq!(metric_lines(&dir), epochs + 1, "metrics.csv has one row per epoch run");
        for file in ["model.npz", "loss.svg", "accuracy.svg"] {
            assert!(dir.join(file).is_file(), "{file} missing after SIG{signal}");
        }
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_second_ctrl_c_exits_at_once_leaving_only_whole_files() {
    // Epochs long enough (tens of milliseconds at least) that the second
    // signal, sent as soon as the first is acknowledged, lands mid-epoch.
    let dir = fresh_path("double-int");
    let args = ["train", "--synthetic", "20000", "--split", "16000,2000", "--hidden", "1000", "--epochs", "1000"];
    let mut child =
        mlp_command().args(args).arg("--out").arg(&dir).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while metric_lines(&dir) < 3 {
        assert!(start.elapsed() < Duration::from_secs(120), "the run never reached epoch 2");
        std::thread::sleep(Duration::from_millis(10));
    }
    let kill = |pid: u32| assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
    kill(child.id());
    // Wait for the acknowledgement on stderr, then send the second signal.
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let acknowledged = lines.by_ref().map_while(Result::ok).any(|line| line.contains("stopping after this epoch"));
    assert!(acknowledged, "no acknowledgement of the first Ctrl-C");
    kill(child.id());
    let out = wait_limited(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(130));
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    assert!(!dir.join("summary.json").exists(), "the run ended normally: the second signal did not cut it short");
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(csv.lines().count() >= 3 && csv.ends_with('\n'), "metrics.csv is cut: {csv:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interrupted_sweep_records_the_size_it_stopped_and_those_not_started() {
    let dir = fresh_path("sweep-int");
    let args = ["sweep", "--synthetic", "400", "--split", "300,50", "--hidden", "8,16", "--epochs", "100000"];
    let child =
        mlp_command().args(args).arg("--out").arg(&dir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while metric_lines(&dir.join("h8")) < 3 {
        assert!(start.elapsed() < Duration::from_secs(60), "the sweep never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = wait_limited(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("8,interrupted,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("16,not_started,")), "{csv}");
    assert!(!dir.join("h16").exists(), "the next size started after Ctrl-C");
    assert!(dir.join("h8").join("summary.json").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fifos_in_a_run_folder_never_hang_mlp() {
    let fifo = |path: &Path| assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    // A FIFO planted as the claim marker of an --out folder.
    let dir = fresh_path("fifo-marker");
    std::fs::create_dir_all(&dir).unwrap();
    fifo(&dir.join(".mlp-run"));
    let child = mlp_command().args(train_args(&dir, "2")).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let out = wait_limited(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // A FIFO as the metrics of a folder given to `mlp report`.
    let run = fresh_path("fifo-metrics");
    std::fs::create_dir_all(&run).unwrap();
    fifo(&run.join("metrics.csv"));
    let child = mlp_command().arg("report").arg(&run).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let out = wait_limited(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("metrics.csv") && stderr.contains("fix:"), "{stderr}");
    for d in [dir, run] {
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn a_report_on_a_model_of_another_shape_leaves_its_figures_out() {
    let dir = fresh_path("other-model");
    let run = mlp_command().args(train_args(&dir, "2")).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // Three classes instead of ten: predictions past the letters' range
    // would index outside the confusion matrix.
    let other = mlp_engine::Network::new(mlp_engine::Layout::new(784, 4, 3), 1, 0.0);
    std::fs::write(dir.join("model.npz"), mlp_engine::training::model::to_npz(&other).unwrap()).unwrap();
    let out = mlp_command().arg("report").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("784-4-3 network"), "the report does not say why its figures are missing");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_huge_epoch_count_allocates_nothing_up_front() {
    // The run is stopped by Ctrl-C; what matters is that it starts at all.
    let dir = fresh_path("epochs");
    let child = mlp_command()
        .args(train_args(&dir, "18446744073709551615"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while metric_lines(&dir) < 3 {
        assert!(start.elapsed() < Duration::from_secs(60), "no epoch ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = wait_limited(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_runs_never_share_a_folder() {
    let dir = fresh_path("shared");
    let first =
        mlp_command().args(train_args(&dir, "100000")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while !dir.join(".mlp-run").exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "the first run never claimed its folder");
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = mlp_command().args(train_args(&dir, "2")).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    Command::new("kill").args(["-INT", &first.id().to_string()]).status().unwrap();
    let first = wait_limited(first, Duration::from_secs(60));
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("belongs to another run") && stderr.contains(&format!("pid {}", first_pid(&dir))),
        "{stderr}"
    );
    assert!(!stderr.contains("epoch "), "the second run trained: {stderr}");
    assert_eq!(first.status.code(), Some(130));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn first_pid(dir: &Path) -> String {
    let marker = std::fs::read_to_string(dir.join(".mlp-run")).unwrap();
    marker.lines().next().unwrap().trim_start_matches("pid ").to_string()
}

#[test]
fn a_full_or_closed_stderr_loses_lines_not_the_run() {
    let dir = fresh_path("full-stderr");
    let out = mlp_command().args(train_args(&dir, "3")).stderr(dev_full()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.join("summary.json").is_file());
    // A runtime error with a full stderr still exits 1, not with a panic.
    let out = mlp_command().args(["eval", "--model", "/nonexistent/model.npz"]).stderr(dev_full()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A closed stderr (the reader went away).
    let dir2 = fresh_path("closed-stderr");
    let mut child =
        mlp_command().args(train_args(&dir2, "3")).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(dir2.join("summary.json").is_file());
    for d in [dir, dir2] {
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn a_result_that_cannot_be_written_fails_the_command() {
    let dir = fresh_path("eval-full");
    let run = mlp_command().args(train_args(&dir, "2")).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let model = dir.join("model.npz").display().to_string();
    let data = ["--synthetic", "400", "--split", "300,50"];
    let out = mlp_command().args(["eval", "--model", &model, "--json"]).args(data).stdout(dev_full()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("standard output"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_split_without_test_rows_reports_their_absence() {
    let dir = fresh_path("no-test");
    let args = ["train", "--synthetic", "300", "--split", "250,50", "--hidden", "8", "--epochs", "2", "--out"];
    let run = mlp_command().args(args).arg(&dir).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    for row in csv.lines().skip(1) {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!((fields[5], fields[6]), ("", ""), "test fields of {row}");
    }
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"test\": null"), "{summary}");
    let model = dir.join("model.npz").display().to_string();
    let eval =
        mlp_command().args(["eval", "--model", &model, "--json", "--synthetic", "300", "--split", "250,50"]).output();
    let json = String::from_utf8_lossy(&eval.unwrap().stdout).into_owned();
    assert!(json.contains("\"test\":null"), "{json}");
    std::fs::remove_dir_all(&dir).unwrap();
}
