//! The parameter layout: one size/offset table for W_h, b_h, W_o, b_o.
//!
//! Parameters, gradients and velocity are each one contiguous `Vec<f32>`
//! laid out by the same [`Layout`], so the momentum update is one pass over
//! one slice and every tensor is a view by offset.
//!
//! ```text
//! offset 0                     W_h  (D, H)   row-major
//! offset D·H                   b_h  (H)
//! offset D·H + H               W_o  (H, C)   row-major
//! offset D·H + H + H·C         b_o  (C)
//! total  D·H + H + H·C + C
//! ```

use crate::engine::matrix::{MatMut, MatRef};

/// The four parameter tensors, in storage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tensor {
    /// Hidden-layer weights, `(D, H)`.
    HiddenWeights,
    /// Hidden-layer bias, `(H)`.
    HiddenBias,
    /// Output-layer weights, `(H, C)`.
    OutputWeights,
    /// Output-layer bias, `(C)`.
    OutputBias,
}

impl Tensor {
    /// The four tensors in buffer order.
    pub const ALL: [Tensor; 4] = [Tensor::HiddenWeights, Tensor::HiddenBias, Tensor::OutputWeights, Tensor::OutputBias];

    /// The name used in saved models and messages (`W_h`, `b_h`, `W_o`, `b_o`).
    pub fn name(self) -> &'static str {
        match self {
            Tensor::HiddenWeights => "W_h",
            Tensor::HiddenBias => "b_h",
            Tensor::OutputWeights => "W_o",
            Tensor::OutputBias => "b_o",
        }
    }
}

/// Sizes of the network `D → H (ReLU) → C (softmax)` and where each tensor
/// sits in a flat buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// D: inputs per row (784 for 28×28 images).
    pub inputs: usize,
    /// H: hidden units.
    pub hidden: usize,
    /// C: classes (10 for the letters A–J).
    pub classes: usize,
}

impl Layout {
    /// # Panics
    /// If a size is zero or the total overflows.
    pub fn new(inputs: usize, hidden: usize, classes: usize) -> Self {
        assert!(inputs > 0 && hidden > 0 && classes > 0, "network sizes must be positive");
        let layout = Layout { inputs, hidden, classes };
        let total = inputs
            .checked_mul(hidden)
            .and_then(|w| w.checked_add(hidden))
            .and_then(|n| hidden.checked_mul(classes).and_then(|w| n.checked_add(w)))
            .and_then(|n| n.checked_add(classes));
        assert!(total.is_some(), "network of {inputs}x{hidden}x{classes} is too large");
        layout
    }

    /// `(rows, cols)` of a tensor; biases are `(1, n)`.
    pub fn shape(&self, tensor: Tensor) -> (usize, usize) {
        match tensor {
            Tensor::HiddenWeights => (self.inputs, self.hidden),
            Tensor::HiddenBias => (1, self.hidden),
            Tensor::OutputWeights => (self.hidden, self.classes),
            Tensor::OutputBias => (1, self.classes),
        }
    }

    /// Number of elements of a tensor.
    pub fn len(&self, tensor: Tensor) -> usize {
        let (r, c) = self.shape(tensor);
        r * c
    }

    /// Offset of a tensor's first element in the flat buffer.
    pub fn offset(&self, tensor: Tensor) -> usize {
        Tensor::ALL.iter().take_while(|&&t| t != tensor).map(|&t| self.len(t)).sum()
    }

    /// `offset..offset + len` of a tensor.
    pub fn range(&self, tensor: Tensor) -> std::ops::Range<usize> {
        let start = self.offset(tensor);
        start..start + self.len(tensor)
    }

    /// Total number of parameters.
    pub fn total(&self) -> usize {
        Tensor::ALL.iter().map(|&t| self.len(t)).sum()
    }

    /// A tensor of `buffer` as a read view.
    pub fn view<'a>(&self, buffer: &'a [f32], tensor: Tensor) -> MatRef<'a> {
        assert_eq!(buffer.len(), self.total(), "buffer does not match the layout");
        let (rows, cols) = self.shape(tensor);
        MatRef::from_slice(&buffer[self.range(tensor)], rows, cols)
    }

    /// A tensor of `buffer` as a write view.
    pub fn view_mut<'a>(&self, buffer: &'a mut [f32], tensor: Tensor) -> MatMut<'a> {
        assert_eq!(buffer.len(), self.total(), "buffer does not match the layout");
        let (rows, cols) = self.shape(tensor);
        MatMut::from_slice(&mut buffer[self.range(tensor)], rows, cols)
    }

    /// The four tensors of `buffer` as disjoint mutable slices, in
    /// [`Tensor::ALL`] order.
    pub fn split_mut<'a>(&self, buffer: &'a mut [f32]) -> [&'a mut [f32]; 4] {
        assert_eq!(buffer.len(), self.total(), "buffer does not match the layout");
        let (w_h, rest) = buffer.split_at_mut(self.len(Tensor::HiddenWeights));
        let (b_h, rest) = rest.split_at_mut(self.len(Tensor::HiddenBias));
        let (w_o, b_o) = rest.split_at_mut(self.len(Tensor::OutputWeights));
        [w_h, b_h, w_o, b_o]
    }

    /// Floating-point operations of one training step over `rows` rows: the
    /// five GEMMs at 2·m·n·k each (the elementwise passes are not counted).
    pub fn step_flops(&self, rows: usize) -> f64 {
        let (n, d, h, c) = (rows as f64, self.inputs as f64, self.hidden as f64, self.classes as f64);
        2.0 * (n * d * h + n * h * c + h * c * n + n * c * h + d * h * n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_tile_the_buffer_without_gaps() {
        let l = Layout::new(7, 5, 3);
        assert_eq!(l.range(Tensor::HiddenWeights), 0..35);
        assert_eq!(l.range(Tensor::HiddenBias), 35..40);
        assert_eq!(l.range(Tensor::OutputWeights), 40..55);
        assert_eq!(l.range(Tensor::OutputBias), 55..58);
        assert_eq!(l.total(), 58);
        let mut buf: Vec<f32> = (0..58).map(|i| i as f32).collect();
        let [w_h, b_h, w_o, b_o] = l.split_mut(&mut buf);
        assert_eq!((w_h[0], b_h[0], w_o[0], b_o[2]), (0.0, 35.0, 40.0, 57.0));
        assert_eq!(l.view(&buf, Tensor::OutputWeights).at(1, 2), 45.0);
    }
}
