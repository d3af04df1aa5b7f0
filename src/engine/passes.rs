//! The fused elementwise passes around the GEMMs, rayon-parallel over rows.
//!
//! Each pass is one read (and at most one write) of its buffers:
//! - [`column_sums`]: ∂L/∂b_o = Σ δ over rows;
//! - [`momentum_update`]: `v ← γ·v + α·g; w ← w − v` over one flat slice;
//! - [`apply_velocity`]: `w ← w − v`, after a GEMM updated the velocity.
//!
//! With the non-default `bench-aids` feature (the crate's own tests and
//! benchmarks turn it on), three standalone passes that training never
//! calls, kept to be compared with naive loops and with the fused sweep:
//! - `bias_relu`: `A ← relu(Z + b_h)` in place over the hidden GEMM output;
//! - `softmax_cross_entropy`: per row, `+ b_o`, the row's own max,
//!   log-sum-exp loss, argmax, and `δ = (p − y)/N` in place of the logits;
//! - `relu_backward`: `dZ ← dA ⊙ 1[A > 0]` in place, fused with the column
//!   sums that make ∂L/∂b_h.
//!
//! The training step uses `column_sums`, `momentum_update`, the chunk body
//! of `apply_velocity` (inside the fold's GEMM tasks), and the per-row
//! body of `softmax_cross_entropy` inside `engine::fused`, which also does
//! the work of `bias_relu` and `relu_backward` together with the output
//! layer.
//!
//! Determinism: rows are split into fixed-size tasks, and every reduction
//! (column sums) first sums fixed row chunks, then adds the chunk results in
//! chunk order, so no result depends on the thread count.
//! None of these functions allocates.

use rayon::prelude::*;

use crate::engine::phase::{PhaseClock, Tasks};
use crate::engine::simd::{SimdPath, multiversion};

/// Rows handled by one rayon task in the row-parallel passes.
pub const ROWS_PER_TASK: usize = 64;
/// Rows summed together before the chunk results are reduced in order.
pub const SUM_CHUNK_ROWS: usize = 256;
/// Elements per task in the momentum update.
const UPDATE_CHUNK: usize = 1 << 14;

/// Number of `f64` partial sums a column-sum pass over `rows × cols` needs.
pub fn partials_len(rows: usize, cols: usize) -> usize {
    rows.div_ceil(SUM_CHUNK_ROWS) * cols
}

#[cfg(feature = "bench-aids")]
multiversion! {
    fn bias_relu_rows(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (x, &b) in row.iter_mut().zip(bias) {
                let v = *x + b;
                // Written so that NaN passes through (a diverging run must
                // show up in the loss, not be hidden as 0).
                *x = if v < 0.0 { 0.0 } else { v };
            }
        }
    }
}

/// `hidden ← relu(hidden + bias)` for a dense `(N, H)` buffer, `H = bias.len()`.
#[cfg(feature = "bench-aids")]
pub fn bias_relu(path: SimdPath, hidden: &mut [f32], bias: &[f32]) {
    let h = bias.len();
    assert!(h > 0 && hidden.len().is_multiple_of(h), "hidden buffer is not whole rows of {h}");
    hidden.par_chunks_mut(h * ROWS_PER_TASK).for_each(|rows| bias_relu_rows(path, rows, bias));
}

multiversion! {
    /// Per row of `logits` `(rows, C)`: `+ bias`, loss, predicted class, then
    /// δ (first `delta_rows` rows) or p in place; see [`softmax_cross_entropy`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn softmax_rows(
        logits: &mut [f32],
        bias: &[f32],
        labels: &[u8],
        loss: &mut [f32],
        class: &mut [u8],
        delta_rows: usize,
        inv_n: f32,
    ) {
        let c = bias.len();
        for (i, row) in logits.chunks_exact_mut(c).enumerate() {
            let label = labels[i] as usize;
            let mut max = f32::NEG_INFINITY;
            for (z, &b) in row.iter_mut().zip(bias) {
                *z += b;
                max = if *z > max { *z } else { max };
            }
            // Each row's own max: every exponent is ≤ 0, so exp ≤ 1 and the
            // sum lies in [1, C] for any finite logits.
            let label_shifted = row[label] - max;
            let mut sum = 0.0f32;
            for z in row.iter_mut() {
                let e = (*z - max).exp();
                *z = e;
                sum += e;
            }
            // −log p_y = log Σ exp(z − max) − (z_y − max): finite for finite
            // logits, NaN if any logit is NaN or infinite.
            loss[i] = sum.ln() - label_shifted;
            // The predicted class is the first maximum of p itself (strict
            // `>`, as numpy's argmax), not of the logits: logits a few ulps
            // apart can round to equal probabilities, and the class must be
            // the argmax of the probabilities a caller is given. With NaN
            // probabilities it is class 0.
            let (mut best, mut best_p) = (0, f32::NEG_INFINITY);
            let target_rows = i < delta_rows;
            for (j, z) in row.iter_mut().enumerate() {
                let p = *z / sum;
                if p > best_p {
                    (best, best_p) = (j, p);
                }
                *z = if target_rows {
                    let target = if j == label { 1.0 } else { 0.0 };
                    (p - target) * inv_n
                } else {
                    p
                };
            }
            class[i] = best as u8;
        }
    }
}

