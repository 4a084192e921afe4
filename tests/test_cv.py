"""Tests of skreg._cv: alpha chosen by cross-validation over warm-started paths."""

import copy
import warnings

import numpy as np
import pytest
import sklearn
from _paths import (
    ALPHAS,
    FAST,
    _assert_same_weights,
    _classifier,
    _expected_alpha_max,
    _manual_early_stopping_path,
    _manual_path,
)
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.exceptions import (
    ConvergenceWarning,
    NotFittedError,
    UnsetMetadataPassedError,
)
from sklearn.metrics import accuracy_score, get_scorer, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    StratifiedKFold,
)
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
    RegularizedMLPRegressorCV,
    regularization_path,
)
from skreg._full_batch import initial_gradient

# Few epochs at a rate high enough for them to matter: each path takes milliseconds.
# ------------------------------------------------------- the CV estimators


def _search(**params):
    defaults = dict(
        penalty="l1",
        alphas=ALPHAS,
        path_max_iter=10,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    return RegularizedMLPClassifierCV(**{**FAST, **defaults, **params})


def _fold_scores(
    estimator,
    X,
    y,
    cv,
    alphas,
    path_max_iter,
    scorer,
    weight=None,
    groups=None,
    score_weight=None,
):
    """Per fold, the scores of a hand-made path, strongest alpha first.

    ``weight`` trains the fits; ``score_weight``, when given, weights the scores.
    """
    scores, n_iter = [], []
    for train, test in cv.split(X, y, groups):
        w = None if weight is None else weight[train]
        fits = _manual_path(estimator, X[train], y[train], alphas, path_max_iter, w)
        fits = fits[::-1]
        kwargs = {} if score_weight is None else {"sample_weight": score_weight[test]}
        scores.append([scorer(m, X[test], y[test], **kwargs) for m in fits])
        n_iter.append([m.n_iter_ for m in fits])
    return np.array(scores), np.array(n_iter)


def test_cv_fold_scores_equal_manual_paths(data):
    X, y = data
    search = _search().fit(X, y)
    scores, n_iter = _fold_scores(
        _classifier(), X, y, search.cv, ALPHAS, 10, lambda m, X, y: m.score(X, y)
    )
    assert search.n_splits_ == 3
    np.testing.assert_array_equal(search.alphas_, sorted(ALPHAS, reverse=True))
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    np.testing.assert_array_equal(search.cv_results_["mean_n_iter"], n_iter.mean(0))


def test_cv_results_are_consistent(data):
    X, y = data
    search = _search(alphas=4, eps=1e-2).fit(X, y)
    results = search.cv_results_
    n = len(search.alphas_)
    splits = np.array([results[f"split{k}_test_score"] for k in range(3)])
    assert splits.shape == (3, n)
    np.testing.assert_allclose(results["mean_test_score"], splits.mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        results["std_test_score"], splits.std(0), rtol=1e-12, atol=1e-15
    )
    # GridSearchCV ranks with ties sharing the smaller rank.
    expected_rank = rankdata(-results["mean_test_score"], method="min")
    np.testing.assert_array_equal(results["rank_test_score"], expected_rank)
    best = search.best_index_
    assert best == np.argmax(results["mean_test_score"])
    assert results["rank_test_score"][best] == 1
    assert search.best_score_ == results["mean_test_score"][best]
    assert search.alpha_ == search.alphas_[best] == results["param_alpha"][best]
    assert search.best_params_ == results["params"][best]
    assert search.best_params_ == dict(
        alpha=search.alpha_, l1_ratio=search.l1_ratio_, dropout=search.dropout_
    )
    assert search.l1_ratio_ == 0.15 and search.dropout_ == 0.0
    assert np.all(np.diff(search.alphas_) < 0)
    # The automatic grid is computed on the whole data, as the path's.
    grid = regularization_path(_classifier(), X, y, alphas=4, eps=1e-2).alphas
    np.testing.assert_array_equal(search.alphas_, grid)
    for name in ("fit_time", "score_time"):
        assert results[f"mean_{name}"].shape == (n,)
        assert np.all(results[f"mean_{name}"] > 0)
        assert np.all(results[f"std_{name}"] >= 0)
    assert search.refit_time_ > 0


def test_cv_ranks_ties_and_nan_as_grid_search(data):
    X, y = data
    alphas = [1e-1, 3e-2, 1e-2, 3e-3]

    def scorer(model, X, y):
        # Depends on alpha alone, so a GridSearchCV gets the same scores: NaN at
        # the strongest alpha, a tie for the best between the next two.
        return {1e-1: np.nan, 3e-2: 0.5, 1e-2: 0.5, 3e-3: 0.25}[model.alpha]

    search = _search(alphas=alphas, scoring=scorer).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # non-finite test scores
        grid = GridSearchCV(
            _classifier(), {"alpha": alphas}, scoring=scorer, cv=search.cv
        ).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["rank_test_score"], grid.cv_results_["rank_test_score"]
    )
    assert search.best_index_ == grid.best_index_
    assert search.alpha_ == grid.best_params_["alpha"]
    assert search.best_score_ == grid.best_score_


