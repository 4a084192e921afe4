"""Tests of skreg._penalties: value and proximal steps.

Every test that can be written for any penalty is parametrized over ``PENALTIES``
plus ``None``, so a new penalty gets its value, prox-optimality and
non-expansiveness tests by adding its shares to ``tests/_reference.py``. The group
shrinkage is checked against its closed form, an independent root-bracketing
solution, its optimality conditions and non-expansiveness in its metric.
"""

import numpy as np
import pytest
from _reference import SHARES, group_norms, scaled_group_prox
from _reference import norm as reference_norm
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from skreg._penalties import (
    NONE,
    PENALTIES,
    alpha_max,
    coordinate_threshold,
    group_marker,
    group_shrink,
    has_groups,
    is_smooth,
    l2_share,
    penalty_code,
    prox_coordinate,
    prox_rows,
    prox_rows_adam,
    row_threshold,
    scaled_group_shrink,
    soft_threshold,
    value,
)

NAMES = [None, *PENALTIES]
# Penalties whose proximal step is coordinate-wise: prox_coordinate alone.
COORDINATE_WISE = [name for name in NAMES if not has_groups(name)]
HYPOTHESIS = settings(max_examples=40, deadline=None)


def floats(low, high):
    # Finite and without subnormals, for which relative tolerances are meaningless.
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


# The API's table: the penalty of strength alpha is alpha * (smooth_share / 2 *
# ||W||^2 + l1_share * ||W||_1 + group_share * sqrt(n_out) * sum_i ||W[i, :]||_2).
REFERENCE = SHARES

finite = floats(-1e3, 1e3)
thresholds = floats(0.0, 1e3)
ratios = floats(0.0, 1.0)
weights = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
    elements=finite,
)
rows = arrays(np.float64, st.integers(1, 12), elements=floats(-10, 10))


def _soft_threshold(w, t):
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def _numpy_value(W, alpha, name, rho):
    smooth, l1, group = REFERENCE[name](rho)
    return alpha * (
        0.5 * smooth * np.sum(W**2) + l1 * np.abs(W).sum() + group * group_norms(W)
    )


