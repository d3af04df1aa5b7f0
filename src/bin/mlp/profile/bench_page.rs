//! `bench.html`: `mlp bench` over lists of batch sizes and thread counts
//! on one self-contained page: samples/s against batch size under the
//! ceiling the roofline allows, scaling efficiency against threads, and a
//! table of every run.

use std::fmt::Write;

use crate::args::BenchArgs;
use crate::measured::{Measured, ceiling_samples_per_second};
use crate::plot::{LinePlot, Series, Style, escape};
use crate::profile::chart::{Line, log_log};
use crate::report::page::page;
use crate::system::{build_profile, cpu_line};
use mlp_engine::data::{CLASSES, FEATURES};

/// Thread counts in the order they ran, without repeats.
fn thread_counts(runs: &[(BenchArgs, Measured)]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for (_, m) in runs {
        if !out.contains(&m.threads) {
            out.push(m.threads);
        }
    }
    out
}

fn batch_chart(runs: &[(BenchArgs, Measured)]) -> String {
    let mut lines = Vec::new();
    for (i, &t) in thread_counts(runs).iter().enumerate() {
        let of = runs.iter().filter(|(_, m)| m.threads == t);
        let measured = of.clone().map(|(_, m)| (m.batch as f64, m.samples_per_second())).collect();
        let ceiling = of.map(|(a, m)| (m.batch as f64, ceiling_samples_per_second(a.hidden, m))).collect();
        lines.push(Line { name: format!("threads {t}"), color: i, dashed: false, points: measured });
        lines.push(Line { name: format!("threads {t}: ceiling"), color: i, dashed: true, points: ceiling });
    }
    let mut ticks: Vec<f64> = runs.iter().map(|(_, m)| m.batch as f64).collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    log_log("Samples per second against batch size", "batch size (rows per step)", "samples/s", &lines, &ticks)
}

/// Scaling efficiency: samples/s at t threads over t/t₀ times that at the
/// fewest threads t₀, per batch size.
fn threads_chart(runs: &[(BenchArgs, Measured)]) -> Option<String> {
    let counts = thread_counts(runs);
    let fewest = *counts.iter().min()?;
    if counts.len() < 2 {
        return None;
    }
    let mut batches: Vec<usize> = runs.iter().map(|(_, m)| m.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let series = batches
        .iter()
        .filter_map(|&b| {
            let rate = |t: usize| {
                runs.iter().find(|(_, m)| m.batch == b && m.threads == t).map(|(_, m)| m.samples_per_second())
            };
            let base = rate(fewest)?;
            let points = counts
                .iter()
                .filter_map(|&t| rate(t).map(|r| (t as f64, r / (base * t as f64 / fewest as f64))))
                .collect();
            Some(Series::new(format!("batch {b}"), points))
        })
        .collect();
    let plot = LinePlot {
        title: "Scaling efficiency against threads".into(),
        x_label: "threads".into(),
        y_label: format!("samples/s ÷ (threads/{fewest} × samples/s at {fewest})"),
        series,
    };
    Some(plot.to_svg_with(&Style::default()))
}

fn table(runs: &[(BenchArgs, Measured)]) -> String {
    let mut h = String::from(
        "<table>\n<tr><th>threads</th><th>batch</th><th>step ms (median)</th><th>min–max</th><th>samples/s</th>\
         <th>GEMMs alone ÷ step</th><th>step GFLOP/s</th><th>of FMA peak</th><th>roofline ceiling, samples/s</th>\
         <th>of ceiling</th><th>peak GFLOP/s (rounds)</th><th>memory GB/s</th></tr>\n",
    );
    for (a, m) in runs {
        let ceiling = ceiling_samples_per_second(a.hidden, m);
        let noisy = "<span class=\"bad\">noisy</span>";
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}–{:.3}</td><td>{:.0}</td><td>{}</td><td>{:.1}</td><td>{}</td>\
             <td>{:.0}</td><td>{:.0}%</td><td>{:.1} ({:.1}–{:.1})</td><td>{:.1}</td></tr>",
            m.threads,
            m.batch,
            m.step.median * 1e3,
            m.step.min * 1e3,
            m.step.max * 1e3,
            m.samples_per_second(),
            m.possible_efficiency().map_or(noisy.into(), |e| format!("{e:.3}")),
            m.step_gflops(),
            m.share_of_peak(m.step_gflops()).map_or(noisy.into(), |s| format!("{:.0}%", 100.0 * s)),
            ceiling,
            100.0 * m.samples_per_second() / ceiling,
            m.peak.gflops,
            m.peak.min_gflops,
            m.peak.gflops,
            m.bandwidth.roof_gbs()
        );
    }
    h.push_str("</table>\n");
    h
}

/// The whole page.
pub fn bench_page(runs: &[(BenchArgs, Measured)]) -> String {
    let Some((first, _)) = runs.first() else { return page("mlp bench", "<p>No runs.</p>\n") };
    let shape = format!("{FEATURES}-{}-{CLASSES}", first.hidden);
    let threads: Vec<String> = thread_counts(runs).iter().map(|t| t.to_string()).collect();
    let mut body = String::new();
    let _ = write!(
        body,
        "<header>\n<h1>mlp bench, {shape}</h1>\n<dl class=\"facts\">\n<dt>network</dt><dd>{shape}, f32</dd>\
         <dt>rows</dt><dd>{} training, {} evaluated per epoch</dd>\n<dt>CPU</dt><dd>{}</dd><dt>build</dt><dd>{}</dd>\n\
         <dt>threads</dt><dd>{}</dd><dt>steps timed</dt><dd>{} per run, medians</dd>\n</dl>\n</header>\n",
        first.rows,
        first.eval_rows,
        escape(&cpu_line()),
        build_profile(),
        threads.join(", "),
        first.steps
    );
    let _ = write!(
        body,
        "<section id=\"batch\">\n<h2>Batch size</h2>\n<p>Samples per second of the training step (solid) against the \
         ceiling the roofline allows at each batch size (dashed): every phase at the better of its two roofs, the FMA \
         peak and the memory bandwidth measured in the same run (see docs/profile.md). The gap is what the step loses \
         to everything the roofline does not model: dispatch, packing, waiting for the slowest thread. A step above its \
         ceiling kept its data in cache, which the memory roof (measured from DRAM) does not model: small networks \
         and batches do.</p>\n{}</section>\n",
        batch_chart(runs)
    );
    if let Some(svg) = threads_chart(runs) {
        let _ = write!(
            body,
            "<section id=\"threads\">\n<h2>Threads</h2>\n<p>Scaling efficiency: 1 means that t threads give t times \
             the samples/s of the fewest threads measured.</p>\n{svg}</section>\n"
        );
    }
    let _ = write!(body, "<section id=\"runs\">\n<h2>Every run</h2>\n{}</section>\n", table(runs));
    body.push_str("<footer>Written by mlp bench.</footer>\n");
    page(&format!("mlp bench, {shape}"), &body)
}
