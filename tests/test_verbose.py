"""Progress output: scikit-learn's lines at every verbose level, details from 2 on."""

import re

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from skreg import RegularizedMLPClassifier, RegularizedMLPRegressor
from skreg._full_batch import penalty_value

_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]\d+)?")
_DETAILED = re.compile(
    r"Iteration (?P<epoch>\d+), loss = (?P<loss>\S+), penalty = (?P<penalty>\S+), "
    r"validation loss = (?P<val_loss>\S+), zero fraction = (?P<zero>\S+), "
    r"active units = (?P<active>\S+), learning rate = (?P<lr>\S+), "
    r"time = (?P<time>\S+) s"
)
_DETAILS = re.compile(r", penalty = .* s$")
_NAMES = {
    "epoch": "epoch",
    "loss": "train loss",
    "penalty": "penalty",
    "val_loss": "val loss",
    "zero": "zero frac",
    "active": "active",
    "lr": "lr",
    "time": "time (s)",
}


def _template(line):
    """A line with its numbers replaced by '#'."""
    return _NUMBER.sub("#", line)


def _table(out):
    """The epochs' lines in ``out`` as dicts, and the other lines after them."""
    rows, rest = [], []
    for line in out.splitlines():
        match = _DETAILED.fullmatch(line)
        if match:
            assert not rest, "an epoch after the closing messages"
            rows.append({_NAMES[k]: v for k, v in match.groupdict().items()})
            rows[-1]["val score"] = "-"
        elif line.startswith("Validation score: ") and rows and not rest:
            rows[-1]["val score"] = line.split(": ")[1]
        else:
            rest.append(line)
    return rows, rest


def _sparse_fit(**params):
    """A group-lasso fit strong enough to switch off weights and units."""
    X, y = _data()
    return RegularizedMLPClassifier(
        hidden_layer_sizes=(12, 6),
        penalty="sparse_group_lasso",
        alpha=0.01,
        learning_rate_init=0.02,
        max_iter=12,
        random_state=0,
        **params,
    ).fit(X, y)


def _data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.mark.parametrize("verbose", [False, 0])
def test_silent(capsys, verbose):
    _sparse_fit(verbose=verbose)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_1_prints_sklearn_lines(capsys, early_stopping):
    X, y = _data()
    params = dict(
        hidden_layer_sizes=(8,),
        learning_rate_init=0.01,
        max_iter=40,
        n_iter_no_change=2,
        tol=1e-2,
        early_stopping=early_stopping,
        random_state=0,
    )
    MLPClassifier(verbose=True, **params).fit(X, y)
    expected = capsys.readouterr().out.splitlines()
    clf = RegularizedMLPClassifier(verbose=1, **params).fit(X, y)
    lines = capsys.readouterr().out.splitlines()

    # Same messages in the same order; only the numbers may differ.
    assert [_template(line) for line in lines] == [_template(line) for line in expected]
    assert "Stopping." in lines[-1]
    losses = [
        float(line.split("=")[1]) for line in lines if line.startswith("Iteration")
    ]
    np.testing.assert_allclose(losses, clf.loss_curve_, rtol=0, atol=5e-9)
    if early_stopping:
        scores = [
            float(line.split(":")[1])
            for line in lines
            if line.startswith("Validation score:")
        ]
        np.testing.assert_allclose(scores, clf.validation_scores_, atol=5e-7)


def test_verbose_2_table(capsys):
    clf = _sparse_fit(verbose=2)
    rows, rest = _table(capsys.readouterr().out)
    assert [int(r["epoch"]) for r in rows] == list(range(1, clf.n_iter_ + 1))
    np.testing.assert_allclose(
        [float(r["train loss"]) for r in rows], clf.loss_curve_, atol=5e-9
    )
    assert all(r["val loss"] == "-" and r["val score"] == "-" for r in rows)
    assert all(float(r["lr"]) == 0.02 for r in rows)
    assert all(float(r["time (s)"]) >= 0 for r in rows)
    # The rest is the stopping message of verbose=1, if any.
    assert all("Stopping." in line for line in rest)

    # Without early stopping the fitted weights are those of the last epoch.
    last = rows[-1]
    coefs = np.concatenate([c.ravel() for c in clf.coefs_])
    zero_fraction = np.mean(coefs == 0)
    assert 0 < zero_fraction < 1
    assert float(last["zero frac"]) == pytest.approx(zero_fraction, abs=5e-5)
    active = sum(
        int(np.sum(W_in.any(axis=0) & W_out.any(axis=1)))
        for W_in, W_out in zip(clf.coefs_[:-1], clf.coefs_[1:])
    )
    assert 0 < active < 18
    assert last["active"] == f"{active}/18"
    assert float(last["penalty"]) == pytest.approx(penalty_value(clf), rel=1e-4)


