"""Regularization paths and the cross-validated estimators built on them.

Every result is checked against an independent computation: a path against a
hand-written loop of warm-started fits, bit for bit, and its continued optimizer
state against ``partial_fit``; its losses against scikit-learn's metrics and its
penalties against NumPy; the gradient that sets the top of the automatic grid
against finite differences; and each fold score of the CV estimators against a
path refitted by hand on that fold. Networks and data are small so the whole
module runs in seconds.
"""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, make_regression
from sklearn.exceptions import (
    ConvergenceWarning,
    NotFittedError,
    UnsetMetadataPassedError,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, get_scorer, log_loss, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
    RegularizedMLPRegressorCV,
    _full_batch,
    regularization_path,
)
from skreg._full_batch import initial_gradient, mean_loss

# Few epochs at a rate high enough for them to matter: each path takes milliseconds.
FAST = dict(
    hidden_layer_sizes=(8,), max_iter=30, learning_rate_init=0.01, random_state=0
)
ALPHAS = [1e-3, 1e-2, 1e-1]


def _classifier(**params):
    return RegularizedMLPClassifier(**{**FAST, "penalty": "l1", **params})


def _regressor(**params):
    return RegularizedMLPRegressor(**{**FAST, "penalty": "l1", **params})


def _epoch_cap(estimator, n_samples, path_max_iter):
    """The documented epoch cap of a path's fits after the first.

    ``path_max_iter`` epochs of at least four minibatches: an epoch of fewer
    counts as its share of four, so the cap rises on small data.
    """
    if path_max_iter is None:
        return estimator.max_iter
    if estimator.solver == "lbfgs":
        return min(path_max_iter, estimator.max_iter)
    batch = 200 if estimator.batch_size == "auto" else estimator.batch_size
    batches = int(np.ceil(n_samples / min(batch, n_samples)))
    cap = max(path_max_iter, int(np.ceil(path_max_iter * 4 / batches)))
    return min(cap, estimator.max_iter)


def _manual_path(estimator, X, y, alphas, path_max_iter, sample_weight=None):
    """Copies of the fits of a path done by hand, weakest alpha first.

    Written from the documented behaviour, not from the code: warm-started fits
    from the weakest alpha up, the first a plain fit with ``max_iter`` epochs, the
    others with at most ``_epoch_cap`` epochs that continue the optimizer's state
    (``keep_optimizer``: the only private call; that this is what ``partial_fit``
    does is checked on its own below).
    """
    model = clone(estimator).set_params(warm_start=True)
    fitted = []
    for i, alpha in enumerate(sorted(alphas)):
        model.set_params(alpha=alpha)
        if i == 0:
            model.fit(X, y, sample_weight=sample_weight)
        else:
            if i == 1:
                model.set_params(max_iter=_epoch_cap(estimator, len(y), path_max_iter))
            model._fit(X, y, sample_weight=sample_weight, keep_optimizer=True)
        fitted.append(copy.deepcopy(model))
    return fitted


def _manual_early_stopping_path(estimator, X, y, alphas, path_max_iter):
    """The documented path under early stopping, by hand, weakest alpha first.

    A plain fit with early stopping at the weakest alpha is the common start;
    each point continues it at its own alpha for at most ``_epoch_cap`` epochs,
    the first half of which (rounded up) early stopping may not keep.
    """
    start = clone(estimator).set_params(warm_start=True, alpha=min(alphas))
    start.fit(X, y)
    cap = _epoch_cap(estimator, len(y), path_max_iter)
    start.set_params(max_iter=cap)
    fitted = []
    for alpha in sorted(alphas):
        model = copy.deepcopy(start).set_params(alpha=alpha)
        warmup = int(np.ceil(cap / 2))
        model._fit(X, y, keep_optimizer=True, early_stopping_warmup=warmup)
        fitted.append((model, model.n_iter_))
    return fitted


def _assert_same_weights(coefs, intercepts, model):
    assert len(coefs) == len(model.coefs_)
    for a, b in zip(coefs, model.coefs_):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(intercepts, model.intercepts_):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- the path


@pytest.mark.parametrize("path_max_iter", [5, None])
def test_path_equals_a_manual_loop_of_warm_started_fits(data, path_max_iter):
    X, y = data
    estimator = _classifier(max_iter=40, tol=0.0)
    # Given unsorted: the path sorts them.
    alphas = [1e-2, 1e-3, 1e-1, 3e-2]
    path = regularization_path(
        estimator, X, y, alphas=alphas, path_max_iter=path_max_iter
    )
    np.testing.assert_array_equal(path.alphas, sorted(alphas, reverse=True))
    manual = _manual_path(estimator, X, y, alphas, path_max_iter)[::-1]
    assert len(path.coefs) == len(path.intercepts) == len(manual) == len(alphas)
    for i, model in enumerate(manual):
        assert model.alpha == path.alphas[i]
        _assert_same_weights(path.coefs[i], path.intercepts[i], model)
        assert path.n_iter[i] == model.n_iter_
    # The first fit (weakest alpha, stored last) runs max_iter epochs, the later
    # ones at most path_max_iter epochs of four minibatches: 200 rows make one,
    # so 20 epochs (tol=0 keeps the convergence rule from hiding the limit).
    limit = 40 if path_max_iter is None else 4 * path_max_iter
    assert _epoch_cap(estimator, len(y), path_max_iter) == limit
    assert path.n_iter[-1] == 40
    assert np.all(path.n_iter[:-1] <= limit)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_path_continues_the_optimizer_as_partial_fit(data, solver):
    # Without shuffling nothing is drawn after the initial weights, and with
    # n_iter_no_change above max_iter every fit runs all its epochs: a later point
    # of the path is then exactly partial_fit (which keeps Adam's moments and step
    # count, SGD's velocity) called path_max_iter times at the new alpha.
    X, y = data
    estimator = _classifier(
        solver=solver, shuffle=False, n_iter_no_change=100, batch_size=64
    )
    path = regularization_path(
        estimator, X, y, alphas=ALPHAS, path_max_iter=5, return_estimators=True
    )
    model = clone(estimator).set_params(alpha=ALPHAS[0]).fit(X, y)
    _assert_same_weights(path.coefs[-1], path.intercepts[-1], model)
    for i, alpha in enumerate(ALPHAS[1:], start=2):
        model.set_params(alpha=alpha)
        for _ in range(5):
            model.partial_fit(X, y)
        _assert_same_weights(path.coefs[-i], path.intercepts[-i], model)
    np.testing.assert_array_equal(path.n_iter, [5, 5, FAST["max_iter"]])
    # The optimizer's step count and the samples seen run on along the path:
    # four batches of at most 64 per epoch over 200 samples.
    for i, fitted in enumerate(path.estimators):
        epochs = path.n_iter[i:].sum()
        assert fitted._optimizer_state["step"] == 4 * epochs
        assert fitted.t_ == len(y) * epochs
    # A fresh optimizer at each alpha (a plain warm-started fit) is another path.
    fresh = clone(estimator).set_params(warm_start=True, alpha=ALPHAS[0]).fit(X, y)
    fresh.set_params(alpha=ALPHAS[1], max_iter=5).fit(X, y)
    assert not np.array_equal(fresh.coefs_[0], path.coefs[1][0])


