"""Neural feature selection: skreg's regularization paths against LassoNet.

The protocol of LassoNet's Table 2 (Lemhadri, Ruan, Abraham and Tibshirani,
"LassoNet: A Neural Network with Feature Sparsity", JMLR 2021): each method fits
a regularization path on the training split and ranks the features by when they
leave it; an ``ExtraTreesClassifier`` (``ExtraTreesRegressor`` for a regression
set) trained on the top ``k`` features is scored on the test split. On the
generated sets, whose informative features are known, the recovery is the
number of them among the top ``k``.

LassoNet and PyTorch are not dependencies of skreg; install them apart from the
project's own environment, with the ``bench`` extra, and run by hand, never in
CI::

    python -m venv benchenv && benchenv/bin/pip install -e ".[bench]"
    benchenv/bin/python benchmarks/bench_selection.py                # all sets
    benchenv/bin/python benchmarks/bench_selection.py --quick        # smoke run
    benchenv/bin/python benchmarks/bench_selection.py --datasets digits wide \\
        --methods group_lasso stability --repeats 3 --json selection.json

The data sets: scikit-learn's ``digits`` (64 features, 10 classes) and
``breast_cancer`` (30 features, 2 classes); ``synthetic``, a
``make_classification`` set of 50 features whose first 5 are informative
(``shuffle=False``, no redundant ones); ``friedman``, Friedman's regression #1
with 45 noise features added to its 5 (a nonlinear target); ``wide``, 200 rows
by 2,000 features of which 10 enter a binary target, 4 linearly and 6 through
saturations, squares and a product. Features are standardized on the training
split; one stratified split (a quarter held out) per seed.

The two sides use the same network, one hidden layer of ``--hidden`` ReLU units
(32 by default), and each its own defaults elsewhere:

- ``lassonet``: ``LassoNetClassifier`` / ``LassoNetRegressor`` with
  ``hidden_dims=(32,)`` and the package's defaults, which are the paper's: a
  dense model trained first (Adam, up to 1,000 epochs, patience 100), then the
  path from the automatic ``lambda_start`` upwards by ``path_multiplier=1.02``
  until no feature is left (SGD with momentum, up to 100 epochs a point,
  patience 10), full batches, ``M=10``, early stopping on a tenth of the
  training split. The ranking is ``feature_importances_`` (the lambda at which
  each feature leaves), ties broken by the skip connection's norm in the dense
  model. The path runs on the CPU (``device="cpu"``).
- skreg: ``RegularizedMLPClassifier`` / ``RegularizedMLPRegressor`` with
  ``penalty`` the method's, Adam at learning rate 1e-3 (``--learning-rate``),
  ``max_iter=200`` (``--max-iter``), minibatches of 200 (the whole training
  split on ``wide``), fitted by ``regularization_path`` on an automatic grid of
  50 alphas (``--alphas``) from ``alpha_max`` down to ``1e-3 * alpha_max``
  (``--eps``), each point warm-started from the weaker one and trained for up
  to 5 epochs (``--path-max-iter``; four minibatches at least, so up to 20
  epochs on ``wide``). The ranking is ``skreg.RegularizedMLPSelector``'s
  ``ranking_``, fitted with ``n_features_to_select`` the largest ``k`` of the
  set (an int skips its cross-validation): a feature's score is the strongest
  alpha at which its first-layer row ``coefs_[0][j, :]`` is nonzero, ties
  broken by the row's norm at the weakest alpha. Methods: ``group_lasso``;
  ``group_mcp`` with ``gamma=3`` (``--gamma``, the penalty's default); and
  ``stability``, the selector's stability selection: group lasso paths on 10
  (``--resamples``) stratified random halves of the training split, on the
  full split's grid, the features ranked by their largest selection
  probability over the strong end of the grid, ties by the full path's
  ranking; its seconds include the full path, 11 paths in all. A method whose
  parameters this skreg rejects is skipped with a message. Without the
  selector (an older skreg), or with ``--own-ranking``, the same path ranking
  is computed here, and ``stability`` sums each feature's selection
  probability over the whole grid instead.

Timing: the wall time of each path (``time.perf_counter``), all resamples
together for ``stability``. skreg's kernels are compiled (or loaded from
Numba's cache) by a small fit before the clock starts; torch has nothing to
compile. Both libraries run on ``--threads`` threads (1 by default:
``torch.set_num_threads`` and skreg under ``threadpool_limits``, which bounds
its epoch's threads); ``--threads 0`` leaves each at its own default. ``ratio``
is LassoNet's seconds over the method's.

The table's ``score`` is the test accuracy in percent (R^2 times 100 on
``friedman``), ``recovery`` the informative features among the top ``k`` over
their number; both are means over ``--repeats`` seeds, the seconds are medians.
The ``all features`` rows are the trees on every feature. Five seeds
(``--repeats 5``) take about 15 minutes on two cores, most of it LassoNet's.
"""

