"""Behaviour of the estimators: penalties, dropout, sklearn conventions, errors."""

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _models import FAST, equal_models
from sklearn.base import clone
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.feature_selection import SelectFromModel
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPRegressor,
)

# ----------------------------------------------------------------- penalties


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_nonsmooth_penalties_give_exact_zeros(data, penalty, solver):
    X, y = data
    clf = RegularizedMLPClassifier(
        penalty=penalty,
        alpha=0.02,
        l1_ratio=0.9,
        solver=solver,
        batch_size=20,
        learning_rate_init=0.05,
        **FAST,
    ).fit(X, y)
    zeros = [np.mean(c == 0.0) for c in clf.coefs_]
    assert zeros[0] > 0.05
    assert clf.sparsity_ == pytest.approx(zeros)


def test_l2_gives_no_exact_zeros(data):
    X, y = data
    clf = RegularizedMLPClassifier(penalty="l2", alpha=0.02, **FAST).fit(X, y)
    assert clf.sparsity_ == [0.0, 0.0]


def test_sparsity_grows_with_alpha(data):
    X, y = data
    sparsity = [
        RegularizedMLPClassifier(penalty="l1", alpha=a, **FAST).fit(X, y).sparsity_[0]
        for a in (1e-4, 3e-3, 3e-2)
    ]
    assert sparsity[0] < sparsity[1] < sparsity[2]


def test_per_layer_alpha_regularizes_only_that_layer(data):
    X, y = data
    clf = RegularizedMLPClassifier(penalty="l1", alpha=[0.05, 0.0], **FAST).fit(X, y)
    assert clf.sparsity_[0] > 0.3
    assert clf.sparsity_[1] == 0.0


def test_penalty_none_ignores_alpha(data):
    X, y = data
    a = RegularizedMLPClassifier(penalty=None, alpha=10.0, **FAST).fit(X, y)
    b = RegularizedMLPClassifier(penalty="l2", alpha=0.0, **FAST).fit(X, y)
    assert equal_models(a, b)


def test_elasticnet_ratio_one_is_l1_and_zero_is_l2(data):
    X, y = data
    params = dict(alpha=0.01, **FAST)
    l1 = RegularizedMLPClassifier(penalty="l1", **params).fit(X, y)
    en1 = RegularizedMLPClassifier(penalty="elasticnet", l1_ratio=1.0, **params)
    l2 = RegularizedMLPClassifier(penalty="l2", **params).fit(X, y)
    en0 = RegularizedMLPClassifier(penalty="elasticnet", l1_ratio=0.0, **params)
    assert equal_models(l1, en1.fit(X, y))
    assert equal_models(l2, en0.fit(X, y))


@pytest.mark.parametrize("batch_size", [20, 50, 200])
def test_objective_does_not_depend_on_batch_size(regression, batch_size):
    """Same objective for every solver and batch size: adam reaches lbfgs' minimum."""
    X, y = regression
    common = dict(hidden_layer_sizes=(), penalty="l2", alpha=0.1, random_state=0)
    exact = RegularizedMLPRegressor(solver="lbfgs", tol=1e-10, **common).fit(X, y)
    adam = RegularizedMLPRegressor(
        solver="adam",
        batch_size=batch_size,
        learning_rate_init=0.01,
        max_iter=500,
        **common,
    ).fit(X, y)

    def objective(model):
        residual = model.predict(X) - y
        return 0.5 * np.mean(residual**2) + 0.05 * np.sum(model.coefs_[0] ** 2)

    assert objective(exact) == pytest.approx(exact.loss_, rel=1e-6)
    assert objective(exact) <= objective(adam) <= 1.01 * objective(exact)
    np.testing.assert_allclose(adam.coefs_[0], exact.coefs_[0], atol=0.05)


# ------------------------------------------------------------------- dropout


def test_dropout_is_reproducible_and_seeded(data):
    X, y = data
    params = dict(dropout=0.3, input_dropout=0.2, **FAST)
    a = RegularizedMLPClassifier(**params).fit(X, y)
    b = RegularizedMLPClassifier(**params).fit(X, y)
    c = RegularizedMLPClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert equal_models(a, b)
    assert not equal_models(a, c)


def test_dropout_changes_training_but_not_prediction(data):
    X, y = data
    plain = RegularizedMLPClassifier(**FAST).fit(X, y)
    dropped = RegularizedMLPClassifier(dropout=0.5, **FAST).fit(X, y)
    assert not equal_models(plain, dropped)
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))


