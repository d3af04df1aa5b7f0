//! The output layer fused into the hidden layer's row passes.
//!
//! The output layer has only C = 10 columns, so as three GEMMs of its own
//! (A·W_o, Aᵀ·δ, δ·W_oᵀ) each one streams the whole `(N, H)` activation
//! buffer through memory and packs it for a few flops per element. Here it
//! rides along with the passes that touch those rows anyway:
//! - [`forward_output`]: per row, `A ← relu(Z + b_h)`, then its C logits
//!   from the row while it is in cache, then softmax, loss, class and δ;
//! - [`backward_hidden`]: per row, the ∂W_o = Aᵀ·δ sums, then `dA = δ·W_oᵀ`,
//!   the ReLU mask and the ∂b_h sums, dZ written over A in place;
//! - [`output_layer_step`]: both, block of rows by block of rows, for the
//!   training step: each block goes from Z to dZ while it is in cache, so
//!   between the two GEMMs the `(N, H)` buffer is read and written once
//!   instead of twice, and no second `(N, H)` buffer is needed.
//!
//! Both directions read W_o transposed, `(C, H)`, so that their inner loops
//! run along H with unit stride and each vector of A meets all C classes;
//! the copy is made before each forward pass (10,000 values, microseconds).
//!
//! Determinism: no `mul_add`, and every sum has one fixed order written out
//! in the code: a logit adds its first ⌊H/8⌋·8 products in eight
//! interleaved partial sums in order of k, those by a fixed pairwise tree,
//! then the last H mod 8 products in order (see `dot`); an element of dA
//! adds its C products as a fixed pairwise tree for the course's ten
//! classes, in class order for any other count;
//! the ∂b_h and ∂W_o sums add rows in order within chunks of
//! [`sum_chunk_rows`] (in f32), then the chunk sums in chunk order (in f64).
//! The AVX2/FMA and portable builds only differ in how many lanes LLVM
//! packs into a vector, so they round the same, and no result depends on
//! the thread count; [`output_layer_step`] does the same arithmetic in the same
//! order as [`forward_output`] followed by [`backward_hidden`], so it gives
//! the same bits. Nothing here allocates.

use rayon::prelude::*;

use crate::engine::passes::{ROWS_PER_TASK, SUM_CHUNK_ROWS, softmax_rows};
use crate::engine::phase::{PhaseClock, Tasks};
use crate::engine::simd::{SimdPath, multiversion};

/// Rows whose ∂W_o sums are added together, sharing each load of a sum.
const ROW_BLOCK: usize = 4;
/// Rows that [`output_layer_step`] takes from Z to dZ in one go: 64 KB of
/// activations at H = 1000, which stay in L2 between the forward and the
/// backward half.
const TRAIN_BLOCK: usize = 16;
/// Lanes of the explicit partial sums of a logit: one 256-bit vector.
const LANES: usize = 8;
/// Classes whose logits two rows make in one pass: 2 × 5 partial-sum
/// vectors, two of A and one of W fit the 16 vector registers of AVX2, and
/// each load of W serves two rows. The loop is bound by its loads, not its
/// arithmetic, so this made the whole output layer 8% faster (README,
/// Performance).
const PAIR_CLASSES: usize = 5;

/// The sizes every pass here is given, as llm.c gives each of its passes
/// its sizes (B, T, C there): no size is guessed from a slice's length,
/// and every slice is checked against them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// N: the rows of the pass.
    pub rows: usize,
    /// T: its first rows that are training rows (δ, and for a backward
    /// pass dZ and the gradients, come from them alone).
    pub train_rows: usize,
    /// H: hidden units.
    pub hidden: usize,
    /// C: classes.
    pub classes: usize,
}

impl Shape {
    /// The scale of δ = (p − y)/T: the mean loss over the training rows
    /// (0 when there are none).
    fn delta_scale(self) -> f32 {
        if self.train_rows == 0 { 0.0 } else { 1.0 / self.train_rows as f32 }
    }

