//! The roofline model of the training step: each phase's flops and the
//! bytes it must move (from the shapes alone), the two measured roofs, which
//! of them bounds each phase and how far below it the phase runs, in a
//! sentence and as a log–log chart.
//!
//! Bytes are the compulsory traffic: every operand read once and every
//! result written once, in `f32`, as if nothing were in cache beforehand
//! and nothing were read twice. Real traffic is higher (GEMM packing,
//! write-allocate) or lower (a batch-32 step's 3 MB of W_h stays in L2/L3
//! between steps), which the sentences say where it shows.

use std::fmt::Write;

use crate::plot::{escape, svg_open};
use crate::profile::trace::phase_label;
use mlp_engine::engine::layout::Layout;
use mlp_engine::engine::network::FOLD_MAX_ROWS;
use mlp_engine::engine::{Phase, fused};

/// Flops and compulsory bytes of one phase of one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    pub flops: f64,
    pub bytes: f64,
}

impl Cost {
    /// Arithmetic intensity: flops per byte moved.
    pub fn intensity(&self) -> f64 {
        self.flops / self.bytes
    }
}

/// The cost of `phase` in a step of `t` rows, all of them training rows
/// (as `mlp profile` runs it).
pub fn phase_cost(layout: Layout, t: usize, phase: Phase) -> Cost {
    let (n, d, h, c) = (t as f64, layout.inputs as f64, layout.hidden as f64, layout.classes as f64);
    let params = layout.total() as f64;
    let fold = t <= FOLD_MAX_ROWS;
    let (flops, floats) = match phase {
        // Z = X·W_h: read X and W_h, write Z.
        Phase::HiddenGemm => (2.0 * n * d * h, n * d + d * h + n * h),
        // Per element of Z: bias, ReLU, its share of the logits, dA, mask
        // and the ∂W_o and ∂b_h sums; per row softmax and δ. Z read and dZ
        // written once; the chunk sums written and read once.
        Phase::OutputLayer => {
            let chunks = fused::max_sum_chunks(t) as f64;
            let flops = 6.0 * n * h * c + 4.0 * n * h + 8.0 * n * c;
            (flops, 2.0 * n * h + 2.0 * n * c + h * c + h + c + 2.0 * chunks * (c + 1.0) * h)
        }
        // ∂b_o = Σδ: read δ, write C sums.
        Phase::OutputBiasGrad => (n * c, n * c + c),
        // ∂W_h = Xᵀ·dZ. Folded: v ← γ·v + α·Xᵀ·dZ, which also reads v,
        // and each block's tasks then apply W_h ← W_h − v (read and write
        // W_h; v is still warm), so that pass's time is this phase's.
        Phase::HiddenWeightGrad => {
            if fold {
                (2.0 * n * d * h + 4.0 * d * h, n * d + n * h + 4.0 * d * h)
            } else {
                (2.0 * n * d * h, n * d + n * h + d * h)
            }
        }
        // v ← γ·v + α·g; w ← w − v: 4 flops, 3 reads and 2 writes per
        // parameter; after a fold only the tensors other than W_h.
        Phase::Update => {
            let updated = if fold { params - d * h } else { params };
            (4.0 * updated, 5.0 * updated)
        }
    };
    Cost { flops, bytes: 4.0 * floats }
}

/// The two measured roofs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roofs {
    /// The FMA peak, GFLOP/s.
    pub peak_gflops: f64,
    /// The memory bandwidth, GB/s.
    pub bandwidth_gbs: f64,
}

/// Which roof bounds a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Compute,
    Memory,
}

impl Roofs {
    /// The intensity where the two roofs meet, flops per byte.
    pub fn ridge(&self) -> f64 {
        self.peak_gflops / self.bandwidth_gbs
    }

    /// The roof over an intensity: what the model allows, GFLOP/s.
    pub fn attainable(&self, intensity: f64) -> f64 {
        self.peak_gflops.min(intensity * self.bandwidth_gbs)
    }

    pub fn bound(&self, intensity: f64) -> Bound {
        if intensity < self.ridge() { Bound::Memory } else { Bound::Compute }
    }
}

/// A phase as measured: its cost and median time per step.
#[derive(Clone, Copy, Debug)]
pub struct PhasePoint {
    pub phase: Phase,
    pub cost: Cost,
    pub seconds: f64,
}

impl PhasePoint {
    pub fn gflops(&self) -> f64 {
        self.cost.flops / self.seconds / 1e9
    }
    pub fn gbs(&self) -> f64 {
        self.cost.bytes / self.seconds / 1e9
    }
    /// The share of its roof the phase reaches (above 1 where its data
    /// stays in cache, which the memory roof does not model).
    pub fn of_roof(&self, roofs: &Roofs) -> f64 {
        self.gflops() / roofs.attainable(self.cost.intensity())
    }
}

