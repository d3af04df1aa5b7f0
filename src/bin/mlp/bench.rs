//! `mlp bench` and `mlp profile`: measuring the training step on built-in
//! data of a chosen shape.
//!
//! `bench` first checks the fast step against the f64 reference on a small
//! case (a benchmark of a wrong result is worthless), then times steps after
//! warm-up and reports medians, the same run's rate of the step's two big
//! GEMMs alone, the efficiency ratio between the two, epoch time with
//! evaluation, the machine's measured FMA peak with every rate as a share
//! of it, peak memory and the conditions of the run (CPU, threads, build).
//! `profile` splits the step's time over its phases.

use std::time::Instant;

use crate::json::Json;
use crate::system::{build_profile, cores, cpu_features, cpu_line, cpu_model, peak_rss_bytes};
use mlp_engine::data::{CLASSES, FEATURES};
use mlp_engine::engine::layout::{Layout, Tensor};
use mlp_engine::engine::matrix::MatRef;
use mlp_engine::engine::peak::{self, Peak};
use mlp_engine::engine::reference::{RefMat, RefNetwork};
use mlp_engine::engine::rng::Rng;
use mlp_engine::engine::simd::SimdPath;
use mlp_engine::engine::{Hyper, Network, Phase, PhaseTimes, Workspace};
use mlp_engine::training;
use mlp_engine::{Error, ErrorKind, Result};

/// The shape of a benchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchArgs {
    pub hidden: usize,
    /// Training rows per epoch.
    pub rows: usize,
    /// Rows evaluated each epoch besides the training rows (valid + test).
    pub eval_rows: usize,
    /// Rows per step; `None` is full batch.
    pub batch_size: Option<usize>,
    pub steps: usize,
    pub json: bool,
}

impl Default for BenchArgs {
    /// The course's sizes: 10,000 training rows, 6,000 + 2,724 evaluated.
    fn default() -> Self {
        BenchArgs { hidden: 1000, rows: 10_000, eval_rows: 8_724, batch_size: None, steps: 20, json: false }
    }
}

/// Median, min and max of a set of timings, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Timing {
    fn of(mut samples: Vec<f64>) -> Timing {
        samples.sort_by(f64::total_cmp);
        Timing { median: samples[samples.len() / 2], min: samples[0], max: samples[samples.len() - 1] }
    }

    fn json(&self) -> Json {
        Json::obj([("median", Json::num(self.median)), ("min", Json::num(self.min)), ("max", Json::num(self.max))])
    }
}

