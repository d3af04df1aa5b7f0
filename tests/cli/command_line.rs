//! The command line as the operating system hands it over: `--version`,
//! paths that are not UTF-8 (kept byte for byte, recorded exactly), help
//! texts, and the environment (thread counts, limits, odd variables), all
//! through the `mlp` binary.

use crate::common;

use common::{mlp, mlp_command, temp_dir};
use std::path::{Path, PathBuf};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_flags_print_the_crate_version() {
    for flag in ["--version", "-V"] {
        let out = mlp(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("mlp {}\n", env!("CARGO_PKG_VERSION")), "{flag}");
    }
}

#[test]
fn help_does_not_promise_a_default_for_a_flag_that_needs_a_value() {
    let out = mlp(&["help", "train"]);
    let help = text(&out.stdout);
    let line = help.lines().find(|l| l.contains("--synthetic")).expect("--synthetic in help");
    assert!(!line.contains("default"), "{line}");
    // `--synthetic` without a value is a usage error, as the help implies.
    assert_eq!(mlp(&["train", "--synthetic"]).status.code(), Some(2));
    // Every help line of the commands a newcomer meets first fits an
    // 80-column terminal.
    for topic in ["train", "sweep", "eval", "report", "bench", "profile"] {
        let page = text(&mlp(&["help", topic]).stdout);
        for l in page.lines().chain(text(&mlp(&["--help"]).stdout).lines()) {
            assert!(l.chars().count() <= 80, "help {topic}: line of {} columns: {l}", l.chars().count());
        }
    }
}

#[test]
fn built_in_sample_is_labelled_built_in() {
    // Run from a folder with no data/ in it: the label must not name one.
    let here = temp_dir("built-in-label");
    let out_dir = here.join("run");
    let out = mlp_command()
        .current_dir(&here)
        .args(["train", "--hidden", "4", "--epochs", "1", "--split", "300,100", "--threads", "1", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("built-in notMNIST sample"), "{stderr}");
    assert!(!stderr.contains("data/notmnist"), "{stderr}");
}

#[cfg(unix)]
mod not_utf8 {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/notmnist-t10k").join(name)
    }

    /// A path inside a fresh folder whose last name has the byte 0xFF.
    fn odd_path(dir: &Path, stem: &[u8]) -> PathBuf {
        let mut name = stem.to_vec();
        name.extend_from_slice(b"\xff.gz");
        dir.join(OsStr::from_bytes(&name))
    }

    #[test]
    fn a_data_path_that_is_not_utf8_is_read_and_recorded_exactly() {
        let dir = temp_dir("not-utf8-data");
        let images = odd_path(&dir, b"images");
        let labels = odd_path(&dir, b"labels");
        std::fs::copy(sample("t10k-images-idx3-ubyte.gz"), &images).unwrap();
        std::fs::copy(sample("t10k-labels-idx1-ubyte.gz"), &labels).unwrap();
        let run = dir.join("run");
        let out = mlp_command()
            .args(["train", "--hidden", "4", "--epochs", "1", "--split", "300,100", "--threads", "1"])
            .arg("--images")
            .arg(&images)
            // The inline form keeps the bytes too.
            .arg({
                let mut flag = b"--labels=".to_vec();
                flag.extend_from_slice(labels.as_os_str().as_bytes());
                std::ffi::OsString::from(OsStr::from_bytes(&flag))
            })
            .arg("--out")
            .arg(&run)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
        let hex: String =
            std::fs::canonicalize(&images).unwrap().as_os_str().as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(summary.contains(&hex), "summary.json does not hold the image path's bytes {hex}:\n{summary}");
        assert!(summary.contains("\"not_utf8\""), "{summary}");
        // The report rebuilt from the folder finds the same data again.
        let rebuilt = mlp_command().arg("report").arg(&run).output().unwrap();
        assert_eq!(rebuilt.status.code(), Some(0), "{}", text(&rebuilt.stderr));
        let page = std::fs::read_to_string(run.join("report.html")).unwrap();
        assert!(page.contains("<table class=\"confusion\">"), "the rebuilt report lost the data");
        // The command line that repeats the run names the files, shown with
        // U+FFFD where the name is not UTF-8.
        assert!(page.contains(" --images /") && page.contains("images\u{fffd}.gz"), "no --images in the report");
    }

    #[test]
    fn a_missing_path_that_is_not_utf8_is_an_error_not_a_panic() {
        let dir = temp_dir("not-utf8-missing");
        let out = mlp_command().args(["train", "--data"]).arg(odd_path(&dir, b"x")).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("x\u{fffd}.gz"), "{}", text(&out.stderr));
        // A number that is not text is a usage error naming the flag.
        let out = mlp_command().args(["train", "--epochs"]).arg(OsStr::from_bytes(b"\xff")).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("--epochs"), "{}", text(&out.stderr));
    }
}

