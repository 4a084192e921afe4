"""Tests of skreg._pruning: prune() removes dead units, predictions unchanged."""

import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skreg import (
    RegularizedMLPClassifier,
)


def _with_dead_units(clf, rng):
    """Zero random rows and columns of the hidden layers' weight matrices."""
    coefs = [c.copy() for c in clf.coefs_]
    for layer in range(len(coefs) - 1):
        n_units = coefs[layer].shape[1]
        silent = rng.random(n_units) < 0.3
        constant = rng.random(n_units) < 0.3
        coefs[layer + 1][silent] = 0.0
        coefs[layer][:, constant] = 0.0
    clf.coefs_ = coefs
    return clf


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    activation=st.sampled_from(["relu", "tanh", "logistic", "identity"]),
    hidden=st.lists(st.integers(1, 6), min_size=1, max_size=3),
)
# The last layer cut down to one silent unit silences the layers below it.
@example(seed=79, activation="relu", hidden=[6, 4, 1])
def test_prune_keeps_predictions_and_removes_dead_units(seed, activation, hidden):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 5))
    y = rng.integers(0, 3, size=40)
    y[:3] = [0, 1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = RegularizedMLPClassifier(
            tuple(hidden), activation=activation, max_iter=3, random_state=seed
        ).fit(X, y)
    _with_dead_units(clf, rng)
    before = clf.predict_proba(X)
    clf.prune()
    np.testing.assert_allclose(clf.predict_proba(X), before, rtol=1e-10, atol=1e-12)
    assert clf.n_features_in_ == 5
    assert clf.hidden_layer_sizes == tuple(c.shape[1] for c in clf.coefs_[:-1])
    for layer in range(len(clf.coefs_) - 1):
        W_in, W_out = clf.coefs_[layer], clf.coefs_[layer + 1]
        dead = ~W_out.any(axis=1) | ~W_in.any(axis=0)
        # Nothing dead is left, unless a layer is down to its one kept unit.
        assert not dead.any() or W_in.shape[1] == 1
    # Idempotent.
    shapes = [c.shape for c in clf.coefs_]
    clf.prune()
    assert [c.shape for c in clf.coefs_] == shapes


def test_prune_shrinks_a_group_lasso_network_and_training_continues(data):
    X, y = data
    clf = RegularizedMLPClassifier(
        (32, 16),
        penalty="group_lasso",
        alpha=0.03,
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ).fit(X, y)
    before = clf.predict_proba(X)
    n_before = sum(c.size for c in clf.coefs_)
    clf.prune()
    assert sum(c.size for c in clf.coefs_) < n_before
    np.testing.assert_allclose(clf.predict_proba(X), before, rtol=1e-10, atol=1e-12)
    # partial_fit and a warm start continue from the pruned network.
    sizes = clf.hidden_layer_sizes
    clf.partial_fit(X, y)
    assert [c.shape[1] for c in clf.coefs_[:-1]] == list(sizes)
    clf.set_params(warm_start=True, max_iter=5).fit(X, y)
    assert [c.shape[1] for c in clf.coefs_[:-1]] == list(sizes)


def test_prune_before_fit_raises():
    with pytest.raises(NotFittedError):
        RegularizedMLPClassifier().prune()
