//! `mlp profile`'s files and `mlp bench`'s memory bandwidth: the trace is
//! Chrome's trace-event JSON whose spans each lie inside their step on
//! their own thread, and the measured bandwidth agrees with a plain copy
//! loop timed here. (The page's markup is checked with the run report's,
//! in `report.rs`, and in Chromium in `tests/report_browser.rs`.)

use crate::{common, json, json_read};

use std::collections::HashMap;
use std::time::Instant;

use common::{fresh_path, mlp};
use json::Json;

/// The phases each step must show, as the trace names them.
const PHASES: [&str; 5] = ["forward GEMM", "output layer sweep", "∂b_o sums", "∂W_h GEMM", "update"];

fn stdout_of(output: &std::process::Output) -> String {
    assert!(output.status.success(), "mlp failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn num(event: &Json, key: &str) -> f64 {
    event.num_at(&[key]).unwrap_or_else(|| panic!("event without a number '{key}': {event:?}"))
}

#[test]
fn trace_spans_nest_inside_their_step_on_every_thread() {
    let out = fresh_path("profile-trace");
    let args =
        ["profile", "--hidden", "48", "--rows", "300", "--batch-size", "32,full", "--steps", "4", "--threads", "2"];
    let text = stdout_of(&mlp(&[&args[..], &["--out", out.to_str().unwrap()]].concat()));
    let (trace_path, page_path) = (out.join("trace.json"), out.join("profile.html"));
    assert!(text.contains(trace_path.to_str().unwrap()) && text.contains(page_path.to_str().unwrap()), "{text}");
    assert!(text.contains("batch 32") && text.contains("full batch (300)"), "{text}");

    let trace = json_read::parse(&std::fs::read_to_string(&trace_path).unwrap()).expect("trace.json is JSON");
    let Some(Json::Arr(events)) = trace.at(&["traceEvents"]) else { panic!("no traceEvents array") };
    // Steps by (process, thread, step index) → (start, end) in µs.
    let mut steps: HashMap<(u64, u64, u64), (f64, f64)> = HashMap::new();
    let mut named_threads = HashMap::new();
    for e in events {
        match e.str_at(&["ph"]) {
            Some("M") if e.str_at(&["name"]) == Some("thread_name") => {
                named_threads.insert((num(e, "pid") as u64, num(e, "tid") as u64), ());
            }
            Some("X") if e.str_at(&["cat"]) == Some("step") => {
                let key = (num(e, "pid") as u64, num(e, "tid") as u64, e.num_at(&["args", "step"]).unwrap() as u64);
                steps.insert(key, (num(e, "ts"), num(e, "ts") + num(e, "dur")));
            }
            Some("X" | "M") => {}
            other => panic!("unexpected event type {other:?}: {e:?}"),
        }
    }
    // Two batch sizes, four steps each, on at least the step's own thread.
    let step_keys: std::collections::HashSet<(u64, u64)> = steps.keys().map(|&(p, _, s)| (p, s)).collect();
    assert_eq!(step_keys.len(), 2 * 4, "steps per process: {step_keys:?}");
    // Every phase of every step, on the step's thread, and every span
    // inside its step. Times are written to the nanosecond (3 decimals of
    // a microsecond), so a span that ends exactly with its step may read
    // up to 0.001 µs past it after decimal rounding.
    const ROUNDING_US: f64 = 1e-3;
    let mut phases_seen: HashMap<(u64, u64), Vec<String>> = HashMap::new();
    let mut tasks = 0;
    for e in events.iter().filter(|e| e.str_at(&["ph"]) == Some("X") && e.str_at(&["cat"]) != Some("step")) {
        let (pid, tid) = (num(e, "pid") as u64, num(e, "tid") as u64);
        let step = e.num_at(&["args", "step"]).expect("every span names its step") as u64;
        let name = e.str_at(&["name"]).unwrap().to_string();
        assert!(PHASES.contains(&name.as_str()), "unknown phase '{name}'");
        assert!(named_threads.contains_key(&(pid, tid)), "thread {tid} of process {pid} has no name");
        let &(start, end) = steps.get(&(pid, tid, step)).unwrap_or_else(|| panic!("no step {step} on thread {tid}"));
        let (ts, dur) = (num(e, "ts"), num(e, "dur"));
        assert!(dur >= 0.0, "negative duration: {e:?}");
        assert!(
            ts >= start - ROUNDING_US && ts + dur <= end + ROUNDING_US,
            "{name} [{ts}, {}] outside step {step} [{start}, {end}] on thread {tid}",
            ts + dur
        );
        match e.str_at(&["cat"]) {
            Some("phase") => phases_seen.entry((pid, step)).or_default().push(name),
            Some("task") => tasks += 1,
            other => panic!("unknown category {other:?}"),
        }
    }
    assert!(tasks > 0, "no task spans");
    for (key, seen) in &phases_seen {
        for phase in PHASES {
            assert!(seen.iter().any(|p| p == phase), "step {key:?} lacks phase {phase}: {seen:?}");
        }
    }
    assert_eq!(phases_seen.len(), 2 * 4, "every step of both sizes has its phases");

    // The page names both sizes, has a sentence for every phase of each.
    let page = std::fs::read_to_string(&page_path).unwrap();
    for needle in ["id=\"timeline\"", "id=\"roofline\"", "id=\"sizes\"", "batch 32", "full batch (300)", "FMA peak"] {
        assert!(page.contains(needle), "profile.html lacks {needle}");
    }
    let sentences = page.matches("<li>The ").count();
    assert_eq!(sentences, 2 * PHASES.len(), "one sentence per phase and size");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn profile_json_names_the_roofs_and_the_cost_of_recording() {
    let text = stdout_of(&mlp(&["profile", "--hidden", "16", "--rows", "64", "--steps", "3", "--json"]));
    let j = json_read::parse(text.trim()).expect("one JSON object");
    for key in ["peak_gflops", "memory_copy_gbs", "memory_triad_gbs", "memory_bandwidth_gbs"] {
        assert!(j.num_at(&[key]).is_some_and(|v| v > 0.0), "{key}: {text}");
    }
    let Some(Json::Arr(sizes)) = j.at(&["sizes"]) else { panic!("no sizes: {text}") };
    assert_eq!(sizes.len(), 1);
    assert!(sizes[0].num_at(&["recording_overhead"]).is_some_and(f64::is_finite), "{text}");
    assert!(sizes[0].num_at(&["phases", "momentum update", "bytes"]).is_some_and(|b| b > 0.0), "{text}");
}

/// Best of three single-thread copies of a 128 MiB buffer, GB/s.
fn plain_copy_gbs() -> f64 {
    let n = 32 << 20;
    let src = vec![1.0f32; n];
    let mut dst = vec![0.0f32; n];
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&dst);
        best = best.max(8.0 * n as f64 / t.elapsed().as_secs_f64() / 1e9);
    }
    best
}