def test_dropout_per_hidden_layer(data):
    X, y = data
    params = dict(hidden_layer_sizes=(8, 8), max_iter=10, random_state=0)
    none = RegularizedMLPClassifier(dropout=[0.0, 0.0], **params).fit(X, y)
    first = RegularizedMLPClassifier(dropout=[0.5, 0.0], **params).fit(X, y)
    same = RegularizedMLPClassifier(dropout=0.0, **params).fit(X, y)
    assert equal_models(none, same)
    assert not equal_models(none, first)


def test_dropout_same_with_sparse_and_dense_input(data):
    X, y = data
    params = dict(input_dropout=0.3, dropout=0.2, **FAST)
    dense = RegularizedMLPClassifier(**params).fit(X, y)
    sparse = RegularizedMLPClassifier(**params).fit(sp.csr_matrix(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(a, b, atol=1e-8)


# --------------------------------------------------------- sklearn behaviour


def test_sparse_input_matches_dense(data):
    X, y = data
    dense = RegularizedMLPClassifier(**FAST).fit(X, y)
    for container in (sp.csr_matrix, sp.csc_matrix):
        sparse = RegularizedMLPClassifier(**FAST).fit(container(X), y)
        np.testing.assert_allclose(
            sparse.predict_proba(container(X)), dense.predict_proba(X), atol=1e-8
        )


def test_float32_stays_float32(data):
    X, y = data
    clf = RegularizedMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    proba = clf.predict_proba(X.astype(np.float32))
    assert proba.dtype == np.float32
    reference = RegularizedMLPClassifier(**FAST).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba, reference, atol=1e-3)


@pytest.mark.parametrize("model_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data_dtype", [np.float64, np.float32])
def test_mixed_dtypes_follow_sklearn(data, model_dtype, data_dtype):
    # Predictions in the dtype scikit-learn's MLP returns (float64 unless model
    # and input are both float32), computed with the weights converted; partial
    # and warm-start fits keep the dtype of the first fit, as its weights do.
    X, y = data
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    ours = RegularizedMLPClassifier(**params).fit(X.astype(model_dtype), y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier(**params).fit(X.astype(model_dtype), y)
    Xd = X.astype(data_dtype)
    proba = ours.predict_proba(Xd)
    assert proba.dtype == theirs.predict_proba(Xd).dtype
    if proba.dtype == np.float64:
        # Computed in float64 with the weights converted, as scikit-learn does.
        wide = pickle.loads(pickle.dumps(ours))
        wide.coefs_ = [W.astype(np.float64) for W in ours.coefs_]
        wide.intercepts_ = [b.astype(np.float64) for b in ours.intercepts_]
        np.testing.assert_array_equal(proba, wide.predict_proba(Xd.astype(np.float64)))
    for fit in ("partial_fit", "warm_start"):
        model = clone(ours).fit(X.astype(model_dtype), y)
        if fit == "partial_fit":
            model.partial_fit(Xd, y)
            theirs.partial_fit(Xd, y)
            assert model.coefs_[0].dtype == theirs.coefs_[0].dtype
        else:
            model.set_params(warm_start=True).fit(Xd, y)
        assert all(p.dtype == model_dtype for p in model.coefs_ + model.intercepts_)
        assert model._optimizer_state["first"].dtype == model_dtype


def test_multilabel(data):
    X, Y = make_multilabel_classification(200, 10, n_classes=4, random_state=0)
    clf = RegularizedMLPClassifier(
        hidden_layer_sizes=(32,), max_iter=200, learning_rate_init=0.01, random_state=0
    ).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    assert clf.predict(X).shape == Y.shape
    assert clf.score(X, Y) > 0.5


def test_multioutput_and_poisson_regression(regression):
    X, y = regression
    Y = np.column_stack([y, -y])
    reg = RegularizedMLPRegressor((16,), max_iter=300, learning_rate_init=0.01)
    reg.set_params(random_state=0).fit(X, Y)
    assert reg.predict(X).shape == Y.shape
    assert reg.score(X, Y) > 0.9
    counts = np.random.RandomState(0).poisson(np.exp(X[:, 0] / 2))
    poisson = RegularizedMLPRegressor(
        (8,), loss="poisson", max_iter=300, learning_rate_init=0.01, random_state=0
    ).fit(X, counts)
    assert poisson.out_activation_ == "exp"
    assert np.all(poisson.predict(X) > 0)
    with pytest.raises(ValueError, match="negative"):
        clone(poisson).fit(X, -counts - 1)


def test_regressor_takes_hidden_layer_sizes_first():
    assert RegularizedMLPRegressor((5,)).hidden_layer_sizes == (5,)
    assert RegularizedMLPClassifier((5,)).hidden_layer_sizes == (5,)


def test_sample_weight_zero_equals_removing_samples_full_batch(data):
    X, y = data
    params = dict(solver="lbfgs", **FAST)
    weights = np.ones(len(y))
    weights[::3] = 0
    weighted = RegularizedMLPClassifier(**params).fit(X, y, sample_weight=weights)
    removed = RegularizedMLPClassifier(**params).fit(X[weights > 0], y[weights > 0])
    np.testing.assert_allclose(weighted.coefs_[0], removed.coefs_[0], atol=1e-8)


def test_partial_fit_unavailable_for_lbfgs():
    assert not hasattr(RegularizedMLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(RegularizedMLPRegressor(solver="lbfgs"), "partial_fit")


def test_pipeline_gridsearch_cross_val_pickle(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), RegularizedMLPClassifier(**FAST))
    search = GridSearchCV(
        pipe,
        {
            "regularizedmlpclassifier__alpha": [1e-4, 1e-2],
            "regularizedmlpclassifier__penalty": ["l2", "l1"],
        },
        cv=2,
    ).fit(X, y)
    assert set(search.cv_results_["param_regularizedmlpclassifier__penalty"]) == {
        "l1",
        "l2",
    }
    scores = cross_val_score(
        RegularizedMLPClassifier(learning_rate_init=0.01, **FAST), X, y, cv=3
    )
    assert scores.mean() > 0.6
    model = search.best_estimator_
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_select_from_model_uses_feature_importances(data):
    X, y = data
    clf = RegularizedMLPClassifier(penalty="l1", alpha=0.05, **FAST).fit(X, y)
    importances = clf.feature_importances_
    assert importances.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(
        importances * np.linalg.norm(clf.coefs_[0], axis=1).sum(),
        np.linalg.norm(clf.coefs_[0], axis=1),
    )
    selector = SelectFromModel(clf, prefit=True, threshold="mean")
    assert 0 < selector.transform(X).shape[1] < X.shape[1]


# -------------------------------------------------------------------- errors


def test_failed_fit_leaves_fitted_model_untouched(data):
    X, y = data
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    state = pickle.dumps(clf)
    before = clf.predict_proba(X)
    X_bad = X[:, :5].copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        clf.fit(X_bad, y)
    clf.set_params(solver="lbfgs", penalty="l1")
    with pytest.raises(ValueError):
        clf.fit(X[:, :5], y)
    clf.set_params(solver="adam", penalty="l2", warm_start=True)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, y % 2)
    assert clf.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    restored = pickle.loads(state)
    assert equal_models(clf, restored)


def test_data_errors_are_sklearn_errors(data):
    X, y = data
    with pytest.raises(NotFittedError):
        RegularizedMLPClassifier().predict(X)
    clf = RegularizedMLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full_like(X, np.nan))
    with pytest.raises(ValueError, match="partial_fit does not support"):
        RegularizedMLPClassifier(early_stopping=True).partial_fit(
            X, y, classes=np.unique(y)
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_does_not_copy_a_contiguous_float_X(dtype):
    # The kernels read X in place and gather each shuffled batch into a work
    # buffer: a fit's allocations stay far below the size of X.
    X, y = make_classification(20_000, 50, n_informative=10, random_state=0)
    X = X.astype(dtype)
    clf = RegularizedMLPClassifier(hidden_layer_sizes=(16,), max_iter=2, tol=0.0)
    clf.fit(X[:400], y[:400])  # the kernels are loaded before tracing starts
    tracemalloc.start()
    try:
        clf.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes


def test_no_numba_error_reaches_the_user(data):
    X, y = data
    for bad in (X.astype(complex), np.array([["a"] * X.shape[1]] * len(y))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError) as info:
                RegularizedMLPClassifier(**FAST).fit(bad, y)
        assert "numba" not in str(info.value).lower()


# ------------------------------------------- noise, max-norm and weight decay


def test_max_norm_caps_every_incoming_weight_vector(data):
    X, y = data
    clf = RegularizedMLPClassifier(max_norm=0.5, learning_rate_init=0.05, **FAST).fit(
        X, y
    )
    for coef in clf.coefs_:
        assert np.linalg.norm(coef, axis=0).max() <= 0.5 * (1 + 1e-12)
    free = RegularizedMLPClassifier(learning_rate_init=0.05, **FAST).fit(X, y)
    assert np.linalg.norm(free.coefs_[0], axis=0).max() > 0.5
    # The cap holds after every step, so after every partial fit too.
    partial = RegularizedMLPClassifier(max_norm=0.3, batch_size=10, **FAST)
    for _ in range(3):
        partial.partial_fit(X, y, classes=np.unique(y))
        assert np.linalg.norm(partial.coefs_[0], axis=0).max() <= 0.3 * (1 + 1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("penalty", ["l2", "sparse_group_lasso"])
def test_max_norm_holds_after_every_single_step(data, solver, penalty):
    # A batch as large as the data makes each partial_fit exactly one step, so
    # the cap is observed after every step, not only at the end of an epoch.
    X, y = data
    clf = RegularizedMLPClassifier(
        (16, 8),
        solver=solver,
        penalty=penalty,
        alpha=1e-3,
        max_norm=0.4,
        weight_decay=1e-3,
        dropout=0.2,
        batch_size=len(y),
        learning_rate_init=0.2,
        random_state=0,
    )
    capped = []
    for _ in range(15):
        clf.partial_fit(X, y, classes=np.unique(y))
        norms = [np.linalg.norm(W, axis=0).max() for W in clf.coefs_]
        assert max(norms) <= 0.4 * (1 + 1e-12)
        capped.append(max(norms) > 0.39)
    # The rate is large enough that the cap is active (decay follows the cap,
    # so a capped column ends a little under it), so the test can fail.
    assert sum(capped) > 10


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_weight_decay_scales_weights_after_the_step(data, solver):
    X, y = data
    params = dict(
        solver=solver,
        penalty=None,
        batch_size=len(y),
        max_iter=1,
        momentum=0.0,
        learning_rate_init=0.1,
        hidden_layer_sizes=(16,),
        random_state=0,
    )
    plain = RegularizedMLPClassifier(**params).fit(X, y)
    decayed = RegularizedMLPClassifier(weight_decay=0.5, **params).fit(X, y)
    for a, b in zip(plain.coefs_, decayed.coefs_):
        np.testing.assert_allclose(b, a * (1 - 0.1 * 0.5), rtol=1e-12)
    for a, b in zip(plain.intercepts_, decayed.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_input_noise_is_reproducible_and_regularizes(data):
    X, y = data
    a = RegularizedMLPClassifier(noise_std=0.5, **FAST).fit(X, y)
    b = RegularizedMLPClassifier(noise_std=0.5, **FAST).fit(X, y)
    plain = RegularizedMLPClassifier(**FAST).fit(X, y)
    assert equal_models(a, b)
    assert not equal_models(a, plain)
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))


# ------------------------------------------------------- structured sparsity


# Adam's steps are largest where gradients are small (the noise features), so the
# same alpha switches off more under Adam than under plain SGD at its rate.
@pytest.mark.parametrize("solver, alpha", [("sgd", 0.1), ("adam", 0.005)])
def test_group_lasso_switches_off_whole_input_rows(solver, alpha):
    # Five informative features and fifteen of noise: a strong group penalty
    # zeroes whole rows of coefs_[0] (features) and coefs_[1] (hidden units), and
    # every zero it makes belongs to a zero row.
    X, y = make_classification(
        300, 20, n_informative=5, n_redundant=0, shuffle=False, random_state=0
    )
    clf = RegularizedMLPClassifier(
        (16,),
        penalty="group_lasso",
        alpha=alpha,
        solver=solver,
        learning_rate_init=0.01,
        max_iter=150,
        random_state=0,
    ).fit(StandardScaler().fit_transform(X), y)
    for W in clf.coefs_[:-1]:
        zero_rows = (W == 0).all(axis=1)
        assert zero_rows.any()
        assert np.array_equal(W == 0, np.broadcast_to(zero_rows[:, None], W.shape))
    # The noise features are switched off before the informative ones.
    off = (clf.coefs_[0] == 0).all(axis=1)
    assert off[5:].mean() > off[:5].mean()
    assert clf.sparsity_[0] == off.mean()


def test_sparse_group_lasso_zeroes_rows_and_single_weights(data):
    X, y = data
    clf = RegularizedMLPClassifier(
        (16,),
        penalty="sparse_group_lasso",
        l1_ratio=0.5,
        alpha=0.02,
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ).fit(X, y)
    W = clf.coefs_[0]
    zero_rows = (W == 0).all(axis=1)
    # Zeros inside rows that stay on: the L1 part at work.
    assert ((W == 0) & ~zero_rows[:, None]).any()


def test_group_lasso_objective_includes_the_row_norms(data):
    # loss_curve_ reports the objective: with alpha = 0 versus a group penalty on
    # the same weights (one epoch of SGD at a negligible rate), the difference is
    # the penalty's value, sqrt(n_out) * sum of row norms per matrix.
    X, y = data
    common = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate_init=1e-12,
        momentum=0.0,
        batch_size=len(X),
        max_iter=1,
        shuffle=False,
        random_state=0,
    )
    plain = RegularizedMLPClassifier(**common, penalty=None).fit(X, y)
    grouped = RegularizedMLPClassifier(**common, penalty="group_lasso", alpha=0.3)
    grouped.fit(X, y)
    value = 0.3 * sum(
        np.sqrt(W.shape[1]) * np.linalg.norm(W, axis=1).sum() for W in plain.coefs_
    )
    np.testing.assert_allclose(
        grouped.loss_curve_[0] - plain.loss_curve_[0], value, rtol=1e-8
    )


