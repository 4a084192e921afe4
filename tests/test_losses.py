"""Tests of skreg._losses: output activations, loss values and output errors.

The references are SciPy's softmax/expit and scikit-learn's ``LOSS_FUNCTIONS``
(``sklearn/neural_network/_base.py``). One documented difference is tested
explicitly: skreg's squared error is summed over the outputs, sklearn's averaged.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax
from sklearn.neural_network._base import LOSS_FUNCTIONS

from skreg._losses import (
    LOSSES,
    OUT_ACTIVATIONS,
    bias_output_activation,
    loss_and_delta,
)

HYPOTHESIS = settings(max_examples=30, deadline=None)


def floats(low, high):
    # Finite and without subnormals, for which relative tolerances are meaningless.
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


EPS64 = float(np.finfo(np.float64).eps)

OUTPUT_ACTIVATIONS = {
    "identity": lambda z: z,
    "exp": np.exp,
    "softmax": lambda z: softmax(z, axis=1),
    "logistic": expit,
}

# (loss, n_outputs): the cases where skreg's loss is sklearn's loss function.
SKLEARN_CASES = [
    ("squared_error", 1),
    ("poisson", 1),
    ("poisson", 3),
    ("log_loss", 3),
    ("binary_log_loss", 1),
    ("binary_log_loss", 3),
]


def _targets(loss, n, m, rng):
    if loss == "squared_error":
        return rng.normal(size=(n, m))
    if loss == "poisson":
        return rng.poisson(2.0, size=(n, m)).astype(np.float64)
    if loss == "log_loss":
        return np.eye(m)[rng.randint(m, size=n)]
    return rng.randint(2, size=(n, m)).astype(np.float64)


def _problem(loss, n_outputs, seed=0, n=9):
    """Pre-activations Z, output activation P, targets Y and sample weights."""
    rng = np.random.RandomState(seed)
    Z = rng.normal(size=(n, n_outputs))
    P = Z.copy()
    bias_output_activation(P, np.zeros(n_outputs), LOSSES[loss])
    Y = _targets(loss, n, n_outputs, rng)
    sample_weight = rng.uniform(0.1, 3.0, size=n)
    return Z, P, Y, sample_weight


def _loss(P, Y, sample_weight, loss, rows=None, delta=None, eps=EPS64):
    rows = np.arange(P.shape[0]) if rows is None else rows
    delta = np.zeros((0, P.shape[1]), dtype=P.dtype) if delta is None else delta
    return loss_and_delta(P, Y, sample_weight, rows, delta, LOSSES[loss], eps)


def test_each_loss_has_an_output_activation_and_sklearns_name():
    assert set(LOSSES) == set(LOSS_FUNCTIONS)
    assert set(OUT_ACTIVATIONS) == set(LOSSES.values())
    assert set(OUT_ACTIVATIONS.values()) <= set(OUTPUT_ACTIVATIONS)


# ------------------------------------------------------- output activation


@HYPOTHESIS
@given(
    Z=arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(2, 5)),
        elements=floats(-30, 30),
    ),
    data=st.data(),
)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_bias_output_activation_matches_scipy(loss, Z, data):
    intercept = data.draw(arrays(np.float64, Z.shape[1], elements=floats(-5, 5)))
    result = Z.copy()
    bias_output_activation(result, intercept, LOSSES[loss])
    expected = OUTPUT_ACTIVATIONS[OUT_ACTIVATIONS[LOSSES[loss]]](Z + intercept)
    assert_allclose(result, expected, rtol=1e-13, atol=1e-300)


def test_softmax_rows_sum_to_one():
    rng = np.random.RandomState(0)
    Z = rng.normal(scale=10, size=(50, 4))
    bias_output_activation(Z, rng.normal(size=4), LOSSES["log_loss"])
    assert_allclose(Z.sum(axis=1), 1.0, rtol=1e-14)
    assert np.all(Z >= 0.0)


def test_softmax_is_stable_for_large_inputs():
    Z = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1000.0, -1001.0]])
    result = Z.copy()
    bias_output_activation(result, np.zeros(3), LOSSES["log_loss"])
    assert np.all(np.isfinite(result))
    assert_allclose(result, softmax(Z, axis=1), rtol=1e-14, atol=1e-300)


def test_softmax_is_invariant_to_a_shift_of_the_row():
    rng = np.random.RandomState(1)
    Z = rng.normal(size=(5, 3))
    shifted = Z + 700.0
    bias_output_activation(Z, np.zeros(3), LOSSES["log_loss"])
    bias_output_activation(shifted, np.zeros(3), LOSSES["log_loss"])
    assert_allclose(shifted, Z, rtol=1e-12)


# ----------------------------------------------------------- loss value


@pytest.mark.parametrize("loss, n_outputs", SKLEARN_CASES)
def test_weighted_mean_loss_equals_sklearn(loss, n_outputs):
    _, P, Y, sample_weight = _problem(loss, n_outputs)
    mean_loss = _loss(P, Y, sample_weight, loss) / sample_weight.sum()
    expected = LOSS_FUNCTIONS[loss](Y, P, sample_weight=sample_weight)
    assert_allclose(mean_loss, expected, rtol=1e-13)


@pytest.mark.parametrize("loss, n_outputs", SKLEARN_CASES)
def test_unweighted_mean_loss_equals_sklearn(loss, n_outputs):
    _, P, Y, _ = _problem(loss, n_outputs)
    ones = np.ones(P.shape[0])
    mean_loss = _loss(P, Y, ones, loss) / P.shape[0]
    assert_allclose(mean_loss, LOSS_FUNCTIONS[loss](Y, P), rtol=1e-13)


def test_multioutput_squared_error_is_summed_over_outputs():
    # Documented difference: skreg's 0.5 * sum_k (y_k - p_k)^2 per sample is
    # n_outputs times sklearn's squared_loss, which averages over the outputs;
    # skreg's gradient p - y is the gradient of the sum.
    _, P, Y, sample_weight = _problem("squared_error", 3)
    mean_loss = _loss(P, Y, sample_weight, "squared_error") / sample_weight.sum()
    sklearn_loss = LOSS_FUNCTIONS["squared_error"](Y, P, sample_weight=sample_weight)
    assert_allclose(mean_loss, 3 * sklearn_loss, rtol=1e-13)


@pytest.mark.parametrize("loss", ["log_loss", "binary_log_loss"])
def test_log_loss_clips_probabilities_as_sklearn(loss):
    # A certain, wrong prediction costs -log(eps), not infinity.
    P = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    sample_weight = np.array([1.0, 2.0])
    total = _loss(P, Y, sample_weight, loss)
    assert np.isfinite(total)
    expected = LOSS_FUNCTIONS[loss](Y, P, sample_weight=sample_weight)
    assert_allclose(total / 3.0, expected, rtol=1e-13)


@pytest.mark.parametrize("loss", ["log_loss", "binary_log_loss"])
def test_float32_log_loss_clips_at_float32_eps(loss):
    P = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    Y = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    eps = float(np.finfo(np.float32).eps)
    total = _loss(P, Y, np.ones(1, dtype=np.float32), loss, eps=eps)
    expected = LOSS_FUNCTIONS[loss](Y, P)
    assert_allclose(total, expected, rtol=1e-5)


def test_poisson_loss_of_a_zero_count_is_the_prediction():
    P = np.array([[0.5], [2.0]])
    Y = np.zeros((2, 1))
    total = _loss(P, Y, np.ones(2), "poisson")
    assert_allclose(total, 2.5, rtol=1e-15)


# ----------------------------------------------------------- delta


@pytest.mark.parametrize("loss, n_outputs", [*SKLEARN_CASES, ("squared_error", 3)])
def test_delta_is_weighted_prediction_minus_target(loss, n_outputs):
    _, P, Y, sample_weight = _problem(loss, n_outputs)
    delta = np.full_like(P, np.nan)
    _loss(P, Y, sample_weight, loss, delta=delta)
    assert_allclose(delta, (P - Y) * sample_weight[:, None], rtol=1e-15)


@pytest.mark.parametrize("loss, n_outputs", [*SKLEARN_CASES, ("squared_error", 3)])
def test_delta_is_the_gradient_wrt_the_pre_activation(loss, n_outputs):
    # The canonical link: d(weighted loss sum)/dZ = (P - Y) * w, by finite
    # differences through the output activation.
    Z, P, Y, sample_weight = _problem(loss, n_outputs)
    delta = np.empty_like(P)
    _loss(P, Y, sample_weight, loss, delta=delta)

    def total(Z):
        P = Z.copy()
        bias_output_activation(P, np.zeros(Z.shape[1]), LOSSES[loss])
        return _loss(P, Y, sample_weight, loss)

    h = 1e-6
    fd = np.empty_like(Z)
    for index in np.ndindex(Z.shape):
        shift = np.zeros_like(Z)
        shift[index] = h
        fd[index] = (total(Z + shift) - total(Z - shift)) / (2 * h)
    assert_allclose(delta, fd, rtol=1e-6, atol=1e-8)


def test_rows_map_batch_rows_to_samples():
    # Row i of P is sample rows[i] of Y and of the sample weights.
    _, P, Y, sample_weight = _problem("binary_log_loss", 3)
    rows = np.array([4, 0, 7], dtype=np.int64)
    delta = np.empty((3, 3))
    total = _loss(P[:3], Y, sample_weight, "binary_log_loss", rows=rows, delta=delta)
    expected_total = _loss(P[:3], Y[rows], sample_weight[rows], "binary_log_loss")
    assert_allclose(total, expected_total, rtol=1e-15)
    assert_allclose(delta, (P[:3] - Y[rows]) * sample_weight[rows][:, None])


def test_empty_delta_gives_the_same_loss():
    _, P, Y, sample_weight = _problem("poisson", 3)
    delta = np.empty_like(P)
    with_delta = _loss(P, Y, sample_weight, "poisson", delta=delta)
    without = _loss(P, Y, sample_weight, "poisson", delta=np.zeros((0, 3)))
    assert with_delta == without


@pytest.mark.parametrize("loss", list(LOSSES))
def test_zero_weight_samples_do_not_count(loss):
    _, P, Y, sample_weight = _problem(loss, 3)
    sample_weight[[1, 5]] = 0.0
    delta = np.empty_like(P)
    total = _loss(P, Y, sample_weight, loss, delta=delta)
    keep = np.setdiff1d(np.arange(P.shape[0]), [1, 5])
    expected = _loss(P[keep], Y[keep], sample_weight[keep], loss)
    assert_allclose(total, expected, rtol=1e-14)
    assert_array_equal(delta[[1, 5]], 0.0)
