//! Reports of long runs stay small, and the run's recorded peak memory
//! covers the report phase: through the `mlp` binary.

use crate::common;

use common::{fresh_path, mlp};
use std::fmt::Write;
use std::path::Path;

fn ok(output: &std::process::Output) {
    assert!(output.status.success(), "mlp failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

fn small_run(dir: &Path) {
    let out = dir.to_str().unwrap();
    ok(&mlp(&[
        "train",
        "--synthetic",
        "600",
        "--split",
        "400,100",
        "--hidden",
        "8",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--out",
        out,
    ]));
}

#[test]
fn a_report_of_a_million_epochs_stays_within_its_size_bounds() {
    let dir = fresh_path("million-epochs");
    small_run(&dir);
    // A million epochs whose loss falls to 1e-300: far more points than
    // pixels, and three hundred decades on the log axis.
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut csv = metrics.lines().next().unwrap().to_string();
    csv.push('\n');
    for e in 1..=1_000_000u32 {
        let loss = 2.3 * (-f64::from(e) / 2300.0).exp() + 1e-300;
        let acc = 0.5 + 0.4 * (1.0 - (-f64::from(e) / 1e4).exp());
        let _ = writeln!(csv, "{e},{loss:.6e},{acc:.4},{:.6e},0.8,{:.6e},0.79,0.0001", loss * 1.1, loss * 1.2);
    }
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    ok(&mlp(&["report", dir.to_str().unwrap()]));
    let size = |name: &str| std::fs::metadata(dir.join(name)).unwrap().len();
    assert!(size("report.html") < 1_500_000, "report.html: {} bytes", size("report.html"));
    for svg in ["loss.svg", "accuracy.svg"] {
        assert!(size(svg) < 300_000, "{svg}: {} bytes", size(svg));
    }
    // The log axis labels a few round powers of ten, not every decade.
    let loss = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
    let labels = loss.matches(r#"text-anchor="end">1e-"#).count();
    assert!((3..=10).contains(&labels), "{labels} exponent labels on the loss axis");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_recorded_peak_memory_covers_the_report_phase() {
    let dir = fresh_path("peak-covers-report");
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kb %M", env!("CARGO_BIN_EXE_mlp")])
        // A long run of a tiny network: reading its 5,000 rows of metrics
        // back for the report takes more memory than training did.
        .args(["train", "--synthetic", "300", "--split", "200,50", "--hidden", "2", "--epochs", "5000"])
        .args(["--threads", "1", "--out"])
        .arg(&dir)
        .output()
        .expect("run /usr/bin/time");
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss in:\n{stderr}"));
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let recorded: f64 = summary
        .split("\"peak_rss_bytes\": ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_bytes in:\n{summary}"));
    // What the kernel measured for the whole process (ru_maxrss), against
    // what the run recorded (VmHWM): only the final summary write and exit
    // come after the record; the two counts agree within a few pages, so
    // 95% of the whole is the floor. A record taken before the report
    // phase comes to 86% here.
    assert!(recorded >= 0.95 * kb * 1024.0, "recorded {recorded} bytes, measured {} bytes", kb * 1024.0);
    let _ = std::fs::remove_dir_all(dir);
}
