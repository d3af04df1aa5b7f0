//! Criterion benchmarks: each fused pass against its naive loop, the GEMM
//! wrapper on the step's shapes, the output layer's one sweep against two,
//! and the full training step.
//!
//! Every benchmark checks its result once before timing (the passes and the
//! update against their naive loops, the GEMMs' first rows, the one sweep
//! against the two, and the step's loss at batch ≤ 128 against the f64
//! reference). Run with
//! `cargo bench -p mlp-benches`; throughput is in elements or FLOP per second.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mlp_engine::engine::SimdPath;
use mlp_engine::engine::fused::{self, OutputGrads, OutputWeights, RowBuffers, Shape};
use mlp_engine::engine::matrix::{MatRef, Matrix, gemm_par};
use mlp_engine::engine::passes;
use mlp_engine::engine::rng::Rng;
use mlp_engine::{Layout, MomentumSgd, Network, Workspace};
use std::hint::black_box;

fn data(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform() as f32 - 0.5).collect()
}

fn bias_relu(c: &mut Criterion) {
    let (n, h) = (10_000, 1000);
    let mut rng = Rng::new(1);
    let z = data(&mut rng, n * h);
    let bias = data(&mut rng, h);
    let mut group = c.benchmark_group("bias_relu");
    group.throughput(Throughput::Elements((n * h) as u64));
    // The naive version: one thread, one row at a time, written plainly.
    let naive = |buf: &mut [f32]| {
        for row in buf.chunks_mut(h) {
            for (x, b) in row.iter_mut().zip(&bias) {
                *x = (*x + b).max(0.0);
            }
        }
    };
    let mut check_fast = z.clone();
    let mut check_naive = z.clone();
    passes::bias_relu(SimdPath::best(), &mut check_fast, &bias);
    naive(&mut check_naive);
    assert_eq!(check_fast, check_naive, "fused bias+ReLU disagrees with the naive loop");
    let mut buf = z.clone();
    group.bench_function("naive", |b| b.iter(|| naive(black_box(&mut buf))));
    for path in SimdPath::available() {
        group.bench_function(path.name(), |b| b.iter(|| passes::bias_relu(path, black_box(&mut buf), &bias)));
    }
    group.finish();
}

fn softmax(c: &mut Criterion) {
    let (n, classes) = (10_000, 10);
    let mut rng = Rng::new(5);
    let logits = data(&mut rng, n * classes);
    let bias = data(&mut rng, classes);
    let labels: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();
    let (mut loss, mut class) = (vec![0.0f32; n], vec![0u8; n]);
    // The naive version: the textbook three passes per row with a fresh
    // probability vector, as NumPy code would do it.
    let naive = |z: &[f32], out: &mut [f32]| -> f64 {
        let mut total = 0.0f64;
        for (i, row) in z.chunks(classes).enumerate() {
            let shifted: Vec<f32> = row.iter().zip(&bias).map(|(v, b)| v + b).collect();
            let max = shifted.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = shifted.iter().map(|v| (v - max).exp()).collect();
            let sum: f32 = exps.iter().sum();
            total += f64::from(sum.ln() - (shifted[labels[i] as usize] - max));
            for (j, e) in exps.iter().enumerate() {
                out[i * classes + j] = (e / sum - f32::from(u8::from(j == labels[i] as usize))) / n as f32;
            }
        }
        total / n as f64
    };
    let mut fast_out = logits.clone();
    let mut naive_out = vec![0.0f32; n * classes];
    let path = SimdPath::best();
    passes::softmax_cross_entropy(path, &mut fast_out, &bias, &labels, &mut loss, &mut class, n, 1.0 / n as f32);
    let naive_loss = naive(&logits, &mut naive_out);
    let fast_loss = loss.iter().map(|&l| f64::from(l)).sum::<f64>() / n as f64;
    assert!((fast_loss - naive_loss).abs() < 1e-5, "fused softmax/CE disagrees: {fast_loss} vs {naive_loss}");
    let mut group = c.benchmark_group("softmax_cross_entropy");
    group.throughput(Throughput::Elements((n * classes) as u64));
    group.bench_function("naive", |b| b.iter(|| naive(black_box(&logits), &mut naive_out)));
    for path in SimdPath::available() {
        group.bench_function(path.name(), |b| {
            b.iter(|| {
                fast_out.copy_from_slice(&logits);
                passes::softmax_cross_entropy(
                    path,
                    &mut fast_out,
                    &bias,
                    &labels,
                    &mut loss,
                    &mut class,
                    n,
                    1.0 / n as f32,
                )
            })
        });
    }
    group.finish();
}

