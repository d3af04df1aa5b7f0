//! `mlp`: the command-line front end (for now a short demonstration run).
use mlp_engine::rng::Rng;
use mlp_engine::{Hyper, Layout, MatRef, Network, Workspace};
use std::time::Instant;

fn main() {
    let layout = Layout::new(784, 1000, 10);
    let (rows, train_rows) = (18_724, 10_000);
    let mut rng = Rng::new(1);
    let y: Vec<u8> = (0..rows).map(|_| rng.below(10) as u8).collect();
    // Inputs that carry their label, so the demo has something to learn.
    let x: Vec<f32> = (0..rows * 784)
        .map(|i| {
            let (r, c) = (i / 784, i % 784);
            let on = c % 10 == y[r] as usize;
            if on { 0.5 + 0.5 * rng.uniform() as f32 } else { 0.3 * rng.uniform() as f32 }
        })
        .collect();
    let mut net = Network::new(layout, 0, 1e-5);
    let mut ws = Workspace::new(layout, rows, train_rows);
    let xv = MatRef::from_slice(&x, rows, 784);
    for epoch in 0..10 {
        let t = Instant::now();
        net.step(&mut ws, xv, &y, train_rows, Hyper::default());
        let (tr, held) = (ws.metrics(0..train_rows), ws.metrics(train_rows..rows));
        println!(
            "epoch {epoch}: train loss {:.4} acc {:.3}, held-out loss {:.4} acc {:.3}, {:.3} s",
            tr.loss,
            tr.accuracy,
            held.loss,
            held.accuracy,
            t.elapsed().as_secs_f64()
        );
    }
}
