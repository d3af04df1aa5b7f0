//! A small SVG line-plot writer: axes, ticks, labels, legend and title, with
//! an optional log-scaled y axis, each curve's best point marked and
//! labelled vertical markers (best epochs, early stop). The same SVG serves
//! as a standalone file and inline in the run report.

use std::fmt::Write;

/// One named curve.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    /// `(x, y)` points; a non-finite `y` breaks the line.
    pub points: Vec<(f64, f64)>,
    /// Index into [`COLORS`]; `None`: the series' own index.
    pub color: Option<usize>,
    /// Drawn dashed (a training curve beside its validation curve).
    pub dashed: bool,
}

impl Series {
    /// A solid curve in the series' own color.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.into(), points, ..Series::default() }
    }
}

/// A line plot of several series against a shared x axis.
#[derive(Clone, Debug)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// How the y axis maps values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Scale {
    #[default]
    Linear,
    /// Logarithmic: values that are not positive break the line.
    Log,
}

/// Which point of each curve to mark and name in the legend.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Best {
    #[default]
    None,
    Min,
    Max,
}

/// A labelled vertical line at an x value.
#[derive(Clone, Debug)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

/// Options of [`LinePlot::to_svg_with`]; the default is a plain linear plot.
#[derive(Clone, Debug, Default)]
pub struct Style {
    pub y_scale: Scale,
    pub best: Best,
    pub markers: Vec<Marker>,
    /// Zoom a linear y axis to where the curves settle (see
    /// [`settled_range`]); the first epochs' climb is cut at the frame.
    pub zoom: bool,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 62.0;
const PW: f64 = WIDTH - LEFT - RIGHT;
const PH: f64 = HEIGHT - TOP - BOTTOM;
pub const COLORS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

/// Tick positions covering `[lo, hi]` at a 1–2–5 step giving about `target` ticks.
fn ticks(lo: f64, hi: f64, target: usize) -> (f64, f64, f64) {
    let span = (hi - lo).max(1e-12);
    let raw = span / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(10.0 * magnitude);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

/// Most ticks a log axis draws: at most one decade apart they would
/// otherwise overlap (1e-300 to 1 would give ~900 labels).
const MAX_LOG_TICKS: usize = 10;

/// The multiples of `step` within `[lo, hi]` (with a rounding margin): the
/// tick values of a linear axis, never outside its frame.
fn steps_within(lo: f64, hi: f64, step: f64) -> impl Iterator<Item = f64> {
    let margin = step * 1e-6;
    let first = ((lo - margin) / step).ceil();
    let last = ((hi + margin) / step).floor();
    // Bounded: a step from `ticks` gives about the target count.
    let count = if last >= first && (last - first) < 1000.0 { (last - first) as usize + 1 } else { 0 };
    (0..count).map(move |k| (first + k as f64) * step)
}

/// Ticks of a log axis between the exponents `lo` and `hi` (log10 of the
/// range's ends), as exponents: over more than three decades, powers of ten
/// at a round stride (every decade, or every 2, 5, 10, 20… decades) giving
/// at most [`MAX_LOG_TICKS`]; over fewer, 1–2–5 per decade, or every digit
/// when that gives fewer than four, or round linear steps over a range
/// narrower than that.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Vec::new();
    }
    if hi - lo > 3.0 {
        let stride = [1.0, 2.0, 5.0]
            .iter()
            .flat_map(|&m| (0..4).map(move |d| m * 10f64.powi(d)))
            .filter(|&s| ((hi / s).floor() - (lo / s).ceil() + 1.0) <= MAX_LOG_TICKS as f64)
            .fold(f64::INFINITY, f64::min);
        let first = (lo / stride).ceil();
        let count = ((hi / stride).floor() - first + 1.0).max(0.0) as usize;
        return (0..count.min(MAX_LOG_TICKS)).map(|k| (first + k as f64) * stride).collect();
    }
    // Within three decades: in values, scaled so that the range's lower
    // decade is 1 (tiny or huge values then round like ordinary ones).
    let decade = lo.floor();
    let (a, b) = (10f64.powf(lo - decade), 10f64.powf(hi - decade));
    let pick = |mantissas: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        for d in 0..=4 {
            for m in mantissas {
                let v = m * 10f64.powi(d);
                if v >= a * (1.0 - 1e-9) && v <= b * (1.0 + 1e-9) {
                    out.push(v);
                }
            }
        }
        out
    };
    let coarse = pick(&[1.0, 2.0, 5.0]);
    let values = if coarse.len() >= 4 {
        coarse
    } else {
        let digits = pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        if digits.len() >= 4 {
            digits
        } else {
            let (t0, _, step) = ticks(a, b, 8);
            (0..=20).map(|k| t0 + k as f64 * step).filter(|&v| v >= a && v <= b && v > 0.0).collect()
        }
    };
    values.into_iter().map(|v| v.log10() + decade).collect()
}