def test_cv_accepts_an_iterable_of_splits(data):
    X, y = data
    splitter = StratifiedKFold(3, shuffle=True, random_state=0)
    search = _search(cv=splitter).fit(X, y)
    listed = _search(cv=list(splitter.split(X, y))).fit(X, y)
    assert listed.n_splits_ == 3
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(listed.cv_results_[key], search.cv_results_[key])
    _assert_same_weights(search.coefs_, search.intercepts_, listed)


def test_cv_results_have_the_keys_of_grid_search(data):
    X, y = data
    search = _search().fit(X, y)
    grid = GridSearchCV(
        _classifier(),
        {"alpha": ALPHAS, "l1_ratio": [0.15], "dropout": [0.0]},
        cv=search.cv,
    ).fit(X, y)
    assert set(search.cv_results_) == set(grid.cv_results_) | {"mean_n_iter"}
    for key, values in search.cv_results_.items():
        assert len(values) == len(ALPHAS), key


def test_cv_refit_is_the_path_up_to_the_best_alpha(data):
    X, y = data
    alphas = [1e-3, 3e-3, 1e-2, 3e-2]

    def prefer_3e_3(model, X, y):
        # Picks the second weakest alpha, so the refit must stop inside the path.
        return -abs(np.log(model.alpha / 3e-3))

    search = _search(alphas=alphas, scoring=prefer_3e_3).fit(X, y)
    assert search.alpha_ == 3e-3
    manual = _manual_path(_classifier(), X, y, [1e-3, 3e-3], 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)
    np.testing.assert_array_equal(search.predict(X), manual.predict(X))
    np.testing.assert_array_equal(search.predict_proba(X), manual.predict_proba(X))
    np.testing.assert_array_equal(search.classes_, manual.classes_)
    assert search.n_iter_ == manual.n_iter_
    assert search.loss_curve_ == manual.loss_curve_
    assert search.alpha == search.alpha_
    # Going one alpha further would give other weights: the refit stopped at alpha_.
    further = _manual_path(_classifier(), X, y, [1e-3, 3e-3, 1e-2], 10)[-1]
    assert not np.array_equal(further.coefs_[0], search.coefs_[0])


def test_cv_refit_of_the_selected_alpha(data):
    X, y = data
    search = _search().fit(X, y)
    below = [a for a in ALPHAS if a <= search.alpha_]
    manual = _manual_path(_classifier(), X, y, below, 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)
    np.testing.assert_array_equal(search.predict_proba(X), manual.predict_proba(X))
    assert search.score(X, y) == manual.score(X, y)


def test_cv_weights_training_and_scores_as_grid_search(data):
    X, y = data
    weight = np.random.default_rng(4).uniform(0.2, 2.0, len(y))
    search = _search().fit(X, y, sample_weight=weight)
    # Trained with the fold's weights and, as GridSearchCV does since
    # scikit-learn 1.9, scored with the test part's weights.
    scores, _ = _fold_scores(
        _classifier(),
        X,
        y,
        search.cv,
        ALPHAS,
        10,
        lambda m, X, y, sample_weight: m.score(X, y, sample_weight=sample_weight),
        weight,
        score_weight=weight,
    )
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    below = [a for a in ALPHAS if a <= search.alpha_]
    manual = _manual_path(_classifier(), X, y, below, 10, weight)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)

    # GridSearchCV's own choice between scoring with and without the weights:
    # a scorer without a sample_weight parameter scores unweighted, with a warning.
    def unweighted(model, X, y):
        return model.score(X, y)

    expected, _ = _fold_scores(
        _classifier(), X, y, search.cv, ALPHAS, 10, unweighted, weight
    )
    with pytest.warns(UserWarning, match="does not support sample_weight"):
        plain = _search(scoring=unweighted).fit(X, y, sample_weight=weight)
    with pytest.warns(UserWarning, match="does not support sample_weight"):
        GridSearchCV(
            _classifier(), {"alpha": ALPHAS}, scoring=unweighted, cv=search.cv
        ).fit(X, y, sample_weight=weight)
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(plain.cv_results_[key], expected[k])
        assert not np.array_equal(plain.cv_results_[key], scores[k])