    /// The same sizes for `rows` rows of which the first `train_rows` train.
    fn with_rows(self, rows: usize, train_rows: usize) -> Shape {
        Shape { rows, train_rows, ..self }
    }
}

/// Training rows whose ∂b_h and ∂W_o sums are added in one chunk before the
/// chunks are added in order: about an eighth of the batch, in multiples of
/// 16 rows from 16 to 256. A small batch still splits into chunks for the
/// threads (batch 32 into two, 128 into eight), a large one keeps the chunk
/// sums few. It depends on the batch alone, never on the thread count.
pub fn sum_chunk_rows(train_rows: usize) -> usize {
    train_rows.div_ceil(8).next_multiple_of(16).clamp(16, SUM_CHUNK_ROWS)
}

/// The most chunks of [`sum_chunk_rows`] that `rows` or fewer training rows
/// make: at most 8 up to 2,048 rows, one per 256 rows beyond.
pub fn max_sum_chunks(rows: usize) -> usize {
    rows.div_ceil(SUM_CHUNK_ROWS).max(rows.div_ceil(16).min(8))
}

/// Number of `f32` chunk sums [`backward_hidden`] and [`output_layer_step`]
/// need for `rows` (or fewer) training rows of `hidden` units and `classes`
/// classes.
pub fn partials_len(rows: usize, hidden: usize, classes: usize) -> usize {
    max_sum_chunks(rows) * hidden * (classes + 1)
}

/// The chunk sums of `rows` training rows, `(chunks, 1 + C, H)`, from the
/// front of `partials`.
fn chunk_sums(partials: &mut [f32], rows: usize, hidden: usize, classes: usize) -> &mut [f32] {
    let len = rows.div_ceil(sum_chunk_rows(rows)) * hidden * (classes + 1);
    assert!(partials.len() >= len, "chunk sums hold {} values, {rows} rows need {len}", partials.len());
    &mut partials[..len]
}

/// Writes `W_oᵀ` `(C, H)` from `w_o` `(H, C)`, both row-major.
///
/// # Panics
/// If `classes` is 0, or `w_o` and `w_o_t` do not both hold
/// `hidden × classes` values.
pub fn transpose_output_weights(w_o: &[f32], hidden: usize, classes: usize, w_o_t: &mut [f32]) {
    assert!(classes > 0, "a network needs at least one class");
    assert!(w_o.len() == hidden * classes && w_o_t.len() == hidden * classes, "W_o is not {hidden} × {classes}");
    for (k, row) in w_o.chunks_exact(classes).enumerate() {
        for (c, &w) in row.iter().enumerate() {
            w_o_t[c * hidden + k] = w;
        }
    }
}

/// `Σ_k a[k]·w[k]` in the fixed order every logit uses: lane `l` of
/// [`LANES`] partial sums adds the products of `k ≡ l (mod LANES)` in order
/// of k, the lanes are added by [`pairwise_sum`], then the products of the
/// last `H mod LANES` units in order.
#[inline(always)]
fn dot(a: &[f32], w: &[f32]) -> f32 {
    let whole = a.len() / LANES * LANES;
    let mut acc = [0.0f32; LANES];
    for (x, w) in a[..whole].chunks_exact(LANES).zip(w[..whole].chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += x[l] * w[l];
        }
    }
    let mut sum = pairwise_sum(acc);
    for (x, w) in a[whole..].iter().zip(&w[whole..a.len()]) {
        sum += x * w;
    }
    sum
}