/// One sentence on a phase: which roof bounds it and how far below it runs.
pub fn sentence(p: &PhasePoint, roofs: &Roofs) -> String {
    let name = phase_label(p.phase);
    let ai = p.cost.intensity();
    let share = p.of_roof(roofs);
    if !p.seconds.is_finite() || p.seconds <= 0.0 {
        return format!("The {name} took too little time to measure.");
    }
    match roofs.bound(ai) {
        Bound::Compute => format!(
            "The {name} ({ai:.1} flops per byte, right of the ridge at {:.1}) is bound by the FMA units: \
             it runs at {:.1} GFLOP/s, {:.0}% of the {:.1} GFLOP/s peak{}.",
            roofs.ridge(),
            p.gflops(),
            100.0 * share,
            roofs.peak_gflops,
            if share > 1.0 { " — above it, so the machine was busy while the peak was measured" } else { "" }
        ),
        Bound::Memory if share > 1.0 => format!(
            "The {name} ({ai:.2} flops per byte, left of the ridge at {:.1}) would be bound by memory, \
             yet it moves {:.1} GB/s, {:.0}% of the {:.1} GB/s measured from memory: its {:.1} MB stay in the caches.",
            roofs.ridge(),
            p.gbs(),
            100.0 * share,
            roofs.bandwidth_gbs,
            p.cost.bytes / 1e6
        ),
        Bound::Memory => format!(
            "The {name} ({ai:.2} flops per byte, left of the ridge at {:.1}) is bound by memory bandwidth: \
             it moves {:.1} GB/s, {:.0}% of the {:.1} GB/s measured.",
            roofs.ridge(),
            p.gbs(),
            100.0 * share,
            roofs.bandwidth_gbs
        ),
    }
}