def test_cv_grid_of_gammas(data):
    X, y = data
    gammas = [1.5, 20.0]
    search = _search(penalty="mcp", alphas=3, gammas=gammas).fit(X, y)
    results = search.cv_results_
    alphas = search.alphas_
    expected = [
        {"alpha": a, "l1_ratio": 0.15, "dropout": 0.0, "gamma": g}
        for g in gammas
        for a in alphas
    ]
    assert results["params"] == expected
    assert list(results["param_gamma"]) == [p["gamma"] for p in expected]
    # The rows of one gamma are that gamma's own path.
    point = _classifier(penalty="mcp", gamma=20.0)
    scores, _ = _fold_scores(
        point, X, y, search.cv, alphas, 10, lambda m, X, y: m.score(X, y)
    )
    for k in range(3):
        np.testing.assert_array_equal(results[f"split{k}_test_score"][3:], scores[k])
    assert search.best_params_ == expected[search.best_index_]
    assert search.gamma_ == search.best_params_["gamma"]
    best = _classifier(penalty="mcp", gamma=search.gamma_)
    below = [a for a in alphas if a <= search.alpha_]
    manual = _manual_path(best, X, y, below, 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(penalty="l1", gammas=[3.0]), "gammas is searched for penalty='mcp'"),
        (dict(penalty="scad", gammas=[3.0, 2.0]), "needs gamma > 2"),
        (dict(penalty="mcp", gammas=[]), "gammas must not be empty"),
    ],
)
def test_cv_refuses_bad_gammas(data, params, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        _search(**params).fit(X, y)
    assert "gamma_" not in vars(_search(**params))


def test_cv_grid_of_l1_ratios_and_dropouts(data):
    X, y = data
    l1_ratios, dropouts = [0.2, 0.8], [0.0, 0.25]
    search = _search(
        penalty="elasticnet", alphas=3, l1_ratios=l1_ratios, dropouts=dropouts
    ).fit(X, y)
    results = search.cv_results_
    alphas = search.alphas_
    expected = [
        {"alpha": a, "l1_ratio": r, "dropout": d}
        for r in l1_ratios
        for d in dropouts
        for a in alphas
    ]
    assert results["params"] == expected
    assert len(results["mean_test_score"]) == 12
    assert list(results["param_l1_ratio"]) == [p["l1_ratio"] for p in expected]
    assert list(results["param_dropout"]) == [p["dropout"] for p in expected]
    # The grid's top is that of the smallest L1 share, which needs the largest alpha.
    gradient = initial_gradient(_classifier(), X, y)
    top = _expected_alpha_max(gradient, "elasticnet", min(l1_ratios))
    np.testing.assert_allclose(alphas[0], top, rtol=1e-12)
    # The rows of one grid point are that point's own path.
    point = _classifier(penalty="elasticnet", l1_ratio=0.8, dropout=0.25)
    scores, _ = _fold_scores(
        point, X, y, search.cv, alphas, 10, lambda m, X, y: m.score(X, y)
    )
    rows = slice(9, 12)  # l1_ratio=0.8, dropout=0.25
    for k in range(3):
        np.testing.assert_array_equal(results[f"split{k}_test_score"][rows], scores[k])
    # The refit uses the best point's l1_ratio and dropout.
    assert search.best_params_ == expected[search.best_index_]
    best = _classifier(
        penalty="elasticnet", l1_ratio=search.l1_ratio_, dropout=search.dropout_
    )
    below = [a for a in alphas if a <= search.alpha_]
    manual = _manual_path(best, X, y, below, 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)


def test_cv_parallel_equals_serial(data):
    X, y = data
    serial = _search(n_jobs=1).fit(X, y)
    parallel = _search(n_jobs=2).fit(X, y)
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key]
        )
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_n_iter"], serial.cv_results_["mean_n_iter"]
    )
    assert parallel.alpha_ == serial.alpha_
    _assert_same_weights(serial.coefs_, serial.intercepts_, parallel)


