//! The network and its training step.
//!
//! A [`Network`] owns three flat buffers laid out by one [`Layout`]:
//! parameters, gradients and velocity. Its passes run in a [`Workspace`]
//! (in `workspace.rs`) made once for the largest batch, so
//! [`Network::step`] (forward, loss, backward, momentum update) makes no
//! heap allocation of its own; the only allocations during a step are the
//! packing buffers that each `matrixmultiply::sgemm` call makes. What a
//! pass measures is in `metrics.rs`, the phases a step is timed by in
//! `phase.rs`.
//!
//! Dimension letters: N rows in the batch (T of them training rows), D
//! inputs, H hidden units, C classes.

use crate::engine::layout::{Layout, Tensor};
use crate::engine::matrix::{MatMut, MatRef, gemm_par_tasks, gemm_rows_then};
use crate::engine::phase::{Tasks, timed};
use crate::engine::rng::Rng;
use crate::engine::simd::SimdPath;
use crate::engine::{fused, passes};
use crate::error::{Error, ErrorKind, Result};

// Re-exported so that the paths under `engine::network` stay as they were.
#[doc(no_inline)]
pub use crate::engine::metrics::{Metrics, Prediction};
#[doc(no_inline)]
pub use crate::engine::phase::{Phase, PhaseClock, PhaseTimes};
#[doc(no_inline)]
pub use crate::engine::workspace::Workspace;

/// The update rule of a step: gradient descent with momentum,
/// `v ← γ·v + α·∇L; W ← W − v`, with its learning rate α and momentum γ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumSgd {
    /// Learning rate α.
    pub learning_rate: f32,
    /// Momentum γ, in [0, 1).
    pub momentum: f32,
}

impl Default for MomentumSgd {
    /// The assignment's α = 0.1, γ = 0.9.
    fn default() -> Self {
        MomentumSgd { learning_rate: 0.1, momentum: 0.9 }
    }
}

/// Steps of at most this many training rows fold the momentum of W_h into
/// the ∂W_h GEMM (`v ← γ·v + α·Xᵀ·dZ` as one sgemm with β = γ, split by
/// rows, each block then applying `W_h ← W_h − v` in its own task), which
/// saves a write and a read of the gradient. Measured at batch 32: +6–15%
/// samples/s. At batch 128 folding measured within noise of not folding
/// (the split by rows packs dZ, `T × H`, once per thread: cheap while T is
/// small), so larger batches keep the plain GEMM.
pub const FOLD_MAX_ROWS: usize = 64;

/// The assignment's initial velocity for every parameter.
pub const DEFAULT_VELOCITY_INIT: f32 = 1e-5;

/// Rows per forward pass of [`Network::predict`] and
/// [`Network::predict_proba`]: bounds their workspace whatever the number
/// of rows (4 MB of activations at H = 1000).
const PREDICT_CHUNK_ROWS: usize = 1024;

/// Parameters, gradients and velocity of a `D → H → C` network, each one
/// flat buffer in the [`Layout`]'s order.
#[derive(Clone, Debug)]
pub struct Network {
    layout: Layout,
    params: Vec<f32>,
    grads: Vec<f32>,
    velocity: Vec<f32>,
}

impl Network {
    /// Xavier-normal weights (zero mean, variance 2/(fan_in + fan_out)) drawn
    /// from `seed`, W_h first, then W_o, each row-major; biases 0; every
    /// velocity entry `velocity_init`.
    pub fn new(layout: Layout, seed: u64, velocity_init: f32) -> Self {
        let mut rng = Rng::new(seed);
        let mut params = vec![0.0f32; layout.total()];
        for tensor in [Tensor::HiddenWeights, Tensor::OutputWeights] {
            let (fan_in, fan_out) = layout.shape(tensor);
            let std = (2.0 / (fan_in + fan_out) as f64).sqrt();
            for w in &mut params[layout.range(tensor)] {
                *w = (rng.normal() * std) as f32;
            }
        }
        Self::from_params(layout, params, velocity_init)
    }

