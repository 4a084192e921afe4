"""Bit-for-bit fingerprints of fitted models, to check that two versions agree.

``write`` fits a fixed grid of configurations (every penalty and solver, both
dtypes, dense and sparse input, dropout and the other training options, partial
and warm-started fits, class and sample weights, every kind of target, both ways
an epoch shares its work among threads, pruning, a regularization path and the
cross-validated estimators) and saves what each fit produced: the weights, the
loss and validation curves, the optimizer's state and the predictions on fixed
test data. A configuration that raises is saved as such, so a configuration that
starts or stops raising shows up too. ``compare`` then checks two such files bit
for bit and exits with status 1 if any array differs or is missing on one side.

Run from the root of the repository, with the version to check installed::

    python tools/fingerprint.py write before.npz
    python tools/fingerprint.py write after.npz      # with the other version
    python tools/fingerprint.py compare before.npz after.npz

Each file holds one array per key ``"<configuration>/<array>"``. The fits are
tiny (300 samples, a few epochs), so ``write`` takes well under a minute once
the kernels are compiled; the first run in a fresh environment compiles them.
"""

import argparse
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
    RegularizedMLPRegressorCV,
    regularization_path,
)

# ------------------------------------------------------------------------ data

_N_SAMPLES, _N_FEATURES = 300, 12


def _make_data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((_N_SAMPLES, _N_FEATURES))
    X_test = np.random.RandomState(1).standard_normal((50, _N_FEATURES))
    W = rng.standard_normal((_N_FEATURES, 3))
    score = X @ W + 0.5 * rng.standard_normal((_N_SAMPLES, 3))
    targets = {
        # About a third positive, so that class_weight="balanced" changes the fit.
        "binary": (score[:, 0] > 0.4 * score[:, 0].std()).astype(np.int64),
        "multiclass": np.digitize(score[:, 1], np.quantile(score[:, 1], [0.3, 0.7])),
        "multilabel": (score > 0).astype(np.int64),
        "regression": score[:, 0],
        "multioutput": score[:, :2],
        # Non-negative counts for the Poisson loss.
        "counts": rng.poisson(np.exp(0.2 * score[:, :2])).astype(np.float64),
    }
    sample_weight = rng.uniform(0.5, 2.0, _N_SAMPLES)
    return X, X_test, targets, sample_weight


X, X_TEST, TARGETS, SAMPLE_WEIGHT = _make_data()


def _inputs(X, sparse, dtype):
    """``X`` in the given dtype, as a CSR matrix of about a third nonzeros if sparse."""
    X = X.astype(dtype)
    if sparse:
        return sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0))
    return X


# ------------------------------------------------------------------ estimators

# Small fits: one hidden layer of 16 units and batches of 32 rows keep each batch
# far below the work at which an epoch is split between two threads. Adam's rate
# is ten times its default, so that the L1 and group penalties zero some weights
# and rows within the few epochs.
_SMALL = dict(
    hidden_layer_sizes=(16,),
    batch_size=32,
    max_iter=4,
    learning_rate_init=0.01,
    random_state=0,
)
# Batches of 200 rows on about 10,000 weights, far above that work (2**17
# multiply-adds): each batch is split in halves, which two threads share where
# two are available.
_LARGE = dict(hidden_layer_sizes=(128, 64), batch_size=200)


def _clf(**params):
    return RegularizedMLPClassifier(**{**_SMALL, **params})


def _reg(**params):
    return RegularizedMLPRegressor(**{**_SMALL, **params})


def _large_clf(**params):
    return _clf(**{**_LARGE, **params})


def _large_reg(**params):
    return _reg(**{**_LARGE, **params})


# -------------------------------------------------------------- what is saved


