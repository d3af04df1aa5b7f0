//! A small log–log line chart in SVG (the run report's line plots have a
//! linear x axis): named lines, solid for measurements and dashed for
//! ceilings, with markers at the measured points, decade grid and legend.

use std::fmt::Write;

use crate::plot::{COLORS, escape, svg_open};

/// One line of the chart.
pub struct Line {
    pub name: String,
    /// Index into the colour cycle: a measurement and its ceiling share it.
    pub color: usize,
    /// A ceiling: dashed, no markers.
    pub dashed: bool,
    /// `(x, y)`, both positive; others are left out.
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 760.0;
const H: f64 = 440.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 56.0;

/// `v` in few characters: 0.5, 32, 1k, 10k, 1.5M.
fn short(v: f64) -> String {
    match v {
        v if v.fract() == 0.0 && v < 1e5 => format!("{v}"),
        v if v >= 1e6 => format!("{}M", trim(v / 1e6)),
        v if v >= 1e3 => format!("{}k", trim(v / 1e3)),
        v => trim(v),
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The chart, with `ticks_x` labelled on the x axis (e.g. the batch sizes).
pub fn log_log(title: &str, x_label: &str, y_label: &str, lines: &[Line], ticks_x: &[f64]) -> String {
    let good = |&(x, y): &(f64, f64)| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite();
    let all: Vec<(f64, f64)> = lines.iter().flat_map(|l| l.points.iter().copied()).filter(good).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, 0.0f64, f64::INFINITY, 0.0f64);
    for &(x, y) in &all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if all.is_empty() {
        (x0, x1, y0, y1) = (1.0, 10.0, 1.0, 10.0);
    }
    let (lx0, lx1) = ((x0.log10() - 0.1).floor(), (x1.log10() + 0.1).ceil());
    let (ly0, ly1) = (y0.log10().floor(), (y1.log10() + 0.05).ceil());
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x.log10() - lx0) / (lx1 - lx0) * pw;
    let sy = |y: f64| TOP + ph - (y.log10() - ly0) / (ly1 - ly0) * ph;
    let mut s = svg_open(W, H, title);
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">{}</text>",
        LEFT + pw / 2.0,
        escape(title)
    );
    for e in ly0 as i32..=ly1 as i32 {
        let y = sy(10f64.powi(e));
        let _ =
            writeln!(s, "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>", LEFT + pw);
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y + 4.0,
            short(10f64.powi(e))
        );
    }
    for &t in ticks_x.iter().filter(|&&t| t > 0.0) {
        let x = sx(t);
        let _ =
            writeln!(s, "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e5e5e5\"/>", TOP + ph);
        let _ =
            writeln!(s, "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", TOP + ph + 18.0, short(t));
    }
    let _ = writeln!(
        s,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw:.1}\" height=\"{ph:.1}\" fill=\"none\" stroke=\"#888\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LEFT + pw / 2.0,
        H - 14.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        "<text transform=\"translate(20 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        TOP + ph / 2.0,
        escape(y_label)
    );
    let mut legend_y = TOP + 8.0;
    for line in lines {
        let color = COLORS[line.color % COLORS.len()];
        let points: Vec<(f64, f64)> = line.points.iter().copied().filter(good).collect();
        let path: Vec<String> = points.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
        let dash = if line.dashed { " stroke-dasharray=\"6 4\"" } else { "" };
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
            path.join(" ")
        );
        if !line.dashed {
            for &(x, y) in &points {
                let _ = writeln!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\"><title>{}: {} at {}</title></circle>",
                    sx(x),
                    sy(y),
                    escape(&line.name),
                    short(y),
                    short(x)
                );
            }
        }
        let lx = W - RIGHT + 12.0;
        let _ = writeln!(
            s,
            "<line x1=\"{lx}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
            legend_y - 4.0,
            lx + 22.0
        );
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{legend_y:.1}\">{}</text>", lx + 28.0, escape(&line.name));
        legend_y += 18.0;
    }
    s.push_str("</svg>\n");
    s
}
