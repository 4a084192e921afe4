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
