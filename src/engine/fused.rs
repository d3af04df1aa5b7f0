//! The output layer fused into the hidden layer's row passes.
//!
//! The output layer has only C = 10 columns, so as three GEMMs of its own
//! (A·W_o, Aᵀ·δ, δ·W_oᵀ) each one streams the whole `(N, H)` activation
//! buffer through memory and packs it for a few flops per element. Here it
//! rides along with the passes that touch those rows anyway:
//! - [`forward_output`]: per row, `A ← relu(Z + b_h)`, then its C logits
//!   from the row while it is in L1, then softmax, loss, argmax and δ;
//! - [`backward_hidden`]: per row, `dA = δ·W_oᵀ`, the ReLU mask, the ∂b_h
//!   sums and the ∂W_o = Aᵀ·δ sums, in one sweep over A and dZ.
//!
//! The forward kernel reads W_o in zero-padded blocks of 16 columns
//! (`(H, 16)`, one vector pair per unit k) for 4 rows at a time; the
//! backward kernel reads W_o transposed, `(C, H)`, so that its inner loops
//! run along H with unit stride. Both copies are made per pass (10,000
//! values, microseconds).
//!
//! Determinism: no `mul_add`, and every sum has one fixed order written out
//! in the code: a logit adds its H products in order of k; an element of
//! dA adds its C products as a fixed pairwise tree; the ∂b_h and ∂W_o sums
//! add rows in order within chunks of `SUM_CHUNK_ROWS` (in f32), then the
//! chunk sums in chunk order (in f64). The AVX2/FMA and portable builds only
//! differ in how many lanes LLVM packs into a vector, so they round the
//! same, and no result depends on the thread count. Nothing here allocates.

use rayon::prelude::*;

use crate::engine::passes::{ROWS_PER_TASK, SUM_CHUNK_ROWS, softmax_rows};
use crate::engine::simd::{SimdPath, multiversion};

/// Rows handled together by the kernels, sharing each load of W_o.
const ROW_BLOCK: usize = 4;
/// Classes per group of the forward kernel: W_o is stored in groups of
/// this many columns, the last group padded with zeros.
pub(crate) const CLASS_GROUP: usize = 16;

/// Number of `f32` chunk sums [`backward_hidden`] needs for `rows`
/// training rows of `hidden` units and `classes` classes.
pub fn partials_len(rows: usize, hidden: usize, classes: usize) -> usize {
    rows.div_ceil(SUM_CHUNK_ROWS) * hidden * (classes + 1)
}

/// Length of the grouped copy of W_o that [`forward_output`] reads.
pub fn grouped_weights_len(hidden: usize, classes: usize) -> usize {
    classes.div_ceil(CLASS_GROUP) * hidden * CLASS_GROUP
}

/// Writes `W_oᵀ` `(C, H)` from `w_o` `(H, C)`, both row-major.
pub fn transpose_output_weights(w_o: &[f32], classes: usize, w_o_t: &mut [f32]) {
    let hidden = w_o.len() / classes;
    for (k, row) in w_o.chunks_exact(classes).enumerate() {
        for (c, &w) in row.iter().enumerate() {
            w_o_t[c * hidden + k] = w;
        }
    }
}

/// Writes W_o `(H, C)` as `⌈C / 16⌉` row-major `(H, 16)` blocks of columns,
/// zero-padded, so that the forward kernel reads 16 columns per load.
pub fn group_output_weights(w_o: &[f32], classes: usize, grouped: &mut [f32]) {
    let hidden = w_o.len() / classes;
    for (g, block) in grouped.chunks_exact_mut(hidden * CLASS_GROUP).enumerate() {
        for (k, out) in block.chunks_exact_mut(CLASS_GROUP).enumerate() {
            for (l, o) in out.iter_mut().enumerate() {
                let c = g * CLASS_GROUP + l;
                *o = if c < classes { w_o[k * classes + c] } else { 0.0 };
            }
        }
    }
}

/// `out[r] = a[r]·W` for `R` rows and one `(H, 16)` block `W`: each logit
/// sums its H products in order of k; no `mul_add`.
#[inline(always)]
fn logits_block<const R: usize>(a: [&[f32]; R], w: &[f32], out: &mut [[f32; CLASS_GROUP]; R]) {
    let h = w.len() / CLASS_GROUP;
    let a: [&[f32]; R] = std::array::from_fn(|r| &a[r][..h]);
    let mut acc = [[0.0f32; CLASS_GROUP]; R];
    for (k, w) in w.chunks_exact(CLASS_GROUP).enumerate() {
        let w: &[f32; CLASS_GROUP] = w.try_into().unwrap();
        for r in 0..R {
            let x = a[r][k];
            for l in 0..CLASS_GROUP {
                acc[r][l] += x * w[l];
            }
        }
    }
    *out = acc;
}

