"""Feature groups and penalty factors on the first weight matrix.

The groups and factors are checked as parsed, the first layer's proximal steps
and value against NumPy written from the definitions (the groups' rows shrunk
together, each step times its factor), and the estimators for what a user relies
on: a group enters or leaves whole, a factor of 0 keeps its feature, factors of
1 change nothing, and a factor is a per-feature ``alpha``.
"""

import numba
import numpy as np
import pytest
from _models import FAST, equal_models, split_batches
from _reference import scaled_group_prox, soft_threshold
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor, _parallel
from skreg._full_batch import penalty_value
from skreg._penalties import (
    first_layer_value,
    mcp_value,
    penalty_code,
    prox_first_layer,
    prox_mcp,
)
from skreg._validation import check_feature_groups, check_penalty_factor

# ------------------------------------------------------------------ parsing


def test_labels_group_the_columns_in_the_order_of_their_first_column():
    starts, members, group_of = check_feature_groups(["b", "a", "b", 7, "a"], 5)
    assert_array_equal(group_of, [0, 1, 0, 2, 1])
    assert_array_equal(starts, [0, 2, 4, 5])
    assert_array_equal(members, [0, 2, 1, 4, 3])


def test_index_lists_are_groups_and_the_other_columns_their_own():
    starts, members, group_of = check_feature_groups([[3, 1], np.array([4])], 6)
    assert_array_equal(group_of, [2, 0, 3, 0, 1, 4])
    assert_array_equal(members[starts[0] : starts[1]], [1, 3])


def test_no_groups_is_one_group_per_column():
    starts, members, group_of = check_feature_groups(None, 4)
    assert_array_equal(group_of, np.arange(4))
    assert_array_equal(starts, np.arange(5))


@pytest.mark.parametrize(
    "groups, message",
    [
        ([0, 0, 1], "has 3 labels, but X has 4 features"),
        ([[0, 1], [1, 2]], "more than one group"),
        ([[0, 4]], r"ints in \[0, 3\]"),
        ([[0.5]], r"ints in \[0, 3\]"),
        ([[]], "group 0 is empty"),
        ([[0, 1], 2], "a mix of both"),
    ],
)
def test_bad_feature_groups_get_a_clear_error(groups, message):
    with pytest.raises(ValueError, match=message):
        check_feature_groups(groups, 4)


def test_factors_per_feature_give_each_group_the_mean():
    _, _, group_of = check_feature_groups([0, 0, 1], 3)
    factors, group_factors = check_penalty_factor([1.0, 3.0, 0.0], group_of, 2)
    assert_array_equal(factors, [1, 3, 0])
    assert_array_equal(group_factors, [2, 0])


def test_factors_per_group_go_to_each_feature():
    _, _, group_of = check_feature_groups([0, 0, 1], 3)
    factors, group_factors = check_penalty_factor([0.5, 2.0], group_of, 2)
    assert_array_equal(factors, [0.5, 0.5, 2.0])
    assert_array_equal(group_factors, [0.5, 2.0])


@pytest.mark.parametrize(
    "factor, message",
    [
        ([1, 1], "one value per input feature"),
        ([1, -1, 1], ">= 0"),
        ([1, np.nan, 1], "finite"),
    ],
)
def test_bad_penalty_factors_get_a_clear_error(factor, message):
    with pytest.raises(ValueError, match=message):
        check_penalty_factor(factor, np.arange(3), 3)


# ------------------------------------------------------- steps and value


def _first(factors, groups, n_out, dtype):
    n_features = len(factors)
    starts, members, group_of = check_feature_groups(groups, n_features)
    factors, group_factors = check_penalty_factor(factors, group_of, len(starts) - 1)
    scratch = np.empty(2 * n_features * n_out, dtype=dtype)
    return (factors, starts, members, group_factors, scratch), group_of


