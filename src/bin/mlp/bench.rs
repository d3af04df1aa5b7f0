//! `mlp bench`: measuring the training step on built-in data of a chosen
//! shape (`mlp profile`, in [`crate::profile`], splits it into phases).
//!
//! `bench` first checks the fast step against the f64 reference on a small
//! case (a benchmark of a wrong result is worthless), then times steps after
//! warm-up and reports medians, the same run's rate of the step's two big
//! GEMMs alone, the efficiency ratio between the two, epoch time with
//! evaluation, the machine's measured FMA peak with every rate as a share
//! of it, peak memory and the conditions of the run (CPU, threads, build).

use std::time::Instant;

use crate::args::{BenchArgs, BenchCommand};
use crate::error::{CliResult, ToolFailure, ToolFailureKind};
use crate::json::Json;
use crate::measured::{Measured, Timing, ceiling_samples_per_second};
use crate::output::{RunFolder, write_atomic};
use crate::peak::{self, Bandwidth};
use crate::system::with_threads;
use crate::system::{build_profile, cores, cpu_features, cpu_line, cpu_model, peak_rss_bytes};
use mlp_engine::data::{CLASSES, FEATURES};
use mlp_engine::engine::layout::{Layout, Tensor};
use mlp_engine::engine::matrix::{MatMut, MatRef, gemm_par};
use mlp_engine::engine::reference::{RefMat, RefNetwork};
use mlp_engine::engine::rng::Rng;
use mlp_engine::engine::simd::SimdPath;
use mlp_engine::engine::{MomentumSgd, Network, Workspace};
use mlp_engine::training;

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