def test_path_uses_sample_weight_in_every_fit(data):
    X, y = data
    weight = np.random.default_rng(0).uniform(0.1, 2.0, len(y))
    estimator = _classifier()
    path = regularization_path(
        estimator, X, y, alphas=ALPHAS, path_max_iter=5, sample_weight=weight
    )
    manual = _manual_path(estimator, X, y, ALPHAS, 5, sample_weight=weight)[::-1]
    for i, model in enumerate(manual):
        _assert_same_weights(path.coefs[i], path.intercepts[i], model)
    # The weights matter: without them the path differs.
    unweighted = regularization_path(estimator, X, y, alphas=ALPHAS)
    assert not np.array_equal(unweighted.coefs[0][0], path.coefs[0][0])


def test_path_leaves_the_estimator_unchanged(data):
    X, y = data
    # A RandomState instance would be advanced by a fit that used it directly.
    estimator = _classifier(random_state=np.random.RandomState(0))
    params = estimator.get_params()
    state = estimator.random_state.get_state()
    regularization_path(estimator, X, y, alphas=3)
    assert not hasattr(estimator, "coefs_")
    assert not hasattr(estimator, "n_iter_")
    after = estimator.get_params()
    assert after.keys() == params.keys()
    for key in params:
        if key != "random_state":
            assert after[key] == params[key], key
    for a, b in zip(estimator.random_state.get_state(), state):
        np.testing.assert_array_equal(a, b)

    # A fitted estimator keeps its own weights.
    fitted = _classifier(alpha=0.05).fit(X, y)
    before = [c.copy() for c in fitted.coefs_]
    regularization_path(fitted, X, y, alphas=ALPHAS)
    assert fitted.alpha == 0.05 and fitted.warm_start is False
    for a, b in zip(before, fitted.coefs_):
        np.testing.assert_array_equal(a, b)


def test_path_loss_and_objective_of_a_classifier(data):
    X, y = data
    estimator = _classifier()
    path = regularization_path(estimator, X, y, alphas=ALPHAS, return_estimators=True)
    assert len(path.estimators) == len(ALPHAS)
    for i, model in enumerate(path.estimators):
        # The copies carry their alpha, and the caller's max_iter and warm_start.
        assert model.alpha == path.alphas[i]
        assert model.max_iter == estimator.max_iter
        assert model.warm_start is False
        _assert_same_weights(path.coefs[i], path.intercepts[i], model)
        # The copies are independent of the stored weights and of each other.
        assert model.coefs_[0] is not path.coefs[i][0]
        expected = log_loss(y, model.predict_proba(X))
        np.testing.assert_allclose(path.loss[i], expected, rtol=1e-10)
        # penalty="l1": alpha * sum over weight matrices of ||W||_1, no intercepts.
        l1 = sum(np.abs(W).sum() for W in path.coefs[i])
        np.testing.assert_allclose(
            path.objective[i] - path.loss[i], path.alphas[i] * l1, rtol=1e-9
        )
        sparsity = [np.mean(W == 0) for W in path.coefs[i]]
        np.testing.assert_array_equal(path.sparsity[i], sparsity)
    assert path.sparsity.shape == (len(ALPHAS), 2)
    assert path.n_iter.shape == path.fit_time.shape == (len(ALPHAS),)
    assert np.all(path.fit_time > 0)
    # Without the flag there is no estimator list.
    assert "estimators" not in regularization_path(estimator, X, y, alphas=ALPHAS)


def test_path_loss_and_objective_of_a_regressor(regression):
    X, y = regression
    weight = np.random.default_rng(1).uniform(0.5, 1.5, len(y))
    estimator = _regressor(penalty="group_lasso")
    path = regularization_path(
        estimator,
        X,
        y,
        alphas=ALPHAS,
        sample_weight=weight,
        return_estimators=True,
    )
    for i, model in enumerate(path.estimators):
        # squared_error is half the (weighted) mean squared error.
        residual = y - model.predict(X)
        expected = 0.5 * np.average(residual**2, weights=weight)
        np.testing.assert_allclose(path.loss[i], expected, rtol=1e-10)
        # group_lasso: alpha * sum over matrices of sqrt(n_out) * sum of row norms.
        group = sum(
            np.sqrt(W.shape[1]) * np.linalg.norm(W, axis=1).sum() for W in path.coefs[i]
        )
        np.testing.assert_allclose(
            path.objective[i] - path.loss[i], path.alphas[i] * group, rtol=1e-9
        )


# ------------------------------------------------- the initial gradient and grid


def _glorot(layer_units, activation, random_state):
    """The Glorot-uniform draws of scikit-learn's MLPs, in NumPy."""
    rng = check_random_state(random_state)
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    return coefs, intercepts


