//! The `mlp` binary end to end on a small synthetic run: it learns, writes
//! every output, and its saved model evaluates to the figures it reported.
//! Also: usage errors exit 2 naming the flag, runtime errors exit 1.

use crate::common;

use common::{fresh_path, mlp};

use std::path::Path;

/// The number at `path` in a JSON text: each key is searched after the
/// previous one, so `["model", "metrics", "test", "loss"]` finds the model's
/// test loss. Enough for the flat, known documents this tool writes.
fn json_number(text: &str, path: &[&str]) -> f64 {
    let mut rest = text;
    for key in path {
        let quoted = format!("\"{key}\"");
        let at = rest.find(&quoted).unwrap_or_else(|| panic!("no {path:?} in {text}"));
        rest = &rest[at + quoted.len()..];
    }
    let value = rest.trim_start_matches([':', ' ']);
    let end = value.find([',', '}', '\n']).unwrap();
    value[..end].trim().parse().unwrap_or_else(|_| panic!("{path:?} is not a number: {}", &value[..end]))
}

#[test]
fn small_synthetic_run_learns_writes_everything_and_reloads() {
    let out = fresh_path("train");
    let run = mlp(&[
        "train",
        "--synthetic",
        "3000",
        "--split",
        "2000,600",
        "--hidden",
        "64",
        "--epochs",
        "60",
        "--lr",
        "0.5",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "mlp train failed:\n{stderr}");
    assert!(stderr.contains("built-in synthetic glyphs"), "header does not name the data: {stderr}");
    assert!(stdout.contains(&format!("run folder: {}", out.display())), "{stdout}");
    for file in ["metrics.csv", "loss.svg", "accuracy.svg", "summary.json", "model.npz"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds"));
    let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 60);
    assert!(rows.iter().enumerate().all(|(i, r)| r[0] == (i + 1) as f64 && r.len() == 8));
    assert!(rows.iter().all(|r| [2, 4, 6].iter().all(|&k| (0.0..=1.0).contains(&r[k]))), "accuracies are fractions");
    let (first, last) = (&rows[0], &rows[59]);
    // Ten classes: chance is 0.1. A learning run ends far above it.
    assert!(last[4] > 0.6, "validation accuracy only {}", last[4]);
    assert!(last[3] < first[3] * 0.7, "validation loss did not fall: {} → {}", first[3], last[3]);
    for svg in ["loss.svg", "accuracy.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap();
        assert!(
            text.starts_with("<svg") && text.contains(">train<") && text.contains(">valid<") && text.contains(">test<"),
            "{svg}"
        );
    }

    // The saved model, evaluated again, gives the figures the run reported.
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let eval = mlp(&[
        "eval",
        "--model",
        out.join("model.npz").to_str().unwrap(),
        "--synthetic",
        "3000",
        "--split",
        "2000,600",
        "--json",
    ]);
    assert!(eval.status.success(), "mlp eval failed: {}", String::from_utf8_lossy(&eval.stderr));
    let json = String::from_utf8_lossy(&eval.stdout);
    for part in ["train", "valid", "test"] {
        for key in ["loss", "accuracy"] {
            let reported = json_number(&summary, &["model", "metrics", part, key]);
            let measured = json_number(&json, &[part, key]);
            // Same per-row arithmetic; only the f64 order of the final
            // sums may differ.
            assert!((reported - measured).abs() < 1e-9, "{part} {key}: summary {reported}, eval {measured}");
        }
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn early_stopping_keeps_the_best_parameters() {
    let out = fresh_path("patience");
    // A learning rate this high overshoots, so validation loss stops improving.
    let run = mlp(&[
        "train",
        "--synthetic",
        "1200",
        "--split",
        "800,200",
        "--hidden",
        "32",
        "--epochs",
        "200",
        "--lr",
        "2",
        "--patience",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"stop\": \"early_stopped\""), "{summary}");
    let best = json_number(&summary, &["best_valid_loss", "epoch"]) as usize;
    let ran = json_number(&summary, &["epochs_run"]) as usize;
    assert_eq!(ran, best + 3, "stopped {ran} epochs in with the best at {best}");
    // The saved parameters are the best epoch's: their validation loss is the best one.
    let best_loss = json_number(&summary, &["best_valid_loss", "valid", "loss"]);
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let row: Vec<f64> = csv.lines().nth(best).unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    assert!((row[3] - best_loss).abs() < 1e-5);
    let eval = mlp(&[
        "eval",
        "--model",
        out.join("model.npz").to_str().unwrap(),
        "--synthetic",
        "1200",
        "--split",
        "800,200",
        "--json",
    ]);
    let json = String::from_utf8_lossy(&eval.stdout);
    let measured = json_number(&json, &["valid", "loss"]);
    assert!((measured - best_loss).abs() < 1e-5, "model valid loss {measured}, best epoch's {best_loss}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn usage_errors_exit_2_and_name_the_flag() {
    for (args, flag) in [
        (&["train", "--hidden", "-3"][..], "--hidden"),
        (&["train", "--nope"], "--nope"),
        (&["train", "--lr", "inf"], "--lr"),
    ] {
        let out = mlp(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn runtime_errors_exit_1_and_name_the_file() {
    let missing = Path::new("/nonexistent/notMNIST.npz");
    let out = mlp(&["train", "--data", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/notMNIST.npz") && stderr.contains("fix:"), "{stderr}");
}

#[test]
fn out_of_range_values_are_refused_up_front_with_exit_2() {
    for (args, flag) in [
        (&["train", "--synthetic", "100", "--split", "100,1"][..], "--split"),
        (&["train", "--out", ""], "--out"),
        (&["train", "--out", "."], "--out"),
        (&["bench", "--rows", "1", "--eval-rows", "18446744073709551615"], "--eval-rows"),
        (&["train", "--synthetic", "100", "--split", "90,20"], "--split"),
        (&["train", "--epochs", "0"], "--epochs"),
        (&["train", "--lr", "0"], "--lr"),
        (&["train", "--threads", "100000"], "--threads"),
        (&["train", "--hidden", "1000000000000", "--synthetic", "200", "--split", "100,50"], "--hidden"),
        (&["train", "--synthetic", "100000000000"], "--synthetic"),
        (&["bench", "--hidden", "1000000000000"], "--hidden"),
        (&["bench", "--rows", "100", "--batch-size", "200"], "--batch-size"),
        (&["sweep", "--hidden", "10,20,10"], "--hidden"),
    ] {
        let out = mlp(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?} does not name {flag}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("epoch "), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unwritable_or_used_output_folder_fails_before_training() {
    let base = fresh_path("unwritable");
    std::fs::create_dir_all(&base).unwrap();
    // A path under a regular file cannot be created, even by root.
    let file = base.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let used = base.join("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("metrics.csv"), "keep me").unwrap();
    // A folder that cannot be created is a runtime failure (exit 1); a
    // folder with files in it is a wrong --out (exit 2).
    for (out_dir, code) in [(file.join("run"), 1), (used.clone(), 2)] {
        let out = mlp(&[
            "train",
            "--synthetic",
            "300",
            "--split",
            "200,50",
            "--hidden",
            "8",
            "--epochs",
            "3",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(out_dir.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains("fix:") || stderr.contains("pass a new folder"), "{stderr}");
        assert!(!stderr.contains("epoch "), "training started before the folder was checked: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(used.join("metrics.csv")).unwrap(), "keep me");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_diverging_run_stops_and_keeps_what_it_had() {
    let out = fresh_path("diverge");
    let run = mlp(&[
        "train",
        "--synthetic",
        "600",
        "--split",
        "400,100",
        "--hidden",
        "32",
        "--epochs",
        "100",
        "--lr",
        "1e36",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    // The weights overflow f32 within a few epochs at this rate.
    assert!(stderr.contains("NaN or infinite at epoch") && stderr.contains("--lr 1e35"), "{stderr}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"stop\": \"diverged\"") && summary.contains("last finite parameters"), "{summary}");
    assert!(summary.contains("\"finite\": true"), "{summary}");
    let epochs = json_number(&summary, &["epochs_run"]) as usize;
    assert!(epochs < 100, "ran all epochs");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), epochs + 1, "metrics.csv keeps every epoch run");
    // The saved parameters load and are finite.
    let eval = mlp(&[
        "eval",
        "--model",
        out.join("model.npz").to_str().unwrap(),
        "--synthetic",
        "600",
        "--split",
        "400,100",
        "--json",
    ]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn help_lists_commands_and_flags() {
    let out = mlp(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("train") && text.contains("sweep") && text.contains("eval"));
    let out = mlp(&["train", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--hidden") && text.contains("--patience") && text.contains("--split"));
}

#[test]
fn sweep_writes_one_run_per_size_and_a_comparison() {
    let out = fresh_path("sweep");
    let run = mlp(&[
        "sweep",
        "--hidden",
        "8,24",
        "--synthetic",
        "900",
        "--split",
        "600,150",
        "--epochs",
        "15",
        "--lr",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for h in ["h8", "h24"] {
        for file in ["metrics.csv", "summary.json", "model.npz", "loss.svg", "accuracy.svg"] {
            assert!(out.join(h).join(file).is_file(), "{h}/{file} missing");
        }
    }
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[1].starts_with("8,completed,15,") && rows[2].starts_with("24,completed,15,"), "{csv}");
    for svg in ["sweep_valid_accuracy.svg", "sweep_valid_loss.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap();
        // Each size's validation and (dashed) training curve.
        for name in ["H = 8 valid", "H = 24 valid", "H = 8 train", "H = 24 train"] {
            assert!(text.contains(&format!(">{name}<")), "{svg}: no curve {name}");
        }
    }
    assert!(stdout.lines().any(|l| l.trim_start().starts_with("24 ")), "no table row for H=24: {stdout}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bench_and_profile_report_on_a_small_shape() {
    let bench = mlp(&["bench", "--hidden", "32", "--rows", "256", "--eval-rows", "64", "--steps", "3", "--json"]);
    let json = String::from_utf8_lossy(&bench.stdout);
    assert!(bench.status.success(), "{}", String::from_utf8_lossy(&bench.stderr));
    assert!(json_number(&json, &["reference_check_max_rel_error"]) < 1e-4, "{json}");
    // The GEMMs alone are part of the step: a share above 1 is impossible,
    // and a machine too busy to give a possible one prints null.
    if !json.contains("\"efficiency\":null") {
        let efficiency = json_number(&json, &["efficiency"]);
        assert!(efficiency > 0.0 && efficiency <= 1.0, "{json}");
    }
    for key in ["samples_per_second", "step_gflops", "gemm_gflops", "needed_bytes"] {
        assert!(json_number(&json, &[key]) > 0.0, "{key}: {json}");
    }
    let mini =
        mlp(&["bench", "--hidden", "32", "--rows", "256", "--eval-rows", "64", "--batch-size", "32", "--steps", "3"]);
    assert!(mini.status.success() && String::from_utf8_lossy(&mini.stdout).contains("samples/s"));
    // More evaluation rows than ride along in a training step: measured in
    // chunks before the step, as training does.
    let many = mlp(&["bench", "--hidden", "8", "--rows", "256", "--eval-rows", "17000", "--steps", "2"]);
    let text = String::from_utf8_lossy(&many.stdout);
    assert!(many.status.success(), "{}", String::from_utf8_lossy(&many.stderr));
    assert!(text.contains("epoch (eval rows in chunks + one step)"), "{text}");
    let out = fresh_path("profile-small");
    let profile = mlp(&["profile", "--hidden", "32", "--rows", "256", "--steps", "3", "--out", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&profile.stdout);
    assert!(profile.status.success(), "{}", String::from_utf8_lossy(&profile.stderr));
    for phase in ["forward GEMM", "ReLU + output layer + dZ", "∂W_h", "momentum update", "all GEMMs"] {
        assert!(text.contains(phase), "profile lacks {phase}: {text}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}