/// For `hidden` `(rows, H)`: `A ← relu(Z + b_h)` in place over all rows
/// first (one plain stream through memory, which keeps many loads in
/// flight), then each row's logits into `logits` `(rows, C)` while the rows
/// are in cache, each as [`dot`] computes it: two rows at a time in passes
/// of [`PAIR_CLASSES`] classes ([`logits_pair`]) where C is a multiple of
/// it, as the course's ten are; a last odd row, or any other class count,
/// class by class.
#[inline(always)]
fn relu_and_logits(hidden: &mut [f32], b_h: &[f32], w_o_t: &[f32], logits: &mut [f32], h: usize, c: usize) {
    for row in hidden.chunks_exact_mut(h) {
        for (x, &b) in row.iter_mut().zip(b_h) {
            let v = *x + b;
            // NaN passes through, as in passes::bias_relu.
            *x = if v < 0.0 { 0.0 } else { v };
        }
    }
    let paired = if c.is_multiple_of(PAIR_CLASSES) { hidden.len() / h / 2 * 2 } else { 0 };
    for (a, out) in hidden[..paired * h].chunks_exact(2 * h).zip(logits.chunks_exact_mut(2 * c)) {
        let (a0, a1) = a.split_at(h);
        let (out0, out1) = out.split_at_mut(c);
        let outs = out0.chunks_exact_mut(PAIR_CLASSES).zip(out1.chunks_exact_mut(PAIR_CLASSES));
        for (w, (o0, o1)) in w_o_t.chunks_exact(PAIR_CLASSES * h).zip(outs) {
            logits_pair(a0, a1, w, o0, o1);
        }
    }
    for (a, out) in hidden[paired * h..].chunks_exact(h).zip(logits[paired * c..].chunks_exact_mut(c)) {
        for (out, w) in out.iter_mut().zip(w_o_t.chunks_exact(h)) {
            *out = dot(a, w);
        }
    }
}

/// The logits of [`PAIR_CLASSES`] classes (`w_o_t` `(PAIR_CLASSES, H)`)
/// for two rows `a0`, `a1` into `out0`, `out1`, each as [`dot`] computes
/// it: every vector of W loaded serves both rows.
#[inline(always)]
fn logits_pair(a0: &[f32], a1: &[f32], w_o_t: &[f32], out0: &mut [f32], out1: &mut [f32]) {
    const G: usize = PAIR_CLASSES;
    let h = a0.len();
    let whole = h / LANES * LANES;
    let w: [&[f32]; G] = std::array::from_fn(|j| &w_o_t[j * h..(j + 1) * h]);
    let mut acc0 = [[0.0f32; LANES]; G];
    let mut acc1 = [[0.0f32; LANES]; G];
    let xs = a0[..whole].chunks_exact(LANES).zip(a1[..whole].chunks_exact(LANES));
    for (k0, (x0, x1)) in (0..whole).step_by(LANES).zip(xs) {
        for j in 0..G {
            let wj = &w[j][k0..k0 + LANES];
            for l in 0..LANES {
                acc0[j][l] += x0[l] * wj[l];
                acc1[j][l] += x1[l] * wj[l];
            }
        }
    }
    for j in 0..G {
        let (mut s0, mut s1) = (pairwise_sum(acc0[j]), pairwise_sum(acc1[j]));
        for ((x0, x1), w) in a0[whole..].iter().zip(&a1[whole..]).zip(&w[j][whole..]) {
            s0 += x0 * w;
            s1 += x1 * w;
        }
        out0[j] = s0;
        out1[j] = s1;
    }
}

multiversion! {
    /// [`relu_and_logits`], in each build, for `h` units and `c` classes.
    fn hidden_rows_and_logits(hidden: &mut [f32], b_h: &[f32], w_o_t: &[f32], logits: &mut [f32], h: usize, c: usize) {
        relu_and_logits(hidden, b_h, w_o_t, logits, h, c);
    }
}

/// Checks a forward pass's buffers against its shape.
fn check_forward_shapes(shape: Shape, rows: &RowBuffers<'_>, w: &OutputWeights<'_>, labels: &[u8]) {
    let Shape { rows: n, train_rows: t, hidden: h, classes: c } = shape;
    assert!(h > 0 && c > 0 && t <= n, "shape {shape:?} is not a pass");
    assert!(rows.hidden.len() == n * h, "hidden buffer is not {n} rows of {h}");
    assert!(w.hidden_bias.len() == h && w.output_bias.len() == c, "biases are not {h} and {c} long");
    assert!(w.transposed.len() == c * h && rows.logits.len() == n * c, "W_o or logits do not match");
    assert!(labels.len() == n && rows.loss.len() == n && rows.class.len() == n, "per-row buffers are not {n} long");
    assert!(c <= 256, "{c} classes do not fit a u8 class index");
    assert!(labels.iter().all(|&y| (y as usize) < c), "a label is not below {c}");
}

