//! A run folder knows its data: `mlp eval` without data flags measures the
//! data and split recorded beside the model (so "test" is the run's own
//! test rows) and says so; with other rows it warns; `mlp report` finds the
//! run's data by its identity however its paths were spelled, from any
//! working directory, through symlinks.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::{mlp_command, temp_dir};

fn ok(output: &Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "mlp failed: {stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

/// An IDX image and label file pair of `rows` synthetic glyphs in `dir/data`.
fn idx_files(dir: &Path, rows: usize) {
    let data = mlp_engine::data::Dataset::synthetic(rows, 11);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut images = vec![0, 0, 8, 3];
    for n in [rows as u32, 28, 28] {
        images.extend_from_slice(&n.to_be_bytes());
    }
    images.extend(data.images.iter().map(|&p| (p * 255.0).round() as u8));
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&(rows as u32).to_be_bytes());
    labels.extend_from_slice(&data.labels);
    std::fs::write(dir.join("data/x-images"), images).unwrap();
    std::fs::write(dir.join("data/x-labels"), labels).unwrap();
}

/// `{"train": {"loss": …` of `mlp eval --json`: the valid accuracy.
fn valid_accuracy(json: &str) -> String {
    let valid = &json[json.find("\"valid\"").unwrap()..];
    let acc = &valid[valid.find("\"accuracy\":").unwrap() + 11..];
    acc[..acc.find('}').unwrap()].to_string()
}

#[test]
fn eval_and_report_use_the_runs_own_data_from_anywhere() {
    let base = temp_dir("run-data");
    idx_files(&base, 1000);
    // Trained from `base` with relative paths and a split other than the default.
    let train = mlp_command()
        .current_dir(&base)
        .args(["train", "--images", "data/x-images", "--labels", "data/x-labels", "--split", "500,250"])
        .args(["--hidden", "12", "--epochs", "4", "--out", "R"])
        .output()
        .unwrap();
    ok(&train);
    let summary = std::fs::read_to_string(base.join("R/summary.json")).unwrap();
    let model_valid = {
        let model = &summary[summary.find("\"model\"").unwrap()..];
        let valid = &model[model.find("\"valid\"").unwrap()..];
        let acc = &valid[valid.find("\"accuracy\": ").unwrap() + 12..];
        acc[..acc.find(['\n', '}']).unwrap()].trim().parse::<f64>().unwrap()
    };
    // From another directory, without data flags: the run's rows.
    let elsewhere = base.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let (stdout, _) =
        ok(&mlp_command().current_dir(&elsewhere).args(["eval", "--model", "../R/model.npz"]).output().unwrap());
    let first = stdout.lines().next().unwrap();
    assert!(first.contains("the data and split of its run") && first.contains("run.json"), "{first}");
    assert!(stdout.contains("(500 rows)") && stdout.contains("(250 rows)"), "{stdout}");
    let (json, _) = ok(&mlp_command()
        .current_dir(&elsewhere)
        .args(["eval", "--model", "../R/model.npz", "--json"])
        .output()
        .unwrap());
    let got: f64 = valid_accuracy(&json).parse().unwrap();
    assert_eq!(got, model_valid, "eval without flags measures the run's own valid rows: {json} vs {summary}");
    // With data flags naming other rows (the default split): a warning.
    let out = mlp_command()
        .current_dir(&elsewhere)
        .args(["eval", "--model", "../R/model.npz", "--images", "../data/x-images", "--labels", "../data/x-labels"])
        .output()
        .unwrap();
    let (_, stderr) = ok(&out);
    assert!(stderr.contains("warning") && stderr.contains("not the run's"), "{stderr}");
    // The same rows spelled another way: no warning.
    let out = mlp_command()
        .current_dir(&elsewhere)
        .args(["eval", "--model", "../R/model.npz", "--images", "../data/x-images", "--labels", "../data/x-labels"])
        .args(["--split", "500,250"])
        .output()
        .unwrap();
    let (_, stderr) = ok(&out);
    assert!(!stderr.contains("warning"), "{stderr}");

    // The report from another directory, through a symlink to the folder.
    std::os::unix::fs::symlink(base.join("R"), elsewhere.join("link")).unwrap();
    std::fs::remove_file(base.join("R/report.html")).unwrap();
    let (_, stderr) = ok(&mlp_command().current_dir(&elsewhere).args(["report", "link"]).output().unwrap());
    assert!(!stderr.contains("not available"), "{stderr}");
    let page = std::fs::read_to_string(base.join("R/report.html")).unwrap();
    assert!(!page.contains("No confusion matrix"), "the report left the confusion matrix out");
    // Data that changed since the run is recognised.
    let mut labels = std::fs::read(base.join("data/x-labels")).unwrap();
    labels[8 + 3] = (labels[8 + 3] + 1) % 10;
    std::fs::write(base.join("data/x-labels"), labels).unwrap();
    let (_, stderr) = ok(&mlp_command().current_dir(&elsewhere).args(["report", "link"]).output().unwrap());
    assert!(stderr.contains("not available") && stderr.contains("checksum"), "{stderr}");
    let (_, stderr) =
        ok(&mlp_command().current_dir(&elsewhere).args(["eval", "--model", "link/model.npz"]).output().unwrap());
    assert!(stderr.contains("warning") && stderr.contains("not the run's"), "{stderr}");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_run_on_the_built_in_sample_keeps_it_when_a_course_file_appears() {
    let base = temp_dir("built-in-kept");
    let (a, b) = (base.join("a"), base.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    // Trained without data flags where there is no course file: the sample.
    let run = mlp_command().current_dir(&a).args(["train", "--hidden", "8", "--epochs", "2", "--out", "r"]).output();
    ok(&run.unwrap());
    // Elsewhere a data/notMNIST.npz (the course file's name) of other rows.
    std::fs::create_dir_all(b.join("data")).unwrap();
    let data = mlp_engine::data::Dataset::synthetic(300, 5);
    let images = mlp_engine::data::npy::Elements::F32(data.images.clone());
    let labels = mlp_engine::data::npy::Elements::Int(data.labels.iter().map(|&l| i64::from(l)).collect());
    let npz = mlp_engine::data::npz::write(&[("images", &[300, 28, 28], &images), ("labels", &[300], &labels)]);
    std::fs::write(b.join("data/notMNIST.npz"), npz.unwrap()).unwrap();
    // The run's own data follows it there: eval, report and resume.
    let (stdout, stderr) =
        ok(&mlp_command().current_dir(&b).args(["eval", "--model", "../a/r/model.npz"]).output().unwrap());
    let said = stdout + &stderr;
    assert!(said.contains("built-in") && !said.contains("warning"), "{said}");
    let (stdout, _) = ok(&mlp_command().current_dir(&b).args(["report", "../a/r"]).output().unwrap());
    assert!(!stdout.contains("not available"), "{stdout}");
    ok(&mlp_command().current_dir(&b).args(["train", "--resume", "../a/r", "--epochs", "3"]).output().unwrap());
    // A link to the model names the same run.
    std::os::unix::fs::symlink(a.join("r/model.npz"), b.join("link.npz")).unwrap();
    let (stdout, stderr) = ok(&mlp_command().current_dir(&b).args(["eval", "--model", "link.npz"]).output().unwrap());
    let said = stdout + &stderr;
    assert!(said.contains("built-in") && said.contains("its run"), "{said}");
    std::fs::remove_dir_all(base).unwrap();
}