@pytest.mark.parametrize(
    "make, dataset, activation, weighted",
    [
        (RegularizedMLPClassifier, "data", "tanh", False),
        (RegularizedMLPClassifier, "data", "tanh", True),
        (RegularizedMLPRegressor, "regression", "logistic", False),
    ],
)
def test_initial_gradient_matches_finite_differences(
    make, dataset, activation, weighted, request
):
    X, y = request.getfixturevalue(dataset)
    X, y = X[:80], y[:80]
    weight = np.random.default_rng(2).uniform(0.2, 3.0, len(y)) if weighted else None
    params = dict(hidden_layer_sizes=(6,), activation=activation, random_state=0)
    estimator = make(**params, penalty="l1", alpha=0.3)
    gradient = initial_gradient(estimator, X, y, weight)
    assert not hasattr(estimator, "coefs_")

    n_outputs = 3 if make is RegularizedMLPClassifier else 1
    units = [X.shape[1], 6, n_outputs]
    coefs, intercepts = _glorot(units, activation, 0)
    # These are the weights a fit starts from: a step of 1e-12 barely moves them.
    still = make(
        **params, solver="sgd", learning_rate_init=1e-12, momentum=0.0, max_iter=1
    ).fit(X, y)
    for a, b in zip(coefs + intercepts, still.coefs_ + still.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)

    # Central differences of the weighted mean loss (no penalty) at those weights.
    model = make(**params).fit(X, y)  # for the fitted labels and shapes
    model.intercepts_ = intercepts
    h = 1e-6
    assert [g.shape for g in gradient] == [c.shape for c in coefs]
    for layer, W in enumerate(coefs):
        numeric = np.empty_like(W)
        for index in np.ndindex(W.shape):
            losses = []
            for sign in (1, -1):
                shifted = [c.copy() for c in coefs]
                shifted[layer][index] += sign * h
                model.coefs_ = shifted
                losses.append(mean_loss(model, X, y, weight))
            numeric[index] = (losses[0] - losses[1]) / (2 * h)
        np.testing.assert_allclose(gradient[layer], numeric, rtol=1e-5, atol=1e-8)