def test_verbose_2_early_stopping(capsys):
    X, y = _data()
    clf = RegularizedMLPClassifier(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        n_iter_no_change=2,
        tol=1e-2,
        learning_rate_init=0.01,
        max_iter=40,
        random_state=0,
        verbose=2,
    ).fit(X, y)
    rows, rest = _table(capsys.readouterr().out)
    assert len(rows) == clf.n_iter_ == len(clf.validation_scores_)
    np.testing.assert_allclose(
        [float(r["train loss"]) for r in rows], clf.loss_curve_, atol=5e-9
    )
    np.testing.assert_allclose(
        [float(r["val loss"]) for r in rows], clf.validation_loss_curve_, atol=5e-9
    )
    np.testing.assert_allclose(
        [float(r["val score"]) for r in rows], clf.validation_scores_, atol=5e-7
    )
    assert rest == [
        "Validation score did not improve more than tol=0.010000 for 2 "
        "consecutive epochs. Stopping."
    ]


def test_verbose_2_learning_rate_column(capsys):
    X, y = _data()
    y = y + 0.0
    reg = RegularizedMLPRegressor(
        hidden_layer_sizes=(5,),
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=0.1,
        power_t=0.5,
        max_iter=4,
        random_state=0,
        verbose=2,
    ).fit(X, y)
    rows, _ = _table(capsys.readouterr().out)
    # The rate of each epoch: the initial one, then the rate after t samples.
    t = X.shape[0] * np.arange(reg.n_iter_)
    expected = np.where(t == 0, 0.1, 0.1 / (t + 1.0) ** 0.5)
    np.testing.assert_allclose([float(r["lr"]) for r in rows], expected, rtol=1e-3)


def test_verbose_2_continues_across_partial_fit(capsys):
    X, y = _data()
    clf = RegularizedMLPClassifier(hidden_layer_sizes=(4,), random_state=0, verbose=2)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    rows, rest = _table(capsys.readouterr().out)
    assert rest == []
    # As scikit-learn's lines: each partial_fit is an epoch of its own call.
    assert [int(r["epoch"]) for r in rows] == [1, 1, 1]
    np.testing.assert_allclose(
        [float(r["train loss"]) for r in rows], clf.loss_curve_, atol=5e-9
    )


def test_verbose_2_lbfgs_unchanged(capsys):
    # lbfgs reports through scipy at any positive verbose, as with verbose=1.
    X, y = _data()
    RegularizedMLPClassifier(
        hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5, verbose=2
    ).fit(X, y)
    assert "penalty =" not in capsys.readouterr().out


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("verbose", [2, 10])
def test_higher_verbose_keeps_sklearn_lines(capsys, verbose, early_stopping):
    # Without the details, the output at verbose >= 2 is the output at verbose=1:
    # scikit-learn's lines, which scripts read (its test_verbose_sgd: "Iteration"
    # at verbose=10).
    X, y = _data()
    params = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        max_iter=6,
        early_stopping=early_stopping,
        random_state=0,
    )
    RegularizedMLPClassifier(verbose=1, **params).fit(X, y)
    plain = capsys.readouterr().out.splitlines()
    RegularizedMLPClassifier(verbose=verbose, **params).fit(X, y)
    detailed = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("Iteration ") for line in plain) == 6
    assert all(_DETAILS.search(line) for line in detailed if "Iteration" in line)
    assert [_DETAILS.sub("", line) for line in detailed] == plain


def test_iteration_numbers_count_the_epochs_of_the_call_as_sklearn(capsys):
    X, y = _data()
    for Estimator in (MLPClassifier, RegularizedMLPClassifier):
        clf = Estimator(hidden_layer_sizes=(4,), random_state=0, verbose=1)
        for _ in range(3):
            clf.partial_fit(X, y, classes=[0, 1])
        lines = capsys.readouterr().out.splitlines()
        assert [line.split(",")[0] for line in lines] == ["Iteration 1"] * 3