def _numpy_prox(w, step_alpha, name, rho):
    _, l1, _ = REFERENCE[name](rho)
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
def test_is_smooth_iff_there_is_no_nonsmooth_part(name, rho):
    _, l1, group = REFERENCE[name](rho)
    assert is_smooth(name, rho) == (l1 == 0.0 and group == 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_has_groups_iff_some_l1_ratio_gives_a_group_share(name):
    grouped = any(REFERENCE[name](rho)[2] > 0 for rho in np.linspace(0, 1, 11))
    assert has_groups(name) == grouped
    assert group_marker(penalty_code(name)) is (True if grouped else None)


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


# ---------------------------------------------------------- prox_coordinate


def prox_1d(w, step_alpha, code, rho):
    """The penalty's proximal step at one weight, as the optimizers take it."""
    return prox_coordinate(w, coordinate_threshold(1.0, step_alpha, code, rho))


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
    return value(np.array([[x]]), alpha, code, rho) - smooth


@HYPOTHESIS
@given(w=floats(-10, 10), step=floats(0, 5), alpha=floats(0, 3), rho=ratios)
@pytest.mark.parametrize("name", COORDINATE_WISE)
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
    W = np.full((1000, 100), 0.1, dtype=np.float32)
    result = value(W, 1.0, penalty_code(name), 0.5)
    assert_allclose(
        result, _numpy_value(W.astype(np.float64), 1.0, name, 0.5), rtol=1e-7
    )


# ------------------------------------------------------------ group shrinkage


@HYPOTHESIS
@given(w=rows, t=floats(0, 30))
def test_group_shrink_closed_form(w, t):
    norm = reference_norm(w)
    expected = w * max(0.0, 1.0 - t / norm) if norm > 0 else w
    result = w.copy()
    group_shrink(result, t)
    assert_allclose(result, expected, rtol=1e-13, atol=1e-13 * norm)


@HYPOTHESIS
@given(w=rows, t=floats(0, 30))
def test_group_shrink_zeroes_the_row_iff_its_norm_is_within_the_threshold(w, t):
    result = w.copy()
    group_shrink(result, t)
    assert np.all(result == 0.0) == (reference_norm(w) <= t or not w.any())


def test_group_shrink_of_a_float32_row_stays_float32():
    w = np.array([3.0, 4.0], dtype=np.float32)
    group_shrink(w, 2.5)
    assert w.dtype == np.float32
    assert_allclose(w, [1.5, 2.0], rtol=1e-7)


@st.composite
def scaled_rows(draw):
    w = draw(rows)
    t = draw(arrays(np.float64, w.shape, elements=floats(1e-3, 10)))
    return w, t


@HYPOTHESIS
@given(problem=scaled_rows())
def test_scaled_group_shrink_matches_a_bracketed_root(problem):
    w, t = problem
    result = w.copy()
    scaled_group_shrink(result, t.copy())
    expected = scaled_group_prox(w, t)
    assert_allclose(result, expected, rtol=1e-10, atol=1e-12 * np.abs(w).max())
    assert np.all(result == 0.0) == np.all(expected == 0.0)


@HYPOTHESIS
@given(problem=scaled_rows())
def test_scaled_group_shrink_satisfies_the_optimality_conditions(problem):
    # x minimises sum (x - w)**2 / (2 t) + ||x|| iff (w - x) / t is a subgradient
    # of ||.|| at x: x / ||x|| when x != 0, any vector of norm <= 1 when x = 0.
    w, t = problem
    x = w.copy()
    scaled_group_shrink(x, t.copy())
    residual = (w - x) / t
    norm = np.linalg.norm(x)
    if norm == 0.0:
        assert np.linalg.norm(residual) <= 1.0 + 1e-12
    else:
        assert_allclose(residual, x / norm, rtol=1e-9, atol=1e-9)


@HYPOTHESIS
@given(w=rows, t=floats(1e-3, 30))
def test_scaled_group_shrink_with_equal_thresholds_is_the_closed_form(w, t):
    scaled, closed = w.copy(), w.copy()
    scaled_group_shrink(scaled, np.full(w.shape, t))
    group_shrink(closed, t)
    assert_allclose(scaled, closed, rtol=1e-12, atol=1e-13 * np.abs(w).max())


@HYPOTHESIS
@given(problem=scaled_rows(), data=st.data())
def test_scaled_group_shrink_is_non_expansive_in_its_metric(problem, data):
    # A proximal operator in the metric sum v**2 / t is non-expansive in it.
    a, t = problem
    b = data.draw(arrays(np.float64, a.shape, elements=floats(-10, 10)))
    pa, pb = a.copy(), b.copy()
    scaled_group_shrink(pa, t.copy())
    scaled_group_shrink(pb, t.copy())

    def distance(v):
        return np.sqrt(np.sum(v**2 / t))

    assert distance(pa - pb) <= distance(a - b) * (1 + 1e-9) + 1e-12


@HYPOTHESIS
@given(
    problem=scaled_rows(),
    l1=st.one_of(st.just(0.0), floats(1e-3, 3)),
    group=st.one_of(st.just(0.0), floats(1e-3, 3)),
)
def test_soft_threshold_then_group_shrink_is_the_sparse_group_prox(problem, l1, group):
    # The minimiser of sum (x - w)**2 / (2 t) + l1 * ||x||_1 + group * ||x||_2 is
    # the soft threshold at t * l1, then the shrinkage at t * group, with per-
    # coordinate steps t. Checked on the optimality conditions: w - x = t * (l1 * g
    # + group * v), g a subgradient of ||.||_1 and v of ||.||_2 at x.
    w, t = problem
    x = np.array([soft_threshold(v, s * l1) for v, s in zip(w, t)])
    if group > 0:
        scaled_group_shrink(x, t * group)
    residual = (w - x) / t
    norm = np.linalg.norm(x)
    nonzero = x != 0.0
    if norm > 0.0:
        v = x / norm
        if l1 > 0:
            g = (residual - group * v) / l1
            assert_allclose(g[nonzero], np.sign(x[nonzero]), rtol=1e-8, atol=1e-8)
            assert np.all(np.abs(g[~nonzero]) <= 1.0 + 1e-9)
        else:
            assert_allclose(residual, group * v, rtol=1e-8, atol=1e-8)
    else:
        # Some g in [-1, 1]^n leaves a remainder of norm <= group: the best g clips.
        g = np.clip(residual / l1, -1.0, 1.0) if l1 > 0 else np.zeros_like(x)
        remainder = residual - l1 * g
        assert np.linalg.norm(remainder) <= group * (1 + 1e-9) + 1e-12


def test_group_shrink_of_a_one_weight_row_is_the_soft_threshold():
    for v in (-3.0, -0.5, 0.0, 0.5, 3.0):
        w = np.array([v])
        group_shrink(w, 1.0)
        assert w[0] == soft_threshold(v, 1.0)
        scaled = np.array([v])
        scaled_group_shrink(scaled, np.array([1.0]))
        assert_allclose(scaled[0], soft_threshold(v, 1.0), rtol=1e-14)


def test_value_of_group_lasso_counts_rows_times_sqrt_of_their_length():
    W = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    result = value(W, 2.0, PENALTIES["group_lasso"], 0.5)
    assert_allclose(result, 2.0 * np.sqrt(3) * (5.0 + 0.0 + 1.0), rtol=1e-15)
    assert_array_equal(W[1], 0.0)


def test_scaled_group_shrink_with_tiny_or_zero_thresholds_keeps_the_row():
    # Steps that underflow must neither produce NaN nor switch the row off.
    for thresholds in ([1e-300, 1e-300, 2.0], [0.0, 1e-3, 0.0]):
        w = np.array([3.0, -4.0, 1e-3])
        scaled_group_shrink(w, np.array(thresholds))
        assert np.all(np.isfinite(w))
        assert_allclose(w[:2], [3.0, -4.0], rtol=1e-3)


# ------------------------------------------------ the rows' steps, alpha_max


@HYPOTHESIS
@given(
    W=weights, step=floats(0, 3), alpha=floats(0, 3), rho=ratios, grouped=st.booleans()
)
@pytest.mark.parametrize("name", NAMES)
def test_prox_rows_shrinks_each_row_at_the_row_threshold(
    name, W, step, alpha, rho, grouped
):
    code = penalty_code(name)
    _, _, group = REFERENCE[name](rho)
    expected = W.copy()
    threshold = step * alpha * group * np.sqrt(W.shape[1])
    if grouped:
        for row in expected:
            group_shrink(row, threshold)
    result = W.copy()
    prox_rows(result.ravel(), W.shape[1], step, alpha, code, rho, grouped or None)
    assert_array_equal(result, expected)
    assert row_threshold(step, alpha, code, rho, W.shape[1]) == threshold


@HYPOTHESIS
@given(W=weights, alpha=floats(0, 3), rho=ratios, lr=floats(1e-4, 1), data=st.data())
@pytest.mark.parametrize("name", ["group_lasso", "sparse_group_lasso"])
def test_prox_rows_adam_takes_each_coordinates_adam_step(name, W, alpha, rho, lr, data):
    V = data.draw(arrays(np.float64, W.shape, elements=floats(0, 10)))
    epsilon = 1e-8
    _, _, group = REFERENCE[name](rho)
    steps = lr / (np.sqrt(V) + epsilon) * (alpha * group * np.sqrt(W.shape[1]))
    expected = W.copy()
    if alpha * group > 0:
        for row, t in zip(expected, steps):
            scaled_group_shrink(row, t.copy())
    result = W.copy()
    scratch = np.empty(W.size)
    code = penalty_code(name)
    n_out = W.shape[1]
    args = (n_out, lr, epsilon, alpha, code, rho, True)
    prox_rows_adam(result.ravel(), V.ravel(), scratch, *args)
    assert_array_equal(result, expected)


@HYPOTHESIS
@given(
    gradient=weights.filter(lambda g: np.abs(g).max() > 1e-3),
    rho=floats(0.05, 0.95),
)
@pytest.mark.parametrize("name", [n for n in PENALTIES if not is_smooth(n, 0.5)])
def test_alpha_max_is_where_a_first_step_from_zero_zeroes_every_weight(
    name, gradient, rho
):
    # From zero weights, a unit step to -gradient then the proximal steps: all
    # weights are zero at alpha_max, and some survive just below it when one part
    # alone is non-smooth (the two parts together zero a row a little earlier).
    code = penalty_code(name)
    n_out = gradient.shape[1]
    l1_scale = np.abs(gradient).max()
    group_scale = np.linalg.norm(gradient, axis=1).max() / np.sqrt(n_out)
    top = alpha_max(name, rho, l1_scale, group_scale)

    def first_step(alpha):
        threshold = coordinate_threshold(1.0, alpha, code, rho)
        W = np.array([prox_coordinate(-g, threshold) for g in gradient.ravel()])
        prox_rows(W, n_out, 1.0, alpha, code, rho, True)
        return W

    assert not first_step(top * (1 + 1e-9)).any()
    _, l1, group = REFERENCE[name](rho)
    if l1 == 0 or group == 0:
        assert first_step(top * 0.99).any()


@pytest.mark.parametrize("rho", [0.0, 0.5])
@pytest.mark.parametrize("name", ["l2", "elasticnet"])
def test_alpha_max_of_a_smooth_penalty_is_the_l1_scale(name, rho):
    if not is_smooth(name, rho):
        assert alpha_max(name, rho, 2.0, 3.0) == 2.0 / rho
    else:
        assert alpha_max(name, rho, 2.0, 3.0) == 2.0