def test_initial_gradient_weights_are_repetitions(data):
    # Integer sample weights give the gradient of the data with rows repeated.
    X, y = data
    X, y = X[:60], y[:60]
    counts = np.random.default_rng(3).integers(1, 4, len(y))
    estimator = _classifier()
    weighted = initial_gradient(estimator, X, y, counts.astype(float))
    repeated = initial_gradient(
        estimator, np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    for a, b in zip(weighted, repeated):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_initial_gradient_is_the_same_in_chunks_and_for_sparse_input(data, monkeypatch):
    # The gradient is accumulated over chunks of rows, each weighted by its share
    # of the sample weight: chunks of 7 rows (the last one shorter) change nothing.
    X, y = data
    X, y = X[:80], y[:80]
    weight = np.random.default_rng(5).uniform(0.1, 3.0, len(y))
    estimator = _classifier()
    whole = initial_gradient(estimator, X, y, weight)
    monkeypatch.setattr(_full_batch, "_GRADIENT_CHUNK", 7)
    chunked = initial_gradient(estimator, X, y, weight)
    sparse = initial_gradient(estimator, sp.csr_matrix(X), y, weight)
    for a, b, c in zip(whole, chunked, sparse):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(c, a, rtol=1e-10, atol=1e-14)


def _expected_alpha_max(gradient, penalty, rho):
    l1 = max(np.abs(g).max() for g in gradient)
    group = max(np.linalg.norm(g, axis=1).max() / np.sqrt(g.shape[1]) for g in gradient)
    return {
        "l1": l1,
        "l2": l1,
        "elasticnet": l1 / rho,
        "group_lasso": group,
        "sparse_group_lasso": min(l1 / rho, group / (1 - rho)),
    }[penalty]


@pytest.mark.parametrize(
    "penalty", ["l1", "l2", "elasticnet", "group_lasso", "sparse_group_lasso"]
)
def test_automatic_grid_is_geometric_from_alpha_max(data, penalty):
    X, y = data
    n, eps = 4, 1e-2
    estimator = _classifier(penalty=penalty, l1_ratio=0.4, max_iter=5)
    path = regularization_path(estimator, X, y, alphas=n, eps=eps, path_max_iter=2)
    gradient = initial_gradient(estimator, X, y)
    top = _expected_alpha_max(gradient, penalty, 0.4)
    assert path.alphas.shape == (n,)
    np.testing.assert_allclose(path.alphas[0], top, rtol=1e-12)
    np.testing.assert_allclose(path.alphas[-1], eps * top, rtol=1e-12)
    np.testing.assert_allclose(
        path.alphas[1:] / path.alphas[:-1], eps ** (1 / (n - 1)), rtol=1e-12
    )


@pytest.mark.parametrize("penalty", ["l1", "group_lasso", "sparse_group_lasso"])
def test_alpha_max_switches_the_network_off(data, penalty):
    X, y = data
    estimator = _classifier(penalty=penalty, l1_ratio=0.5, max_iter=50)
    top = _expected_alpha_max(initial_gradient(estimator, X, y), penalty, 0.5)
    # Just above alpha_max every weight of at least one layer ends at zero...
    above = clone(estimator).set_params(alpha=1.05 * top).fit(X, y)
    assert any(not W.any() for W in above.coefs_)
    # ... far below it, no layer does.
    below = clone(estimator).set_params(alpha=1e-2 * top).fit(X, y)
    assert all(W.any() for W in below.coefs_)


def test_l1_path_is_sparser_at_the_strong_end(data):
    X, y = data
    # Enough epochs at each alpha for the top of the grid to reach its solution.
    path = regularization_path(
        _classifier(max_iter=50), X, y, alphas=4, eps=1e-3, path_max_iter=50
    )
    strongest, weakest = path.sparsity[0], path.sparsity[-1]
    assert np.all(strongest >= weakest)
    assert strongest.sum() > weakest.sum()
    # The top of the grid switches a whole layer off.
    assert strongest.max() == 1.0
    assert weakest.max() < 1.0


# ------------------------------------------- epochs per point, early stopping


@pytest.mark.parametrize(
    "solver, batch_size, expected",
    [("adam", "auto", 24), ("adam", 100, 12), ("sgd", 50, 6), ("lbfgs", "auto", 6)],
    ids=["one-batch", "two-batches", "four-batches", "lbfgs"],
)
def test_path_max_iter_counts_epochs_of_four_minibatches(
    data, solver, batch_size, expected
):
    # 200 rows: an epoch of one minibatch counts as a quarter of one, so the cap
    # is four times path_max_iter; with four minibatches or more (or L-BFGS,
    # whose iterations see all the data), path_max_iter itself.
    X, y = data
    estimator = _classifier(
        solver=solver,
        batch_size=batch_size,
        tol=0.0,
        max_iter=100,
        penalty="l2" if solver == "lbfgs" else "l1",
    )
    assert _epoch_cap(estimator, len(y), 6) == expected
    path = regularization_path(estimator, X, y, alphas=[1e-3, 1e-2], path_max_iter=6)
    if solver == "lbfgs":  # stops on its own criteria, within the cap
        assert path.n_iter[0] <= expected
    else:
        assert path.n_iter[0] == expected
    # Never above max_iter.
    capped = clone(estimator).set_params(max_iter=10)
    assert _epoch_cap(capped, len(y), 6) == min(10, expected)


def test_early_stopping_path_equals_the_documented_rounds(data):
    X, y = data
    estimator = _classifier(early_stopping=True, max_iter=40, n_iter_no_change=3)
    alphas = [1e-3, 1e-2, 1e-1]
    path = regularization_path(
        estimator, X, y, alphas=alphas, path_max_iter=3, return_estimators=True
    )
    manual = _manual_early_stopping_path(estimator, X, y, alphas, 3)[::-1]
    for i, (model, _) in enumerate(manual):
        _assert_same_weights(path.coefs[i], path.intercepts[i], model)
        _assert_same_weights(path.coefs[i], path.intercepts[i], path.estimators[i])
        assert path.n_iter[i] == path.estimators[i].n_iter_
        assert path.estimators[i].best_validation_score_ == (
            model.best_validation_score_
        )
    # The weakest point's epochs also count the fit from scratch it starts from.
    start = clone(estimator).set_params(alpha=1e-3).fit(X, y)
    assert path.n_iter[-1] == start.n_iter_ + manual[-1][1]
    assert list(path.n_iter[:-1]) == [epochs for _, epochs in manual[:-1]]
    # The rounds start from that fit, not from each other: chained, the
    # strongest point would differ.
    chained = copy.deepcopy(manual[1][0]).set_params(alpha=1e-1)
    chained._fit(X, y, keep_optimizer=True, early_stopping_warmup=2)
    assert not np.array_equal(chained.coefs_[0], path.coefs[0][0])


def test_cv_refit_under_early_stopping_is_the_round_at_alpha_(data):
    X, y = data
    params = dict(early_stopping=True, n_iter_no_change=3, path_max_iter=3)

    def prefer_1e_2(model, X, y):
        return -abs(np.log(model.alpha / 1e-2))

    search = _search(**params, scoring=prefer_1e_2).fit(X, y)
    assert search.alpha_ == 1e-2
    base = _classifier(early_stopping=True, n_iter_no_change=3)
    model, epochs = _manual_early_stopping_path(base, X, y, [1e-3, 1e-2], 3)[-1]
    _assert_same_weights(model.coefs_, model.intercepts_, search)
    assert search.n_iter_ == epochs
    assert search.best_validation_score_ == model.best_validation_score_


def _digits_l1():
    X, y = load_digits(return_X_y=True)
    return X / 16, y, dict(hidden_layer_sizes=(32,), penalty="l1")


def _cancer_group_lasso():
    X, y = load_breast_cancer(return_X_y=True)
    params = dict(hidden_layer_sizes=(16,), penalty="group_lasso", batch_size=32)
    return StandardScaler().fit_transform(X), y, params


def _regression_l1():
    X, y = make_regression(600, 20, n_informative=8, noise=20.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    return X, y / y.std(), dict(hidden_layer_sizes=(32,), penalty="l1")


@pytest.mark.parametrize(
    "make", [_digits_l1, _cancer_group_lasso, _regression_l1], ids=lambda f: f.__name__
)
def test_early_stopping_search_agrees_with_fits_from_scratch(make):
    # The score the search gives an alpha must be that of a model trained at
    # that alpha: a fit from scratch at the chosen alpha_ scores as the refitted
    # model, and early stopping chooses about as well as training to convergence.
    # Fits from scratch with early stopping vary by a few points with their seed
    # (the validation split is a tenth of the data), so "a fit from scratch" is
    # the mean test score of three seeds. Over six train/test splits the refits
    # scored 1.4 points above that mean to 0.5 below (cancer: up to 3.7 above, on
    # a split where the fits from scratch stopped early), and the alphas chosen
    # with early stopping scored at most 0.7 points below those chosen without.
    X, y, params = make()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=0.6, random_state=2
    )
    params = dict(params, learning_rate_init=0.01, random_state=0)
    classifier = make is not _regression_l1
    Search = RegularizedMLPClassifierCV if classifier else RegularizedMLPRegressorCV
    Model = RegularizedMLPClassifier if classifier else RegularizedMLPRegressor

    def from_scratch(alpha):
        scores = [
            Model(**{**params, "random_state": seed}, alpha=alpha, early_stopping=True)
            .fit(X_train, y_train)
            .score(X_test, y_test)
            for seed in range(3)
        ]
        return np.mean(scores)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        searches = {
            stop: Search(**params, alphas=6, cv=3, early_stopping=stop).fit(
                X_train, y_train
            )
            for stop in (True, False)
        }
        chosen = from_scratch(searches[True].alpha_)
        without = from_scratch(searches[False].alpha_)
        # At the two strongest alphas, the search's cross-validated scores are
        # those of fits from scratch on the same folds: a point that kept its
        # model of the alpha before (the best epoch right after the warm start)
        # scored on digits 0.92 where its fits from scratch score 0.10.
        top = [
            cross_val_score(
                Model(**params, alpha=alpha, early_stopping=True),
                X_train,
                y_train,
                cv=3,
            ).mean()
            for alpha in searches[True].alphas_[:2]
        ]
    assert abs(chosen - searches[True].score(X_test, y_test)) <= 0.03
    assert chosen >= without - 0.02
    np.testing.assert_allclose(
        searches[True].cv_results_["mean_test_score"][:2], top, atol=0.03
    )


# ----------------------------------------------------------------- errors


def test_path_without_a_penalty_is_refused(data):
    X, y = data
    estimator = _classifier(penalty=None)
    with pytest.raises(ValueError, match="penalty=None"):
        regularization_path(estimator, X, y, alphas=ALPHAS)
    assert not hasattr(estimator, "coefs_")


def test_path_refuses_other_estimators(data):
    X, y = data
    with pytest.raises((InvalidParameterError, TypeError)):
        regularization_path(LogisticRegression(), X, y, alphas=ALPHAS)


@pytest.mark.parametrize(
    "alphas",
    [[-1.0, 0.1], [0.1, np.nan], [0.1, np.inf], [], [[0.1, 0.2]]],
    ids=["negative", "nan", "inf", "empty", "2d"],
)
def test_path_refuses_bad_alphas(data, alphas):
    X, y = data
    estimator = _classifier()
    with pytest.raises(ValueError):
        regularization_path(estimator, X, y, alphas=alphas)
    assert not hasattr(estimator, "coefs_")


@pytest.mark.parametrize(
    "params",
    [dict(alphas=0), dict(eps=0.0), dict(eps=1.0), dict(path_max_iter=0)],
    ids=["alphas=0", "eps=0", "eps=1", "path_max_iter=0"],
)
def test_path_validates_its_parameters(data, params):
    X, y = data
    estimator = _classifier()
    with pytest.raises(InvalidParameterError):
        regularization_path(estimator, X, y, **params)
    assert not hasattr(estimator, "coefs_")


@pytest.mark.parametrize("alphas", [3, ALPHAS], ids=["automatic", "given"])
@pytest.mark.parametrize("param", ["activation", "penalty"])
def test_path_reports_invalid_estimator_parameters(data, alphas, param):
    # The estimator's own validation error, as its fit raises it, whether or not
    # the grid is computed from the initial gradient first.
    X, y = data
    estimator = _classifier(**{param: "bogus"})
    with pytest.raises(InvalidParameterError, match=param):
        regularization_path(estimator, X, y, alphas=alphas)


def test_path_accepts_a_zero_alpha(data):
    # alpha=0 is allowed (>= 0): the weakest point of the path is unpenalized.
    X, y = data
    path = regularization_path(_classifier(), X, y, alphas=[0.0, 0.1])
    np.testing.assert_array_equal(path.alphas, [0.1, 0.0])
    assert path.objective[-1] == path.loss[-1]


# ------------------------------------------------------- the CV estimators


def _search(**params):
    defaults = dict(
        penalty="l1",
        alphas=ALPHAS,
        path_max_iter=10,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    return RegularizedMLPClassifierCV(**{**FAST, **defaults, **params})


def _fold_scores(
    estimator,
    X,
    y,
    cv,
    alphas,
    path_max_iter,
    scorer,
    weight=None,
    groups=None,
    score_weight=None,
):
    """Per fold, the scores of a hand-made path, strongest alpha first.

    ``weight`` trains the fits; ``score_weight``, when given, weights the scores.
    """
    scores, n_iter = [], []
    for train, test in cv.split(X, y, groups):
        w = None if weight is None else weight[train]
        fits = _manual_path(estimator, X[train], y[train], alphas, path_max_iter, w)
        fits = fits[::-1]
        kwargs = {} if score_weight is None else {"sample_weight": score_weight[test]}
        scores.append([scorer(m, X[test], y[test], **kwargs) for m in fits])
        n_iter.append([m.n_iter_ for m in fits])
    return np.array(scores), np.array(n_iter)


def test_cv_fold_scores_equal_manual_paths(data):
    X, y = data
    search = _search().fit(X, y)
    scores, n_iter = _fold_scores(
        _classifier(), X, y, search.cv, ALPHAS, 10, lambda m, X, y: m.score(X, y)
    )
    assert search.n_splits_ == 3
    np.testing.assert_array_equal(search.alphas_, sorted(ALPHAS, reverse=True))
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    np.testing.assert_array_equal(search.cv_results_["mean_n_iter"], n_iter.mean(0))


def test_cv_results_are_consistent(data):
    X, y = data
    search = _search(alphas=4, eps=1e-2).fit(X, y)
    results = search.cv_results_
    n = len(search.alphas_)
    splits = np.array([results[f"split{k}_test_score"] for k in range(3)])
    assert splits.shape == (3, n)
    np.testing.assert_allclose(results["mean_test_score"], splits.mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        results["std_test_score"], splits.std(0), rtol=1e-12, atol=1e-15
    )
    # GridSearchCV ranks with ties sharing the smaller rank.
    expected_rank = rankdata(-results["mean_test_score"], method="min")
    np.testing.assert_array_equal(results["rank_test_score"], expected_rank)
    best = search.best_index_
    assert best == np.argmax(results["mean_test_score"])
    assert results["rank_test_score"][best] == 1
    assert search.best_score_ == results["mean_test_score"][best]
    assert search.alpha_ == search.alphas_[best] == results["param_alpha"][best]
    assert search.best_params_ == results["params"][best]
    assert search.best_params_ == dict(
        alpha=search.alpha_, l1_ratio=search.l1_ratio_, dropout=search.dropout_
    )
    assert search.l1_ratio_ == 0.15 and search.dropout_ == 0.0
    assert np.all(np.diff(search.alphas_) < 0)
    # The automatic grid is computed on the whole data, as the path's.
    grid = regularization_path(_classifier(), X, y, alphas=4, eps=1e-2).alphas
    np.testing.assert_array_equal(search.alphas_, grid)
    for name in ("fit_time", "score_time"):
        assert results[f"mean_{name}"].shape == (n,)
        assert np.all(results[f"mean_{name}"] > 0)
        assert np.all(results[f"std_{name}"] >= 0)
    assert search.refit_time_ > 0


def test_cv_ranks_ties_and_nan_as_grid_search(data):
    X, y = data
    alphas = [1e-1, 3e-2, 1e-2, 3e-3]

    def scorer(model, X, y):
        # Depends on alpha alone, so a GridSearchCV gets the same scores: NaN at
        # the strongest alpha, a tie for the best between the next two.
        return {1e-1: np.nan, 3e-2: 0.5, 1e-2: 0.5, 3e-3: 0.25}[model.alpha]

    search = _search(alphas=alphas, scoring=scorer).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # non-finite test scores
        grid = GridSearchCV(
            _classifier(), {"alpha": alphas}, scoring=scorer, cv=search.cv
        ).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["rank_test_score"], grid.cv_results_["rank_test_score"]
    )
    assert search.best_index_ == grid.best_index_
    assert search.alpha_ == grid.best_params_["alpha"]
    assert search.best_score_ == grid.best_score_


def test_cv_accepts_an_iterable_of_splits(data):
    X, y = data
    splitter = StratifiedKFold(3, shuffle=True, random_state=0)
    search = _search(cv=splitter).fit(X, y)
    listed = _search(cv=list(splitter.split(X, y))).fit(X, y)
    assert listed.n_splits_ == 3
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(listed.cv_results_[key], search.cv_results_[key])
    _assert_same_weights(search.coefs_, search.intercepts_, listed)


def test_cv_results_have_the_keys_of_grid_search(data):
    X, y = data
    search = _search().fit(X, y)
    grid = GridSearchCV(
        _classifier(),
        {"alpha": ALPHAS, "l1_ratio": [0.15], "dropout": [0.0]},
        cv=search.cv,
    ).fit(X, y)
    assert set(search.cv_results_) == set(grid.cv_results_) | {"mean_n_iter"}
    for key, values in search.cv_results_.items():
        assert len(values) == len(ALPHAS), key


def test_cv_refit_is_the_path_up_to_the_best_alpha(data):
    X, y = data
    alphas = [1e-3, 3e-3, 1e-2, 3e-2]

    def prefer_3e_3(model, X, y):
        # Picks the second weakest alpha, so the refit must stop inside the path.
        return -abs(np.log(model.alpha / 3e-3))

    search = _search(alphas=alphas, scoring=prefer_3e_3).fit(X, y)
    assert search.alpha_ == 3e-3
    manual = _manual_path(_classifier(), X, y, [1e-3, 3e-3], 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)
    np.testing.assert_array_equal(search.predict(X), manual.predict(X))
    np.testing.assert_array_equal(search.predict_proba(X), manual.predict_proba(X))
    np.testing.assert_array_equal(search.classes_, manual.classes_)
    assert search.n_iter_ == manual.n_iter_
    assert search.loss_curve_ == manual.loss_curve_
    assert search.alpha == search.alpha_
    # Going one alpha further would give other weights: the refit stopped at alpha_.
    further = _manual_path(_classifier(), X, y, [1e-3, 3e-3, 1e-2], 10)[-1]
    assert not np.array_equal(further.coefs_[0], search.coefs_[0])


def test_cv_refit_of_the_selected_alpha(data):
    X, y = data
    search = _search().fit(X, y)
    below = [a for a in ALPHAS if a <= search.alpha_]
    manual = _manual_path(_classifier(), X, y, below, 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)
    np.testing.assert_array_equal(search.predict_proba(X), manual.predict_proba(X))
    assert search.score(X, y) == manual.score(X, y)


def test_cv_weights_training_and_scores_as_grid_search(data):
    X, y = data
    weight = np.random.default_rng(4).uniform(0.2, 2.0, len(y))
    search = _search().fit(X, y, sample_weight=weight)
    # Trained with the fold's weights and, as GridSearchCV does since
    # scikit-learn 1.9, scored with the test part's weights.
    scores, _ = _fold_scores(
        _classifier(),
        X,
        y,
        search.cv,
        ALPHAS,
        10,
        lambda m, X, y, sample_weight: m.score(X, y, sample_weight=sample_weight),
        weight,
        score_weight=weight,
    )
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    below = [a for a in ALPHAS if a <= search.alpha_]
    manual = _manual_path(_classifier(), X, y, below, 10, weight)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)

    # GridSearchCV's own choice between scoring with and without the weights:
    # a scorer without a sample_weight parameter scores unweighted, with a warning.
    def unweighted(model, X, y):
        return model.score(X, y)

    expected, _ = _fold_scores(
        _classifier(), X, y, search.cv, ALPHAS, 10, unweighted, weight
    )
    with pytest.warns(UserWarning, match="does not support sample_weight"):
        plain = _search(scoring=unweighted).fit(X, y, sample_weight=weight)
    with pytest.warns(UserWarning, match="does not support sample_weight"):
        GridSearchCV(
            _classifier(), {"alpha": ALPHAS}, scoring=unweighted, cv=search.cv
        ).fit(X, y, sample_weight=weight)
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(plain.cv_results_[key], expected[k])
        assert not np.array_equal(plain.cv_results_[key], scores[k])