/// Times `run(false)` and `run(true)` `steps` times each, alternating,
/// after two warm-up calls of each: load that comes and goes on the
/// machine then falls on both alike, and their ratio stays meaningful.
fn time_alternating(steps: usize, mut run: impl FnMut(bool)) -> (Timing, Timing) {
    for _ in 0..2 {
        run(false);
        run(true);
    }
    let mut samples = [Vec::with_capacity(steps), Vec::with_capacity(steps)];
    for _ in 0..steps {
        for (second, times) in [false, true].into_iter().zip(samples.iter_mut()) {
            let t = Instant::now();
            run(second);
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let [a, b] = samples;
    (Timing::of(a), Timing::of(b))
}

/// The two GEMMs of a training step alone, `Z = X·W_h` and
/// `∂W_h = Xᵀ·dZ`, with the step's shapes and strides, into buffers of
/// their own, without the passes or the update: the rate the step would
/// have if everything else were free. Z stands in for dZ: same shape and
/// stride, and GEMM speed does not depend on the values.
pub struct GemmsOnly {
    z: Vec<f32>,
    grad: Vec<f32>,
}

impl GemmsOnly {
    pub fn new(layout: Layout, rows: usize) -> GemmsOnly {
        GemmsOnly { z: vec![0.0; rows * layout.hidden], grad: vec![0.0; layout.inputs * layout.hidden] }
    }

    /// Bytes the two buffers take for `hidden` units (saturating: counted
    /// before the sizes are known to make a network).
    pub fn bytes_for(hidden: usize, rows: usize) -> u64 {
        let floats = (rows as u64).saturating_mul(hidden as u64);
        floats.saturating_add((FEATURES as u64).saturating_mul(hidden as u64)).saturating_mul(4)
    }

    /// Runs both GEMMs on the first `train_rows` rows of `x`.
    pub fn run(&mut self, net: &Network, x: MatRef<'_>, train_rows: usize) {
        let (l, n) = (net.layout(), x.rows());
        let z = &mut self.z[..n * l.hidden];
        gemm_par(1.0, x, net.tensor(Tensor::HiddenWeights), 0.0, MatMut::from_slice(z, n, l.hidden));
        let dz = MatRef::from_slice(&z[..train_rows * l.hidden], train_rows, l.hidden);
        let grad = MatMut::from_slice(&mut self.grad, l.inputs, l.hidden);
        gemm_par(1.0, x.row_range(0, train_rows).t(), dz, 0.0, grad);
    }
}

pub fn warn_if_debug() {
    if cfg!(debug_assertions) {
        note!("WARNING: this is a debug build; its timings say nothing. Use `cargo run --release -- bench`.");
    }
}

/// Checks forward and backward of the fast engine against the reference on
/// a small case; returns the largest error relative to each tensor's scale.
pub fn check_against_reference() -> CliResult<f64> {
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
        return Err(ToolFailure::new(
            ToolFailureKind::SelfCheck,
            format!("the fast step disagrees with the reference (relative error {worst:.2e})"),
        )
        .fix("this build computes wrong results; run `cargo test --release` and report it")
        .into());
    }
    Ok(worst)
}

/// Built-in benchmark data: `rows` random pixels in [0, 1) and labels.
pub fn bench_data(rows: usize, features: usize) -> (Vec<f32>, Vec<u8>) {
    let mut rng = Rng::new(2024);
    let x = (0..rows * features).map(|_| rng.uniform() as f32).collect();
    let y = (0..rows).map(|_| rng.below(CLASSES as u64) as u8).collect();
    (x, y)
}

/// Runs `mlp bench`: one measurement as before, or with lists of batch
/// sizes and thread counts (or `--out`) every combination, a summary table
/// and `bench.html` in a new folder.
pub fn bench_command(b: &BenchCommand) -> CliResult<()> {
    let single = b.batch_sizes.len() == 1 && b.threads.len() <= 1;
    if single && b.out.is_none() {
        return with_threads(b.first_threads(), || bench(&b.args))?;
    }
    let folder = if b.args.json { None } else { Some(RunFolder::claim(b.out.as_deref(), "bench")?) };
    let thread_counts: Vec<Option<usize>> =
        if b.threads.is_empty() { vec![None] } else { b.threads.iter().map(|&t| Some(t)).collect() };
    let mut runs = Vec::new();
    for threads in thread_counts {
        // A pool of its own for each count: the command's pool has the first.
        let measured = crate::system::run_on_threads(threads, || -> CliResult<Vec<(BenchArgs, Measured)>> {
            warn_if_debug();
            let check = check_against_reference()?;
            // The memory roof depends on the threads, not the batch: measured
            // by the first batch size of each thread count, then reused.
            let mut bandwidth = None;
            let mut runs = Vec::with_capacity(b.batch_sizes.len());
            for &batch_size in &b.batch_sizes {
                let args = BenchArgs { batch_size, ..b.args.clone() };
                let m = measure(&args, check, bandwidth);
                bandwidth = Some(m.bandwidth);
                runs.push((args, m));
            }
            Ok(runs)
        })??;
        runs.extend(measured);
    }
    // The process's peak memory is a high-water mark: after the first run
    // it holds that run's bandwidth buffers, not the next run's needs.
    for (_, m) in runs.iter_mut().skip(1) {
        m.peak_rss = None;
    }
    if b.args.json {
        let all = runs.iter().map(|(args, m)| report_json(args, m)).collect();
        say!("{}", Json::obj([("runs", Json::Arr(all))]).to_compact());
        return Ok(());
    }
    for (args, m) in &runs {
        report_text(args, m);
        say!();
    }
    say!(
        "  {:>7} {:>7} {:>10} {:>11} {:>10} {:>9} {:>13}",
        "threads",
        "batch",
        "step ms",
        "samples/s",
        "GEMMs/step",
        "GFLOP/s",
        "of ceiling"
    );
    for (args, m) in &runs {
        let ceiling = ceiling_samples_per_second(args.hidden, m);
        say!(
            "  {:>7} {:>7} {:>10.3} {:>11.0} {:>10} {:>9.1} {:>12.0}%",
            m.threads,
            m.batch,
            m.step.median * 1e3,
            m.samples_per_second(),
            m.possible_efficiency().map_or("noisy".into(), |e| format!("{e:.3}")),
            m.step_gflops(),
            100.0 * m.samples_per_second() / ceiling
        );
    }
    if let Some(folder) = folder {
        let path = folder.file("bench.html");
        write_atomic(&path, crate::profile::bench_page::bench_page(&runs).as_bytes())?;
        say!("page:    {}", path.display());
    }
    Ok(())
}

/// Runs `mlp bench` and prints its report.
pub fn bench(args: &BenchArgs) -> CliResult<()> {
    warn_if_debug();
    let check = check_against_reference()?;
    let m = measure(args, check, None);
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

/// The most steps `--steps` may ask for: the samples, and a profile's
/// trace, grow with it (10000 steps of the course's full batch take
/// minutes; a profile's trace of them takes hundreds of MiB).
pub const MAX_STEPS: usize = 10_000;

/// Bytes a benchmark or profile of `args` holds at its peak, to check
/// before anything is made: [`needed_bytes`], the timing samples, the
/// bandwidth measurement's buffers, and `recorder_bytes` (a profile's
/// trace; 0 for a benchmark). Saturating, for huge arguments.
pub fn check_bytes(args: &BenchArgs, recorder_bytes: u64) -> u64 {
    // Two lists of one f64 per step: the step and what it is compared with.
    let samples = (args.steps as u64).saturating_mul(2 * 8);
    needed_bytes(args).saturating_add(samples).saturating_add(peak::BANDWIDTH_BYTES).saturating_add(recorder_bytes)
}

/// Bytes of the benchmark's data, network and workspace, before any is made.
pub fn needed_bytes(args: &BenchArgs) -> u64 {
    let rows = args.rows.saturating_add(args.eval_rows) as u64;
    let data = rows.saturating_mul(FEATURES as u64 * 4 + 1);
    let (ws_rows, ws_train) = workspace_rows(args);
    let workspace = Workspace::bytes_for(args.hidden, CLASSES, ws_rows, ws_train);
    let gemms_only = GemmsOnly::bytes_for(args.hidden, ws_train);
    data.saturating_add(Network::bytes_for(FEATURES, args.hidden, CLASSES))
        .saturating_add(workspace)
        .saturating_add(gemms_only)
}

/// Times the step, its two big GEMMs alone and an epoch, then the
/// machine's FMA peak.
/// Times one setting; `bandwidth` is measured here unless one measured on
/// the same threads is given.
fn measure(args: &BenchArgs, check: f64, bandwidth: Option<Bandwidth>) -> Measured {
    let d = FEATURES;
    let layout = Layout::new(d, args.hidden, CLASSES);
    let (max_rows, batch) = workspace_rows(args);
    let total_rows = args.rows + args.eval_rows;
    let (x, y) = bench_data(total_rows, d);
    let xv = MatRef::from_slice(&x, total_rows, d);
    let mut net = Network::new(layout, 0, 1e-5);
    // The rate must not change the parameters' magnitude between timings.
    let optimizer = MomentumSgd { learning_rate: 1e-6, momentum: 0.0 };
    let full_batch = batch == args.rows;
    // Full batch, the evaluation rows ride along in the step when the
    // workspace holds every row.
    let rides_along = full_batch && max_rows == total_rows;
    let mut ws = Workspace::new(layout, max_rows, batch);
    let needed_bytes = needed_bytes(args);
    let mut gemms_only = GemmsOnly::new(layout, batch);

    // The peak before, between and after the timings, so that its spread
    // shows how much the machine's load changed while they ran.
    let peak_before = peak::measure();
    let (step, gemms) = time_alternating(args.steps, |gemms| match gemms {
        false => net.step(&mut ws, xv.row_range(0, batch), &y[..batch], batch, optimizer),
        true => gemms_only.run(&net, xv.row_range(0, batch), batch),
    });
    drop(gemms_only);
    let peak_between = peak::measure();
    let per_epoch = args.rows.div_ceil(batch);
    let eval = (xv.row_range(args.rows, args.eval_rows), &y[args.rows..]);
    let epoch = if rides_along {
        time(args.steps.min(10), || net.step(&mut ws, xv, &y, args.rows, optimizer))
    } else if full_batch {
        time(args.steps.min(10), || {
            net.evaluate(&mut ws, eval.0, eval.1, None);
            net.step(&mut ws, xv.row_range(0, args.rows), &y[..args.rows], args.rows, optimizer)
        })
    } else {
        time(args.steps.clamp(1, 3), || {
            for b in 0..per_epoch {
                let start = (b * batch).min(args.rows - batch);
                net.step(&mut ws, xv.row_range(start, batch), &y[start..start + batch], batch, optimizer);
            }
            net.evaluate(&mut ws, eval.0, eval.1, None);
        })
    };
    let peak_rss = peak_rss_bytes();
    let bandwidth = bandwidth.unwrap_or_else(peak::measure_bandwidth);
    let peak = peak_before.merge(peak_between).merge(peak::measure());
    let (n, h, c) = (batch as f64, args.hidden as f64, CLASSES as f64);
    let eval_flops = 2.0 * args.eval_rows as f64 * (d as f64 * h + h * c);
    Measured {
        check,
        batch,
        threads: rayon::current_num_threads(),
        step,
        gemms,
        epoch,
        step_flops: layout.step_flops(batch),
        gemm_flops: 4.0 * n * d as f64 * h,
        epoch_flops: per_epoch as f64 * layout.step_flops(batch) + eval_flops,
        peak,
        bandwidth,
        peak_rss,
        needed_bytes,
    }
}

fn report_json(args: &BenchArgs, m: &Measured) -> Json {
    let share = |gflops: f64| m.share_of_peak(gflops).map_or(Json::Null, Json::num);
    let bw = &m.bandwidth;
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
        ("efficiency", m.possible_efficiency().map_or(Json::Null, Json::num)),
        ("epoch_seconds", m.epoch.json()),
        ("epoch_gflops", Json::num(m.epoch_gflops())),
        ("peak_gflops", Json::num(m.peak.gflops)),
        ("peak_gflops_min", Json::num(m.peak.min_gflops)),
        ("peak_level", Json::str(m.peak.level)),
        ("peak_clock_ghz", Json::num(m.peak.clock_ghz)),
        ("peak_flops_per_cycle_per_core", Json::num(m.peak.flops_per_cycle())),
        ("step_share_of_peak", share(m.step_gflops())),
        ("epoch_share_of_peak", share(m.epoch_gflops())),
        ("gemm_share_of_peak", share(m.gemm_gflops())),
        ("memory_copy_gbs", Json::num(bw.copy_gbs)),
        ("memory_triad_gbs", Json::num(bw.triad_gbs)),
        ("memory_bandwidth_gbs", Json::num(bw.roof_gbs())),
        ("memory_spread", Json::num(bw.spread)),
        ("memory_buffer_bytes", Json::num(bw.buffer_bytes as f64)),
        ("noisy", Json::Bool(m.noisy())),
        ("peak_rss_bytes", m.peak_rss.map_or(Json::Null, |p| Json::num(p as f64))),
        ("needed_bytes", Json::num(m.needed_bytes as f64)),
        ("threads", Json::num(m.threads as f64)),
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
    say!("  build {}, {} threads, passes {}", build_profile(), m.threads, SimdPath::best().name());
    say!("  reference check: max relative error {:.2e} (passes below 1e-4)", m.check);
    let ms = |t: &Timing| format!("median {:.2} ms (min {:.2}, max {:.2})", t.median * 1e3, t.min * 1e3, t.max * 1e3);
    let of_peak = |gflops: f64| match m.share_of_peak(gflops) {
        Some(share) => format!("{:.0}% of peak", 100.0 * share),
        None => "above the peak measured: the machine was too busy for this share to mean anything".into(),
    };
    say!("  step ({} timed):      {}", args.steps, ms(&m.step));
    say!("  samples/s:             {:.0}", m.samples_per_second());
    let (step, gemm, epoch) = (m.step_gflops(), m.gemm_gflops(), m.epoch_gflops());
    say!("  step rate:             {step:.1} GFLOP/s ({:.2} GFLOP per step), {}", m.step_flops / 1e9, of_peak(step));
    say!("  two big GEMMs alone:   {} = {gemm:.1} GFLOP/s, {}", ms(&m.gemms), of_peak(gemm));
    match m.possible_efficiency() {
        Some(e) => say!("  efficiency:            the big GEMMs alone take {:.1}% of the step's time", 100.0 * e),
        None => say!(
            "  efficiency:            not measurable: the GEMMs alone took longer than the whole step (the machine was too busy)"
        ),
    }
    let what = match (m.batch == args.rows, workspace_rows(args).0 == args.rows + args.eval_rows) {
        (true, true) => "one step over train + eval rows",
        (true, false) => "eval rows in chunks + one step",
        (false, _) => "all batches + evaluation",
    };
    say!("  epoch ({what}): {} = {epoch:.1} GFLOP/s, {}", ms(&m.epoch), of_peak(epoch));
    let p = &m.peak;
    say!(
        "  FMA peak ({}, {} threads): {:.1} GFLOP/s = {:.1} flops/cycle/core at {:.2} GHz measured (rounds {:.1}–{:.1})",
        p.level,
        p.threads,
        p.gflops,
        p.flops_per_cycle(),
        p.clock_ghz,
        p.min_gflops,
        p.gflops
    );
    let bw = &m.bandwidth;
    say!(
        "  memory bandwidth ({} threads, {} MiB buffers): copy {:.1} GB/s, triad {:.1} GB/s (spread {:.0}%)",
        bw.threads,
        bw.buffer_bytes >> 20,
        bw.copy_gbs,
        bw.triad_gbs,
        100.0 * bw.spread
    );
    if m.noisy() {
        say!(
            "  NOTE: the machine was noisy during this run (peak rounds differ by {:.0}%, bandwidth rounds by {:.0}%); compare figures only within one quiet run",
            100.0 * p.spread(),
            100.0 * bw.spread
        );
    }
    if let Some(peak) = m.peak_rss {
        say!(
            "  peak memory:           {:.1} MiB ({:.2}x the {:.1} MiB of data, activations and parameters)",
            peak as f64 / 1048576.0,
            peak as f64 / m.needed_bytes as f64,
            m.needed_bytes as f64 / 1048576.0
        );
    }
}
