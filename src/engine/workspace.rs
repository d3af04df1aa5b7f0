//! The scratch [`Workspace`]: every activation and gradient buffer a batch
//! of up to `max_rows` rows needs, made once (a larger batch is refused,
//! never silently regrown), so that a training step allocates nothing.
//! Its fields are the network's to fill ([`Network`](super::Network) runs
//! the passes); it answers what the last forward pass left in them.

use crate::engine::layout::{Layout, Tensor};
use crate::engine::matrix::MatRef;
use crate::engine::metrics::Metrics;
use crate::engine::simd::SimdPath;
use crate::engine::{fused, passes};
use rayon::iter::ParallelExtend;

/// Every activation and gradient buffer of a batch of up to `max_rows` rows,
/// of which up to `max_train_rows` are training rows.
#[derive(Debug)]
pub struct Workspace {
    pub(super) layout: Layout,
    pub(super) simd: SimdPath,
    pub(super) max_rows: usize,
    pub(super) max_train_rows: usize,
    /// Rows of the last forward pass.
    pub(super) rows: usize,
    /// Leading rows of `logits` that the last forward pass made δ (its
    /// training rows); the rest of its rows hold probabilities.
    pub(super) delta_rows: usize,
    /// Leading rows of `hidden` that the backward pass turned into dZ.
    pub(super) dz_rows: usize,
    /// Z, then A = relu(Z + b_h), then dZ for the training rows.  (max_rows, H)
    pub(super) hidden: Vec<f32>,
    /// Logits, then δ (training rows) or p (other rows).  (max_rows, C)
    pub(super) logits: Vec<f32>,
    /// −log p_label per row.  (max_rows)
    pub(super) row_loss: Vec<f32>,
    /// The first class of highest probability per row.  (max_rows)
    pub(super) row_class: Vec<u8>,
    /// The labels of the last forward pass, for its accuracy.  (max_rows)
    pub(super) labels: Vec<u8>,
    /// ∂b_o column-sum chunk results.  (⌈max_train_rows / 256⌉, C)
    pub(super) partials: Vec<f64>,
    /// ∂b_h and ∂W_oᵀ chunk sums.  (⌈max_train_rows / 256⌉, 1 + C, H)
    pub(super) backward_sums: Vec<f32>,
    /// W_oᵀ, copied from the parameters before each forward pass.  (C, H)
    pub(super) w_o_t: Vec<f32>,
}

impl Workspace {
    /// Buffers for `max_rows` rows, `max_train_rows` of them trainable, with
    /// the fastest SIMD build of the passes.
    pub fn new(layout: Layout, max_rows: usize, max_train_rows: usize) -> Self {
        Self::with_simd(layout, max_rows, max_train_rows, SimdPath::best())
    }

    /// As [`new`](Self::new), with the given SIMD build.
    pub fn with_simd(layout: Layout, max_rows: usize, max_train_rows: usize, simd: SimdPath) -> Self {
        assert!(max_rows > 0 && max_train_rows <= max_rows, "workspace sizes");
        // Every buffer is written here, so its pages are mapped now and not
        // as page faults inside the first steps (a zeroed allocation would
        // only be mapped on first write). NaN also poisons them: a pass that
        // read a buffer before writing it would show up in every test.
        // Written by all threads: at large batches mapping the pages is
        // most of the cost (2 GB for 500,000 rows at H = 1000).
        let touched = |len: usize| {
            let mut buffer = Vec::with_capacity(len);
            buffer.par_extend(rayon::iter::repeat_n(f32::NAN, len));
            buffer
        };
        Workspace {
            layout,
            simd,
            max_rows,
            max_train_rows,
            rows: 0,
            delta_rows: 0,
            dz_rows: 0,
            hidden: touched(max_rows * layout.hidden),
            logits: touched(max_rows * layout.classes),
            row_loss: vec![0.0; max_rows],
            row_class: vec![0; max_rows],
            labels: vec![0; max_rows],
            partials: vec![0.0; passes::partials_len(max_train_rows.max(1), layout.classes)],
            backward_sums: vec![0.0; fused::partials_len(max_train_rows.max(1), layout.hidden, layout.classes)],
            w_o_t: vec![0.0; layout.hidden * layout.classes],
        }
    }