def test_cv_grid_of_l1_ratios_and_dropouts(data):
    X, y = data
    l1_ratios, dropouts = [0.2, 0.8], [0.0, 0.25]
    search = _search(
        penalty="elasticnet", alphas=3, l1_ratios=l1_ratios, dropouts=dropouts
    ).fit(X, y)
    results = search.cv_results_
    alphas = search.alphas_
    expected = [
        {"alpha": a, "l1_ratio": r, "dropout": d}
        for r in l1_ratios
        for d in dropouts
        for a in alphas
    ]
    assert results["params"] == expected
    assert len(results["mean_test_score"]) == 12
    assert list(results["param_l1_ratio"]) == [p["l1_ratio"] for p in expected]
    assert list(results["param_dropout"]) == [p["dropout"] for p in expected]
    # The grid's top is that of the smallest L1 share, which needs the largest alpha.
    gradient = initial_gradient(_classifier(), X, y)
    top = _expected_alpha_max(gradient, "elasticnet", min(l1_ratios))
    np.testing.assert_allclose(alphas[0], top, rtol=1e-12)
    # The rows of one grid point are that point's own path.
    point = _classifier(penalty="elasticnet", l1_ratio=0.8, dropout=0.25)
    scores, _ = _fold_scores(
        point, X, y, search.cv, alphas, 10, lambda m, X, y: m.score(X, y)
    )
    rows = slice(9, 12)  # l1_ratio=0.8, dropout=0.25
    for k in range(3):
        np.testing.assert_array_equal(results[f"split{k}_test_score"][rows], scores[k])
    # The refit uses the best point's l1_ratio and dropout.
    assert search.best_params_ == expected[search.best_index_]
    best = _classifier(
        penalty="elasticnet", l1_ratio=search.l1_ratio_, dropout=search.dropout_
    )
    below = [a for a in alphas if a <= search.alpha_]
    manual = _manual_path(best, X, y, below, 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)


