"""plot_training_curves: the curves drawn, and its errors."""

import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skreg import (
    RegularizedMLPClassifier,
    RegularizedMLPClassifierCV,
    RegularizedMLPRegressor,
    plot_training_curves,
)


@pytest.fixture
def plt():
    """pyplot on the Agg backend; the tests that draw are skipped without it."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 5))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def _fit(**params):
    X, y = _data()
    return RegularizedMLPClassifier(
        hidden_layer_sizes=(6,), max_iter=8, random_state=0, **params
    ).fit(X, y)


def test_without_early_stopping(plt):
    clf = _fit()
    ax, score_ax = plot_training_curves(clf)
    assert score_ax is None
    assert len(ax.figure.axes) == 1
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_ydata(), clf.loss_curve_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, clf.n_iter_ + 1))
    assert ax.get_title() == "RegularizedMLPClassifier: training curves"
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training objective"]


def test_with_early_stopping(plt):
    clf = _fit(early_stopping=True, validation_fraction=0.2)
    ax, score_ax = plot_training_curves(clf)
    assert score_ax is not None and score_ax in ax.figure.axes
    assert len(ax.figure.axes) == 2
    train, validation = ax.lines
    np.testing.assert_array_equal(train.get_ydata(), clf.loss_curve_)
    np.testing.assert_array_equal(validation.get_ydata(), clf.validation_loss_curve_)
    (scores,) = score_ax.lines
    np.testing.assert_array_equal(scores.get_ydata(), clf.validation_scores_)
    assert score_ax.get_ylabel() == "validation score"
    assert [t.get_text() for t in score_ax.get_legend().get_texts()] == [
        "training objective",
        "validation objective",
        "validation score",
    ]


def test_draws_on_given_axes(plt):
    X, y = _data()
    reg = RegularizedMLPRegressor(
        hidden_layer_sizes=(4,), max_iter=5, random_state=0
    ).fit(X, y + 0.0)
    _, given = plt.subplots()
    ax, _ = plot_training_curves(reg, ax=given)
    assert ax is given
    assert ax.get_title() == "RegularizedMLPRegressor: training curves"


def test_pipeline_and_cv_estimators(plt):
    X, y = make_classification(120, 6, random_state=0)
    params = dict(hidden_layer_sizes=(4,), max_iter=15, random_state=0)
    pipe = make_pipeline(StandardScaler(), RegularizedMLPClassifier(**params))
    pipe.fit(X, y)
    ax, score_ax = plot_training_curves(pipe)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), pipe[-1].loss_curve_)
    assert ax.get_title() == "RegularizedMLPClassifier: training curves"
    search = RegularizedMLPClassifierCV(alphas=2, cv=2, **params).fit(X, y)
    ax, _ = plot_training_curves(search)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), search.loss_curve_)
    assert ax.get_title() == "RegularizedMLPClassifierCV: training curves"


# The errors below are raised before matplotlib is imported.


@pytest.mark.parametrize(
    "estimator",
    [
        MLPClassifier(),
        make_pipeline(StandardScaler()),
        make_pipeline(RegularizedMLPClassifier(), StandardScaler()),
    ],
)
def test_other_estimators_raise_a_clear_error(estimator):
    with pytest.raises(TypeError, match="takes a fitted RegularizedMLPClassifier"):
        plot_training_curves(estimator)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        plot_training_curves(RegularizedMLPClassifier())


def test_lbfgs_has_no_loss_curve():
    clf = _fit(solver="lbfgs")
    with pytest.raises(ValueError, match="no loss_curve_.*solver='lbfgs'"):
        plot_training_curves(clf)


def test_without_matplotlib(monkeypatch):
    clf = _fit()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_training_curves(clf)


def test_import_does_not_load_matplotlib():
    import subprocess

    code = "import sys, skreg, skreg._plotting; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
