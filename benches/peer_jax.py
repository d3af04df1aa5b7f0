#!/usr/bin/env python3
"""JAX peer of `mlp bench`: the same network, update rule and workload as
peer_numpy.py, in float32 on the CPU, the step compiled once by `jax.jit`
with gradients from `jax.grad`, as a user would write it.

XLA has no flag for its number of CPU threads, so the process is pinned to
--threads CPUs (default 2) before JAX is imported, where the machine has
more. Prints one JSON line of medians. Used by compare.py; runs on its own
too:

    python3 benches/peer_jax.py --threads 2
"""
import json
import os

from peer_timing import arguments, full_batch_epochs, samples_per_second

D, C = 784, 10


def main():
    a = arguments(__doc__, lambda ap: ap.add_argument("--threads", type=int, default=2))
    cpus = sorted(os.sched_getaffinity(0))
    if a.threads < len(cpus):
        os.sched_setaffinity(0, cpus[:a.threads])
    import jax
    import jax.numpy as jnp

    def logits(ps, x):
        return jax.nn.relu(x @ ps[0] + ps[1]) @ ps[2] + ps[3]

    def loss_of(ps, x, y):
        out = logits(ps, x)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(out), y[:, None], 1)), out

    @jax.jit
    def step(ps, vs, x, y):
        (loss, out), grads = jax.value_and_grad(loss_of, has_aux=True)(ps, x, y)
        # lr 1e-6 and momentum 0, as the other peers time it.
        vs = [0.0 * v + 1e-6 * g for v, g in zip(vs, grads)]
        ps = [p - v for p, v in zip(ps, vs)]
        return ps, vs, loss, out

    @jax.jit
    def evaluate(ps, x, y):
        loss, out = loss_of(ps, x, y)
        return loss, jnp.mean(out.argmax(1) == y)

    def params(hidden, seed):
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        wh = jax.random.normal(k1, (D, hidden), jnp.float32) * (2 / (D + hidden)) ** 0.5
        wo = jax.random.normal(k2, (hidden, C), jnp.float32) * (2 / (hidden + C)) ** 0.5
        ps = [wh, jnp.zeros(hidden, jnp.float32), wo, jnp.zeros(C, jnp.float32)]
        return ps, [jnp.full_like(p, 1e-5) for p in ps]

    key = jax.random.PRNGKey(2024)
    kx, ky = jax.random.split(key)
    x = jax.random.uniform(kx, (a.rows + a.eval_rows, D), jnp.float32)
    y = jax.random.randint(ky, (a.rows + a.eval_rows,), 0, C)
    xt, yt, xe, ye = x[:a.rows], y[:a.rows], x[a.rows:], y[a.rows:]

    state = {"ps": None, "vs": None}
    state["ps"], state["vs"] = params(a.hidden, 0)

    def full_step():
        state["ps"], state["vs"], loss, out = step(state["ps"], state["vs"], xt, yt)
        loss.block_until_ready()
        return loss, out

    def measure(result):
        loss, out = result
        float(loss), float(jnp.mean(out.argmax(1) == yt))
        le, ae = evaluate(state["ps"], xe, ye)
        float(le), float(ae)

    step_s, epoch_s = full_batch_epochs(a.epochs, full_step, measure)
    result = {"peer": f"jax {jax.__version__} float32, {a.threads} threads", "step_median_s": step_s,
              "epoch_median_s": epoch_s, "blas": ["XLA (Eigen) CPU"]}
    for b in filter(None, a.batches.split(",")):
        b = int(b)
        state["ps"], state["vs"] = params(a.hidden, 1)

        def batch_step(s, b=b):
            state["ps"], state["vs"], loss, _ = step(state["ps"], state["vs"], x[s:s + b], y[s:s + b])
            loss.block_until_ready()

        result[f"b{b}_samples_per_s"] = samples_per_second(a.rows, b, batch_step)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