    /// A network with the given parameters (in the layout's order).
    ///
    /// # Panics
    /// If `params` does not have `layout.total()` elements.
    pub fn from_params(layout: Layout, params: Vec<f32>, velocity_init: f32) -> Self {
        assert_eq!(params.len(), layout.total(), "parameter buffer does not match the layout");
        let n = params.len();
        Network { layout, params, grads: vec![0.0; n], velocity: vec![velocity_init; n] }
    }

    /// The size/offset table of the three buffers.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// All parameters, in the layout's order.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Mutable parameters, e.g. to load a saved model.
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// The gradients of the last [`backward`](Self::backward), or of the
    /// last step (before its update was applied) — except the W_h part after
    /// a step of at most 64 training rows, which folds that gradient
    /// straight into the velocity (compare velocity and parameters there).
    /// After a step that [`step_inspected`](Self::step_inspected) ended
    /// early, only the ∂b_h and ∂W_o parts are that step's; ∂W_h and ∂b_o
    /// are still the previous step's.
    pub fn grads(&self) -> &[f32] {
        &self.grads
    }

    /// The velocity buffer, in the layout's order.
    pub fn velocity(&self) -> &[f32] {
        &self.velocity
    }

    /// Mutable velocity, e.g. to continue a run from a checkpoint.
    pub fn velocity_mut(&mut self) -> &mut [f32] {
        &mut self.velocity
    }

