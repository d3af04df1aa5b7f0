//! What `mlp bench` measured: [`Timing`] (median, min and max of a set of
//! timings), [`Measured`] (one run's figures and the shares derived from
//! them) and the roofline's ceiling on a run's samples/s. The bench report
//! and its page (`bench.html`) both read them; `mlp profile` times with
//! [`Timing`] too.

use crate::json::Json;
use crate::peak::{Bandwidth, Peak};
use mlp_engine::data::{CLASSES, FEATURES};
use mlp_engine::engine::layout::Layout;

/// Median, min and max of a set of timings, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Timing {
    pub fn of(mut samples: Vec<f64>) -> Timing {
        samples.sort_by(f64::total_cmp);
        Timing { median: samples[samples.len() / 2], min: samples[0], max: samples[samples.len() - 1] }
    }

    pub fn json(&self) -> Json {
        Json::obj([("median", Json::num(self.median)), ("min", Json::num(self.min)), ("max", Json::num(self.max))])
    }
}

/// Everything `mlp bench` measured.
pub struct Measured {
    pub check: f64,
    pub batch: usize,
    pub threads: usize,
    pub step: Timing,
    pub gemms: Timing,
    pub epoch: Timing,
    /// Flops of one step, of the two big GEMMs alone, and of one epoch.
    pub step_flops: f64,
    pub gemm_flops: f64,
    pub epoch_flops: f64,
    /// Measured before, between and after the timings: its spread is the
    /// machine's noise.
    pub peak: Peak,
    pub bandwidth: Bandwidth,
    pub peak_rss: Option<u64>,
    pub needed_bytes: u64,
}

impl Measured {
    fn rate(flops: f64, t: &Timing) -> f64 {
        flops / t.median / 1e9
    }
    pub fn step_gflops(&self) -> f64 {
        Self::rate(self.step_flops, &self.step)
    }
    pub fn gemm_gflops(&self) -> f64 {
        Self::rate(self.gemm_flops, &self.gemms)
    }
    pub fn epoch_gflops(&self) -> f64 {
        Self::rate(self.epoch_flops, &self.epoch)
    }
    /// Time of the two big GEMMs alone over the step's time: 1 would mean
    /// everything else in the step is free.
    pub fn efficiency(&self) -> f64 {
        self.gemms.median / self.step.median
    }
    pub fn samples_per_second(&self) -> f64 {
        self.batch as f64 / self.step.median
    }
    /// `gflops` as a share of the best peak measured, or `None` where that
    /// share would exceed 1: a rate above the peak is impossible, so the
    /// machine was too busy for one of the two figures to hold.
    pub fn share_of_peak(&self, gflops: f64) -> Option<f64> {
        let share = gflops / self.peak.gflops;
        (share <= 1.0).then_some(share)
    }
    /// [`efficiency`](Self::efficiency), or `None` where it exceeds 1 (the
    /// GEMMs alone slower than the whole step: only load can do that).
    pub fn possible_efficiency(&self) -> Option<f64> {
        Some(self.efficiency()).filter(|&e| e <= 1.0)
    }
    /// Whether anything measured was too noisy to trust: a peak or a
    /// bandwidth whose rounds differ by more than 10%, or a figure that
    /// cannot be true.
    pub fn noisy(&self) -> bool {
        let impossible = [self.step_gflops(), self.gemm_gflops(), self.epoch_gflops()]
            .iter()
            .any(|&g| self.share_of_peak(g).is_none())
            || self.possible_efficiency().is_none();
        impossible || self.peak.spread() > NOISE || self.bandwidth.spread > NOISE
    }
}

/// Rounds of a roof measurement that differ by more than this share make
/// the report say the machine was noisy.
const NOISE: f64 = 0.10;

/// The samples/s the roofline allows a step of this run's batch: each
/// phase at the better of its two roofs' times (its flops at the peak, its
/// bytes at the bandwidth), the phases one after another.
pub fn ceiling_samples_per_second(hidden: usize, m: &Measured) -> f64 {
    let layout = Layout::new(FEATURES, hidden, CLASSES);
    let seconds: f64 = mlp_engine::engine::Phase::ALL
        .iter()
        .map(|&phase| {
            let cost = crate::profile::roofline::phase_cost(layout, m.batch, phase);
            (cost.flops / (m.peak.gflops * 1e9)).max(cost.bytes / (m.bandwidth.roof_gbs() * 1e9))
        })
        .sum();
    m.batch as f64 / seconds
}
