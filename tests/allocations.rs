//! A training step makes no heap allocation of its own.
//!
//! A counting global allocator sees every allocation of this test binary.
//! Each `matrixmultiply::sgemm` call allocates one packing buffer (the
//! library does so internally and offers no way to pass one in), so the
//! honest claim is: after warm-up, a step allocates exactly as many times as
//! it calls sgemm, with a byte count that does not grow with the batch size,
//! and every pass of ours allocates nothing.
//!
//! This file holds one test so that no other test allocates concurrently.

mod common;

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{labels, pixels};
use mlp_engine::engine::fused::{self, OutputGrads, OutputWeights, RowBuffers, Shape};
use mlp_engine::engine::matrix::MatRef;
use mlp_engine::engine::matrix::sgemm_calls;
use mlp_engine::engine::passes;
use mlp_engine::engine::rng::Rng;
use mlp_engine::engine::{Phase, PhaseClock};
use mlp_engine::{Layout, MomentumSgd, Network, Workspace};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        BYTES.fetch_add(layout.size(), Ordering::SeqCst);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        BYTES.fetch_add(new_size, Ordering::SeqCst);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, bytes, sgemm calls) made while `f` runs.
fn count(f: impl FnOnce()) -> (usize, usize, usize) {
    let (a, b, s) = (ALLOCATIONS.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst), sgemm_calls());
    f();
    (ALLOCATIONS.load(Ordering::SeqCst) - a, BYTES.load(Ordering::SeqCst) - b, sgemm_calls() - s)
}

/// Allocation figures of one warmed-up step at `train_rows` training rows
/// (plus 100 held-out rows measured in the same pass).
fn step_allocations(train_rows: usize) -> (usize, usize, usize) {
    let layout = Layout::new(784, 300, 10);
    let rows = train_rows + 100;
    let mut rng = Rng::new(1);
    let x = pixels(&mut rng, rows, 784);
    let y = labels(&mut rng, rows, 10);
    let mut net = Network::new(layout, 2, 1e-5);
    let mut ws = Workspace::new(layout, rows, train_rows);
    let xv = MatRef::from_slice(&x, rows, 784);
    let optimizer = MomentumSgd::default();
    for _ in 0..2 {
        net.step(&mut ws, xv, &y, train_rows, optimizer);
    }
    let figures = count(|| net.step(&mut ws, xv, &y, train_rows, optimizer));
    let again = count(|| net.step(&mut ws, xv, &y, train_rows, optimizer));
    assert_eq!(figures, again, "two warmed-up steps at T={train_rows} allocated differently");
    figures
}

/// A clock that takes every span, as `mlp profile`'s recorder does, and
/// only counts them.
#[derive(Default)]
struct SpanCounter {
    phases: AtomicUsize,
    tasks: AtomicUsize,
}

