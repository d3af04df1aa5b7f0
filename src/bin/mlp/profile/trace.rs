//! The per-thread record of profiled steps and its `trace.json`: Chrome's
//! trace-event format, which Perfetto's UI and `chrome://tracing` open.
//!
//! A [`Recorder`] is the [`PhaseClock`] the profiled steps run with. It
//! keeps every phase of a step (on the thread that runs the step) and every
//! rayon task of it (a GEMM block, a chunk of the output layer's sweep, of
//! the ∂b_o sums or of the update, on the thread that ran it) in one
//! preallocated list per thread: a full list drops spans and counts them,
//! so recording never allocates inside a step.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::json::Json;
use mlp_engine::engine::{Phase, PhaseClock};

/// A short name of a phase, as the trace and the page show it.
pub fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::HiddenGemm => "forward GEMM",
        Phase::OutputLayer => "output layer sweep",
        Phase::OutputBiasGrad => "∂b_o sums",
        Phase::HiddenWeightGrad => "∂W_h GEMM",
        Phase::Update => "update",
    }
}

/// One span of a phase on one thread.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub phase: Phase,
    /// A task of the phase (else the whole phase, on the step's thread).
    pub task: bool,
    /// The step it belongs to, from 0.
    pub step: usize,
    pub start: Instant,
    pub end: Instant,
}

/// Spans of the steps a profile runs, by thread.
#[derive(Debug)]
pub struct Recorder {
    /// One list per rayon thread, and a last one for any other thread.
    lanes: Vec<Mutex<Vec<Span>>>,
    dropped: AtomicUsize,
    /// The step being recorded.
    step: usize,
    /// Start and end of each recorded step, on the step's thread.
    steps: Vec<(Instant, Instant)>,
    /// Each recorded step's seconds per phase on the step's thread.
    phase_seconds: Vec<[f64; Phase::ALL.len()]>,
    /// The thread that ran the steps.
    step_lane: usize,
}

impl Recorder {
    /// Room for `steps` steps of up to `spans_per_step` spans on each of
    /// `threads` threads (spans past it are counted as dropped); `None` if
    /// that room cannot even be counted. Check [`Recorder::bytes_for`]
    /// against memory first.
    pub fn new(threads: usize, steps: usize, spans_per_step: usize) -> Option<Recorder> {
        let room = steps.checked_mul(spans_per_step)?;
        Some(Recorder {
            lanes: (0..=threads).map(|_| Mutex::new(Vec::with_capacity(room))).collect(),
            dropped: AtomicUsize::new(0),
            step: 0,
            steps: Vec::with_capacity(steps),
            phase_seconds: Vec::with_capacity(steps),
            step_lane: 0,
        })
    }

    /// Bytes [`Recorder::new`] reserves for the same arguments, saturating.
    pub fn bytes_for(threads: usize, steps: usize, spans_per_step: usize) -> u64 {
        let lanes = (threads as u64).saturating_add(1);
        let spans = lanes.saturating_mul(steps as u64).saturating_mul(spans_per_step as u64);
        let per_step = std::mem::size_of::<(Instant, Instant)>() + std::mem::size_of::<[f64; Phase::ALL.len()]>();
        spans
            .saturating_mul(std::mem::size_of::<Span>() as u64)
            .saturating_add((steps as u64).saturating_mul(per_step as u64))
    }

    fn lane(&self) -> usize {
        rayon::current_thread_index().map_or(self.lanes.len() - 1, |i| i.min(self.lanes.len() - 1))
    }

    /// Runs one step under the recorder; returns its wall time in seconds.
    pub fn step(&mut self, run: impl FnOnce(&mut Recorder)) -> f64 {
        self.step = self.steps.len();
        self.step_lane = self.lane();
        self.phase_seconds.push([0.0; Phase::ALL.len()]);
        let start = Instant::now();
        run(self);
        let end = Instant::now();
        self.steps.push((start, end));
        (end - start).as_secs_f64()
    }

    /// Steps recorded.
    pub fn steps(&self) -> &[(Instant, Instant)] {
        &self.steps
    }

    /// Seconds of each phase of each step, on the step's thread.
    pub fn phase_seconds(&self) -> &[[f64; Phase::ALL.len()]] {
        &self.phase_seconds
    }