#[test]
fn bench_bandwidth_agrees_with_a_plain_copy_loop() {
    // Timed before and after the bench, so that a burst of other work on a
    // shared machine during one of the three measurements widens the range
    // instead of failing the test.
    let before = plain_copy_gbs();
    let text = stdout_of(&mlp(&[
        "bench",
        "--hidden",
        "16",
        "--rows",
        "64",
        "--eval-rows",
        "0",
        "--steps",
        "2",
        "--threads",
        "1",
        "--json",
    ]));
    let j = json_read::parse(text.trim()).expect("one JSON object");
    let copy = j.num_at(&["memory_copy_gbs"]).expect("memory_copy_gbs");
    let triad = j.num_at(&["memory_triad_gbs"]).expect("memory_triad_gbs");
    let after = plain_copy_gbs();
    let (low, high) = (before.min(after), before.max(after));
    // Both are one thread copying 128 MiB, counted the same way (8 bytes
    // per element), so on a quiet machine they agree within a few percent;
    // a factor of 3 beyond the two plain copies leaves room for other work
    // on a shared machine while still catching a wrong byte count (2× or
    // 4× on a quiet machine), a measurement of cache instead of memory
    // (several ×), or a loop the compiler removed (orders of magnitude).
    let sane = |gbs: f64| gbs > low / 3.0 && gbs < high * 3.0;
    assert!(sane(copy), "bench copy {copy:.1} GB/s, plain copies here {before:.1} and {after:.1} GB/s");
    assert!(sane(triad), "bench triad {triad:.1} GB/s, plain copies here {before:.1} and {after:.1} GB/s");
    assert_eq!(j.num_at(&["threads"]), Some(1.0));
}

