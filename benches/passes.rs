//! Criterion benchmarks: each fused pass against its naive loop, the GEMM
//! wrapper on the step's shapes, and the full training step.
//!
//! Every benchmark checks its result once before timing. Run with
//! `cargo bench --bench passes`; throughput is in elements or FLOP per second.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mlp_engine::passes;
use mlp_engine::rng::Rng;
use mlp_engine::{Hyper, Layout, MatRef, Matrix, Network, SimdPath, Workspace, gemm_par};
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
    let naive = |buf: &mut [f32]| {
        for (i, x) in buf.iter_mut().enumerate() {
            *x = (*x + bias[i % h]).max(0.0);
        }
    };
    let mut check_fast = z.clone();
    let mut check_naive = z.clone();
    passes::bias_relu(SimdPath::best(), &mut check_fast, &bias);
    naive(&mut check_naive);
    assert_eq!(
        check_fast, check_naive,
        "fused bias+ReLU disagrees with the naive loop"
    );
    let mut buf = z.clone();
    group.bench_function("naive", |b| b.iter(|| naive(black_box(&mut buf))));
    for path in SimdPath::available() {
        group.bench_function(path.name(), |b| {
            b.iter(|| passes::bias_relu(path, black_box(&mut buf), &bias))
        });
    }
    group.finish();
}

fn momentum(c: &mut Criterion) {
    let n = 795_010; // parameters of 784 → 1000 → 10
    let mut rng = Rng::new(2);
    let (mut w, mut v, g) = (data(&mut rng, n), data(&mut rng, n), data(&mut rng, n));
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
        group.bench_function(path.name(), |b| {
            b.iter(|| passes::momentum_update(path, &mut w, &mut v, &g, 0.1, 0.9))
        });
    }
    group.finish();
}

fn gemm_shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(10);
    let mut rng = Rng::new(3);
    // (name, m, k, n): the step's two large GEMMs at the course size.
    for (name, m, k, n, transpose_a) in [
        ("x_wh_10000x784x1000", 10_000, 784, 1000, false),
        ("xt_dz_784x10000x1000", 784, 10_000, 1000, true),
    ] {
        let a = if transpose_a {
            Matrix::from_vec(k, m, data(&mut rng, m * k))
        } else {
            Matrix::from_vec(m, k, data(&mut rng, m * k))
        };
        let b = Matrix::from_vec(k, n, data(&mut rng, k * n));
        let mut out = Matrix::zeros(m, n);
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
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
            net.step(&mut ws, xv, &y, batch, Hyper::default());
            assert!(
                ws.metrics(0..batch).loss.is_finite(),
                "step produced a non-finite loss"
            );
            group.throughput(Throughput::Elements(layout.step_flops(batch) as u64));
            group.bench_function(
                BenchmarkId::new(format!("H{h}"), format!("B{batch}")),
                |b| {
                    b.iter(|| {
                        net.step(
                            &mut ws,
                            xv,
                            &y,
                            batch,
                            Hyper {
                                learning_rate: 0.0,
                                momentum: 0.0,
                            },
                        )
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bias_relu, momentum, gemm_shapes, step);
criterion_main!(benches);
