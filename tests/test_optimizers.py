"""Tests of skreg._optimizers: the fused SGD and Adam steps and the rate schedules.

The reference is scikit-learn's update (``SGDOptimizer._get_updates`` and
``AdamOptimizer._get_updates``) written in NumPy on the flat buffer, followed by the
proximal step of the penalty's non-smooth part on the weight entries (never the
intercepts) with the step size the optimizer applied to each coordinate: the soft
threshold, then each row's group shrinkage (``tests/_reference.py``). For the smooth
penalties the kernels are also compared with scikit-learn's optimizer objects.
"""

import numpy as np
import pytest
from _network import step_config
from _reference import numpy_prox
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from skreg._layout import Layout
from skreg._optimizers import (
    adam_step,
    adaptive_decrease,
    constrain_weights,
    invscaling_rate,
    sgd_step,
)
from skreg._penalties import PENALTIES, group_marker, penalty_code

NAMES = [None, *PENALTIES]
HYPOTHESIS = settings(max_examples=40, deadline=None)


def floats(low, high):
    # Finite and without subnormals, for which relative tolerances are meaningless.
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


values = floats(-10, 10)


@st.composite
def problems(draw):
    """A random layout and flat buffers of parameters, gradient and two states."""
    units = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    layout = Layout(units)
    n = layout.n_params
    buffers = [draw(arrays(np.float64, n, elements=values)) for _ in range(3)]
    second = draw(arrays(np.float64, n, elements=floats(0, 10)))
    # Strengths of 0, or from 1e-3 up: products of steps and tiny strengths that
    # underflow are the kernels' tests' business (test_penalties.py).
    strengths = st.one_of(st.just(0.0), floats(1e-3, 3))
    alphas = draw(arrays(np.float64, len(units) - 1, elements=strengths))
    return layout, *buffers, second, alphas


def _numpy_sgd(params, grad, velocity, lr, momentum, nesterov):
    """SGDOptimizer._get_updates: returns (new params, new velocity)."""
    updates = momentum * velocity - lr * grad
    velocity = updates
    if nesterov:
        updates = momentum * velocity - lr * grad
    return params + updates, velocity


def _numpy_adam(params, grad, m, v, t, lr_init, beta_1, beta_2, epsilon):
    """AdamOptimizer._get_updates: returns (params, m, v, lr_t, per-coordinate step)."""
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    lr_t = lr_init * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    step = lr_t / (np.sqrt(v) + epsilon)
    return params - lr_t * m / (np.sqrt(v) + epsilon), m, v, lr_t, step


# ------------------------------------------------------------------- SGD

SGD_CASES = {
    "plain": (0.0, False),
    "momentum": (0.9, False),
    "nesterov": (0.9, True),
}


@HYPOTHESIS
@given(problem=problems(), lr=floats(1e-4, 1.0), rho=floats(0, 1))
@pytest.mark.parametrize("case", list(SGD_CASES))
@pytest.mark.parametrize("name", NAMES)
def test_sgd_step_is_sklearn_update_then_prox(name, case, problem, lr, rho):
    layout, params, grad, velocity, _, alphas = problem
    momentum, nesterov = SGD_CASES[case]
    expected, expected_velocity = _numpy_sgd(
        params, grad, velocity, lr, momentum, nesterov
    )
    expected = numpy_prox(expected, layout, alphas, name, rho, lr)

    result, result_velocity = params.copy(), velocity.copy()
    sgd_step(
        result,
        grad,
        result_velocity,
        lr,
        layout.layers(alphas),
        step_config(
            penalty_code(name),
            rho,
            group_marker(penalty_code(name)),
            momentum=momentum,
            nesterov=nesterov,
        ),
        None,
    )
    assert_allclose(result_velocity, expected_velocity, rtol=1e-12, atol=1e-12)
    assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", list(SGD_CASES))