def test_cv_parallel_equals_serial(data):
    X, y = data
    serial = _search(n_jobs=1).fit(X, y)
    parallel = _search(n_jobs=2).fit(X, y)
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key]
        )
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_n_iter"], serial.cv_results_["mean_n_iter"]
    )
    assert parallel.alpha_ == serial.alpha_
    _assert_same_weights(serial.coefs_, serial.intercepts_, parallel)


# ------------------------------------------ the CV estimators among sklearn's tools


def test_cv_takes_groups_for_group_splitters(data):
    X, y = data
    groups = np.arange(len(y)) % 7
    cv = GroupKFold(3)
    search = _search(cv=cv).fit(X, y, groups=groups)
    scores, _ = _fold_scores(
        _classifier(),
        X,
        y,
        cv,
        ALPHAS,
        10,
        lambda m, X, y: m.score(X, y),
        groups=groups,
    )
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    # GroupKFold's own error without groups; other metadata needs routing, as
    # in GridSearchCV.
    with pytest.raises(ValueError, match="groups"):
        _search(cv=cv).fit(X, y)
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        _search(cv=cv).fit(X, y, groups=groups, weights=groups)


def test_cv_routes_metadata_to_the_splitter_and_the_scorer(data):
    X, y = data
    groups = np.arange(len(y)) % 7
    weight = np.random.default_rng(6).uniform(0.2, 2.0, len(y))
    cv = GroupKFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        # The default scorer requests nothing: passed weights are an error, as
        # in LogisticRegressionCV.
        with pytest.raises(UnsetMetadataPassedError):
            _search(cv=cv).fit(X, y, groups=groups, sample_weight=weight)
        scorer = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        search = _search(cv=cv, scoring=scorer)
        routing = search.get_metadata_routing()
        assert routing.consumes("fit", ["groups", "sample_weight"]) == {
            "groups",
            "sample_weight",
        }
        search.fit(X, y, groups=groups, sample_weight=weight)
        # Without sample weights, the scorer's request is optional.
        unweighted = _search(cv=cv, scoring=scorer).fit(X, y, groups=groups)
    weighted, _ = _fold_scores(
        _classifier(),
        X,
        y,
        cv,
        ALPHAS,
        10,
        lambda m, X, y, sample_weight: accuracy_score(
            y, m.predict(X), sample_weight=sample_weight
        ),
        weight,
        groups=groups,
        score_weight=weight,
    )
    plain, _ = _fold_scores(
        _classifier(),
        X,
        y,
        cv,
        ALPHAS,
        10,
        lambda m, X, y: m.score(X, y),
        groups=groups,
    )
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(search.cv_results_[key], weighted[k])
        np.testing.assert_array_equal(unweighted.cv_results_[key], plain[k])