    /// One parameter tensor.
    pub fn tensor(&self, tensor: Tensor) -> MatRef<'_> {
        self.layout.view(&self.params, tensor)
    }

    /// Forward pass over the rows of `x` into `ws`: per-row losses and
    /// predicted classes for all rows, and `δ = (p − y)/T` in place of the
    /// logits for the first `train_rows` rows (no gradients when 0); the
    /// other rows' logits become their probabilities. The workspace records
    /// what the pass did, which [`backward`](Self::backward) checks.
    ///
    /// # Panics
    /// If `x` does not have the network's inputs per row, `labels` is not
    /// one label below C per row, `x` has more rows than the workspace
    /// holds, `train_rows` exceeds the rows or the workspace's training
    /// rows, or the workspace was made for another layout.
    pub fn forward(&self, ws: &mut Workspace, x: MatRef<'_>, labels: &[u8], train_rows: usize) {
        self.hidden_gemm(ws, x, labels, train_rows, &mut ());
        let (path, n) = (ws.simd, x.rows());
        let shape = fused::Shape { rows: n, train_rows, hidden: self.layout.hidden, classes: self.layout.classes };
        let (rows, weights, _) = ws.output_layer(&self.params, n);
        fused::forward_output(path, shape, rows, &weights, labels);
        ws.delta_rows = train_rows;
    }

    /// Each row's class: the first class of highest probability, the argmax
    /// of [`predict_proba`](Self::predict_proba). `images` holds the rows
    /// one after another, `D` values each, as a [`Split`](crate::Split) or
    /// [`Dataset`](crate::Dataset) holds them; any number of rows is
    /// measured in chunks of 1,024, so the memory used beyond the answer
    /// does not grow with the rows.
    ///
    /// A network whose parameters are not finite (after a diverged run)
    /// gives NaN probabilities, and class 0 for every row.
    ///
    /// # Errors
    /// [`ErrorKind::BadShape`] if `images` is not whole rows of `D` values;
    /// [`ErrorKind::NonFinite`] if a value is NaN or infinite.
    pub fn predict(&self, images: &[f32]) -> Result<Vec<u8>> {
        let mut classes = Vec::new();
        self.predict_chunks(images, 1, &mut classes, |ws, n, out| out.extend_from_slice(&ws.row_class[..n]))?;
        Ok(classes)
    }

    /// Each row's probabilities of the C classes, row-major `(N, C)`: the
    /// softmax of its logits, as the training pass computes them. Rows are
    /// given and measured as by [`predict`](Self::predict).
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn predict_proba(&self, images: &[f32]) -> Result<Vec<f32>> {
        let mut probabilities = Vec::new();
        let c = self.layout.classes;
        self.predict_chunks(images, c, &mut probabilities, |ws, n, out| {
            // With no training rows, each row's logits became its probabilities.
            out.extend_from_slice(&ws.logits[..n * c]);
        })?;
        Ok(probabilities)
    }

    /// Checks `images`, reserves `per_row` outputs per row in `out`, then
    /// runs forward over the rows in chunks, letting `take` append each
    /// chunk's outputs from the workspace.
    fn predict_chunks<T>(
        &self,
        images: &[f32],
        per_row: usize,
        out: &mut Vec<T>,
        mut take: impl FnMut(&Workspace, usize, &mut Vec<T>),
    ) -> Result<()> {
        let d = self.layout.inputs;
        if !images.len().is_multiple_of(d) {
            return Err(Error::new(
                ErrorKind::BadShape,
                format!("{} image values are not whole rows of the network's {d} inputs", images.len()),
            )
            .fix(format!("pass the rows one after another, {d} values each, as a `Split` holds them")));
        }
        let rows = images.len() / d;
        if let Some(at) = images.iter().position(|v| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("row {} holds {} at column {}", at / d, images[at], at % d),
            )
            .fix("pass finite image values"));
        }
        out.try_reserve_exact(rows.saturating_mul(per_row)).map_err(|_| {
            Error::new(ErrorKind::TooLarge, format!("the answers for {rows} rows do not fit in memory"))
                .fix("predict fewer rows at a time")
        })?;
        if rows == 0 {
            return Ok(());
        }
        let chunk = rows.min(PREDICT_CHUNK_ROWS);
        let mut ws = Workspace::new(self.layout, chunk, 0);
        // The pass computes each row's loss against a label; a prediction
        // needs none, so every row gets class 0 and its loss is not read.
        let labels = vec![0u8; chunk];
        for x in images.chunks(chunk * d) {
            let n = x.len() / d;
            self.forward(&mut ws, MatRef::from_slice(x, n, d), &labels[..n], 0);
            take(&ws, n, out);
        }
        Ok(())
    }

    /// Checks a batch against the network and the workspace, then writes
    /// `Z = X·W_h`  (N, H), the one GEMM of the forward pass.
    fn hidden_gemm<C: PhaseClock>(
        &self,
        ws: &mut Workspace,
        x: MatRef<'_>,
        labels: &[u8],
        train_rows: usize,
        clock: &mut C,
    ) {
        let l = self.layout;
        let n = x.rows();
        assert_eq!(x.cols(), l.inputs, "input rows have {} features, the network takes {}", x.cols(), l.inputs);
        assert_eq!(labels.len(), n, "{} labels for {n} rows", labels.len());
        assert!(n <= ws.max_rows, "batch of {n} rows exceeds the workspace's {}", ws.max_rows);
        assert!(train_rows <= n.min(ws.max_train_rows), "{train_rows} training rows do not fit");
        assert_eq!((ws.layout.hidden, ws.layout.classes), (l.hidden, l.classes), "workspace made for another network");
        // Recorded before the buffers change: a pass that panics half-way
        // leaves a workspace that backward refuses.
        ws.rows = n;
        ws.delta_rows = 0;
        ws.dz_rows = 0;
        ws.labels[..n].copy_from_slice(labels);
        let hidden = &mut ws.hidden[..n * l.hidden];
        timed(clock, Phase::HiddenGemm, |tasks| {
            let z = MatMut::from_slice(hidden, n, l.hidden);
            gemm_par_tasks(1.0, x, self.tensor(Tensor::HiddenWeights), 0.0, z, tasks);
        });
        // W_oᵀ, the layout the fused passes read (10,000 values at the
        // course's size: microseconds).
        let (w_o, w_o_t) = (&self.params[l.range(Tensor::OutputWeights)], &mut ws.w_o_t);
        timed(clock, Phase::OutputLayer, |_| fused::transpose_output_weights(w_o, l.hidden, l.classes, w_o_t));
    }

    /// Gradients of the mean loss over the `T` training rows of the last
    /// [`forward`](Self::forward) (made with `train_rows = T`), written into
    /// the gradient buffer. `x` holds those `T` rows (the first `T` rows of
    /// that pass). The activations of those rows become dZ in the workspace
    /// (see [`Workspace::hidden`]).
    ///
    /// # Panics
    /// With a message naming the misuse, when the workspace does not hold
    /// what this backward pass needs: its last forward pass had no training
    /// rows (its logits hold probabilities, not δ), `x` has another number
    /// of rows than that pass's training rows, or inputs per row other than
    /// the network's, the activations are already dZ (a second backward, or
    /// backward after a step), or the workspace belongs to another layout.
    /// The forward pass must have been made with this network's parameters,
    /// which is not checked.
    pub fn backward(&mut self, ws: &mut Workspace, x: MatRef<'_>) {
        let l = self.layout;
        let t = x.rows();
        assert_eq!(ws.layout, l, "backward with a workspace made for another network");
        assert_eq!(x.cols(), l.inputs, "backward over rows of {} features; the network takes {}", x.cols(), l.inputs);
        assert_eq!(ws.dz_rows, 0, "backward after backward or a step: the activations are already dZ");
        assert!(
            ws.delta_rows > 0,
            "backward after a forward pass with no training rows: its logits hold probabilities, not δ; \
             run forward with train_rows > 0 first"
        );
        assert_eq!(
            t, ws.delta_rows,
            "backward over {t} rows after a forward pass with {} training rows: pass exactly those rows",
            ws.delta_rows
        );
        let path = ws.simd;
        let [_, g_b_h, g_w_o, _] = l.split_mut(&mut self.grads);
        let hidden = &mut ws.hidden[..t * l.hidden];
        let delta = &ws.logits[..t * l.classes];
        let (w_o_t, partials) = (&ws.w_o_t, &mut ws.backward_sums[..]);
        // dZ = (δ·W_oᵀ) ⊙ 1[A > 0] over A  (T, H);  ∂L/∂b_h = Σ_rows dZ  (H);
        // ∂L/∂W_o = Aᵀ·δ  (H, C): one sweep over the rows (see engine::fused).
        let shape = fused::Shape { rows: t, train_rows: t, hidden: l.hidden, classes: l.classes };
        let grads = fused::OutputGrads { hidden_bias: g_b_h, output_weights: g_w_o, partials };
        fused::backward_hidden(path, shape, hidden, delta, w_o_t, grads);
        ws.dz_rows = t;
        self.weight_grads(ws, x, &mut (), None);
    }

    /// After the output layer's backward pass over the `T` rows of `x`:
    /// ∂L/∂b_o = Σ_rows δ, and ∂L/∂W_h = Xᵀ·dZ  (D, H) — or, with `fold`,
    /// `v_W_h ← γ·v_W_h + α·Xᵀ·dZ` straight into the velocity instead, each
    /// block of it then applied, `W_h ← W_h − v_W_h` (the gradient buffer's
    /// W_h part is then not written, and W_h is already updated).
    fn weight_grads<C: PhaseClock>(
        &mut self,
        ws: &mut Workspace,
        x: MatRef<'_>,
        clock: &mut C,
        fold: Option<MomentumSgd>,
    ) {
        let l = self.layout;
        let t = x.rows();
        let path = ws.simd;
        let [g_w_h, _, _, g_b_o] = l.split_mut(&mut self.grads);
        let delta = &ws.logits[..t * l.classes];
        let partials = &mut ws.partials;
        timed(clock, Phase::OutputBiasGrad, |tasks| passes::column_sums_tasks(path, delta, g_b_o, partials, tasks));
        let dz = MatRef::from_slice(&ws.hidden[..t * l.hidden], t, l.hidden);
        let v_w_h = &mut self.velocity[l.range(Tensor::HiddenWeights)];
        timed(clock, Phase::HiddenWeightGrad, |tasks| match fold {
            None => gemm_par_tasks(1.0, x.t(), dz, 0.0, MatMut::from_slice(g_w_h, l.inputs, l.hidden), tasks),
            Some(h) => {
                // Each block of v goes on to `W_h ← W_h − v` in the same
                // task, still warm: no second pass over the threads.
                let w_h = &mut self.params[l.range(Tensor::HiddenWeights)];
                let both = (tasks, tasks.in_phase(Phase::Update));
                let apply = |v: &mut [f32], w: &mut [f32]| passes::apply_velocity_chunk(path, w, v);
                gemm_rows_then(h.learning_rate, x.t(), dz, h.momentum, (v_w_h, w_h), both, apply)
            }
        });
    }

    /// `v ← γ·v + α·g; W ← W − v` over the whole flat buffers.
    pub fn update(&mut self, path: SimdPath, optimizer: MomentumSgd) {
        self.update_tasks(path, optimizer, Tasks::NONE);
    }

    fn update_tasks<C: PhaseClock>(&mut self, path: SimdPath, optimizer: MomentumSgd, tasks: Tasks<'_, C>) {
        let (lr, momentum) = (optimizer.learning_rate, optimizer.momentum);
        passes::momentum_update_tasks(path, &mut self.params, &mut self.velocity, &self.grads, lr, momentum, tasks);
    }

    /// One full training step on the first `train_rows` rows of `x`: forward
    /// over all rows of `x` (the rest are measured, e.g. validation and
    /// test), backward over the training rows, momentum update. Up to 64
    /// training rows, W_h's momentum is folded into its gradient GEMM (see
    /// [`grads`](Self::grads)).
    ///
    /// The metrics of every row, taken with the parameters before the
    /// update, are then in `ws` (see [`Workspace::metrics`]).
    pub fn step(
        &mut self,
        ws: &mut Workspace,
        x: MatRef<'_>,
        labels: &[u8],
        train_rows: usize,
        optimizer: MomentumSgd,
    ) {
        self.step_timed(ws, x, labels, train_rows, optimizer, &mut ());
    }

    /// [`step`](Self::step), reporting each phase's time to `clock`.
    pub fn step_timed<C: PhaseClock>(
        &mut self,
        ws: &mut Workspace,
        x: MatRef<'_>,
        labels: &[u8],
        train_rows: usize,
        optimizer: MomentumSgd,
        clock: &mut C,
    ) {
        self.step_timed_inspected(ws, x, labels, train_rows, optimizer, clock, |_, _| true);
    }

    /// [`step`](Self::step) that shows the batch's metrics before anything
    /// is updated: `inspect` sees the network (parameters as they were for
    /// the forward pass) and the workspace (its [`metrics`](Workspace::metrics))
    /// as soon as the output layer is done, and returning false ends the step
    /// there, with parameters and velocity untouched (a training loop stops
    /// a diverging run this way). Returns what `inspect` returned.
    pub fn step_inspected(
        &mut self,
        ws: &mut Workspace,
        x: MatRef<'_>,
        labels: &[u8],
        train_rows: usize,
        optimizer: MomentumSgd,
        inspect: impl FnOnce(&Network, &Workspace) -> bool,
    ) -> bool {
        self.step_timed_inspected(ws, x, labels, train_rows, optimizer, &mut (), inspect)
    }

    #[allow(clippy::too_many_arguments)]
    fn step_timed_inspected<C: PhaseClock>(
        &mut self,
        ws: &mut Workspace,
        x: MatRef<'_>,
        labels: &[u8],
        train_rows: usize,
        optimizer: MomentumSgd,
        clock: &mut C,
        inspect: impl FnOnce(&Network, &Workspace) -> bool,
    ) -> bool {
        assert!(train_rows > 0, "a step needs at least one training row");
        self.hidden_gemm(ws, x, labels, train_rows, clock);
        // The output layer forward over all rows and back over the training
        // rows in one sweep (see engine::fused::output_layer_step): the same bits
        // as forward() then backward().
        let l = self.layout;
        let (path, n) = (ws.simd, x.rows());
        let [_, g_b_h, g_w_o, _] = l.split_mut(&mut self.grads);
        let shape = fused::Shape { rows: n, train_rows, hidden: l.hidden, classes: l.classes };
        let (rows, weights, partials) = ws.output_layer(&self.params, n);
        let grads = fused::OutputGrads { hidden_bias: g_b_h, output_weights: g_w_o, partials };
        timed(clock, Phase::OutputLayer, |tasks| {
            fused::output_layer_step_tasks(path, shape, rows, &weights, labels, grads, tasks);
        });
        ws.delta_rows = train_rows;
        ws.dz_rows = train_rows;
        if !inspect(self, ws) {
            return false;
        }
        let fold = (train_rows <= FOLD_MAX_ROWS).then_some(optimizer);
        self.weight_grads(ws, x.row_range(0, train_rows), clock, fold);
        timed(clock, Phase::Update, |tasks| match fold {
            Some(_) => self.update_after_fold(ws.simd, optimizer, tasks),
            None => self.update_tasks(ws.simd, optimizer, tasks),
        });
        true
    }

    /// The update after a backward pass that folded W_h's momentum into its
    /// GEMM and applied it (`W_h ← W_h − v_W_h`): the usual update of the
    /// other tensors.
    fn update_after_fold<C: PhaseClock>(&mut self, path: SimdPath, optimizer: MomentumSgd, tasks: Tasks<'_, C>) {
        let split = self.layout.range(Tensor::HiddenWeights).end;
        let rest = &mut self.params[split..];
        let v_rest = &mut self.velocity[split..];
        let (lr, momentum) = (optimizer.learning_rate, optimizer.momentum);
        passes::momentum_update_tasks(path, rest, v_rest, &self.grads[split..], lr, momentum, tasks);
    }

    /// Bytes of the three flat buffers (parameters, gradients, velocity).
    pub fn buffer_bytes(&self) -> u64 {
        let l = self.layout;
        Self::bytes_for(l.inputs, l.hidden, l.classes)
    }

    /// Bytes of the three buffers (parameters, gradients, velocity) of a
    /// `inputs → hidden → classes` network, before making one; saturating,
    /// so that a huge request reads as huge.
    pub fn bytes_for(inputs: usize, hidden: usize, classes: usize) -> u64 {
        let (d, h, c) = (inputs as u64, hidden as u64, classes as u64);
        let params = d.saturating_add(1).saturating_mul(h).saturating_add(h.saturating_add(1).saturating_mul(c));
        params.saturating_mul(3 * 4)
    }

    /// Loss and accuracy over all rows of `x`, in workspace-sized chunks;
    /// with `predictions`, also each row's [`Prediction`].
    pub fn evaluate(
        &self,
        ws: &mut Workspace,
        x: MatRef<'_>,
        labels: &[u8],
        mut predictions: Option<&mut [Prediction]>,
    ) -> Metrics {
        if let Some(out) = predictions.as_deref() {
            assert_eq!(out.len(), x.rows(), "prediction buffer length");
        }
        let c = self.layout.classes;
        let mut total = Metrics::default();
        let mut start = 0;
        while start < x.rows() {
            let count = ws.max_rows.min(x.rows() - start);
            self.forward(ws, x.row_range(start, count), &labels[start..start + count], 0);
            total = total.merge(ws.metrics(0..count));
            if let Some(out) = predictions.as_deref_mut() {
                // With no training rows the forward pass leaves each row's
                // probabilities where its logits were.
                let rows = ws.logits.chunks_exact(c).zip(&ws.row_class);
                for (o, (p, &class)) in out[start..start + count].iter_mut().zip(rows) {
                    *o = Prediction { class, probability: p[usize::from(class)] };
                }
            }
            start += count;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_agree_with_the_accuracy_when_probabilities_tie() {
        // W_o = 0, so every row's logits are b_o: classes 0 and 1 a single
        // ulp apart, class 1 the larger. Their probabilities round equal,
        // so the class is the first maximum of p, class 0, for every row;
        // the accuracy counts exactly the rows labelled 0, and predict is
        // the argmax of predict_proba.
        let layout = Layout::new(3, 2, 4);
        let mut net = Network::new(layout, 1, 0.0);
        let params = net.params_mut();
        params[layout.range(Tensor::OutputWeights)].fill(0.0);
        params[layout.range(Tensor::OutputBias)].copy_from_slice(&[0.1, 0.1f32.next_up(), -3.0, -3.0]);
        let x = vec![0.5f32; 3 * 3];
        let labels = [1u8, 0, 2];
        let mut ws = Workspace::new(layout, 3, 0);
        let mut predictions = [Prediction::default(); 3];
        let metrics = net.evaluate(&mut ws, MatRef::from_slice(&x, 3, 3), &labels, Some(&mut predictions));
        let p = ws.outputs();
        assert_eq!(p.at(0, 0), p.at(0, 1), "the test needs probabilities that tie");
        assert_eq!(predictions.map(|q| q.class), [0, 0, 0]);
        assert_eq!(ws.predicted_classes(), [0, 0, 0]);
        assert_eq!(metrics.accuracy, 1.0 / 3.0);
        assert!(predictions.iter().all(|q| q.probability == p.at(0, 0)));
        assert_eq!(net.predict(&x).unwrap(), [0, 0, 0]);
        let proba = net.predict_proba(&x).unwrap();
        assert_eq!(&proba[..4], &[p.at(0, 0), p.at(0, 1), p.at(0, 2), p.at(0, 3)]);
    }

    /// A small trained-looking network and `rows` rows of inputs for it.
    fn network_and_rows(rows: usize) -> (Network, Vec<f32>, Vec<u8>) {
        let layout = Layout::new(20, 9, 10);
        let net = Network::new(layout, 3, 0.0);
        let mut rng = Rng::new(8);
        let x = (0..rows * 20).map(|_| rng.normal() as f32).collect();
        let y = (0..rows).map(|i| (i * 7 % 10) as u8).collect();
        (net, x, y)
    }

    #[test]
    fn predict_is_the_argmax_of_predict_proba_over_many_chunks() {
        // 2,500 rows: two whole chunks of 1,024 and a part one.
        let rows = 2 * PREDICT_CHUNK_ROWS + 452;
        let (net, x, y) = network_and_rows(rows);
        let classes = net.predict(&x).unwrap();
        let proba = net.predict_proba(&x).unwrap();
        assert_eq!((classes.len(), proba.len()), (rows, rows * 10));
        for (i, (p, &class)) in proba.chunks_exact(10).zip(&classes).enumerate() {
            let first_max = (0..10).fold(0, |best, j| if p[j] > p[best] { j } else { best });
            assert_eq!(usize::from(class), first_max, "row {i}");
            // Ten probabilities of a softmax: each in [0, 1], their f32 sum
            // within 10 roundings of 1.
            assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "row {i}");
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "row {i}");
        }
        // The same as one forward pass over all rows, and as many right as
        // its accuracy says.
        let mut ws = Workspace::new(net.layout(), rows, 0);
        let mut predictions = vec![Prediction::default(); rows];
        let metrics = net.evaluate(&mut ws, MatRef::from_slice(&x, rows, 20), &y, Some(&mut predictions));
        assert_eq!(predictions.iter().map(|p| p.class).collect::<Vec<_>>(), classes);
        let out = ws.outputs();
        let again: Vec<u32> = (0..rows * 10).map(|k| out.at(k / 10, k % 10).to_bits()).collect();
        assert_eq!(again, proba.iter().map(|p| p.to_bits()).collect::<Vec<_>>());
        let right = classes.iter().zip(&y).filter(|(c, y)| c == y).count();
        assert_eq!(right as f64 / rows as f64, metrics.accuracy);
        assert!(classes.iter().any(|&c| c != classes[0]), "the rows must not all get one class");
    }

    #[test]
    fn predict_refuses_bad_images_and_takes_no_rows() {
        let (net, mut x, _) = network_and_rows(3);
        assert_eq!(net.predict(&x[..59]).unwrap_err().kind(), ErrorKind::BadShape);
        assert_eq!(net.predict_proba(&x[..21]).unwrap_err().kind(), ErrorKind::BadShape);
        x[45] = f32::NAN;
        let error = net.predict(&x).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NonFinite);
        assert!(error.message().contains("row 2"), "{error}");
        x[45] = f32::INFINITY;
        assert_eq!(net.predict_proba(&x).unwrap_err().kind(), ErrorKind::NonFinite);
        assert_eq!(net.predict(&[]).unwrap(), Vec::<u8>::new());
        assert_eq!(net.predict_proba(&[]).unwrap(), Vec::<f32>::new());
    }

    /// The panic message of `f`.
    fn panic_message(f: impl FnOnce()) -> String {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("no panic");
        // A message without arguments panics with a &str, others with a String.
        let text = payload.downcast_ref::<&str>().map(|s| s.to_string());
        text.or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default()
    }

    #[test]
    fn backward_refuses_what_the_forward_pass_did_not_make() {
        let (mut net, x, y) = network_and_rows(12);
        let mut ws = Workspace::new(net.layout(), 12, 12);
        let all = MatRef::from_slice(&x, 12, 20);
        // No training rows: the logits hold probabilities, not δ.
        net.forward(&mut ws, all, &y, 0);
        let message = panic_message(|| net.backward(&mut ws, all.row_range(0, 4)));
        assert!(message.contains("no training rows"), "{message}");
        // Other rows than the pass's training rows, fewer or more.
        for rows in [3, 5, 12] {
            net.forward(&mut ws, all, &y, 4);
            let message = panic_message(|| net.backward(&mut ws, all.row_range(0, rows)));
            assert!(message.contains(&format!("backward over {rows} rows")), "{message}");
        }
        // Backward twice, or after a step: the activations are already dZ.
        net.forward(&mut ws, all, &y, 4);
        net.backward(&mut ws, all.row_range(0, 4));
        let message = panic_message(|| net.backward(&mut ws, all.row_range(0, 4)));
        assert!(message.contains("already dZ"), "{message}");
        net.step(&mut ws, all, &y, 4, MomentumSgd::default());
        let message = panic_message(|| net.backward(&mut ws, all.row_range(0, 4)));
        assert!(message.contains("already dZ"), "{message}");
        // Another network's workspace.
        let mut other = Network::new(Layout::new(20, 8, 10), 1, 0.0);
        net.forward(&mut ws, all, &y, 4);
        let message = panic_message(|| other.backward(&mut ws, all.row_range(0, 4)));
        assert!(message.contains("another network"), "{message}");
    }

    #[test]
    fn backward_after_a_matching_forward_pass_is_the_steps_gradient() {
        // The accepted call gives the gradients a step computes, to the bit.
        // A step of 7 rows folds ∂W_h into the velocity, so the parts it
        // leaves in the gradient buffer are compared: ∂b_h, ∂W_o, ∂b_o.
        let (net, x, y) = network_and_rows(12);
        let all = MatRef::from_slice(&x, 12, 20);
        let (mut a, mut b) = (net.clone(), net);
        let mut ws = Workspace::new(a.layout(), 12, 12);
        a.forward(&mut ws, all, &y, 7);
        a.backward(&mut ws, all.row_range(0, 7));
        b.step(&mut ws, all, &y, 7, MomentumSgd::default());
        let l = a.layout();
        for tensor in [Tensor::HiddenBias, Tensor::OutputWeights, Tensor::OutputBias] {
            assert_eq!(&a.grads()[l.range(tensor)], &b.grads()[l.range(tensor)], "{}", tensor.name());
        }
        assert!(a.grads()[l.range(Tensor::OutputBias)].iter().any(|&g| g != 0.0));
    }

    #[test]
    fn workspace_bytes_are_known_before_it_is_made() {
        for (d, h, c, rows, train) in
            [(784, 1000, 10, 300, 256), (5, 7, 3, 1, 1), (33, 65, 17, 600, 513), (2, 3, 1, 9, 0)]
        {
            let ws = Workspace::new(Layout::new(d, h, c), rows, train);
            assert_eq!(ws.buffer_bytes(), Workspace::bytes_for(h, c, rows, train), "{d}x{h}x{c}, {rows}/{train}");
        }
        let net = Network::new(Layout::new(7, 5, 3), 1, 0.0);
        assert_eq!(net.buffer_bytes(), Network::bytes_for(7, 5, 3));
        // Requests beyond any machine read as huge, never wrap to small.
        assert_eq!(Workspace::bytes_for(usize::MAX, 10, usize::MAX, usize::MAX), u64::MAX);
        assert_eq!(Network::bytes_for(784, usize::MAX, 10), u64::MAX);
    }
}