import argparse
import importlib.metadata
import inspect
import json
import time
import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    make_classification,
    make_friedman1,
)
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

import skreg
from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor, regularization_path

METHODS = {
    "group_lasso": dict(penalty="group_lasso"),
    "group_mcp": dict(penalty="group_mcp", gamma=3.0),
    "stability": dict(penalty="group_lasso"),
}


# ------------------------------------------------------------------- data sets


def _wide(rows, features, seed=0):
    """Rows by features, a binary target of 10 features, 6 of them nonlinear."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    f = (
        X[:, 0]
        - X[:, 1]
        + X[:, 2]
        - X[:, 3]
        + 2 * np.tanh(2 * X[:, 4])
        - 2 * np.tanh(2 * X[:, 5])
        + (X[:, 6] ** 2 - 1)
        - (X[:, 7] ** 2 - 1)
        + 1.5 * X[:, 8] * X[:, 9]
    )
    y = (f + 0.5 * rng.standard_normal(rows) > 0).astype(np.int64)
    return X, y, np.arange(10)


def datasets(quick):
    """name -> (X, y, task, ks, informative features or None)."""
    X, y = load_digits(return_X_y=True)
    yield "digits", X, y, "classify", (10, 20), None
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast_cancer", X, y, "classify", (5, 10), None
    X, y = make_classification(
        1000,
        50,
        n_informative=5,
        n_redundant=0,
        n_repeated=0,
        shuffle=False,
        random_state=0,
    )
    yield "synthetic", X, y, "classify", (5, 10), np.arange(5)
    X, y = make_friedman1(1000, 50, noise=1.0, random_state=0)
    yield "friedman", X, y, "regress", (5, 10), np.arange(5)
    X, y, informative = _wide(200, 500 if quick else 2000)
    yield "wide", X, y, "classify", (10, 20), informative


def _split(X, y, task, seed):
    stratify = y if task == "classify" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=stratify, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if task == "regress":
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    return X_train, X_test, y_train, y_test


# ------------------------------------------------------------------- rankings


def _order(primary, tie):
    """Features by ``primary`` then ``tie``, both larger first."""
    return np.lexsort((-np.asarray(tie), -np.asarray(primary)))


def lassonet_ranking(X, y, task, seed, config):
    """LassoNet's path on (X, y): the features best first, and its seconds."""
    from lassonet import LassoNetClassifier, LassoNetRegressor

    Model = LassoNetClassifier if task == "classify" else LassoNetRegressor
    model = Model(
        hidden_dims=(config["hidden"],),
        verbose=0,
        random_state=seed,
        torch_seed=seed,
        device="cpu",
        **config["lassonet"],
    )
    dense = {}

    def keep_dense(estimator, history):
        # Called first with the dense model alone: its skip norms break ties.
        if not dense:
            weight = estimator.model.skip.weight.detach()
            dense["norm"] = weight.norm(dim=0).cpu().numpy()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "lambda_start too large"
        start = time.perf_counter()
        history = model.path(X, y, callback=keep_dense)
        seconds = time.perf_counter() - start
    importance = model.feature_importances_.cpu().numpy()
    info = dict(points=len(history), lambda_start=float(model.lambda_start_))
    return _order(importance, dense["norm"]), seconds, info


def _skreg_estimator(task, method, seed, config):
    """The method's estimator, or raises if this skreg rejects its parameters."""
    Model = RegularizedMLPClassifier if task == "classify" else RegularizedMLPRegressor
    params = dict(
        hidden_layer_sizes=(config["hidden"],),
        random_state=seed,
        **config["skreg"],
        **METHODS[method],
    )
    if "gamma" in params:
        params["gamma"] = config["gamma"]
    model = Model(**params)  # TypeError for a parameter this version lacks
    model._validate_params()  # InvalidParameterError for a value it lacks
    return model


def _path_scores(path):
    """Per feature: the index of the strongest alpha at which its first-layer row
    is nonzero counted from the weak end (0: never), and its weakest-alpha norm."""
    rows = [coefs[0] for coefs in path.coefs]
    alive = np.array([np.any(W != 0, axis=1) for W in rows])
    norms = np.array([np.linalg.norm(W, axis=1) for W in rows])
    n_alphas = norms.shape[0]
    strongest = np.where(alive.any(axis=0), alive.argmax(axis=0), n_alphas)
    return n_alphas - strongest, alive, norms[-1]


def _path(model, X, y, alphas, config):
    return regularization_path(
        model,
        X,
        y,
        alphas=alphas,
        eps=config["eps"],
        path_max_iter=config["path_max_iter"],
    )


