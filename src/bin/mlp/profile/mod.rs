//! `mlp profile`: the training step split into its phases, per thread.
//!
//! For each batch size it runs steps under a [`trace::Recorder`],
//! alternating with uninstrumented steps (their ratio is the cost of the
//! recording), and prints each phase's median time, share, rates and the
//! roof that bounds it. It also writes a new folder with `trace.json`
//! (every step, phase and task on every thread, for Perfetto or
//! `chrome://tracing`) and `profile.html` (a timeline of a few steps, the
//! roofline and the table), and prints both paths.

pub mod bench_page;
pub mod chart;
pub mod page;
pub mod results;
pub mod roofline;
pub mod timeline;
pub mod trace;

use std::time::Instant;

use crate::args::BenchArgs;
use crate::args::BenchCommand;
use crate::bench::{bench_data, warn_if_debug};
use crate::error::{CliError, CliResult};
use crate::json::Json;
use crate::measured::Timing;
use crate::output::{RunFolder, write_atomic};
use crate::peak;
use crate::system::with_threads;
use crate::system::{build_profile, cores, cpu_line, cpu_model};
use mlp_engine::data::{CLASSES, FEATURES};
use mlp_engine::engine::layout::Layout;
use mlp_engine::engine::matrix::MatRef;
use mlp_engine::engine::network::FOLD_MAX_ROWS;
use mlp_engine::engine::simd::SimdPath;
use mlp_engine::engine::{MomentumSgd, Network, Phase, Workspace, fused};
use results::{Machine, SizeProfile};
use roofline::{Bound, PhasePoint, phase_cost};
use trace::{Recorder, Recording};

/// Runs `mlp profile`: measures, prints, writes the folder.
pub fn profile(b: &BenchCommand) -> CliResult<()> {
    let folder = if b.args.json { None } else { Some(RunFolder::claim(b.out.as_deref(), "profile")?) };
    let origin = Instant::now();
    let (machine, sizes) = with_threads(b.first_threads(), || measure(b))??;
    if b.args.json {
        say!("{}", profile_json(&b.args, &machine, &sizes).to_compact());
        return Ok(());
    }
    report_text(&b.args, &machine, &sizes);
    if let Some(folder) = folder {
        let recordings: Vec<Recording<'_>> = sizes
            .iter()
            .map(|s| Recording {
                name: format!("{} ({FEATURES}-{}-{CLASSES})", s.name(), b.args.hidden),
                recorder: &s.recorder,
            })
            .collect();
        let trace_path = folder.file("trace.json");
        write_atomic(&trace_path, trace::trace_json(origin, &recordings, facts_json(&b.args, &machine)).as_bytes())?;
        let page_path = folder.file("profile.html");
        write_atomic(&page_path, page::profile_page(&b.args, &machine, &sizes).as_bytes())?;
        say!("trace:   {}  (open in https://ui.perfetto.dev or chrome://tracing)", trace_path.display());
        say!("page:    {}", page_path.display());
    }
    Ok(())
}

/// The roofs, then every batch size, then the peak again (its spread over
/// the whole profile shows the machine's noise).
fn measure(b: &BenchCommand) -> CliResult<(Machine, Vec<SizeProfile>)> {
    warn_if_debug();
    let peak_before = peak::measure();
    let bandwidth = peak::measure_bandwidth();
    let sizes = b
        .batch_sizes
        .iter()
        .map(|&size| measure_size(&b.args, size.unwrap_or(b.args.rows).min(b.args.rows), size.is_none()))
        .collect::<CliResult<Vec<_>>>()?;
    let machine = Machine {
        cpu: cpu_line(),
        threads: rayon::current_num_threads(),
        build: build_profile(),
        passes: SimdPath::best().name(),
        peak: peak_before.merge(peak::measure()),
        bandwidth,
    };
    Ok((machine, sizes))
}

/// Spans one step can make on one thread, with room to spare: every GEMM
/// block, chunk of the sweep, of the ∂b_o sums and of the update could land
/// on the same thread. Saturating: it is counted before the size is checked.
fn spans_per_step(hidden: usize, batch: usize, threads: usize) -> usize {
    let gemm_blocks = 2 * threads.max(8);
    let sweep = fused::max_sum_chunks(batch) + 2;
    let sums = batch.div_ceil(mlp_engine::engine::passes::SUM_CHUNK_ROWS);
    let params = FEATURES.saturating_add(1).saturating_mul(hidden).saturating_add(hidden.saturating_add(1) * CLASSES);
    let update = params.div_ceil(1 << 14) + 2;
    [gemm_blocks, sweep, sums, update, 2 * Phase::ALL.len()]
        .into_iter()
        .fold(0, usize::saturating_add)
        .saturating_mul(2)
}

