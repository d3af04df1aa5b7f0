#!/usr/bin/env python3
"""PyTorch peer of `mlp bench`: the same network, update rule and workload
as peer_numpy.py, in float32 on the CPU with autograd, as a user would
write it.

Prints one JSON line of medians. Used by compare.py; runs on its own too:

    python3 benches/peer_torch.py --threads 2
"""
import json

import torch

from peer_timing import arguments, full_batch_epochs, samples_per_second

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


def full_batch(a, x, y):
    ps, vs = params(a.hidden, 0)
    xt, yt, xe, ye = x[:a.rows], y[:a.rows], x[a.rows:], y[a.rows:]

    def measure(result):
        out, loss = result
        with torch.no_grad():
            float(loss), float((out.argmax(1) == yt).float().mean())
            le = logits(ps, xe)
            float(torch.nn.functional.cross_entropy(le, ye)), float((le.argmax(1) == ye).float().mean())

    return full_batch_epochs(a.epochs, lambda: step(ps, vs, xt, yt, 1e-6, 0.0), measure)


def mini_batch(a, x, y, batch):
    ps, vs = params(a.hidden, 1)
    return samples_per_second(a.rows, batch, lambda s: step(ps, vs, x[s:s + batch], y[s:s + batch], 1e-6, 0.0))


def main():
    a = arguments(__doc__, lambda ap: ap.add_argument("--threads", type=int, default=2))
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