fn label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    format!("{v:.decimals$}")
}

/// Whether `v` reads better as `1e-7` than in positional notation.
fn wants_exponent(v: f64) -> bool {
    v != 0.0 && !(1e-4..1e6).contains(&v.abs())
}

/// A log tick's label, from its exponent: the fewest decimals (up to six)
/// that show it exactly, or `2e-9` style far from 1.
fn log_label(exponent: f64) -> String {
    let v = 10f64.powf(exponent);
    if wants_exponent(v) || !v.is_finite() || v == 0.0 {
        let rounded = exponent.round();
        return if (exponent - rounded).abs() < 1e-9 {
            format!("1e{rounded}")
        } else {
            let mantissa = 10f64.powf(exponent - exponent.floor());
            format!("{}e{}", log_label(mantissa.log10()), exponent.floor())
        };
    }
    (0..6)
        .map(|d| format!("{v:.d$}"))
        .find(|t| (t.parse::<f64>().unwrap_or(0.0) - v).abs() <= v * 1e-9)
        .unwrap_or(format!("{v}"))
}

/// A value as the legend shows it: four significant digits.
fn short(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    if wants_exponent(v) {
        return format!("{v:.3e}");
    }
    // |v| in [1e-4, 1e6): at most 3 + 4 decimals.
    let decimals = if v.abs() >= 1.0 { 3 } else { 3 + (-v.abs().log10().floor()) as usize };
    format!("{v:.decimals$}")
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The opening of a standalone SVG of `width` × `height` pixels: the root
/// element, its `title` (escaped) and a white background, each on a line.
pub fn svg_open(width: f64, height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n\
         <title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        escape(title)
    )
}

/// The plot area's data ranges and the mapping into pixels.
struct Frame {
    x0: f64,
    x1: f64,
    /// In axis units: log10 of the value on a log axis.
    y0: f64,
    y1: f64,
    log: bool,
    /// The y axis shows only where the curves settle.
    zoomed: bool,
}