def _numpy_mcp_prox(w, lam, step, gamma):
    # Firm thresholding, for gamma > step, written from its definition.
    a = np.abs(w)
    firm = np.sign(w) * (a - step * lam) / (1 - step / gamma)
    return np.where(a <= step * lam, 0.0, np.where(a <= gamma * lam, firm, w))


def _numpy_slope(r, lam, gamma):
    return max(lam - r / gamma, 0.0)


def _numpy_first_prox(W, steps, alpha, penalty, rho, gamma, factors, group_of):
    """The first layer's proximal step, from the definitions: per weight with
    step times the feature's factor, then per group of rows together."""
    W = W.astype(np.float64).copy()
    l1 = {"l1": 1.0, "sparse_group_lasso": rho}.get(penalty, 0.0)
    group = {"group_lasso": 1.0, "sparse_group_lasso": 1 - rho}.get(penalty, 0.0)
    scaled = steps * factors[:, None]
    if l1 > 0:
        W = soft_threshold(W, scaled * alpha * l1)
    if penalty == "mcp":
        W = _numpy_mcp_prox(W, alpha, scaled, gamma)
    for g in np.unique(group_of):
        rows = group_of == g
        u = W[rows].ravel()
        t = steps[rows].ravel()
        f = factors[rows].mean()
        if f == 0:
            continue
        lam = alpha * np.sqrt(u.size)
        if group > 0:
            W[rows] = scaled_group_prox(u, t * f * group * lam).reshape(-1, W.shape[1])
        elif penalty == "group_mcp":
            slope = _numpy_slope(np.linalg.norm(u), lam, gamma)
            if slope > 0:
                W[rows] = scaled_group_prox(u, t * f * slope).reshape(-1, W.shape[1])
    return W


PENALTIES = ["l1", "group_lasso", "sparse_group_lasso", "mcp", "group_mcp"]


@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("penalty", PENALTIES)
def test_first_layer_step_matches_numpy(penalty, adam):
    rng = np.random.RandomState(0)
    n_features, n_out = 7, 4
    W = rng.randn(n_features, n_out)
    factors = np.array([1.0, 0.0, 2.0, 0.5, 1.0, 1.0, 3.0])
    groups = [0, 1, 0, 2, 3, 3, 2]
    first, group_of = _first(factors, groups, n_out, np.float64)
    alpha, lr, gamma, rho = 0.3, 0.2, 4.0, 0.4
    if adam:
        second = rng.uniform(0.1, 4.0, (n_features, n_out))
        steps = lr / (np.sqrt(second) + 1e-8)
    else:
        second = None
        steps = np.full((n_features, n_out), lr)
    result = W.copy()
    prox_first_layer(
        result, second, lr, 1e-8, alpha, penalty_code(penalty), rho, gamma, first
    )
    # Group MCP after SGD takes the closed form on each group's norm: with one
    # step for every coordinate it is firm thresholding of the norm.
    if penalty == "group_mcp" and not adam:
        expected = W.copy()
        for g in np.unique(group_of):
            rows = group_of == g
            u = W[rows]
            f = factors[rows].mean()
            r = np.linalg.norm(u)
            lam = alpha * np.sqrt(u.size)
            shrunk = _numpy_mcp_prox(r, lam, lr * f, gamma) if f > 0 else r
            expected[rows] = u * (shrunk / r)
    else:
        expected = _numpy_first_prox(
            W, steps, alpha, penalty, rho, gamma, factors, group_of
        )
    assert_allclose(result, expected, rtol=1e-10, atol=1e-12)
    # A feature or group with factor 0 is untouched.
    assert_array_equal(result[1], W[1])


