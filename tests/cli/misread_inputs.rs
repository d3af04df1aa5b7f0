//! Inputs that used to be misread in silence: float images on the 0–255
//! scale, a model whose finite weights overflow float32, and a `--json`
//! result sent to a closed stdout. Each now fails with a message naming
//! the file and the fix (exit 1), through the `mlp` binary.

use crate::common;

use common::{mlp_command, temp_dir};
use mlp_engine::data::npy::Elements;
use mlp_engine::data::npz;
use mlp_engine::engine::Network;
use mlp_engine::engine::layout::Layout;
use mlp_engine::training::model;
use std::path::{Path, PathBuf};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An `.npz` of `rows` 28×28 float32 images with pixels `pixel(i)` and
/// labels cycling through the ten letters.
fn float_npz(dir: &Path, name: &str, rows: usize, pixel: impl Fn(usize) -> f32) -> PathBuf {
    let images = Elements::F32((0..rows * 784).map(pixel).collect());
    let labels = Elements::Int((0..rows as i64).map(|i| i % 10).collect());
    let path = dir.join(name);
    std::fs::write(&path, npz::write(&[("images", &[rows, 28, 28], &images), ("labels", &[rows], &labels)]).unwrap())
        .unwrap();
    path
}

#[test]
fn float_images_on_the_byte_scale_are_refused_naming_the_scale() {
    let dir = temp_dir("byte-scale");
    // Pixels 0..=255 as floats, as `np.float32(images)` would give.
    let bytes = float_npz(&dir, "bytes.npz", 200, |i| ((i * 37) % 256) as f32);
    let out = mlp_command()
        .args(["train", "--hidden", "4", "--epochs", "1", "--split", "100,50", "--data"])
        .arg(&bytes)
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bytes.npz") && stderr.contains("0-255") && stderr.contains("divide the images by 255"));
    assert!(!dir.join("run").exists(), "a refused run left a folder");
    // The same pixels divided by 255 train.
    let unit = float_npz(&dir, "unit.npz", 200, |i| ((i * 37) % 256) as f32 / 255.0);
    let out = mlp_command()
        .args(["train", "--hidden", "4", "--epochs", "1", "--split", "100,50", "--data"])
        .arg(&unit)
        .arg("--out")
        .arg(dir.join("run-unit"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A model file whose every weight is `weight`.
fn model_of(dir: &Path, weight: f32) -> PathBuf {
    let layout = Layout::new(784, 16, 10);
    let mut network = Network::new(layout, 0, 0.0);
    network.params_mut().fill(weight);
    let path = dir.join("huge.npz");
    std::fs::write(&path, model::to_npz(&network).unwrap()).unwrap();
    path
}

#[test]
fn a_model_whose_outputs_overflow_is_an_error_not_a_nan_or_null() {
    let dir = temp_dir("overflow-model");
    let huge = model_of(&dir, 3e38);
    for json in [false, true] {
        let mut command = mlp_command();
        command.args(["eval", "--split", "6000,2000", "--model"]).arg(&huge);
        if json {
            command.arg("--json");
        }
        let out = command.output().unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "json {json}: {stdout}{stderr}");
        assert!(stderr.contains("huge.npz") && stderr.contains("overflow"), "{stderr}");
        assert!(!stdout.contains("NaN") && !stdout.contains("null"), "{stdout}");
    }
}

#[test]
fn eval_json_to_a_closed_stdout_fails() {
    let dir = temp_dir("closed-stdout");
    let model = model_of(&dir, 0.001);
    // `>&-`: stdout is closed, not a pipe.
    let out = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" eval --split 6000,2000 --json --model \"$1\" >&-", env!("CARGO_BIN_EXE_mlp")])
        .arg(&model)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("standard output"), "{stderr}");
    // `>/dev/null` is a choice, not a closed stdout; neither is text for
    // people to a closed stdout, which is not a result a program waits for.
    let out = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" eval --split 6000,2000 --json --model \"$1\" >/dev/null", env!("CARGO_BIN_EXE_mlp")])
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" eval --split 6000,2000 --model \"$1\" >&-", env!("CARGO_BIN_EXE_mlp")])
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
