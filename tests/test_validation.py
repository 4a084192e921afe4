"""Tests of skreg._validation: parameters, their combinations and sample weights.

Invalid values and combinations raise scikit-learn's errors, as scikit-learn's MLP
does; class weights give the model that the same weights passed as sample weights
give, and constant sample weights of any finite size the unweighted model.
"""

import warnings

import numpy as np
import pytest
from _models import FAST, equal_models, small_problem
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight

from skreg import RegularizedMLPClassifier


def test_class_weight_is_folded_into_sample_weight(data):
    X, y = data
    weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    balanced = RegularizedMLPClassifier(class_weight="balanced", **FAST).fit(X, y)
    explicit = RegularizedMLPClassifier(**FAST).fit(X, y, sample_weight=weights[y])
    assert equal_models(balanced, explicit)
    as_dict = RegularizedMLPClassifier(
        class_weight=dict(enumerate(weights)), **FAST
    ).fit(X, y)
    assert equal_models(balanced, as_dict)


@pytest.mark.parametrize(
    "params",
    [
        dict(penalty="l3"),
        dict(alpha=-1.0),
        dict(l1_ratio=1.5),
        dict(dropout=1.0),
        dict(input_dropout=-0.1),
        dict(solver="newton"),
    ],
)
def test_invalid_parameters_raise_sklearn_error(data, params):
    X, y = data
    with pytest.raises(InvalidParameterError):
        RegularizedMLPClassifier(**params).fit(X, y)


_NOT_INTEGERS = [(10.5,), (8, 4.0), ("a",), 3.0]


@pytest.mark.parametrize(
    "Estimator, sizes",
    [(MLPClassifier, s) for s in _NOT_INTEGERS]
    + [(RegularizedMLPClassifier, s) for s in _NOT_INTEGERS + [(True,)]],
)
def test_non_integer_hidden_layer_sizes_raise(data, sizes, Estimator):
    # Never truncated to an int: scikit-learn's MLP raises a TypeError (or its
    # InvalidParameterError), and skreg's InvalidParameterError is a TypeError too.
    X, y = data
    with pytest.raises(TypeError) as error:
        Estimator(hidden_layer_sizes=sizes, max_iter=1).fit(X, y)
    if Estimator is RegularizedMLPClassifier:
        assert isinstance(error.value, InvalidParameterError)
        assert "'hidden_layer_sizes'" in str(error.value)
        assert repr(sizes) in str(error.value)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(alpha=[0.1, 0.1, 0.1]), "one per weight matrix"),
        (dict(dropout=[0.1, 0.1]), "one per hidden layer"),
        (dict(dropout=[0.1, 1.2], hidden_layer_sizes=(4, 4)), "must be in"),
        (dict(alpha=[0.1, np.nan]), "must be in"),
        (dict(solver="lbfgs", penalty="l1"), "solver='adam'"),
        (dict(solver="lbfgs", dropout=0.1), "dropout"),
        (dict(early_stopping=True, validation_fraction=0.001), "too small"),
    ],
)
def test_invalid_combinations_raise_value_error(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        RegularizedMLPClassifier(**{**FAST, **params}).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(solver="lbfgs", noise_std=0.1), "noise_std"),
        (dict(solver="lbfgs", max_norm=1.0), "max_norm"),
        (dict(solver="lbfgs", weight_decay=0.1), "weight_decay"),
    ],
)
def test_lbfgs_rejects_per_step_regularizers(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        RegularizedMLPClassifier(**{**FAST, **params}).fit(X, y)


@pytest.mark.parametrize("penalty", ["group_lasso", "sparse_group_lasso", "l1"])
def test_lbfgs_rejects_nonsmooth_penalties_and_names_the_solvers(data, penalty):
    X, y = data
    clf = RegularizedMLPClassifier(solver="lbfgs", penalty=penalty)
    with pytest.raises(ValueError, match="solver='adam' or solver='sgd'"):
        clf.fit(X, y)


def test_sample_weights_summing_to_zero_raise():
    X, y = small_problem()
    weights = np.where(np.arange(len(y)) % 2, 1.0, -1.0)
    with pytest.raises(ValueError, match="sum to 0.0"):
        RegularizedMLPClassifier((4,), max_iter=2).fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("weight", [np.nan, np.inf])
def test_non_finite_class_weight_raises(weight):
    X, y = small_problem()
    model = RegularizedMLPClassifier((4,), max_iter=2, class_weight={0: weight, 1: 1})
    with pytest.raises(ValueError, match="class_weight must give every class"):
        model.fit(X, y)


@pytest.mark.parametrize("scale", [1e-320, 1e-30, 1e30, 1e307])
def test_sample_weights_far_from_one_train_as_unit_weights(scale):
    # Only the weights' ratios enter the objective: constant weights of any
    # finite size give the unweighted model exactly, never an untrained one.
    X, y = small_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = RegularizedMLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
        weighted = RegularizedMLPClassifier((4,), max_iter=3, random_state=0).fit(
            X, y, sample_weight=np.full(len(y), scale)
        )
    assert equal_models(plain, weighted)