/// Point markers, one per batch size (by its index).
fn marker(svg: &mut String, shape: usize, x: f64, y: f64, color: &str, title: &str) {
    let _ = write!(svg, "<g fill=\"{color}\" stroke=\"#222\" stroke-width=\"0.8\"><title>{}</title>", escape(title));
    match shape % 4 {
        0 => {
            let _ = write!(svg, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5.5\"/>");
        }
        1 => {
            let _ = write!(svg, "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"/>", x - 5.0, y - 5.0);
        }
        2 => {
            let _ = write!(
                svg,
                "<path d=\"M{x:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z\"/>",
                y - 6.5,
                x + 6.0,
                y + 5.0,
                x - 6.0,
                y + 5.0
            );
        }
        _ => {
            let _ = write!(
                svg,
                "<path d=\"M{x:.1},{:.1} L{:.1},{y:.1} L{x:.1},{:.1} L{:.1},{y:.1} Z\"/>",
                y - 6.5,
                x + 6.5,
                y + 6.5,
                x - 6.5
            );
        }
    }
    svg.push_str("</g>\n");
}

/// Phase colours, indexed like [`Phase::ALL`].
pub const PHASE_COLORS: [&str; 5] = ["#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c", "#d62728"];

const W: f64 = 760.0;
const H: f64 = 480.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 56.0;

/// The roofline chart: intensity against GFLOP/s on log–log axes, the
/// memory roof rising to the ridge and the compute roof flat after it, each
/// phase of each batch size a point (colour: phase; shape: batch size).
pub fn svg(sizes: &[(String, Vec<PhasePoint>)], roofs: &Roofs) -> String {
    let points = sizes.iter().flat_map(|(_, ps)| ps.iter()).filter(|p| p.gflops().is_finite() && p.gflops() > 0.0);
    let (mut x0, mut x1, mut y0, mut y1) =
        (roofs.ridge() / 10.0, roofs.ridge() * 10.0, roofs.peak_gflops / 100.0, roofs.peak_gflops);
    for p in points {
        let ai = p.cost.intensity();
        (x0, x1, y0, y1) = (x0.min(ai), x1.max(ai), y0.min(p.gflops()), y1.max(p.gflops()));
    }
    // Whole decades around everything, the roof a little below the top.
    let (lx0, lx1) = (x0.log10().floor(), x1.log10().ceil());
    let (ly0, ly1) = (y0.log10().floor(), (y1 * 1.5).log10().ceil());
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x.log10() - lx0) / (lx1 - lx0) * pw;
    let sy = |y: f64| TOP + ph - (y.log10() - ly0) / (ly1 - ly0) * ph;
    let mut s = svg_open(W, H, "Roofline: each phase of the step against the machine's measured roofs");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">Roofline of the training step</text>",
        LEFT + pw / 2.0
    );
    // Decade grid and labels.
    for e in lx0 as i32..=lx1 as i32 {
        let x = sx(10f64.powi(e));
        let _ =
            writeln!(s, "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e5e5e5\"/>", TOP + ph);
        let _ =
            writeln!(s, "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", TOP + ph + 18.0, decade(e));
    }
    for e in ly0 as i32..=ly1 as i32 {
        let y = sy(10f64.powi(e));
        let _ =
            writeln!(s, "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>", LEFT + pw);
        let _ =
            writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", LEFT - 6.0, y + 4.0, decade(e));
    }
    let _ = writeln!(
        s,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw:.1}\" height=\"{ph:.1}\" fill=\"none\" stroke=\"#888\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">arithmetic intensity (flops per byte moved)</text>",
        LEFT + pw / 2.0,
        H - 14.0
    );
    let _ = writeln!(
        s,
        "<text transform=\"translate(20 {:.1}) rotate(-90)\" text-anchor=\"middle\">GFLOP/s</text>",
        TOP + ph / 2.0
    );
    // The roofs: memory from the left edge to the ridge, compute after it.
    let (xa, ridge, xb) = (10f64.powf(lx0), roofs.ridge(), 10f64.powf(lx1));
    let _ = writeln!(
        s,
        "<polyline points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"none\" stroke=\"#333\" stroke-width=\"2.5\"/>",
        sx(xa),
        sy(roofs.attainable(xa)),
        sx(ridge),
        sy(roofs.peak_gflops),
        sx(xb),
        sy(roofs.peak_gflops)
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">FMA peak {:.0} GFLOP/s</text>",
        LEFT + pw - 4.0,
        sy(roofs.peak_gflops) - 6.0,
        roofs.peak_gflops
    );
    let mid = 10f64.powf((lx0 + ridge.log10()) / 2.0);
    // The memory roof's slope in pixels, so that its label lies along it.
    let rise = sy(roofs.attainable(mid)) - sy(roofs.attainable(mid * 2.0));
    let angle = (rise / (sx(mid * 2.0) - sx(mid))).atan().to_degrees();
    let _ = writeln!(
        s,
        "<text transform=\"translate({:.1} {:.1}) rotate({:.1})\" text-anchor=\"middle\">memory {:.1} GB/s</text>",
        sx(mid),
        sy(roofs.attainable(mid)) - 8.0,
        -angle,
        roofs.bandwidth_gbs
    );
    let _ = writeln!(
        s,
        "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>",
        sx(ridge),
        sy(roofs.peak_gflops),
        TOP + ph
    );
    for (shape, (name, ps)) in sizes.iter().enumerate() {
        for p in ps.iter().filter(|p| p.gflops().is_finite() && p.gflops() > 0.0) {
            let title = format!(
                "{name}, {}: {:.2} flops/byte, {:.1} GFLOP/s, {:.0}% of its roof",
                phase_label(p.phase),
                p.cost.intensity(),
                p.gflops(),
                100.0 * p.of_roof(roofs)
            );
            marker(&mut s, shape, sx(p.cost.intensity()), sy(p.gflops()), PHASE_COLORS[p.phase as usize], &title);
        }
    }
    // Legend: colours are phases, shapes are batch sizes.
    let lx = W - RIGHT + 14.0;
    let mut y = TOP + 8.0;
    for phase in Phase::ALL {
        let color = PHASE_COLORS[phase as usize];
        let _ = writeln!(s, "<rect x=\"{lx}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{color}\"/>", y - 10.0);
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{y:.1}\">{}</text>", lx + 18.0, escape(phase_label(phase)));
        y += 20.0;
    }
    y += 10.0;
    for (shape, (name, _)) in sizes.iter().enumerate() {
        marker(&mut s, shape, lx + 6.0, y - 4.0, "#ffffff", name);
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{y:.1}\">{}</text>", lx + 18.0, escape(name));
        y += 20.0;
    }
    s.push_str("</svg>\n");
    s
}

/// `10^e` as a short label: 0.01, 0.1, 1, 10, 100, 1k, 10k.
fn decade(e: i32) -> String {
    match e {
        e if e < 0 => format!("{:.*}", (-e) as usize, 10f64.powi(e)),
        e if e < 3 => format!("{}", 10i64.pow(e as u32)),
        e if e < 6 => format!("{}k", 10i64.pow(e as u32 - 3)),
        e => format!("1e{e}"),
    }
}