def _own_ranking(model, X, y, method, seed, config):
    """The features best first, from skreg's paths, computed here."""
    if method != "stability":
        depth, _, norm = _path_scores(_path(model, X, y, config["alphas"], config))
        return _order(depth, norm)
    rng = np.random.default_rng(seed)
    alive_share, norm_sum = 0.0, 0.0
    for r in range(config["resamples"]):
        half = rng.choice(len(X), len(X) // 2, replace=False)
        resample = model.set_params(random_state=seed * 1000 + r)
        _, alive, norm = _path_scores(
            _path(resample, X[half], y[half], config["alphas"], config)
        )
        # The selection probability summed over the grid (each resample's own
        # grid, from its own alpha_max): how long the feature stays on average.
        alive_share = alive_share + alive.mean(axis=0)
        norm_sum = norm_sum + norm / max(norm.max(), 1e-300)
    return _order(alive_share, norm_sum)


def _selector_ranking(Selector, model, X, y, method, seed, config):
    """The features best first, by ``skreg.RegularizedMLPSelector``.

    An int ``n_features_to_select`` skips its cross-validation ("auto"); with
    resamples it also sizes the region of the grid the selection probabilities
    are read at, and the largest ``k`` asked for is passed, so that one fit
    ranks for every ``k``.
    """
    wanted = dict(
        estimator=model,
        n_features_to_select=config["k_max"],
        alphas=config["alphas"],
        eps=config["eps"],
        path_max_iter=config["path_max_iter"],
        n_resamples=config["resamples"] if method == "stability" else 0,
        random_state=seed,
    )
    accepted = inspect.signature(Selector).parameters
    selector = Selector(**{k: v for k, v in wanted.items() if k in accepted})
    selector.fit(X, y)
    # ``ranking_`` is 1 for the best, all distinct; ``scores_`` has ties.
    return np.argsort(np.asarray(selector.ranking_), kind="stable")


def skreg_ranking(X, y, task, method, seed, config):
    """skreg's ranking by ``method``: the features best first, and its seconds.

    The one place that picks between ``RegularizedMLPSelector`` and the ranking
    computed here from ``regularization_path``.
    """
    model = _skreg_estimator(task, method, seed, config)
    Selector = (
        None
        if config["own_ranking"]
        else getattr(skreg, "RegularizedMLPSelector", None)
    )
    rank = (
        _own_ranking if Selector is None else lambda *a: _selector_ranking(Selector, *a)
    )
    # Compile (or load from Numba's cache) this configuration's kernels first.
    small = model.set_params(max_iter=2)
    _path(small, X[:64], y[:64], 3, config)
    model.set_params(max_iter=config["skreg"]["max_iter"], random_state=seed)
    start = time.perf_counter()
    order = rank(model, X, y, method, seed, config)
    seconds = time.perf_counter() - start
    info = dict(selector="RegularizedMLPSelector" if Selector else "own")
    return order, seconds, info


# ------------------------------------------------------------------- scoring


def downstream(X_train, X_test, y_train, y_test, task, features, seed, trees):
    """Test score (accuracy or R^2, times 100) of extra trees on ``features``."""
    Trees = ExtraTreesClassifier if task == "classify" else ExtraTreesRegressor
    trees = Trees(n_estimators=trees, random_state=seed, n_jobs=1)
    trees.fit(X_train[:, features], y_train)
    return 100 * trees.score(X_test[:, features], y_test)


def _accepted(methods, task, config):
    """The methods whose parameters this skreg accepts; a message for the rest."""
    kept = []
    for method in methods:
        try:
            _skreg_estimator(task, method, 0, config)
        except (InvalidParameterError, TypeError) as error:
            print(f"skipping {method}: this skreg rejects its parameters: {error}")
        else:
            kept.append(method)
    return kept


def _summary(row, informative):
    runs = row["runs"]
    row["score"] = float(np.mean([r["score"] for r in runs]))
    seconds = [r["seconds"] for r in runs if r["seconds"] is not None]
    if seconds:
        row["seconds"] = float(np.median(seconds))
    if runs[0]["recovered"] is not None:
        row["recovered"] = float(np.mean([r["recovered"] for r in runs]))
        row["informative"] = len(informative)


def run_dataset(name, X, y, task, ks, informative, methods, seeds, config):
    """One row per (method, k): scores, recoveries and seconds over the seeds,
    and a row of the trees on every feature."""
    config = dict(config, k_max=max(ks))
    methods = _accepted(methods, task, config)
    every = np.arange(X.shape[1])
    rows = {}
    for seed in seeds:
        X_train, X_test, y_train, y_test = _split(X, y, task, seed)
        rankings = {"all features": (every, None, {})}
        if not config["no_lassonet"]:
            rankings["lassonet"] = lassonet_ranking(
                X_train, y_train, task, seed, config
            )
        for method in methods:
            with threadpool_limits(config["threads"]):
                rankings[method] = skreg_ranking(
                    X_train, y_train, task, method, seed, config
                )
        for method, (order, seconds, info) in rankings.items():
            for k in [X.shape[1]] if seconds is None else ks:
                top = order[:k]
                score = downstream(
                    X_train, X_test, y_train, y_test, task, top, seed, config["trees"]
                )
                recovered = (
                    None
                    if informative is None or seconds is None
                    else int(np.isin(top, informative).sum())
                )
                row = rows.setdefault(
                    (method, k),
                    dict(dataset=name, method=method, k=k, runs=[]),
                )
                row["runs"].append(
                    dict(
                        seed=seed,
                        score=score,
                        recovered=recovered,
                        seconds=seconds,
                        top=top.tolist(),
                        **info,
                    )
                )
    for row in rows.values():
        _summary(row, informative)
    for (method, k), row in rows.items():
        reference = rows.get(("lassonet", k))
        if method != "lassonet" and reference is not None:
            row["ratio"] = reference["seconds"] / row["seconds"]
    return list(rows.values())


def _print_row(row):
    recovery = (
        f"{row['recovered']:.1f}/{min(row['k'], row['informative'])}"
        if "recovered" in row
        else "-"
    )
    ratio = f"{row['ratio']:.1f}" if "ratio" in row else "-"
    seconds = f"{row['seconds']:.2f}" if "seconds" in row else "-"
    print(
        f"| {row['dataset']} | {row['method']} | {row['k']} | {row['score']:.1f} "
        f"| {recovery} | {seconds} | {ratio} |",
        flush=True,
    )


def _set_threads(threads):
    """Torch's intra-op threads, set to ``threads`` unless 0; its version too."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads(), torch.__version__


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = ["digits", "breast_cancer", "synthetic", "friedman", "wide"]
    parser.add_argument("--datasets", nargs="+", choices=names, default=names)
    parser.add_argument(
        "--methods", nargs="+", default=["group_lasso", "group_mcp", "stability"]
    )
    parser.add_argument("--quick", action="store_true", help="lighter, a smoke run")
    parser.add_argument("--repeats", type=int, default=1, help="seeds 0, 1, ...")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units, both")
    parser.add_argument("--threads", type=int, default=1, help="0: each's default")
    parser.add_argument("--alphas", type=int, default=50)
    parser.add_argument("--eps", type=float, default=1e-3)
    parser.add_argument("--path-max-iter", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--resamples", type=int, default=10)
    parser.add_argument("--gamma", type=float, default=3.0, help="group_mcp's")
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--own-ranking", action="store_true")
    parser.add_argument("--no-lassonet", action="store_true", help="skreg alone")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; known: {sorted(METHODS)}")
    warnings.simplefilter("ignore", ConvergenceWarning)
    config = dict(
        hidden=args.hidden,
        threads=args.threads or None,
        alphas=args.alphas,
        eps=args.eps,
        path_max_iter=args.path_max_iter,
        resamples=args.resamples,
        gamma=args.gamma,
        trees=args.trees,
        own_ranking=args.own_ranking,
        no_lassonet=args.no_lassonet,
        skreg=dict(max_iter=args.max_iter, learning_rate_init=args.learning_rate),
        lassonet={},
    )
    if args.quick:
        config.update(alphas=min(args.alphas, 10), resamples=3, trees=50)
        config["lassonet"] = dict(
            path_multiplier=1.1, n_iters=(200, 20), patience=(20, 5)
        )
    config["torch_threads"], config["torch"] = _set_threads(args.threads)
    config["skreg_version"] = skreg.__version__
    if not args.no_lassonet:
        config["lassonet_version"] = importlib.metadata.version("lassonet")
    print(
        f"skreg {skreg.__version__}, torch {config['torch']}, lassonet "
        f"{config.get('lassonet_version', '-')}; hidden ({args.hidden},); torch "
        f"threads {config['torch_threads']}, skreg threads "
        f"{args.threads or 'default'}; seeds {args.repeats}"
    )
    print("| data set | method | k | score | recovery | path s | ratio |")
    print("|---|---|---|---|---|---|---|")
    results = []
    for name, X, y, task, ks, informative in datasets(args.quick):
        if name not in args.datasets:
            continue
        rows = run_dataset(
            name, X, y, task, ks, informative, args.methods, range(args.repeats), config
        )
        for row in rows:
            _print_row(row)
        results.extend(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(config=config, rows=results), f, indent=1)


if __name__ == "__main__":
    main()
