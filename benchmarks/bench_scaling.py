"""Seconds per epoch on 1 to 16 threads, on the sweep's largest shapes, against
scikit-learn with its BLAS on every core.

Run by hand on a machine with many cores, never in CI::

    python benchmarks/bench_scaling.py                     # 1, 2, 4, 8, 16 threads
    python benchmarks/bench_scaling.py --threads 1 2 4     # fewer
    python benchmarks/bench_scaling.py --json out.json     # the numbers, as JSON

For each shape and thread count ``t``, skreg fits under ``threadpool_limits(t)``
with every epoch on ``t`` threads (at most the parts of a batch; the choice by the
clock, which could keep one thread, is set aside so that the scaling shows), and
the weights are checked equal to the one-thread fit's. ``default`` is skreg as a
user runs it, every core at hand; ``sklearn`` is scikit-learn's MLP with its BLAS
on every core, ``sklearn 1`` on one. Every fit trains with Adam and L2 for a fixed
number of epochs; skreg's alpha is scikit-learn's over the batch size (the same
objective, as in ``bench_sweep.py``). Each number is the median of ``--repeats``
fits, run round robin.
"""

import argparse
import json
import os
import time
import warnings

import numpy as np
from bench_sweep import ALPHA, _data, estimators
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skreg import _epoch, _parallel

# (rows, features, hidden, batch, dtype, task): the sweep's largest networks, a
# wide network on more rows, where scikit-learn's threaded BLAS does best, and
# batches large enough to split in more than two parts.
SHAPES = [
    (12000, 64, (256, 128), 512, "float64", "regress"),
    (6000, 160, (512, 256), 512, "float64", "classify"),
    (5000, 256, (512, 256), 256, "float32", "classify"),
    (4000, 256, (512,), 512, "float64", "regress"),
    (20000, 100, (512, 512), 200, "float64", "classify"),
    (20000, 100, (512, 512), 1024, "float64", "classify"),
    (40000, 64, (256, 128), 4096, "float32", "regress"),
]


def _units(shape):
    rows, features, hidden, batch, dtype, task = shape
    return [features, *hidden, 4 if task == "classify" else 1]


def _fit(model, X, y, threads=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        if threads is None:
            model.fit(X, y)
        else:
            with threadpool_limits(threads):
                model.fit(X, y)
        return time.perf_counter() - start


def _weights(model):
    return np.concatenate([a.ravel() for a in model.coefs_ + model.intercepts_])


def run_shape(shape, thread_counts, repeats, epochs):
    rows, features, hidden, batch, dtype, task = shape
    X, y = _data(rows, features, dtype, task)
    common, SK, SR = estimators(shape, epochs)
    _fit(SR(**{**common, "max_iter": 1}), X[: 2 * batch], y[: 2 * batch])
    runs = {("sklearn", None): [], ("sklearn", 1): [], ("default", None): []}
    runs.update({("skreg", t): [] for t in thread_counts})
    weights = {}
    for _ in range(repeats):
        for kind, threads in runs:
            if kind == "sklearn":
                model = SK(alpha=ALPHA, **common)
                seconds = _fit(model, X, y, threads)
            else:
                model = SR(alpha=ALPHA / batch, **common)
                # Several threads every epoch, unless the default's clock decides.
                forced = kind == "skreg"
                _parallel._Choice.two_threads = (
                    (lambda self: True) if forced else _CHOOSE
                )
                seconds = _fit(model, X, y, threads)
                weights[kind, threads] = _weights(model)
            runs[kind, threads].append(seconds / epochs)
    _parallel._Choice.two_threads = _CHOOSE
    reference = weights["skreg", thread_counts[0]]
    equal = all(np.array_equal(w, reference) for w in weights.values())
    units = _units(shape)
    n_weights = sum(a * b for a, b in zip(units, units[1:]))
    return {
        "shape": list(map(str, shape)),
        "parts": _epoch.part_count(batch, n_weights),
        "epochs": epochs,
        "seconds": {f"{k}/{t}": float(np.median(v)) for (k, t), v in runs.items()},
        "equal_weights": bool(equal),
    }


_CHOOSE = _parallel._Choice.two_threads


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--shapes", type=int, nargs="+", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    shapes = SHAPES if args.shapes is None else [SHAPES[i] for i in args.shapes]
    print(f"cores: {os.cpu_count()}, threads at hand: {_parallel.available_threads()}")
    columns = [f"skreg/{t}" for t in args.threads]
    header = ["shape", "parts", *[f"{t} thr" for t in args.threads]]
    header += ["default", "sklearn all", "sklearn 1", "sk all / best skreg", "equal"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    results = []
    for shape in shapes:
        r = run_shape(shape, args.threads, args.repeats, args.epochs)
        results.append(r)
        s = r["seconds"]
        best = min(s[c] for c in columns + ["default/None"])
        rows, features, hidden, batch, dtype, task = shape
        label = f"{rows}x{features} {hidden} b{batch} {dtype[5:]}"
        cells = [label, str(r["parts"]), *[f"{1e3 * s[c]:.1f}" for c in columns]]
        cells += [
            f"{1e3 * s['default/None']:.1f}",
            f"{1e3 * s['sklearn/None']:.1f}",
            f"{1e3 * s['sklearn/1']:.1f}",
            f"{s['sklearn/None'] / best:.2f}",
            str(r["equal_weights"]),
        ]
        print("| " + " | ".join(cells) + " |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
