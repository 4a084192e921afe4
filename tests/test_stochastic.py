"""Tests of skreg._stochastic: the epoch loop of the stochastic solvers.

``partial_fit`` is compared with one epoch of ``fit``, warm starts with continued
fits, early stopping with scikit-learn's validation split and its scores
(``accuracy_score``, ``r2_score``); a diverging fit stops with a warning.
"""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from _models import FAST, equal_models, small_problem
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils import check_random_state

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
)
from skreg._prediction import forward_output


def test_partial_fit_is_one_epoch_of_fit(data):
    X, y = data
    fitted = RegularizedMLPClassifier(**{**FAST, "max_iter": 1}).fit(X, y)
    partial = RegularizedMLPClassifier(**FAST).partial_fit(X, y, classes=np.unique(y))
    assert equal_models(fitted, partial)
    partial.partial_fit(X, y)
    assert partial.t_ == 2 * len(X)
    assert len(partial.loss_curve_) == 2


def test_warm_start_refit_trains_to_convergence(data):
    """sklearn keeps the old convergence state and stops a refit early."""
    X, y = data
    params = dict(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    theirs = MLPClassifier(warm_start=True, alpha=1e-4, **params).fit(X, y)
    theirs.set_params(alpha=2.0).fit(X, y)
    ours = RegularizedMLPClassifier(warm_start=True, alpha=1e-4 / 200, **params)
    ours.fit(X, y)
    ours.set_params(alpha=2.0 / 200).fit(X, y)
    assert ours.n_iter_ > theirs.n_iter_
    assert ours.best_loss_ == pytest.approx(min(ours.loss_curve_[-ours.n_iter_ :]))


def test_warm_start_continues_from_previous_weights(data):
    X, y = data
    once = RegularizedMLPClassifier(**{**FAST, "max_iter": 2, "shuffle": False})
    once.fit(X, y)
    warm = RegularizedMLPClassifier(
        **{**FAST, "max_iter": 1, "shuffle": False, "warm_start": True}
    )
    warm.fit(X, y)
    before = [c.copy() for c in warm.coefs_]
    warm.fit(X, y)
    assert not np.array_equal(before[0], warm.coefs_[0])
    assert len(warm.loss_curve_) == 2


def test_early_stopping_keeps_a_copy_of_the_best_weights(data):
    X, y = data
    clf = RegularizedMLPClassifier(
        hidden_layer_sizes=(16,),
        early_stopping=True,
        max_iter=60,
        learning_rate_init=0.05,
        random_state=0,
        n_iter_no_change=50,
    ).fit(X, y)
    # Rebuild sklearn's draws: the initial weights, then the validation split
    # (stratified only for single-output targets, as in sklearn).
    rng = check_random_state(0)
    for shape in [(10, 16), (16,), (16, 3), (3,)]:
        rng.uniform(size=shape)
    _, val = train_test_split(
        np.arange(len(y)), random_state=rng, test_size=0.1, stratify=None
    )
    assert clf.score(X[val], y[val]) == clf.best_validation_score_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_loss_ is None


def test_divergence_stops_with_warning_and_finite_weights(regression):
    X, y = regression
    reg = RegularizedMLPRegressor(
        (16,),
        solver="sgd",
        learning_rate_init=10.0,
        momentum=0.0,
        max_iter=50,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="became"):
        reg.fit(X * 1e3, y)
    assert all(np.isfinite(c).all() for c in reg.coefs_ + reg.intercepts_)
    assert np.isfinite(reg.predict(X)).all()


def test_input_noise_needs_dense_input(data):
    X, y = data
    with pytest.raises(ValueError, match="dense"):
        RegularizedMLPClassifier(noise_std=0.1, **FAST).fit(sp.csr_matrix(X), y)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_validation_accuracy_equals_accuracy_score(n_classes, labels):
    # Early stopping scores every epoch without accuracy_score's validation; the
    # score must still be accuracy_score's, ties in the output included.
    rng = np.random.RandomState(0)
    X, y = make_classification(
        60, 5, n_informative=3, n_classes=n_classes, random_state=0
    )
    if labels == "str":
        y = np.array(["cat", "dog", "emu"])[y]
    model = RegularizedMLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    output = forward_output(model, X, model.coefs_, model.intercepts_)
    output[:5] = 0.5  # ties: the first class wins, as in predict
    weight = rng.rand(60)
    expected = accuracy_score(y, model._labels(output), sample_weight=weight)
    assert model._score_output(y, output, weight) == pytest.approx(expected, rel=1e-13)
    output[0, 0] = np.nan
    assert np.isnan(model._score_output(y, output, weight))


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_validation_r2_equals_r2_score(n_outputs):
    rng = np.random.RandomState(0)
    X = rng.randn(50, 4)
    y = rng.randn(50, n_outputs).squeeze()
    model = RegularizedMLPRegressor((5,), max_iter=3, random_state=0).fit(X, y)
    output = forward_output(model, X, model.coefs_, model.intercepts_)
    weight = rng.rand(50)
    values = model._values(output)
    expected = r2_score(y, values, sample_weight=weight)
    assert model._score_output(y, output, weight) == pytest.approx(expected, rel=1e-12)
    # Constant targets: 1 when predicted exactly, else 0, as r2_score says.
    constant = np.full_like(y, 2.0)
    for prediction in (output, np.full_like(output, 2.0)):
        expected = r2_score(constant, model._values(prediction), sample_weight=weight)
        assert model._score_output(constant, prediction, weight) == expected


def test_early_stopping_warmup_epochs_are_scored_but_never_kept(data):
    # A strong penalty after a warm start makes the validation score fall: the
    # best epoch overall is in the warm-up, and the epoch kept is the best after.
    X, y = data
    params = dict(FAST, early_stopping=True, warm_start=True, n_iter_no_change=2)
    start = RegularizedMLPClassifier(**params).fit(X, y)
    start.set_params(alpha=0.3, penalty="l1", max_iter=12, tol=0.0)
    model = copy.deepcopy(start)
    model._fit(X, y, keep_optimizer=True, early_stopping_warmup=5)
    scores = model.validation_scores_[-model.n_iter_ :]
    assert max(scores[:5]) > max(scores[5:])
    assert model.best_validation_score_ == max(scores[5:])
    # The warm-up counts nothing towards a stop: at least n_iter_no_change + 1
    # epochs after it.
    assert model.n_iter_ >= 5 + 3
    # The weights kept are those of the best epoch after the warm-up: the same
    # fit run to that epoch, with every earlier one in its warm-up.
    best = 5 + int(np.argmax(scores[5:])) + 1
    reference = copy.deepcopy(start).set_params(max_iter=best)
    reference._fit(X, y, keep_optimizer=True, early_stopping_warmup=best - 1)
    assert reference.validation_scores_[-best:] == scores[:best]
    assert equal_models(model, reference)


def test_partial_fit_after_a_change_of_solver_starts_a_fresh_optimizer():
    # Adam's moments mean nothing to SGD, nor SGD's velocity to Adam.
    X, y = small_problem()
    for first, second in (("adam", "sgd"), ("sgd", "adam")):
        model = RegularizedMLPClassifier((4,), solver=first, random_state=0)
        model.partial_fit(X, y, classes=[0, 1])
        model.set_params(solver=second).partial_fit(X, y)
        assert (model._optimizer_state["second"] is None) == (second == "sgd")
        fresh = RegularizedMLPClassifier((4,), solver=second, random_state=0)
        fresh.partial_fit(X, y, classes=[0, 1])
        assert model._optimizer_state["step"] == fresh._optimizer_state["step"]
