//! Row-major matrices and the GEMM entry points.
//!
//! [`Matrix`] owns its storage; [`MatRef`] and [`MatMut`] borrow a block of
//! one. A read view carries a row and a column stride so that a transpose is
//! a stride swap ([`MatRef::t`]), never a copy; a write view is always
//! row-major (column stride 1), which is what every pass of ours expects.
//!
//! [`gemm`] and [`gemm_par`] are safe: every view constructor proves, with
//! overflow-checked arithmetic, that each element it can address lies inside
//! its slice and that every offset fits in `isize` (what `sgemm`'s pointer
//! arithmetic needs), so no argument a safe caller can build makes `sgemm`
//! read or write outside a buffer. The one call of `matrixmultiply::sgemm`
//! is in the private `sgemm_into`, whose `# Safety` contract states what is left to
//! its two callers.

use crate::engine::phase::{PhaseClock, Tasks};
#[cfg(feature = "bench-aids")]
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
        Matrix { rows, cols, data: vec![0.0; len] }
    }

    /// Wraps `data` (row-major) as a `rows × cols` matrix.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * cols, "data length does not match {rows}x{cols}");
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

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The elements, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The elements, row-major, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The whole matrix as a read view.
    pub fn view(&self) -> MatRef<'_> {
        MatRef::from_slice(&self.data, self.rows, self.cols)
    }

    /// The whole matrix as a write view.
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
    /// If the last addressed element lies outside `data`, or an offset
    /// overflows (strides of any size are checked, not wrapped).
    pub fn with_strides(data: &'a [f32], rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Self {
        check_extent(data.len(), rows, cols, row_stride, col_stride);
        MatRef { data, rows, cols, row_stride, col_stride }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
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
            start.checked_add(count).is_some_and(|end| end <= self.rows),
            "rows {start}+{count} out of {}",
            self.rows
        );
        let offset = if count == 0 { 0 } else { start * self.row_stride };
        MatRef { data: &self.data[offset.min(self.data.len())..], rows: count, ..self }
    }

    /// Columns `start..start + count` of this view.
    pub fn col_range(self, start: usize, count: usize) -> MatRef<'a> {
        assert!(
            start.checked_add(count).is_some_and(|end| end <= self.cols),
            "columns {start}+{count} out of {}",
            self.cols
        );
        let offset = if count == 0 || self.rows == 0 { 0 } else { start * self.col_stride };
        MatRef { data: &self.data[offset.min(self.data.len())..], cols: count, ..self }
    }

    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> f32 {
        assert!(i < self.rows && j < self.cols, "({i}, {j}) out of {}x{}", self.rows, self.cols);
        self.data[i * self.row_stride + j * self.col_stride]
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
    pub fn with_row_stride(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(rows <= 1 || row_stride >= cols, "rows of a mutable view must not overlap");
        check_extent(data.len(), rows, cols, row_stride, 1);
        MatMut { data, rows, cols, row_stride }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The underlying storage from the first element on, for passes that
    /// walk rows by stride.
    pub(crate) fn raw_parts(&mut self) -> (&mut [f32], usize) {
        (self.data, self.row_stride)
    }
}

/// Panics unless every element `(i, j)` of a `rows × cols` view with these
/// strides lies inside a slice of `len` elements and every stride and
/// offset fits in `isize`. Checked arithmetic throughout: in a release build
/// a wrapped product could otherwise pass the bound and let `sgemm` address
/// memory outside the slice.
fn check_extent(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) {
    assert!(
        isize::try_from(row_stride).is_ok() && isize::try_from(col_stride).is_ok(),
        "view strides {row_stride}, {col_stride} exceed isize::MAX"
    );
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1)
        .checked_mul(row_stride)
        .and_then(|r| (cols - 1).checked_mul(col_stride).and_then(|c| r.checked_add(c)))
        .filter(|&last| isize::try_from(last).is_ok());
    match last {
        Some(last) => assert!(last < len, "view {rows}x{cols} exceeds its buffer of {len}"),
        None => panic!("view {rows}x{cols} with strides {row_stride}, {col_stride} overflows its offsets"),
    }
}

