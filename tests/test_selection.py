"""Tests of skreg._selection: features ranked and selected along a path."""

import copy
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import skreg._selection
from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
    RegularizedMLPSelector,
    regularization_path,
)

# Tiny networks, few epochs at a high rate, and a short grid: a path takes
# milliseconds.
FAST = dict(
    hidden_layer_sizes=(8,),
    max_iter=50,
    learning_rate_init=0.01,
    penalty="group_lasso",
    random_state=0,
)
GRID = dict(alphas=8, eps=1e-2)
N_INFORMATIVE = 4


def _selector(estimator=None, **params):
    estimator = RegularizedMLPClassifier(**FAST) if estimator is None else estimator
    return RegularizedMLPSelector(estimator, **{**GRID, "random_state": 0, **params})


@pytest.fixture(scope="module")
def informative():
    """20 features, of which the first 4 are informative, 2 classes."""
    X, y = make_classification(
        200,
        20,
        n_informative=N_INFORMATIVE,
        n_redundant=0,
        shuffle=False,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def fitted(informative):
    return _selector(n_features_to_select=N_INFORMATIVE).fit(*informative)


@pytest.fixture(scope="module")
def stable(informative):
    return _selector(n_resamples=6).fit(*informative)


def _top(selector, k):
    return set(np.argsort(selector.ranking_)[:k].tolist())


# ------------------------------------------------------------------ the ranking


def test_ranking_recovers_the_informative_classification_features(fitted):
    assert len(_top(fitted, N_INFORMATIVE) & set(range(N_INFORMATIVE))) >= 3
    assert set(fitted.get_support(indices=True)) == _top(fitted, N_INFORMATIVE)


def test_ranking_recovers_the_informative_regression_features():
    X, y, coef = make_regression(
        200, 20, n_informative=N_INFORMATIVE, noise=1.0, coef=True, random_state=0
    )
    selector = _selector(
        RegularizedMLPRegressor(**FAST), n_features_to_select=N_INFORMATIVE
    )
    selector.fit(X, y / y.std())
    truth = set(np.flatnonzero(coef).tolist())
    assert len(_top(selector, N_INFORMATIVE) & truth) >= 3


def test_path_is_the_estimators_regularization_path(informative, fitted):
    # Computed on its own: the path the selector's estimator fits, with its seed.
    path = regularization_path(
        RegularizedMLPClassifier(**FAST), *informative, path_max_iter=10, **GRID
    )
    active = np.array([np.any(coefs[0] != 0, axis=1) for coefs in path.coefs])
    norms = np.array([np.linalg.norm(coefs[0], axis=1) for coefs in path.coefs])
    np.testing.assert_array_equal(fitted.path_.alphas, path.alphas)
    np.testing.assert_array_equal(fitted.path_.active, active)
    np.testing.assert_allclose(fitted.path_.norms, norms)
    np.testing.assert_array_equal(fitted.path_.n_active, active.sum(axis=1))
    # The path must go from no feature to all of them for the test to mean much.
    assert fitted.path_.n_active[0] < 4 and fitted.path_.n_active[-1] > 10


def test_scores_are_the_strongest_alpha_at_which_a_feature_is_active(fitted):
    path = fitted.path_
    expected = [
        path.alphas[path.active[:, j]].max() if path.active[:, j].any() else 0.0
        for j in range(fitted.n_features_in_)
    ]
    np.testing.assert_array_equal(fitted.scores_, expected)
    np.testing.assert_array_equal(fitted.scores_, path.scores)
    assert np.all(np.isin(fitted.scores_[fitted.scores_ > 0], path.alphas))


def test_ranking_follows_the_scores_then_the_norms_where_they_leave(fitted):
    scores, ranking = fitted.scores_, fitted.ranking_
    assert ranking.dtype.kind == "i"
    np.testing.assert_array_equal(np.sort(ranking), np.arange(1, len(ranking) + 1))
    # Each feature's norm at the strongest alpha that keeps it.
    path = fitted.path_
    norms = np.array(
        [
            path.norms[np.flatnonzero(path.active[:, j])[0], j]
            if path.active[:, j].any()
            else path.norms[0, j]
            for j in range(len(scores))
        ]
    )
    for i in range(len(scores)):
        for j in range(len(scores)):
            if scores[i] > scores[j] or (
                scores[i] == scores[j] and norms[i] > norms[j]
            ):
                assert ranking[i] < ranking[j], (i, j)
    # Features that leave together exist on this grid: the norms break the tie.
    assert len(np.unique(scores)) < len(scores)


# -------------------------------------------------------- how many are kept


@pytest.mark.parametrize(
    "wanted, expected", [(1, 1), (7, 7), (20, 20), (0.25, 5), (0.01, 1), (0.525, 11)]
)
def test_int_and_float_keep_that_many_of_the_best(informative, wanted, expected):
    # 0.525 of 20 features is 10.5: rounded half up.
    selector = _selector(n_features_to_select=wanted).fit(*informative)
    assert selector.n_features_to_select_ == expected
    np.testing.assert_array_equal(selector.get_support(), selector.ranking_ <= expected)
    assert selector.transform(informative[0]).shape == (200, expected)


def test_auto_keeps_the_features_active_at_the_cross_validated_alpha(informative):
    selector = _selector(cv=3).fit(*informative)
    path = selector.path_
    assert selector.cv_scores_.shape == (len(path.alphas), 3)
    best = int(np.argmax(selector.cv_scores_.mean(axis=1)))
    assert selector.alpha_ == path.alphas[best]
    np.testing.assert_array_equal(selector.get_support(), path.active[best])
    assert 1 <= selector.n_features_to_select_ == path.n_active[best]
    assert not hasattr(selector, "selection_probabilities_")


def test_auto_keeps_the_best_feature_when_the_alpha_keeps_none(informative):
    # Scores that prefer the strongest alpha, where no feature is active yet.
    X, y = informative
    rng = np.random.RandomState(0)
    selector = _selector(cv=3).fit(X, rng.permutation(y))
    if selector.path_.n_active[selector.path_.alphas == selector.alpha_] > 0:
        pytest.skip("the cross-validation chose an alpha with active features")
    assert selector.n_features_to_select_ == 1
    np.testing.assert_array_equal(selector.get_support(), selector.ranking_ == 1)


def test_more_features_than_there_are_is_a_clear_error(informative):
    with pytest.raises(ValueError, match="n_features_to_select=21 must be <= "):
        _selector(n_features_to_select=21).fit(*informative)


@pytest.mark.parametrize(
    "params",
    [
        dict(n_features_to_select=0),
        dict(n_features_to_select=1.5),
        dict(n_features_to_select=0.0),
        dict(n_features_to_select="all"),
        dict(threshold=0.5),
        dict(threshold=1.1),
        dict(n_resamples=-1),
        dict(alphas=0),
        dict(eps=1.0),
        dict(path_max_iter=0),
        dict(cv="five"),
        dict(estimator=LogisticRegression()),
    ],
)
def test_invalid_parameters(informative, params):
    with pytest.raises(InvalidParameterError):
        _selector(**params).fit(*informative)


def test_the_estimator_must_make_features_leave(informative):
    smooth = RegularizedMLPClassifier(**{**FAST, "penalty": "l2"})
    with pytest.raises(ValueError, match="never sets a weight exactly to zero"):
        _selector(smooth).fit(*informative)
    with pytest.raises(TypeError, match="RegularizedMLPClassifierCV"):
        _selector(RegularizedMLPClassifierCV((8,), penalty="l1")).fit(*informative)


@pytest.mark.parametrize(
    "target, expected", [("classes", RegularizedMLPClassifier), ("real", None)]
)
def test_the_default_estimator_follows_the_target(monkeypatch, target, expected):
    X, y = make_regression(60, 5, random_state=0)
    if target == "classes":
        y = (y > 0).astype(int)
    seen = []

    def recording_path(estimator, *args, **kwargs):
        seen.append(clone(estimator))
        return regularization_path(estimator, *args, **kwargs)

    monkeypatch.setattr(skreg._selection, "regularization_path", recording_path)
    RegularizedMLPSelector(n_features_to_select=2, alphas=3, random_state=0).fit(X, y)
    (estimator,) = seen
    expected = expected or RegularizedMLPRegressor
    assert type(estimator) is expected
    assert estimator.penalty == "group_lasso"
    assert estimator.hidden_layer_sizes == (32,)
    # The selector's random_state seeds an estimator that has none.
    assert isinstance(estimator.random_state, int)


# --------------------------------------------------------------- in sklearn


def test_in_a_pipeline_and_a_grid_search(informative):
    X, y = informative
    linear = make_pipeline(_selector(n_features_to_select=4), LogisticRegression())
    assert linear.fit(X, y).predict(X).shape == (200,)
    assert linear[-1].coef_.shape == (1, 4)
    # The classes are clusters at the corners of a cube: trees separate them.
    forest = ExtraTreesClassifier(n_estimators=20, random_state=0)
    search = GridSearchCV(
        make_pipeline(_selector(), forest),
        {"regularizedmlpselector__n_features_to_select": [1, 4]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_ == {"regularizedmlpselector__n_features_to_select": 4}
    assert search.best_estimator_[0].transform(X).shape == (200, 4)


def test_sparse_input_selects_the_same_columns(informative):
    X, y = informative
    selector = _selector(n_features_to_select=4).fit(sp.csr_matrix(X), y)
    support = selector.get_support()
    for matrix in (sp.csr_matrix, sp.csc_matrix):
        selected = selector.transform(matrix(X))
        assert sp.issparse(selected)
        np.testing.assert_array_equal(selected.toarray(), X[:, support])


def test_feature_names_out_are_the_selected_columns(informative):
    pd = pytest.importorskip("pandas")
    X, y = informative
    names = [f"feature {j}" for j in range(X.shape[1])]
    selector = _selector(n_features_to_select=3).fit(pd.DataFrame(X, columns=names), y)
    expected = [names[j] for j in selector.get_support(indices=True)]
    np.testing.assert_array_equal(selector.get_feature_names_out(), expected)
    np.testing.assert_array_equal(selector.feature_names_in_, names)


@pytest.mark.parametrize("problem", ["nan", "length"])
def test_a_failed_refit_leaves_the_selector_as_it_was(informative, problem):
    pd = pytest.importorskip("pandas")
    X, y = informative
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    selector = _selector(n_features_to_select=3).fit(frame, y)
    before = copy.deepcopy(selector.__dict__)
    if problem == "nan":
        bad_y = y.astype(float)
        bad_y[3] = np.nan
        bad_X = X[:, :5]
    else:
        bad_y, bad_X = y[:-1], X[:, :5]
    with pytest.raises(ValueError):
        selector.fit(bad_X, bad_y)
    assert selector.__dict__.keys() == before.keys()
    for name, value in before.items():
        if not name.endswith("_"):
            continue
        after = selector.__dict__[name]
        if isinstance(value, dict):
            assert after.keys() == value.keys()
            for key in value:
                np.testing.assert_array_equal(after[key], value[key])
        else:
            np.testing.assert_array_equal(after, value)


def test_html_repr_links_to_the_api_page():
    link = RegularizedMLPSelector()._get_doc_link()
    assert link.endswith("/generated/skreg.RegularizedMLPSelector.html")
    api = (Path(__file__).parents[1] / "docs" / "api.rst").read_text()
    assert re.search(r"^\s+RegularizedMLPSelector$", api, re.MULTILINE)


# ------------------------------------------------------- stability selection


def test_selection_probabilities_are_fractions_of_the_resamples(stable):
    probabilities = stable.selection_probabilities_
    assert probabilities.shape == (len(stable.path_.alphas), 20)
    assert probabilities.min() >= 0 and probabilities.max() <= 1
    np.testing.assert_allclose(probabilities * 6, np.round(probabilities * 6))
    # The weakest alphas keep nearly every feature in every resample, the
    # strongest almost none.
    assert probabilities[0].mean() < 0.2 and probabilities[-1].mean() > 0.8


def test_stability_scores_are_the_maximum_over_the_region(stable):
    alphas = stable.path_.alphas
    region = alphas >= stable.stability_alpha_
    assert 1 <= region.sum() < len(alphas)
    expected = stable.selection_probabilities_[region].max(axis=0)
    np.testing.assert_array_equal(stable.scores_, expected)
    # "auto": the features whose probability reaches the threshold.
    np.testing.assert_array_equal(stable.get_support(), expected >= stable.threshold)
    assert not hasattr(stable, "alpha_")


def test_informative_features_are_selected_more_often(stable):
    scores = stable.scores_
    assert scores[:N_INFORMATIVE].mean() > scores[N_INFORMATIVE:].mean() + 0.3
    assert len(set(stable.get_support(indices=True)) & set(range(4))) >= 3


def test_stability_ranking_and_counts(informative, stable):
    scores, ranking = stable.scores_, stable.ranking_
    np.testing.assert_array_equal(np.sort(ranking), np.arange(1, 21))
    for i in range(20):
        for j in range(20):
            if scores[i] > scores[j]:
                assert ranking[i] < ranking[j]
            elif scores[i] == scores[j]:
                path = stable.path_.ranking
                assert (ranking[i] < ranking[j]) == (path[i] < path[j])
    selector = _selector(n_resamples=6, n_features_to_select=0.3).fit(*informative)
    assert selector.n_features_to_select_ == 6
    np.testing.assert_array_equal(selector.get_support(), selector.ranking_ <= 6)


def test_stability_selection_is_reproducible_and_independent_of_n_jobs(informative):
    # The estimator draws its seeds from the selector's: one per resample.
    estimator = RegularizedMLPClassifier(**{**FAST, "random_state": None})
    serial = _selector(estimator, n_resamples=4, random_state=3).fit(*informative)
    again = _selector(estimator, n_resamples=4, random_state=3).fit(*informative)
    parallel = _selector(estimator, n_resamples=4, random_state=3, n_jobs=2)
    parallel.fit(*informative)
    for other in (again, parallel):
        np.testing.assert_array_equal(
            serial.selection_probabilities_, other.selection_probabilities_
        )
        np.testing.assert_array_equal(serial.path_.norms, other.path_.norms)
        np.testing.assert_array_equal(serial.ranking_, other.ranking_)
    other_seed = _selector(estimator, n_resamples=4, random_state=4)
    other_seed.fit(*informative)
    assert not np.array_equal(
        serial.selection_probabilities_, other_seed.selection_probabilities_
    )


def test_every_class_is_in_every_half():
    # Stratified halves of a class with one row would leave it out.
    X, y = make_classification(41, 6, n_informative=3, random_state=0)
    y[0] = 2
    for seed in range(5):
        half = skreg._selection._half(y, True, seed)
        assert set(y[half]) == {0, 1, 2}
        assert len(np.unique(half)) == len(half) >= 20


# ------------------------------------------------------ scikit-learn's checks


def _checked():
    fast = dict(FAST, max_iter=30)
    yield RegularizedMLPSelector(
        RegularizedMLPClassifier(**fast), alphas=4, cv=3, random_state=0
    )
    yield RegularizedMLPSelector(
        RegularizedMLPRegressor(**fast),
        n_features_to_select=1,
        alphas=4,
        n_resamples=3,
        random_state=0,
    )


@parametrize_with_checks(list(_checked()))
def test_sklearn_compatible_selector(estimator, check):
    check(estimator)