/// Bytes the recorders of a profile of `b` reserve: one per batch size,
/// all kept until the trace is written. Counted before anything is made.
pub fn recorder_bytes(b: &BenchCommand) -> u64 {
    let threads = b.first_threads().unwrap_or_else(cores);
    b.batch_sizes
        .iter()
        .map(|&size| {
            let batch = size.unwrap_or(b.args.rows).min(b.args.rows);
            Recorder::bytes_for(threads, b.args.steps, spans_per_step(b.args.hidden, batch, threads))
        })
        .fold(0, u64::saturating_add)
}

fn measure_size(args: &BenchArgs, batch: usize, full: bool) -> CliResult<SizeProfile> {
    let layout = Layout::new(FEATURES, args.hidden, CLASSES);
    let (x, y) = bench_data(batch, FEATURES);
    let xv = MatRef::from_slice(&x, batch, FEATURES);
    let mut net = Network::new(layout, 0, 1e-5);
    // The rate must not change the parameters' magnitude between timings.
    let optimizer = MomentumSgd { learning_rate: 1e-6, momentum: 0.0 };
    let mut ws = Workspace::new(layout, batch, batch);
    for _ in 0..2 {
        net.step(&mut ws, xv, &y, batch, optimizer);
    }
    let threads = rayon::current_num_threads();
    let mut recorder =
        Recorder::new(threads, args.steps, spans_per_step(args.hidden, batch, threads)).ok_or_else(|| {
            CliError::Usage(format!("--steps {} makes a trace too large to count; use fewer steps", args.steps))
        })?;
    let (mut plain, mut traced) = (Vec::with_capacity(args.steps), Vec::with_capacity(args.steps));
    for _ in 0..args.steps {
        let t = Instant::now();
        net.step(&mut ws, xv, &y, batch, optimizer);
        plain.push(t.elapsed().as_secs_f64());
        traced.push(recorder.step(|clock| net.step_timed(&mut ws, xv, &y, batch, optimizer, clock)));
    }
    let points = Phase::ALL
        .iter()
        .map(|&phase| {
            let per_step = recorder.phase_seconds().iter().map(|s| s[phase as usize]).collect();
            PhasePoint { phase, cost: phase_cost(layout, batch, phase), seconds: Timing::of(per_step).median }
        })
        .collect();
    Ok(SizeProfile { batch, full, points, plain: Timing::of(plain), traced: Timing::of(traced), recorder })
}

fn bound_name(bound: Bound) -> &'static str {
    match bound {
        Bound::Compute => "FMA",
        Bound::Memory => "memory",
    }
}

