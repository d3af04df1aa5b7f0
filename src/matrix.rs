//! Row-major matrices and the one GEMM entry point.
//!
//! [`Matrix`] owns its storage; [`MatRef`] and [`MatMut`] borrow a block of
//! one. A read view carries a row and a column stride so that a transpose is
//! a stride swap ([`MatRef::t`]), never a copy; a write view is always
//! row-major (column stride 1), which is what every pass of ours expects.
//! [`gemm`] is the only caller of `matrixmultiply::sgemm` and the only
//! `unsafe` in this file.

use std::sync::atomic::{AtomicUsize, Ordering};

/// An owned, dense, row-major `rows × cols` matrix of `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        let len = rows.checked_mul(cols).expect("matrix size overflows usize");
        Matrix {
            rows,
            cols,
            data: vec![0.0; len],
        }
    }

    /// Wraps `data` (row-major) as a `rows × cols` matrix.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "data length does not match {rows}x{cols}"
        );
        Matrix { rows, cols, data }
    }

    /// Builds a matrix by calling `f(row, col)` for every element.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f32) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(f(i, j));
            }
        }
        Matrix { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    pub fn view(&self) -> MatRef<'_> {
        MatRef::from_slice(&self.data, self.rows, self.cols)
    }

    pub fn view_mut(&mut self) -> MatMut<'_> {
        MatMut::from_slice(&mut self.data, self.rows, self.cols)
    }

    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> f32 {
        self.view().at(i, j)
    }
}

/// A read-only view of a `rows × cols` block with arbitrary strides.
///
/// Invariant (checked by the constructors): every `(i, j)` with `i < rows`,
/// `j < cols` addresses an element inside `data`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A dense row-major view of `data` (`rows * cols` elements).
    pub fn from_slice(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::with_strides(data, rows, cols, cols, 1)
    }

    /// A view with explicit strides, in elements.
    ///
    /// # Panics
    /// If the last addressed element lies outside `data`.
    pub fn with_strides(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * row_stride + (cols - 1) * col_stride;
            assert!(
                last < data.len(),
                "view {rows}x{cols} exceeds its buffer of {}",
                data.len()
            );
        }
        MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The transpose, as a stride swap.
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Rows `start..start + count` of this view.
    pub fn row_range(self, start: usize, count: usize) -> MatRef<'a> {
        assert!(
            start + count <= self.rows,
            "rows {start}..{} out of {}",
            start + count,
            self.rows
        );
        let offset = if count == 0 {
            0
        } else {
            start * self.row_stride
        };
        MatRef {
            data: &self.data[offset.min(self.data.len())..],
            rows: count,
            ..self
        }
    }

    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> f32 {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) out of {}x{}",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Row `i` as a slice; only for views with unit column stride.
    pub fn row(&self, i: usize) -> &'a [f32] {
        assert!(
            self.col_stride == 1 || self.cols <= 1,
            "row() needs a row-major view"
        );
        assert!(i < self.rows, "row {i} out of {}", self.rows);
        let start = i * self.row_stride;
        &self.data[start..start + self.cols]
    }

    /// Copies the view into an owned row-major matrix.
    pub fn to_matrix(&self) -> Matrix {
        Matrix::from_fn(self.rows, self.cols, |i, j| self.at(i, j))
    }
}

/// A mutable row-major view of a `rows × cols` block (column stride 1).
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A dense row-major view of `data[..rows * cols]`.
    pub fn from_slice(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::with_row_stride(data, rows, cols, cols)
    }

    /// A row-major view whose rows start `row_stride` elements apart.
    ///
    /// # Panics
    /// If the rows overlap (`row_stride < cols`) or exceed `data`.
    pub fn with_row_stride(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Self {
        assert!(
            rows <= 1 || row_stride >= cols,
            "rows of a mutable view must not overlap"
        );
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * row_stride + cols - 1;
            assert!(
                last < data.len(),
                "view {rows}x{cols} exceeds its buffer of {}",
                data.len()
            );
        }
        MatMut {
            data,
            rows,
            cols,
            row_stride,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// A read view of the same block.
    pub fn rb(&self) -> MatRef<'_> {
        MatRef::with_strides(self.data, self.rows, self.cols, self.row_stride, 1)
    }

    /// A shorter-lived mutable view of the same block.
    pub fn rb_mut(&mut self) -> MatMut<'_> {
        MatMut {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
        }
    }

    /// Row `i`, mutably.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        assert!(i < self.rows, "row {i} out of {}", self.rows);
        let start = i * self.row_stride;
        &mut self.data[start..start + self.cols]
    }

    /// The underlying storage from the first element on, for passes that
    /// walk rows by stride.
    pub(crate) fn raw_parts(&mut self) -> (&mut [f32], usize) {
        (self.data, self.row_stride)
    }
}