/// Softmax with mean-cross-entropy bookkeeping over a dense `(N, C)` buffer
/// of at most 256 classes.
///
/// Per row `i`: adds `bias`, records `loss[i] = −log softmax(z)_label` (by
/// log-sum-exp) and `class[i]`, the first class of highest probability;
/// then overwrites the row with `δ = (p − onehot)·inv_n` for
/// `i < delta_rows` and with `p` for the rest.
#[cfg(feature = "bench-aids")]
#[allow(clippy::too_many_arguments)]
pub fn softmax_cross_entropy(
    path: SimdPath,
    logits: &mut [f32],
    bias: &[f32],
    labels: &[u8],
    loss: &mut [f32],
    class: &mut [u8],
    delta_rows: usize,
    inv_n: f32,
) {
    let c = bias.len();
    let n = labels.len();
    assert_eq!(logits.len(), n * c, "logits are not {n} rows of {c}");
    assert!(loss.len() == n && class.len() == n, "per-row outputs are not {n} long");
    assert!(c <= 256, "{c} classes do not fit a u8 class index");
    assert!(labels.iter().all(|&y| (y as usize) < c), "a label is not below {c}");
    logits
        .par_chunks_mut(c * ROWS_PER_TASK)
        .zip(labels.par_chunks(ROWS_PER_TASK))
        .zip(loss.par_chunks_mut(ROWS_PER_TASK))
        .zip(class.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, (((rows, labels), loss), class))| {
            let own_delta_rows = delta_rows.saturating_sub(task * ROWS_PER_TASK);
            softmax_rows(path, rows, bias, labels, loss, class, own_delta_rows, inv_n);
        });
}

#[cfg(feature = "bench-aids")]
multiversion! {
    fn relu_backward_chunk(d_hidden: &mut [f32], hidden: &[f32], partial: &mut [f64]) {
        let h = partial.len();
        partial.fill(0.0);
        for (d_row, a_row) in d_hidden.chunks_exact_mut(h).zip(hidden.chunks_exact(h)) {
            for ((d, &a), acc) in d_row.iter_mut().zip(a_row).zip(partial.iter_mut()) {
                // 1[A > 0] read from the activations, which stay intact.
                let g = if a > 0.0 { *d } else { 0.0 };
                *d = g;
                *acc += f64::from(g);
            }
        }
    }
}

multiversion! {
    fn column_sums_chunk(rows: &[f32], partial: &mut [f64]) {
        let c = partial.len();
        partial.fill(0.0);
        for row in rows.chunks_exact(c) {
            for (acc, &x) in partial.iter_mut().zip(row) {
                *acc += f64::from(x);
            }
        }
    }
}

/// Adds the per-chunk partial sums in chunk order into `out`.
fn reduce_partials(partials: &[f64], out: &mut [f32]) {
    let c = out.len();
    for (j, o) in out.iter_mut().enumerate() {
        let mut acc = 0.0f64;
        for chunk in partials.chunks_exact(c) {
            acc += chunk[j];
        }
        *o = acc as f32;
    }
}

