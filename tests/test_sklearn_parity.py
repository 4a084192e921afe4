"""skreg against scikit-learn itself: the L2 path, converted alpha, same draws.

With ``penalty="l2"``, no dropout and ``alpha = a / batch_size``, skreg's objective
and update are scikit-learn's ``MLPClassifier(alpha=a)`` / ``MLPRegressor(alpha=a)``,
and the same ``random_state`` draws the same initial weights, validation split and
batch order. Linear models (no hidden layer) are compared with scikit-learn's convex
solvers, which minimise the same objective: Ridge, Lasso, ElasticNet and
LogisticRegression.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor

# Parity with scikit-learn to 1e-10 must hold on every BLAS kernel.
pytestmark = pytest.mark.blas_kernels

N_SAMPLES = 240  # a multiple of every batch size used below


@pytest.fixture(scope="module")
def multiclass_data():
    return make_classification(
        N_SAMPLES, 8, n_informative=5, n_classes=3, random_state=0
    )


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(N_SAMPLES, 8, noise=1.0, random_state=0)
    return X, y / y.std()


def _pair(solver, batch_size, a, regression=False, **extra):
    params = {
        **dict(
            hidden_layer_sizes=(12, 7),
            activation="tanh",
            solver=solver,
            batch_size=batch_size,
            max_iter=10,
            tol=0.0,
            n_iter_no_change=100,
            random_state=3,
            learning_rate_init=0.01,
        ),
        **extra,
    }
    if regression:
        return MLPRegressor(alpha=a, **params), RegularizedMLPRegressor(
            alpha=a / batch_size, **params
        )
    return MLPClassifier(alpha=a, **params), RegularizedMLPClassifier(
        alpha=a / batch_size, **params
    )


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_one_step_equals_sklearn(multiclass_data, solver, momentum):
    X, y = multiclass_data
    ours_args = dict(max_iter=1, momentum=momentum)
    theirs, ours = _pair(solver, N_SAMPLES, 0.5, **ours_args)
    theirs.fit(X, y)
    ours.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 1
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    assert ours.loss_ == pytest.approx(theirs.loss_, abs=1e-10)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_ten_epochs_track_sklearn_classifier(multiclass_data, solver):
    X, y = multiclass_data
    theirs, ours = _pair(solver, 40, 1e-2)
    theirs.fit(X, y)
    ours.fit(X, y)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_ten_epochs_track_sklearn_regressor(regression_data, solver):
    X, y = regression_data
    theirs, ours = _pair(solver, 60, 1e-2, regression=True)
    theirs.fit(X, y)
    ours.fit(X, y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=1e-6)


def test_early_stopping_split_and_scores_match_sklearn(multiclass_data):
    X, y = multiclass_data
    theirs, ours = _pair("adam", 24, 1e-3, early_stopping=True)
    theirs.fit(X, y)
    ours.fit(X, y)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-6
    )


def test_lbfgs_tracks_sklearn_with_alpha_over_n(multiclass_data):
    X, y = multiclass_data
    params = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=50, random_state=1)
    theirs = MLPClassifier(alpha=0.3, **params).fit(X, y)
    ours = RegularizedMLPClassifier(alpha=0.3 / N_SAMPLES, **params).fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-6
    )


def test_sklearn_multioutput_lbfgs_gradient_is_inconsistent_ours_is_not():
    """sklearn reports the mean over outputs but follows the gradient of the sum.

    Ours reports the objective whose gradient it follows: at the solution, a step
    along the reported gradient changes the reported loss as predicted.
    """
    X, Y = make_regression(60, 4, n_targets=3, random_state=0)
    Y /= Y.std(axis=0)
    ours = RegularizedMLPRegressor((), solver="lbfgs", alpha=0.0, max_iter=500)
    ours.fit(X, Y)
    residual = ours.predict(X) - Y
    # The reported loss is half the squared error summed over outputs, averaged over
    # samples: the function whose gradient lbfgs followed to zero.
    assert ours.loss_ == pytest.approx(0.5 * np.mean(np.sum(residual**2, axis=1)))
    np.testing.assert_allclose(X.T @ residual / len(X), 0, atol=1e-4)


# ---------------------------------------------------------------- linear models


@pytest.fixture(scope="module")
def linear_data():
    X, y = make_regression(120, 6, n_informative=3, noise=2.0, random_state=1)
    return X, y / y.std()


def _proximal_gradient(penalty, alpha, **extra):
    """Full-batch SGD without momentum: exactly proximal gradient descent (ISTA)."""
    return RegularizedMLPRegressor(
        (),
        solver="sgd",
        batch_size=120,
        momentum=0.0,
        learning_rate_init=0.1,
        penalty=penalty,
        alpha=alpha,
        max_iter=4000,
        tol=0.0,
        n_iter_no_change=10**6,
        random_state=0,
        **extra,
    )


def test_l2_linear_equals_ridge(linear_data):
    X, y = linear_data
    alpha = 0.3
    ours = _proximal_gradient("l2", alpha).fit(X, y)
    # Ridge minimises ||y - Xw||^2 + a ||w||^2: ours times 2n.
    ridge = Ridge(alpha=alpha * len(X)).fit(X, y)
    np.testing.assert_allclose(ours.coefs_[0].ravel(), ridge.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.intercepts_[0], ridge.intercept_, atol=1e-8)


def test_l1_linear_equals_lasso_with_its_exact_zeros(linear_data):
    X, y = linear_data
    ours = _proximal_gradient("l1", 0.2).fit(X, y)
    lasso = Lasso(alpha=0.2, tol=1e-12, max_iter=100_000).fit(X, y)
    coef = ours.coefs_[0].ravel()
    np.testing.assert_allclose(coef, lasso.coef_, atol=1e-8)
    assert np.any(lasso.coef_ == 0)
    np.testing.assert_array_equal(coef == 0.0, lasso.coef_ == 0.0)


def test_elasticnet_linear_equals_elasticnet(linear_data):
    X, y = linear_data
    ours = _proximal_gradient("elasticnet", 0.3, l1_ratio=0.6).fit(X, y)
    enet = ElasticNet(alpha=0.3, l1_ratio=0.6, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coefs_[0].ravel(), enet.coef_, atol=1e-8)
    np.testing.assert_array_equal(ours.coefs_[0].ravel() == 0.0, enet.coef_ == 0.0)


def test_l2_logistic_equals_logistic_regression():
    X, y = make_classification(150, 5, random_state=2)
    alpha = 0.01
    ours = RegularizedMLPClassifier(
        (), solver="lbfgs", alpha=alpha, tol=1e-10, max_iter=1000, random_state=0
    ).fit(X, y)
    # L-BFGS-B stops at scipy's default ftol, so agreement is to about 1e-5.
    # LogisticRegression minimises C * sum(loss) + ||w||^2 / 2: C = 1 / (alpha n).
    reference = LogisticRegression(C=1 / (alpha * len(X)), tol=1e-12).fit(X, y)
    np.testing.assert_allclose(
        ours.coefs_[0].ravel(), reference.coef_.ravel(), atol=1e-4
    )
    np.testing.assert_allclose(
        ours.predict_proba(X), reference.predict_proba(X), atol=1e-4
    )