impl Frame {
    fn new(series: &[Series], log: bool, zoom: bool) -> Frame {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        let probe = Frame { x0: 0.0, x1: 1.0, y0: 0.0, y1: 1.0, log, zoomed: false };
        let mut zoomed = false;
        for (x, y) in series.iter().flat_map(|s| s.points.iter()).filter_map(|&p| probe.axis_point(p)) {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        // Only a zoom that gains at least a factor of two.
        if zoom
            && !log
            && let Some((lo, hi)) = settled_range(series)
            && (hi - lo) * 2.0 < y1 - y0
        {
            (y0, y1, zoomed) = (lo, hi, true);
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1, zoomed) = (0.0, 1.0, 0.0, 1.0, false);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if y1 <= y0 {
            (y0, y1) = (y0 - 0.5, y1 + 0.5);
        }
        let (xt0, xt1, _) = ticks(x0, x1, 8);
        if log {
            // A margin of 4% of the span above and below the curves.
            let pad = (y1 - y0) * 0.04;
            Frame { x0: xt0, x1: xt1, y0: y0 - pad, y1: y1 + pad, log, zoomed }
        } else {
            let (yt0, yt1, _) = ticks(y0, y1, 6);
            Frame { x0: xt0, x1: xt1, y0: yt0, y1: yt1, log, zoomed }
        }
    }

    /// `(x, y)` in axis units, or `None` where the point cannot be drawn.
    fn axis_point(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        let y = if self.log { if y > 0.0 { y.log10() } else { f64::NAN } } else { y };
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }

    fn sx(&self, x: f64) -> f64 {
        LEFT + (x - self.x0) / (self.x1 - self.x0) * PW
    }

    /// Pixel row of an axis-unit y.
    fn sy(&self, y: f64) -> f64 {
        TOP + PH - (y - self.y0) / (self.y1 - self.y0) * PH
    }

    /// Pixel position of a data point, if drawable.
    fn pixel(&self, p: (f64, f64)) -> Option<(f64, f64)> {
        self.axis_point(p).map(|(x, y)| (self.sx(x), self.sy(y)))
    }
}

impl LinePlot {
    /// The plot as a standalone SVG document (also valid inline in HTML).
    pub fn to_svg_with(&self, style: &Style) -> String {
        let frame = Frame::new(&self.series, style.y_scale == Scale::Log, style.zoom);
        let mut svg = svg_open(WIDTH, HEIGHT, &self.title);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="28" text-anchor="middle" font-size="16">{}</text>"#,
            WIDTH / 2.0,
            escape(&self.title)
        );
        y_grid(&mut svg, &frame);
        x_grid(&mut svg, &frame);
        self.axes(&mut svg, style.y_scale, frame.zoomed);
        markers(&mut svg, &frame, &style.markers);
        // Curves cut at the frame when the axis is zoomed: a nested <svg>
        // over the plot area, with the outer coordinates, clips what it
        // holds (no id, so several plots can share a page).
        let _ = writeln!(
            svg,
            r#"<svg x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" viewBox="{LEFT} {TOP} {PW} {PH}" overflow="hidden">"#
        );
        let best = self.curves(&mut svg, &frame, style.best);
        svg.push_str("</svg>\n");
        self.legend(&mut svg, &frame, &best, style);
        svg.push_str("</svg>\n");
        svg
    }

    fn axes(&self, svg: &mut String, scale: Scale, zoom: bool) {
        let _ = writeln!(svg, r##"<rect x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" fill="none" stroke="#333"/>"##);
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
            LEFT + PW / 2.0,
            HEIGHT - 16.0,
            escape(&self.x_label)
        );
        let y_label = match (scale, zoom) {
            (Scale::Log, _) => format!("{} (log scale)", self.y_label),
            (Scale::Linear, true) => format!("{} (zoomed)", self.y_label),
            (Scale::Linear, false) => self.y_label.clone(),
        };
        let _ = writeln!(
            svg,
            r#"<text x="18" y="{:.1}" text-anchor="middle" font-size="13" transform="rotate(-90 18 {:.1})">{}</text>"#,
            TOP + PH / 2.0,
            TOP + PH / 2.0,
            escape(&y_label)
        );
    }