# ------------------------------------------ the CV estimators among sklearn's tools


def test_cv_takes_groups_for_group_splitters(data):
    X, y = data
    groups = np.arange(len(y)) % 7
    cv = GroupKFold(3)
    search = _search(cv=cv).fit(X, y, groups=groups)
    scores, _ = _fold_scores(
        _classifier(),
        X,
        y,
        cv,
        ALPHAS,
        10,
        lambda m, X, y: m.score(X, y),
        groups=groups,
    )
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    # GroupKFold's own error without groups; other metadata needs routing, as
    # in GridSearchCV.
    with pytest.raises(ValueError, match="groups"):
        _search(cv=cv).fit(X, y)
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        _search(cv=cv).fit(X, y, groups=groups, weights=groups)


def test_cv_routes_metadata_to_the_splitter_and_the_scorer(data):
    X, y = data
    groups = np.arange(len(y)) % 7
    weight = np.random.default_rng(6).uniform(0.2, 2.0, len(y))
    cv = GroupKFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        # The default scorer requests nothing: passed weights are an error, as
        # in LogisticRegressionCV.
        with pytest.raises(UnsetMetadataPassedError):
            _search(cv=cv).fit(X, y, groups=groups, sample_weight=weight)
        scorer = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        search = _search(cv=cv, scoring=scorer)
        routing = search.get_metadata_routing()
        assert routing.consumes("fit", ["groups", "sample_weight"]) == {
            "groups",
            "sample_weight",
        }
        search.fit(X, y, groups=groups, sample_weight=weight)
        # Without sample weights, the scorer's request is optional.
        unweighted = _search(cv=cv, scoring=scorer).fit(X, y, groups=groups)
    weighted, _ = _fold_scores(
        _classifier(),
        X,
        y,
        cv,
        ALPHAS,
        10,
        lambda m, X, y, sample_weight: accuracy_score(
            y, m.predict(X), sample_weight=sample_weight
        ),
        weight,
        groups=groups,
        score_weight=weight,
    )
    plain, _ = _fold_scores(
        _classifier(),
        X,
        y,
        cv,
        ALPHAS,
        10,
        lambda m, X, y: m.score(X, y),
        groups=groups,
    )
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(search.cv_results_[key], weighted[k])
        np.testing.assert_array_equal(unweighted.cv_results_[key], plain[k])


