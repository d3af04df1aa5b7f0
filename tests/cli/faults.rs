//! Faults while a run writes lose nothing: a disk that fills, a file size
//! limit, a run folder renamed or replaced mid-run, SIGHUP, signals during
//! `mlp report`, and a half-written metrics row. Also the run folder's
//! claim: it ends with the run, a killed run's claim is stale, only
//! `--resume` reopens such a folder (one at a time), and a refused claim
//! leaves nothing behind.
//!
//! The full-disk test mounts a small tmpfs, which needs root (as CI runs):
//! if the mount fails the test fails, naming why. The durable-rename test
//! watches the system calls with `strace`, which must be installed.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fresh_path, metric_rows, mlp_command, temp_dir, wait_limited};
use mlp_engine::training::Checkpoint;

/// A run of 2,000 synthetic rows at H = 16 (a few milliseconds an epoch).
fn train_args(epochs: &str) -> Vec<&str> {
    vec!["train", "--synthetic", "2000", "--split", "1200,400", "--hidden", "16", "--epochs", epochs]
}

fn spawn_run(epochs: &str, out: &Path, extra: &[&str]) -> Child {
    mlp_command()
        .args(train_args(epochs))
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_rows(dir: &Path, rows: usize) {
    let start = Instant::now();
    while metric_rows(dir) < rows {
        assert!(start.elapsed() < Duration::from_secs(60), "no {rows} epochs within a minute");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal(child: &Child, name: &str) {
    assert!(Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap().success());
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// `metrics.csv` holds whole rows only: each ends with a newline and has
/// the header's eight fields, epochs 1, 2, 3, …
fn assert_whole_rows(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(text.ends_with('\n'), "metrics.csv ends in a half row: {:?}", text.lines().last());
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 8, "row {n}: {line}");
        assert_eq!(fields[0], n.to_string(), "row {n}: {line}");
    }
}

fn no_temporaries(dir: &Path) {
    let left: Vec<String> = names(dir).into_iter().filter(|n| n.ends_with(".tmp")).collect();
    assert!(left.is_empty(), "temporary files left in {}: {left:?}", dir.display());
}

/// A tmpfs of `size` mounted at a fresh folder, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(name: &str, size: &str) -> Tmpfs {
        let dir = temp_dir(name);
        let out =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&dir).output();
        let out = out.expect("run mount");
        assert!(
            out.status.success(),
            "this test needs a small tmpfs for a full disk and mounting one failed (run as root, as CI does): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fills the file system of `dir` to the last byte it gives.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0xA5u8; 4096];
    while file.write_all(&block).is_ok() {}
    while file.write_all(&[0]).is_ok() {}
    path
}

#[test]
fn a_disk_that_fills_mid_run_stops_it_with_whole_rows_and_a_checkpoint_to_continue() {
    let disk = Tmpfs::mount("tmpfs-full", "8m");
    let run = disk.0.join("run");
    let child = spawn_run("100000", &run, &["--checkpoint-every", "0.02"]);
    wait_rows(&run, 5);
    let filler = fill(&disk.0);
    let out = wait_limited(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no space left on the device") && stderr.contains("--resume"), "{stderr}");
    assert_whole_rows(&run);
    no_temporaries(&run);
    let checkpoint = Checkpoint::load(&run.join("checkpoint.bin")).expect("the last checkpoint is whole");
    assert!(checkpoint.epochs_done >= 1 && checkpoint.epochs_done <= metric_rows(&run) + 1);
    // Space again: the run continues from its checkpoint and ends.
    std::fs::remove_file(filler).unwrap();
    let done = checkpoint.epochs_done + 3;
    let out = mlp_command().arg("train").arg("--resume").arg(&run).args(["--epochs", &done.to_string()]).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(metric_rows(&run), done);
    assert_whole_rows(&run);
}

#[test]
fn a_file_size_limit_is_an_error_not_a_kill() {
    let dir = fresh_path("fsize");
    // 80 KiB: the checkpoint (77 KB) and model of H = 8 fit, the report (88 KB) does not.
    let script = format!(
        "ulimit -f 80; exec {} train --synthetic 600 --split 400,100 --hidden 8 --epochs 3 --out {}",
        env!("CARGO_BIN_EXE_mlp"),
        dir.display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "killed by SIGXFSZ (153) or another end: {stderr}");
    assert!(stderr.contains("file size limit") && stderr.contains("ulimit -f"), "{stderr}");
    no_temporaries(&dir);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_run_folder_renamed_or_replaced_mid_run_is_never_split() {
    for replace_with_link in [false, true] {
        let base = temp_dir(if replace_with_link { "replaced" } else { "renamed" });
        let (run, moved, other) = (base.join("run"), base.join("moved"), base.join("other"));
        let child = spawn_run("100000", &run, &["--checkpoint-every", "0.02"]);
        wait_rows(&run, 5);
        std::fs::rename(&run, &moved).unwrap();
        if replace_with_link {
            std::fs::create_dir(&other).unwrap();
            std::os::unix::fs::symlink(&other, &run).unwrap();
        }
        let out = wait_limited(child, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("moved, removed or replaced"), "{stderr}");
        if replace_with_link {
            assert!(names(&other).is_empty(), "files went to the new folder: {:?}", names(&other));
        } else {
            assert!(!run.exists(), "files were written at the old path");
        }
        // Everything is in the folder where it went, and it continues there.
        assert_whole_rows(&moved);
        no_temporaries(&moved);
        let out = mlp_command().arg("train").arg("--resume").arg(&moved).args(["--epochs", "40"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(moved.join("summary.json").is_file());
        std::fs::remove_dir_all(base).unwrap();
    }
}

#[test]
fn sighup_stops_a_run_like_sigterm() {
    let dir = fresh_path("sighup");
    let child = spawn_run("100000", &dir, &[]);
    wait_rows(&dir, 3);
    signal(&child, "HUP");
    let out = wait_limited(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(129), "{stderr}");
    assert!(stderr.contains("SIGHUP"), "{stderr}");
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"stop\": \"interrupted\"") && summary.contains("\"signal\": \"SIGHUP\""), "{summary}");
    assert!(dir.join("model.npz").is_file() && dir.join("checkpoint.bin").is_file());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn signals_during_mlp_report_leave_no_temporary_file() {
    let dir = fresh_path("report-signals");
    let out = mlp_command().args(train_args("3")).args(["--hidden", "200", "--out"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut rng = mlp_engine::engine::rng::Rng::new(std::process::id().into());
    let mut stopped = 0;
    for round in 0..12 {
        let child = mlp_command().arg("report").arg(&dir).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(150_000)));
        let name = if round % 2 == 0 { "INT" } else { "TERM" };
        signal(&child, name);
        let out = wait_limited(child, Duration::from_secs(60));
        let code = out.status.code();
        let expected = if name == "INT" { 130 } else { 143 };
        // A signal that arrives before mlp watches for it (its first
        // milliseconds, before any file is opened) ends it the default way.
        let early = std::os::unix::process::ExitStatusExt::signal(&out.status) == Some(expected - 128);
        assert!(code == Some(0) || code == Some(expected) || early, "SIG{name}: {:?}", out.status);
        stopped += usize::from(code == Some(expected));
        no_temporaries(&dir);
        let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert!(page.trim_end().ends_with("</html>"), "report.html is not whole");
    }
    assert!(stopped > 0, "no signal arrived while the report was being written");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_half_written_last_row_is_dropped_by_report_with_a_note() {
    let dir = fresh_path("half-row");
    let out = mlp_command().args(train_args("4")).arg("--out").arg(&dir).output().unwrap();
    assert!(out.status.success());
    let mut csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    csv.push_str("5,0.12");
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    let out = mlp_command().arg("report").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("left out").count(), 1, "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_finished_or_killed_runs_folder_is_refused_with_the_resume_fix() {
    let dir = fresh_path("claim-finished");
    let out = mlp_command().args(train_args("2")).arg("--out").arg(&dir).output().unwrap();
    assert!(out.status.success());
    assert!(std::fs::read_to_string(dir.join(".mlp-run")).unwrap().contains("state: finished"));
    let again = mlp_command().args(train_args("2")).arg("--out").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("holds a finished run") && stderr.contains("--resume"), "{stderr}");
    assert!(!stderr.contains("pid"), "a finished run is not a live process: {stderr}");
    std::fs::remove_dir_all(&dir).unwrap();

    // Killed: the claim is stale.
    let dir = fresh_path("claim-killed");
    let mut child = spawn_run("100000", &dir, &[]);
    wait_rows(&dir, 2);
    child.kill().unwrap();
    child.wait().unwrap();
    let again = mlp_command().args(train_args("2")).arg("--out").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("abandoned run") && stderr.contains("is gone") && stderr.contains("--resume"), "{stderr}");
    // A marker naming a live process that started after the claim (its
    // number reused) is stale too; one naming a live process as it was is not.
    let marker = std::fs::read_to_string(dir.join(".mlp-run")).unwrap();
    let reused = marker.replace(&format!("pid {}", child.id()), "pid 1").replace("process_start: ", "process_start: 9");
    std::fs::write(dir.join(".mlp-run"), &reused).unwrap();
    let again = mlp_command().args(train_args("2")).arg("--out").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("abandoned run") && stderr.contains("later process"), "{stderr}");
    let live: String = reused.lines().filter(|l| !l.starts_with("process_start")).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join(".mlp-run"), live).unwrap();
    let again = mlp_command().args(train_args("2")).arg("--out").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("still running"), "{stderr}");
    std::fs::write(dir.join(".mlp-run"), marker).unwrap();
    // A killed run's folder (like one after a double Ctrl-C) is taken back by --resume.
    let out = mlp_command().arg("train").arg("--resume").arg(&dir).args(["--epochs", "6"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_resumes_of_one_folder_never_run_at_once() {
    let dir = fresh_path("two-resumes");
    let out = mlp_command().args(train_args("2")).arg("--out").arg(&dir).output().unwrap();
    assert!(out.status.success());
    let first = mlp_command()
        .arg("train")
        .arg("--resume")
        .arg(&dir)
        .args(["--epochs", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_rows(&dir, 4);
    let second = mlp_command().arg("train").arg("--resume").arg(&dir).args(["--epochs", "100000"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    signal(&first, "INT");
    let first = wait_limited(first, Duration::from_secs(60));
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("still running"), "{stderr}");
    assert_eq!(first.status.code(), Some(130));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refused_claims_leave_nothing_behind() {
    let base = temp_dir("refused-claims");
    // A name too long for the file system, below folders that do not exist yet.
    let long = base.join("new").join("deeper").join("x".repeat(300));
    let out = mlp_command().args(train_args("2")).arg("--out").arg(&long).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("255") && !stderr.contains("epoch "), "{stderr}");
    // A dangling symlink.
    let link = base.join("link");
    std::os::unix::fs::symlink(base.join("missing"), &link).unwrap();
    let out = mlp_command().args(train_args("2")).arg("--out").arg(&link).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link") && stderr.contains("does not exist"), "{stderr}");
    // Below a file: nothing can be created.
    std::fs::write(base.join("file"), b"x").unwrap();
    let out = mlp_command().args(train_args("2")).arg("--out").arg(base.join("file").join("run")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(names(&base), ["file", "link"], "a refused claim left something");
    // A run that training would refuse (too few rows for a validation
    // part) is refused before a folder is claimed.
    let tiny = base.join("tiny");
    let out = mlp_command().args(["train", "--synthetic", "3", "--hidden", "8", "--out"]).arg(&tiny).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(names(&base), ["file", "link"], "a refused run left a folder");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn two_runs_started_together_on_one_new_folder_one_wins_and_keeps_it() {
    let base = temp_dir("claim-race");
    // The two race for the folder and its marker; in rounds where the one
    // that created the folder loses the marker, it must leave the winner's
    // claim and folder alone.
    for round in 0..8 {
        let out = base.join(format!("race-{round}"));
        let (a, b) = (spawn_run("40", &out, &[]), spawn_run("40", &out, &[]));
        let (a, b) = (wait_limited(a, Duration::from_secs(60)), wait_limited(b, Duration::from_secs(60)));
        let (won, lost) = if a.status.success() { (&a, &b) } else { (&b, &a) };
        let lost_says = String::from_utf8_lossy(&lost.stderr);
        assert!(won.status.success(), "round {round}: neither run won: {lost_says}");
        // The loser is refused: the folder belongs to the other run (exit
        // 1), or, seen a moment earlier, is not empty (exit 2).
        let refused = match lost.status.code() {
            Some(1) => lost_says.contains("belongs to another run"),
            Some(2) => lost_says.contains("not empty"),
            _ => false,
        };
        assert!(refused, "round {round}: {:?}: {lost_says}", lost.status);
        assert!(out.join("model.npz").is_file() && out.join("summary.json").is_file(), "round {round}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn a_signal_around_the_final_writes_gets_one_story() {
    let mut rng = mlp_engine::engine::rng::Rng::new(u64::from(std::process::id()) ^ 0x5EED);
    for round in 0..6 {
        let dir = fresh_path(&format!("final-writes-{round}"));
        let child = spawn_run("4", &dir, &["--hidden", "300"]);
        wait_rows(&dir, 3 + usize::from(round % 2 == 1));
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        signal(&child, "INT");
        let out = wait_limited(child, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap_or_default();
        match out.status.code() {
            Some(0) => {
                assert!(summary.contains("\"stop\": \"completed\""), "exit 0 but {summary}");
                assert!(!stderr.contains("stopping after this epoch"), "exit 0 after saying it would stop: {stderr}");
            }
            Some(130) => {
                assert!(summary.contains("\"stop\": \"interrupted\""), "exit 130 but {summary}");
                assert!(stderr.contains("stopping after this epoch") && stderr.contains("interrupted after epoch"));
            }
            other => panic!("exit {other:?}: {stderr}"),
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn an_out_symlink_to_an_empty_folder_is_written_through_and_a_marker_symlink_refused() {
    let base = temp_dir("out-link");
    let (target, link) = (base.join("target"), base.join("link"));
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = mlp_command().args(train_args("2")).arg("--out").arg(&link).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(target.join("summary.json").is_file() && target.join("checkpoint.bin").is_file());
    // A marker that is a symlink is never followed (its target would be rewritten).
    let other = base.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(base.join("victim"), b"keep").unwrap();
    std::os::unix::fs::symlink(base.join("victim"), other.join(".mlp-run")).unwrap();
    let out = mlp_command().arg("train").arg("--resume").arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let out = mlp_command().args(train_args("2")).arg("--out").arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(base.join("victim")).unwrap(), b"keep");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn two_resumes_started_together_one_runs() {
    let dir = fresh_path("resumes-together");
    let out = mlp_command().args(train_args("2")).arg("--out").arg(&dir).output().unwrap();
    assert!(out.status.success());
    let resume = || {
        mlp_command()
            .arg("train")
            .arg("--resume")
            .arg(&dir)
            .args(["--epochs", "100000"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (resume(), resume());
    // One of them is refused; the other runs until stopped.
    let start = Instant::now();
    let (refused, running) = loop {
        assert!(start.elapsed() < Duration::from_secs(60), "neither resume was refused");
        if a.try_wait().unwrap().is_some() {
            break (a, b);
        }
        if b.try_wait().unwrap().is_some() {
            break (b, a);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let refused = refused.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("still running"), "{stderr}");
    wait_rows(&dir, 4);
    signal(&running, "INT");
    assert_eq!(wait_limited(running, Duration::from_secs(60)).status.code(), Some(130));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn signals_during_mlp_eval_end_it_cleanly() {
    let dir = fresh_path("eval-signals");
    let out = mlp_command().args(train_args("2")).args(["--hidden", "300", "--out"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let child = mlp_command()
            .args(["eval", "--model"])
            .arg(dir.join("model.npz"))
            .args(["--synthetic", "18724"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30));
        signal(&child, name);
        let out = wait_limited(child, Duration::from_secs(60));
        let got = out.status.code();
        assert!(got == Some(code) || got == Some(0), "SIG{name}: exit {got:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The renames in an `strace -f -y` log, each with whether the next
/// `fsync` of the same process, before its next rename, synced `folder`.
fn renames_and_folder_syncs(log: &str, folder: &Path) -> Vec<(String, bool)> {
    let folder_fd = format!("<{}>)", folder.display());
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut open: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in log.lines() {
        let pid = line.split_whitespace().next().unwrap_or_default().to_string();
        if line.contains(" rename") && line.ends_with("= 0") {
            out.push((line.to_string(), false));
            open.insert(pid, out.len() - 1);
        } else if line.contains(" fsync(")
            && let Some(at) = open.remove(&pid)
        {
            out[at].1 = line.contains(&folder_fd);
        }
    }
    out
}

/// Runs `program args` under `strace -f -y` (file descriptors shown with
/// their paths) and returns the log of its renames and syncs.
fn strace(program: &Path, args: &[&str], env: (&str, &str), log: &Path) -> String {
    let status = Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=rename,renameat,renameat2,fsync", "-o"])
        .arg(log)
        .arg(program)
        .args(args)
        .env(env.0, env.1)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("this test needs strace (apt-get install strace): {e}"));
    assert!(status.success(), "{} {args:?} under strace failed", program.display());
    std::fs::read_to_string(log).unwrap()
}

#[test]
fn every_rename_into_place_is_followed_by_a_sync_of_its_folder() {
    // Without the folder's sync a power cut can undo the rename and bring
    // back the older file (an older checkpoint, say).
    let dir = temp_dir("folder-sync");
    let run = dir.join("run");
    let args = [train_args("2"), vec!["--out", run.to_str().unwrap()]].concat();
    let log = strace(Path::new(env!("CARGO_BIN_EXE_mlp")), &args, ("MLP_UNUSED", ""), &dir.join("mlp.log"));
    let renames = renames_and_folder_syncs(&log, &run.canonicalize().unwrap());
    assert!(renames.len() >= 4, "the run renamed its files into place: {log}");
    for (rename, synced) in &renames {
        assert!(synced, "not followed by a sync of the folder: {rename}\n{log}");
    }

    // The library's `Checkpoint::save`, in this test program run again
    // for the one test below.
    let saved = dir.join("lib");
    std::fs::create_dir(&saved).unwrap();
    let me = std::env::current_exe().unwrap();
    let args = ["--exact", "faults::checkpoint_save_for_the_folder_sync_test", "--ignored", "--test-threads", "1"];
    let target = saved.join("run.ckpt");
    let log = strace(&me, &args, ("MLP_TEST_SAVE_TO", target.to_str().unwrap()), &dir.join("lib.log"));
    assert!(target.is_file(), "the traced save did not run: {log}");
    let renames = renames_and_folder_syncs(&log, &saved.canonicalize().unwrap());
    assert_eq!(renames.len(), 1, "{log}");
    assert!(renames[0].1, "Checkpoint::save did not sync the folder after its rename: {log}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Saves a checkpoint to `$MLP_TEST_SAVE_TO` (run so by the test above,
/// under strace; else to a folder of its own) and reads it back.
#[test]
#[ignore = "run under strace by every_rename_into_place_is_followed_by_a_sync_of_its_folder"]
fn checkpoint_save_for_the_folder_sync_test() {
    let target =
        std::env::var_os("MLP_TEST_SAVE_TO").map_or_else(|| temp_dir("traced-save").join("run.ckpt"), PathBuf::from);
    let split = mlp_engine::data::Dataset::synthetic(100, 1).into_split(60, 20, 1).unwrap();
    let config = mlp_engine::TrainConfig { hidden: 4, epochs: 1, ..mlp_engine::TrainConfig::default() };
    let checkpoint = Checkpoint::start(&split, &config).unwrap();
    checkpoint.save(Path::new(&target)).unwrap();
    assert_eq!(Checkpoint::load(Path::new(&target)).unwrap(), checkpoint);
}
