"""Seconds per epoch over a sweep of shapes: skreg on one thread and by default,
against scikit-learn.

Run by hand, never in CI::

    python benchmarks/bench_sweep.py              # every shape
    python benchmarks/bench_sweep.py --quick      # every fourth shape
    python benchmarks/bench_sweep.py --busy       # with one core kept busy

The shapes are none of ``bench_epoch.py``'s: 8 to 256 features, one to three hidden
layers from (32,) to (512, 256), batches of 32 to 512, float32 and float64,
classification and regression. Every fit trains with Adam (learning rate 1e-3) and
L2 for a fixed number of epochs (``tol=0``); skreg's alpha is scikit-learn's over
the batch size, so the two minimise the same objective and their final losses
agree. For each shape the three fits run round robin, each after a pause, and
the median of the repeats is reported:

- ``sklearn``: scikit-learn's MLP, its BLAS on every core;
- ``1 thread``: skreg under ``threadpool_limits(1)``, which runs every batch on
  one thread;
- ``default``: skreg as a user runs it;
- ``vs sk``: scikit-learn over skreg's default (the median of the ratios within
  each repeat); ``default / best``: skreg's default over the faster of its one-
  and multi-thread runs.

With ``--busy``, another process spins on one core throughout, as on a shared
machine.
"""

import argparse
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor

ALPHA = 1e-4
PAUSE = 0.3

# (rows, features, hidden, batch, dtype, task)
SHAPES = [
    (8000, 30, (100,), 200, "float64", "classify"),
    (5000, 8, (32,), 32, "float64", "classify"),
    (5000, 8, (64, 32), 64, "float32", "regress"),
    (10000, 16, (32,), 128, "float32", "classify"),
    (10000, 16, (128,), 256, "float64", "regress"),
    (8000, 24, (64, 64), 64, "float64", "classify"),
    (8000, 32, (256,), 128, "float32", "classify"),
    (6000, 40, (128,), 200, "float64", "regress"),
    (6000, 48, (64, 32, 16), 32, "float64", "classify"),
    (12000, 64, (128, 64), 256, "float32", "classify"),
    (12000, 64, (256, 128), 512, "float64", "regress"),
    (10000, 80, (100,), 100, "float64", "classify"),
    (10000, 96, (512,), 256, "float32", "regress"),
    (8000, 128, (64,), 64, "float64", "classify"),
    (8000, 128, (256, 256), 128, "float32", "classify"),
    (8000, 128, (128, 128, 128), 256, "float64", "regress"),
    (6000, 160, (512, 256), 512, "float64", "classify"),
    (6000, 192, (32,), 32, "float32", "regress"),
    (5000, 256, (128,), 128, "float64", "classify"),
    (5000, 256, (512, 256), 256, "float32", "classify"),
    (5000, 256, (256, 128, 64), 64, "float64", "regress"),
    (4000, 256, (512,), 512, "float64", "regress"),
]


def _data(rows, features, dtype, task):
    if task == "classify":
        X, y = make_classification(
            rows,
            features,
            n_informative=max(2, features // 2),
            n_classes=4,
            random_state=0,
        )
    else:
        X, y = make_regression(rows, features, noise=1.0, random_state=0)
        y = (y - y.mean()) / y.std()
    return StandardScaler().fit_transform(X).astype(dtype), y


def _epochs(rows, features, hidden):
    # About 0.2 s of scikit-learn per fit: long enough to time, short enough to repeat.
    units = [features, *hidden]
    work = rows * sum(a * b for a, b in zip(units, units[1:]))
    return int(np.clip(3e8 / max(work, 1), 2, 40))


def _seconds(model, X, y, epochs, threads=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        time.sleep(PAUSE)
        start = time.perf_counter()
        if threads is None:
            model.fit(X, y)
        else:
            with threadpool_limits(threads):
                model.fit(X, y)
    return (time.perf_counter() - start) / epochs, float(model.loss_)


def estimators(shape, epochs):
    """The parameters both tools share for ``shape``, and the two classes."""
    rows, features, hidden, batch, dtype, task = shape
    common = dict(
        hidden_layer_sizes=hidden,
        batch_size=batch,
        max_iter=epochs,
        tol=0,
        n_iter_no_change=epochs + 1,
        learning_rate_init=1e-3,
        random_state=0,
    )
    if task == "classify":
        return common, MLPClassifier, RegularizedMLPClassifier
    return common, MLPRegressor, RegularizedMLPRegressor


def run_shape(shape, repeats):
    rows, features, hidden, batch, dtype, task = shape
    X, y = _data(rows, features, dtype, task)
    epochs = _epochs(rows, features, hidden)
    common, SK, SR = estimators(shape, epochs)
    # The first fit of a configuration loads or compiles its kernels.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SR(**{**common, "max_iter": 1}).fit(X[: 2 * batch], y[: 2 * batch])
    times = {"sklearn": [], "one": [], "default": []}
    losses = {}
    for _ in range(repeats):
        seconds, losses["sklearn"] = _seconds(SK(alpha=ALPHA, **common), X, y, epochs)
        times["sklearn"].append(seconds)
        skreg = SR(alpha=ALPHA / batch, **common)
        seconds, losses["one"] = _seconds(skreg, X, y, epochs, threads=1)
        times["one"].append(seconds)
        seconds, losses["default"] = _seconds(skreg, X, y, epochs)
        times["default"].append(seconds)
    t = {k: np.array(v) for k, v in times.items()}
    return {
        "shape": shape,
        "epochs": epochs,
        "sklearn": float(np.median(t["sklearn"])),
        "one": float(np.median(t["one"])),
        "default": float(np.median(t["default"])),
        "vs_sk": float(np.median(t["sklearn"] / t["default"])),
        "default_over_best": float(
            np.median(t["default"] / np.minimum(t["one"], t["default"]))
        ),
        "default_over_one": float(np.median(t["default"] / t["one"])),
        "losses": losses,
    }


def _label(shape):
    rows, features, hidden, batch, dtype, task = shape
    hidden = ",".join(map(str, hidden))
    return f"{rows}x{features} ({hidden}) b{batch} {dtype[5:]} {task[:5]}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every fourth shape")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--busy", action="store_true", help="one core kept busy")
    args = parser.parse_args()
    shapes = SHAPES[::4] if args.quick else SHAPES
    busy = None
    if args.busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        _sweep(shapes, args.repeats)
    finally:
        if busy is not None:
            busy.kill()


def _sweep(shapes, repeats):
    print(
        "| shape | epochs | sklearn ms | 1 thread ms | default ms | vs sk "
        "| default / 1 thread | sk loss | skreg loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    results = []
    for shape in shapes:
        r = run_shape(shape, repeats)
        results.append(r)
        print(
            f"| {_label(shape)} | {r['epochs']} | {1e3 * r['sklearn']:.2f} "
            f"| {1e3 * r['one']:.2f} | {1e3 * r['default']:.2f} | {r['vs_sk']:.2f} "
            f"| {r['default_over_one']:.3f} | {r['losses']['sklearn']:.4f} "
            f"| {r['losses']['default']:.4f} |",
            flush=True,
        )
    speedups = np.array([r["vs_sk"] for r in results])
    print(
        f"\ngeometric mean vs scikit-learn {np.exp(np.log(speedups).mean()):.2f}x, "
        f"slowest {speedups.min():.2f}x; default over the better of one thread and "
        f"default: worst {max(r['default_over_best'] for r in results):.3f}"
    )


if __name__ == "__main__":
    main()