/// The forward pass after `Z = X·W_h`, one row task at a time.
///
/// Per row: `A ← relu(Z + b_h)` in place in `rows.hidden`;
/// `logits = A·W_o + b_o` (W_o read as `w.transposed`); then as
/// `passes::softmax_cross_entropy` (feature `bench-aids`): loss, predicted
/// class, and δ = (p − y)/T (the first T = `shape.train_rows` rows) or p in
/// place of the logits.
///
/// # Panics
/// If H or C is 0, T exceeds N, C exceeds 256 (a class is a `u8`), a
/// buffer does not match `shape`, or a label is not below C.
pub fn forward_output(path: SimdPath, shape: Shape, rows: RowBuffers<'_>, w: &OutputWeights<'_>, labels: &[u8]) {
    check_forward_shapes(shape, &rows, w, labels);
    let (b_h, w_o_t, b_o) = (w.hidden_bias, w.transposed, w.output_bias);
    let Shape { train_rows, hidden: h, classes: c, .. } = shape;
    let inv_n = shape.delta_scale();
    rows.hidden
        .par_chunks_mut(h * ROWS_PER_TASK)
        .zip(rows.logits.par_chunks_mut(c * ROWS_PER_TASK))
        .zip(labels.par_chunks(ROWS_PER_TASK))
        .zip(rows.loss.par_chunks_mut(ROWS_PER_TASK))
        .zip(rows.class.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, ((((a, z), labels), loss), class))| {
            hidden_rows_and_logits(path, a, b_h, w_o_t, z, h, c);
            let own_delta_rows = train_rows.saturating_sub(task * ROWS_PER_TASK);
            softmax_rows(path, z, b_o, labels, loss, class, own_delta_rows, inv_n);
        });
}

/// Sums `C` values as a balanced tree in a fixed order: `(v0 + v1) + (v2 +
/// v3)`…, an odd last value carried up. A chain of depth log₂ C instead of C
/// keeps the vector adds from waiting on each other.
#[inline(always)]
fn pairwise_sum<const C: usize>(mut v: [f32; C]) -> f32 {
    let mut n = C;
    while n > 1 {
        let half = n / 2;
        for i in 0..half {
            v[i] = v[2 * i] + v[2 * i + 1];
        }
        if n % 2 == 1 {
            v[half] = v[n - 1];
        }
        n = half + n % 2;
    }
    v[0]
}

/// One row of dZ = (δ·W_oᵀ) ⊙ 1[A > 0], written over the row of A it is
/// masked by, and added to the ∂b_h sums `bias`, for a class count `C`
/// known at compile time: the C products of an element are summed by
/// [`pairwise_sum`] and the loop over units vectorises.
#[inline(always)]
fn hidden_error_row_unrolled<const C: usize>(row: &mut [f32], d: &[f32], w_o_t: &[f32], bias: &mut [f32]) {
    let h = row.len();
    let bias = &mut bias[..h];
    let w: [&[f32]; C] = std::array::from_fn(|j| &w_o_t[j * h..(j + 1) * h]);
    let d: [f32; C] = std::array::from_fn(|j| d[j]);
    for k in 0..h {
        // The sum first, the select after: computed for every unit, so
        // the loads are plain vector loads, not masked ones.
        let sum = pairwise_sum(std::array::from_fn::<f32, C, _>(|j| d[j] * w[j][k]));
        let g = if row[k] > 0.0 { sum } else { 0.0 };
        row[k] = g;
        bias[k] += g;
    }
}