/// `d_hidden ← d_hidden ⊙ 1[hidden > 0]` over dense `(N, H)` buffers, and
/// `bias_grad[j] = Σ_i d_hidden[i, j]` of the result (∂L/∂b_h), written.
///
/// `partials` is scratch of at least [`partials_len`]`(N, H)`.
#[cfg(feature = "bench-aids")]
pub fn relu_backward(
    path: SimdPath,
    d_hidden: &mut [f32],
    hidden: &[f32],
    bias_grad: &mut [f32],
    partials: &mut [f64],
) {
    let h = bias_grad.len();
    assert_eq!(d_hidden.len(), hidden.len(), "gradient and activations differ in size");
    assert!(h > 0 && d_hidden.len().is_multiple_of(h), "buffers are not whole rows of {h}");
    let partials = &mut partials[..partials_len(d_hidden.len() / h, h)];
    d_hidden
        .par_chunks_mut(h * SUM_CHUNK_ROWS)
        .zip(hidden.par_chunks(h * SUM_CHUNK_ROWS))
        .zip(partials.par_chunks_mut(h))
        .for_each(|((d, a), partial)| relu_backward_chunk(path, d, a, partial));
    reduce_partials(partials, bias_grad);
}

/// `out[j] = Σ_i rows[i, j]` over a dense `(N, C)` buffer, `C = out.len()`, written.
///
/// `partials` is scratch of at least [`partials_len`]`(N, C)`.
pub fn column_sums(path: SimdPath, rows: &[f32], out: &mut [f32], partials: &mut [f64]) {
    column_sums_tasks(path, rows, out, partials, Tasks::NONE);
}

/// [`column_sums`], each chunk reported to `tasks`.
pub(crate) fn column_sums_tasks<C: PhaseClock>(
    path: SimdPath,
    rows: &[f32],
    out: &mut [f32],
    partials: &mut [f64],
    tasks: Tasks<'_, C>,
) {
    let c = out.len();
    assert!(c > 0 && rows.len().is_multiple_of(c), "buffer is not whole rows of {c}");
    let partials = &mut partials[..partials_len(rows.len() / c, c)];
    rows.par_chunks(c * SUM_CHUNK_ROWS)
        .zip(partials.par_chunks_mut(c))
        .for_each(|(rows, partial)| tasks.run(|| column_sums_chunk(path, rows, partial)));
    reduce_partials(partials, out);
}

multiversion! {
    fn momentum_chunk(params: &mut [f32], velocity: &mut [f32], grads: &[f32], learning_rate: f32, momentum: f32) {
        for ((w, v), &g) in params.iter_mut().zip(velocity.iter_mut()).zip(grads) {
            let next = momentum * *v + learning_rate * g;
            *v = next;
            *w -= next;
        }
    }
}

/// `v ← momentum·v + learning_rate·g; w ← w − v`, elementwise over equal-length slices.
pub fn momentum_update(
    path: SimdPath,
    params: &mut [f32],
    velocity: &mut [f32],
    grads: &[f32],
    learning_rate: f32,
    momentum: f32,
) {
    momentum_update_tasks(path, params, velocity, grads, learning_rate, momentum, Tasks::NONE);
}

/// [`momentum_update`], each chunk reported to `tasks`.
pub(crate) fn momentum_update_tasks<C: PhaseClock>(
    path: SimdPath,
    params: &mut [f32],
    velocity: &mut [f32],
    grads: &[f32],
    learning_rate: f32,
    momentum: f32,
    tasks: Tasks<'_, C>,
) {
    assert!(
        params.len() == velocity.len() && params.len() == grads.len(),
        "parameter, velocity and gradient buffers differ in length"
    );
    params
        .par_chunks_mut(UPDATE_CHUNK)
        .zip(velocity.par_chunks_mut(UPDATE_CHUNK))
        .zip(grads.par_chunks(UPDATE_CHUNK))
        .for_each(|((w, v), g)| tasks.run(|| momentum_chunk(path, w, v, g, learning_rate, momentum)));
}

multiversion! {
    /// `w ← w − v` over one chunk, on the calling thread.
    pub(crate) fn apply_velocity_chunk(params: &mut [f32], velocity: &[f32]) {
        for (w, &v) in params.iter_mut().zip(velocity) {
            *w -= v;
        }
    }
}

/// `w ← w − v` elementwise over whole buffers, in parallel chunks: the
/// second half of a momentum update whose velocity was already updated.
/// (The training step's fold applies it to each block of rows inside the
/// ∂W_h GEMM's own tasks instead, with this pass's chunk body.)
pub fn apply_velocity(path: SimdPath, params: &mut [f32], velocity: &[f32]) {
    assert_eq!(params.len(), velocity.len(), "parameter and velocity buffers differ in length");
    params
        .par_chunks_mut(UPDATE_CHUNK)
        .zip(velocity.par_chunks(UPDATE_CHUNK))
        .for_each(|(w, v)| apply_velocity_chunk(path, w, v));
}