fn relu_backward(c: &mut Criterion) {
    let (n, h) = (10_000, 1000);
    let mut rng = Rng::new(6);
    let d = data(&mut rng, n * h);
    let a: Vec<f32> = data(&mut rng, n * h).iter().map(|v| v.max(0.0)).collect();
    let mut grad = vec![0.0f32; h];
    let mut partials = vec![0.0f64; passes::partials_len(n, h)];
    // The naive version: one thread, a mask pass and a column-sum pass.
    let naive = |buf: &mut [f32], grad: &mut [f32]| {
        for (g, &act) in buf.iter_mut().zip(&a) {
            if act <= 0.0 {
                *g = 0.0;
            }
        }
        grad.fill(0.0);
        for row in buf.chunks(h) {
            for (s, g) in grad.iter_mut().zip(row) {
                *s += g;
            }
        }
    };
    let (mut fast_buf, mut naive_buf) = (d.clone(), d.clone());
    let mut naive_grad = vec![0.0f32; h];
    passes::relu_backward(SimdPath::best(), &mut fast_buf, &a, &mut grad, &mut partials);
    naive(&mut naive_buf, &mut naive_grad);
    assert_eq!(fast_buf, naive_buf, "fused ReLU backward disagrees with the naive loop");
    let mut group = c.benchmark_group("relu_backward");
    group.throughput(Throughput::Elements((n * h) as u64));
    group.bench_function("naive", |b| b.iter(|| naive(black_box(&mut naive_buf), &mut naive_grad)));
    for path in SimdPath::available() {
        group.bench_function(path.name(), |b| {
            b.iter(|| passes::relu_backward(path, &mut fast_buf, &a, &mut grad, &mut partials))
        });
    }
    group.finish();
}

fn momentum(c: &mut Criterion) {
    let n = 795_010; // parameters of 784 → 1000 → 10
    let mut rng = Rng::new(2);
    let (mut w, mut v, g) = (data(&mut rng, n), data(&mut rng, n), data(&mut rng, n));
    let (mut w_naive, mut v_naive) = (w.clone(), v.clone());
    for i in 0..n {
        v_naive[i] = 0.9 * v_naive[i] + 0.1 * g[i];
        w_naive[i] -= v_naive[i];
    }
    for path in SimdPath::available() {
        let (mut w_fast, mut v_fast) = (w.clone(), v.clone());
        passes::momentum_update(path, &mut w_fast, &mut v_fast, &g, 0.1, 0.9);
        assert!(
            w_fast == w_naive && v_fast == v_naive,
            "{} momentum update disagrees with the naive loop",
            path.name()
        );
    }
    let mut group = c.benchmark_group("momentum_update");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("naive", |b| {
        b.iter(|| {
            for i in 0..n {
                v[i] = 0.9 * v[i] + 0.1 * g[i];
                w[i] -= v[i];
            }
        })
    });
    for path in SimdPath::available() {
        group.bench_function(path.name(), |b| b.iter(|| passes::momentum_update(path, &mut w, &mut v, &g, 0.1, 0.9)));
    }
    group.finish();
}