#[test]
fn bench_takes_lists_of_batch_sizes_and_threads() {
    let text = stdout_of(&mlp(&[
        "bench",
        "--hidden",
        "16",
        "--rows",
        "96",
        "--eval-rows",
        "0",
        "--batch-size",
        "8,32,full",
        "--threads",
        "1,2",
        "--steps",
        "2",
        "--json",
    ]));
    let j = json_read::parse(text.trim()).expect("one JSON object");
    let Some(Json::Arr(runs)) = j.at(&["runs"]) else { panic!("no runs: {text}") };
    let got: Vec<(f64, f64)> = runs.iter().map(|r| (num(r, "threads"), num(r, "batch_size"))).collect();
    assert_eq!(got, [(1.0, 8.0), (1.0, 32.0), (1.0, 96.0), (2.0, 8.0), (2.0, 32.0), (2.0, 96.0)]);
    for r in runs {
        assert!(num(r, "samples_per_second") > 0.0 && num(r, "memory_bandwidth_gbs") > 0.0, "{r:?}");
    }
    // The memory roof is measured once per thread count and shared by its
    // batch sizes.
    let bandwidth: Vec<f64> = runs.iter().map(|r| num(r, "memory_bandwidth_gbs")).collect();
    assert!(bandwidth[..3].iter().all(|&b| b == bandwidth[0]), "{bandwidth:?}");
    assert!(bandwidth[3..].iter().all(|&b| b == bandwidth[3]), "{bandwidth:?}");
}

#[test]
fn steps_past_the_maximum_are_a_usage_error_not_an_abort() {
    // `--steps 100000000` reserved 345 GB for the trace and aborted (exit 134).
    for command in ["profile", "bench"] {
        for steps in ["10001", "100000000", "18446744073709551615"] {
            let out = mlp(&[command, "--hidden", "16", "--rows", "64", "--steps", steps]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "mlp {command} --steps {steps}: {stderr}");
            assert!(stderr.contains("use at most 10000"), "{stderr}");
        }
    }
}

/// `mlp profile ARGS` under an address-space limit of `limit_mb` MB, with
/// two global threads, so that the memory kept for threads is the same on
/// every machine.
fn profile_limited(limit_mb: u64, args: &[&str]) -> std::process::Output {
    std::process::Command::new("prlimit")
        .arg(format!("--as={}", limit_mb * 1_000_000))
        .arg(env!("CARGO_BIN_EXE_mlp"))
        .args(["profile", "--hidden", "16", "--rows", "64", "--threads", "2", "--json"])
        .args(args)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap()
}

#[test]
fn the_profile_memory_check_counts_the_bandwidth_buffers_and_the_trace() {
    // The data, network and workspace of this shape take a few MiB; the
    // bandwidth measurement's 384 MiB did not count, and 700 MB of address
    // space let the check pass and left the measurement to fail.
    let out = profile_limited(700, &["--steps", "3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("would need") && stderr.contains("--steps 3"), "{stderr}");
    // 1000 MB hold it, with one recorder of 10000 steps…
    let out = profile_limited(1000, &["--steps", "10000", "--batch-size", "64"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // …but not seven of them (each reserves room for every span of every
    // step on each of three lanes: about 100 MB here).
    let out = profile_limited(1000, &["--steps", "10000", "--batch-size", "1,2,4,8,16,32,64"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("would need") && stderr.contains("ulimit -v"), "{stderr}");
}

#[test]
fn a_network_too_large_to_count_is_a_usage_error_not_a_panic() {
    // 784 × H overflowed while the memory check counted it (exit 101).
    for command in ["profile", "bench"] {
        let out = mlp(&[command, "--hidden", "99999999999999999", "--steps", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "mlp {command}: {stderr}");
        assert!(stderr.contains("would need") && stderr.contains("--hidden 99999999999999999"), "{stderr}");
    }
}