def test_cv_workers_get_the_callers_warning_filters_and_config(data):
    X, y = data
    search = _search(n_jobs=2, refit=False, max_iter=3, path_max_iter=3)

    # The scores say what the workers' scikit-learn configuration was.
    def assume_finite(model, X, y):
        return float(sklearn.get_config()["assume_finite"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with sklearn.config_context(assume_finite=True):
            inside = clone(search).set_params(scoring=assume_finite).fit(X, y)
        outside = clone(search).set_params(scoring=assume_finite).fit(X, y)
    np.testing.assert_array_equal(inside.cv_results_["mean_test_score"], 1.0)
    np.testing.assert_array_equal(outside.cv_results_["mean_test_score"], 0.0)

    # Every fit stops at its epoch limit with a ConvergenceWarning: raised as an
    # error from the worker processes, the caller's filter reached them. (Last:
    # an error makes joblib restart its workers.)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="Maximum iterations"):
            clone(search).fit(X, y)


def test_cv_verbose_output_labels_each_path(data, capsys):
    X, y = data
    search = _search(
        verbose=True,
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        alphas=[1e-3, 1e-2],
        dropouts=[0.0, 0.25],
        max_iter=3,
        path_max_iter=2,
        # Four minibatches per epoch: path_max_iter counts whole epochs.
        batch_size=25,
        # The strongest alpha wins (the first dropout of the tie): a known refit.
        scoring=lambda model, X, y: model.alpha,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    points = [
        f"[fold {k}/2, l1_ratio=0.15, dropout={d}] alpha {i}/2 = {a:.4g}"
        for d in (0.0, 0.25)
        for k in (1, 2)
        for i, a in ((1, 1e-3), (2, 1e-2))
    ]
    refit = [
        "[refit, l1_ratio=0.15, dropout=0.0] alpha 1/2 = 0.001",
        "[refit, l1_ratio=0.15, dropout=0.0] alpha 2/2 = 0.01",
    ]
    headers = [line for line in lines if line.startswith("[")]
    assert [line for line in headers if ": score " not in line] == points + refit
    # Each fold's point: its header, one "Iteration" line per epoch (3 for the
    # first point of a path, 2 for the later one), then a line with its score;
    # the refit's points have no score.
    expected = []
    for point in points:
        epochs = 3 if " alpha 1/2 " in point else 2
        expected += [point] + ["Iteration"] * epochs + [point + ": score"]
    for point in refit:
        epochs = 3 if " alpha 1/2 " in point else 2
        expected += [point] + ["Iteration"] * epochs
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected):
        assert line.startswith(start)
    assert lines[4].startswith(points[0] + ": score 0.001 after 3 epochs, ")
    assert lines[4].endswith(" s")


def test_cv_without_refit_cannot_predict(data):
    X, y = data
    search = _search(refit=False).fit(X, y)
    assert not hasattr(search, "coefs_")
    assert not hasattr(search, "refit_time_")
    with pytest.raises(NotFittedError, match="refit=False"):
        search.predict(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(search)
    # The search itself is the same as with a refit.
    refitted = _search().fit(X, y)
    assert search.alpha_ == refitted.alpha_
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], refitted.cv_results_["mean_test_score"]
    )
    # Refitting a refitted search without refit drops the model.
    refitted.set_params(refit=False).fit(X, y)
    with pytest.raises(NotFittedError, match="refit=False"):
        refitted.predict(X)


@pytest.mark.parametrize(
    "Search", [RegularizedMLPClassifierCV, RegularizedMLPRegressorCV]
)
def test_cv_lacks_partial_fit_and_callbacks_and_says_why(Search):
    search = Search()
    # hasattr is False, so scikit-learn's checks and meta-estimators see no
    # such method; the error itself, not a chained one, says what to do.
    for name, reason in [
        ("partial_fit", "fits whole paths and has no partial_fit"),
        ("set_callbacks", "does not report to callbacks"),
    ]:
        assert not hasattr(search, name)
        with pytest.raises(AttributeError, match=reason) as error:
            getattr(search, name)
        assert error.value.__cause__ is None
        assert str(error.value).startswith(Search.__name__)
        assert "alpha=alpha_" in str(error.value)
        # Looked up on the class (as documentation tools do), it raises when called.
        with pytest.raises(AttributeError, match=reason):
            getattr(Search, name)(search)


@pytest.mark.parametrize(
    "params",
    [
        dict(alphas=0),
        dict(path_max_iter=0),
        dict(cv="x"),
        dict(eps=1.5),
        dict(scoring="not_a_scorer"),
        dict(refit="yes"),
    ],
    ids=["alphas=0", "path_max_iter=0", "cv=x", "eps", "scoring", "refit"],
)
def test_cv_validates_its_parameters(data, params):
    X, y = data
    with pytest.raises(InvalidParameterError):
        _search(**params).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [
        dict(l1_ratios=[0.5, 1.5]),
        dict(l1_ratios=[]),
        dict(dropouts=[]),
        dict(penalty=None),
        dict(alphas=[-0.1, 0.1]),
    ],
    ids=["l1_ratio>1", "no_l1_ratio", "no_dropout", "no_penalty", "negative_alpha"],
)
def test_cv_refuses_bad_grids(data, params):
    X, y = data
    search = _search(**params)
    with pytest.raises(ValueError):
        search.fit(X, y)
    assert not hasattr(search, "coefs_")