fn gemm_shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(10);
    let mut rng = Rng::new(3);
    // (name, m, k, n): the step's two large GEMMs at the course size.
    for (name, m, k, n, transpose_a) in
        [("x_wh_10000x784x1000", 10_000, 784, 1000, false), ("xt_dz_784x10000x1000", 784, 10_000, 1000, true)]
    {
        let a = if transpose_a {
            Matrix::from_vec(k, m, data(&mut rng, m * k))
        } else {
            Matrix::from_vec(m, k, data(&mut rng, m * k))
        };
        let b = Matrix::from_vec(k, n, data(&mut rng, k * n));
        let mut out = Matrix::zeros(m, n);
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let av = if transpose_a { a.view().t() } else { a.view() };
        // Check the first rows against the naive product (all rows would
        // take the naive loop seconds).
        let check_rows = 16.min(m);
        let exact = mlp_engine::engine::reference::matmul(
            &mlp_engine::engine::reference::RefMat::from_f32(
                check_rows,
                k,
                av.row_range(0, check_rows).to_matrix().as_slice(),
            ),
            &mlp_engine::engine::reference::RefMat::from_f32(k, n, b.as_slice()),
        );
        gemm_par(1.0, av, b.view(), 0.0, out.view_mut());
        let got = &out.as_slice()[..check_rows * n];
        let worst = got.iter().zip(&exact.data).map(|(&x, &y)| (f64::from(x) - y).abs()).fold(0.0, f64::max);
        // Values are sums of up to 10,000 products of magnitude ≤ 0.25.
        assert!(worst < 1e-2, "{name}: GEMM differs from the naive product by {worst}");
        group.bench_function(BenchmarkId::new("flop", name), |bench| {
            bench.iter(|| {
                let av = if transpose_a { a.view().t() } else { a.view() };
                gemm_par(1.0, av, b.view(), 0.0, out.view_mut());
            })
        });
    }
    group.finish();
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    group.sample_size(10);
    for &h in &[100usize, 500, 1000, 2000] {
        for &batch in &[32usize, 128, 1000, 10_000] {
            let layout = Layout::new(784, h, 10);
            let mut rng = Rng::new(4);
            let x = data(&mut rng, batch * 784);
            let y: Vec<u8> = (0..batch).map(|i| (i % 10) as u8).collect();
            let mut net = Network::new(layout, 0, 1e-5);
            let mut ws = Workspace::new(layout, batch, batch);
            let xv = MatRef::from_slice(&x, batch, 784);
            if batch <= 128 {
                // The step's loss against the f64 reference (the naive
                // reference is too slow for the larger batches).
                let reference = mlp_engine::engine::reference::RefNetwork::from_f32(layout, net.params(), 0.0);
                let expected = reference.loss(&mlp_engine::engine::reference::RefMat::from_f32(batch, 784, &x), &y);
                net.step(&mut ws, xv, &y, batch, MomentumSgd::default());
                let got = ws.metrics(0..batch).loss;
                assert!((got - expected).abs() < 1e-4 * expected, "H{h} B{batch}: loss {got} vs reference {expected}");
            } else {
                net.step(&mut ws, xv, &y, batch, MomentumSgd::default());
                assert!(ws.metrics(0..batch).loss.is_finite(), "step produced a non-finite loss");
            }
            group.throughput(Throughput::Elements(layout.step_flops(batch) as u64));
            group.bench_function(BenchmarkId::new(format!("H{h}"), format!("B{batch}")), |b| {
                b.iter(|| net.step(&mut ws, xv, &y, batch, MomentumSgd { learning_rate: 0.0, momentum: 0.0 }))
            });
        }
    }
    group.finish();
}