def test_cv_workers_get_the_callers_warning_filters_and_config(data):
    X, y = data
    search = _search(n_jobs=2, refit=False, max_iter=3, path_max_iter=3)

    # The scores say what the workers' scikit-learn configuration was.
    def assume_finite(model, X, y):
        return float(sklearn.get_config()["assume_finite"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with sklearn.config_context(assume_finite=True):
            inside = clone(search).set_params(scoring=assume_finite).fit(X, y)
        outside = clone(search).set_params(scoring=assume_finite).fit(X, y)
    np.testing.assert_array_equal(inside.cv_results_["mean_test_score"], 1.0)
    np.testing.assert_array_equal(outside.cv_results_["mean_test_score"], 0.0)

    # Every fit stops at its epoch limit with a ConvergenceWarning: raised as an
    # error from the worker processes, the caller's filter reached them. (Last:
    # an error makes joblib restart its workers.)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="Maximum iterations"):
            clone(search).fit(X, y)


def test_cv_verbose_output_labels_each_path(data, capsys):
    X, y = data
    search = _search(
        verbose=True,
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        alphas=[1e-3, 1e-2],
        dropouts=[0.0, 0.25],
        max_iter=3,
        path_max_iter=2,
        # Four minibatches per epoch: path_max_iter counts whole epochs.
        batch_size=25,
        # The strongest alpha wins (the first dropout of the tie): a known refit.
        scoring=lambda model, X, y: model.alpha,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    points = [
        f"[fold {k}/2, l1_ratio=0.15, dropout={d}] alpha {i}/2 = {a:.4g}"
        for d in (0.0, 0.25)
        for k in (1, 2)
        for i, a in ((1, 1e-3), (2, 1e-2))
    ]
    refit = [
        "[refit, l1_ratio=0.15, dropout=0.0] alpha 1/2 = 0.001",
        "[refit, l1_ratio=0.15, dropout=0.0] alpha 2/2 = 0.01",
    ]
    headers = [line for line in lines if line.startswith("[")]
    assert [line for line in headers if ": score " not in line] == points + refit
    # Each fold's point: its header, one "Iteration" line per epoch (3 for the
    # first point of a path, 2 for the later one), then a line with its score;
    # the refit's points have no score.
    expected = []
    for point in points:
        epochs = 3 if " alpha 1/2 " in point else 2
        expected += [point] + ["Iteration"] * epochs + [point + ": score"]
    for point in refit:
        epochs = 3 if " alpha 1/2 " in point else 2
        expected += [point] + ["Iteration"] * epochs
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected):
        assert line.startswith(start)
    assert lines[4].startswith(points[0] + ": score 0.001 after 3 epochs, ")
    assert lines[4].endswith(" s")


def test_cv_without_refit_cannot_predict(data):
    X, y = data
    search = _search(refit=False).fit(X, y)
    assert not hasattr(search, "coefs_")
    assert not hasattr(search, "refit_time_")
    with pytest.raises(NotFittedError, match="refit=False"):
        search.predict(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(search)
    # The search itself is the same as with a refit.
    refitted = _search().fit(X, y)
    assert search.alpha_ == refitted.alpha_
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], refitted.cv_results_["mean_test_score"]
    )
    # Refitting a refitted search without refit drops the model.
    refitted.set_params(refit=False).fit(X, y)
    with pytest.raises(NotFittedError, match="refit=False"):
        refitted.predict(X)


@pytest.mark.parametrize(
    "Search", [RegularizedMLPClassifierCV, RegularizedMLPRegressorCV]
)
def test_cv_lacks_partial_fit_and_callbacks_and_says_why(Search):
    search = Search()
    # hasattr is False, so scikit-learn's checks and meta-estimators see no
    # such method; the error itself, not a chained one, says what to do.
    for name, reason in [
        ("partial_fit", "fits whole paths and has no partial_fit"),
        ("set_callbacks", "does not report to callbacks"),
    ]:
        assert not hasattr(search, name)
        with pytest.raises(AttributeError, match=reason) as error:
            getattr(search, name)
        assert error.value.__cause__ is None
        assert str(error.value).startswith(Search.__name__)
        assert "alpha=alpha_" in str(error.value)
        # Looked up on the class (as documentation tools do), it raises when called.
        with pytest.raises(AttributeError, match=reason):
            getattr(Search, name)(search)


@pytest.mark.parametrize(
    "params",
    [
        dict(alphas=0),
        dict(path_max_iter=0),
        dict(cv="x"),
        dict(eps=1.5),
        dict(scoring="not_a_scorer"),
        dict(refit="yes"),
    ],
    ids=["alphas=0", "path_max_iter=0", "cv=x", "eps", "scoring", "refit"],
)
def test_cv_validates_its_parameters(data, params):
    X, y = data
    with pytest.raises(InvalidParameterError):
        _search(**params).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [
        dict(l1_ratios=[0.5, 1.5]),
        dict(l1_ratios=[]),
        dict(dropouts=[]),
        dict(penalty=None),
        dict(alphas=[-0.1, 0.1]),
    ],
    ids=["l1_ratio>1", "no_l1_ratio", "no_dropout", "no_penalty", "negative_alpha"],
)
def test_cv_refuses_bad_grids(data, params):
    X, y = data
    search = _search(**params)
    with pytest.raises(ValueError):
        search.fit(X, y)
    assert not hasattr(search, "coefs_")