/// Times `f` `steps` times after two warm-up calls.
fn time(steps: usize, mut f: impl FnMut()) -> Timing {
    f();
    f();
    Timing::of(
        (0..steps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn warn_if_debug() {
    if cfg!(debug_assertions) {
        note!("WARNING: this is a debug build; its timings say nothing. Use `cargo run --release -- bench`.");
    }
}

/// Checks forward and backward of the fast engine against the reference on
/// a small case; returns the largest error relative to each tensor's scale.
pub fn check_against_reference() -> Result<f64> {
    let (d, h, n) = (FEATURES, 48, 96);
    let layout = Layout::new(d, h, CLASSES);
    let mut rng = Rng::new(99);
    let x: Vec<f32> = (0..n * d).map(|_| rng.uniform() as f32).collect();
    let y: Vec<u8> = (0..n).map(|_| rng.below(CLASSES as u64) as u8).collect();
    let mut fast = Network::new(layout, 5, 0.0);
    let mut ws = Workspace::new(layout, n, n);
    fast.forward(&mut ws, MatRef::from_slice(&x, n, d), &y, n);
    fast.backward(&mut ws, MatRef::from_slice(&x, n, d));
    let expected = RefNetwork::from_f32(layout, fast.params(), 0.0).pass(&RefMat::from_f32(n, d, &x), &y);
    let mut worst = ((ws.metrics(0..n).loss - expected.loss) / expected.loss).abs();
    for tensor in Tensor::ALL {
        let range = layout.range(tensor);
        let reference = &expected.grads[range.clone()];
        let scale = reference.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
        for (f, r) in fast.grads()[range].iter().zip(reference) {
            worst = worst.max((f64::from(*f) - r).abs() / scale);
        }
    }
    // Same bound as the test suite: f32 sums of up to 784 terms.
    if worst.is_nan() || worst > 1e-4 {
        return Err(Error::new(
            ErrorKind::SelfCheck,
            format!("the fast step disagrees with the reference (relative error {worst:.2e})"),
        )
        .fix("this build computes wrong results; run `cargo test --release` and report it"));
    }
    Ok(worst)
}

/// Built-in benchmark data: `rows` random pixels in [0, 1) and labels.
fn bench_data(rows: usize, features: usize) -> (Vec<f32>, Vec<u8>) {
    let mut rng = Rng::new(2024);
    let x = (0..rows * features).map(|_| rng.uniform() as f32).collect();
    let y = (0..rows).map(|_| rng.below(CLASSES as u64) as u8).collect();
    (x, y)
}

/// Everything `mlp bench` measured.
struct Measured {
    check: f64,
    batch: usize,
    step: Timing,
    gemms: Timing,
    epoch: Timing,
    /// Flops of one step, of the two big GEMMs alone, and of one epoch.
    step_flops: f64,
    gemm_flops: f64,
    epoch_flops: f64,
    peak: Peak,
    peak_rss: Option<u64>,
    needed_bytes: u64,
}

impl Measured {
    fn rate(flops: f64, t: &Timing) -> f64 {
        flops / t.median / 1e9
    }
    fn step_gflops(&self) -> f64 {
        Self::rate(self.step_flops, &self.step)
    }
    fn gemm_gflops(&self) -> f64 {
        Self::rate(self.gemm_flops, &self.gemms)
    }
    fn epoch_gflops(&self) -> f64 {
        Self::rate(self.epoch_flops, &self.epoch)
    }
    /// Time of the two big GEMMs alone over the step's time: 1 would mean
    /// everything else in the step is free.
    fn efficiency(&self) -> f64 {
        self.gemms.median / self.step.median
    }
    fn samples_per_second(&self) -> f64 {
        self.batch as f64 / self.step.median
    }
}

/// Runs `mlp bench` and prints its report.
pub fn bench(args: &BenchArgs) -> Result<()> {
    warn_if_debug();
    let check = check_against_reference()?;
    let m = measure(args, check);
    if args.json {
        say!("{}", report_json(args, &m).to_compact());
    } else {
        report_text(args, &m);
    }
    Ok(())
}

/// The benchmark's workspace rows and training rows (the batch): those of
/// a training run over the same rows ([`training::workspace_rows`]; a
/// batch of all the rows is full batch). Saturating, for checking huge
/// arguments before anything is allocated.
fn workspace_rows(args: &BenchArgs) -> (usize, usize) {
    let full = args.batch_size.filter(|&b| b < args.rows);
    training::workspace_rows(args.rows.saturating_add(args.eval_rows), args.rows, full)
}

/// Bytes of the benchmark's data, network and workspace, before any is made.
pub fn needed_bytes(args: &BenchArgs) -> u64 {
    let rows = args.rows.saturating_add(args.eval_rows) as u64;
    let data = rows.saturating_mul(FEATURES as u64 * 4 + 1);
    let (ws_rows, ws_train) = workspace_rows(args);
    let workspace = Workspace::bytes_for(args.hidden, CLASSES, ws_rows, ws_train);
    data.saturating_add(Network::bytes_for(FEATURES, args.hidden, CLASSES)).saturating_add(workspace)
}

/// Times the step, its two big GEMMs alone and an epoch, then the
/// machine's FMA peak.
fn measure(args: &BenchArgs, check: f64) -> Measured {
    let d = FEATURES;
    let layout = Layout::new(d, args.hidden, CLASSES);
    let (max_rows, batch) = workspace_rows(args);
    let total_rows = args.rows + args.eval_rows;
    let (x, y) = bench_data(total_rows, d);
    let xv = MatRef::from_slice(&x, total_rows, d);
    let mut net = Network::new(layout, 0, 1e-5);
    // The rate must not change the parameters' magnitude between timings.
    let hyper = Hyper { learning_rate: 1e-6, momentum: 0.0 };
    let full_batch = batch == args.rows;
    // Full batch, the evaluation rows ride along in the step when the
    // workspace holds every row.
    let rides_along = full_batch && max_rows == total_rows;
    let mut ws = Workspace::new(layout, max_rows, batch);
    let needed_bytes = needed_bytes(args);

    let step = time(args.steps, || net.step(&mut ws, xv.row_range(0, batch), &y[..batch], batch, hyper));
    let gemms = time(args.steps, || net.step_gemms_only(&mut ws, xv.row_range(0, batch), batch));
    let per_epoch = args.rows.div_ceil(batch);
    let eval = (xv.row_range(args.rows, args.eval_rows), &y[args.rows..]);
    let epoch = if rides_along {
        time(args.steps.min(10), || net.step(&mut ws, xv, &y, args.rows, hyper))
    } else if full_batch {
        time(args.steps.min(10), || {
            net.evaluate(&mut ws, eval.0, eval.1, None);
            net.step(&mut ws, xv.row_range(0, args.rows), &y[..args.rows], args.rows, hyper)
        })
    } else {
        time(args.steps.clamp(1, 3), || {
            for b in 0..per_epoch {
                let start = (b * batch).min(args.rows - batch);
                net.step(&mut ws, xv.row_range(start, batch), &y[start..start + batch], batch, hyper);
            }
            net.evaluate(&mut ws, eval.0, eval.1, None);
        })
    };
    let peak_rss = peak_rss_bytes();
    let (n, h, c) = (batch as f64, args.hidden as f64, CLASSES as f64);
    let eval_flops = 2.0 * args.eval_rows as f64 * (d as f64 * h + h * c);
    Measured {
        check,
        batch,
        step,
        gemms,
        epoch,
        step_flops: layout.step_flops(batch),
        gemm_flops: 4.0 * n * d as f64 * h,
        epoch_flops: per_epoch as f64 * layout.step_flops(batch) + eval_flops,
        peak: peak::measure(),
        peak_rss,
        needed_bytes,
    }
}

fn report_json(args: &BenchArgs, m: &Measured) -> Json {
    let share = |gflops: f64| Json::num(gflops / m.peak.gflops);
    Json::obj([
        ("hidden", Json::num(args.hidden as f64)),
        ("rows", Json::num(args.rows as f64)),
        ("eval_rows", Json::num(args.eval_rows as f64)),
        ("batch_size", Json::num(m.batch as f64)),
        ("steps", Json::num(args.steps as f64)),
        ("reference_check_max_rel_error", Json::num(m.check)),
        ("step_seconds", m.step.json()),
        ("samples_per_second", Json::num(m.samples_per_second())),
        ("step_gflops", Json::num(m.step_gflops())),
        ("gemm_only_seconds", m.gemms.json()),
        ("gemm_gflops", Json::num(m.gemm_gflops())),
        ("efficiency", Json::num(m.efficiency())),
        ("epoch_seconds", m.epoch.json()),
        ("epoch_gflops", Json::num(m.epoch_gflops())),
        ("peak_gflops", Json::num(m.peak.gflops)),
        ("peak_level", Json::str(m.peak.level)),
        ("peak_clock_ghz", Json::num(m.peak.clock_ghz)),
        ("peak_flops_per_cycle_per_core", Json::num(m.peak.flops_per_cycle())),
        ("step_share_of_peak", share(m.step_gflops())),
        ("epoch_share_of_peak", share(m.epoch_gflops())),
        ("gemm_share_of_peak", share(m.gemm_gflops())),
        ("peak_rss_bytes", m.peak_rss.map_or(Json::Null, |p| Json::num(p as f64))),
        ("needed_bytes", Json::num(m.needed_bytes as f64)),
        ("threads", Json::num(rayon::current_num_threads() as f64)),
        ("cpu_model", cpu_model().map_or(Json::Null, Json::str)),
        ("cpu_count", Json::num(cores() as f64)),
        ("cpu_features", Json::Arr(cpu_features().iter().map(|f| Json::str(*f)).collect())),
        ("passes", Json::str(SimdPath::best().name())),
        ("profile", Json::str(build_profile())),
    ])
}

fn report_text(args: &BenchArgs, m: &Measured) {
    say!(
        "mlp bench: {FEATURES}-{}-{CLASSES}, {} training rows in steps of {}, {} evaluation rows",
        args.hidden,
        args.rows,
        m.batch,
        args.eval_rows
    );
    say!("  CPU {}, features [{}]", cpu_line(), cpu_features().join(" "));
    say!("  build {}, {} threads, passes {}", build_profile(), rayon::current_num_threads(), SimdPath::best().name());
    say!("  reference check: max relative error {:.2e} (passes below 1e-4)", m.check);
    let ms = |t: &Timing| format!("median {:.2} ms (min {:.2}, max {:.2})", t.median * 1e3, t.min * 1e3, t.max * 1e3);
    let of_peak = |gflops: f64| format!("{:.0}% of peak", 100.0 * gflops / m.peak.gflops);
    say!("  step ({} timed):      {}", args.steps, ms(&m.step));
    say!("  samples/s:             {:.0}", m.samples_per_second());
    let (step, gemm, epoch) = (m.step_gflops(), m.gemm_gflops(), m.epoch_gflops());
    say!("  step rate:             {step:.1} GFLOP/s ({:.2} GFLOP per step), {}", m.step_flops / 1e9, of_peak(step));
    say!("  two big GEMMs alone:   {} = {gemm:.1} GFLOP/s, {}", ms(&m.gemms), of_peak(gemm));
    say!("  efficiency:            the big GEMMs alone take {:.1}% of the step's time", 100.0 * m.efficiency());
    let what = match (m.batch == args.rows, workspace_rows(args).0 == args.rows + args.eval_rows) {
        (true, true) => "one step over train + eval rows",
        (true, false) => "eval rows in chunks + one step",
        (false, _) => "all batches + evaluation",
    };
    say!("  epoch ({what}): {} = {epoch:.1} GFLOP/s, {}", ms(&m.epoch), of_peak(epoch));
    let p = &m.peak;
    say!(
        "  FMA peak ({}, {} threads): {:.1} GFLOP/s = {:.1} flops/cycle/core at {:.2} GHz measured",
        p.level,
        p.threads,
        p.gflops,
        p.flops_per_cycle(),
        p.clock_ghz
    );
    if let Some(peak) = m.peak_rss {
        say!(
            "  peak memory:           {:.1} MiB ({:.2}x the {:.1} MiB of data, activations and parameters)",
            peak as f64 / 1048576.0,
            peak as f64 / m.needed_bytes as f64,
            m.needed_bytes as f64 / 1048576.0
        );
    }
}

/// Runs `mlp profile` and prints each phase's time and share.
pub fn profile(args: &BenchArgs) -> Result<()> {
    warn_if_debug();
    let d = FEATURES;
    let layout = Layout::new(d, args.hidden, CLASSES);
    let batch = args.batch_size.unwrap_or(args.rows).min(args.rows);
    let (x, y) = bench_data(batch, d);
    let xv = MatRef::from_slice(&x, batch, d);
    let mut net = Network::new(layout, 0, 1e-5);
    let hyper = Hyper { learning_rate: 1e-6, momentum: 0.0 };
    let mut ws = Workspace::new(layout, batch, batch);
    for _ in 0..2 {
        net.step(&mut ws, xv, &y, batch, hyper);
    }
    let mut times = PhaseTimes::default();
    let start = Instant::now();
    for _ in 0..args.steps {
        net.step_timed(&mut ws, xv, &y, batch, hyper, &mut times);
    }
    let wall = start.elapsed().as_secs_f64() / args.steps as f64;
    let total: f64 = times.seconds.iter().sum::<f64>() / args.steps as f64;
    if args.json {
        let phases = Phase::ALL.iter().map(|&p| (p.name(), Json::num(times.seconds[p as usize] / args.steps as f64)));
        say!(
            "{}",
            Json::obj([
                ("step_seconds", Json::num(wall)),
                ("phases_seconds", Json::obj(phases)),
                ("threads", Json::num(rayon::current_num_threads() as f64)),
                ("cpu_model", cpu_model().map_or(Json::Null, Json::str)),
                ("cpu_count", Json::num(cores() as f64)),
                ("profile", Json::str(build_profile())),
            ])
            .to_compact()
        );
        return Ok(());
    }
    say!(
        "mlp profile: {FEATURES}-{}-{CLASSES}, batch {batch}, {} steps, {} threads, {} build, passes {}",
        args.hidden,
        args.steps,
        rayon::current_num_threads(),
        build_profile(),
        SimdPath::best().name()
    );
    say!("  CPU {}", cpu_line());
    say!("  {:<26} {:>10} {:>7}", "phase", "ms/step", "share");
    let mut gemm = 0.0;
    for phase in Phase::ALL {
        let s = times.seconds[phase as usize] / args.steps as f64;
        if phase.is_gemm() {
            gemm += s;
        }
        say!("  {:<26} {:>10.3} {:>6.1}%", phase.name(), s * 1e3, 100.0 * s / total);
    }
    say!("  {:<26} {:>10.3} {:>6.1}%", "all GEMMs", gemm * 1e3, 100.0 * gemm / total);
    say!("  {:<26} {:>10.3} {:>6.1}%", "passes and update", (total - gemm) * 1e3, 100.0 * (total - gemm) / total);
    say!("  {:<26} {:>10.3}", "step wall time", wall * 1e3);
    Ok(())
}
