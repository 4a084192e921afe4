"""Prediction speed: one-row latency and 100,000-row throughput of ``predict_proba``.

Run by hand, never in CI::

    python benchmarks/bench_predict.py

Both models are fitted on the same 10,000 x 20 problem with hidden layers (100,).
One row: the median over many calls of ``predict_proba(X[:1])``, skreg and
scikit-learn alternating in blocks. 100,000 rows: the median of repeated calls,
against the matrix-product bound, the time ``np.dot`` needs for the same
products (the fastest of one product over all rows and products in chunks of
2,048 or 512 rows, skreg's chunk), measured in the same run.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skreg import RegularizedMLPClassifier

PAUSE = 0.3


def _per_call(function, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def _products(X, coefs, chunk):
    for start in range(0, len(X), chunk):
        A = X[start : start + chunk]
        for W in coefs:
            A = A @ W


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    X, y = make_classification(
        10_000, 20, n_informative=10, n_classes=3, random_state=0
    )
    common = dict(hidden_layer_sizes=(100,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = RegularizedMLPClassifier(**common).fit(X, y)
        theirs = MLPClassifier(**common).fit(X, y)
    row = X[:1]
    big = np.random.default_rng(0).normal(size=(100_000, X.shape[1]))
    # Warm-up: load the kernels, touch the memory.
    ours.predict_proba(row), theirs.predict_proba(row)
    ours.predict_proba(big), theirs.predict_proba(big)

    one = {"skreg": [], "sklearn": []}
    many = {"skreg": [], "sklearn": [], "bound": []}
    for _ in range(args.repeats):
        for name, model in (("skreg", ours), ("sklearn", theirs)):
            time.sleep(PAUSE)
            one[name].append(_per_call(lambda m=model: m.predict_proba(row), 2000))
            time.sleep(PAUSE)
            many[name].append(_per_call(lambda m=model: m.predict_proba(big), 3))
        time.sleep(PAUSE)
        many["bound"].append(
            min(
                _per_call(lambda: _products(big, ours.coefs_, len(big)), 3),
                _per_call(lambda: _products(big, ours.coefs_, 2048), 3),
                _per_call(lambda: _products(big, ours.coefs_, 512), 3),
            )
        )
    one = {k: float(np.median(v)) for k, v in one.items()}
    many = {k: float(np.median(v)) for k, v in many.items()}
    print(
        "| predict_proba | skreg | sklearn | sklearn / skreg | bound | skreg / bound |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| one row | {one['skreg'] * 1e6:.1f} us | {one['sklearn'] * 1e6:.1f} us "
        f"| {one['sklearn'] / one['skreg']:.2f} | | |"
    )
    print(
        f"| 100,000 rows | {many['skreg'] * 1e3:.1f} ms "
        f"| {many['sklearn'] * 1e3:.1f} ms | {many['sklearn'] / many['skreg']:.2f} "
        f"| {many['bound'] * 1e3:.1f} ms | {many['skreg'] / many['bound']:.2f} |"
    )


if __name__ == "__main__":
    main()