/// [`hidden_error_row_unrolled`] for any class count (`d.len()`): the C
/// products of an element summed in class order from 0. Both SIMD builds
/// do the same roundings either way.
#[inline(always)]
fn hidden_error_row_any(row: &mut [f32], d: &[f32], w_o_t: &[f32], bias: &mut [f32]) {
    let h = row.len();
    for (k, (x, b)) in row.iter_mut().zip(bias.iter_mut()).enumerate() {
        let mut sum = 0.0f32;
        for (w, &dj) in w_o_t.chunks_exact(h).zip(d) {
            sum += dj * w[k];
        }
        let g = if *x > 0.0 { sum } else { 0.0 };
        *x = g;
        *b += g;
    }
}

/// Adds `Aᵀ·δ` of `R` rows (`a` `(R, H)`, `d` `(R, C)`) to the ∂W_oᵀ sums
/// `weights` `(C, H)`, rows in order: any `R` gives the same bits as one
/// row at a time.
#[inline(always)]
fn add_weight_grads<const R: usize>(a: &[f32], d: &[f32], weights: &mut [f32], h: usize, c: usize) {
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * h..(r + 1) * h]);
    for (j, p) in weights.chunks_exact_mut(h).enumerate() {
        let dj: [f32; R] = std::array::from_fn(|r| d[r * c + j]);
        for (k, p) in p.iter_mut().enumerate() {
            let mut v = *p;
            for r in 0..R {
                v += rows[r][k] * dj[r];
            }
            *p = v;
        }
    }
}

/// Backward over training rows `hidden` (A, becoming dZ) with their δ,
/// `h` units and `c` classes each, adding to the chunk's sums `(1 + C, H)`:
/// ∂b_h, then ∂W_oᵀ; `error_row` makes each row of dZ. Rows are added in
/// order, so any split of a chunk into consecutive calls gives the same
/// bits as one call.
#[inline(always)]
fn backward_rows(
    (hidden, delta): (&mut [f32], &[f32]),
    w_o_t: &[f32],
    sums: &mut [f32],
    (h, c): (usize, usize),
    error_row: impl Fn(&mut [f32], &[f32], &[f32], &mut [f32]),
) {
    let (bias, weights) = sums.split_at_mut(h);
    for (a, d) in hidden.chunks_mut(ROW_BLOCK * h).zip(delta.chunks(ROW_BLOCK * c)) {
        // ∂W_o reads A first: the rows become dZ right after.
        if d.len() == ROW_BLOCK * c {
            add_weight_grads::<ROW_BLOCK>(a, d, weights, h, c);
        } else {
            for (a, d) in a.chunks_exact(h).zip(d.chunks_exact(c)) {
                add_weight_grads::<1>(a, d, weights, h, c);
            }
        }
        for (row, d) in a.chunks_exact_mut(h).zip(d.chunks_exact(c)) {
            error_row(row, d, w_o_t, bias);
        }
    }
}

multiversion! {
    /// [`backward_rows`], in each build: the backward of some training rows
    /// of a chunk, `h` units and `c` classes each, added to its sums.
    fn add_backward_rows(hidden: &mut [f32], delta: &[f32], w_o_t: &[f32], sums: &mut [f32], h: usize, c: usize) {
        // The course's ten classes get their own unrolled build.
        if c == 10 {
            backward_rows((hidden, delta), w_o_t, sums, (h, c), hidden_error_row_unrolled::<10>);
        } else {
            backward_rows((hidden, delta), w_o_t, sums, (h, c), hidden_error_row_any);
        }
    }
}

/// Writes the ∂b_h and ∂W_o results from the chunk sums `(chunks, 1 + C, H)`:
/// each is the f64 sum of its chunk values in chunk order.
fn reduce_chunk_sums(partials: &[f32], b_h_grad: &mut [f32], w_o_grad: &mut [f32], h: usize, c: usize) {
    let per_chunk = (c + 1) * h;
    let total = |i: usize| partials.chunks_exact(per_chunk).fold(0.0f64, |acc, p| acc + f64::from(p[i])) as f32;
    for (k, out) in b_h_grad.iter_mut().enumerate() {
        *out = total(k);
    }
    // ∂W_o[k, j] is entry (j, k) of the chunks' ∂W_oᵀ sums.
    for (k, row) in w_o_grad.chunks_exact_mut(c).enumerate() {
        for (j, out) in row.iter_mut().enumerate() {
            *out = total(h + j * h + k);
        }
    }
}

