//! A small SVG line-plot writer: axes, ticks, labels, legend and title.

use std::fmt::Write;

/// One named curve.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    /// `(x, y)` points; a non-finite `y` breaks the line.
    pub points: Vec<(f64, f64)>,
}

/// A line plot of several series against a shared x axis.
#[derive(Clone, Debug)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 62.0;
const COLORS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

/// Tick positions covering `[lo, hi]` at a 1–2–5 step giving about `target` ticks.
fn ticks(lo: f64, hi: f64, target: usize) -> (f64, f64, f64) {
    let span = (hi - lo).max(1e-12);
    let raw = span / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(10.0 * magnitude);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

fn label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    format!("{v:.decimals$}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl LinePlot {
    /// The plot as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let finite = || self.series.iter().flat_map(|s| s.points.iter()).filter(|p| p.0.is_finite() && p.1.is_finite());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in finite() {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if y1 <= y0 {
            (y0, y1) = (y0 - 0.5, y1 + 0.5);
        }
        let (xt0, xt1, xstep) = ticks(x0, x1, 8);
        let (yt0, yt1, ystep) = ticks(y0, y1, 6);
        let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let sx = |x: f64| LEFT + (x - xt0) / (xt1 - xt0) * pw;
        let sy = |y: f64| TOP + ph - (y - yt0) / (yt1 - yt0) * ph;

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="28" text-anchor="middle" font-size="16">{}</text>"#,
            WIDTH / 2.0,
            escape(&self.title)
        );
        // Grid and ticks.
        let mut v = yt0;
        while v <= yt1 + ystep * 0.5 {
            let y = sy(v);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e6e6e6"/>"##,
                LEFT + pw
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6.0,
                y + 4.0,
                label(v, ystep)
            );
            v += ystep;
        }
        let mut v = xt0;
        while v <= xt1 + xstep * 0.5 {
            let x = sx(v);
            let _ =
                writeln!(svg, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#f0f0f0"/>"##, TOP + ph);
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/>"##,
                TOP + ph,
                TOP + ph + 5.0
            );
            let _ = writeln!(
                svg,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                TOP + ph + 19.0,
                label(v, xstep)
            );
            v += xstep;
        }
        // Axes and labels.
        let _ = writeln!(svg, r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
            LEFT + pw / 2.0,
            HEIGHT - 16.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text x="18" y="{:.1}" text-anchor="middle" font-size="13" transform="rotate(-90 18 {:.1})">{}</text>"#,
            TOP + ph / 2.0,
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        // Curves: each run of finite points is one polyline.
        for (i, s) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            for run in s.points.split(|p| !(p.0.is_finite() && p.1.is_finite())) {
                if run.is_empty() {
                    continue;
                }
                let pts: Vec<String> = run.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
                if pts.len() == 1 {
                    let _ = writeln!(
                        svg,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                        sx(run[0].0),
                        sy(run[0].1)
                    );
                } else {
                    let _ = writeln!(
                        svg,
                        r#"<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{}"/>"#,
                        pts.join(" ")
                    );
                }
            }
        }
        // Legend in the inside corner that the curves cross least.
        let (lw, lh) = (140.0, 10.0 + 18.0 * self.series.len() as f64);
        let corners = [
            (LEFT + pw - lw - 10.0, TOP + 8.0),
            (LEFT + pw - lw - 10.0, TOP + ph - lh - 8.0),
            (LEFT + 10.0, TOP + 8.0),
            (LEFT + 10.0, TOP + ph - lh - 8.0),
        ];
        let crossings = |&(x, y): &(f64, f64)| {
            finite().filter(|p| (x..x + lw).contains(&sx(p.0)) && (y..y + lh).contains(&sy(p.1))).count()
        };
        let (lx, ly) = corners.iter().copied().min_by_key(crossings).unwrap_or(corners[0]);
        let _ = writeln!(
            svg,
            r##"<rect x="{lx:.1}" y="{ly:.1}" width="{lw}" height="{lh:.1}" fill="white" fill-opacity="0.85" stroke="#999"/>"##
        );
        for (i, s) in self.series.iter().enumerate() {
            let y = ly + 14.0 + 18.0 * i as f64;
            let color = COLORS[i % COLORS.len()];
            let _ = writeln!(
                svg,
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2.5"/>"#,
                lx + 8.0,
                lx + 30.0
            );
            let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, lx + 36.0, y + 4.0, escape(&s.name));
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_use_round_steps() {
        assert_eq!(ticks(0.0, 200.0, 8), (0.0, 200.0, 50.0));
        let (lo, hi, step) = ticks(0.13, 0.97, 6);
        assert_eq!(step, 0.2);
        assert!(lo <= 0.13 && hi >= 0.97);
    }

    #[test]
    fn svg_has_every_series_and_survives_nan() {
        let plot = LinePlot {
            title: "t <1>".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![
                Series { name: "train".into(), points: vec![(1.0, 2.0), (2.0, 1.0), (3.0, f64::NAN), (4.0, 0.5)] },
                Series { name: "valid".into(), points: vec![(1.0, 2.1), (2.0, 1.2)] },
            ],
        };
        let svg = plot.to_svg();
        assert!(svg.contains(">train<") && svg.contains(">valid<") && svg.contains("t &lt;1&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(!svg.contains("NaN"));
    }
}