@pytest.mark.parametrize("penalty", PENALTIES + ["l2"])
def test_first_layer_value_matches_numpy(penalty):
    rng = np.random.RandomState(1)
    W = rng.randn(5, 3)
    factors = np.array([1.0, 0.0, 2.0, 0.5, 1.0])
    groups = [0, 1, 0, 2, 2]
    first, group_of = _first(factors, groups, 3, np.float64)
    alpha, rho, gamma = 0.7, 0.4, 3.0
    result = first_layer_value(W, alpha, penalty_code(penalty), rho, gamma, first)
    l2 = {"l2": 1.0}.get(penalty, 0.0)
    l1 = {"l1": 1.0, "sparse_group_lasso": rho}.get(penalty, 0.0)
    group = {"group_lasso": 1.0, "sparse_group_lasso": 1 - rho}.get(penalty, 0.0)
    rows = (0.5 * l2 * W**2 + l1 * np.abs(W)).sum(axis=1) * alpha
    if penalty == "mcp":
        rows = rows + np.array(
            [[mcp_value(w, alpha, gamma) for w in row] for row in W]
        ).sum(axis=1)
    expected = (factors * rows).sum()
    for g in np.unique(group_of):
        members = group_of == g
        norm = np.linalg.norm(W[members])
        lam = alpha * np.sqrt(W[members].size)
        value = group * lam * norm
        if penalty == "group_mcp":
            r = norm
            value = (
                lam * r - r**2 / (2 * gamma) if r <= gamma * lam else gamma * lam**2 / 2
            )
        expected += factors[members].mean() * value
    assert_allclose(result, expected, rtol=1e-12)


def test_mcp_reference_is_the_kernels_prox_in_the_convex_regime():
    # The firm threshold written above agrees with the kernel's closed form.
    for w in np.linspace(-3, 3, 61):
        assert_allclose(_numpy_mcp_prox(w, 0.5, 0.4, 3.0), prox_mcp(w, 0.5, 0.4, 3.0))


# ---------------------------------------------------------------- estimators