/// The output layer's one sweep per step (`fused::output_layer_step`: bias +
/// ReLU, logits, softmax, δ, ∂W_o and ∂b_h sums, dZ over A) at the course's
/// size, against the same work as two sweeps (`forward_output` then
/// `backward_hidden`), on all threads and on one.
fn output_layer(c: &mut Criterion) {
    let (n, h, classes) = (10_000, 1000, 10);
    let mut rng = Rng::new(8);
    let z = data(&mut rng, n * h);
    let (b_h, w_o, b_o) = (data(&mut rng, h), data(&mut rng, h * classes), data(&mut rng, classes));
    let labels: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();
    let mut w_o_t = vec![0.0f32; h * classes];
    fused::transpose_output_weights(&w_o, h, classes, &mut w_o_t);
    let w = OutputWeights { hidden_bias: &b_h, transposed: &w_o_t, output_bias: &b_o };
    let mut logits = vec![0.0f32; n * classes];
    let (mut loss, mut class) = (vec![0.0f32; n], vec![0u8; n]);
    let (mut g_b_h, mut g_w_o) = (vec![0.0f32; h], vec![0.0f32; h * classes]);
    let mut sums = vec![0.0f32; fused::partials_len(n, h, classes)];
    let shape = Shape { rows: n, train_rows: n, hidden: h, classes };
    let mut one_sweep = |path: SimdPath, hidden: &mut [f32], g_b_h: &mut [f32], g_w_o: &mut [f32]| {
        let rows = RowBuffers { hidden, logits: &mut logits, loss: &mut loss, class: &mut class };
        let grads = OutputGrads { hidden_bias: g_b_h, output_weights: g_w_o, partials: &mut sums };
        fused::output_layer_step(path, shape, rows, &w, &labels, grads);
    };
    let mut logits2 = vec![0.0f32; n * classes];
    let (mut loss2, mut class2) = (vec![0.0f32; n], vec![0u8; n]);
    let mut sums2 = vec![0.0f32; fused::partials_len(n, h, classes)];
    let mut two_sweeps = |path: SimdPath, hidden: &mut [f32], g_b_h: &mut [f32], g_w_o: &mut [f32]| {
        let rows = RowBuffers { hidden: &mut *hidden, logits: &mut logits2, loss: &mut loss2, class: &mut class2 };
        fused::forward_output(path, shape, rows, &w, &labels);
        let grads = OutputGrads { hidden_bias: g_b_h, output_weights: g_w_o, partials: &mut sums2 };
        fused::backward_hidden(path, shape, hidden, &logits2, &w_o_t, grads);
    };
    // Checked once: the one sweep gives the two sweeps' bits.
    let (mut a1, mut a2) = (z.clone(), z.clone());
    let (mut b2, mut w2) = (vec![0.0f32; h], vec![0.0f32; h * classes]);
    one_sweep(SimdPath::best(), &mut a1, &mut g_b_h, &mut g_w_o);
    two_sweeps(SimdPath::best(), &mut a2, &mut b2, &mut w2);
    assert!(a1 == a2 && g_b_h == b2 && g_w_o == w2, "the one sweep disagrees with forward + backward");
    let mut group = c.benchmark_group("output_layer");
    group.sample_size(20);
    group.throughput(Throughput::Elements((n * h) as u64));
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let fresh = || z.clone();
    for path in SimdPath::available() {
        group.bench_function(format!("two sweeps, {}", path.name()), |b| {
            b.iter_batched_ref(fresh, |a| two_sweeps(path, a, &mut b2, &mut w2), BatchSize::LargeInput)
        });
        group.bench_function(format!("one sweep, {}", path.name()), |b| {
            b.iter_batched_ref(fresh, |a| one_sweep(path, a, &mut g_b_h, &mut g_w_o), BatchSize::LargeInput)
        });
        group.bench_function(format!("one sweep, {}, 1 thread", path.name()), |b| {
            b.iter_batched_ref(
                fresh,
                |a| one_thread.install(|| one_sweep(path, a, &mut g_b_h, &mut g_w_o)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bias_relu, softmax, relu_backward, momentum, gemm_shapes, output_layer, step);
criterion_main!(benches);