fn report_text(args: &BenchArgs, m: &Machine, sizes: &[SizeProfile]) {
    say!(
        "mlp profile: {FEATURES}-{}-{CLASSES}, {} steps, {} threads, {} build, passes {}",
        args.hidden,
        args.steps,
        m.threads,
        m.build,
        m.passes
    );
    say!("  CPU {}", m.cpu);
    let roofs = m.roofs();
    say!(
        "  roofs: FMA peak {:.1} GFLOP/s ({}, rounds {:.1}–{:.1}), memory {:.1} GB/s (copy {:.1}, triad {:.1}); ridge at {:.1} flops/byte",
        m.peak.gflops,
        m.peak.level,
        m.peak.min_gflops,
        m.peak.gflops,
        roofs.bandwidth_gbs,
        m.bandwidth.copy_gbs,
        m.bandwidth.triad_gbs,
        roofs.ridge()
    );
    for size in sizes {
        say!();
        say!("  {} — medians over {} steps", size.name(), args.steps);
        say!(
            "  {:<26} {:>9} {:>7} {:>9} {:>8} {:>7} {:>8}",
            "phase",
            "ms/step",
            "share",
            "GFLOP/s",
            "GB/s",
            "bound",
            "of roof"
        );
        let total = size.phases_seconds();
        let mut gemm = 0.0;
        for p in &size.points {
            if p.phase.is_gemm() {
                gemm += p.seconds;
            }
            say!(
                "  {:<26} {:>9.3} {:>6.1}% {:>9.1} {:>8.1} {:>7} {:>7.0}%",
                p.phase.name(),
                p.seconds * 1e3,
                100.0 * p.seconds / total,
                p.gflops(),
                p.gbs(),
                bound_name(roofs.bound(p.cost.intensity())),
                100.0 * p.of_roof(&roofs)
            );
        }
        let above = |bound: Bound| {
            size.points.iter().any(|p| roofs.bound(p.cost.intensity()) == bound && p.of_roof(&roofs) > 1.0)
        };
        if above(Bound::Memory) {
            say!("  (a memory-bound phase above 100% kept its data in cache: the memory roof is measured from DRAM)");
        }
        if above(Bound::Compute) {
            say!(
                "  (a phase above 100% of the FMA peak is impossible: the machine was busy while the peak was measured)"
            );
        }
        say!("  {:<26} {:>9.3} {:>6.1}%", "all GEMMs", gemm * 1e3, 100.0 * gemm / total);
        if size.batch <= FOLD_MAX_ROWS {
            say!("  (momentum folded: the ∂W_h GEMM's time includes W_h ← W_h − v, run in its tasks)");
        }
        say!("  {:<26} {:>9.3} {:>6.1}%", "passes and update", (total - gemm) * 1e3, 100.0 * (total - gemm) / total);
        say!("  {:<26} {:>9.3}", "step wall time", size.plain.median * 1e3);
        say!(
            "  recording every span: {:.3} ms per step against {:.3} ms without ({:+.1}%){}",
            size.traced.median * 1e3,
            size.plain.median * 1e3,
            100.0 * size.overhead(),
            match size.recorder.dropped() {
                0 => String::new(),
                n => format!("; {n} spans did not fit and are missing from the trace"),
            }
        );
    }
}

/// The conditions of the profile, for the trace and the JSON.
fn facts_json(args: &BenchArgs, m: &Machine) -> Json {
    Json::obj([
        ("network", Json::str(format!("{FEATURES}-{}-{CLASSES}", args.hidden))),
        ("threads", Json::num(m.threads as f64)),
        ("cpu_model", cpu_model().map_or(Json::Null, Json::str)),
        ("cpu_count", Json::num(cores() as f64)),
        ("profile", Json::str(m.build)),
        ("passes", Json::str(m.passes)),
        ("peak_gflops", Json::num(m.peak.gflops)),
        ("peak_gflops_min", Json::num(m.peak.min_gflops)),
        ("memory_copy_gbs", Json::num(m.bandwidth.copy_gbs)),
        ("memory_triad_gbs", Json::num(m.bandwidth.triad_gbs)),
        ("memory_bandwidth_gbs", Json::num(m.bandwidth.roof_gbs())),
    ])
}

fn profile_json(args: &BenchArgs, m: &Machine, sizes: &[SizeProfile]) -> Json {
    let roofs = m.roofs();
    let size_json = |s: &SizeProfile| {
        let phases = s.points.iter().map(|p| {
            (
                p.phase.name(),
                Json::obj([
                    ("seconds", Json::num(p.seconds)),
                    ("flops", Json::num(p.cost.flops)),
                    ("bytes", Json::num(p.cost.bytes)),
                    ("gflops", Json::num(p.gflops())),
                    ("gbs", Json::num(p.gbs())),
                    ("bound", Json::str(bound_name(roofs.bound(p.cost.intensity())))),
                    ("share_of_roof", Json::num(p.of_roof(&roofs))),
                ]),
            )
        });
        Json::obj([
            ("batch_size", Json::num(s.batch as f64)),
            ("step_seconds", s.plain.json()),
            ("traced_step_seconds", s.traced.json()),
            ("recording_overhead", Json::num(s.overhead())),
            ("phases", Json::obj(phases)),
        ])
    };
    let mut facts = facts_json(args, m);
    if let Json::Obj(pairs) = &mut facts {
        pairs.push(("steps".into(), Json::num(args.steps as f64)));
        pairs.push(("sizes".into(), Json::Arr(sizes.iter().map(size_json).collect())));
    }
    facts
}
