"""Activity regularization: a penalty on the hidden layers' outputs.

The kernels' objective is checked against a NumPy forward pass that adds the
penalty, their gradient against finite differences for every activation, loss
and dtype, and the estimators for the effect a user looks for: more ReLU outputs
exactly 0 as ``activity_alpha`` grows, in every solver.
"""

import numpy as np
import pytest
from _network import (
    LOSS_CASES,
    N_SAMPLES,
    NUMPY_ACTIVATIONS,
    Network,
    _central_differences,
)
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import InvalidParameterError

from skreg import RegularizedMLPClassifier
from skreg._activations import ACTIVATIONS

ACTIVITY_ALPHAS = np.array([0.3, 0.2])  # one per hidden layer, different


def _network(activation, loss, n_outputs, l1, dtype=np.float64, alphas=None):
    net = Network(activation, loss, n_outputs, "l2", dtype)
    alphas = ACTIVITY_ALPHAS if alphas is None else alphas
    net.cfg = net.cfg._replace(activity=(l1, np.asarray(alphas, dtype=np.float64)))
    return net


def _numpy_activity(net, params, l1, alphas):
    """The weighted mean over samples of each hidden layer's penalty."""
    coefs, intercepts = net.layout.unpack(params)
    A = net.X
    total = np.zeros(net.X.shape[0])
    for layer, (W, b) in enumerate(zip(coefs[:-1], intercepts[:-1])):
        A = NUMPY_ACTIVATIONS[net.activation](A @ W + b)
        per_sample = np.abs(A).sum(axis=1) if l1 else 0.5 * (A**2).sum(axis=1)
        total += alphas[layer] * per_sample
    return np.average(total, weights=net.sample_weight)


@pytest.mark.parametrize("l1", [True, False], ids=["l1", "l2"])
@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_objective_adds_the_mean_activity_penalty(activation, loss, n_outputs, l1):
    net = _network(activation, loss, n_outputs, l1)
    objective, _, _ = net.evaluate(net.params)
    expected = net.numpy_objective(net.params) + _numpy_activity(
        net, net.params, l1, ACTIVITY_ALPHAS
    )
    assert_allclose(objective, expected, rtol=1e-12)


@pytest.mark.parametrize("l1", [True, False], ids=["l1", "l2"])
@pytest.mark.parametrize("loss, n_outputs", LOSS_CASES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_matches_finite_differences(activation, loss, n_outputs, l1):
    net = _network(activation, loss, n_outputs, l1)
    _, grad, _ = net.evaluate(net.params)
    fd = _central_differences(net.smooth_objective, net.params, h=1e-6)
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("l1", [True, False], ids=["l1", "l2"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_matches_finite_differences_float32(activation, l1):
    net = _network(activation, "log_loss", 3, l1, np.float32)
    _, grad, _ = net.evaluate(net.params)
    assert grad.dtype == np.float32
    net64 = net.astype(np.float64)
    fd = _central_differences(net64.smooth_objective, net64.params, h=1e-6)
    assert_allclose(grad, fd, rtol=1e-4, atol=1e-5 * np.abs(fd).max())


def test_a_layer_with_alpha_zero_has_no_activity_penalty():
    net = _network("tanh", "squared_error", 1, True, alphas=[0.0, 0.2])
    objective, _, _ = net.evaluate(net.params)
    expected = net.numpy_objective(net.params) + _numpy_activity(
        net, net.params, True, [0.0, 0.2]
    )
    assert_allclose(objective, expected, rtol=1e-12)


@pytest.mark.parametrize("l1", [True, False], ids=["l1", "l2"])
def test_the_penalty_is_a_mean_so_batches_do_not_change_it(l1):
    # The whole batch's objective is the weighted mean of its halves'.
    net = _network("relu", "log_loss", 3, l1)
    whole, _, weight = net.evaluate(net.params)
    half = N_SAMPLES // 2
    first, _, w1 = net.evaluate(net.params, start=0, stop=half)
    second, _, w2 = net.evaluate(net.params, start=half, stop=N_SAMPLES)
    # Each objective holds the whole weight penalty once; the data and activity
    # terms are means.
    weights_penalty = net.numpy_objective(net.params) - _numpy_data_loss(net)
    mean = (w1 * (first - weights_penalty) + w2 * (second - weights_penalty)) / (
        w1 + w2
    )
    assert_allclose(whole - weights_penalty, mean, rtol=1e-12)
    assert_allclose(weight, w1 + w2)


def _numpy_data_loss(net):
    alphas = net.alphas
    net.alphas = np.zeros_like(alphas)
    try:
        return net.numpy_objective(net.params)
    finally:
        net.alphas = alphas


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def _zero_fraction(clf, X):
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0.0)
    return float(np.mean(hidden == 0))


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_more_relu_outputs_are_exactly_zero_as_activity_alpha_grows(digits, solver):
    X, y = digits
    fractions, scores = [], []
    for alpha in [0.0, 3e-3, 3e-2]:
        clf = RegularizedMLPClassifier(
            (32,),
            solver=solver,
            activity_penalty="l1",
            activity_alpha=alpha,
            max_iter=60,
            learning_rate_init=0.01 if solver == "adam" else 0.1,
            random_state=0,
        ).fit(X, y)
        fractions.append(_zero_fraction(clf, X))
        scores.append(clf.score(X, y))
    assert fractions[0] < fractions[1] < fractions[2]
    assert fractions[2] > fractions[0] + 0.2
    assert min(scores) > 0.85


def test_l2_activity_shrinks_the_outputs(digits):
    X, y = digits
    norms = []
    for alpha in [0.0, 0.05]:
        clf = RegularizedMLPClassifier(
            (32,),
            activation="tanh",
            activity_penalty="l2",
            activity_alpha=alpha,
            max_iter=60,
            learning_rate_init=0.01,
            random_state=0,
        ).fit(X, y)
        hidden = np.tanh(X @ clf.coefs_[0] + clf.intercepts_[0])
        norms.append(np.mean(hidden**2))
    assert norms[1] < 0.7 * norms[0]


def test_activity_alpha_per_layer_and_its_errors(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(8, 8), max_iter=3, random_state=0)
    clf = RegularizedMLPClassifier(
        **params, activity_penalty="l2", activity_alpha=[0.1, 0.0]
    ).fit(X, y)
    before = [c.copy() for c in clf.coefs_]
    clf.set_params(activity_alpha=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="activity_alpha must be a float or a seq"):
        clf.fit(X, y)
    clf.set_params(activity_alpha=[0.1, -1.0])
    with pytest.raises(ValueError, match="Every value of activity_alpha"):
        clf.fit(X, y)
    for a, b in zip(before, clf.coefs_):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidParameterError, match="activity_penalty"):
        RegularizedMLPClassifier(activity_penalty="l3").fit(X, y)