/// The logits of `R` rows `(R, H)` into `logits` `(R, C)`, group by group.
#[inline(always)]
fn logits_rows<const R: usize>(hidden: &[f32], h: usize, grouped: &[f32], logits: &mut [f32]) {
    let c = logits.len() / R;
    let rows: [&[f32]; R] = std::array::from_fn(|r| &hidden[r * h..(r + 1) * h]);
    let mut out = [[0.0f32; CLASS_GROUP]; R];
    for (g, w) in grouped.chunks_exact(h * CLASS_GROUP).enumerate() {
        logits_block::<R>(rows, w, &mut out);
        let first = g * CLASS_GROUP;
        let width = CLASS_GROUP.min(c - first);
        for (r, o) in out.iter().enumerate() {
            logits[r * c + first..r * c + first + width].copy_from_slice(&o[..width]);
        }
    }
}

multiversion! {
    /// For `hidden` `(rows, H)`: `A ← relu(Z + b_h)` in place, then the
    /// logits `A·W_o` (no bias yet) into `logits` `(rows, C)`, a few rows at
    /// a time while they are still in L1.
    fn hidden_rows_and_logits(hidden: &mut [f32], b_h: &[f32], grouped: &[f32], logits: &mut [f32]) {
        let h = b_h.len();
        let c = logits.len() / (hidden.len() / h).max(1);
        let blocks = hidden.chunks_mut(h * ROW_BLOCK).zip(logits.chunks_mut(c * ROW_BLOCK));
        for (a, out) in blocks {
            for row in a.chunks_exact_mut(h) {
                for (x, &b) in row.iter_mut().zip(b_h) {
                    let v = *x + b;
                    // NaN passes through, as in passes::bias_relu.
                    *x = if v < 0.0 { 0.0 } else { v };
                }
            }
            if out.len() == c * ROW_BLOCK {
                logits_rows::<ROW_BLOCK>(a, h, grouped, out);
            } else {
                for (a, out) in a.chunks_exact(h).zip(out.chunks_exact_mut(c)) {
                    logits_rows::<1>(a, h, grouped, out);
                }
            }
        }
    }
}

