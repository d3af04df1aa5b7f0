#!/usr/bin/env python3
"""The course assignment's own NumPy code, float64, full batch, as a peer row.

Written the assignment's way, one helper per formula (compute_layer, relu,
softmax, cross_entropy, grad_* ...), with its two defects fixed as in
src/engine/reference.rs (softmax subtracts each row's max; the ReLU
derivative does not overwrite the activations; the velocity persists).
float64 throughout, as the assignment's code runs: this row is not an f32
comparison. Same workload as peer_numpy.py: a full-batch step over the
training rows; an epoch adds loss and accuracy of the evaluation rows.

    python3 benches/peer_assignment.py
"""
import argparse
import json

import numpy as np

from peer_timing import full_batch_epochs

D, C = 784, 10


def compute_layer(x, w, b):
    return x @ w + b


def relu(z):
    return np.maximum(0.0, z)


def der_relu(a):
    return (a > 0).astype(a.dtype)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(p, y):
    return -np.mean(np.log(p[np.arange(len(y)), y] + 1e-300))


def accuracy(p, y):
    return np.mean(p.argmax(axis=1) == y)


def forward(params, x):
    w_h, b_h, w_o, b_o = params
    hidden = relu(compute_layer(x, w_h, b_h))
    return hidden, softmax(compute_layer(hidden, w_o, b_o))


def train_step(params, velocity, x, targets, alpha, gamma):
    w_h, b_h, w_o, b_o = params
    hidden, p = forward(params, x)
    delta = (p - targets) / len(x)
    grad_w_o = hidden.T @ delta
    grad_b_o = delta.sum(axis=0)
    delta_hidden = (delta @ w_o.T) * der_relu(hidden)
    grad_w_h = x.T @ delta_hidden
    grad_b_h = delta_hidden.sum(axis=0)
    for w, v, g in zip(params, velocity, (grad_w_h, grad_b_h, grad_w_o, grad_b_o)):
        v[...] = gamma * v + alpha * g
        w -= v
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--eval-rows", type=int, default=8_724)
    ap.add_argument("--epochs", type=int, default=6, help="epochs timed after one warm-up")
    a = ap.parse_args()
    rng = np.random.default_rng(2024)
    x = rng.random((a.rows + a.eval_rows, D))
    y = rng.integers(0, C, a.rows + a.eval_rows)
    targets = np.eye(C)[y[:a.rows]]
    params = [rng.normal(0, np.sqrt(2 / (D + a.hidden)), (D, a.hidden)), np.zeros(a.hidden),
              rng.normal(0, np.sqrt(2 / (a.hidden + C)), (a.hidden, C)), np.zeros(C)]
    velocity = [np.full_like(p, 1e-5) for p in params]

    def measure(p):
        cross_entropy(p, y[:a.rows]), accuracy(p, y[:a.rows])
        _, pe = forward(params, x[a.rows:])
        cross_entropy(pe, y[a.rows:]), accuracy(pe, y[a.rows:])

    step_s, epoch_s = full_batch_epochs(
        a.epochs, lambda: train_step(params, velocity, x[:a.rows], targets, 1e-6, 0.0), measure)
    print(json.dumps({"peer": f"assignment code, numpy {np.__version__} float64",
                      "step_median_s": step_s, "epoch_median_s": epoch_s}))


if __name__ == "__main__":
    main()