    /// Draws each series (each run of drawable points is one polyline) and
    /// its best point; returns the best point of each series.
    fn curves(&self, svg: &mut String, frame: &Frame, best: Best) -> Vec<Option<(f64, f64)>> {
        let mut bests = Vec::new();
        // Pixel columns per bucket of the thinning: one for up to four
        // curves, wider with more, so that the points drawn stay about
        // 4 × 4 × 658 whatever the number of curves (a sweep of many sizes).
        let bucket = (self.series.len() as f64 / 4.0).ceil().max(1.0);
        for (i, s) in self.series.iter().enumerate() {
            let color = series_color(s, i);
            let dash = if s.dashed { r#" stroke-dasharray="6 3""# } else { "" };
            for run in s.points.split(|&p| frame.pixel(p).is_none()).filter(|r| !r.is_empty()) {
                let pixels = decimate(run.iter().filter_map(|&p| frame.pixel(p)), bucket);
                if let [(x, y)] = pixels[..] {
                    let _ = writeln!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}"/>"#);
                } else {
                    let pts: Vec<String> = pixels.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                    let _ = writeln!(
                        svg,
                        r#"<polyline fill="none" stroke="{color}" stroke-width="1.8"{dash} points="{}"/>"#,
                        pts.join(" ")
                    );
                }
            }
            let point = best_point(&s.points, best, frame);
            if let Some((x, y)) = point.and_then(|p| frame.pixel(p)) {
                let _ = writeln!(
                    svg,
                    r#"<circle class="best" cx="{x:.1}" cy="{y:.1}" r="5" fill="white" stroke="{color}" stroke-width="2.2"/>"#
                );
            }
            bests.push(point);
        }
        bests
    }

    /// The legend, in the inside corner the curves cross least; with a best
    /// point, each entry names it.
    fn legend(&self, svg: &mut String, frame: &Frame, bests: &[Option<(f64, f64)>], style: &Style) {
        let best = style.best;
        // The series name, and what its best point is.
        let entry = |i: usize| -> (String, String) {
            let name = self.series[i].name.clone();
            match (best, bests.get(i).copied().flatten()) {
                (Best::Min, Some((x, y))) => (name, format!(": min {} at {x}", short(y))),
                (Best::Max, Some((x, y))) => (name, format!(": max {} at {x}", short(y))),
                _ => (name, String::new()),
            }
        };
        let longest = (0..self.series.len())
            .map(&entry)
            .map(|(name, best)| name.chars().count() + best.chars().count())
            .max()
            .unwrap_or(0);
        let (lw, lh) = (44.0 + 6.6 * longest as f64, 10.0 + 18.0 * self.series.len() as f64);
        let (lx, ly) = self.legend_corner(frame, lw, lh, &style.markers);
        let _ = writeln!(
            svg,
            r##"<rect x="{lx:.1}" y="{ly:.1}" width="{lw:.1}" height="{lh:.1}" fill="white" fill-opacity="0.85" stroke="#999"/>"##
        );
        for i in 0..self.series.len() {
            let y = ly + 14.0 + 18.0 * i as f64;
            let color = series_color(&self.series[i], i);
            let dash = if self.series[i].dashed { r#" stroke-dasharray="6 3""# } else { "" };
            let _ = writeln!(
                svg,
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2.5"{dash}/>"#,
                lx + 8.0,
                lx + 30.0
            );
            let (name, best) = entry(i);
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}">{}<tspan fill="#555">{}</tspan></text>"##,
                lx + 36.0,
                y + 4.0,
                escape(&name),
                escape(&best)
            );
        }
    }

    /// The corner whose box covers the fewest curve points, and above all
    /// no marker label.
    fn legend_corner(&self, frame: &Frame, lw: f64, lh: f64, markers: &[Marker]) -> (f64, f64) {
        let corners = [
            (LEFT + PW - lw - 10.0, TOP + 8.0),
            (LEFT + PW - lw - 10.0, TOP + PH - lh - 8.0),
            (LEFT + 10.0, TOP + 8.0),
            (LEFT + 10.0, TOP + PH - lh - 8.0),
        ];
        let crossings = |&(x, y): &(f64, f64)| {
            let points = self
                .series
                .iter()
                .flat_map(|s| s.points.iter())
                .filter_map(|&p| frame.pixel(p))
                .filter(|p| (x..x + lw).contains(&p.0) && (y..y + lh).contains(&p.1))
                .count();
            let labels = (0..markers.len())
                .filter_map(|i| marker_label(frame, markers, i))
                .filter(|l| {
                    l.left < x + lw && l.left + l.width > x && l.baseline - 10.0 < y + lh && l.baseline + 2.0 > y
                })
                .count();
            points + 1000 * labels
        };
        corners.iter().copied().min_by_key(crossings).unwrap_or(corners[0])
    }
}

