//! Same seed and data give bit-identical parameters whatever the thread
//! count and whichever SIMD build runs the passes; on a CPU with only the
//! portable build, that build is checked against the reference instead of
//! against another build.

use crate::common;

use common::{assert_close, labels, pixels};
use mlp_engine::engine::SimdPath;
use mlp_engine::engine::matrix::{MatMut, MatRef, gemm, gemm_par};
use mlp_engine::engine::reference::{RefMat, RefNetwork};
use mlp_engine::engine::rng::Rng;
use mlp_engine::{Layout, MomentumSgd, Network, Workspace};

/// Parameters after `steps` steps on a shape big enough that every GEMM is
/// split into several blocks and every pass into several tasks.
fn train(threads: usize, path: SimdPath, steps: usize) -> Vec<f32> {
    train_shape(threads, path, steps, (100, 200, 10), (1500, 1200))
}

/// As [`train`] for a `D → H → C` network on `rows` rows, `train_rows` of
/// them training rows.
fn train_shape(
    threads: usize,
    path: SimdPath,
    steps: usize,
    (d, h, c): (usize, usize, usize),
    (rows, train_rows): (usize, usize),
) -> Vec<f32> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let layout = Layout::new(d, h, c);
        let mut rng = Rng::new(4);
        let x = pixels(&mut rng, rows, d);
        let y = labels(&mut rng, rows, c);
        let mut net = Network::new(layout, 77, 1e-5);
        let mut ws = Workspace::with_simd(layout, rows, train_rows, path);
        for _ in 0..steps {
            net.step(&mut ws, MatRef::from_slice(&x, rows, d), &y, train_rows, MomentumSgd::default());
        }
        net.params().to_vec()
    })
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn thread_count_does_not_change_a_bit() {
    let path = SimdPath::best();
    let one = train(1, path, 5);
    let initial = train(1, path, 0);
    assert!(!same_bits(&one, &initial), "training did not change the parameters");
    for threads in [2, 3] {
        assert!(same_bits(&one, &train(threads, path, 5)), "{threads} threads differ from 1");
    }
}

/// Checks the SIMD builds `builds`, the portable one first: it trains as
/// the f64 reference does, gives the same bits on 1, 2 and 3 threads, and
/// every other build gives its bits. On a CPU without AVX2/FMA the list
/// is the portable build alone, which is then still checked, not skipped.
fn check_builds(builds: &[SimdPath]) {
    assert_eq!(builds.first(), Some(&SimdPath::portable()), "the portable build comes first");
    let portable = train(2, SimdPath::portable(), 3);
    // The f64 reference's three steps from the same start on the same rows
    // (as `train` draws them): the portable build computes the step right,
    // not only the same as itself. 1e-4 of each tensor's scale, as in
    // fast_vs_reference.rs: f32 sums of up to 1,200 terms over 3 steps.
    let (d, rows, train_rows) = (100, 1500, 1200);
    let layout = Layout::new(d, 200, 10);
    let mut rng = Rng::new(4);
    let x = pixels(&mut rng, rows, d);
    let y = labels(&mut rng, rows, 10);
    let start = Network::new(layout, 77, 1e-5);
    let mut reference = RefNetwork::from_f32(layout, start.params(), 1e-5);
    let x_train = RefMat::from_f32(train_rows, d, &x[..train_rows * d]);
    for _ in 0..3 {
        reference.step(&x_train, &y[..train_rows], 0.1, 0.9);
    }
    assert_close("portable build after 3 steps", &portable, &reference.params, 1e-4);
    assert!(!same_bits(&portable, start.params()), "training did not change the parameters");
    for threads in [1, 3] {
        assert!(same_bits(&portable, &train(threads, SimdPath::portable(), 3)), "portable on {threads} threads");
    }
    for path in &builds[1..] {
        assert!(same_bits(&portable, &train(2, *path, 3)), "{} differs from portable", path.name());
    }
}

#[test]
fn simd_builds_give_identical_training() {
    check_builds(&SimdPath::available());
}

#[test]
fn the_portable_build_alone_is_checked_as_on_a_cpu_without_avx2() {
    // What simd_builds_give_identical_training checks on a CPU that has
    // only the portable build, forced here on any CPU.
    check_builds(&[SimdPath::portable()]);
}

#[test]
fn odd_widths_and_class_counts_are_bit_identical_too() {
    // Off the fused passes' edges: H not a multiple of the 8 logit lanes,
    // 17 classes (the generic build, not the 10-class one), row counts off
    // the 4-row ∂W_o groups, the 16-row sweep blocks and the 256-row sum
    // chunks.
    let (shape, rows) = ((37, 201, 17), (700, 613));
    let reference = train_shape(1, SimdPath::portable(), 3, shape, rows);
    for path in SimdPath::available() {
        for threads in [1, 2, 3] {
            let got = train_shape(threads, path, 3, shape, rows);
            assert!(same_bits(&reference, &got), "{} on {threads} threads differs", path.name());
        }
    }
}