/// Checks the gradient buffers against `shape`.
fn check_gradient_shapes(shape: Shape, w_o_t: &[f32], grads: &OutputGrads<'_>) {
    let (h, c) = (shape.hidden, shape.classes);
    assert!(h > 0 && c > 0 && w_o_t.len() == c * h, "W_oᵀ is not {c} × {h}");
    assert!(grads.hidden_bias.len() == h && grads.output_weights.len() == h * c, "gradients are not {h} and {h} × {c}");
}

/// The backward pass between δ and `∂W_h = Xᵀ·dZ`, over the T =
/// `shape.train_rows` training rows that `hidden` and `delta` hold (the
/// first T of the forward pass's N = `shape.rows`).
///
/// Writes `hidden ← (δ·W_oᵀ) ⊙ 1[hidden > 0]` (A becomes dZ, in place),
/// `grads.hidden_bias = Σ_rows dZ` and `grads.output_weights = Aᵀ·δ`
/// `(H, C)`. Rows are summed in f32 within chunks of
/// [`sum_chunk_rows`]`(T)`, the chunk sums then added in f64 in chunk
/// order. `grads.partials` holds at least [`partials_len`]`(T, H, C)`
/// values.
///
/// # Panics
/// If H or C is 0, T exceeds N, or a buffer does not match `shape`.
pub fn backward_hidden(
    path: SimdPath,
    shape: Shape,
    hidden: &mut [f32],
    delta: &[f32],
    w_o_t: &[f32],
    grads: OutputGrads<'_>,
) {
    check_gradient_shapes(shape, w_o_t, &grads);
    let Shape { rows: n, train_rows: t, hidden: h, classes: c } = shape;
    assert!(t <= n, "{t} training rows of {n}");
    assert!(hidden.len() == t * h && delta.len() == t * c, "activations and δ are not {t} rows of {h} and {c}");
    let partials = chunk_sums(grads.partials, t, h, c);
    let chunk = sum_chunk_rows(t);
    hidden
        .par_chunks_mut(h * chunk)
        .zip(delta.par_chunks(c * chunk))
        .zip(partials.par_chunks_mut((c + 1) * h))
        .for_each(|((a, d), sums)| {
            sums.fill(0.0);
            add_backward_rows(path, a, d, w_o_t, sums, h, c);
        });
    reduce_chunk_sums(partials, grads.hidden_bias, grads.output_weights, h, c);
}

/// The output layer's parameters as the fused passes read them.
#[derive(Clone, Copy, Debug)]
pub struct OutputWeights<'a> {
    /// b_h  (H).
    pub hidden_bias: &'a [f32],
    /// W_oᵀ `(C, H)`, as written by [`transpose_output_weights`].
    pub transposed: &'a [f32],
    /// b_o  (C).
    pub output_bias: &'a [f32],
}

/// The per-row buffers of a pass over N rows, all changed in place.
#[derive(Debug)]
pub struct RowBuffers<'a> {
    /// Z in; A out, or for training rows after a backward pass dZ.  (N, H)
    pub hidden: &'a mut [f32],
    /// Logits, then δ (training rows) or p (the rest).  (N, C)
    pub logits: &'a mut [f32],
    /// −log p_label.  (N)
    pub loss: &'a mut [f32],
    /// The first class of highest probability.  (N)
    pub class: &'a mut [u8],
}