/// The y range where the curves settle: for each series, its points from
/// the first that comes within a tenth of its span of its final extreme
/// (the curve's maximum for rising ones, its minimum for falling ones), so
/// that curves climbing from 0.1 to 0.9 are drawn over 0.82–0.9, where
/// runs differ. `None` without two finite points.
fn settled_range(series: &[Series]) -> Option<(f64, f64)> {
    let mut range: Option<(f64, f64)> = None;
    for s in series {
        let finite: Vec<(f64, f64)> = s.points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
        let (Some(first), Some(last)) = (finite.first(), finite.last()) else { continue };
        let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
        let rising = last.1 >= first.1;
        let threshold = if rising { hi - 0.1 * (hi - lo) } else { lo + 0.1 * (hi - lo) };
        let start = finite.iter().position(|p| if rising { p.1 >= threshold } else { p.1 <= threshold })?;
        for p in &finite[start..] {
            let r = range.get_or_insert((p.1, p.1));
            *r = (r.0.min(p.1), r.1.max(p.1));
        }
    }
    range.filter(|(lo, hi)| hi > lo)
}

/// `pixels` (in drawing order, x not decreasing) thinned to at most four
/// points per `bucket` pixel columns: the first, the lowest, the highest
/// and the last. With one-column buckets a line through them looks exactly
/// like one through every point, and a curve of a million epochs draws as
/// ~2,600 points.
fn decimate(pixels: impl Iterator<Item = (f64, f64)>, bucket: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut column: Vec<(f64, f64)> = Vec::new();
    let flush = |column: &mut Vec<(f64, f64)>, out: &mut Vec<(f64, f64)>| {
        let Some(&first) = column.first() else { return };
        let low = column.iter().enumerate().fold((0, first.1), |m, (i, p)| if p.1 < m.1 { (i, p.1) } else { m }).0;
        let high = column.iter().enumerate().fold((0, first.1), |m, (i, p)| if p.1 > m.1 { (i, p.1) } else { m }).0;
        let mut keep = [0, low, high, column.len() - 1];
        keep.sort_unstable();
        for (k, &i) in keep.iter().enumerate() {
            if k == 0 || i != keep[k - 1] {
                out.push(column[i]);
            }
        }
        column.clear();
    };
    for p in pixels {
        if column.first().is_some_and(|c| (c.0 / bucket).floor() != (p.0 / bucket).floor()) {
            flush(&mut column, &mut out);
        }
        column.push(p);
    }
    flush(&mut column, &mut out);
    out
}

/// A series' color: its own, else by its index.
fn series_color(s: &Series, index: usize) -> &'static str {
    COLORS[s.color.unwrap_or(index) % COLORS.len()]
}

/// The first lowest (or highest) drawable point of a series.
fn best_point(points: &[(f64, f64)], best: Best, frame: &Frame) -> Option<(f64, f64)> {
    let drawable = points.iter().copied().filter(|&p| frame.pixel(p).is_some());
    match best {
        Best::None => None,
        Best::Min => drawable.reduce(|a, b| if b.1 < a.1 { b } else { a }),
        Best::Max => drawable.reduce(|a, b| if b.1 > a.1 { b } else { a }),
    }
}

fn y_grid(svg: &mut String, frame: &Frame) {
    let values: Vec<(f64, String)> = if frame.log {
        log_ticks(frame.y0, frame.y1).into_iter().map(|e| (e, log_label(e))).collect()
    } else {
        let (_, _, step) = ticks(frame.y0, frame.y1, 6);
        steps_within(frame.y0, frame.y1, step).map(|v| (v, label(v, step))).collect()
    };
    for (v, text) in values {
        let y = frame.sy(v);
        let _ =
            writeln!(svg, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e6e6e6"/>"##, LEFT + PW);
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{text}</text>"#, LEFT - 6.0, y + 4.0);
    }
}

fn x_grid(svg: &mut String, frame: &Frame) {
    let (_, _, step) = ticks(frame.x0, frame.x1, 8);
    for v in steps_within(frame.x0, frame.x1, step) {
        let x = frame.sx(v);
        let bottom = TOP + PH;
        let _ = writeln!(svg, r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom:.1}" stroke="#f0f0f0"/>"##);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/>"##,
            bottom + 5.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 19.0,
            label(v, step)
        );
    }
}