#[test]
fn parallel_gemm_with_any_alpha_and_beta_is_bit_identical_for_any_thread_count() {
    // The momentum fold's GEMM, `v ← γ·v + α·Xᵀ·dZ`, is split by the thread
    // count like every other: α and β that round (0.1, 0.9) must still give
    // the bits of one unsplit call, on shapes split by columns and by rows,
    // off the 8- and 16-wide tiles, large enough to be split at all.
    let mut rng = Rng::new(21);
    for (m, k, n) in [(784, 32, 1000), (37, 100, 1003), (300, 48, 203), (1001, 7, 999)] {
        let a: Vec<f32> = (0..m * k).map(|_| rng.uniform() as f32 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let c0: Vec<f32> = (0..m * n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut c = c0.clone();
            let (av, bv) = (MatRef::from_slice(&a, m, k), MatRef::from_slice(&b, k, n));
            pool.install(|| gemm_par(0.1, av, bv, 0.9, MatMut::from_slice(&mut c, m, n)));
            c
        };
        let mut whole = c0.clone();
        gemm(
            0.1,
            MatRef::from_slice(&a, m, k),
            MatRef::from_slice(&b, k, n),
            0.9,
            MatMut::from_slice(&mut whole, m, n),
        );
        assert!(!same_bits(&whole, &c0), "{m}x{k}x{n}: the GEMM changed nothing");
        for threads in 1..=5 {
            assert!(same_bits(&whole, &run(threads)), "{m}x{k}x{n} on {threads} threads differs from one call");
        }
    }
}

#[test]
fn small_batches_with_the_momentum_fold_are_bit_identical_too() {
    // Up to 64 training rows the ∂W_h GEMM writes the velocity (α = lr,
    // β = γ) and each block then applies it to W_h: a GEMM split that must
    // not depend on the thread count either. The last two shapes are big
    // enough to be split (off the tiles in the second).
    let shapes = [
        ((100, 200, 10), (40, 32)),
        ((37, 201, 17), (64, 64)),
        ((784, 300, 10), (1, 1)),
        ((784, 1000, 10), (64, 32)),
        ((300, 203, 10), (48, 48)),
    ];
    for (shape, rows) in shapes {
        let reference = train_shape(1, SimdPath::portable(), 4, shape, rows);
        for path in SimdPath::available() {
            for threads in [1, 2, 3] {
                let got = train_shape(threads, path, 4, shape, rows);
                assert!(same_bits(&reference, &got), "{shape:?}: {} on {threads} threads differs", path.name());
            }
        }
    }
}

#[test]
fn same_seed_same_network_other_seed_other_network() {
    let layout = Layout::new(784, 50, 10);
    let a = Network::new(layout, 5, 1e-5);
    let b = Network::new(layout, 5, 1e-5);
    let c = Network::new(layout, 6, 1e-5);
    assert!(same_bits(a.params(), b.params()));
    assert!(!same_bits(a.params(), c.params()));
}

#[test]
fn xavier_init_has_the_right_spread_and_zero_biases() {
    let layout = Layout::new(784, 1000, 10);
    let net = Network::new(layout, 0, 1e-5);
    for (tensor, fan_in, fan_out) in [
        (mlp_engine::engine::Tensor::HiddenWeights, 784.0, 1000.0),
        (mlp_engine::engine::Tensor::OutputWeights, 1000.0, 10.0),
    ] {
        let w = &net.params()[layout.range(tensor)];
        let n = w.len() as f64;
        let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = w.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        let want = 2.0 / (fan_in + fan_out);
        // n ≥ 10,000 draws: the sample variance is within 5·√(2/n) ≈ 7% of
        // the true one for a correct generator; a wrong formula (e.g. 1/fan_in)
        // is off by far more.
        assert!((var / want - 1.0).abs() < 0.07, "{}: variance {var} vs {want}", tensor.name());
        assert!(mean.abs() < 5.0 * (want / n).sqrt(), "{}: mean {mean}", tensor.name());
    }
    for tensor in [mlp_engine::engine::Tensor::HiddenBias, mlp_engine::engine::Tensor::OutputBias] {
        assert!(net.params()[layout.range(tensor)].iter().all(|&b| b == 0.0));
    }
    assert!(net.velocity().iter().all(|&v| v == 1e-5));
}