def _fitted_arrays(estimator, X_test):
    """Every result of a fit that a change to the training code could alter."""
    arrays = {}
    for i, coef in enumerate(estimator.coefs_):
        arrays[f"coefs_{i}"] = coef
    for i, intercept in enumerate(estimator.intercepts_):
        arrays[f"intercepts_{i}"] = intercept
    for name in (
        "loss_curve_",
        "validation_scores_",
        "validation_loss_curve_",
        "n_iter_",
        "t_",
        "loss_",
        "best_loss_",
        "best_validation_score_",
    ):
        value = getattr(estimator, name, None)
        if value is not None:
            arrays[name] = np.asarray(value)
    state = getattr(estimator, "_optimizer_state", None) or {}
    for name in ("first", "second", "step", "learning_rate"):
        if state.get(name) is not None:
            arrays[f"optimizer_{name}"] = np.asarray(state[name])
    if is_classifier(estimator):
        arrays["predictions"] = estimator.predict_proba(X_test)
    else:
        arrays["predictions"] = estimator.predict(X_test)
    return arrays


def _prefixed(prefix, arrays):
    return {f"{prefix}/{name}": value for name, value in arrays.items()}


# ------------------------------------------------------------- configurations


def _fit(estimator, target="binary", sparse=False, dtype=np.float64, weighted=False):
    """Fit ``estimator`` once on the shared data, and what it produced."""
    sample_weight = SAMPLE_WEIGHT.astype(dtype) if weighted else None
    estimator.fit(_inputs(X, sparse, dtype), TARGETS[target], sample_weight)
    return _fitted_arrays(estimator, _inputs(X_TEST, sparse, dtype))


