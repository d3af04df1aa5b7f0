#!/usr/bin/env python3
"""NumPy peer of `mlp bench`: the same network, update rule and workload.

784 -> H (ReLU) -> 10 (softmax), mean cross-entropy, momentum
v <- gamma*v + alpha*grad, W <- W - v, on random pixels in [0, 1):

- full batch: one step over the training rows (forward, backward, update);
  an epoch adds loss and accuracy of the evaluation rows (valid + test);
- mini-batch: one epoch of steps of B rows, samples per second;
- the step's two big GEMMs alone (X·W_h and Xᵀ·dZ), for the BLAS's own rate.

Prints one JSON line of medians. `--dtype float64` runs the same code in
float64 (for the precision of the course's own NumPy code, see
peer_assignment.py). Used by compare.py; runs on its own too:

    python3 benches/peer_numpy.py --dtype float32
"""
import json
import time

import numpy as np

from peer_timing import arguments, full_batch_epochs, median, samples_per_second

D, C = 784, 10


def params(hidden, dtype, rng):
    wh = rng.normal(0, np.sqrt(2 / (D + hidden)), (D, hidden)).astype(dtype)
    wo = rng.normal(0, np.sqrt(2 / (hidden + C)), (hidden, C)).astype(dtype)
    ps = [wh, np.zeros(hidden, dtype), wo, np.zeros(C, dtype)]
    return ps, [np.full_like(p, 1e-5) for p in ps]


def forward(ps, x):
    a = np.maximum(x @ ps[0] + ps[1], 0)
    z = a @ ps[2] + ps[3]
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return a, e / e.sum(1, keepdims=True)


def step(ps, vs, x, t, lr, gamma):
    a, p = forward(ps, x)
    g = (p - t) / len(x)
    dz = (g @ ps[2].T) * (a > 0)
    grads = [x.T @ dz, dz.sum(0), a.T @ g, g.sum(0)]
    for w, v, gr in zip(ps, vs, grads):
        v *= gamma
        v += lr * gr
        w -= v
    return p


def metrics(p, y):
    rows = np.arange(len(y))
    return float(-np.log(p[rows, y] + 1e-30).mean()), float((p.argmax(1) == y).mean())


def full_batch(args, dtype, x, y, t):
    ps, vs = params(args.hidden, dtype, np.random.default_rng(0))
    xt, tt, xe, ye = x[:args.rows], t[:args.rows], x[args.rows:], y[args.rows:]

    def measure(p):
        metrics(p, y[:args.rows])
        metrics(forward(ps, xe)[1], ye)

    return full_batch_epochs(args.epochs, lambda: step(ps, vs, xt, tt, 1e-6, 0.0), measure)


def gemms_only(args, dtype, x):
    """The step's two big GEMMs alone, X·W_h and Xᵀ·dZ, on its shapes."""
    ps, _ = params(args.hidden, dtype, np.random.default_rng(0))
    xt = x[:args.rows]
    dz = np.random.default_rng(3).random((args.rows, args.hidden), dtype=np.float64).astype(dtype)
    times = []
    for _ in range(args.epochs + 1):
        t0 = time.perf_counter()
        xt @ ps[0]
        xt.T @ dz
        times.append(time.perf_counter() - t0)
    return median(times[1:])


def mini_batch(args, dtype, x, t, batch):
    ps, vs = params(args.hidden, dtype, np.random.default_rng(1))
    return samples_per_second(args.rows, batch, lambda s: step(ps, vs, x[s:s + batch], t[s:s + batch], 1e-6, 0.0))


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                f"{i.get('num_threads')} threads" for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:
        return None


def main():
    a = arguments(__doc__, lambda ap: ap.add_argument("--dtype", choices=["float32", "float64"], default="float32"))
    dtype = np.dtype(a.dtype)
    rng = np.random.default_rng(2024)
    x = rng.random((a.rows + a.eval_rows, D), dtype=np.float64).astype(dtype)
    y = rng.integers(0, C, a.rows + a.eval_rows)
    t = np.eye(C, dtype=dtype)[y]
    step_s, epoch_s = full_batch(a, dtype, x, y, t)
    out = {"peer": f"numpy {np.__version__} {a.dtype}", "step_median_s": step_s, "epoch_median_s": epoch_s,
           "gemms_median_s": gemms_only(a, dtype, x), "blas": blas_info()}
    for b in filter(None, a.batches.split(",")):
        out[f"b{b}_samples_per_s"] = mini_batch(a, dtype, x, t, int(b))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
