"""Cross-validated alpha: the path-based CV estimators against GridSearchCV.

Both search the same alpha grid on the same folds, with the same base parameters,
and refit the best point; GridSearchCV fits every point from scratch, the CV
estimator fits one warm-started path per fold. The two take turns (A B A B) and the
medians of the repeats are reported, with the best mean CV score of each and the
epochs each search trained in total.

Run from the root of the repository::

    python benchmarks/bench_cv.py            # about 10 minutes
    python benchmarks/bench_cv.py --quick    # one repeat, two workloads
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
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
    X, y = load_digits(return_X_y=True)
    yield "digits 1797x64 (64,) l1", X / 16, y, dict(hidden_layer_sizes=(64,), penalty="l1")
    X, y = make_classification(
        10_000, 20, n_informative=10, n_classes=3, random_state=0
    )
    yield "10000x20 (100,) l1", X, y, dict(hidden_layer_sizes=(100,), penalty="l1")
    X, y = make_classification(
        5_000, 100, n_informative=10, n_classes=2, random_state=0
    )
    yield (
        "5000x100 (64, 32) group lasso",
        X,
        y,
        dict(hidden_layer_sizes=(64, 32), penalty="group_lasso"),
    )
    X, y = make_regression(5_000, 50, n_informative=20, noise=10.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    yield (
        "regression 5000x50 (64, 64) elastic net",
        X,
        y,
        dict(hidden_layer_sizes=(64, 64), penalty="elasticnet", l1_ratio=0.5),
    )


def run(quick=False):
    warnings.simplefilter("ignore", ConvergenceWarning)
    repeats = 1 if quick else 3
    rows = []
    workloads = list(_workloads())[: 2 if quick else None]
    for name, X, y, params in workloads:
        classifier = len(np.unique(y)) < 20
        Base = RegularizedMLPClassifier if classifier else RegularizedMLPRegressor
        CV = RegularizedMLPClassifierCV if classifier else RegularizedMLPRegressorCV
        Split = StratifiedKFold if classifier else KFold
        folds = Split(5, shuffle=True, random_state=0)
        common = dict(params, random_state=0)
        cv_search = CV(alphas=10, cv=folds, **common)
        grid = None
        times = {"cv": [], "grid": []}
        for _ in range(repeats):
            start = time.perf_counter()
            cv_search.fit(X, y)
            times["cv"].append(time.perf_counter() - start)
            if grid is None:
                grid = GridSearchCV(
                    Base(**common), {"alpha": list(cv_search.alphas_)}, cv=folds
                )
            start = time.perf_counter()
            grid.fit(X, y)
            times["grid"].append(time.perf_counter() - start)
        cv_time, grid_time = np.median(times["cv"]), np.median(times["grid"])
        rows.append(
            (
                name,
                cv_time,
                grid_time,
                grid_time / cv_time,
                cv_search.best_score_,
                grid.best_score_,
                cv_search.alpha_,
                grid.best_params_["alpha"],
            )
        )
        print(
            f"{name}: CV {cv_time:.2f} s, GridSearchCV {grid_time:.2f} s, "
            f"ratio {grid_time / cv_time:.2f}; best score {cv_search.best_score_:.4f} "
            f"vs {grid.best_score_:.4f}; alpha {cv_search.alpha_:.2e} vs "
            f"{grid.best_params_['alpha']:.2e}",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)
