//! The reference's analytic gradients against central finite differences,
//! all in f64, and ten fast training steps against the reference's loss curve.

use crate::common;

use common::{labels, pixels};
use mlp_engine::engine::matrix::MatRef;
use mlp_engine::engine::reference::{RefMat, RefNetwork};
use mlp_engine::engine::rng::Rng;
use mlp_engine::{Layout, MomentumSgd, Network, Workspace};

#[test]
fn reference_gradients_match_central_finite_differences() {
    let (d, h, c, n) = (6, 5, 4, 9);
    let layout = Layout::new(d, h, c);
    let mut rng = Rng::new(21);
    let x = RefMat::from_f32(n, d, &pixels(&mut rng, n, d));
    let y = labels(&mut rng, n, c);
    let mut net = RefNetwork::from_f32(layout, Network::new(layout, 3, 0.0).params(), 0.0);
    // Non-zero biases so their gradients are exercised away from symmetry.
    for (i, p) in net.params.iter_mut().enumerate() {
        *p += 0.01 * ((i % 7) as f64 - 3.0);
    }
    let analytic = net.pass(&x, &y).grads;
    // Step 1e-6: truncation error O(step²) ≈ 1e-12 and rounding error
    // O(ε/step) ≈ 1e-10 relative to a loss of order 1, so a correct gradient
    // agrees to ~1e-8; a ReLU kink inside the step would break that, and
    // none of these random pre-activations is within 1e-6 of zero.
    let step = 1e-6;
    let mut worst = (0, 0.0f64);
    for (i, &exact) in analytic.iter().enumerate() {
        let original = net.params[i];
        net.params[i] = original + step;
        let up = net.loss(&x, &y);
        net.params[i] = original - step;
        let down = net.loss(&x, &y);
        net.params[i] = original;
        let numeric = (up - down) / (2.0 * step);
        let diff = (numeric - exact).abs();
        if diff > worst.1 {
            worst = (i, diff);
        }
    }
    assert!(
        worst.1 < 1e-7,
        "parameter {}: analytic {} vs numeric differs by {:.3e}",
        worst.0,
        analytic[worst.0],
        worst.1
    );
}

#[test]
fn ten_fast_steps_follow_the_reference_loss_curve() {
    let (d, h, c, n) = (64, 48, 10, 200);
    let layout = Layout::new(d, h, c);
    let mut rng = Rng::new(8);
    let x = pixels(&mut rng, n, d);
    let y = labels(&mut rng, n, c);
    let optimizer = MomentumSgd { learning_rate: 0.5, momentum: 0.9 };
    let mut fast = Network::new(layout, 9, 1e-5);
    let mut reference = RefNetwork::from_f32(layout, fast.params(), 1e-5);
    let mut ws = Workspace::new(layout, n, n);
    let xr = RefMat::from_f32(n, d, &x);
    let mut losses = Vec::new();
    for step in 0..10 {
        fast.step(&mut ws, MatRef::from_slice(&x, n, d), &y, n, optimizer);
        let got = ws.metrics(0..n).loss;
        let want = reference.step(&xr, &y, 0.5, 0.9).loss;
        losses.push(want);
        // f32 against f64 over ten steps: errors of ~1e-6 per step compound
        // through the momentum; 1e-4 relative is far below the per-step
        // change of the loss (≥ 1e-3 here), so a wrong update shows.
        assert!((got - want).abs() <= 1e-4 * want, "step {step}: fast loss {got} vs reference {want}");
    }
    // The curve must actually move, or the comparison proves nothing.
    assert!(losses[9] < losses[0] - 0.05, "loss did not fall: {losses:?}");
    let max_param_diff =
        fast.params().iter().zip(&reference.params).map(|(&a, &b)| (f64::from(a) - b).abs()).fold(0.0, f64::max);
    assert!(max_param_diff < 1e-4, "parameters drifted apart by {max_param_diff:.3e}");
}
