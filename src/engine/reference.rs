//! The naive reference: the assignment's helper functions, by name, in f64.
//!
//! This module is the oracle every fast path is tested against. It is
//! deliberately plain: simple loops, f64 arithmetic and accumulation, no
//! rayon, no SIMD, no `unsafe`. It also fixes the original NumPy code's
//! defects: softmax subtracts each row's own max, cross-entropy is computed
//! by log-sum-exp from the logits (finite on a confident miss), the ReLU
//! derivative is taken without touching the activations, and the velocity
//! is kept by the caller between steps.

use crate::engine::layout::{Layout, Tensor};

/// A dense row-major `rows × cols` matrix of `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct RefMat {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// The elements, row-major.
    pub data: Vec<f64>,
}

impl RefMat {
    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        RefMat { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// Widens an `f32` row-major buffer.
    pub fn from_f32(rows: usize, cols: usize, data: &[f32]) -> Self {
        assert_eq!(data.len(), rows * cols);
        RefMat { rows, cols, data: data.iter().map(|&v| f64::from(v)).collect() }
    }

    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.cols + j] = v;
    }

    /// The transpose (a copy: clarity over speed here).
    pub fn transpose(&self) -> RefMat {
        let mut t = RefMat::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                t.set(j, i, self.at(i, j));
            }
        }
        t
    }
}

/// The textbook triple loop: `a · b`.
pub fn matmul(a: &RefMat, b: &RefMat) -> RefMat {
    assert_eq!(a.cols, b.rows, "matmul shapes");
    let mut c = RefMat::zeros(a.rows, b.cols);
    for i in 0..a.rows {
        for j in 0..b.cols {
            let mut acc = 0.0;
            for k in 0..a.cols {
                acc += a.at(i, k) * b.at(k, j);
            }
            c.set(i, j, acc);
        }
    }
    c
}

/// `computeLayer`: `X·W + b`, the bias added to every row.
pub fn compute_layer(x: &RefMat, w: &RefMat, b: &[f64]) -> RefMat {
    assert_eq!(b.len(), w.cols, "bias length");
    let mut z = matmul(x, w);
    for row in z.data.chunks_exact_mut(w.cols) {
        for (v, bias) in row.iter_mut().zip(b) {
            *v += bias;
        }
    }
    z
}

/// `relu`: `max(z, 0)` elementwise (NaN stays NaN).
pub fn relu(z: &RefMat) -> RefMat {
    let data = z.data.iter().map(|&v| if v < 0.0 { 0.0 } else { v }).collect();
    RefMat { rows: z.rows, cols: z.cols, data }
}

/// `softmax`: per row, `exp(z − max_row) / Σ exp(z − max_row)`.
pub fn softmax(z: &RefMat) -> RefMat {
    let mut p = RefMat::zeros(z.rows, z.cols);
    for i in 0..z.rows {
        let max = (0..z.cols).map(|j| z.at(i, j)).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..z.cols).map(|j| (z.at(i, j) - max).exp()).sum();
        for j in 0..z.cols {
            p.set(i, j, (z.at(i, j) - max).exp() / sum);
        }
    }
    p
}

/// `CE`: mean over rows of `−log softmax(z)_label`, by log-sum-exp from the
/// logits, so it is finite for any finite logits.
pub fn cross_entropy(logits: &RefMat, labels: &[u8]) -> f64 {
    assert_eq!(labels.len(), logits.rows, "one label per row");
    let mut total = 0.0;
    for (i, &y) in labels.iter().enumerate() {
        let max = (0..logits.cols).map(|j| logits.at(i, j)).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..logits.cols).map(|j| (logits.at(i, j) - max).exp()).sum();
        total += max + sum.ln() - logits.at(i, y as usize);
    }
    total / labels.len() as f64
}

/// Fraction of rows whose first largest logit is the label.
pub fn accuracy(logits: &RefMat, labels: &[u8]) -> f64 {
    let mut correct = 0;
    for (i, &y) in labels.iter().enumerate() {
        let mut best = 0;
        for j in 1..logits.cols {
            if logits.at(i, j) > logits.at(i, best) {
                best = j;
            }
        }
        correct += usize::from(best == y as usize);
    }
    correct as f64 / labels.len() as f64
}

/// `gradCE`: ∂CE/∂logits = `(softmax(z) − onehot(labels)) / N`.
pub fn grad_cross_entropy(logits: &RefMat, labels: &[u8]) -> RefMat {
    let n = labels.len() as f64;
    let mut delta = softmax(logits);
    for (i, &y) in labels.iter().enumerate() {
        for j in 0..delta.cols {
            let target = if j == y as usize { 1.0 } else { 0.0 };
            delta.set(i, j, (delta.at(i, j) - target) / n);
        }
    }
    delta
}

/// ∂L/∂W_o = `hᵀ·δ`.
pub fn grad_output_weights(hidden: &RefMat, delta: &RefMat) -> RefMat {
    matmul(&hidden.transpose(), delta)
}

/// ∂L/∂b_o = `Σ_rows δ`.
pub fn grad_output_bias(delta: &RefMat) -> Vec<f64> {
    column_sums(delta)
}