    /// Spans that did not fit the room made for them.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Threads with a list (the last one: threads outside the pool).
    pub fn lane_count(&self) -> usize {
        self.lanes.len()
    }

    /// The thread that ran the steps.
    pub fn step_lane(&self) -> usize {
        self.step_lane
    }

    /// The spans of one thread, in the order they ended.
    pub fn spans(&self, lane: usize) -> Vec<Span> {
        self.lanes[lane].lock().map(|spans| spans.clone()).unwrap_or_default()
    }
}

impl PhaseClock for Recorder {
    const ENABLED: bool = true;
    const SPANS: bool = true;

    fn record(&mut self, phase: Phase, seconds: f64) {
        if let Some(step) = self.phase_seconds.last_mut() {
            step[phase as usize] += seconds;
        }
    }

    fn span(&self, phase: Phase, task: bool, start: Instant, end: Instant) {
        let span = Span { phase, task, step: self.step, start, end };
        // A poisoned lock only means a task panicked; the step fails anyway.
        if let Ok(mut spans) = self.lanes[self.lane()].lock()
            && spans.len() < spans.capacity()
        {
            spans.push(span);
            return;
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Microseconds from `origin`, to the nanosecond.
fn micros(origin: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(origin).as_nanos() as f64 / 1e3
}

/// A complete ("X") event; its end is computed from the rounded start and
/// end, so that a span inside another stays inside it once rounded.
fn complete(name: &str, cat: &str, pid: usize, tid: usize, span: (f64, f64), step: usize) -> Json {
    Json::obj([
        ("name", Json::str(name)),
        ("cat", Json::str(cat)),
        ("ph", Json::str("X")),
        ("ts", Json::num(span.0)),
        ("dur", Json::num(((span.1 - span.0) * 1e3).round() / 1e3)),
        ("pid", Json::num(pid as f64)),
        ("tid", Json::num(tid as f64)),
        ("args", Json::obj([("step", Json::num(step as f64))])),
    ])
}

fn metadata(name: &str, pid: usize, tid: usize, args: Json) -> Json {
    Json::obj([
        ("name", Json::str(name)),
        ("ph", Json::str("M")),
        ("pid", Json::num(pid as f64)),
        ("tid", Json::num(tid as f64)),
        ("args", args),
    ])
}

/// One profiled shape's recording, with the process name the trace gives it.
pub struct Recording<'a> {
    pub name: String,
    pub recorder: &'a Recorder,
}

/// `trace.json`: one process per recording (a batch size), one track per
/// thread that ran anything, each step a span on every such track with the
/// phases and tasks of that thread inside it. Times in microseconds from
/// `origin`.
pub fn trace_json(origin: Instant, recordings: &[Recording<'_>], facts: Json) -> String {
    let mut events = Vec::new();
    for (p, rec) in recordings.iter().enumerate() {
        let pid = p + 1;
        let r = rec.recorder;
        events.push(metadata("process_name", pid, 0, Json::obj([("name", Json::str(rec.name.as_str()))])));
        events.push(metadata("process_sort_index", pid, 0, Json::obj([("sort_index", Json::num(pid as f64))])));
        for lane in 0..r.lane_count() {
            let spans = r.spans(lane);
            if spans.is_empty() {
                continue;
            }
            let name = match lane {
                l if l == r.step_lane() => format!("thread {l} (runs the step)"),
                l if l + 1 == r.lane_count() => "outside the pool".to_string(),
                l => format!("thread {l}"),
            };
            events.push(metadata("thread_name", pid, lane, Json::obj([("name", Json::str(name))])));
            events.push(metadata("thread_sort_index", pid, lane, Json::obj([("sort_index", Json::num(lane as f64))])));
            for (i, &(start, end)) in r.steps().iter().enumerate() {
                let span = (micros(origin, start), micros(origin, end));
                events.push(complete(&format!("step {i}"), "step", pid, lane, span, i));
            }
            for s in spans {
                let cat = if s.task { "task" } else { "phase" };
                let span = (micros(origin, s.start), micros(origin, s.end));
                events.push(complete(phase_label(s.phase), cat, pid, lane, span, s.step));
            }
        }
    }
    Json::obj([("traceEvents", Json::Arr(events)), ("displayTimeUnit", Json::str("ms")), ("otherData", facts)])
        .to_compact()
}