    /// The buffers the output-layer passes write for the first `n` rows
    /// (activations, per-row outputs, chunk sums), borrowed apart, and the
    /// output layer's weights: biases from `params`, W_oᵀ as the last
    /// forward GEMM copied it.
    pub(super) fn output_layer<'a>(
        &'a mut self,
        params: &'a [f32],
        n: usize,
    ) -> (fused::RowBuffers<'a>, fused::OutputWeights<'a>, &'a mut [f32]) {
        let l = self.layout;
        let weights = fused::OutputWeights {
            hidden_bias: &params[l.range(Tensor::HiddenBias)],
            transposed: &self.w_o_t,
            output_bias: &params[l.range(Tensor::OutputBias)],
        };
        let rows = fused::RowBuffers {
            hidden: &mut self.hidden[..n * l.hidden],
            logits: &mut self.logits[..n * l.classes],
            loss: &mut self.row_loss[..n],
            class: &mut self.row_class[..n],
        };
        (rows, weights, &mut self.backward_sums)
    }

    /// The most rows one pass may have.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// The build of the passes this workspace runs.
    pub fn simd(&self) -> SimdPath {
        self.simd
    }

    /// Bytes of every buffer the workspace holds.
    pub fn buffer_bytes(&self) -> u64 {
        let f32s =
            self.hidden.len() + self.logits.len() + self.row_loss.len() + self.backward_sums.len() + self.w_o_t.len();
        (f32s * 4 + self.row_class.len() + self.labels.len() + self.partials.len() * 8) as u64
    }

    /// Bytes a workspace of these sizes would hold, computed before making
    /// one (saturating, so a huge request reads as huge, never as small);
    /// equal to [`buffer_bytes`](Self::buffer_bytes) of the workspace made,
    /// which a test checks.
    pub fn bytes_for(hidden: usize, classes: usize, max_rows: usize, max_train_rows: usize) -> u64 {
        let (rows, train) = (max_rows as u64, max_train_rows as u64);
        let (h, c) = (hidden as u64, classes as u64);
        let chunks = train.max(1).div_ceil(passes::SUM_CHUNK_ROWS as u64);
        let sum_chunks = fused::max_sum_chunks(max_train_rows.max(1)) as u64;
        let f32s = [
            rows.saturating_mul(h),                             // hidden
            rows.saturating_mul(c),                             // logits
            rows,                                               // row_loss
            sum_chunks.saturating_mul(h).saturating_mul(c + 1), // backward_sums
            h.saturating_mul(c),                                // w_o_t
        ];
        let f32s = f32s.iter().fold(0u64, |sum, &n| sum.saturating_add(n));
        let f64s = chunks.saturating_mul(c); // partials
        // row_class and labels: a byte per row each.
        f32s.saturating_mul(4).saturating_add(rows.saturating_mul(2)).saturating_add(f64s.saturating_mul(8))
    }

    /// Mean loss and accuracy of `rows` of the last forward pass.
    pub fn metrics(&self, rows: std::ops::Range<usize>) -> Metrics {
        assert!(rows.end <= self.rows, "rows {rows:?} were not in the last forward pass of {}", self.rows);
        let count = rows.len();
        if count == 0 {
            return Metrics::default();
        }
        let loss: f64 = self.row_loss[rows.clone()].iter().map(|&l| f64::from(l)).sum();
        let correct = self.row_class[rows.clone()].iter().zip(&self.labels[rows]).filter(|(c, y)| c == y).count();
        Metrics { loss: loss / count as f64, accuracy: correct as f64 / count as f64, rows: count }
    }

    /// Each row's predicted class in the last forward pass: the first class
    /// of highest probability.  (N)
    pub fn predicted_classes(&self) -> &[u8] {
        &self.row_class[..self.rows]
    }

    /// The logits buffer of the last forward pass: δ for training rows,
    /// probabilities for the rest.  (N, C)
    pub fn outputs(&self) -> MatRef<'_> {
        MatRef::from_slice(&self.logits[..self.rows * self.layout.classes], self.rows, self.layout.classes)
    }

    /// Hidden activations A of the last forward pass  (N, H); after a
    /// backward pass or a step, its first T (training) rows hold dZ instead.
    pub fn hidden(&self) -> MatRef<'_> {
        MatRef::from_slice(&self.hidden[..self.rows * self.layout.hidden], self.rows, self.layout.hidden)
    }
}