def test_cv_keeps_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    search = _search().fit(frame, y)
    np.testing.assert_array_equal(search.feature_names_in_, frame.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = search.predict_proba(frame)
        search.predict(frame)
    # The same model as a fit on the bare array.
    np.testing.assert_array_equal(proba, _search().fit(X, y).predict_proba(X))
    # As scikit-learn's estimators: an array without names is warned about.
    with pytest.warns(UserWarning, match="feature names"):
        search.predict(X)


@pytest.mark.parametrize("scoring", ["neg_log_loss", "callable"])
def test_cv_scoring(data, scoring):
    X, y = data
    if scoring == "callable":

        def scorer(model, X, y):
            return -np.mean(np.abs(model.predict_proba(X).argmax(1) - y))

    else:
        scorer = get_scorer(scoring)
    search = _search(scoring=scorer if scoring == "callable" else scoring).fit(X, y)
    scores, _ = _fold_scores(_classifier(), X, y, search.cv, ALPHAS, 10, scorer)
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    means = scores.mean(0)
    assert search.best_score_ == pytest.approx(means.max(), rel=1e-12)
    assert search.best_index_ == np.argmax(means)


def test_cv_string_labels(data):
    X, y = data
    labels = np.array(["ant", "bee", "cat"])[y]
    search = _search().fit(X, labels)
    numeric = _search().fit(X, y)
    np.testing.assert_array_equal(search.classes_, ["ant", "bee", "cat"])
    # Stratified folds and the fits see the same encoded classes: the same model.
    _assert_same_weights(numeric.coefs_, numeric.intercepts_, search)
    np.testing.assert_array_equal(
        search.predict(X), np.array(["ant", "bee", "cat"])[numeric.predict(X)]
    )


def test_regressor_cv(regression):
    X, y = regression
    common = dict(FAST, penalty="l1")
    cv = KFold(3, shuffle=True, random_state=0)
    search = RegularizedMLPRegressorCV(
        **common, alphas=ALPHAS, path_max_iter=10, cv=cv
    ).fit(X, y)
    base = RegularizedMLPRegressor(**common)
    scores, _ = _fold_scores(base, X, y, cv, ALPHAS, 10, lambda m, X, y: m.score(X, y))
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    below = [a for a in ALPHAS if a <= search.alpha_]
    manual = _manual_path(base, X, y, below, 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)
    np.testing.assert_array_equal(search.predict(X), manual.predict(X))


@pytest.mark.parametrize(
    "Search, Base",
    [
        (RegularizedMLPClassifierCV, RegularizedMLPClassifier),
        (RegularizedMLPRegressorCV, RegularizedMLPRegressor),
    ],
)
def test_cv_parameters_are_the_base_ones_and_the_grid(Search, Base):
    params = Search().get_params()
    base = Base().get_params()
    assert "alpha" not in params and "warm_start" not in params
    grid = dict(
        alphas=10,
        eps=1e-3,
        path_max_iter=10,
        l1_ratios=None,
        dropouts=None,
        cv=None,
        scoring=None,
        n_jobs=None,
        refit=True,
    )
    expected = {k: v for k, v in base.items() if k not in ("alpha", "warm_start")}
    assert params == {**expected, **grid}
    with pytest.raises(TypeError):
        Search(alpha=0.1)


def test_a_failed_search_leaves_the_fitted_search_as_it_was(data):
    X, y = data
    search = RegularizedMLPClassifierCV(**FAST, penalty="l1", alphas=3, cv=3)
    search.fit(X, y)
    before = copy.deepcopy(search.__dict__)
    expected = search.predict_proba(X)
    # The grid is checked after the new data have been validated.
    search.set_params(l1_ratios=[2.0])
    with pytest.raises(ValueError, match="l1_ratio"):
        search.fit(X[:, :3], y)
    assert search.n_features_in_ == X.shape[1]
    assert search.__dict__.keys() == before.keys()
    np.testing.assert_array_equal(search.predict_proba(X), expected)