impl PhaseClock for SpanCounter {
    const ENABLED: bool = true;
    const SPANS: bool = true;
    fn record(&mut self, _: Phase, _: f64) {}
    fn span(&self, _: Phase, task: bool, _: std::time::Instant, _: std::time::Instant) {
        let counter = if task { &self.tasks } else { &self.phases };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// As [`step_allocations`], for a step that reports every span: also the
/// phase and task spans of the counted step.
fn traced_step_allocations(train_rows: usize) -> ((usize, usize, usize), usize, usize) {
    let layout = Layout::new(784, 300, 10);
    let mut rng = Rng::new(4);
    let x = pixels(&mut rng, train_rows, 784);
    let y = labels(&mut rng, train_rows, 10);
    let mut net = Network::new(layout, 2, 1e-5);
    let mut ws = Workspace::new(layout, train_rows, train_rows);
    let xv = MatRef::from_slice(&x, train_rows, 784);
    let mut clock = SpanCounter::default();
    for _ in 0..2 {
        net.step_timed(&mut ws, xv, &y, train_rows, MomentumSgd::default(), &mut clock);
    }
    let before = (clock.phases.load(Ordering::SeqCst), clock.tasks.load(Ordering::SeqCst));
    let figures = count(|| net.step_timed(&mut ws, xv, &y, train_rows, MomentumSgd::default(), &mut clock));
    let after = (clock.phases.load(Ordering::SeqCst), clock.tasks.load(Ordering::SeqCst));
    (figures, after.0 - before.0, after.1 - before.1)
}

#[test]
fn a_step_allocates_only_the_sgemm_packing_buffers() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    pool.install(|| {
        let mut per_batch = Vec::new();
        for train_rows in [256, 1024, 4096] {
            let (allocations, bytes, sgemm) = step_allocations(train_rows);
            // Two GEMMs per step (Z = X·W_h and ∂W_h = Xᵀ·dZ), each one or
            // more sgemm calls; the output layer runs inside our own passes.
            assert!(sgemm >= 2, "a step makes at least two GEMM calls, saw {sgemm}");
            assert_eq!(allocations, sgemm, "T={train_rows}: {allocations} allocations for {sgemm} sgemm calls");
            per_batch.push((train_rows, bytes, sgemm));
        }
        // Past matrixmultiply's block sizes (its defaults: kc = 256 rows of K,
        // mc = 64 rows of M, nc = 1024 columns of N)
        // the packing buffers stop growing: 1024 and 4096 rows allocate the
        // same bytes in the same number of calls.
        assert_eq!(per_batch[1].1, per_batch[2].1, "bytes grew with the batch: {per_batch:?}");
        assert!(per_batch[0].1 <= per_batch[1].1, "{per_batch:?}");

        passes_allocate_nothing();

        // Recording every phase and task (what `mlp profile` does) adds no
        // allocation either, on the full step and on the folded one (≤ 64
        // rows). Six phase spans: the output layer is two (W_oᵀ's copy and
        // the sweep); every parallel loop adds at least one task.
        for train_rows in [64, 256] {
            let ((allocations, _, sgemm), phases, tasks) = traced_step_allocations(train_rows);
            assert_eq!(allocations, sgemm, "traced T={train_rows}: {allocations} allocations for {sgemm} sgemm calls");
            assert_eq!(phases, 6, "traced T={train_rows}: phase spans");
            assert!(tasks >= sgemm + 3, "traced T={train_rows}: {tasks} task spans for {sgemm} sgemm calls");
        }

        // The epoch loop allocates nothing per epoch beyond the steps'
        // packing buffers: 6 epochs allocate 3 epochs' sgemm calls more than 3.
        // Batches of 64 rows take the step that folds W_h's momentum into its
        // gradient GEMM (β ≠ 0, one block of rows per thread, each applying
        // W_h −= v in its task), so that path is counted here too.
        let data = mlp_engine::data::Dataset::synthetic(700, 1);
        let split = data.split(400, 150, 521).unwrap();
        for batch_size in [None, Some(64)] {
            let run = |epochs: usize| {
                let config = mlp_engine::training::TrainConfig { hidden: 40, epochs, batch_size, ..Default::default() };
                count(|| {
                    mlp_engine::training::train(&split, &config, |_| std::ops::ControlFlow::Continue(())).unwrap();
                })
            };
            let (short, long) = (run(3), run(6));
            let (extra_allocations, extra_sgemm) = (long.0 - short.0, long.2 - short.2);
            assert!(extra_sgemm > 0);
            assert_eq!(
                extra_allocations, extra_sgemm,
                "batch {batch_size:?}: 3 more epochs allocated {extra_allocations} times for {extra_sgemm} sgemm calls"
            );
        }
    });
}

/// Our passes alone, the fused ones included: zero allocations.
fn passes_allocate_nothing() {
    let layout = Layout::new(784, 300, 10);
    let (n, h, c) = (1000, 300, 10);
    let mut rng = Rng::new(3);
    let mut hidden = pixels(&mut rng, n, h);
    let mut d_hidden = pixels(&mut rng, n, h);
    let mut logits = pixels(&mut rng, n, c);
    let y = labels(&mut rng, n, c);
    let (mut loss, mut class) = (vec![0.0; n], vec![0; n]);
    let mut partials = vec![0.0; passes::partials_len(n, h)];
    let mut net = Network::new(layout, 1, 1e-5);
    let bias = vec![0.1f32; h];
    let mut grad = vec![0.0f32; h];
    let w_o = pixels(&mut rng, h, c);
    let (mut w_o_t, mut w_o_grad) = (vec![0.0f32; h * c], vec![0.0f32; h * c]);
    let mut sums = vec![0.0f32; fused::partials_len(n, h, c)];
    let path = mlp_engine::engine::SimdPath::best();
    let (a, ..) = count(|| {
        passes::bias_relu(path, &mut hidden, &bias);
        passes::softmax_cross_entropy(path, &mut logits, &bias[..c], &y, &mut loss, &mut class, n, 1.0 / n as f32);
        passes::relu_backward(path, &mut d_hidden, &hidden, &mut grad, &mut partials);
        passes::column_sums(path, &logits, &mut grad[..c], &mut partials);
        fused::transpose_output_weights(&w_o, h, c, &mut w_o_t);
        let w = OutputWeights { hidden_bias: &bias, transposed: &w_o_t, output_bias: &bias[..c] };
        let all = Shape { rows: n, train_rows: n, hidden: h, classes: c };
        let rows = RowBuffers { hidden: &mut hidden, logits: &mut logits, loss: &mut loss, class: &mut class };
        fused::forward_output(path, all, rows, &w, &y);
        let grads = OutputGrads { hidden_bias: &mut grad, output_weights: &mut w_o_grad, partials: &mut sums };
        fused::backward_hidden(path, all, &mut hidden, &logits, &w_o_t, grads);
        let rows = RowBuffers { hidden: &mut d_hidden, logits: &mut logits, loss: &mut loss, class: &mut class };
        let grads = OutputGrads { hidden_bias: &mut grad, output_weights: &mut w_o_grad, partials: &mut sums };
        let half = Shape { train_rows: n / 2, ..all };
        fused::output_layer_step(path, half, rows, &w, &y, grads);
        passes::apply_velocity(path, &mut w_o_t, &w_o_grad);
        net.update(path, MomentumSgd::default());
    });
    assert_eq!(a, 0, "the fused passes allocated {a} times");
}