/// Number of `sgemm` calls made so far by this process (all threads).
///
/// Each `matrixmultiply::sgemm` call allocates one packing buffer; the
/// allocation test uses this count to tell the library's allocations from
/// ours. A test aid: only with the non-default `bench-aids` feature.
#[cfg(feature = "bench-aids")]
pub fn sgemm_calls() -> usize {
    SGEMM_CALLS.load(Ordering::Relaxed)
}

#[cfg(feature = "bench-aids")]
static SGEMM_CALLS: AtomicUsize = AtomicUsize::new(0);

/// `C ← α·A·B + β·C` for `A: m×k`, `B: k×n`, `C: m×n`.
///
/// Transposes are expressed through the views' strides. With `β = 0` the
/// previous contents of `C` are ignored, even NaN. Single-threaded: see
/// [`gemm_par`] for the parallel version.
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, mut c: MatMut<'_>) {
    check_shapes(&a, &b, c.rows, c.cols);
    let (rows, cols) = (c.rows, c.cols);
    let (c_data, rsc) = c.raw_parts();
    // SAFETY: `c_data` is an exclusive borrow holding `rows` rows of `cols`
    // elements `rsc` apart (the MatMut invariant), and the shapes match.
    unsafe { sgemm_into(alpha, a, b, beta, c_data.as_mut_ptr(), rsc, rows, cols) }
}

fn check_shapes(a: &MatRef<'_>, b: &MatRef<'_>, c_rows: usize, c_cols: usize) {
    assert_eq!(a.cols, b.rows, "gemm: inner dimensions differ ({}x{} · {}x{})", a.rows, a.cols, b.rows, b.cols);
    assert_eq!(c_rows, a.rows, "gemm: C has {c_rows} rows, A has {}", a.rows);
    assert_eq!(c_cols, b.cols, "gemm: C has {c_cols} cols, B has {}", b.cols);
}

/// `C ← α·A·B + β·C` into a row-major `rows × cols` block at `c` whose rows
/// are `rsc` elements apart.
///
/// # Safety
/// `c` must be valid for reads and writes of the whole block (every
/// `c + i·rsc + j` for `i < rows`, `j < cols`, with `rsc ≥ cols` and
/// `(rows − 1)·rsc + cols − 1 ≤ isize::MAX`), no other thread may access
/// that block during the call, it must not overlap `a` or `b`, and
/// `rows == a.rows()`, `cols == b.cols()`, `a.cols() == b.rows()`.
///
/// What `sgemm` reads of `a` and `b` needs no promise from the caller: the
/// [`MatRef`] constructors already checked that every element they address
/// lies inside their slices and that their strides and offsets fit `isize`,
/// and `row_range`/`col_range` only shrink a view.
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_into(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    rows: usize,
    cols: usize,
) {
    let (m, k, n) = (rows, a.cols, cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // A·B is zero; keep the β = 0 contract (overwrite, NaN included).
        for i in 0..m {
            // SAFETY: row i of the block lies inside it (caller's contract).
            let row = unsafe { std::slice::from_raw_parts_mut(c.add(i * rsc), n) };
            for x in row {
                *x = if beta == 0.0 { 0.0 } else { beta * *x };
            }
        }
        return;
    }
    #[cfg(feature = "bench-aids")]
    SGEMM_CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the view constructors guarantee every addressed element of A
    // and B lies inside its slice; the caller guarantees the C block is
    // valid, exclusive and disjoint from A and B, and its strides (rsc ≥ n,
    // csc = 1) never make two of its elements alias.
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
            c,
            rsc as isize,
            1,
        );
    }
}

/// Below this many multiply-adds a GEMM runs on one thread: splitting it
/// would cost more in task hand-off and repeated packing than it saves.
const PARALLEL_MIN_MACS: usize = 1 << 20;
/// Upper bound on the blocks of one parallel GEMM.
const MAX_BLOCKS: usize = 64;