def test_per_layer_alpha_applies_to_group_penalties(data):
    X, y = data
    clf = RegularizedMLPClassifier(
        (16,), penalty="group_lasso", alpha=[0.05, 0.0], max_iter=60, random_state=0
    ).fit(X, y)
    assert (clf.coefs_[0] == 0).all(axis=1).any()
    assert not (clf.coefs_[1] == 0).any()


# SGD's proximal step is lr * alpha, Adam's is larger where gradients are small:
# each solver gets an alpha that makes zeros within its rate.
@pytest.mark.parametrize(
    "solver, lr, alpha", [("sgd", 0.05, 0.1), ("adam", 0.01, 0.01)]
)
def test_every_regularizer_at_once_is_reproducible(data, solver, lr, alpha):
    X, y = data
    params = dict(
        hidden_layer_sizes=(16, 8),
        solver=solver,
        learning_rate_init=lr,
        penalty="sparse_group_lasso",
        l1_ratio=0.5,
        alpha=[alpha, alpha / 10, 0.0],
        dropout=[0.2, 0.1],
        input_dropout=0.1,
        noise_std=0.1,
        max_norm=1.5,
        weight_decay=1e-3,
        batch_size=20,
        max_iter=40,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = RegularizedMLPClassifier(random_state=0, **params).fit(X, y)
        b = RegularizedMLPClassifier(random_state=0, **params).fit(X, y)
        c = RegularizedMLPClassifier(random_state=1, **params).fit(X, y)
    assert equal_models(a, b)
    assert not equal_models(a, c)
    assert a.score(X, y) > 0.65
    for W in a.coefs_:
        assert np.linalg.norm(W, axis=0).max() <= 1.5 * (1 + 1e-12)
    # The penalized first layer has exact zeros; the last, with alpha 0, none.
    assert a.sparsity_[0] > 0.1
    assert a.sparsity_[2] == 0.0


def test_select_from_model_keeps_the_informative_features():
    # make_classification with shuffle=False puts the 10 informative features
    # first; 90 are noise. Large batches keep the gradient noise of the noise
    # features below the penalty's threshold, so their rows stay at zero.
    X, y = make_classification(
        5000, 100, n_informative=10, n_redundant=0, shuffle=False, random_state=0
    )
    selector = SelectFromModel(
        RegularizedMLPClassifier(
            (32,),
            penalty="group_lasso",
            alpha=0.005,
            batch_size=1000,
            learning_rate_init=0.003,
            max_iter=200,
            random_state=0,
        ),
        threshold=1e-12,
    )
    pipeline = make_pipeline(StandardScaler(), selector, MLPClassifier(max_iter=5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, y)
    selected = np.flatnonzero(pipeline[1].get_support())
    assert np.sum(selected < 10) >= 8
    assert np.sum(selected >= 10) <= 5
    # The rows left out are exactly zero.
    W = pipeline[1].estimator_.coefs_[0]
    assert np.all(W[~pipeline[1].get_support()] == 0.0)
