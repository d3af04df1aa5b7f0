#!/usr/bin/env python3
"""Speed ratios of `mlp` against NumPy, PyTorch and JAX, measured in one sitting.

Runs `mlp bench` (release build) and the project's own peer programs in
this folder one after another on this machine, on the same workload
(784-1000-10, f32, 10,000 training rows, 8,724 evaluated per epoch, random
pixels), and prints the CPU, a table of medians and the ratios:

- peer_numpy.py: NumPy float32 at its best (see below);
- peer_torch.py: PyTorch float32, 2 threads;
- peer_jax.py: JAX float32 (the step under jax.jit), 2 threads;
- peer_assignment.py: the course assignment's NumPy code in float64, a
  separate row (not an f32 comparison).

The peers need numpy (threadpoolctl names the OpenBLAS kernel), torch and jax:

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install numpy threadpoolctl torch jax
    /tmp/peers/bin/python benches/compare.py

A peer whose import fails is skipped with a note. Only the Python standard
library is used here; this script is not part of CI.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set in the environment (some
machines set them for old OpenBLAS builds), slow a current numpy, so they are
removed for the NumPy runs: NumPy is measured at its best (and, if they were
set, also once as configured, in a row of its own).
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# The f32 peers, whose rates the ceilings and GEMM lines compare with (names start so).
F32_PEERS = ("NumPy f32", "PyTorch f32", "JAX f32")


def run_json(cmd, env=None):
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def has_module(python, module):
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def cpu_line():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def load_line():
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def run_ours():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    mlp = str(ROOT / "target" / "release" / "mlp")
    ours = {"full": run_json([mlp, "bench", "--json"])}
    for b in (32, 128):
        ours[b] = run_json([mlp, "bench", "--batch-size", str(b), "--steps", "300", "--json"])
    return mlp, ours


def run_peers(python, epochs):
    best = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    runs = [("NumPy f32", "numpy", "peer_numpy.py", ["--dtype", "float32"], best)]
    if any(v in os.environ for v in OPENBLAS_VARS):
        setting = " ".join(f"{v}={os.environ[v]}" for v in OPENBLAS_VARS if v in os.environ)
        runs.append((f"NumPy f32 ({setting}, as this machine sets it)", "numpy", "peer_numpy.py",
                     ["--dtype", "float32"], None))
    runs.append(("PyTorch f32", "torch", "peer_torch.py", ["--threads", "2"], None))
    runs.append(("JAX f32", "jax", "peer_jax.py", ["--threads", "2"], None))
    runs.append(("assignment's NumPy code, float64 (not f32)", "numpy", "peer_assignment.py", [], best))
    peers = {}
    for name, module, script, extra, env in runs:
        if not has_module(python, module):
            print(f"skipped {name}: `import {module}` fails for {python} (pip install {module})")
            continue
        peers[name] = run_json([python, str(HERE / script), "--epochs", str(epochs)] + extra, env)
    return peers


def print_tables(ours, peers):
    o = ours["full"]
    print(f"\nCPU: {cpu_line()}; {load_line()} (after the runs)")
    print(f"mlp: {o['profile']} build, {o['threads']} threads, passes {o['passes']}, "
          f"CPU features {' '.join(o['cpu_features'])}")
    for name, p in peers.items():
        if p.get("blas"):
            print(f"{name}: {p['peer']}; BLAS: {', '.join(p['blas'])}")
    print("784-1000-10, 10,000 training rows, 8,724 evaluated; medians\n")
    cell = lambda v, fmt: "–" if v is None else fmt.format(v)
    rows = [("**mlp**", o["step_seconds"]["median"], o["epoch_seconds"]["median"],
             ours[32]["samples_per_second"], ours[128]["samples_per_second"])]
    for name, p in peers.items():
        rows.append((name, p["step_median_s"], p["epoch_median_s"], p.get("b32_samples_per_s"),
                     p.get("b128_samples_per_s")))
    print("| program | full-batch step | epoch incl. valid+test | B=32 samples/s | B=128 samples/s |")
    print("|---|---|---|---|---|")
    for name, step, epoch, s32, s128 in rows:
        print(f"| {name} | {step:.3f} s | {epoch:.3f} s | {cell(s32, '{:,.0f}')} | {cell(s128, '{:,.0f}')} |")
    print("\n| mlp against | step | epoch | B=32 | B=128 |")
    print("|---|---|---|---|---|")
    ratio = lambda num, den: "–" if num is None or den is None else f"{num / den:.2f}×"
    for name, step, epoch, s32, s128 in rows[1:]:
        print(f"| {name} | {ratio(step, rows[0][1])} | {ratio(epoch, rows[0][2])} | "
              f"{ratio(rows[0][3], s32)} | {ratio(rows[0][4], s128)} |")
    print(f"\nroofline: FMA peak {o['peak_gflops']:.0f} GFLOP/s ({o['peak_level']}, {o['threads']} threads, "
          f"{o['peak_flops_per_cycle_per_core']:.1f} flops/cycle/core at {o['peak_clock_ghz']:.2f} GHz); "
          f"step {o['step_gflops']:.0f} GFLOP/s = {100 * o['step_share_of_peak']:.0f}%, "
          f"epoch {100 * o['epoch_share_of_peak']:.0f}%, big GEMMs alone {o['gemm_gflops']:.0f} GFLOP/s = "
          f"{100 * o['gemm_share_of_peak']:.0f}% of it")
    print(f"mlp step: the two big GEMMs alone take {100 * o['efficiency']:.1f}% of its time")
    gemm_flops = o["gemm_gflops"] * o["gemm_only_seconds"]["median"]
    for name, p in peers.items():
        if p.get("gemms_median_s") and name.startswith(F32_PEERS):
            print(f"the same two GEMMs alone: mlp (matrixmultiply) {gemm_flops / o['gemm_only_seconds']['median']:.0f} "
                  f"GFLOP/s, {name} {gemm_flops / p['gemms_median_s']:.0f} GFLOP/s")
    for b in (32, 128):
        m = ours[b]
        at_peak = m["samples_per_second"] * m["peak_gflops"] / m["step_gflops"]
        gemms = b / m["gemm_only_seconds"]["median"]
        fastest = max((p.get(f"b{b}_samples_per_s") or 0 for n, p in peers.items() if n.startswith(F32_PEERS)),
                      default=0)
        print(f"B={b}: mlp {m['samples_per_second']:,.0f} samples/s; its two GEMMs alone would allow "
              f"{gemms:,.0f}; the step's flops at 100% of the FMA peak at most {at_peak:,.0f}"
              + (f"; 2x the fastest f32 peer is {2 * fastest:,.0f}" if fastest else ""))
    if o.get("peak_rss_bytes"):
        print(f"mlp bench peak memory: {o['peak_rss_bytes'] / 2**20:.1f} MiB = "
              f"{o['peak_rss_bytes'] / o['needed_bytes']:.2f}x the data, activations and parameters")


def scaling(mlp):
    """Full-batch step time against N (H = 1000) and H (N = 10,000)."""
    def step(rows, hidden):
        r = run_json([mlp, "bench", "--rows", str(rows), "--hidden", str(hidden), "--eval-rows", "0",
                      "--steps", "5", "--json"])
        return r["step_seconds"]["median"]
    base = step(10_000, 1000)
    for label, cases in (("N (H = 1000)", [(n, 1000) for n in (1000, 2000, 5000, 10_000, 20_000)]),
                         ("H (N = 10,000)", [(10_000, h) for h in (100, 250, 500, 1000, 2000)])):
        print(f"\nstep time against {label}; 'per unit' is time / (N·H) relative to N = 10,000, H = 1000")
        print("| N | H | step | per unit |")
        print("|---|---|---|---|")
        for n, h in cases:
            t = base if (n, h) == (10_000, 1000) else step(n, h)
            print(f"| {n:,} | {h} | {t * 1e3:.1f} ms | {t / (n * h) / (base / 1e7):.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="interpreter with numpy/torch (default: this one)")
    ap.add_argument("--epochs", type=int, default=8, help="peer full-batch epochs timed after one warm-up")
    ap.add_argument("--scaling", action="store_true", help="also print the step-time scaling tables")
    a = ap.parse_args()
    print(f"CPU: {cpu_line()}; {load_line()} (before the runs)")
    mlp, ours = run_ours()
    peers = run_peers(a.python, a.epochs)
    print_tables(ours, peers)
    if a.scaling:
        scaling(mlp)


if __name__ == "__main__":
    main()