def test_cv_keeps_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    search = _search().fit(frame, y)
    np.testing.assert_array_equal(search.feature_names_in_, frame.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = search.predict_proba(frame)
        search.predict(frame)
    # The same model as a fit on the bare array.
    np.testing.assert_array_equal(proba, _search().fit(X, y).predict_proba(X))
    # As scikit-learn's estimators: an array without names is warned about.
    with pytest.warns(UserWarning, match="feature names"):
        search.predict(X)


@pytest.mark.parametrize("scoring", ["neg_log_loss", "callable"])
def test_cv_scoring(data, scoring):
    X, y = data
    if scoring == "callable":

        def scorer(model, X, y):
            return -np.mean(np.abs(model.predict_proba(X).argmax(1) - y))

    else:
        scorer = get_scorer(scoring)
    search = _search(scoring=scorer if scoring == "callable" else scoring).fit(X, y)
    scores, _ = _fold_scores(_classifier(), X, y, search.cv, ALPHAS, 10, scorer)
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    means = scores.mean(0)
    assert search.best_score_ == pytest.approx(means.max(), rel=1e-12)
    assert search.best_index_ == np.argmax(means)


def test_cv_string_labels(data):
    X, y = data
    labels = np.array(["ant", "bee", "cat"])[y]
    search = _search().fit(X, labels)
    numeric = _search().fit(X, y)
    np.testing.assert_array_equal(search.classes_, ["ant", "bee", "cat"])
    # Stratified folds and the fits see the same encoded classes: the same model.
    _assert_same_weights(numeric.coefs_, numeric.intercepts_, search)
    np.testing.assert_array_equal(
        search.predict(X), np.array(["ant", "bee", "cat"])[numeric.predict(X)]
    )


def test_regressor_cv(regression):
    X, y = regression
    common = dict(FAST, penalty="l1")
    cv = KFold(3, shuffle=True, random_state=0)
    search = RegularizedMLPRegressorCV(
        **common, alphas=ALPHAS, path_max_iter=10, cv=cv
    ).fit(X, y)
    base = RegularizedMLPRegressor(**common)
    scores, _ = _fold_scores(base, X, y, cv, ALPHAS, 10, lambda m, X, y: m.score(X, y))
    for k in range(3):
        np.testing.assert_array_equal(
            search.cv_results_[f"split{k}_test_score"], scores[k]
        )
    below = [a for a in ALPHAS if a <= search.alpha_]
    manual = _manual_path(base, X, y, below, 10)[-1]
    _assert_same_weights(manual.coefs_, manual.intercepts_, search)
    np.testing.assert_array_equal(search.predict(X), manual.predict(X))


@pytest.mark.parametrize(
    "Search, Base",
    [
        (RegularizedMLPClassifierCV, RegularizedMLPClassifier),
        (RegularizedMLPRegressorCV, RegularizedMLPRegressor),
    ],
)
def test_cv_parameters_are_the_base_ones_and_the_grid(Search, Base):
    params = Search().get_params()
    base = Base().get_params()
    assert "alpha" not in params and "warm_start" not in params
    grid = dict(
        alphas=10,
        eps=1e-3,
        path_max_iter=10,
        l1_ratios=None,
        dropouts=None,
        gammas=None,
        cv=None,
        scoring=None,
        n_jobs=None,
        refit=True,
    )
    expected = {k: v for k, v in base.items() if k not in ("alpha", "warm_start")}
    assert params == {**expected, **grid}
    with pytest.raises(TypeError):
        Search(alpha=0.1)


def test_a_failed_search_leaves_the_fitted_search_as_it_was(data):
    X, y = data
    search = RegularizedMLPClassifierCV(**FAST, penalty="l1", alphas=3, cv=3)
    search.fit(X, y)
    before = copy.deepcopy(search.__dict__)
    expected = search.predict_proba(X)
    # The grid is checked after the new data have been validated.
    search.set_params(l1_ratios=[2.0])
    with pytest.raises(ValueError, match="l1_ratio"):
        search.fit(X[:, :3], y)
    assert search.n_features_in_ == X.shape[1]
    assert search.__dict__.keys() == before.keys()
    np.testing.assert_array_equal(search.predict_proba(X), expected)


def test_cv_refit_under_early_stopping_is_the_round_at_alpha_(data):
    X, y = data
    params = dict(early_stopping=True, n_iter_no_change=3, path_max_iter=3)

    def prefer_1e_2(model, X, y):
        return -abs(np.log(model.alpha / 1e-2))

    search = _search(**params, scoring=prefer_1e_2).fit(X, y)
    assert search.alpha_ == 1e-2
    base = _classifier(early_stopping=True, n_iter_no_change=3)
    model, epochs = _manual_early_stopping_path(base, X, y, [1e-3, 1e-2], 3)[-1]
    _assert_same_weights(model.coefs_, model.intercepts_, search)
    assert search.n_iter_ == epochs
    assert search.best_validation_score_ == model.best_validation_score_