def _problem(n=300, p=8, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    y = (X[:, 0] + X[:, 1] - X[:, 2] + 0.3 * rng.randn(n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("penalty", ["l1", "group_lasso", "l2", "group_mcp"])
def test_factors_of_one_and_singleton_groups_change_nothing(penalty, solver):
    X, y = _problem()
    params = dict(FAST, penalty=penalty, alpha=0.01, solver=solver)
    plain = RegularizedMLPClassifier(**params).fit(X, y)
    weighted = RegularizedMLPClassifier(
        **params, penalty_factor=np.ones(8), feature_groups=list("abcdefgh")
    ).fit(X, y)
    for a, b in zip(plain.coefs_, weighted.coefs_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert_allclose(plain.loss_curve_, weighted.loss_curve_, rtol=1e-9)
    assert_array_equal(plain.coefs_[0] == 0, weighted.coefs_[0] == 0)


def test_a_factor_is_a_per_feature_alpha_under_lbfgs():
    # With one factor for every feature, the first layer's L2 is alpha times it:
    # per-layer alphas give the same objective, gradient and fit.
    X, y = _problem()
    params = dict(FAST, solver="lbfgs", max_iter=50)
    weighted = RegularizedMLPClassifier(
        **params, alpha=0.01, penalty_factor=np.full(8, 3.0)
    ).fit(X, y)
    layered = RegularizedMLPClassifier(**params, alpha=[0.03, 0.01]).fit(X, y)
    for a, b in zip(weighted.coefs_, layered.coefs_):
        assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert_allclose(penalty_value(weighted), penalty_value(layered), rtol=1e-10)


@pytest.mark.parametrize("penalty", ["l1", "group_lasso", "mcp", "group_scad"])
def test_unpenalized_features_stay_when_the_rest_switch_off(penalty):
    X, y = _problem()
    factor = np.ones(8)
    factor[[0, 5]] = 0.0
    clf = RegularizedMLPClassifier(
        **dict(FAST, max_iter=60),
        penalty=penalty,
        alpha=1.0,
        learning_rate_init=0.01,
        penalty_factor=factor,
    ).fit(X, y)
    W = clf.coefs_[0]
    assert np.all(np.any(W[[0, 5]] != 0, axis=1))
    assert np.all(W[[1, 2, 3, 4, 6, 7]] == 0)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("penalty", ["group_lasso", "group_mcp"])
def test_a_group_of_features_enters_or_leaves_whole(penalty, solver):
    # Two informative features in a group with two noise columns, one in a pair
    # with a noise column, and a pair of noise columns: each group's rows are
    # all zero or none is.
    X, y = _problem()
    groups = [0, 0, 1, 1, 0, 2, 2, 0]
    # Strengths that switch some groups off and keep others.
    alpha = {
        ("group_lasso", "adam"): 0.02,
        ("group_mcp", "adam"): 0.09,
        ("group_lasso", "sgd"): 0.2,
        ("group_mcp", "sgd"): 0.1,
    }[penalty, solver]
    clf = RegularizedMLPClassifier(
        **dict(FAST, max_iter=60),
        penalty=penalty,
        alpha=alpha,
        solver=solver,
        learning_rate_init=0.01 if solver == "adam" else 0.1,
        feature_groups=groups,
    ).fit(X, y)
    zero_rows = np.all(clf.coefs_[0] == 0, axis=1)
    for g in range(3):
        assert len(set(zero_rows[np.array(groups) == g])) == 1
    assert 0 < zero_rows.sum() < 8
    importances = clf.feature_importances_
    for g in range(3):
        in_group = importances[np.array(groups) == g]
        assert_allclose(in_group, in_group[0])
    assert_array_equal(importances == 0, zero_rows)


def test_feature_groups_fit_the_same_on_any_thread_count(monkeypatch):
    X, y = _problem(n=600)
    split_batches(monkeypatch, 4)
    params = dict(
        FAST,
        batch_size=200,
        penalty="sparse_group_lasso",
        alpha=0.01,
        feature_groups=[0, 0, 1, 1, 2, 2, 3, 3],
        penalty_factor=[1, 2, 0.5, 1],
        max_norm=3.0,
    )
    fits = []
    for threads in (1, 2):
        monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", threads)
        # Several threads from the first epoch on, whatever an earlier fit saw.
        _parallel._known.clear()
        with threadpool_limits(threads):
            fits.append(RegularizedMLPClassifier(**params).fit(X, y))
    assert equal_models(*fits)
    assert fits[0].loss_curve_ == fits[1].loss_curve_


def test_feature_groups_in_parts_are_close_to_whole_batches(monkeypatch):
    X, y = _problem(n=600)
    params = dict(
        FAST,
        max_iter=5,
        tol=0.0,
        batch_size=200,
        penalty="group_lasso",
        alpha=0.005,
        feature_groups=[0, 0, 1, 1, 2, 2, 3, 3],
    )
    whole = RegularizedMLPClassifier(**params).fit(X, y)
    split_batches(monkeypatch, 3)
    parts = RegularizedMLPClassifier(**params).fit(X, y)
    for a, b in zip(whole.coefs_, parts.coefs_):
        assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert_allclose(whole.loss_curve_, parts.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(feature_groups=[0, 1]), "has 2 labels, but X has 8 features"),
        (dict(penalty_factor=[1.0, -1.0] * 4), ">= 0"),
        (dict(penalty_factor=[1.0] * 3), "one value per input feature"),
    ],
)
def test_a_failed_fit_keeps_the_fitted_model(params, message):
    X, y = _problem()
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    before = [c.copy() for c in clf.coefs_]
    clf.set_params(**params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    for a, b in zip(before, clf.coefs_):
        assert_array_equal(a, b)


def test_regressor_takes_groups_and_factors():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6)
    y = X[:, 0] - 2 * X[:, 3]
    reg = RegularizedMLPRegressor(
        **FAST,
        penalty="group_lasso",
        alpha=0.05,
        learning_rate_init=0.01,
        feature_groups=[[0, 1], [2, 3]],
        penalty_factor=[0, 1, 1, 1],
    ).fit(X, y)
    zero_rows = np.all(reg.coefs_[0] == 0, axis=1)
    assert not zero_rows[0] and not zero_rows[1]
    assert zero_rows[4] and zero_rows[5]