impl RowBuffers<'_> {
    /// The buffers of the rows before `start`, and of rows `start..`.
    fn split_at(self, start: usize, (h, c): (usize, usize)) -> (Self, Self) {
        let (a, a_rest) = self.hidden.split_at_mut(start * h);
        let (z, z_rest) = self.logits.split_at_mut(start * c);
        let (loss, loss_rest) = self.loss.split_at_mut(start);
        let (class, class_rest) = self.class.split_at_mut(start);
        (
            RowBuffers { hidden: a, logits: z, loss, class },
            RowBuffers { hidden: a_rest, logits: z_rest, loss: loss_rest, class: class_rest },
        )
    }
}

/// The output layer's gradients and the chunk sums they are made from.
#[derive(Debug)]
pub struct OutputGrads<'a> {
    /// ∂L/∂b_h  (H).
    pub hidden_bias: &'a mut [f32],
    /// ∂L/∂W_o  (H, C).
    pub output_weights: &'a mut [f32],
    /// Room for the chunk sums: at least [`partials_len`]`(T, H, C)` values.
    pub partials: &'a mut [f32],
}

/// One chunk of [`output_layer_step`], `shape` its own rows: blocks of
/// [`TRAIN_BLOCK`] rows go forward (A, logits, softmax, δ = (p − y)·`inv_n`
/// of the first `shape.train_rows`) and, for their
/// training rows, straight back (∂W_o and ∂b_h sums, dZ over A) while they
/// are in cache. Each piece is its own multiversioned function: inlined
/// into one, the logits' ten accumulators were spilled to the stack, and
/// the spills stalled on loads of W_oᵀ whose addresses matched theirs
/// modulo 4 KB, in some builds and not others (10 against 6 cycles per
/// element).
fn train_chunk(
    path: SimdPath,
    shape: Shape,
    inv_n: f32,
    rows: RowBuffers<'_>,
    w: &OutputWeights<'_>,
    labels: &[u8],
    sums: &mut [f32],
) {
    let Shape { train_rows, hidden: h, classes: c, .. } = shape;
    sums.fill(0.0);
    let blocks = rows
        .hidden
        .chunks_mut(TRAIN_BLOCK * h)
        .zip(rows.logits.chunks_mut(TRAIN_BLOCK * c))
        .zip(labels.chunks(TRAIN_BLOCK))
        .zip(rows.loss.chunks_mut(TRAIN_BLOCK))
        .zip(rows.class.chunks_mut(TRAIN_BLOCK));
    for (i, ((((a, z), labels), loss), class)) in blocks.enumerate() {
        let own_train = train_rows.saturating_sub(i * TRAIN_BLOCK).min(labels.len());
        hidden_rows_and_logits(path, a, w.hidden_bias, w.transposed, z, h, c);
        softmax_rows(path, z, w.output_bias, labels, loss, class, own_train, inv_n);
        add_backward_rows(path, &mut a[..own_train * h], &z[..own_train * c], w.transposed, sums, h, c);
    }
}

/// The training step's whole output layer after `Z = X·W_h`, in one sweep:
/// [`forward_output`] over all N rows (δ for the first T), then
/// [`backward_hidden`] over the T training rows, with the same results to
/// the bit, but each block of rows taken from Z to dZ while it is in cache.
///
/// # Panics
/// As [`forward_output`] and [`backward_hidden`], and if there are no
/// training rows.
pub fn output_layer_step(
    path: SimdPath,
    shape: Shape,
    rows: RowBuffers<'_>,
    w: &OutputWeights<'_>,
    labels: &[u8],
    grads: OutputGrads<'_>,
) {
    output_layer_step_tasks(path, shape, rows, w, labels, grads, Tasks::NONE);
}

