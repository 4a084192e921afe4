"""Seconds per epoch of skreg's MLP against scikit-learn's, with the matmul bound.

Run by hand, never in CI::

    python benchmarks/bench_epoch.py            # every workload
    python benchmarks/bench_epoch.py --quick    # digits and 10,000 x 20 only

Each workload trains with ``solver="adam"`` for a fixed number of epochs
(``tol=0``, ``n_iter_no_change`` above ``max_iter``). The tools alternate
(skreg, sklearn, skreg, sklearn, ...) and the median of the repeats is reported,
so a slow spell of this machine hits both. The matrix-product bound is the time
``np.dot`` needs for one epoch's forward and backward products at the same
shapes: what no implementation can beat.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor


def _workloads(quick):
    X, y = load_digits(return_X_y=True)
    yield "digits (100,) b200", X / 16, y, (100,), 200, True
    X, y = make_classification(
        10_000, 20, n_informative=10, n_classes=3, random_state=0
    )
    yield "10k x 20 (100,) b200", X, y, (100,), 200, True
    yield "10k x 20 (32, 16) b64", X, y, (32, 16), 64, True
    if quick:
        return
    X, y = make_classification(
        50_000, 100, n_informative=30, n_classes=5, random_state=0
    )
    yield "50k x 100 (256, 128) b256", X, y, (256, 128), 256, True
    X, y = make_regression(20_000, 50, noise=1.0, random_state=0)
    yield "20k x 50 (64, 64) b128", X, y / y.std(), (64, 64), 128, False


def _matmul_bound(X, hidden, n_outputs, batch_size, repeats=3):
    """One epoch of the forward and backward products alone, in seconds."""
    units = [X.shape[1], *hidden, n_outputs]
    rng = np.random.default_rng(0)
    weights = [
        rng.random((a, b)).astype(X.dtype) for a, b in zip(units[:-1], units[1:])
    ]
    batches = [X[i : i + batch_size] for i in range(0, len(X), batch_size)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for batch in batches:
            activations = [batch]
            for W in weights:
                activations.append(activations[-1] @ W)
            delta = activations[-1]
            for layer in range(len(weights) - 1, -1, -1):
                activations[layer].T @ delta
                if layer:
                    delta = delta @ weights[layer].T
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _epoch_seconds(model, X, y, epochs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
    return (time.perf_counter() - start) / epochs, model.loss_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    header = (
        f"{'workload':28s} {'dtype':8s} {'variant':10s} {'skreg s/ep':>10s} "
        f"{'sklearn':>9s} {'ratio':>6s} {'bound':>8s} {'loss ours':>10s} "
        f"{'loss sk':>9s}"
    )
    print(header)
    print("-" * len(header))
    ratios = []
    for name, X, y, hidden, batch, classify in _workloads(args.quick):
        for dtype in (np.float64, np.float32):
            Xd = X.astype(dtype)
            common = dict(
                hidden_layer_sizes=hidden,
                batch_size=batch,
                max_iter=args.epochs,
                tol=0.0,
                n_iter_no_change=args.epochs + 1,
                random_state=0,
            )
            Ours = RegularizedMLPClassifier if classify else RegularizedMLPRegressor
            Theirs = MLPClassifier if classify else MLPRegressor
            n_outputs = len(np.unique(y)) if classify else 1
            bound = _matmul_bound(Xd, hidden, n_outputs, batch)
            variants = {
                "l2": {},
                "l1": dict(penalty="l1"),
                "elasticnet": dict(penalty="elasticnet"),
                "dropout": dict(dropout=0.2),
            }
            # A warm-up fit compiles every kernel the variants need.
            warmup = Ours(**{**common, "max_iter": 1, "dropout": 0.2})
            _epoch_seconds(warmup, Xd[:batch], y[:batch], 1)
            theirs_times, theirs_loss = [], None
            for variant, extra in variants.items():
                ours_times = []
                for _ in range(args.repeats):
                    seconds, ours_loss = _epoch_seconds(
                        Ours(alpha=1e-4 / batch, **common, **extra), Xd, y, args.epochs
                    )
                    ours_times.append(seconds)
                    if variant == "l2":
                        seconds, theirs_loss = _epoch_seconds(
                            Theirs(alpha=1e-4, **common), Xd, y, args.epochs
                        )
                        theirs_times.append(seconds)
                ours_s = float(np.median(ours_times))
                theirs_s = float(np.median(theirs_times))
                ratio = theirs_s / ours_s
                if variant == "l2":
                    ratios.append(ratio)
                print(
                    f"{name:28s} {np.dtype(dtype).name:8s} {variant:10s} "
                    f"{ours_s:10.4f} {theirs_s:9.4f} {ratio:6.2f} {bound:8.4f} "
                    f"{ours_loss:10.5f} {theirs_loss:9.5f}"
                )
    print(
        f"\ngeometric mean speed-up over sklearn (l2 rows): "
        f"{np.exp(np.mean(np.log(ratios))):.2f}x"
    )


if __name__ == "__main__":
    main()