/// A raw pointer to C shared by the tasks of [`gemm_par`], each of which
/// writes its own disjoint block.
#[derive(Clone, Copy)]
struct BlockPtr(*mut f32);
// SAFETY: the pointer is only dereferenced by sgemm_into on disjoint blocks
// of one exclusively borrowed C, for the duration of that borrow.
unsafe impl Send for BlockPtr {}
// SAFETY: as above; the tasks share the pointer, never an element.
unsafe impl Sync for BlockPtr {}

impl BlockPtr {
    /// The pointer `offset` elements on. (A method, so that closures capture
    /// the whole `BlockPtr`, not its raw field.)
    fn offset(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// [`gemm`] split into one block of C per rayon thread.
///
/// Each block is one `sgemm` call over the full `k`. C is split by rows when
/// `m ≥ n` (each row block packs all of B, `k×n`) and by columns otherwise
/// (each column block packs all of A, `m×k`), so the operand that every
/// block must pack again is the smaller one.
///
/// Results are bit-identical for any thread count, for any `α` and `β`:
/// every block but the last is a whole number of 16-wide tiles, and every
/// matrixmultiply kernel's tile (4, 8 or 16 on a side) divides 16, so each
/// element of C falls in the same kind of tile (whole, or the matrix's own
/// edge) whatever the split, and each kind computes an element as one fixed
/// sequence over the full `k`: the same products in the same `k` chunks,
/// then `α` and `β` applied the same way. (A block edge inside a tile
/// would move elements between the whole-tile and the edge-tile code,
/// which apply `β` with different roundings.) `tests/library/determinism.rs`
/// checks non-exact `α`, `β` on 1 to 5 threads.
///
/// This rests on two facts of matrixmultiply 0.3 (the version `Cargo.lock`
/// holds): its tiles are 4, 8 or 16 wide, and its cache blocks (MC, NC)
/// are whole tiles, as its defaults are (a `MATMUL_SGEMM_MC` or `_NC` set
/// at build time must keep them so). That test fails where either stops
/// holding.
pub fn gemm_par(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    gemm_par_tasks(alpha, a, b, beta, c, Tasks::NONE);
}

/// [`gemm_par`], each block's `sgemm` call reported to `tasks` as one span
/// of the thread that ran it.
pub(crate) fn gemm_par_tasks<C: PhaseClock>(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    mut c: MatMut<'_>,
    tasks: Tasks<'_, C>,
) {
    use rayon::prelude::*;
    let (m, n, k) = (c.rows, c.cols, a.cols);
    check_shapes(&a, &b, m, n);
    let parts = rayon::current_num_threads();
    let by_rows = m >= n;
    let along = if by_rows { m } else { n };
    // Blocks of whole micro-tiles (16 covers every matrixmultiply kernel).
    let block = along.div_ceil(parts.clamp(1, MAX_BLOCKS)).next_multiple_of(16);
    if m.saturating_mul(n).saturating_mul(k) < PARALLEL_MIN_MACS || block >= along {
        return tasks.run(|| gemm(alpha, a, b, beta, c));
    }
    let (c_data, rsc) = c.raw_parts();
    let base = BlockPtr(c_data.as_mut_ptr());
    (0..along.div_ceil(block)).into_par_iter().for_each(|i| {
        tasks.run(|| {
            let start = i * block;
            let len = block.min(along - start);
            if by_rows {
                // SAFETY: rows start..start+len of C are inside the exclusively
                // borrowed block and no other task writes them.
                unsafe { sgemm_into(alpha, a.row_range(start, len), b, beta, base.offset(start * rsc), rsc, len, n) }
            } else {
                // SAFETY: columns start..start+len of C are inside the exclusively
                // borrowed block and no other task writes them.
                unsafe { sgemm_into(alpha, a, b.col_range(start, len), beta, base.offset(start), rsc, m, len) }
            }
        })
    });
}

/// `C ← α·A·B + β·C` for a row-major `C` `(m, n)` held in `c`, split into
/// blocks of whole rows, one per rayon thread, with `companion` (another
/// `m × n` buffer, such as the parameters a velocity C updates) split
/// alike: each task runs its block's `sgemm`, then `then(c_block,
/// companion_block)` on the same thread, so the block needs no second
/// hand-off to the threads and is read back while it is still warm.
///
/// Row blocks are whole 16-row tiles, as in [`gemm_par`], so the results
/// are the bits of one unsplit call for any thread count and any `α`, `β`.
/// Splitting by rows packs all of `B` once per block; the caller uses it
/// where `B` is small (the momentum fold's `dZ`, `T × H` for `T ≤ 64`).
/// `tasks` gets each block's GEMM span, `then_tasks` each `then` span.
pub(crate) fn gemm_rows_then<C: PhaseClock, D: PhaseClock>(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    (c, companion): (&mut [f32], &mut [f32]),
    (tasks, then_tasks): (Tasks<'_, C>, Tasks<'_, D>),
    then: impl Fn(&mut [f32], &mut [f32]) + Sync,
) {
    use rayon::prelude::*;
    let (m, n, k) = (a.rows, b.cols, a.cols);
    check_shapes(&a, &b, m, n);
    assert!(c.len() == m * n && companion.len() == m * n, "C and its companion are not {m} rows of {n}");
    let parts =
        if m.saturating_mul(n).saturating_mul(k) < PARALLEL_MIN_MACS { 1 } else { rayon::current_num_threads() };
    let block = m.div_ceil(parts.clamp(1, MAX_BLOCKS)).next_multiple_of(16).max(1);
    let run = |start: usize, c: &mut [f32], other: &mut [f32]| {
        let rows = c.len() / n.max(1);
        tasks.run(|| gemm(alpha, a.row_range(start, rows), b, beta, MatMut::from_slice(c, rows, n)));
        then_tasks.run(|| then(c, other));
    };
    if block >= m || n == 0 {
        return run(0, c, companion);
    }
    c.par_chunks_mut(block * n)
        .zip(companion.par_chunks_mut(block * n))
        .enumerate()
        .for_each(|(i, (c, other))| run(i * block, c, other));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_rows_then_equals_one_gemm_and_the_same_follow_up() {
        // Edge shapes (no columns, k = 0, fewer rows than a tile, blocks off
        // the tiles' multiples) and one big enough to be split, on 1 to 3
        // threads: the bits of one `gemm` call, then the follow-up on every
        // row exactly once.
        let mut seed = 11u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
        };
        for (m, k, n) in [(5, 3, 0), (7, 0, 9), (9, 4, 6), (300, 40, 203), (1000, 32, 100)] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| next()).collect();
            let w0: Vec<f32> = (0..m * n).map(|_| next()).collect();
            let (av, bv) = (MatRef::from_slice(&a, m, k), MatRef::from_slice(&b, k, n));
            let mut c_one = c0.clone();
            gemm(0.1, av, bv, 0.9, MatMut::from_slice(&mut c_one, m, n));
            let w_one: Vec<f32> = w0.iter().zip(&c_one).map(|(w, v)| w - v).collect();
            for threads in 1..=3 {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (mut c, mut w) = (c0.clone(), w0.clone());
                let subtract = |v: &mut [f32], w: &mut [f32]| w.iter_mut().zip(v.iter()).for_each(|(w, v)| *w -= v);
                let none = (Tasks::NONE, Tasks::NONE);
                pool.install(|| gemm_rows_then(0.1, av, bv, 0.9, (&mut c, &mut w), none, subtract));
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&c), bits(&c_one), "{m}x{k}x{n} on {threads} threads: C");
                assert_eq!(bits(&w), bits(&w_one), "{m}x{k}x{n} on {threads} threads: companion");
            }
        }
    }

    #[test]
    #[should_panic(expected = "companion")]
    fn gemm_rows_then_refuses_a_companion_of_another_size() {
        let (a, b) = ([1.0f32; 6], [1.0f32; 6]);
        let (mut c, mut w) = ([0.0f32; 4], [0.0f32; 3]);
        let (av, bv) = (MatRef::from_slice(&a, 2, 3), MatRef::from_slice(&b, 3, 2));
        gemm_rows_then(1.0, av, bv, 0.0, (&mut c, &mut w), (Tasks::NONE, Tasks::NONE), |_, _| {});
    }
}
