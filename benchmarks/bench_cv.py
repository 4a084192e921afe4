"""Cross-validated alpha: the path-based CV estimators against GridSearchCV.

Both search the same alpha grid (the CV estimator's automatic one, 10 values) on
the same five folds, with the same base parameters, and refit the best point.
GridSearchCV fits every point from scratch; the CV estimator fits one warm-started
path per fold. Each workload runs with the estimators' defaults (training-loss
convergence, up to ``max_iter=200`` epochs) and with ``early_stopping=True``. The
two searches take turns (A B A B) and the medians of the repeats are reported, with
the best mean CV score of each and the epochs of one fold's path.

The diabetes data (442 samples, ten features, a noisy target) stands for small
regression sets, where an epoch is two minibatches: there the best CV score of one
``random_state`` moves by a point or two from one seed to the next, for both
searches, so its rows run five seeds (each seed's two searches taking turns) and
report the mean best scores and the median times.

Run from the root of the repository::

    python benchmarks/bench_cv.py                  # about 15 minutes
    python benchmarks/bench_cv.py --quick          # one repeat, two workloads
    python benchmarks/bench_cv.py --only diabetes  # the workloads named so
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
    RegularizedMLPRegressorCV,
)


def _workloads():
    """(name, X, y, parameters, seeds): scores are means over ``seeds`` seeds."""
    X, y = load_digits(return_X_y=True)
    yield (
        "digits 1797x64 (64,) l1",
        X / 16,
        y,
        dict(hidden_layer_sizes=(64,), penalty="l1"),
        1,
    )
    X, y = make_classification(
        10_000, 20, n_informative=10, n_classes=3, random_state=0
    )
    yield "10000x20 (100,) l1", X, y, dict(hidden_layer_sizes=(100,), penalty="l1"), 1
    X, y = make_classification(
        5_000, 100, n_informative=10, n_classes=2, random_state=0
    )
    yield (
        "5000x100 (64, 32) group lasso",
        X,
        y,
        dict(hidden_layer_sizes=(64, 32), penalty="group_lasso"),
        1,
    )
    X, y = make_regression(5_000, 50, n_informative=20, noise=10.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    yield (
        "regression 5000x50 (64, 64) elastic net",
        X,
        y,
        dict(hidden_layer_sizes=(64, 64), penalty="elasticnet", l1_ratio=0.5),
        1,
    )
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    for penalty in ("l2", "l1"):
        yield (
            f"diabetes 442x10 (32,) {penalty}, 5 seeds",
            X,
            y,
            dict(hidden_layer_sizes=(32,), penalty=penalty),
            5,
        )


def _compare(name, X, y, params, early_stopping, repeats, seeds):
    classifier = len(np.unique(y)) < 20
    Base = RegularizedMLPClassifier if classifier else RegularizedMLPRegressor
    CV = RegularizedMLPClassifierCV if classifier else RegularizedMLPRegressorCV
    Split = StratifiedKFold if classifier else KFold
    folds = Split(5, shuffle=True, random_state=0)
    times = {"cv": [], "grid": []}
    found = {"cv": [], "grid": [], "cv_alpha": [], "grid_alpha": [], "epochs": []}
    for seed in range(seeds):
        common = dict(params, random_state=seed, early_stopping=early_stopping)
        search = CV(alphas=10, cv=folds, **common)
        grid = None
        for _ in range(repeats):
            start = time.perf_counter()
            search.fit(X, y)
            times["cv"].append(time.perf_counter() - start)
            if grid is None:  # the same grid and folds
                grid = GridSearchCV(
                    Base(**common), {"alpha": list(search.alphas_)}, cv=folds
                )
            start = time.perf_counter()
            grid.fit(X, y)
            times["grid"].append(time.perf_counter() - start)
        found["cv"].append(search.best_score_)
        found["grid"].append(grid.best_score_)
        found["cv_alpha"].append(search.alpha_)
        found["grid_alpha"].append(grid.best_params_["alpha"])
        found["epochs"].append(float(search.cv_results_["mean_n_iter"].sum()))
    cv_time, grid_time = np.median(times["cv"]), np.median(times["grid"])
    return dict(
        workload=name,
        early_stopping=early_stopping,
        cv_time=cv_time,
        grid_time=grid_time,
        ratio=grid_time / cv_time,
        cv_score=float(np.mean(found["cv"])),
        grid_score=float(np.mean(found["grid"])),
        # With several seeds, the alphas of the first.
        cv_alpha=found["cv_alpha"][0],
        grid_alpha=found["grid_alpha"][0],
        cv_epochs=float(np.mean(found["epochs"])),
        cv_scores=found["cv"],
        grid_scores=found["grid"],
    )


def run(quick=False, only=None):
    """Run the comparison and print a table; returns its rows as dicts."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    repeats = 1 if quick else 3
    rows = []
    workloads = list(_workloads())[: 2 if quick else None]
    if only is not None:
        workloads = [w for w in workloads if only in w[0]]
    header = (
        f"{'workload':42s} {'early stop':>10s} {'CV s':>7s} {'grid s':>7s} "
        f"{'ratio':>6s} {'CV score':>9s} {'grid score':>10s} {'CV alpha':>9s} "
        f"{'grid alpha':>10s} {'path epochs':>11s}"
    )
    print(header)
    print("-" * len(header))
    for early_stopping in (False, True):
        for name, X, y, params, seeds in workloads:
            # Several seeds already give the medians their runs.
            runs = 1 if seeds > 1 else repeats
            row = _compare(name, X, y, params, early_stopping, runs, seeds)
            rows.append(row)
            print(
                f"{name:42s} {str(early_stopping):>10s} {row['cv_time']:7.2f} "
                f"{row['grid_time']:7.2f} {row['ratio']:6.2f} "
                f"{row['cv_score']:9.4f} {row['grid_score']:10.4f} "
                f"{row['cv_alpha']:9.2e} {row['grid_alpha']:10.2e} "
                f"{row['cv_epochs']:11.0f}",
                flush=True,
            )
            if seeds > 1:
                print(
                    f"{'':42s} per seed: CV "
                    + " ".join(f"{v:.4f}" for v in row["cv_scores"])
                    + ", grid "
                    + " ".join(f"{v:.4f}" for v in row["grid_scores"]),
                    flush=True,
                )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="run the workloads whose name contains this")
    arguments = parser.parse_args()
    run(arguments.quick, arguments.only)