@pytest.mark.parametrize("name", [None, "l2"])
def test_sgd_steps_equal_sklearn_sgd_optimizer(name, case):
    # Three steps from zero velocity: sklearn's optimizer object updates views into
    # its own copy of the flat buffer, so the two buffers can be compared.
    momentum, nesterov = SGD_CASES[case]
    layout = Layout([4, 5, 3, 2])
    rng = np.random.RandomState(0)
    params = rng.normal(size=layout.n_params)
    alphas = np.array([0.1, 0.5, 0.2])  # smooth: in the gradient, not in the step

    sk_buffer = params.copy()
    coefs, intercepts = layout.unpack(sk_buffer)
    optimizer = SGDOptimizer(
        coefs + intercepts,
        learning_rate_init=0.05,
        momentum=momentum,
        nesterov=nesterov,
    )
    velocity = np.zeros_like(params)
    for _ in range(3):
        grad = rng.normal(size=layout.n_params)
        grad_coefs, grad_intercepts = layout.unpack(grad)
        optimizer.update_params(coefs + intercepts, grad_coefs + grad_intercepts)
        sgd_step(
            params,
            grad,
            velocity,
            0.05,
            layout.layers(alphas),
            step_config(
                penalty_code(name),
                0.15,
                group_marker(penalty_code(name)),
                momentum=momentum,
                nesterov=nesterov,
            ),
            None,
        )
    assert_allclose(params, sk_buffer, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["l2", "l1", "elasticnet", None])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_group_marker_only_prunes_code(name, solver):
    # Without a group penalty the marker is None, which compiles no group code;
    # True compiles it, and it must then do nothing.
    code = penalty_code(name)
    assert group_marker(code) is None
    layout = Layout([4, 3, 2])
    results = []
    for grouped in (None, True):
        rng = np.random.RandomState(0)
        params = rng.normal(size=layout.n_params)
        grad = rng.normal(size=layout.n_params)
        state = [np.zeros_like(params), np.full_like(params, 0.1)]
        layers = layout.layers(np.array([0.3, 0.1]))
        if solver == "sgd":
            cfg = step_config(code, 0.5, grouped, momentum=0.9, nesterov=True)
            sgd_step(params, grad, state[0], 0.1, layers, cfg, None)
        else:
            cfg = step_config(code, 0.5, grouped, lr_init=0.01)
            adam_step(params, grad, tuple(state), 3, layers, cfg, None)
        results.append(params)
    np.testing.assert_array_equal(results[0], results[1])
    for name in ("group_lasso", "sparse_group_lasso"):
        assert group_marker(penalty_code(name)) is True


@pytest.mark.parametrize("case", list(SGD_CASES))
def test_sgd_step_does_not_threshold_intercepts(case):
    momentum, nesterov = SGD_CASES[case]
    layout = Layout([3, 2, 1])
    params = np.full(layout.n_params, 0.5)
    grad = np.zeros_like(params)
    velocity = np.zeros_like(params)
    sgd_step(
        params,
        grad,
        velocity,
        1.0,
        layout.layers(np.array([10.0, 10.0])),
        step_config(
            penalty_code("l1"),
            0.15,
            group_marker(penalty_code("l1")),
            momentum=momentum,
            nesterov=nesterov,
        ),
        None,
    )
    n_coefs = layout.coef_offsets[-1]
    assert np.all(params[:n_coefs] == 0.0)
    assert np.all(params[n_coefs:] == 0.5)


# ------------------------------------------------------------------ Adam


@HYPOTHESIS
@given(
    problem=problems(),
    t=st.integers(1, 50),
    lr_init=floats(1e-4, 0.5),
    beta_1=floats(0.0, 0.99),
    beta_2=floats(0.9, 0.9999),
    rho=floats(0, 1),
)
@pytest.mark.parametrize("name", NAMES)
def test_adam_step_is_sklearn_update_then_prox(
    name, problem, t, lr_init, beta_1, beta_2, rho
):
    layout, params, grad, first, second, alphas = problem
    epsilon = 1e-8
    expected, m, v, lr_t, step = _numpy_adam(
        params, grad, first, second, t, lr_init, beta_1, beta_2, epsilon
    )
    expected = numpy_prox(expected, layout, alphas, name, rho, step)

    result, result_first, result_second = params.copy(), first.copy(), second.copy()
    returned_lr = adam_step(
        result,
        grad,
        (result_first, result_second),
        t,
        layout.layers(alphas),
        step_config(
            penalty_code(name),
            rho,
            group_marker(penalty_code(name)),
            lr_init=lr_init,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
        ),
        None,
    )
    assert_allclose(returned_lr, lr_t, rtol=1e-12)
    assert_allclose(result_first, m, rtol=1e-12, atol=1e-12)
    assert_allclose(result_second, v, rtol=1e-12, atol=1e-12)
    assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [None, "l2"])
def test_adam_steps_equal_sklearn_adam_optimizer(name):
    layout = Layout([4, 5, 3, 2])
    rng = np.random.RandomState(0)
    params = rng.normal(size=layout.n_params)
    alphas = np.array([0.1, 0.5, 0.2])

    sk_buffer = params.copy()
    coefs, intercepts = layout.unpack(sk_buffer)
    optimizer = AdamOptimizer(
        coefs + intercepts,
        learning_rate_init=0.01,
        beta_1=0.8,
        beta_2=0.99,
        epsilon=1e-7,
    )
    first, second = np.zeros_like(params), np.zeros_like(params)
    for t in range(1, 4):
        grad = rng.normal(size=layout.n_params)
        grad_coefs, grad_intercepts = layout.unpack(grad)
        optimizer.update_params(coefs + intercepts, grad_coefs + grad_intercepts)
        lr = adam_step(
            params,
            grad,
            (first, second),
            t,
            layout.layers(alphas),
            step_config(
                penalty_code(name),
                0.15,
                group_marker(penalty_code(name)),
                lr_init=0.01,
                beta_1=0.8,
                beta_2=0.99,
                epsilon=1e-7,
            ),
            None,
        )
        assert_allclose(lr, optimizer.learning_rate, rtol=1e-12)
    assert_allclose(params, sk_buffer, rtol=1e-12, atol=1e-14)


