//! Each fused pass against a naive loop, on both SIMD builds, plus the
//! numerical-stability cases of softmax and cross-entropy. The two builds
//! are designed to give bit-identical results, so they are compared with `==`.

use crate::common;

use common::labels;
use mlp_engine::engine::SimdPath;
use mlp_engine::engine::passes;
use mlp_engine::engine::rng::Rng;

fn values(rng: &mut Rng, n: usize, scale: f64) -> Vec<f32> {
    (0..n).map(|_| ((rng.uniform() - 0.5) * 2.0 * scale) as f32).collect()
}

const WIDTHS: [usize; 7] = [1, 3, 7, 8, 10, 17, 1000];
const HEIGHTS: [usize; 6] = [1, 2, 63, 65, 257, 600];

#[test]
fn bias_relu_matches_naive_and_builds_agree() {
    let mut rng = Rng::new(1);
    for &w in &WIDTHS {
        for &n in &HEIGHTS {
            let z = values(&mut rng, n * w, 2.0);
            let bias = values(&mut rng, w, 1.0);
            let expected: Vec<f32> = z.iter().enumerate().map(|(i, &v)| (v + bias[i % w]).max(0.0)).collect();
            for path in SimdPath::available() {
                let mut got = z.clone();
                passes::bias_relu(path, &mut got, &bias);
                assert_eq!(got, expected, "{n}x{w} on {}", path.name());
            }
        }
    }
}

#[test]
fn relu_passes_nan_through() {
    for path in SimdPath::available() {
        let mut z = vec![f32::NAN, -1.0, 2.0];
        passes::bias_relu(path, &mut z, &[0.0, 0.0, 0.0]);
        assert!(z[0].is_nan() && z[1] == 0.0 && z[2] == 2.0, "{z:?} on {}", path.name());
    }
}

#[test]
fn relu_backward_masks_and_sums_columns() {
    let mut rng = Rng::new(2);
    for &w in &WIDTHS {
        for &n in &HEIGHTS {
            let d = values(&mut rng, n * w, 1.0);
            let a: Vec<f32> = values(&mut rng, n * w, 1.0).iter().map(|v| v.max(0.0)).collect();
            let masked: Vec<f32> = d.iter().zip(&a).map(|(&g, &h)| if h > 0.0 { g } else { 0.0 }).collect();
            let sums: Vec<f64> = (0..w).map(|j| (0..n).map(|i| f64::from(masked[i * w + j])).sum()).collect();
            let mut results = Vec::new();
            for path in SimdPath::available() {
                let mut got = d.clone();
                let mut bias_grad = vec![f32::NAN; w];
                let mut partials = vec![0.0; passes::partials_len(n, w)];
                passes::relu_backward(path, &mut got, &a, &mut bias_grad, &mut partials);
                assert_eq!(got, masked, "{n}x{w} on {}", path.name());
                for (j, (&g, &s)) in bias_grad.iter().zip(&sums).enumerate() {
                    // f64 sums rounded once to f32 (the naive sum's order
                    // differs, so allow a few f64 ulps before that rounding).
                    assert!((f64::from(g) - s).abs() <= 1e-6 * s.abs().max(1e-3), "column {j}: {g} vs {s}");
                }
                results.push((got, bias_grad));
            }
            assert!(results.windows(2).all(|r| r[0] == r[1]), "builds disagree at {n}x{w}");
        }
    }
}

#[test]
fn column_sums_match_naive() {
    let mut rng = Rng::new(3);
    for &w in &WIDTHS {
        for &n in &HEIGHTS {
            let m = values(&mut rng, n * w, 1.0);
            for path in SimdPath::available() {
                let mut out = vec![f32::NAN; w];
                let mut partials = vec![0.0; passes::partials_len(n, w)];
                passes::column_sums(path, &m, &mut out, &mut partials);
                for j in 0..w {
                    let s: f64 = (0..n).map(|i| f64::from(m[i * w + j])).sum();
                    assert!(
                        (f64::from(out[j]) - s).abs() <= 1e-6 * s.abs().max(1e-3),
                        "{n}x{w} column {j} on {}",
                        path.name()
                    );
                }
            }
        }
    }
}

#[test]
fn momentum_update_matches_naive() {
    let mut rng = Rng::new(4);
    for n in [1, 7, 16384, 40000] {
        let w0 = values(&mut rng, n, 1.0);
        let v0 = values(&mut rng, n, 0.1);
        let g = values(&mut rng, n, 1.0);
        for path in SimdPath::available() {
            let (mut w, mut v) = (w0.clone(), v0.clone());
            passes::momentum_update(path, &mut w, &mut v, &g, 0.1, 0.9);
            for i in 0..n {
                let nv = 0.9 * v0[i] + 0.1 * g[i];
                assert_eq!((v[i], w[i]), (nv, w0[i] - nv), "element {i} of {n} on {}", path.name());
            }
        }
    }
}

/// Runs the softmax pass over `logits` (rows of `c`) and returns
/// (outputs, losses, predicted classes).
fn softmax_pass(
    path: SimdPath,
    logits: &[f32],
    bias: &[f32],
    y: &[u8],
    delta_rows: usize,
) -> (Vec<f32>, Vec<f32>, Vec<u8>) {
    let n = y.len();
    let mut out = logits.to_vec();
    let mut loss = vec![f32::NAN; n];
    let mut class = vec![99; n];
    let inv_n = 1.0 / delta_rows.max(1) as f32;
    passes::softmax_cross_entropy(path, &mut out, bias, y, &mut loss, &mut class, delta_rows, inv_n);
    (out, loss, class)
}

