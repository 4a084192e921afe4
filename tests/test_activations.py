"""Tests of skreg._activations: hidden activations and their derivatives.

The references are scikit-learn's own tables (``ACTIVATIONS`` and ``DERIVATIVES`` in
``sklearn/neural_network/_base.py``) and NumPy/SciPy formulas; every test is
parametrized over skreg's ``ACTIVATIONS`` registry.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.neural_network._base import ACTIVATIONS as SK_ACTIVATIONS
from sklearn.neural_network._base import DERIVATIVES as SK_DERIVATIVES

from skreg._activations import (
    ACTIVATIONS,
    INIT_FACTORS,
    bias_activation,
    dropout_derivative,
    multiply_derivative,
    multiply_relu_kept,
    relu_dropout,
    smooth_marker,
)
from skreg._random import dropout_scale

NAMES = list(ACTIVATIONS)
HYPOTHESIS = settings(max_examples=30, deadline=None)


def activate(Z, intercept, name):
    code = ACTIVATIONS[name]
    bias_activation(Z, intercept, code, smooth_marker(code))


def floats(low, high):
    # Finite and without subnormals, for which relative tolerances are meaningless.
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


NUMPY_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}
NUMPY_DERIVATIVES = {  # f'(z) as a function of z
    "identity": lambda z: np.ones_like(z),
    "logistic": lambda z: expit(z) * (1 - expit(z)),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(z.dtype),
}

shapes = st.tuples(st.integers(1, 6), st.integers(1, 5))
values = floats(-30, 30)


@st.composite
def blocks(draw):
    """A batch of pre-activations Z and an intercept with one entry per column."""
    n, m = draw(shapes)
    Z = draw(arrays(np.float64, (n, m), elements=values))
    intercept = draw(arrays(np.float64, m, elements=values))
    return Z, intercept


def test_registry_names_are_sklearns():
    assert set(ACTIVATIONS) == set(SK_ACTIVATIONS) - {"softmax", "exp"}
    assert set(INIT_FACTORS) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_init_factor_is_sklearns(name):
    # sklearn's _init_coef: factor 2 for the logistic, 6 otherwise.
    assert INIT_FACTORS[name] == (2.0 if name == "logistic" else 6.0)


@HYPOTHESIS
@given(block=blocks())
@pytest.mark.parametrize("name", NAMES)
def test_bias_activation_matches_numpy(name, block):
    Z, intercept = block
    result = Z.copy()
    activate(result, intercept, name)
    assert_allclose(result, NUMPY_ACTIVATIONS[name](Z + intercept), rtol=1e-14)


@HYPOTHESIS
@given(block=blocks())
@pytest.mark.parametrize("name", NAMES)
def test_bias_activation_matches_sklearn(name, block):
    Z, intercept = block
    expected = Z + intercept
    SK_ACTIVATIONS[name](expected)
    result = Z.copy()
    activate(result, intercept, name)
    assert_allclose(result, expected, rtol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_bias_activation_in_float32(name):
    rng = np.random.RandomState(0)
    Z = rng.normal(scale=3, size=(20, 7)).astype(np.float32)
    intercept = rng.normal(size=7).astype(np.float32)
    result = Z.copy()
    activate(result, intercept, name)
    assert result.dtype == np.float32
    expected = NUMPY_ACTIVATIONS[name](Z.astype(np.float64) + intercept)
    assert_allclose(result, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["identity", "relu"])
def test_piecewise_activations_agree_on_both_compiled_paths(name):
    # smooth=None compiles the piecewise-linear branch alone; True compiles every
    # activation. A piecewise-linear code gives the same result on both.
    assert smooth_marker(ACTIVATIONS[name]) is None
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(9, 5))
    intercept = rng.normal(size=5)
    pruned, full = Z.copy(), Z.copy()
    bias_activation(pruned, intercept, ACTIVATIONS[name], None)
    bias_activation(full, intercept, ACTIVATIONS[name], True)
    assert_array_equal(pruned, full)
    assert_array_equal(pruned, NUMPY_ACTIVATIONS[name](Z + intercept))


def test_logistic_saturates_without_overflow():
    Z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with np.errstate(all="raise"):
        expected = expit(Z)
    activate(Z, np.zeros(5), "logistic")
    assert_allclose(Z, expected, rtol=1e-15)
    assert np.all(np.isfinite(Z))


@HYPOTHESIS
@given(block=blocks(), data=st.data())
@pytest.mark.parametrize("name", NAMES)
def test_multiply_derivative_matches_sklearn(name, block, data):
    # Both take A = f(z), the forward output, and scale delta in place.
    Z, intercept = block
    A = Z.copy()
    activate(A, intercept, name)
    delta = data.draw(arrays(np.float64, Z.shape, elements=values))
    expected = delta.copy()
    SK_DERIVATIVES[name](A, expected)
    result = delta.copy()
    sums = np.full(Z.shape[1], np.nan)
    multiply_derivative(A, result, ACTIVATIONS[name], sums)
    assert_allclose(result, expected, rtol=1e-14, atol=1e-300)
    # The intercept gradient, summed in the same pass.
    assert_allclose(sums, result.sum(axis=0), rtol=1e-12, atol=1e-300)


@HYPOTHESIS
@given(block=blocks(), data=st.data())
@pytest.mark.parametrize("name", NAMES)
def test_multiply_derivative_is_delta_times_derivative(name, block, data):
    Z, intercept = block
    A = Z.copy()
    activate(A, intercept, name)
    delta = data.draw(arrays(np.float64, Z.shape, elements=values))
    result = delta.copy()
    multiply_derivative(A, result, ACTIVATIONS[name], np.empty(Z.shape[1]))
    expected = delta * NUMPY_DERIVATIVES[name](Z + intercept)
    # The derivative is computed from f(z), which loses precision where the
    # logistic and tanh saturate: compare on the scale of |delta|.
    assert_allclose(result, expected, rtol=1e-12, atol=1e-14 * np.abs(delta).max())


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name):
    # Points away from relu's kink at 0.
    z = np.array([[-2.5, -0.7, -0.1, 0.2, 0.9, 3.0]])
    h = 1e-6
    plus, minus, A = z + h, z - h, z.copy()
    zeros = np.zeros(z.shape[1])
    for block in (plus, minus, A):
        activate(block, zeros, name)
    fd = (plus - minus) / (2 * h)
    result = np.ones_like(z)
    multiply_derivative(A, result, ACTIVATIONS[name], np.empty(z.shape[1]))
    assert_allclose(result, fd, rtol=1e-8, atol=1e-10)


@HYPOTHESIS
@given(block=blocks(), rate=floats(0.05, 0.95), seed=st.integers(0, 2**32))
@pytest.mark.parametrize("name", NAMES)
def test_dropout_derivative_is_factor_times_derivative(name, block, rate, seed):
    # The dropout path draws the factors, keeps factor * f'(z) and scales the
    # output by the factor; dropout_scale and the plain path's derivative are the
    # references.
    Z, intercept = block
    A = Z.copy()
    activate(A, intercept, name)
    slope = np.ones_like(A)
    multiply_derivative(A, slope, ACTIVATIONS[name], np.empty(A.shape[1]))
    # The factors it draws are dropout_scale's.
    key = np.uint64(seed)
    factors = np.empty_like(A)
    dropout_scale(factors, rate, key)
    result_A, result_factors = A.copy(), np.full_like(A, np.nan)
    dropout_derivative(result_A, result_factors, ACTIVATIONS[name], rate, key, 0)
    assert_array_equal(result_A, A * factors)
    assert_array_equal(result_factors, factors * slope)


@HYPOTHESIS
@given(
    block=blocks(),
    rate=floats(0.05, 0.95),
    seed=st.integers(0, 2**32),
    pairs=st.integers(0, 3),
)
def test_relu_dropout_equals_the_stored_factors_path(block, rate, seed, pairs):
    # Relu units keep no factors: their output after dropout and the backward
    # product must equal dropout_derivative's, at any even offset into the stream.
    Z, intercept = block
    A = Z.copy()
    activate(A, intercept, "relu")
    key, offset = np.uint64(seed), 2 * pairs
    expected_A, factors = A.copy(), np.empty_like(A)
    dropout_derivative(expected_A, factors, ACTIVATIONS["relu"], rate, key, offset)
    delta = np.random.default_rng(seed).normal(size=A.shape)
    expected_delta = delta * factors
    relu_dropout(A, rate, key, offset)
    assert_array_equal(A, expected_A)
    sums = np.full(A.shape[1], np.nan)
    multiply_relu_kept(A, delta, 1.0 / (1.0 - rate), sums)
    assert_array_equal(delta, expected_delta)
    assert_allclose(sums, expected_delta.sum(axis=0), rtol=1e-12, atol=1e-12)


def test_relu_derivative_is_zero_for_inactive_units():
    A = np.array([[0.0, 1e-300, 2.0], [0.0, 0.0, 5.0]])
    delta = np.full_like(A, 3.0)
    multiply_derivative(A, delta, ACTIVATIONS["relu"], np.empty(3))
    assert_array_equal(delta, [[0.0, 3.0, 3.0], [0.0, 0.0, 3.0]])
