"""What the path and CV tests share: small estimators and manual paths."""

import copy

import numpy as np
from _reference import SHARES
from sklearn.base import clone

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
)

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


def _expected_alpha_max(gradient, penalty, rho):
    """Where the first non-smooth part outweighs every weight's (or row's) gradient."""
    l1 = max(np.abs(g).max() for g in gradient)
    group = max(np.linalg.norm(g, axis=1).max() / np.sqrt(g.shape[1]) for g in gradient)
    _, l1_share, group_share = SHARES[penalty](rho)
    if l1_share == 0 and group_share == 0:
        return l1
    return min(
        l1 / l1_share if l1_share else np.inf,
        group / group_share if group_share else np.inf,
    )
