//! What `mlp profile` measured: the [`Machine`] (CPU, build, threads and
//! its two roofs) and a [`SizeProfile`] per batch size (each phase's time
//! and cost, the steps with and without recording, the recorded spans),
//! which the text report, `profile.json` and the page all read.

use crate::measured::Timing;
use crate::peak::{Bandwidth, Peak};
use crate::profile::roofline::{PhasePoint, Roofs};
use crate::profile::trace::Recorder;

/// Steps of each size that the timeline of the page shows.
pub const TIMELINE_STEPS: usize = 3;

/// The machine and build the profile ran on, and its two roofs.
pub struct Machine {
    pub cpu: String,
    pub threads: usize,
    pub build: &'static str,
    pub passes: &'static str,
    pub peak: Peak,
    pub bandwidth: Bandwidth,
}

impl Machine {
    pub fn roofs(&self) -> Roofs {
        Roofs { peak_gflops: self.peak.gflops, bandwidth_gbs: self.bandwidth.roof_gbs() }
    }
}

/// One batch size, profiled.
pub struct SizeProfile {
    pub batch: usize,
    /// Whether the batch is all the rows (full batch).
    pub full: bool,
    /// Each phase's median seconds per step, with its cost.
    pub points: Vec<PhasePoint>,
    /// Steps without instrumentation and with it, alternating.
    pub plain: Timing,
    pub traced: Timing,
    pub recorder: Recorder,
}

impl SizeProfile {
    pub fn name(&self) -> String {
        if self.full { format!("full batch ({})", self.batch) } else { format!("batch {}", self.batch) }
    }

    /// What recording costs: the traced step's median over the plain one's, minus 1.
    pub fn overhead(&self) -> f64 {
        self.traced.median / self.plain.median - 1.0
    }

    /// The sum of the phases' medians, seconds.
    pub fn phases_seconds(&self) -> f64 {
        self.points.iter().map(|p| p.seconds).sum()
    }

    /// Steps timed of each kind.
    pub fn plain_steps(&self) -> usize {
        self.recorder.steps().len()
    }

    /// The steps the page's timeline shows: the last few recorded.
    pub fn timeline_steps(&self) -> std::ops::Range<usize> {
        let n = self.recorder.steps().len();
        n.saturating_sub(TIMELINE_STEPS)..n
    }
}