/// The real user id of this process (Linux `/proc/self/status`).
fn uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap()
}

/// `mlp` under a limit of `nproc` processes and threads for its user.
/// The limit does not bind root, so as root the command runs as `nobody`
/// (util-linux `setpriv`), a user with no other process.
fn mlp_with_nproc(nproc: u32) -> std::process::Command {
    let limit = format!("--nproc={nproc}");
    let mut command = if uid() == 0 {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "prlimit", &limit]);
        c
    } else {
        let mut c = std::process::Command::new("prlimit");
        c.arg(&limit);
        c
    };
    command.arg(env!("CARGO_BIN_EXE_mlp"));
    command
}

/// A small training run's flags, into `out`.
fn small_train(out: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> =
        ["train", "--hidden", "8", "--epochs", "2", "--split", "300,100", "--out"].map(Into::into).to_vec();
    args.push(out.into());
    args
}

#[test]
fn every_parallel_part_follows_threads_not_rayon_num_threads() {
    // RAYON_NUM_THREADS sized rayon's global pool, which loaded the data:
    // under a limit of 24 threads a pool of 1000 could not start (a panic).
    // Every part now runs on the pool of --threads.
    // A new folder right in the temporary folder, which any user may create.
    let run = common::fresh_path("rayon-env");
    let out = mlp_with_nproc(24)
        .args(small_train(&run))
        .args(["--threads", "2"])
        .env("RAYON_NUM_THREADS", "1000")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("  2 threads,") && !stderr.contains("cannot start"), "{stderr}");
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn a_thread_that_cannot_start_falls_back_to_one() {
    let run = common::fresh_path("nproc-1");
    let out = mlp_with_nproc(1).args(small_train(&run)).args(["--threads", "2"]).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("cannot start 2 worker threads") && stderr.contains("ulimit -u"), "{stderr}");
    assert!(stderr.contains("  1 thread,"), "{stderr}");
    assert!(run.join("report.html").is_file());
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn the_memory_plan_counts_the_address_space_limit() {
    // 300 MB of address space: the machine has far more memory, but the
    // default network cannot be allocated in it (it aborted, exit 134).
    let dir = temp_dir("rlimit-as");
    for (extra, code) in [(vec![], 1), (vec!["--hidden", "8", "--synthetic", "2000000"], 2)] {
        let out = std::process::Command::new("prlimit")
            .args(["--as=300000000", env!("CARGO_BIN_EXE_mlp")])
            .args(small_train(&dir.join("run")))
            .args(["--split", "1000,100"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains("would need") && stderr.contains("ulimit -v"), "{stderr}");
        assert!(!dir.join("run").exists(), "a refused run left a folder");
    }
}

#[test]
fn odd_environments_give_sane_output() {
    let dir = temp_dir("odd-env");
    for (i, env) in [
        [("RAYON_NUM_THREADS", "garbage"), ("COLUMNS", "10")],
        [("TERM", "dumb"), ("COLUMNS", "-3")],
        [("RAYON_NUM_THREADS", "0"), ("COLUMNS", "99999999999999999999")],
    ]
    .iter()
    .enumerate()
    {
        let out = mlp_command()
            .args(small_train(&dir.join(format!("run{i}"))))
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{env:?}: {stderr}");
        // Not a terminal: one whole line per epoch.
        assert_eq!(stderr.lines().filter(|l| l.starts_with("epoch ")).count(), 2, "{env:?}: {stderr}");
    }
}

#[test]
fn a_file_size_limit_fails_the_write_and_leaves_no_temporary_file() {
    // Past `ulimit -f` the kernel sends SIGXFSZ, whose default action killed
    // the process mid-write (exit 153) and left a temporary file behind.
    let dir = temp_dir("rlimit-fsize");
    let run = dir.join("run");
    let out = std::process::Command::new("prlimit")
        .args(["--fsize=8192", env!("CARGO_BIN_EXE_mlp")])
        .args(small_train(&run))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("file size limit") && stderr.contains("ulimit -f"), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}