/// Number of `sgemm` calls made so far by this process (all threads).
///
/// Each `matrixmultiply::sgemm` call allocates one packing buffer; the
/// allocation test uses this count to tell the library's allocations from
/// ours.
pub fn sgemm_calls() -> usize {
    SGEMM_CALLS.load(Ordering::Relaxed)
}

static SGEMM_CALLS: AtomicUsize = AtomicUsize::new(0);

/// `C ← α·A·B + β·C` for `A: m×k`, `B: k×n`, `C: m×n`.
///
/// Transposes are expressed through the views' strides. With `β = 0` the
/// previous contents of `C` are ignored, even NaN. Single-threaded: callers
/// parallelise by splitting `C` (see [`gemm_par`]).
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, mut c: MatMut<'_>) {
    assert_eq!(
        a.cols, b.rows,
        "gemm: inner dimensions differ ({}x{} · {}x{})",
        a.rows, a.cols, b.rows, b.cols
    );
    assert_eq!(
        c.rows, a.rows,
        "gemm: C has {} rows, A has {}",
        c.rows, a.rows
    );
    assert_eq!(
        c.cols, b.cols,
        "gemm: C has {} cols, B has {}",
        c.cols, b.cols
    );
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // A·B is zero; keep the β = 0 contract (overwrite, NaN included).
        for i in 0..m {
            for x in c.row_mut(i) {
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
        }
        return;
    }
    SGEMM_CALLS.fetch_add(1, Ordering::Relaxed);
    let (c_data, rsc) = c.raw_parts();
    // SAFETY: the view constructors guarantee every addressed element of A,
    // B and C lies inside its slice; the shapes were checked above; C is a
    // `&mut` borrow, so it aliases neither A nor B, and its strides
    // (rsc ≥ n, csc = 1) never make two of its elements alias.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c_data.as_mut_ptr(),
            rsc as isize,
            1,
        );
    }
}

/// Rows of C per task in [`gemm_par`]: a fixed function of the shape, never of
/// the thread count, so results are bit-identical for any number of threads.
pub fn gemm_block_rows(m: usize) -> usize {
    const TARGET_BLOCKS: usize = 8;
    const MIN_BLOCK_ROWS: usize = 64;
    m.div_ceil(TARGET_BLOCKS)
        .next_multiple_of(8)
        .max(MIN_BLOCK_ROWS)
}

/// [`gemm`] with the rows of C split into blocks computed by rayon tasks.
///
/// Each block is one `sgemm` call over the full `k`, so an element's value
/// does not depend on how many threads ran the blocks.
pub fn gemm_par(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    use rayon::prelude::*;
    let m = c.rows();
    let block = gemm_block_rows(m);
    if block >= m {
        return gemm(alpha, a, b, beta, c);
    }
    assert_eq!(a.rows, m, "gemm: C has {m} rows, A has {}", a.rows);
    // Blocks are few (at most 8) and made once per call; a fixed-size array
    // keeps this pass free of heap allocation.
    let mut blocks: [Option<(usize, MatMut<'_>)>; 8] = Default::default();
    let mut rest = Some(c);
    for slot in blocks.iter_mut() {
        let Some(view) = rest.take() else { break };
        let start = m - view.rows;
        let (head, tail) = view.split_rows(block);
        *slot = Some((start, head));
        rest = tail;
    }
    assert!(rest.is_none(), "gemm_block_rows gave more than 8 blocks");
    blocks.par_iter_mut().for_each(|slot| {
        if let Some((start, view)) = slot.take() {
            gemm(alpha, a.row_range(start, view.rows), b, beta, view);
        }
    });
}

impl<'a> MatMut<'a> {
    /// Splits off the first `count` rows; the rest is `None` when empty.
    pub fn split_rows(self, count: usize) -> (MatMut<'a>, Option<MatMut<'a>>) {
        let MatMut {
            data,
            rows,
            cols,
            row_stride,
        } = self;
        if count >= rows {
            return (
                MatMut {
                    data,
                    rows,
                    cols,
                    row_stride,
                },
                None,
            );
        }
        let (head, tail) = data.split_at_mut(count * row_stride);
        (
            MatMut {
                data: head,
                rows: count,
                cols,
                row_stride,
            },
            Some(MatMut {
                data: tail,
                rows: rows - count,
                cols,
                row_stride,
            }),
        )
    }
}
