"""What the peers of `mlp bench` share: their command line, and how they
time full-batch epochs and mini-batch epochs (medians after one warm-up),
so that every peer measures the same thing the same way.
"""
import argparse
import time


def arguments(doc, extra=lambda ap: None):
    """The workload flags every peer takes; `extra` adds a peer's own."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    extra(ap)
    ap.add_argument("--hidden", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--eval-rows", type=int, default=8_724)
    ap.add_argument("--epochs", type=int, default=8, help="full-batch epochs timed after one warm-up")
    ap.add_argument("--batches", default="32,128", help="mini-batch sizes ('' for none)")
    return ap.parse_args()


def median(xs):
    return sorted(xs)[len(xs) // 2]


def full_batch_epochs(epochs, step, measure):
    """Median seconds of `step()` and of `step()` followed by `measure` of
    its result (the epoch's loss and accuracy), over `epochs` runs after a
    warm-up."""
    steps, totals = [], []
    for _ in range(epochs + 1):
        t0 = time.perf_counter()
        out = step()
        t1 = time.perf_counter()
        measure(out)
        t2 = time.perf_counter()
        steps.append(t1 - t0)
        totals.append(t2 - t0)
    return median(steps[1:]), median(totals[1:])


def samples_per_second(rows, batch, step_on):
    """Training rows per second of epochs of `step_on(start)` over batches
    of `batch` rows at `start`, median of three after a warm-up."""
    times = []
    for _ in range(4):
        t0 = time.perf_counter()
        for s in range(0, rows - batch + 1, batch):
            step_on(s)
        times.append(time.perf_counter() - t0)
    return (rows // batch) * batch / median(times[1:])
