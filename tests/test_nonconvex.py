"""MCP and SCAD: values and proximal operators against their definitions.

The closed forms are checked against a numerical minimiser of the proximal
objective, on a fine grid refined by golden-section search, and for the
properties the literature states: exact zeros below ``step * lam``, no shrinkage
beyond ``gamma * lam``, continuity, and the group operator's direction and norm.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize_scalar
from sklearn.datasets import make_classification

from skreg._penalties import (
    group_prox_nonconvex,
    mcp_value,
    prox_mcp,
    prox_scad,
    scad_value,
)

finite = st.floats(-20, 20, allow_nan=False, allow_subnormal=False)
strength = st.floats(0.01, 5)
steps = st.floats(0.01, 2)


def _penalty(scad):
    return scad_value if scad else mcp_value


def _prox(scad):
    return prox_scad if scad else prox_mcp


def _gamma(scad, step, extra):
    # The smallest concavity at which the proximal objective is strictly convex,
    # plus a margin.
    return (1.0 + step if scad else step) + extra


def _numerical_prox(w, lam, step, gamma, scad):
    """The minimiser of ``(x - w)**2 / 2 + step * P(x)``, by a grid and a
    bounded scalar search around its best point."""
    value = _penalty(scad)

    def objective(x):
        return (x - w) ** 2 / 2 + step * value(x, lam, gamma)

    # The minimiser lies between 0 and w: shrinkage never crosses zero or grows.
    grid = np.linspace(min(0.0, w), max(0.0, w), 2001)
    best = grid[np.argmin([objective(x) for x in grid])]
    spacing = abs(w) / 2000 + 1e-12
    result = minimize_scalar(
        objective,
        bounds=(best - spacing, best + spacing),
        method="bounded",
        options={"xatol": 1e-12},
    )
    x = result.x if objective(result.x) <= objective(best) else best
    return x, objective


@settings(max_examples=200, deadline=None)
@given(
    w=finite,
    lam=strength,
    step=steps,
    extra=st.floats(0.05, 5),
    scad=st.booleans(),
)
def test_prox_is_the_minimiser_of_its_objective(w, lam, step, extra, scad):
    gamma = _gamma(scad, step, extra)
    x = _prox(scad)(w, lam, step, gamma)
    reference, objective = _numerical_prox(w, lam, step, gamma, scad)
    # No point does better than the closed form (up to rounding), and the two
    # minimisers agree: the objective is strictly convex.
    assert objective(x) <= objective(reference) + 1e-9 * (1 + w**2)
    assert x == pytest.approx(reference, abs=1e-5 * (1 + abs(w)))


@given(w=finite, lam=strength, step=steps, extra=st.floats(0.05, 5))
def test_below_the_threshold_both_are_exactly_zero(w, lam, step, extra):
    for scad in (False, True):
        gamma = _gamma(scad, step, extra)
        x = _prox(scad)(w, lam, step, gamma)
        if abs(w) <= step * lam:
            assert x == 0.0
        else:
            assert x != 0.0 and np.sign(x) == np.sign(w)


@given(w=finite, lam=strength, step=steps, extra=st.floats(0.05, 5))
def test_beyond_gamma_lam_nothing_is_shrunk(w, lam, step, extra):
    for scad in (False, True):
        gamma = _gamma(scad, step, extra)
        x = _prox(scad)(w, lam, step, gamma)
        if abs(w) > gamma * lam:
            assert x == w
        # Never grows, never crosses zero.
        assert abs(x) <= abs(w) * (1 + 1e-12)
        assert x * w >= 0


@pytest.mark.parametrize("scad", [False, True])
def test_prox_is_continuous_at_its_breakpoints(scad):
    lam, step = 0.7, 0.5
    gamma = _gamma(scad, step, 1.3)
    prox = _prox(scad)
    breaks = [step * lam, gamma * lam] + ([(1 + step) * lam] if scad else [])
    for b in breaks:
        for eps in (1e-9, 1e-12):
            assert prox(b + eps, lam, step, gamma) == pytest.approx(
                prox(b - eps, lam, step, gamma), abs=1e-7
            )


@pytest.mark.parametrize("scad", [False, True])
def test_values_match_their_definitions(scad):
    lam, gamma = 0.8, 3.7 if scad else 3.0
    value = _penalty(scad)
    x = np.linspace(-5, 5, 1001)
    got = np.array([value(v, lam, gamma) for v in x])
    a = np.abs(x)
    if scad:
        expected = np.where(
            a <= lam,
            lam * a,
            np.where(
                a <= gamma * lam,
                (2 * gamma * lam * a - a**2 - lam**2) / (2 * (gamma - 1)),
                lam**2 * (gamma + 1) / 2,
            ),
        )
    else:
        expected = np.where(
            a <= gamma * lam, lam * a - a**2 / (2 * gamma), gamma * lam**2 / 2
        )
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    # Continuous, flat beyond gamma * lam, and its slope at 0+ is lam: the L1
    # penalty near zero, no penalty growth for large weights.
    assert np.all(np.abs(np.diff(got)) < 0.01)
    assert value(10.0, lam, gamma) == value(20.0, lam, gamma)
    h = 1e-7
    assert (value(h, lam, gamma) - value(0.0, lam, gamma)) / h == pytest.approx(
        lam, rel=1e-5
    )


@settings(max_examples=100, deadline=None)
@given(
    row=arrays(np.float64, st.integers(1, 8), elements=finite),
    lam=strength,
    step=steps,
    extra=st.floats(0.05, 5),
    scad=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_group_prox_shrinks_the_norm_by_the_scalar_operator(
    row, lam, step, extra, scad, dtype
):
    gamma = _gamma(scad, step, extra)
    w = row.astype(dtype)
    r = np.linalg.norm(w.astype(np.float64))
    out = w.copy()
    group_prox_nonconvex(out, lam, step, gamma, scad)
    assert out.dtype == dtype
    expected_norm = _prox(scad)(r, lam, step, gamma)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert np.linalg.norm(out.astype(np.float64)) == pytest.approx(
        expected_norm, rel=tol, abs=tol
    )
    if r <= step * lam:
        assert np.all(out == 0.0)
    elif r > 0:
        # Same direction.
        np.testing.assert_allclose(
            out / expected_norm, w / r, rtol=10 * tol, atol=10 * tol
        )


@settings(max_examples=300, deadline=None)
@given(
    w=finite,
    lam=strength,
    step=st.floats(0.05, 50),
    gamma_share=st.floats(0.05, 1.0),
    scad=st.booleans(),
)
def test_with_large_steps_prox_is_the_global_minimiser(w, lam, step, gamma_share, scad):
    # Steps at or beyond the concavity, where the objective is not convex: no
    # point of a fine grid over [min(0, w), max(0, w)] does better.
    gamma = 1.0 + gamma_share * step if scad else gamma_share * step
    x = _prox(scad)(w, lam, step, gamma)
    value = _penalty(scad)

    def objective(v):
        return (v - w) ** 2 / 2 + step * value(v, lam, gamma)

    grid = np.linspace(min(0.0, w), max(0.0, w), 4001)
    grid_best = min(objective(v) for v in grid)
    assert objective(x) <= grid_best + 1e-9 * (1 + w**2)
    assert x * w >= 0 and abs(x) <= abs(w)


def test_large_step_mcp_is_hard_thresholding():
    lam, step, gamma = 1.0, 4.0, 1.0
    threshold = lam * np.sqrt(step * gamma)
    assert prox_mcp(threshold, lam, step, gamma) == 0.0
    assert prox_mcp(threshold + 1e-9, lam, step, gamma) == threshold + 1e-9
    assert prox_mcp(-3.0, lam, step, gamma) == -3.0


# ------------------------------------------------- blocks, value, estimators

from _reference import scaled_group_prox  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.base import clone  # noqa: E402

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor  # noqa: E402
from skreg._full_batch import initial_gradient, penalty_value  # noqa: E402
from skreg._path import _alpha_max  # noqa: E402
from skreg._penalties import (  # noqa: E402
    nonconvex_marker,
    nonconvex_value,
    penalty_code,
    prox_nonconvex,
)

CONCAVE = ["mcp", "scad", "group_mcp", "group_scad"]


def _numpy_mcp(x, lam, gamma):
    a = np.abs(x)
    return np.where(a <= gamma * lam, lam * a - a**2 / (2 * gamma), gamma * lam**2 / 2)


def _numpy_scad(x, lam, gamma):
    a = np.abs(x)
    middle = (2 * gamma * lam * a - a**2 - lam**2) / (2 * (gamma - 1))
    return np.where(
        a <= lam, lam * a, np.where(a <= gamma * lam, middle, lam**2 * (gamma + 1) / 2)
    )


def _numpy_slope(r, lam, gamma, scad):
    if scad:
        return lam if r <= lam else max(gamma * lam - r, 0.0) / (gamma - 1)
    return max(lam - r / gamma, 0.0)


@pytest.mark.parametrize("name", CONCAVE)
def test_value_of_a_matrix_matches_numpy(name):
    W = np.random.RandomState(0).randn(6, 4) * 2
    alpha, gamma = 0.4, 3.7
    value = _numpy_scad if "scad" in name else _numpy_mcp
    if name.startswith("group"):
        expected = value(np.linalg.norm(W, axis=1), alpha * 2.0, gamma).sum()
    else:
        expected = value(W, alpha, gamma).sum()
    code = penalty_code(name)
    result = nonconvex_value(W, alpha, code, gamma, nonconvex_marker(code))
    assert_allclose(result, expected, rtol=1e-12)


@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("name", CONCAVE)
def test_block_step_is_each_coordinate_or_rows_step(name, adam):
    rng = np.random.RandomState(1)
    n_rows, n_out = 5, 3
    W = rng.randn(n_rows, n_out)
    alpha, lr, gamma, epsilon = 0.5, 0.3, 3.7, 1e-8
    second = rng.uniform(0.05, 3.0, W.shape) if adam else None
    steps = lr / (np.sqrt(second) + epsilon) if adam else np.full(W.shape, lr)
    scad = "scad" in name
    result = W.ravel().copy()
    code = penalty_code(name)
    prox_nonconvex(
        result,
        None if second is None else second.ravel(),
        np.empty(W.size),
        n_out,
        lr,
        epsilon,
        alpha,
        code,
        gamma,
        nonconvex_marker(code),
    )
    result = result.reshape(W.shape)
    prox = _prox(scad)
    expected = W.copy()
    if not name.startswith("group"):
        for i in range(n_rows):
            for j in range(n_out):
                expected[i, j] = prox(W[i, j], alpha, steps[i, j], gamma)
    else:
        lam = alpha * np.sqrt(n_out)
        for i in range(n_rows):
            r = np.linalg.norm(W[i])
            if adam:
                # Adam: the group lasso's step at the slope at the row's norm.
                slope = _numpy_slope(r, lam, gamma, scad)
                if slope > 0:
                    expected[i] = scaled_group_prox(W[i], steps[i] * slope)
            else:
                expected[i] = W[i] * prox(r, lam, lr, gamma) / r
    assert_allclose(result, expected, rtol=1e-10, atol=1e-13)


@settings(max_examples=200, deadline=None)
@given(
    w=finite,
    lam=strength,
    step=steps,
    extra=st.floats(0.05, 5),
    scad=st.booleans(),
)
def test_prox_satisfies_its_optimality_condition(w, lam, step, extra, scad):
    # KKT of min (x - w)**2 / 2 + step * P(x): x = 0 iff |w| <= step * lam (the
    # slope at 0); otherwise x - w + step * P'(|x|) * sign(x) = 0.
    gamma = _gamma(scad, step, extra)
    x = _prox(scad)(w, lam, step, gamma)
    if x == 0.0:
        assert abs(w) <= step * lam * (1 + 1e-12)
    else:
        assert np.sign(x) == np.sign(w)
        slope = _numpy_slope(abs(x), lam, gamma, scad)
        assert abs(x - w + step * slope * np.sign(x)) <= 1e-9 * max(1.0, abs(w))


def _data():
    X, y = make_classification(
        300, 8, n_informative=3, n_redundant=0, shuffle=False, random_state=0
    )
    return X, y


@pytest.mark.parametrize("name", CONCAVE)
def test_lbfgs_refuses_a_concave_penalty(name):
    X, y = _data()
    with pytest.raises(
        ValueError, match=f"solver='lbfgs' does not support penalty='{name}'"
    ):
        RegularizedMLPClassifier(penalty=name, solver="lbfgs").fit(X, y)


@pytest.mark.parametrize(
    "name, gamma",
    [("mcp", 1.0), ("group_mcp", 0.5), ("scad", 2.0), ("group_scad", 1.5)],
)
def test_gamma_at_or_below_its_bound_is_refused(name, gamma):
    X, y = _data()
    clf = RegularizedMLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    before = [c.copy() for c in clf.coefs_]
    clf.set_params(penalty=name, gamma=gamma)
    with pytest.raises(ValueError, match="needs gamma > "):
        clf.fit(X, y)
    for a, b in zip(before, clf.coefs_):
        assert_array_equal(a, b)


def test_gamma_must_be_positive():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="gamma"):
        RegularizedMLPClassifier(penalty="mcp", gamma=-1.0).fit(*_data())


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("name", CONCAVE)
def test_fits_zero_weights_and_report_their_penalty(name, solver):
    X, y = _data()
    alpha = 0.05 if name.startswith("group") else 0.02
    clf = RegularizedMLPClassifier(
        (16,),
        penalty=name,
        alpha=alpha,
        solver=solver,
        max_iter=40,
        learning_rate_init=0.01 if solver == "adam" else 0.1,
        random_state=0,
    ).fit(X, y)
    assert clf.score(X, y) > 0.8
    zeros = [W == 0 for W in clf.coefs_]
    if name.startswith("group"):
        zeros = [np.all(zero, axis=1) for zero in zeros]
    assert any(zero.any() for zero in zeros)
    gamma = 3.7 if "scad" in name else 3.0
    value = _numpy_scad if "scad" in name else _numpy_mcp
    expected = 0.0
    for W in clf.coefs_:
        if name.startswith("group"):
            expected += value(
                np.linalg.norm(W, axis=1), alpha * np.sqrt(W.shape[1]), gamma
            ).sum()
        else:
            expected += value(W, alpha, gamma).sum()
    assert_allclose(penalty_value(clf), expected, rtol=1e-10)


def test_default_gamma_is_the_literatures():
    X, y = _data()
    params = dict(
        hidden_layer_sizes=(8,), penalty="scad", alpha=0.05, max_iter=10, random_state=0
    )
    default = RegularizedMLPClassifier(**params).fit(X, y)
    explicit = RegularizedMLPClassifier(**params, gamma=3.7).fit(X, y)
    other = RegularizedMLPClassifier(**params, gamma=10.0).fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(default.coefs_, explicit.coefs_))
    assert not all(np.array_equal(a, b) for a, b in zip(default.coefs_, other.coefs_))


@pytest.mark.parametrize(
    "name, lasso",
    [
        ("mcp", "l1"),
        ("scad", "l1"),
        ("group_mcp", "group_lasso"),
        ("group_scad", "group_lasso"),
    ],
)
def test_alpha_max_is_the_lassos(name, lasso):
    # The concave penalties' slope at 0 is the lasso's: above it, a network of
    # zeros stays zero (a step's gradient is inside the threshold). A fit from
    # the initial weights need not get there: weights beyond gamma * lam are not
    # shrunk at all.
    X, y = _data()
    estimator = RegularizedMLPClassifier((8,), penalty=name, random_state=0)
    top = _alpha_max(estimator, X, y, None, [0.15])
    assert top == _alpha_max(
        clone(estimator).set_params(penalty=lasso), X, y, None, [0.15]
    )


def test_alpha_max_counts_factors_and_groups():
    X, y = _data()
    estimator = RegularizedMLPRegressor((8,), penalty="group_lasso", random_state=0)
    y = X[:, 0] + X[:, 1]
    gradient = initial_gradient(estimator, X, y)
    factors = np.array([0.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    groups = [[2, 3, 4]]
    weighted = clone(estimator).set_params(
        penalty_factor=factors, feature_groups=groups
    )
    top = _alpha_max(weighted, X, y, None, [0.15])
    g0, g1 = gradient
    n_out = g0.shape[1]
    scales = [np.linalg.norm(g1, axis=1).max() / np.sqrt(g1.shape[1])]
    scales.append(np.linalg.norm(g0[1]) / (np.sqrt(n_out) * 2.0))
    scales.append(np.linalg.norm(g0[[2, 3, 4]]) / np.sqrt(3 * n_out))
    scales += [np.linalg.norm(g0[i]) / np.sqrt(n_out) for i in (5, 6, 7)]
    assert_allclose(top, max(scales), rtol=1e-12)
