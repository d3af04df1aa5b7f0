#!/usr/bin/env python3
"""PyTorch peer of `mlp bench`: the same network, update rule and workload
as peer_numpy.py, in float32 on the CPU with autograd, as a user would
write it.

Prints one JSON line of medians. Used by compare.py; runs on its own too:

    python3 benches/peer_torch.py --threads 2
"""
import argparse
import json
import time

import torch

D, C = 784, 10


def params(hidden, seed):
    g = torch.Generator().manual_seed(seed)
    wh = torch.randn(D, hidden, generator=g) * (2 / (D + hidden)) ** 0.5
    wo = torch.randn(hidden, C, generator=g) * (2 / (hidden + C)) ** 0.5
    ps = [p.requires_grad_() for p in (wh, torch.zeros(hidden), wo, torch.zeros(C))]
    return ps, [torch.full_like(p, 1e-5) for p in ps]


def logits(ps, x):
    return torch.relu(x @ ps[0] + ps[1]) @ ps[2] + ps[3]


def step(ps, vs, x, y, lr, gamma):
    out = logits(ps, x)
    loss = torch.nn.functional.cross_entropy(out, y)
    for p in ps:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p, v in zip(ps, vs):
            v.mul_(gamma).add_(p.grad, alpha=lr)
            p.sub_(v)
    return out.detach(), loss.detach()


def median(xs):
    return sorted(xs)[len(xs) // 2]


def full_batch(a, x, y):
    ps, vs = params(a.hidden, 0)
    xt, yt, xe, ye = x[:a.rows], y[:a.rows], x[a.rows:], y[a.rows:]
    steps, epochs = [], []
    for _ in range(a.epochs + 1):
        t0 = time.perf_counter()
        out, loss = step(ps, vs, xt, yt, 1e-6, 0.0)
        t1 = time.perf_counter()
        with torch.no_grad():
            float(loss), float((out.argmax(1) == yt).float().mean())
            le = logits(ps, xe)
            float(torch.nn.functional.cross_entropy(le, ye)), float((le.argmax(1) == ye).float().mean())
        t2 = time.perf_counter()
        steps.append(t1 - t0)
        epochs.append(t2 - t0)
    return median(steps[1:]), median(epochs[1:])


def mini_batch(a, x, y, batch):
    ps, vs = params(a.hidden, 1)
    times = []
    for _ in range(4):
        t0 = time.perf_counter()
        for s in range(0, a.rows - batch + 1, batch):
            step(ps, vs, x[s:s + batch], y[s:s + batch], 1e-6, 0.0)
        times.append(time.perf_counter() - t0)
    return (a.rows // batch) * batch / median(times[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--eval-rows", type=int, default=8_724)
    ap.add_argument("--epochs", type=int, default=8, help="full-batch epochs timed after one warm-up")
    ap.add_argument("--batches", default="32,128", help="mini-batch sizes ('' for none)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(2024)
    x = torch.rand(a.rows + a.eval_rows, D, generator=g)
    y = torch.randint(0, C, (a.rows + a.eval_rows,), generator=g)
    step_s, epoch_s = full_batch(a, x, y)
    out = {"peer": f"torch {torch.__version__} float32, {a.threads} threads", "step_median_s": step_s,
           "epoch_median_s": epoch_s, "blas": ["MKL" if torch.backends.mkl.is_available() else "no MKL"]}
    for b in filter(None, a.batches.split(",")):
        out[f"b{b}_samples_per_s"] = mini_batch(a, x, y, int(b))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
