#!/usr/bin/env python3
"""Speed ratios of `mlp` against the NumPy and PyTorch peers, measured in one sitting.

Runs `mlp bench` (release build) and the peer programs in ../shared/bench/
one after another on this machine and prints a table of ratios. The peers
need numpy and torch:

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install numpy torch
    /tmp/peers/bin/python benches/compare.py

A peer whose import fails is skipped with a note. Only the Python standard
library is used here; this script is not part of CI.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set in the environment (some
machines set them for old OpenBLAS builds), slow a current numpy, so they are
removed for the NumPy runs: NumPy is measured at its best.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_json(cmd, env=None):
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


def has_module(python, module):
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="interpreter with numpy/torch (default: this one)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared folder with bench/ and data/")
    ap.add_argument("--epochs", type=int, default=8, help="peer full-batch epochs (median of all but the first)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the step-time scaling tables")
    a = ap.parse_args()

    shared = Path(a.shared)
    data = shared / "data" / "notmnist-t10k"
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    mlp = str(ROOT / "target" / "release" / "mlp")

    ours = {}
    ours["full"] = json.loads(run_json([mlp, "bench", "--json"]))
    for b in (32, 128):
        ours[b] = json.loads(run_json([mlp, "bench", "--batch-size", str(b), "--steps", "200", "--json"]))

    numpy_best = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    runs = [("NumPy f32", "numpy", "seed32", numpy_best)]
    if "OPENBLAS_CORETYPE" in os.environ:
        # Also as this machine is configured, which is what a user here gets.
        runs.append((f"NumPy f32 (OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']})", "numpy", "seed32", None))
    runs.append(("PyTorch", "torch", "torch", None))
    peers = {}
    for name, module, impl, env in runs:
        if not has_module(a.python, module):
            print(f"skipped {name}: `import {module}` fails for {a.python} (pip install {module})")
            continue
        full = json.loads(run_json([
            a.python, str(shared / "bench" / "peer_fullbatch.py"), "--impl", impl,
            "--images", str(data / "t10k-images-idx3-ubyte.gz"), "--labels", str(data / "t10k-labels-idx1-ubyte.gz"),
            "--tile", "2", "--limit", "18724", "--split", "10000,6000", "--epochs", str(a.epochs)], env))
        mini = {}
        for b in (32, 128):
            line = run_json([a.python, str(shared / "bench" / "peer_minibatch.py"), module, str(b), "1000"], env)
            mini[b] = float(line.split("samples_per_s=")[1])
        peers[name] = (full, mini)

    o = ours["full"]
    print(f"\nmlp: {o['profile']} build, {o['threads']} threads, CPU features {' '.join(o['cpu_features'])}, passes {o['passes']}")
    print(f"784-1000-10, 10,000 training rows, 8,724 evaluated; medians\n")
    rows = [("mlp", o["step_seconds"]["median"], o["epoch_seconds"]["median"],
             ours[32]["samples_per_second"], ours[128]["samples_per_second"])]
    for name, (full, mini) in peers.items():
        rows.append((name, full["step_median_s"], full["epoch_median_s"], mini[32], mini[128]))
    print(f"| program | full-batch step | epoch incl. valid+test | B=32 samples/s | B=128 samples/s |")
    print(f"|---|---|---|---|---|")
    for name, step, epoch, s32, s128 in rows:
        print(f"| {name} | {step:.3f} s | {epoch:.3f} s | {s32:,.0f} | {s128:,.0f} |")
    print()
    for name, step, epoch, s32, s128 in rows[1:]:
        print(f"mlp vs {name}: epoch {epoch / rows[0][2]:.2f}x faster, step {step / rows[0][1]:.2f}x, "
              f"B=32 {rows[0][3] / s32:.1f}x, B=128 {rows[0][4] / s128:.1f}x the samples/s")
    print(f"mlp step efficiency: {100 * o['efficiency']:.1f}% of the same run's GEMM-only rate "
          f"({o['step_gflops']:.0f} vs {o['gemm_gflops']:.0f} GFLOP/s)")
    if not a.no_scaling:
        scaling(mlp)
    if o.get("peak_rss_bytes"):
        print(f"mlp bench peak memory: {o['peak_rss_bytes'] / 2**20:.1f} MiB = "
              f"{o['peak_rss_bytes'] / o['needed_bytes']:.2f}x the data, activations and parameters")


def scaling(mlp):
    """Full-batch step time against N (H = 1000) and H (N = 10,000)."""
    def step(rows, hidden):
        r = json.loads(run_json([mlp, "bench", "--rows", str(rows), "--hidden", str(hidden), "--eval-rows", "0",
                                 "--steps", "5", "--json"]))
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
    print()


if __name__ == "__main__":
    main()
