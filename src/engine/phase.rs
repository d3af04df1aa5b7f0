//! The phases of a training step and their timing: [`Phase`], the
//! [`PhaseClock`] a step reports each phase's wall time (and, optionally,
//! each rayon task's span) to, [`PhaseTimes`], and the crate's `timed` /
//! `Tasks` plumbing that the parallel loops report through.

use std::time::Instant;

/// The phases of a training step, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Z = X·W_h.
    HiddenGemm,
    /// A = relu(Z + b_h), logits = A·W_o + b_o, softmax, loss, accuracy, δ;
    /// then dZ = (δ·W_oᵀ) ⊙ 1\[A > 0\], ∂L/∂b_h = ΣdZ and ∂L/∂W_o = Aᵀ·δ.
    OutputLayer,
    /// ∂L/∂b_o = Σδ.
    OutputBiasGrad,
    /// ∂L/∂W_h = Xᵀ·dZ.
    HiddenWeightGrad,
    /// The momentum update.
    Update,
}

impl Phase {
    /// Every phase, in the order a step runs them.
    pub const ALL: [Phase; 5] =
        [Phase::HiddenGemm, Phase::OutputLayer, Phase::OutputBiasGrad, Phase::HiddenWeightGrad, Phase::Update];

    /// A short label for tables.
    pub fn name(self) -> &'static str {
        match self {
            Phase::HiddenGemm => "forward GEMM  Z = X·W_h",
            Phase::OutputLayer => "ReLU + output layer + dZ",
            Phase::OutputBiasGrad => "bias sum  ∂b_o",
            Phase::HiddenWeightGrad => "GEMM  ∂W_h = Xᵀ·dZ",
            Phase::Update => "momentum update",
        }
    }

    /// Whether the phase is a GEMM.
    pub fn is_gemm(self) -> bool {
        matches!(self, Phase::HiddenGemm | Phase::HiddenWeightGrad)
    }
}

/// Receives the wall time of each phase of a step. `()` ignores them, and
/// the untimed step compiles to the same code as before timing existed.
///
/// A clock may also take spans ([`SPANS`](Self::SPANS)): each phase on the
/// thread that runs the step, and each rayon task of it (a GEMM block, a
/// chunk of the output layer's sweep, of the ∂b_o sums or of the update)
/// on the thread that ran the task, which is what a per-thread timeline
/// needs. Spans are only read from the clock where `SPANS` is true, so a
/// clock without them costs nothing inside the parallel loops.
pub trait PhaseClock: Sync {
    /// Whether `timed` should read the clock at all.
    const ENABLED: bool;
    /// Whether [`span`](Self::span) wants every phase and task.
    const SPANS: bool = false;
    /// Adds `seconds` spent in `phase`.
    fn record(&mut self, phase: Phase, seconds: f64);
    /// `phase` ran on the current thread from `start` to `end`: the whole
    /// phase on the step's thread (`task` false), or one task of it.
    fn span(&self, phase: Phase, task: bool, start: Instant, end: Instant) {
        let _ = (phase, task, start, end);
    }
}

impl PhaseClock for () {
    const ENABLED: bool = false;
    fn record(&mut self, _: Phase, _: f64) {}
}

/// Seconds spent in each phase, summed over the steps timed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    /// Indexed like [`Phase::ALL`].
    pub seconds: [f64; Phase::ALL.len()],
}

impl PhaseClock for PhaseTimes {
    const ENABLED: bool = true;
    fn record(&mut self, phase: Phase, seconds: f64) {
        self.seconds[phase as usize] += seconds;
    }
}

/// Runs one phase of a step on the step's thread; `f` gets the phase's
/// [`Tasks`] to hand to the parallel loop inside it.
pub(crate) fn timed<C: PhaseClock, R>(clock: &mut C, phase: Phase, f: impl FnOnce(Tasks<'_, C>) -> R) -> R {
    if !C::ENABLED {
        return f(Tasks { clock, phase });
    }
    let start = Instant::now();
    let out = f(Tasks { clock, phase });
    let end = Instant::now();
    if C::SPANS {
        clock.span(phase, false, start, end);
    }
    clock.record(phase, (end - start).as_secs_f64());
    out
}

/// The clock and phase a parallel loop reports its tasks' spans to.
#[derive(Debug)]
pub(crate) struct Tasks<'a, C: PhaseClock> {
    clock: &'a C,
    phase: Phase,
}

impl<C: PhaseClock> Clone for Tasks<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: PhaseClock> Copy for Tasks<'_, C> {}

impl Tasks<'static, ()> {
    /// No clock: the loops run exactly as without instrumentation.
    pub(crate) const NONE: Tasks<'static, ()> = Tasks { clock: &(), phase: Phase::HiddenGemm };
}

impl<C: PhaseClock> Tasks<'_, C> {
    /// The same clock, for tasks of `phase` that run inside another
    /// phase's loop (the update fused into the ∂W_h GEMM's tasks).
    pub(crate) fn in_phase(self, phase: Phase) -> Self {
        Tasks { phase, ..self }
    }

    /// Runs one task, reporting its span when the clock takes spans.
    #[inline(always)]
    pub(crate) fn run<R>(self, f: impl FnOnce() -> R) -> R {
        if !C::SPANS {
            return f();
        }
        let start = Instant::now();
        let out = f();
        self.clock.span(self.phase, true, start, Instant::now());
        out
    }
}