/// Where a marker's label goes (its box approximated from its length).
struct Label {
    left: f64,
    width: f64,
    baseline: f64,
    /// Where the text is anchored and how.
    x: f64,
    anchor: &'static str,
}

/// The label of marker `i`: stacked up from the bottom by index, so that
/// markers at nearby epochs stay readable, and left of lines in the right
/// part of the plot.
fn marker_label(frame: &Frame, markers: &[Marker], i: usize) -> Option<Label> {
    let m = markers.get(i).filter(|m| m.x.is_finite())?;
    let line = frame.sx(m.x);
    let width = 5.8 * m.label.chars().count() as f64;
    let baseline = TOP + PH - 8.0 - 14.0 * i as f64;
    Some(if line > LEFT + PW * 0.6 {
        Label { left: line - 4.0 - width, width, baseline, x: line - 4.0, anchor: "end" }
    } else {
        Label { left: line + 4.0, width, baseline, x: line + 4.0, anchor: "start" }
    })
}

/// Dashed vertical lines with their labels.
fn markers(svg: &mut String, frame: &Frame, markers: &[Marker]) {
    for (i, m) in markers.iter().enumerate() {
        let Some(label) = marker_label(frame, markers, i) else { continue };
        let x = frame.sx(m.x);
        let _ = writeln!(
            svg,
            r##"<line class="marker" x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#555" stroke-dasharray="5 4"/>"##,
            TOP + PH
        );
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="{}" fill="#444" font-size="11" stroke="white" stroke-width="4" paint-order="stroke">{}</text>"##,
            label.x,
            label.baseline,
            label.anchor,
            escape(&m.label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_zooms_to_where_the_curves_settle() {
        // Rising from 0.1 to about 0.9 over 100 epochs.
        let climb = |top: f64| -> Vec<(f64, f64)> {
            (1..=100).map(|e| (e as f64, 0.1 + (top - 0.1) * (1.0 - (-(e as f64) / 8.0).exp()))).collect()
        };
        let mut train = Series::new("train", climb(0.95));
        train.dashed = true;
        let plot = LinePlot {
            title: "acc".into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            series: vec![Series::new("valid", climb(0.9)), train],
        };
        let zoomed = plot.to_svg_with(&Style { best: Best::Max, zoom: true, ..Style::default() });
        let plain = plot.to_svg_with(&Style { best: Best::Max, ..Style::default() });
        let (frame_lo, _) = settled_range(&plot.series).unwrap();
        assert!(frame_lo > 0.8, "{frame_lo}");
        assert!(zoomed.contains("accuracy (zoomed)") && !plain.contains("(zoomed)"));
        assert!(!zoomed.contains(">0.2<") && plain.contains(">0.2<"), "the zoomed axis still reaches 0.2");
        assert!(zoomed.contains(r#"overflow="hidden""#) && zoomed.contains(r#"stroke-dasharray="6 3""#));
        // A flat curve gains nothing from a zoom and is drawn whole.
        let flat = LinePlot { series: vec![Series::new("f", vec![(1.0, 0.5), (2.0, 0.6)])], ..plot.clone() };
        assert!(!flat.to_svg_with(&Style { zoom: true, ..Style::default() }).contains("(zoomed)"));
    }

    #[test]
    fn linear_ticks_stay_inside_the_frame() {
        // The range rounded at one step, the labels at a coarser one: 0.95
        // above a frame ending at 0.94 was drawn over the title.
        let ticks: Vec<f64> = steps_within(0.80, 0.94, 0.05).collect();
        assert_eq!(ticks.len(), 3);
        assert!(ticks.iter().all(|&v| (0.80 - 1e-9..=0.94).contains(&v)), "{ticks:?}");
        assert_eq!(steps_within(0.0, 200.0, 50.0).collect::<Vec<_>>(), [0.0, 50.0, 100.0, 150.0, 200.0]);
    }

    #[test]
    fn ticks_use_round_steps() {
        assert_eq!(ticks(0.0, 200.0, 8), (0.0, 200.0, 50.0));
        let (lo, hi, step) = ticks(0.13, 0.97, 6);
        assert_eq!(step, 0.2);
        assert!(lo <= 0.13 && hi >= 0.97);
    }

    /// Log ticks over `[lo, hi]` as values.
    fn log_ticks_of(lo: f64, hi: f64) -> Vec<f64> {
        log_ticks(lo.log10(), hi.log10()).into_iter().map(|e| 10f64.powf(e)).collect()
    }

    fn assert_close_list(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            // The exponents go through log10 and back: 1e-12 relative.
            assert!((g - w).abs() <= w.abs() * 1e-12, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn log_ticks_are_one_two_five_or_every_digit() {
        assert_close_list(&log_ticks_of(0.04, 2.6), &[0.05, 0.1, 0.2, 0.5, 1.0, 2.0]);
        let narrow = log_ticks_of(0.35, 0.75);
        assert!(narrow.len() >= 4 && narrow.iter().all(|v| (0.35..=0.75 + 1e-12).contains(v)), "{narrow:?}");
        let tight = log_ticks_of(1.0, 2.3);
        assert!(tight.len() >= 4 && tight.iter().all(|v| (1.0 - 1e-12..=2.3).contains(v)), "{tight:?}");
        let labels = [0.05f64, 2.0, 1.25].map(|v| log_label(v.log10()));
        assert_eq!(labels, ["0.05", "2", "1.25"]);
    }

    #[test]
    fn log_ticks_stay_few_and_readable_at_any_range() {
        // Ten decades: every second decade, or every decade, never more
        // than ten ticks.
        let wide = log_ticks(-9.0, 0.3);
        assert!(wide.len() >= 4 && wide.len() <= MAX_LOG_TICKS, "{wide:?}");
        assert!(wide.iter().all(|e| e.fract() == 0.0), "{wide:?}");
        // A loss near 1e-300 (and the smallest subnormal): a handful of
        // round powers, labelled with exponents.
        for lo in [-300.0, -323.3, -1000.0] {
            let ticks = log_ticks(lo, 0.4);
            assert!((3..=MAX_LOG_TICKS).contains(&ticks.len()), "{lo}: {ticks:?}");
            let labels: Vec<String> = ticks.iter().map(|&e| log_label(e)).collect();
            assert!(labels.iter().all(|l| l == "1" || (l.starts_with("1e-") && l.len() <= 7)), "{labels:?}");
        }
        // Tiny values within a decade keep 1-2-5 style ticks, written short.
        let tiny = log_ticks(-300.0 + 0.1, -300.0 + 0.9);
        assert!(tiny.len() >= 4, "{tiny:?}");
        assert!(tiny.iter().map(|&e| log_label(e)).all(|l| l.ends_with("e-300")), "{tiny:?}");
        assert!(log_ticks(f64::NEG_INFINITY, 0.0).is_empty());
    }

    #[test]
    fn short_values_have_four_figures_and_never_overflow() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(0.5), "0.5000");
        assert_eq!(short(1.2), "1.200");
        assert_eq!(short(0.001234), "0.001234");
        assert_eq!(short(1e-300), "1.000e-300");
        assert_eq!(short(f64::MIN_POSITIVE / 4.0), "5.563e-309");
        assert_eq!(short(3e38), "3.000e38");
        assert_eq!(short(f64::INFINITY), "inf");
    }

    #[test]
    fn decimation_keeps_each_columns_extremes_in_order() {
        // 100 points in one pixel column, then one in the next.
        let mut points: Vec<(f64, f64)> =
            (0..100).map(|i| (10.0 + i as f64 / 1000.0, (i as f64 * 0.7).sin())).collect();
        points.push((11.5, 0.0));
        let kept = decimate(points.iter().copied(), 1.0);
        let (low, high) = points[..100].iter().fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.1), h.max(p.1)));
        assert_eq!(kept.first(), points.first());
        assert_eq!(kept.last(), points.last());
        assert!(kept.len() <= 5, "{kept:?}");
        assert!(kept.iter().any(|p| p.1 == low) && kept.iter().any(|p| p.1 == high), "{kept:?}");
        assert!(kept.windows(2).all(|w| w[0].0 <= w[1].0), "order lost: {kept:?}");
        // Points a column or more apart are all kept.
        let sparse: Vec<(f64, f64)> = (0..50).map(|i| (i as f64 * 2.0, i as f64)).collect();
        assert_eq!(decimate(sparse.iter().copied(), 1.0), sparse);
        // Buckets of ten columns keep at most four points per ten columns.
        let dense: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64 / 10.0, (i as f64).sin())).collect();
        assert!(decimate(dense.iter().copied(), 10.0).len() <= 4 * 100, "too many points kept");
    }

    #[test]
    fn a_million_epochs_draw_within_the_size_bound() {
        let points = |phase: f64| -> Vec<(f64, f64)> {
            (1..=1_000_000)
                .map(|e| (e as f64, 2.0 / (e as f64).sqrt() * (1.0 + 0.1 * (e as f64 + phase).sin())))
                .collect()
        };
        let plot = LinePlot {
            title: "long".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![
                Series::new("train", points(0.0)),
                Series::new("valid", points(1.0)),
                Series::new("test", points(2.0)),
            ],
        };
        for scale in [Scale::Log, Scale::Linear] {
            let svg = plot.to_svg_with(&Style { y_scale: scale, best: Best::Min, ..Style::default() });
            assert!(svg.len() < 300_000, "{scale:?}: {} bytes", svg.len());
        }
        // A sweep of twelve sizes, a validation and a training curve each.
        let many = LinePlot {
            series: (0..24).map(|k| Series::new(format!("s{k}"), points(k as f64))).collect(),
            ..plot.clone()
        };
        let svg = many.to_svg_with(&Style { y_scale: Scale::Log, best: Best::Min, ..Style::default() });
        assert!(svg.len() < 300_000, "24 curves: {} bytes", svg.len());
    }

    fn two_series() -> LinePlot {
        LinePlot {
            title: "t <1>".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![
                Series::new("train", vec![(1.0, 2.0), (2.0, 1.0), (3.0, f64::NAN), (4.0, 0.5)]),
                Series::new("valid", vec![(1.0, 2.1), (2.0, 1.2)]),
            ],
        }
    }

    #[test]
    fn svg_has_every_series_and_survives_nan() {
        let svg = two_series().to_svg_with(&Style::default());
        assert!(svg.contains(">train<") && svg.contains(">valid<") && svg.contains("t &lt;1&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn log_plot_marks_minima_and_markers() {
        let style = Style {
            y_scale: Scale::Log,
            best: Best::Min,
            markers: vec![Marker { x: 2.0, label: "best valid loss (epoch 2)".into() }],
            ..Style::default()
        };
        let svg = two_series().to_svg_with(&style);
        assert!(svg.contains(">train<tspan fill=\"#555\">: min 0.5000 at 4<"), "{svg}");
        assert!(svg.contains(">valid<tspan fill=\"#555\">: min 1.200 at 2<"), "{svg}");
        assert_eq!(svg.matches(r#"class="best""#).count(), 2);
        assert_eq!(svg.matches(r#"class="marker""#).count(), 1);
        assert!(svg.contains("(log scale)") && !svg.contains("NaN") && !svg.contains("inf"));
    }
}
