//! The timeline chart of a few profiled steps: one lane per thread, each
//! task a bar coloured by its phase, the phases of the step's own thread as
//! a thin strip under its lane, and a dashed line where each step begins.
//! Blank stretches of a lane are time that thread spent waiting.

use std::fmt::Write;
use std::ops::Range;

use crate::plot::{escape, svg_open};
use crate::profile::roofline::PHASE_COLORS;
use crate::profile::trace::{Recorder, phase_label};
use mlp_engine::engine::Phase;

const W: f64 = 1100.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const LANE: f64 = 36.0;
const BOTTOM: f64 = 70.0;

/// A 1–2–5 tick step giving about `target` ticks over `span`.
fn tick_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|&s| s >= raw).unwrap_or(10.0 * mag)
}

/// The timeline of `steps` of `recorder`, titled `title`.
pub fn svg(recorder: &Recorder, steps: Range<usize>, title: &str) -> String {
    let all = recorder.steps();
    let steps = steps.start.min(all.len())..steps.end.min(all.len());
    let lanes: Vec<(usize, Vec<_>)> = (0..recorder.lane_count())
        .map(|lane| {
            let spans = recorder.spans(lane).into_iter().filter(|s| steps.contains(&s.step)).collect::<Vec<_>>();
            (lane, spans)
        })
        .filter(|(_, spans)| !spans.is_empty())
        .collect();
    let height = TOP + LANE * lanes.len().max(1) as f64 + BOTTOM;
    let mut s = svg_open(W, height, title);
    let _ = writeln!(s, "<text x=\"{LEFT}\" y=\"22\" font-size=\"15\">{}</text>", escape(title));
    if steps.is_empty() {
        s.push_str("</svg>\n");
        return s;
    }
    let (origin, end) = (all[steps.start].0, all[steps.end - 1].1);
    let span_ms = ((end - origin).as_secs_f64() * 1e3).max(1e-6);
    let pw = W - LEFT - RIGHT;
    let sx = |t: std::time::Instant| LEFT + t.saturating_duration_since(origin).as_secs_f64() * 1e3 / span_ms * pw;
    let bottom = TOP + LANE * lanes.len() as f64;
    // Time axis in milliseconds.
    let step = tick_step(span_ms, 8.0);
    let mut t = 0.0;
    while t <= span_ms + 1e-9 {
        let x = LEFT + t / span_ms * pw;
        let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#eee\"/>");
        let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
        let _ =
            writeln!(s, "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t:.decimals$}</text>", bottom + 16.0);
        t += step;
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">milliseconds from the start of step {}</text>",
        LEFT + pw / 2.0,
        bottom + 34.0,
        steps.start
    );
    for (row, (lane, spans)) in lanes.iter().enumerate() {
        let y = TOP + LANE * row as f64;
        let name = match *lane {
            l if l == recorder.step_lane() => format!("thread {l} (step)"),
            l if l + 1 == recorder.lane_count() => "outside the pool".into(),
            l => format!("thread {l}"),
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 8.0,
            y + 16.0,
            escape(&name)
        );
        let _ =
            writeln!(s, "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"{pw:.1}\" height=\"22\" fill=\"#f6f7f9\"/>", y + 2.0);
        for sp in spans {
            let (x0, x1) = (sx(sp.start), sx(sp.end));
            let (top, tall) = if sp.task { (y + 2.0, 22.0) } else { (y + 26.0, 6.0) };
            let what = if sp.task { "task" } else { "whole phase" };
            let _ = writeln!(
                s,
                "<rect x=\"{x0:.2}\" y=\"{top:.1}\" width=\"{:.2}\" height=\"{tall}\" fill=\"{}\"><title>step {}, {} ({what}): {:.1} µs</title></rect>",
                (x1 - x0).max(0.6),
                PHASE_COLORS[sp.phase as usize],
                sp.step,
                escape(phase_label(sp.phase)),
                (sp.end - sp.start).as_secs_f64() * 1e6
            );
        }
    }
    for i in steps.clone() {
        let x = sx(all[i].0);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>",
            TOP - 6.0
        );
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\">step {i}</text>", x + 3.0, TOP - 8.0);
    }
    // Legend.
    let mut x = LEFT;
    let y = height - 14.0;
    for phase in Phase::ALL {
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>",
            y - 10.0,
            PHASE_COLORS[phase as usize]
        );
        let label = phase_label(phase);
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{y:.1}\">{}</text>", x + 16.0, escape(label));
        x += 30.0 + 7.0 * label.chars().count() as f64;
    }
    s.push_str("</svg>\n");
    s
}