#[test]
fn softmax_matches_naive_f64_and_builds_agree() {
    let mut rng = Rng::new(5);
    for &c in &[1usize, 2, 10, 17] {
        for &n in &HEIGHTS {
            let z = values(&mut rng, n * c, 8.0);
            let bias = values(&mut rng, c, 1.0);
            let y = labels(&mut rng, n, c);
            let delta_rows = n / 2;
            let mut results = Vec::new();
            for path in SimdPath::available() {
                let (out, loss, class) = softmax_pass(path, &z, &bias, &y, delta_rows);
                for i in 0..n {
                    let row: Vec<f64> = (0..c).map(|j| f64::from(z[i * c + j] + bias[j])).collect();
                    let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
                    let label = y[i] as usize;
                    let want_loss = max + sum.ln() - row[label];
                    // f32 log-sum-exp of logits of magnitude ≤ 9: absolute
                    // error a few ulps of the largest term (≈ 1e-6).
                    assert!((f64::from(loss[i]) - want_loss).abs() < 1e-5, "row {i}: loss {} vs {want_loss}", loss[i]);
                    // Random logits tie in f32 probability with no real
                    // chance, so the class is the exact argmax too.
                    let argmax = (0..c).fold(0, |b, j| if row[j] > row[b] { j } else { b });
                    assert_eq!(usize::from(class[i]), argmax, "row {i} class");
                    if i >= delta_rows {
                        let p = &out[i * c..(i + 1) * c];
                        let first_max = (0..c).fold(0, |b, j| if p[j] > p[b] { j } else { b });
                        assert_eq!(usize::from(class[i]), first_max, "row {i}: the class is the argmax of p");
                    }
                    for j in 0..c {
                        let p = (row[j] - max).exp() / sum;
                        let want =
                            if i < delta_rows { (p - f64::from(u8::from(j == label))) / delta_rows as f64 } else { p };
                        // Probabilities in [0, 1] with relative error ~1e-7.
                        assert!(
                            (f64::from(out[i * c + j]) - want).abs() < 1e-6,
                            "row {i} col {j}: {} vs {want}",
                            out[i * c + j]
                        );
                    }
                }
                results.push((out, loss, class));
            }
            assert!(results.windows(2).all(|r| r[0] == r[1]), "builds disagree at {n}x{c}");
        }
    }
}

#[test]
fn softmax_and_cross_entropy_stay_finite_for_extreme_logits() {
    let c = 10;
    // Row 0: logits ±1e4; row 1: a confidently wrong prediction (the label's
    // logit 2e4 below the winner); row 2: all equal; row 3: huge and equal.
    let mut z = vec![0.0f32; 4 * c];
    for j in 0..c {
        z[j] = if j % 2 == 0 { 1e4 } else { -1e4 };
        z[c + j] = if j == 3 { 1e4 } else { 0.0 };
        z[2 * c + j] = -7.0;
        z[3 * c + j] = 1e4;
    }
    z[c] = -1e4; // row 1, label 0
    let y = [1u8, 0, 0, 9];
    let bias = vec![0.0f32; c];
    for path in SimdPath::available() {
        let (probs, loss, class) = softmax_pass(path, &z, &bias, &y, 0);
        assert!(loss.iter().all(|l| l.is_finite()), "{loss:?} on {}", path.name());
        // Row 0: label 1 has logit −1e4, winners 1e4: loss = 2e4 + ln 5.
        assert!((f64::from(loss[0]) - (2e4 + 5f64.ln())).abs() < 1e-2, "row 0 loss {}", loss[0]);
        assert!((f64::from(loss[1]) - 2e4).abs() < 1e-2, "confident miss loss {}", loss[1]);
        assert!((f64::from(loss[2]) - 10f64.ln()).abs() < 1e-6 && (f64::from(loss[3]) - 10f64.ln()).abs() < 1e-6);
        assert_eq!(class, vec![0, 3, 0, 0], "the class is the first maximum");
        for i in 0..4 {
            let row = &probs[i * c..(i + 1) * c];
            let sum: f32 = row.iter().sum();
            assert!(row.iter().all(|p| p.is_finite() && *p >= 0.0), "row {i}: {row:?}");
            assert!((sum - 1.0).abs() < 1e-6, "row {i} sums to {sum}");
        }
        let (delta, ..) = softmax_pass(path, &z, &bias, &y, 4);
        assert!(delta.iter().all(|d| d.is_finite()), "gradient not finite on {}", path.name());
        for i in 0..4 {
            let s: f32 = delta[i * c..(i + 1) * c].iter().sum();
            assert!(s.abs() < 1e-6, "row {i} of (p − y)/N sums to {s}, not 0");
        }
    }
}

#[test]
fn nan_or_infinite_logits_give_a_nan_loss() {
    for path in SimdPath::available() {
        for bad in [f32::NAN, f32::INFINITY] {
            let z = [0.0, bad, 1.0];
            let (_, loss, _) = softmax_pass(path, &z, &[0.0; 3], &[0], 0);
            assert!(loss[0].is_nan(), "{bad} gave loss {} on {}", loss[0], path.name());
        }
    }
}