def _partial_fit(estimator, target="binary", sparse=False):
    """Three ``partial_fit`` calls on consecutive thirds of the data."""
    X_fit, X_test = _inputs(X, sparse, np.float64), _inputs(X_TEST, sparse, np.float64)
    y = TARGETS[target]
    extra = {"classes": np.unique(y)} if is_classifier(estimator) else {}
    arrays = {}
    for call, start in enumerate(range(0, _N_SAMPLES, _N_SAMPLES // 3)):
        rows = slice(start, start + _N_SAMPLES // 3)
        estimator.partial_fit(X_fit[rows], y[rows], **extra)
        arrays.update(_prefixed(f"call{call}", _fitted_arrays(estimator, X_test)))
    return arrays


def _warm_start(estimator, new_alpha, target="binary"):
    """A fit, then a warm-started refit with another ``alpha``."""
    arrays = _prefixed("first", _fit(estimator, target))
    estimator.set_params(warm_start=True, alpha=new_alpha)
    arrays.update(_prefixed("refit", _fit(estimator, target)))
    return arrays


def _pruned(estimator):
    """A group-penalised fit, ``prune()``, and one ``partial_fit`` after it.

    The partial fit continues from the optimizer state that pruning cut down.
    """
    arrays = _prefixed("fit", _fit(estimator))
    estimator.prune()
    arrays.update(_prefixed("pruned", _fitted_arrays(estimator, X_TEST)))
    arrays["pruned/hidden_layer_sizes"] = np.asarray(estimator.hidden_layer_sizes)
    estimator.partial_fit(X, TARGETS["binary"])
    arrays.update(_prefixed("pruned_partial_fit", _fitted_arrays(estimator, X_TEST)))
    return arrays


def _path(estimator, target="binary"):
    path = regularization_path(estimator, X, TARGETS[target], alphas=4, path_max_iter=2)
    arrays = {
        name: np.asarray(path[name])
        for name in ("alphas", "loss", "objective", "n_iter", "sparsity")
    }
    for point, (coefs, intercepts) in enumerate(zip(path.coefs, path.intercepts)):
        for i, coef in enumerate(coefs):
            arrays[f"point{point}/coefs_{i}"] = coef
        for i, intercept in enumerate(intercepts):
            arrays[f"point{point}/intercepts_{i}"] = intercept
    return arrays


def _search(estimator, target="binary"):
    """A cross-validated search: its scores, the chosen alpha and the refitted model."""
    estimator.fit(X, TARGETS[target])
    arrays = _fitted_arrays(estimator, X_TEST)
    for name in ("alpha_", "alphas_", "best_index_", "best_score_"):
        arrays[name] = np.asarray(getattr(estimator, name))
    # The times vary from run to run, and the parameters are the grid's.
    for name, value in estimator.cv_results_.items():
        if name.endswith("_test_score") or name == "mean_n_iter":
            arrays[f"cv_results_/{name}"] = np.asarray(value)
    return arrays


def _sgd(**params):
    return _clf(solver="sgd", learning_rate_init=0.05, **params)


# Stops at the third epoch (the loss never improves by tol=10): under 'adaptive'
# the learning rate drops instead.
_NO_IMPROVEMENT = dict(tol=10.0, n_iter_no_change=1, max_iter=5)
_PENALTIES = ("l2", "l1", "elasticnet", "group_lasso", "sparse_group_lasso", None)

CONFIGS = {
    # Every penalty under every solver; lbfgs raises on the non-smooth ones.
    **{f"adam-{p}": lambda p=p: _fit(_clf(penalty=p, alpha=1e-2)) for p in _PENALTIES},
    **{f"sgd-{p}": lambda p=p: _fit(_sgd(penalty=p, alpha=1e-2)) for p in _PENALTIES},
    **{
        f"lbfgs-{p}": lambda p=p: _fit(_clf(solver="lbfgs", penalty=p, alpha=1e-3))
        for p in _PENALTIES
    },
    "lbfgs-elasticnet-smooth": lambda: _fit(
        _clf(solver="lbfgs", penalty="elasticnet", l1_ratio=0.0, alpha=1e-3)
    ),
    "lbfgs-dropout": lambda: _fit(_clf(solver="lbfgs", dropout=0.2)),
    # The other settings of the stochastic solvers.
    "sgd-momentum": lambda: _fit(_sgd(nesterovs_momentum=False)),
    "sgd-no-momentum": lambda: _fit(_sgd(momentum=0.0)),
    "sgd-invscaling": lambda: _fit(_sgd(learning_rate="invscaling", power_t=0.3)),
    "sgd-adaptive": lambda: _fit(_sgd(learning_rate="adaptive", **_NO_IMPROVEMENT)),
    "adam-converged": lambda: _fit(_clf(**_NO_IMPROVEMENT)),
    "adam-no-shuffle": lambda: _fit(_clf(shuffle=False)),
    "adam-betas": lambda: _fit(_clf(beta_1=0.8, beta_2=0.99, epsilon=1e-6)),
    "adam-elasticnet-l1_ratio": lambda: _fit(
        _clf(penalty="elasticnet", l1_ratio=0.7, alpha=1e-2)
    ),
    "adam-sparse_group_lasso-l1_ratio": lambda: _fit(
        _clf(penalty="sparse_group_lasso", l1_ratio=0.6, alpha=1e-2)
    ),
    # Activations.
    **{
        f"adam-{a}": lambda a=a: _fit(_clf(activation=a))
        for a in ("relu", "tanh", "logistic", "identity")
    },
    **{
        f"lbfgs-{a}": lambda a=a: _fit(_clf(solver="lbfgs", activation=a))
        for a in ("tanh", "logistic")
    },
    # dtypes and sparse input.
    "adam-float32": lambda: _fit(_clf(penalty="l1"), dtype=np.float32),
    "sgd-float32": lambda: _fit(_sgd(), dtype=np.float32),
    "lbfgs-float32": lambda: _fit(_clf(solver="lbfgs"), dtype=np.float32),
    "adam-sparse": lambda: _fit(_clf(penalty="l1"), sparse=True),
    "sgd-sparse": lambda: _fit(_sgd(), sparse=True),
    "lbfgs-sparse": lambda: _fit(_clf(solver="lbfgs"), sparse=True),
    "adam-sparse-float32": lambda: _fit(
        _clf(penalty="group_lasso"), sparse=True, dtype=np.float32
    ),
    # Dropout, noise and the constraints on the weights.
    "dropout": lambda: _fit(_clf(dropout=0.2)),
    "dropout-tanh": lambda: _fit(_clf(dropout=0.2, activation="tanh")),
    "dropout-per-layer": lambda: _fit(
        _clf(hidden_layer_sizes=(16, 8), dropout=[0.1, 0.3])
    ),
    "dropout-per-layer-sgd-logistic": lambda: _fit(
        _sgd(hidden_layer_sizes=(16, 8), dropout=[0.3, 0.0], activation="logistic")
    ),
    "dropout-float32": lambda: _fit(_clf(dropout=0.2), dtype=np.float32),
    "input_dropout": lambda: _fit(_clf(input_dropout=0.1)),
    "input_dropout-sparse": lambda: _fit(_clf(input_dropout=0.1), sparse=True),
    "noise_std": lambda: _fit(_clf(noise_std=0.1)),
    "noise_std-sparse": lambda: _fit(_clf(noise_std=0.1), sparse=True),
    "all-noise": lambda: _fit(_clf(dropout=0.2, input_dropout=0.1, noise_std=0.1)),
    "max_norm": lambda: _fit(_clf(max_norm=0.5, learning_rate_init=0.05)),
    "weight_decay-adam": lambda: _fit(_clf(weight_decay=0.1)),
    "weight_decay-sgd": lambda: _fit(_sgd(weight_decay=0.1)),
    "max_norm-weight_decay-sgd": lambda: _fit(
        _sgd(max_norm=0.5, weight_decay=0.1, penalty="l1")
    ),
    "alpha-per-layer": lambda: _fit(_clf(alpha=[1e-3, 1e-1])),
    "alpha-per-layer-l1": lambda: _fit(
        _clf(hidden_layer_sizes=(16, 8), alpha=[1e-2, 0.0, 1e-1], penalty="l1")
    ),
    "alpha-per-layer-lbfgs": lambda: _fit(_clf(solver="lbfgs", alpha=[1e-3, 1e-1])),
    # Early stopping.
    "early_stopping-adam": lambda: _fit(_clf(early_stopping=True)),
    "early_stopping-sgd": lambda: _fit(_sgd(early_stopping=True, **_NO_IMPROVEMENT)),
    "early_stopping-regressor": lambda: _fit(
        _reg(early_stopping=True), target="regression"
    ),
    "early_stopping-multiclass": lambda: _fit(
        _clf(early_stopping=True, validation_fraction=0.2), target="multiclass"
    ),
    # Incremental and warm-started fits.
    "partial_fit-adam": lambda: _partial_fit(_clf()),
    "partial_fit-sgd-sparse": lambda: _partial_fit(_sgd(penalty="l1"), sparse=True),
    "partial_fit-regressor": lambda: _partial_fit(
        _reg(solver="sgd", learning_rate_init=0.01), target="regression"
    ),
    "partial_fit-early_stopping": lambda: _partial_fit(_clf(early_stopping=True)),
    "warm_start-adam": lambda: _warm_start(_clf(alpha=1e-4), new_alpha=1e-1),
    "warm_start-sgd": lambda: _warm_start(_sgd(penalty="l1"), new_alpha=1e-2),
    "warm_start-lbfgs": lambda: _warm_start(_clf(solver="lbfgs"), new_alpha=1e-1),
    # Weights.
    "class_weight": lambda: _fit(_clf(class_weight="balanced")),
    "class_weight-dict": lambda: _fit(_sgd(class_weight={0: 1.0, 1: 3.0})),
    "sample_weight": lambda: _fit(_clf(), weighted=True),
    "sample_weight-class_weight": lambda: _fit(
        _clf(class_weight="balanced"), weighted=True
    ),
    "sample_weight-lbfgs": lambda: _fit(_clf(solver="lbfgs"), weighted=True),
    "sample_weight-float32-sparse": lambda: _fit(
        _sgd(), weighted=True, dtype=np.float32, sparse=True
    ),
    # Targets.
    "multiclass-adam": lambda: _fit(_clf(), target="multiclass"),
    "multiclass-sgd-l1": lambda: _fit(_sgd(penalty="l1"), target="multiclass"),
    "multiclass-lbfgs": lambda: _fit(_clf(solver="lbfgs"), target="multiclass"),
    "multiclass-class_weight": lambda: _fit(
        _clf(class_weight="balanced"), target="multiclass"
    ),
    "multilabel-adam": lambda: _fit(_clf(), target="multilabel"),
    "multilabel-lbfgs": lambda: _fit(_clf(solver="lbfgs"), target="multilabel"),
    "multilabel-class_weight": lambda: _fit(
        _clf(class_weight="balanced"), target="multilabel"
    ),
    "regressor-adam": lambda: _fit(_reg(), target="regression"),
    "regressor-sgd": lambda: _fit(
        _reg(solver="sgd", learning_rate_init=0.01), target="regression"
    ),
    "regressor-lbfgs": lambda: _fit(_reg(solver="lbfgs"), target="regression"),
    "regressor-multioutput": lambda: _fit(_reg(penalty="l1"), target="multioutput"),
    "regressor-poisson": lambda: _fit(_reg(loss="poisson"), target="counts"),
    "regressor-poisson-sgd-dropout": lambda: _fit(
        _reg(loss="poisson", solver="sgd", learning_rate_init=0.01, dropout=0.2),
        target="counts",
    ),
    "regressor-poisson-lbfgs": lambda: _fit(
        _reg(loss="poisson", solver="lbfgs"), target="counts"
    ),
    "regressor-float32-sparse": lambda: _fit(
        _reg(), target="multioutput", dtype=np.float32, sparse=True
    ),
    # Epochs split in halves between two threads.
    "halves-adam": lambda: _fit(_large_clf()),
    "halves-adam-l1": lambda: _fit(_large_clf(penalty="l1", alpha=1e-3)),
    "halves-adam-group_lasso": lambda: _fit(
        _large_clf(penalty="group_lasso", alpha=1e-3)
    ),
    "halves-sgd": lambda: _fit(_large_clf(solver="sgd", learning_rate_init=0.05)),
    "halves-sgd-invscaling-elasticnet": lambda: _fit(
        _large_clf(
            solver="sgd", learning_rate="invscaling", penalty="elasticnet", alpha=1e-3
        )
    ),
    "halves-float32": lambda: _fit(_large_clf(), dtype=np.float32),
    "halves-sparse": lambda: _fit(_large_clf(penalty="l1"), sparse=True),
    "halves-dropout": lambda: _fit(_large_clf(dropout=[0.2, 0.1])),
    "halves-dropout-tanh": lambda: _fit(_large_clf(dropout=0.2, activation="tanh")),
    "halves-input_dropout-noise_std": lambda: _fit(
        _large_clf(input_dropout=0.1, noise_std=0.1)
    ),
    "halves-max_norm-weight_decay": lambda: _fit(
        _large_clf(max_norm=0.5, weight_decay=0.1)
    ),
    "halves-early_stopping": lambda: _fit(_large_clf(early_stopping=True)),
    "halves-sample_weight": lambda: _fit(_large_clf(), weighted=True),
    "halves-multiclass": lambda: _fit(_large_clf(), target="multiclass"),
    "halves-partial_fit": lambda: _partial_fit(_large_clf(batch_size=100)),
    "halves-regressor-poisson": lambda: _fit(
        _large_reg(loss="poisson"), target="counts"
    ),
    # Pruning, paths and the cross-validated estimators.
    "prune-group_lasso": lambda: _pruned(
        _sgd(penalty="group_lasso", alpha=0.05, hidden_layer_sizes=(32,), max_iter=5)
    ),
    "path-adam-l1": lambda: _path(_clf(penalty="l1")),
    "path-early_stopping": lambda: _path(_clf(penalty="l1", early_stopping=True)),
    "cv-classifier": lambda: _search(
        RegularizedMLPClassifierCV(penalty="l1", alphas=3, cv=3, **_SMALL)
    ),
    "cv-classifier-early_stopping": lambda: _search(
        RegularizedMLPClassifierCV(
            penalty="l1", alphas=3, cv=3, early_stopping=True, **_SMALL
        )
    ),
    "cv-regressor": lambda: _search(
        RegularizedMLPRegressorCV(penalty="l1", alphas=3, cv=3, **_SMALL),
        target="regression",
    ),
}


# ----------------------------------------------------------------- commands


def write(path):
    arrays = {}
    start = time.perf_counter()
    # Every fit stops after a few epochs, by design.
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, run in CONFIGS.items():
        try:
            result = run()
        except Exception as exc:
            # Saved, not fatal: the comparison then also catches a configuration
            # that starts or stops raising, or raises another error.
            print(f"{name}: raised {type(exc).__name__}: {exc}")
            result = {"raised": np.array([1]), "error": np.array(type(exc).__name__)}
        arrays.update(_prefixed(name, result))
    np.savez(path, **arrays)
    seconds = time.perf_counter() - start
    print(
        f"{len(CONFIGS)} configurations, {len(arrays)} arrays written to {path} "
        f"in {seconds:.1f} s"
    )


def _difference(a, b):
    """Why arrays ``a`` and ``b`` differ, or None when they are bitwise identical."""
    if a.dtype.kind == b.dtype.kind == "U":  # the name of the error a config raised
        return None if np.array_equal(a, b) else f"{a} != {b}"
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} != {b.dtype}"
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    floating = np.issubdtype(a.dtype, np.floating)
    if np.array_equal(a, b, equal_nan=floating):
        # Equal values can still differ in the bits: -0.0 and 0.0, or the
        # payloads of NaNs.
        if np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes():
            return None
        return "equal values, different bits (signed zeros or NaN payloads)"
    if not np.issubdtype(a.dtype, np.number):
        return "different values"
    a, b = a.astype(np.float64), b.astype(np.float64)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if np.any(nan_a != nan_b):
        return "NaNs in different positions"
    both = ~nan_a
    return f"max abs difference {np.max(np.abs(a[both] - b[both])):.3g}"


def _config_name(key):
    return key.split("/", 1)[0]


def compare(path_a, path_b):
    with np.load(path_a, allow_pickle=False) as file_a:
        a = {key: file_a[key] for key in file_a.files}
    with np.load(path_b, allow_pickle=False) as file_b:
        b = {key: file_b[key] for key in file_b.files}
    # The order of the grid, as written to the first file.
    keys = list(dict.fromkeys([*a, *b]))
    configs = list(dict.fromkeys(_config_name(key) for key in keys))
    problems = {config: [] for config in configs}
    for key in keys:
        if key not in b:
            problem = f"missing in {path_b}"
        elif key not in a:
            problem = f"missing in {path_a}"
        else:
            problem = _difference(a[key], b[key])
        if problem is not None:
            problems[_config_name(key)].append((key, problem))

    for config in configs:
        if not problems[config]:
            print(f"identical  {config}")
            continue
        print(f"DIFFERENT  {config}")
        for key, problem in problems[config]:
            print(f"    {key}: {problem}")

    differing = [config for config in configs if problems[config]]
    summary = f"{len(configs)} configurations, {len(keys)} arrays"
    if not differing:
        print(f"{summary}: all identical")
        return 0
    n_arrays = sum(len(problems[config]) for config in differing)
    print(
        f"{summary}: {n_arrays} arrays differ or are missing, in "
        f"{len(differing)} configurations: {', '.join(differing)}"
    )
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Fingerprint fitted models, or compare two fingerprints bit "
        "for bit."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    write_parser = commands.add_parser("write", help="fit the grid and save it")
    write_parser.add_argument("out", help="the .npz file to write")
    compare_parser = commands.add_parser(
        "compare", help="compare two saved fingerprints; exit 1 if they differ"
    )
    compare_parser.add_argument("a", help="a .npz file written by 'write'")
    compare_parser.add_argument("b", help="another .npz file written by 'write'")
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.out)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
