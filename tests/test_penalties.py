"""Tests of skreg._penalties: value and proximal step.

Every test that can be written for any penalty is parametrized over ``PENALTIES``
plus ``None``, so a new penalty gets its value, prox-optimality and
non-expansiveness tests by adding its NumPy reference to ``REFERENCE`` below.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from skreg._penalties import (
    NONE,
    PENALTIES,
    is_smooth,
    l2_share,
    penalty_code,
    prox_1d,
    soft_threshold,
    value,
)

NAMES = [None, *PENALTIES]
HYPOTHESIS = settings(max_examples=40, deadline=None)


def floats(low, high):
    # Finite and without subnormals, for which relative tolerances are meaningless.
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


# The API's table: the penalty of strength alpha is
# alpha * (smooth_share / 2 * ||W||^2 + l1_share * ||W||_1).
REFERENCE = {
    None: lambda rho: (0.0, 0.0),
    "l2": lambda rho: (1.0, 0.0),
    "l1": lambda rho: (0.0, 1.0),
    "elasticnet": lambda rho: (1.0 - rho, rho),
}

finite = floats(-1e3, 1e3)
thresholds = floats(0.0, 1e3)
ratios = floats(0.0, 1.0)
weights = arrays(np.float64, st.integers(1, 30), elements=finite)


def _soft_threshold(w, t):
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def _numpy_value(W, alpha, name, rho):
    smooth, l1 = REFERENCE[name](rho)
    return alpha * (0.5 * smooth * np.sum(W**2) + l1 * np.abs(W).sum())


def _numpy_prox(w, step_alpha, name, rho):
    _, l1 = REFERENCE[name](rho)
    return _soft_threshold(w, step_alpha * l1)


def test_every_penalty_has_a_numpy_reference():
    assert set(PENALTIES) <= set(REFERENCE)


def test_penalty_code():
    assert penalty_code(None) == NONE
    codes = [penalty_code(name) for name in PENALTIES]
    assert codes == list(PENALTIES.values())
    assert NONE not in codes


@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("name", NAMES)
def test_is_smooth_iff_there_is_no_l1_part(name, rho):
    _, l1 = REFERENCE[name](rho)
    assert is_smooth(name, rho) == (l1 == 0.0)


# -------------------------------------------------------------- soft threshold


@HYPOTHESIS
@given(w=finite, t=thresholds)
def test_soft_threshold_closed_form(w, t):
    assert soft_threshold(w, t) == _soft_threshold(w, t)


@HYPOTHESIS
@given(w=finite, t=thresholds)
def test_soft_threshold_is_exactly_zero_inside_the_threshold(w, t):
    result = soft_threshold(w, t)
    assert (result == 0.0) == (abs(w) <= t)


@HYPOTHESIS
@given(w=finite, t=thresholds)
def test_soft_threshold_satisfies_the_subgradient_condition(w, t):
    # x = prox(w) iff w - x is in t * d|x|: t * sign(x) if x != 0, [-t, t] if x == 0.
    x = soft_threshold(w, t)
    if x == 0.0:
        assert abs(w) <= t
    else:
        assert_allclose(w - x, t * np.sign(x), rtol=1e-12, atol=1e-12 * abs(w))


# ------------------------------------------------------------------ prox_1d


@HYPOTHESIS
@given(w=finite, step_alpha=thresholds, rho=ratios)
@pytest.mark.parametrize("name", NAMES)
def test_prox_1d_closed_form(name, w, step_alpha, rho):
    result = prox_1d(w, step_alpha, penalty_code(name), rho)
    assert_allclose(result, _numpy_prox(w, step_alpha, name, rho), rtol=1e-15)


@HYPOTHESIS
@given(w=finite, step_alpha=thresholds, rho=ratios)
def test_elasticnet_prox_thresholds_at_l1_ratio_times_step(w, step_alpha, rho):
    result = prox_1d(w, step_alpha, PENALTIES["elasticnet"], rho)
    assert result == soft_threshold(w, step_alpha * rho)


@HYPOTHESIS
@given(w=finite, step_alpha=thresholds, rho=ratios)
@pytest.mark.parametrize("name", [None, "l2"])
def test_prox_of_a_smooth_penalty_is_the_identity(name, w, step_alpha, rho):
    assert prox_1d(w, step_alpha, penalty_code(name), rho) == w


def _nonsmooth_value(x, alpha, code, rho):
    """h(x) = value(x) - s(x), with s(x) = alpha * (1 - rho) / 2 * x**2."""
    smooth = 0.5 * alpha * l2_share(code, rho) * x * x
    return value(np.array([x]), alpha, code, rho) - smooth


@HYPOTHESIS
@given(w=floats(-10, 10), step=floats(0, 5), alpha=floats(0, 3), rho=ratios)
@pytest.mark.parametrize("name", NAMES)
def test_prox_1d_minimises_the_proximal_objective(name, w, step, alpha, rho):
    # prox_{step h}(w) = argmin_x 0.5 * (x - w)^2 + step * h(x), with h the
    # non-smooth part of the penalty as `value` and `l2_share` define it.
    code = penalty_code(name)

    def objective(x):
        return 0.5 * (x - w) ** 2 + step * _nonsmooth_value(x, alpha, code, rho)

    x_star = prox_1d(w, step * alpha, code, rho)
    grid = np.linspace(w - 12.0, w + 12.0, 2001)
    best_on_grid = min(objective(x) for x in np.append(grid, 0.0))
    assert objective(x_star) <= best_on_grid + 1e-9


@HYPOTHESIS
@given(a=finite, b=finite, step_alpha=thresholds, rho=ratios)
@pytest.mark.parametrize("name", NAMES)
def test_prox_1d_is_non_expansive(name, a, b, step_alpha, rho):
    code = penalty_code(name)
    distance = abs(
        prox_1d(a, step_alpha, code, rho) - prox_1d(b, step_alpha, code, rho)
    )
    # Up to the rounding of the subtractions w - t.
    rounding = 4 * np.finfo(np.float64).eps * max(abs(a), abs(b))
    assert distance <= abs(a - b) + rounding


# ------------------------------------------------------- value and gradient


@HYPOTHESIS
@given(W=weights, alpha=floats(0, 10), rho=ratios)
@pytest.mark.parametrize("name", NAMES)
def test_value(name, W, alpha, rho):
    result = value(W, alpha, penalty_code(name), rho)
    assert_allclose(result, _numpy_value(W, alpha, name, rho), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_value_of_many_float32_weights_is_accurate(name):
    W = np.full(100_000, 0.1, dtype=np.float32)
    result = value(W, 1.0, penalty_code(name), 0.5)
    assert_allclose(
        result, _numpy_value(W.astype(np.float64), 1.0, name, 0.5), rtol=1e-7
    )