/// The forward pass after `Z = X·W_h`, one row task at a time.
///
/// Per row: `A ← relu(Z + b_h)` in place in `hidden`; `logits = A·W_o + b_o`
/// (W_o as written by [`group_output_weights`]);
/// then as [`passes::softmax_cross_entropy`](crate::engine::passes::softmax_cross_entropy):
/// loss, correctness, and δ = (p − y)·inv_n (first `delta_rows` rows) or p in
/// place of the logits.
#[allow(clippy::too_many_arguments)]
pub fn forward_output(
    path: SimdPath,
    hidden: &mut [f32],
    b_h: &[f32],
    grouped: &[f32],
    b_o: &[f32],
    labels: &[u8],
    logits: &mut [f32],
    loss: &mut [f32],
    correct: &mut [u8],
    delta_rows: usize,
    inv_n: f32,
) {
    let (h, c, n) = (b_h.len(), b_o.len(), labels.len());
    assert!(h > 0 && c > 0 && hidden.len() == n * h, "hidden buffer is not {n} rows of {h}");
    assert!(grouped.len() == grouped_weights_len(h, c) && logits.len() == n * c, "W_o or logits do not match");
    assert!(loss.len() == n && correct.len() == n, "per-row outputs are not {n} long");
    assert!(labels.iter().all(|&y| (y as usize) < c), "a label is not below {c}");
    hidden
        .par_chunks_mut(h * ROWS_PER_TASK)
        .zip(logits.par_chunks_mut(c * ROWS_PER_TASK))
        .zip(labels.par_chunks(ROWS_PER_TASK))
        .zip(loss.par_chunks_mut(ROWS_PER_TASK))
        .zip(correct.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(task, ((((a, z), labels), loss), correct))| {
            hidden_rows_and_logits(path, a, b_h, grouped, z);
            let own_delta_rows = delta_rows.saturating_sub(task * ROWS_PER_TASK);
            softmax_rows(path, z, b_o, labels, loss, correct, own_delta_rows, inv_n);
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

/// One row of dZ = (δ·W_oᵀ) ⊙ 1[A > 0], added to the ∂b_h sums `bias`; the
/// mask is read from the activations, which stay intact. `C` is the class
/// count when known at compile time: the C products of an element are then
/// summed by [`pairwise_sum`] and the loop over units vectorises; with
/// `C = 0` (any count) they are summed in class order from 0. Either way
/// both SIMD builds do the same roundings.
#[inline(always)]
fn hidden_error_row<const C: usize>(dz: &mut [f32], a: &[f32], d: &[f32], w_o_t: &[f32], bias: &mut [f32]) {
    let h = a.len();
    let (dz, bias) = (&mut dz[..h], &mut bias[..h]);
    if C > 0 {
        let w: [&[f32]; C] = std::array::from_fn(|j| &w_o_t[j * h..(j + 1) * h]);
        let d: [f32; C] = d[..C].try_into().unwrap();
        for k in 0..h {
            // The sum first, the select after: computed for every unit, so
            // the loads are plain vector loads, not masked ones.
            let sum = pairwise_sum(std::array::from_fn::<f32, C, _>(|j| d[j] * w[j][k]));
            let g = if a[k] > 0.0 { sum } else { 0.0 };
            dz[k] = g;
            bias[k] += g;
        }
    } else {
        dz.fill(0.0);
        for (w, &dj) in w_o_t.chunks_exact(h).zip(d) {
            for (z, &wk) in dz.iter_mut().zip(w) {
                *z += dj * wk;
            }
        }
        for ((z, &ak), b) in dz.iter_mut().zip(a).zip(bias.iter_mut()) {
            let g = if ak > 0.0 { *z } else { 0.0 };
            *z = g;
            *b += g;
        }
    }
}

/// Adds `Aᵀ·δ` of `R` rows (`a` `(R, H)`, `d` `(R, C)`) to the ∂W_oᵀ sums
/// `weights` `(C, H)`, rows in order: any `R` gives the same bits as one
/// row at a time.
#[inline(always)]
fn add_weight_grads<const R: usize>(a: &[f32], d: &[f32], weights: &mut [f32]) {
    let c = d.len() / R;
    let h = weights.len() / c;
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

/// One chunk of [`backward_hidden`] for `C` classes (0: any count): dZ of
/// its rows, and its sums `(1 + C, H)`: ∂b_h, then ∂W_oᵀ.
#[inline(always)]
fn backward_rows<const C: usize>(d_hidden: &mut [f32], hidden: &[f32], delta: &[f32], w_o_t: &[f32], sums: &mut [f32]) {
    let h = sums.len() - w_o_t.len();
    let c = w_o_t.len() / h;
    let (bias, weights) = sums.split_at_mut(h);
    let blocks = d_hidden.chunks_mut(ROW_BLOCK * h).zip(hidden.chunks(ROW_BLOCK * h)).zip(delta.chunks(ROW_BLOCK * c));
    for ((dz, a), d) in blocks {
        let rows = dz.chunks_exact_mut(h).zip(a.chunks_exact(h)).zip(d.chunks_exact(c));
        for ((dz, a), d) in rows {
            hidden_error_row::<C>(dz, a, d, w_o_t, bias);
        }
        if d.len() == ROW_BLOCK * c {
            add_weight_grads::<ROW_BLOCK>(a, d, weights);
        } else {
            for (a, d) in a.chunks_exact(h).zip(d.chunks_exact(c)) {
                add_weight_grads::<1>(a, d, weights);
            }
        }
    }
}

multiversion! {
    /// One chunk of [`backward_hidden`] (see [`backward_rows`]).
    fn backward_chunk(d_hidden: &mut [f32], hidden: &[f32], delta: &[f32], w_o_t: &[f32], sums: &mut [f32]) {
        sums.fill(0.0);
        // The course's ten classes get their own unrolled build.
        if w_o_t.len() == 10 * (sums.len() - w_o_t.len()) {
            backward_rows::<10>(d_hidden, hidden, delta, w_o_t, sums);
        } else {
            backward_rows::<0>(d_hidden, hidden, delta, w_o_t, sums);
        }
    }
}

/// The backward pass between δ and `∂W_h = Xᵀ·dZ`, over `T` training rows.
///
/// Writes `d_hidden ← (δ·W_oᵀ) ⊙ 1[hidden > 0]` (dZ), `b_h_grad = Σ_rows dZ`
/// and `w_o_grad = Aᵀ·δ` `(H, C)`. Rows are summed in f32 within chunks of
/// [`SUM_CHUNK_ROWS`], the chunk sums then added in f64 in chunk order.
/// `partials` holds at least [`partials_len`]`(T, H, C)` values.
#[allow(clippy::too_many_arguments)]
pub fn backward_hidden(
    path: SimdPath,
    d_hidden: &mut [f32],
    hidden: &[f32],
    delta: &[f32],
    w_o_t: &[f32],
    b_h_grad: &mut [f32],
    w_o_grad: &mut [f32],
    partials: &mut [f32],
) {
    let h = b_h_grad.len();
    let c = w_o_t.len() / h.max(1);
    assert!(h > 0 && c > 0 && w_o_t.len() == c * h && w_o_grad.len() == h * c, "weights do not match");
    assert!(d_hidden.len() == hidden.len() && d_hidden.len().is_multiple_of(h), "buffers are not whole rows");
    let t = d_hidden.len() / h;
    assert_eq!(delta.len(), t * c, "δ is not {t} rows of {c}");
    let per_chunk = (c + 1) * h;
    let partials = &mut partials[..partials_len(t, h, c)];
    d_hidden
        .par_chunks_mut(h * SUM_CHUNK_ROWS)
        .zip(hidden.par_chunks(h * SUM_CHUNK_ROWS))
        .zip(delta.par_chunks(c * SUM_CHUNK_ROWS))
        .zip(partials.par_chunks_mut(per_chunk))
        .for_each(|(((dz, a), d), sums)| backward_chunk(path, dz, a, d, w_o_t, sums));
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