/// [`output_layer_step`], each chunk (and the forward pass of the held-out rows,
/// and the reduction of the chunk sums) reported to `tasks`.
pub(crate) fn output_layer_step_tasks<C: PhaseClock>(
    path: SimdPath,
    shape: Shape,
    rows: RowBuffers<'_>,
    w: &OutputWeights<'_>,
    labels: &[u8],
    grads: OutputGrads<'_>,
    tasks: Tasks<'_, C>,
) {
    check_forward_shapes(shape, &rows, w, labels);
    check_gradient_shapes(shape, w.transposed, &grads);
    let Shape { rows: n, train_rows, hidden: h, classes: c } = shape;
    assert!(train_rows > 0, "a training step needs training rows");
    // The chunks that hold training rows go forward and back; the rows
    // after them (held-out rows) only forward.
    let chunk = sum_chunk_rows(train_rows);
    let split = n.min(train_rows.div_ceil(chunk) * chunk);
    let (train, rest) = rows.split_at(split, (h, c));
    let (y_train, y_rest) = labels.split_at(split);
    let partials = chunk_sums(grads.partials, train_rows, h, c);
    let inv_n = shape.delta_scale();
    rayon::join(
        || {
            train
                .hidden
                .par_chunks_mut(h * chunk)
                .zip(train.logits.par_chunks_mut(c * chunk))
                .zip(y_train.par_chunks(chunk))
                .zip(train.loss.par_chunks_mut(chunk))
                .zip(train.class.par_chunks_mut(chunk))
                .zip(partials.par_chunks_mut((c + 1) * h))
                .enumerate()
                .for_each(|(i, (((((a, z), y), loss), class), sums))| {
                    let own = shape.with_rows(y.len(), train_rows.saturating_sub(i * chunk).min(y.len()));
                    let rows = RowBuffers { hidden: a, logits: z, loss, class };
                    tasks.run(|| train_chunk(path, own, inv_n, rows, w, y, sums));
                });
        },
        || {
            if !y_rest.is_empty() {
                tasks.run(|| forward_output(path, shape.with_rows(y_rest.len(), 0), rest, w, y_rest));
            }
        },
    );
    tasks.run(|| reduce_chunk_sums(partials, grads.hidden_bias, grads.output_weights, h, c));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_pairs_give_the_bits_of_rows_alone() {
        // Logits made two rows at a time must add in the order one row
        // alone does (see `dot`): same bits, in every build, with and
        // without a tail of H mod 8 units, for an odd last row too.
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
        };
        for (rows, h) in [(5, 37), (4, 64), (3, 1000), (2, 9)] {
            let b_h: Vec<f32> = (0..h).map(|_| next()).collect();
            let w_o_t: Vec<f32> = (0..10 * h).map(|_| next()).collect();
            let z: Vec<f32> = (0..rows * h).map(|_| next()).collect();
            for path in SimdPath::available() {
                let (mut together, mut logits) = (z.clone(), vec![0.0; rows * 10]);
                hidden_rows_and_logits(path, &mut together, &b_h, &w_o_t, &mut logits, h, 10);
                for r in 0..rows {
                    let (mut alone, mut one) = (z[r * h..(r + 1) * h].to_vec(), vec![0.0; 10]);
                    hidden_rows_and_logits(path, &mut alone, &b_h, &w_o_t, &mut one, h, 10);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&logits[r * 10..(r + 1) * 10]),
                        bits(&one),
                        "row {r} of {rows}, H {h}, {}",
                        path.name()
                    );
                }
            }
        }
    }

    #[test]
    fn chunk_sums_sized_for_a_batch_fit_every_smaller_batch() {
        // A workspace sizes its chunk sums by partials_len(max rows); every
        // batch up to that must fit, so the bound must cover each batch's
        // own chunk count and never fall as the batch grows.
        for rows in 0..5000 {
            let chunk = sum_chunk_rows(rows);
            assert!(chunk.is_multiple_of(16) && (16..=SUM_CHUNK_ROWS).contains(&chunk), "{rows} rows: chunk {chunk}");
            assert!(rows.div_ceil(chunk) <= max_sum_chunks(rows), "{rows} rows");
            assert!(max_sum_chunks(rows) <= max_sum_chunks(rows + 1), "{rows} rows");
        }
        assert_eq!((sum_chunk_rows(32), sum_chunk_rows(128), sum_chunk_rows(10_000)), (16, 16, 256));
    }
}
