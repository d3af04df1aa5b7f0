//! The fast engine against the naive f64 reference on many shapes: GEMM,
//! forward outputs, loss, accuracy and all four gradients, for every SIMD
//! build this CPU has.

use crate::common;

use common::{assert_close, assert_close_scalar, labels, pixels};
use mlp_engine::engine::matrix::{MatMut, MatRef, Matrix, gemm, gemm_par};
use mlp_engine::engine::reference::{self, RefMat, RefNetwork};
use mlp_engine::engine::rng::Rng;
use mlp_engine::engine::{SimdPath, Tensor};
use mlp_engine::{Layout, MomentumSgd, Network, Workspace};

/// Small integers, so every product and sum is exact in f32 and GEMM results
/// can be compared with `==`.
fn integer_matrix(rng: &mut Rng, rows: usize, cols: usize) -> Matrix {
    Matrix::from_fn(rows, cols, |_, _| rng.below(9) as f32 - 4.0)
}

fn to_ref(m: MatRef<'_>) -> RefMat {
    RefMat::from_f32(m.rows(), m.cols(), m.to_matrix().as_slice())
}

#[test]
fn gemm_is_exact_on_integer_inputs_for_all_transposes_and_odd_shapes() {
    let mut rng = Rng::new(11);
    let sizes = [1, 2, 7, 8, 9, 17, 33, 64, 65, 130];
    for &m in &sizes {
        for &k in &[1, 7, 33, 257] {
            for &n in &[1, 10, 17, 64] {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    // Store A as k×m when it is to be read transposed, etc.
                    let a = if ta { integer_matrix(&mut rng, k, m) } else { integer_matrix(&mut rng, m, k) };
                    let b = if tb { integer_matrix(&mut rng, n, k) } else { integer_matrix(&mut rng, k, n) };
                    let av = if ta { a.view().t() } else { a.view() };
                    let bv = if tb { b.view().t() } else { b.view() };
                    let expected = reference::matmul(&to_ref(av), &to_ref(bv));
                    for parallel in [false, true] {
                        // NaN-poisoned C proves that β = 0 overwrites it.
                        let mut c = Matrix::from_fn(m, n, |_, _| f32::NAN);
                        if parallel {
                            gemm_par(1.0, av, bv, 0.0, c.view_mut());
                        } else {
                            gemm(1.0, av, bv, 0.0, c.view_mut());
                        }
                        for (idx, (&got, &want)) in c.as_slice().iter().zip(&expected.data).enumerate() {
                            assert_eq!(
                                f64::from(got),
                                want,
                                "gemm {m}x{k}x{n} ta={ta} tb={tb} par={parallel}: element {idx}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn parallel_gemm_splits_rows_and_columns_exactly_for_any_thread_count() {
    let mut rng = Rng::new(13);
    // m ≥ n splits C by rows, m < n by columns; sizes off the 16-wide tiles.
    for (m, k, n) in [(20, 300, 1000), (1000, 300, 20), (33, 257, 130), (130, 257, 33), (1, 5000, 700)] {
        let a = integer_matrix(&mut rng, m, k);
        let b = integer_matrix(&mut rng, k, n);
        let expected = reference::matmul(&to_ref(a.view()), &to_ref(b.view()));
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut c = Matrix::from_fn(m, n, |_, _| f32::NAN);
            pool.install(|| gemm_par(1.0, a.view(), b.view(), 0.0, c.view_mut()));
            let same = c.as_slice().iter().zip(&expected.data).all(|(&x, &y)| f64::from(x) == y);
            assert!(same, "gemm_par {m}x{k}x{n} on {threads} threads differs from the exact product");
        }
    }
}

#[test]
fn gemm_applies_alpha_and_beta_and_respects_row_stride() {
    let mut rng = Rng::new(12);
    let (m, k, n) = (9, 5, 6);
    let a = integer_matrix(&mut rng, m, k);
    let b = integer_matrix(&mut rng, k, n);
    // C lives inside a wider buffer (row stride 8); the padding must survive.
    let mut buf = vec![100.0f32; m * 8];
    for i in 0..m {
        for j in 0..n {
            buf[i * 8 + j] = (i + j) as f32;
        }
    }
    gemm(2.0, a.view(), b.view(), -1.0, MatMut::with_row_stride(&mut buf, m, n, 8));
    let ab = reference::matmul(&to_ref(a.view()), &to_ref(b.view()));
    for i in 0..m {
        for j in 0..n {
            assert_eq!(f64::from(buf[i * 8 + j]), 2.0 * ab.at(i, j) - (i + j) as f64, "({i},{j})");
        }
        assert!(buf[i * 8 + n..i * 8 + 8].iter().all(|&p| p == 100.0), "padding of row {i} was written");
    }
}

#[test]
fn gemm_with_empty_inner_dimension_scales_c() {
    let a = Matrix::zeros(3, 0);
    let b = Matrix::zeros(0, 4);
    let mut c = Matrix::from_fn(3, 4, |_, _| f32::NAN);
    gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
    assert!(c.as_slice().iter().all(|&v| v == 0.0));
}

/// One forward/backward comparison on a `D → H → C` network over N rows.
///
/// Tolerances (relative to each tensor's largest magnitude, see
/// `assert_close`): the fast path computes in f32, whose unit roundoff is
/// u = 6e-8. A dot product of length K has a worst-case error of K·u of the
/// sum of |terms| and a typical one of √K·u. The longest sums here are
/// K = D = 784 (hidden), and K = N = 256 (weight gradients), each feeding a
/// further GEMM; 1e-4 sits well above √K·u ≈ 2e-6 and K·u ≈ 5e-5 while any
/// real defect (a wrong index, a missing mask, a wrong scale) shows as an
/// error of order 1.
const TOL: f64 = 1e-4;

fn check_shape(d: usize, h: usize, c: usize, n: usize, train_rows: usize, seed: u64) {
    let layout = Layout::new(d, h, c);
    let mut rng = Rng::new(seed);
    let x = pixels(&mut rng, n, d);
    let y = labels(&mut rng, n, c);
    let mut net = Network::new(layout, seed, 1e-5);
    // Non-zero biases, so that bias handling is checked too.
    for (i, b) in net.params_mut()[layout.range(Tensor::HiddenBias)].iter_mut().enumerate() {
        *b = 0.05 * ((i % 5) as f32 - 2.0);
    }
    for (i, b) in net.params_mut()[layout.range(Tensor::OutputBias)].iter_mut().enumerate() {
        *b = 0.1 * ((i % 3) as f32 - 1.0);
    }
    let reference = RefNetwork::from_f32(layout, net.params(), 1e-5);
    let xr = RefMat::from_f32(n, d, &x);
    let x_train = RefMat { rows: train_rows, cols: d, data: xr.data[..train_rows * d].to_vec() };
    let expected = reference.pass(&x_train, &y[..train_rows]);
    let all = reference.pass(&xr, &y); // activations and logits of every row
    let probabilities = reference::softmax(&all.logits);

    for path in SimdPath::available() {
        let what = |t: &str| format!("{d}x{h}x{c}, N={n}, T={train_rows}, {}: {t}", path.name());
        let mut ws = Workspace::with_simd(layout, n, train_rows, path);
        let mut fast = net.clone();
        let xv = MatRef::from_slice(&x, n, d);
        fast.forward(&mut ws, xv, &y, train_rows);
        // Before backward, which turns the training rows into dZ.
        assert_close(&what("hidden activations"), ws.hidden().to_matrix().as_slice(), &all.hidden.data, TOL);
        fast.backward(&mut ws, xv.row_range(0, train_rows));

        let out = ws.outputs().to_matrix();
        assert_close(&what("delta"), &out.as_slice()[..train_rows * c], &expected.delta.data, TOL);
        assert_close(
            &what("probabilities"),
            &out.as_slice()[train_rows * c..],
            &probabilities.data[train_rows * c..],
            TOL,
        );
        let m = ws.metrics(0..train_rows);
        assert_close_scalar(&what("loss"), m.loss, expected.loss, TOL);
        assert_eq!(m.accuracy, expected.accuracy, "{}", what("accuracy"));
        let rest = ws.metrics(train_rows..n);
        if n > train_rows {
            let rest_logits =
                RefMat { rows: n - train_rows, cols: c, data: all.logits.data[train_rows * c..].to_vec() };
            assert_close_scalar(
                &what("held-out loss"),
                rest.loss,
                reference::cross_entropy(&rest_logits, &y[train_rows..]),
                TOL,
            );
        }
        for tensor in Tensor::ALL {
            let range = layout.range(tensor);
            assert_close(&what(tensor.name()), &fast.grads()[range.clone()], &expected.grads[range], TOL);
        }

        // The step runs the output layer as one sweep (fused::output_layer_step):
        // exactly the bits of forward + backward. With α = γ = 0 it leaves
        // the parameters alone and the gradients readable; W_h's gradient
        // of a step of ≤ 64 rows goes into the velocity, so it is skipped.
        let mut stepped = net.clone();
        let mut ws_step = Workspace::with_simd(layout, n, train_rows, path);
        stepped.step(&mut ws_step, xv, &y, train_rows, MomentumSgd { learning_rate: 0.0, momentum: 0.0 });
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        let same = |a: MatRef<'_>, b: MatRef<'_>, what: String| {
            assert_eq!(bits(a.to_matrix().as_slice()), bits(b.to_matrix().as_slice()), "{what}");
        };
        same(ws_step.hidden(), ws.hidden(), what("step: dZ and A"));
        same(ws_step.outputs(), ws.outputs(), what("step: δ and p"));
        assert_eq!(ws_step.metrics(0..n), ws.metrics(0..n), "{}", what("step: metrics"));
        for tensor in Tensor::ALL {
            if tensor == Tensor::HiddenWeights && train_rows <= 64 {
                continue;
            }
            let range = layout.range(tensor);
            assert_eq!(bits(&stepped.grads()[range.clone()]), bits(&fast.grads()[range]), "{}", what(tensor.name()));
        }
        assert_eq!(bits(stepped.params()), bits(net.params()), "{}", what("step with α = 0 moved a parameter"));
    }
}

#[test]
fn forward_and_gradients_match_on_small_and_odd_shapes() {
    let shapes = [
        // (D, H, C, N, T)
        (1, 1, 1, 1, 1),
        (1, 1, 2, 1, 1),
        (7, 17, 10, 33, 33),
        (17, 33, 10, 7, 7),
        (33, 7, 10, 17, 17),
        (784, 17, 10, 1, 1),
        (5, 3, 10, 300, 300),
        (33, 65, 10, 600, 513),
        (7, 9, 3, 40, 1),
    ];
    for (i, &(d, h, c, n, t)) in shapes.iter().enumerate() {
        check_shape(d, h, c, n, t, 100 + i as u64);
    }
}

#[test]
fn fused_output_layer_matches_on_odd_widths_class_counts_and_row_counts() {
    // The output layer runs inside the row passes: logits in 8 lanes along
    // H (H mod 8 units after them), 16-row blocks in the training sweep,
    // 4-row groups of ∂W_o sums, 256-row sum chunks, and a build of its own
    // for 10 classes beside the generic one. Shapes off every one of those
    // edges, with held-out rows inside the last training chunk and in
    // chunks after it (the sweep only runs those forward), batch 1 and
    // more than 16 classes.
    let shapes = [
        // (D, H, C, N, T)
        (5, 17, 10, 600, 200),
        (5, 9, 10, 700, 256),
        (3, 16, 7, 530, 257),
        (7, 1, 10, 5, 5),
        (9, 7, 10, 1, 1),
        (5, 17, 10, 33, 29),
        (3, 33, 17, 70, 65),
        (4, 1000, 10, 9, 3),
        (6, 23, 33, 300, 259),
        (2, 5, 10, 520, 517),
        (11, 8, 16, 19, 18),
    ];
    for (i, &(d, h, c, n, t)) in shapes.iter().enumerate() {
        check_shape(d, h, c, n, t, 300 + i as u64);
    }
}

#[test]
fn forward_and_gradients_match_at_course_width_batch_256() {
    check_shape(784, 1000, 10, 256, 256, 7);
}

#[test]
fn held_out_rows_change_no_gradient() {
    // A step over T training rows plus held-out rows gives the same
    // gradients as a step over the T rows alone.
    let layout = Layout::new(20, 30, 10);
    let mut rng = Rng::new(5);
    let (n, t) = (90, 50);
    let x = pixels(&mut rng, n, 20);
    let y = labels(&mut rng, n, 10);
    let net = Network::new(layout, 1, 1e-5);
    let mut with_rest = net.clone();
    let mut alone = net.clone();
    let mut ws = Workspace::new(layout, n, t);
    let xv = MatRef::from_slice(&x, n, 20);
    with_rest.forward(&mut ws, xv, &y, t);
    with_rest.backward(&mut ws, xv.row_range(0, t));
    alone.forward(&mut ws, xv.row_range(0, t), &y[..t], t);
    alone.backward(&mut ws, xv.row_range(0, t));
    assert_eq!(with_rest.grads(), alone.grads());
}

#[test]
fn forward_and_gradients_match_on_random_shapes() {
    // Shapes drawn from a seeded generator (the same every run), so that
    // sizes nobody thought to list are covered too; a failure names its
    // shape and seed in the message.
    let mut rng = Rng::new(2024);
    for case in 0..24 {
        let d = 1 + rng.below(100) as usize;
        let h = 1 + rng.below(80) as usize;
        let c = 1 + rng.below(12) as usize;
        let n = 1 + rng.below(300) as usize;
        let t = 1 + rng.below(n as u64) as usize;
        check_shape(d, h, c, n, t, 500 + case);
    }
}

#[test]
fn steps_match_the_reference_step_with_and_without_the_momentum_fold() {
    // Up to 64 training rows a step folds W_h's momentum into its gradient
    // GEMM and never writes that gradient: compare parameters and velocity
    // after three steps with the f64 reference's own steps instead.
    let layout = Layout::new(33, 47, 10);
    for (n, t) in [(1, 1), (40, 32), (64, 64), (90, 65), (300, 256)] {
        let mut rng = Rng::new(21 + t as u64);
        let x = pixels(&mut rng, n, 33);
        let y = labels(&mut rng, n, 10);
        let mut fast = Network::new(layout, 9, 1e-3);
        let mut reference = RefNetwork::from_f32(layout, fast.params(), 1e-3);
        let x_train = RefMat::from_f32(t, 33, &x[..t * 33]);
        let mut ws = Workspace::new(layout, n, t);
        for _ in 0..3 {
            fast.step(&mut ws, MatRef::from_slice(&x, n, 33), &y, t, mlp_engine::MomentumSgd::default());
            reference.step(&x_train, &y[..t], 0.1, 0.9);
        }
        assert_close(&format!("N={n}, T={t}: parameters"), fast.params(), &reference.params, TOL);
        assert_close(&format!("N={n}, T={t}: velocity"), fast.velocity(), &reference.velocity, TOL);
    }
}
