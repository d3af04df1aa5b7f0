//! `profile.html`: one self-contained page (the run report's page and
//! style, inline SVG, no script, no request) with the machine and build,
//! a timeline of a few steps per batch size, the roofline, the batch sizes
//! side by side, and per size a table of its phases and one sentence each.

use std::fmt::Write;

use crate::args::BenchArgs;
use crate::plot::escape;
use crate::profile::results::{Machine, SizeProfile, TIMELINE_STEPS};
use crate::profile::roofline::{self, Bound};
use crate::profile::timeline;
use crate::profile::trace::phase_label;
use crate::report::page::page;
use mlp_engine::data::{CLASSES, FEATURES};

fn header(args: &BenchArgs, m: &Machine, sizes: &[SizeProfile]) -> String {
    let roofs = m.roofs();
    let names: Vec<String> = sizes.iter().map(|s| s.name()).collect();
    let facts = [
        ("network", format!("{FEATURES}-{}-{CLASSES} (ReLU, softmax), f32", args.hidden)),
        ("batch sizes", names.join(", ")),
        ("CPU", m.cpu.clone()),
        ("threads", m.threads.to_string()),
        ("build", format!("{}, passes {}", m.build, m.passes)),
        ("steps timed", format!("{} per size, medians", args.steps)),
        (
            "compute roof",
            format!(
                "{:.1} GFLOP/s measured FMA peak ({}, rounds {:.1}–{:.1})",
                m.peak.gflops, m.peak.level, m.peak.min_gflops, m.peak.gflops
            ),
        ),
        (
            "memory roof",
            format!(
                "{:.1} GB/s (STREAM copy {:.1}, triad {:.1}, {} MiB buffers)",
                roofs.bandwidth_gbs,
                m.bandwidth.copy_gbs,
                m.bandwidth.triad_gbs,
                m.bandwidth.buffer_bytes >> 20
            ),
        ),
    ];
    let mut h = String::new();
    let _ = write!(
        h,
        "<header>\n<h1>Profile of the training step, {FEATURES}-{}-{CLASSES}</h1>\n<dl class=\"facts\">\n",
        args.hidden
    );
    for (k, v) in facts {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    h.push_str("</dl>\n</header>\n");
    h
}

fn timelines(sizes: &[SizeProfile]) -> String {
    let mut h = String::from("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    let _ = writeln!(
        h,
        "<p>The last {TIMELINE_STEPS} profiled steps of each batch size, one lane per thread. Each bar is one task \
         (a GEMM block, a chunk of the output layer's sweep, of the ∂b_o sums or of the update) on the thread that ran it; \
         the thin strip under the step's own thread is the whole phase. Blank stretches are time a thread waited. \
         <code>trace.json</code> in the same folder holds every step, and opens in Perfetto or chrome://tracing.</p>"
    );
    for s in sizes {
        let title =
            format!("{}: steps {}–{}", s.name(), s.timeline_steps().start, s.timeline_steps().end.saturating_sub(1));
        let _ =
            writeln!(h, "<div class=\"timeline\">\n{}</div>", timeline::svg(&s.recorder, s.timeline_steps(), &title));
    }
    h.push_str("</section>\n");
    h
}

fn roofline_section(m: &Machine, sizes: &[SizeProfile]) -> String {
    let roofs = m.roofs();
    let points: Vec<(String, Vec<_>)> = sizes.iter().map(|s| (s.name(), s.points.clone())).collect();
    format!(
        "<section id=\"roofline\">\n<h2>Roofline</h2>\n<p>Each phase is a point: its arithmetic intensity (flops per byte \
         it must move, from the shapes) against the GFLOP/s it ran at. No phase can rise above the roof over its intensity: \
         the slanted memory roof (intensity × measured bandwidth) left of the ridge at {:.1} flops per byte, the flat FMA \
         peak right of it. The distance below the roof is what is left to gain; a point above the memory roof is a phase \
         whose data stayed in cache.</p>\n{}</section>\n",
        roofs.ridge(),
        roofline::svg(&points, &roofs)
    )
}

/// The sizes side by side: each phase's time per step and share of its roof.
fn comparison(sizes: &[SizeProfile], m: &Machine) -> String {
    let roofs = m.roofs();
    let mut h = String::from(
        "<section id=\"sizes\">\n<h2>Batch sizes side by side</h2>\n<table class=\"compare\">\n<tr><th>phase</th>",
    );
    for s in sizes {
        let _ = write!(h, "<th>{}</th>", escape(&s.name()));
    }
    h.push_str("</tr>\n");
    for (i, phase) in mlp_engine::engine::Phase::ALL.iter().enumerate() {
        let _ = write!(h, "<tr><td style=\"text-align:left\">{}</td>", escape(phase_label(*phase)));
        for s in sizes {
            let p = &s.points[i];
            let share = 100.0 * p.seconds / s.phases_seconds();
            let _ = write!(
                h,
                "<td>{:.3} ms ({share:.0}%), {:.0}% of roof</td>",
                p.seconds * 1e3,
                100.0 * p.of_roof(&roofs)
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("<tr><td style=\"text-align:left\">step (wall)</td>");
    for s in sizes {
        let _ = write!(h, "<td>{:.3} ms</td>", s.plain.median * 1e3);
    }
    h.push_str("</tr>\n<tr><td style=\"text-align:left\">samples/s</td>");
    for s in sizes {
        let _ = write!(h, "<td>{:.0}</td>", s.batch as f64 / s.plain.median);
    }
    h.push_str("</tr>\n</table>\n</section>\n");
    h
}

fn phase_table(s: &SizeProfile, m: &Machine) -> String {
    let roofs = m.roofs();
    let mut h = String::new();
    let _ = writeln!(h, "<section class=\"phases\">\n<h2>{}</h2>", escape(&s.name()));
    h.push_str(
        "<table>\n<tr><th>phase</th><th>ms/step</th><th>share</th><th>MFLOP</th><th>MB moved</th><th>flops/byte</th>\
         <th>GFLOP/s</th><th>GB/s</th><th>bound by</th><th>of roof</th></tr>\n",
    );
    let total = s.phases_seconds();
    for p in &s.points {
        let bound = match roofs.bound(p.cost.intensity()) {
            Bound::Compute => "FMA peak",
            Bound::Memory => "memory",
        };
        let _ = writeln!(
            h,
            "<tr><td style=\"text-align:left\">{}</td><td>{:.3}</td><td>{:.1}%</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td>\
             <td>{:.1}</td><td>{:.1}</td><td>{bound}</td><td>{:.0}%</td></tr>",
            escape(phase_label(p.phase)),
            p.seconds * 1e3,
            100.0 * p.seconds / total,
            p.cost.flops / 1e6,
            p.cost.bytes / 1e6,
            p.cost.intensity(),
            p.gflops(),
            p.gbs(),
            100.0 * p.of_roof(&roofs)
        );
    }
    let _ = writeln!(
        h,
        "<tr><th style=\"text-align:left\">sum of phases</th><th>{:.3}</th><th>100%</th><td colspan=\"7\"></td></tr>\n</table>",
        total * 1e3
    );
    h.push_str("<ul>\n");
    for p in &s.points {
        let _ = writeln!(h, "<li>{}</li>", escape(&roofline::sentence(p, &roofs)));
    }
    h.push_str("</ul>\n");
    let dropped = match s.recorder.dropped() {
        0 => String::new(),
        n => format!(" {n} spans did not fit the recorder and are missing from the timeline and the trace."),
    };
    let _ = writeln!(
        h,
        "<p>Step wall time {:.3} ms without instrumentation, {:.3} ms recording every span ({:+.1}%), medians of {} steps each, alternating.{}</p>\n</section>",
        s.plain.median * 1e3,
        s.traced.median * 1e3,
        100.0 * s.overhead(),
        s.plain_steps(),
        escape(&dropped)
    );
    h
}

/// The whole page.
pub fn profile_page(args: &BenchArgs, m: &Machine, sizes: &[SizeProfile]) -> String {
    let mut body = header(args, m, sizes);
    body.push_str(&timelines(sizes));
    body.push_str(&roofline_section(m, sizes));
    body.push_str(&comparison(sizes, m));
    for s in sizes {
        body.push_str(&phase_table(s, m));
    }
    body.push_str("<footer>Written by mlp profile, with trace.json in the same folder.</footer>\n");
    page(&format!("Profile of the training step, {FEATURES}-{}-{CLASSES}", args.hidden), &body)
}