/// The hidden layer's back-propagated error `(δ·W_oᵀ) ⊙ 1[h > 0]`.
fn hidden_error(hidden: &RefMat, delta: &RefMat, w_o: &RefMat) -> RefMat {
    let mut e = matmul(delta, &w_o.transpose());
    for (g, &h) in e.data.iter_mut().zip(&hidden.data) {
        if h <= 0.0 {
            *g = 0.0;
        }
    }
    e
}

/// ∂L/∂W_h = `xᵀ·((δ·W_oᵀ) ⊙ 1[h > 0])`.
pub fn grad_hidden_weights(x: &RefMat, hidden: &RefMat, delta: &RefMat, w_o: &RefMat) -> RefMat {
    matmul(&x.transpose(), &hidden_error(hidden, delta, w_o))
}

/// ∂L/∂b_h = `Σ_rows ((δ·W_oᵀ) ⊙ 1[h > 0])`.
pub fn grad_hidden_bias(hidden: &RefMat, delta: &RefMat, w_o: &RefMat) -> Vec<f64> {
    column_sums(&hidden_error(hidden, delta, w_o))
}

fn column_sums(m: &RefMat) -> Vec<f64> {
    (0..m.cols).map(|j| (0..m.rows).map(|i| m.at(i, j)).sum()).collect()
}

/// Everything one forward and backward pass produces.
#[derive(Clone, Debug)]
pub struct Pass {
    /// h = relu(x·W_h + b_h)  (N, H)
    pub hidden: RefMat,
    /// z = h·W_o + b_o  (N, C)
    pub logits: RefMat,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction of rows whose argmax is the label.
    pub accuracy: f64,
    /// (p − y)/N  (N, C)
    pub delta: RefMat,
    /// ∂L/∂θ, flat, in the [`Layout`]'s order.
    pub grads: Vec<f64>,
}

/// The network in f64 with flat parameters and velocity in the [`Layout`]'s
/// order, as the fast engine keeps them.
#[derive(Clone, Debug)]
pub struct RefNetwork {
    /// The size/offset table, shared with the fast network.
    pub layout: Layout,
    /// Parameters in the layout's order.
    pub params: Vec<f64>,
    /// Velocity in the layout's order.
    pub velocity: Vec<f64>,
}

impl RefNetwork {
    /// Widens `f32` parameters; every velocity entry is `velocity_init`.
    pub fn from_f32(layout: Layout, params: &[f32], velocity_init: f64) -> Self {
        assert_eq!(params.len(), layout.total());
        RefNetwork {
            layout,
            params: params.iter().map(|&v| f64::from(v)).collect(),
            velocity: vec![velocity_init; params.len()],
        }
    }

    /// One tensor as a matrix (biases as `1 × n`).
    pub fn tensor(&self, tensor: Tensor) -> RefMat {
        let (rows, cols) = self.layout.shape(tensor);
        RefMat { rows, cols, data: self.params[self.layout.range(tensor)].to_vec() }
    }

    /// Forward and backward over `x` (N, D) with `labels` (N).
    pub fn pass(&self, x: &RefMat, labels: &[u8]) -> Pass {
        let (w_h, b_h) = (self.tensor(Tensor::HiddenWeights), self.tensor(Tensor::HiddenBias));
        let (w_o, b_o) = (self.tensor(Tensor::OutputWeights), self.tensor(Tensor::OutputBias));
        let hidden = relu(&compute_layer(x, &w_h, &b_h.data));
        let logits = compute_layer(&hidden, &w_o, &b_o.data);
        let delta = grad_cross_entropy(&logits, labels);
        let mut grads = Vec::with_capacity(self.layout.total());
        grads.extend(grad_hidden_weights(x, &hidden, &delta, &w_o).data);
        grads.extend(grad_hidden_bias(&hidden, &delta, &w_o));
        grads.extend(grad_output_weights(&hidden, &delta).data);
        grads.extend(grad_output_bias(&delta));
        Pass { loss: cross_entropy(&logits, labels), accuracy: accuracy(&logits, labels), hidden, logits, delta, grads }
    }

    /// Mean loss only (for finite differences).
    pub fn loss(&self, x: &RefMat, labels: &[u8]) -> f64 {
        let hidden =
            relu(&compute_layer(x, &self.tensor(Tensor::HiddenWeights), &self.tensor(Tensor::HiddenBias).data));
        let logits = compute_layer(&hidden, &self.tensor(Tensor::OutputWeights), &self.tensor(Tensor::OutputBias).data);
        cross_entropy(&logits, labels)
    }

    /// One momentum step `v ← γ·v + α·∇L; θ ← θ − v`; returns the pass made
    /// before the update.
    pub fn step(&mut self, x: &RefMat, labels: &[u8], learning_rate: f64, momentum: f64) -> Pass {
        let pass = self.pass(x, labels);
        for ((w, v), g) in self.params.iter_mut().zip(&mut self.velocity).zip(&pass.grads) {
            *v = momentum * *v + learning_rate * g;
            *w -= *v;
        }
        pass
    }
}
