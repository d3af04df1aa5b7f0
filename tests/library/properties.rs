//! Property tests of the matrix views and GEMM wrappers: random shapes,
//! strides, transposes, α and β drawn from the crate's seeded generator,
//! each product checked exactly against a naive loop; and hostile view
//! arguments (huge strides, overflowing ranges) that must panic in the
//! constructor instead of reaching `sgemm`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mlp_engine::engine::matrix::{MatMut, MatRef, gemm, gemm_par};
use mlp_engine::engine::rng::Rng;

/// A strided read view over a fresh buffer of small integers: rows `pad_r`
/// and columns `pad_c` elements apart beyond the dense minimum, optionally
/// stored transposed. Returns the buffer and (rows, cols, row stride, col stride).
fn random_operand(rng: &mut Rng, rows: usize, cols: usize) -> (Vec<f32>, [usize; 4]) {
    let transposed = rng.below(2) == 1;
    let pad = rng.below(4) as usize;
    // Stored as `outer` lines of `inner` elements, `inner + pad` apart.
    let (outer, inner) = if transposed { (cols, rows) } else { (rows, cols) };
    let line = inner + pad;
    let len = (outer * line).max(1);
    let data: Vec<f32> = (0..len).map(|_| rng.below(9) as f32 - 4.0).collect();
    let strides = if transposed { [rows, cols, 1, line] } else { [rows, cols, line, 1] };
    (data, strides)
}

fn view(data: &[f32], s: [usize; 4]) -> MatRef<'_> {
    MatRef::with_strides(data, s[0], s[1], s[2], s[3])
}

#[test]
fn gemm_equals_the_naive_product_on_random_strided_shapes() {
    let mut rng = Rng::new(77);
    // α and β powers of two, inputs small integers: every result is exact.
    let scalars = [(1.0, 0.0), (0.5, 0.0), (-2.0, 1.0), (1.0, 0.25), (0.0, 1.0)];
    for case in 0..300 {
        let m = 1 + rng.below(70) as usize;
        let k = rng.below(90) as usize;
        let n = 1 + rng.below(70) as usize;
        let (a_data, sa) = random_operand(&mut rng, m, k);
        let (b_data, sb) = random_operand(&mut rng, k, n);
        let (a, b) = (view(&a_data, sa), view(&b_data, sb));
        let (alpha, beta) = scalars[rng.below(scalars.len() as u64) as usize];
        let rsc = n + rng.below(3) as usize;
        let c0: Vec<f32> = (0..m * rsc).map(|_| rng.below(5) as f32).collect();
        let mut expected = c0.clone();
        for i in 0..m {
            for j in 0..n {
                let dot: f32 = (0..k).map(|p| a.at(i, p) * b.at(p, j)).sum();
                let old = if beta == 0.0 { 0.0 } else { beta * c0[i * rsc + j] };
                expected[i * rsc + j] = alpha * dot + old;
            }
        }
        for parallel in [false, true] {
            let mut c = c0.clone();
            let out = MatMut::with_row_stride(&mut c, m, n, rsc);
            if parallel {
                gemm_par(alpha, a, b, beta, out)
            } else {
                gemm(alpha, a, b, beta, out)
            }
            assert_eq!(
                c, expected,
                "case {case}: {m}x{k}x{n}, a {sa:?}, b {sb:?}, α {alpha}, β {beta}, par {parallel}"
            );
        }
    }
}

fn panics(f: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_err()
}

#[test]
fn hostile_view_arguments_panic_in_the_constructor() {
    let data = vec![0.0f32; 16];
    let mut out = vec![0.0f32; 16];
    let huge = usize::MAX / 2 + 1;
    type Case<'a> = (&'a str, Box<dyn FnOnce() + 'a>);
    let cases: Vec<Case> = vec![
        // (rows − 1)·stride wraps to a small number in release arithmetic.
        (
            "wrapping row stride",
            Box::new(|| {
                let _ = MatRef::with_strides(&data, 3, 1, huge, 1);
            }),
        ),
        (
            "wrapping column stride",
            Box::new(|| {
                let _ = MatRef::with_strides(&data, 1, 3, 1, huge);
            }),
        ),
        (
            "stride beyond isize",
            Box::new(|| {
                let _ = MatRef::with_strides(&data, 1, 1, usize::MAX, 1);
            }),
        ),
        (
            "too many rows",
            Box::new(|| {
                let _ = MatRef::with_strides(&data, 17, 1, 1, 1);
            }),
        ),
        (
            "mutable wrapping stride",
            Box::new(|| {
                let _ = MatMut::with_row_stride(&mut out, 3, 1, huge);
            }),
        ),
        (
            "overflowing row range",
            Box::new(|| {
                let _ = MatRef::from_slice(&data, 4, 4).row_range(2, usize::MAX);
            }),
        ),
        (
            "overflowing column range",
            Box::new(|| {
                let _ = MatRef::from_slice(&data, 4, 4).col_range(usize::MAX, 2);
            }),
        ),
    ];
    for (what, f) in cases {
        assert!(panics(f), "{what}: the constructor accepted it");
    }
    // The same arguments at honest sizes are accepted.
    assert_eq!(MatRef::with_strides(&data, 4, 4, 4, 1).at(3, 3), 0.0);
    assert_eq!(MatRef::from_slice(&data, 4, 4).row_range(2, 2).rows(), 2);
}