def test_adam_prox_uses_the_per_coordinate_step():
    # Two weights with the same value and gradients of different sizes: Adam's step
    # lr_t / (sqrt(v) + eps) differs, so their thresholds differ.
    layout = Layout([2, 1])
    params = np.array([1.0, 1.0, 0.0])
    grad = np.array([1e-3, 1.0, 0.0])
    first, second = np.zeros(3), np.zeros(3)
    adam_step(
        params,
        grad,
        (first, second),
        1,
        layout.layers(np.array([0.5])),
        step_config(
            penalty_code("l1"),
            0.15,
            group_marker(penalty_code("l1")),
            lr_init=0.001,
            beta_1=0.9,
            beta_2=0.999,
            epsilon=1e-8,
        ),
        None,
    )
    # At t = 1 the update is -lr * sign(g) and the step is lr / (|g| (1 - beta_1)).
    step = 0.001 / (np.abs(grad[:2]) * 0.1 + 1e-8)
    expected = np.maximum(1.0 - 0.001 - 0.5 * step, 0.0)
    assert_allclose(params[:2], expected, rtol=1e-6)
    assert params[0] == 0.0 and params[1] > 0.0


# ----------------------------------------------------- dtype and schedules


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_float32_step_stays_float32_and_matches_float64(solver):
    layout = Layout([4, 5, 2])
    rng = np.random.RandomState(0)
    params = rng.normal(size=layout.n_params).astype(np.float32)
    grad = rng.normal(size=layout.n_params).astype(np.float32)
    alphas = np.array([0.01, 0.02])
    results = []
    for dtype in (np.float32, np.float64):
        p = params.astype(dtype)
        g = grad.astype(dtype)
        s1, s2 = np.zeros_like(p), np.zeros_like(p)
        if solver == "sgd":
            sgd_step(
                p,
                g,
                s1,
                0.1,
                layout.layers(alphas),
                step_config(
                    PENALTIES["l1"],
                    0.15,
                    group_marker(PENALTIES["l1"]),
                    momentum=0.9,
                    nesterov=True,
                ),
                None,
            )
        else:
            adam_step(
                p,
                g,
                (s1, s2),
                1,
                layout.layers(alphas),
                step_config(
                    PENALTIES["l1"],
                    0.15,
                    group_marker(PENALTIES["l1"]),
                    lr_init=0.01,
                    beta_1=0.9,
                    beta_2=0.999,
                    epsilon=1e-8,
                ),
                None,
            )
        results.append(p)
    assert results[0].dtype == np.float32
    assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("time_step", [0, 1, 10, 1000])
def test_invscaling_rate_is_sklearn_formula(time_step):
    # sklearn: learning_rate_init / (time_step + 1) ** power_t
    assert invscaling_rate(0.1, 0.5, time_step) == pytest.approx(
        0.1 / (time_step + 1) ** 0.5, rel=1e-15
    )


def test_adaptive_decrease_divides_by_five_then_stops():
    assert adaptive_decrease(1e-3) == pytest.approx(2e-4, rel=1e-15)
    assert adaptive_decrease(1e-6) is None
    assert adaptive_decrease(2e-6) == pytest.approx(4e-7, rel=1e-15)


@pytest.mark.parametrize("max_norm, decay", [(0.0, 0.1), (0.7, 0.0), (0.7, 0.1)])
def test_constrain_weights_caps_columns_then_decays(max_norm, decay):
    rng = np.random.RandomState(0)
    layout = Layout([4, 5, 3])
    params = rng.normal(size=layout.n_params)
    expected = params.copy()
    for coef in layout.unpack(expected)[0]:
        if max_norm > 0:
            norms = np.linalg.norm(coef, axis=0)
            coef *= np.minimum(1.0, max_norm / norms)
        coef *= 1 - decay
    scratch = np.full(max(layout.units), np.nan)  # overwritten, never read first
    constrain_weights(params, layout.layers(None), max_norm, decay, scratch)
    np.testing.assert_allclose(params, expected, rtol=1e-13)
    n_coefs = layout.coef_offsets[-1]
    np.testing.assert_array_equal(params[n_coefs:], expected[n_coefs:])
